"""Plugin files: inits of your own, registered without forking the package.

A plugin is a plain Python file that a config names under ``plugins:`` (paths relative to the
working directory)::

    import initbench

    @initbench.register_init("my_init", bias="zero", cite="A. Author, Venue 2024")
    def my_init(weight, bias, generator, scale=1.0):
        \"\"\"W ~ N(0, scale^2 / fan_in), b = 0.\"\"\"
        weight.normal_(0.0, scale / weight.shape[1] ** 0.5, generator=generator)

Configs then write ``my_init``, ``"my_init(0.5)"`` or ``"my_init(scale=0.5)"`` in any study.

Two ways in, for two kinds of process:
- ``declare(path)``, for the DAG: reads the file with ``ast``, never imports it (so building the
  DAG stays torch-free and runs no user code), and registers a *declared* record per decorated
  function (``fn=None``): its name, its parameters and their literal defaults, and the decorator's
  literal keywords (``bias``, ``cite``, ``no_theory``, ``data_dependent``). That is all the config
  checks and the grid need. What cannot be read without running the file is an error here: a
  non-literal name, bias policy or parameter default.
- ``activate(path)``, for the jobs (the check, training, figures, report): imports the file, whose
  ``@register_init`` calls replace the declared records with real ones (functions, variances).

``plugincheck.py`` then tries each init on a small layer. Every problem is a ``PluginError``: one
line naming the file, the init and what is wrong.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import sys
from pathlib import Path

from initbench import registry

# the keywords of register_init a plugin may give; the first four must be literals
LITERAL_KEYWORDS = {"bias": str, "cite": str, "no_theory": str, "data_dependent": bool}
CALLABLE_KEYWORDS = ("weight_variance", "bias_variance", "data_step", "check")


class PluginError(ValueError):
    """A plugin file or one of its inits is unusable. The message is the one line to show."""

    def __init__(self, path: str, problem: str, init: str | None = None):
        where = f"plugin {path}" + (f", init {init}" if init else "")
        super().__init__(f"{where}: {problem}")


def sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def stem(path: str) -> str:
    """A plugin's short name, ``results/plugins/<stem>.json``: its file name without ``.py``."""
    return Path(path).stem


def declare(path: str) -> list[str]:
    """Register the inits that the file at ``path`` declares, without importing it; their names.

    Raises PluginError for a file that is missing or does not parse, declares no init, clashes with
    a registered name, or declares something the DAG cannot read without running the file.
    """
    file = Path(path)
    if not file.is_file():
        raise PluginError(path, "no such file (plugin paths are relative to the working directory)")
    try:
        tree = ast.parse(file.read_text(encoding="utf-8"), filename=path)
    except SyntaxError as err:
        raise PluginError(path, f"does not parse: line {err.lineno}: {err.msg}") from None
    except (UnicodeDecodeError, ValueError) as err:
        raise PluginError(path, f"cannot be read as Python source: {err}") from None
    records = [
        _declared(path, node, dec)
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        for dec in node.decorator_list
        if _is_register(dec)
    ]
    if not records:
        raise PluginError(
            path,
            'declares no init: decorate a top-level function with @initbench.register_init("name")',
        )
    for rec in records:
        try:
            registry.claim(rec.name, path)
        except registry.NameClash as err:
            raise PluginError(path, f"the name is already {err.where}; choose another", rec.name) from None
    for rec in records:
        registry.REGISTRY[rec.name] = rec
    return [rec.name for rec in records]


def _is_register(dec: ast.expr) -> bool:
    """``@register_init`` or ``@<anything>.register_init``, called or not (a bare one is an error later)."""
    func = dec.func if isinstance(dec, ast.Call) else dec
    return (isinstance(func, ast.Name) and func.id == "register_init") or (
        isinstance(func, ast.Attribute) and func.attr == "register_init"
    )


def _declared(path: str, fn: ast.FunctionDef, dec: ast.expr) -> registry.InitRecord:
    """The record a ``@register_init(...)`` decorator on ``fn`` declares, read from the source."""
    if not isinstance(dec, ast.Call):
        raise PluginError(
            path, f'line {dec.lineno}: write @initbench.register_init("name"), with the init\'s name'
        )
    if (
        len(dec.args) != 1
        or not isinstance(dec.args[0], ast.Constant)
        or not isinstance(dec.args[0].value, str)
    ):
        raise PluginError(
            path,
            f"line {dec.lineno}: register_init takes the init's name as one literal string, then keywords",
        )
    name = dec.args[0].value
    if not registry.NAME.fullmatch(name):
        raise PluginError(path, "use lower-case letters, digits and '_' in an init's name", name)
    keywords = {}
    for kw in dec.keywords:
        if kw.arg in LITERAL_KEYWORDS:
            try:
                value = ast.literal_eval(kw.value)
            except ValueError:
                value = None
            if not isinstance(value, LITERAL_KEYWORDS[kw.arg]):
                raise PluginError(
                    path, f"register_init's {kw.arg}= must be a literal {LITERAL_KEYWORDS[kw.arg].__name__}"
                    " (the workflow reads it without importing the file)", name,
                )  # fmt: skip
            keywords[kw.arg] = value
        elif kw.arg not in CALLABLE_KEYWORDS:
            valid = ", ".join([*LITERAL_KEYWORDS, *CALLABLE_KEYWORDS])
            raise PluginError(
                path, f"register_init has no keyword {kw.arg!r} for plugins; valid: {valid}", name
            )
    bias = keywords.get("bias", "init")
    if bias not in registry.BIAS_POLICIES:
        raise PluginError(
            path, f"bias policy {bias!r} is not one of {', '.join(registry.BIAS_POLICIES)}", name
        )
    return registry.InitRecord(
        name=name, fn=None, params=_params(path, name, fn), bias=bias,
        cite=keywords.get("cite", registry.USER_SUPPLIED), no_theory=keywords.get("no_theory", ""),
        data_dependent=keywords.get("data_dependent", False), source=path,
    )  # fmt: skip


def _params(path: str, name: str, fn: ast.FunctionDef) -> tuple[registry.Param, ...]:
    """``fn(weight, bias, generator, *params)``'s parameters, each with its literal default."""
    args = fn.args
    if args.vararg or args.kwarg or args.kwonlyargs:
        raise PluginError(
            path, "takes *args, **kwargs or keyword-only parameters; list plain parameters", name
        )
    positional = args.posonlyargs + args.args
    if len(positional) < 3:
        raise PluginError(
            path,
            f"an init function takes (weight, bias, generator, ...); {fn.name} takes {len(positional)}",
            name,
        )
    defaults = [registry.REQUIRED] * (len(positional) - len(args.defaults)) + list(args.defaults)
    if any(d is not registry.REQUIRED for d in defaults[:3]):
        raise PluginError(path, "weight, bias and generator take no defaults", name)
    params = []
    for arg, node in zip(positional[3:], defaults[3:], strict=True):
        if not registry.NAME.fullmatch(arg.arg):
            raise PluginError(path, f"parameter {arg.arg!r}: a config can write lower-case names only", name)
        default = node
        if node is not registry.REQUIRED:
            try:
                default = ast.literal_eval(node)
            except ValueError:
                default = ast.unparse(node)
            if default is not None and (isinstance(default, bool) or not isinstance(default, (int, float))):
                raise PluginError(
                    path, f"parameter {arg.arg}'s default {ast.unparse(node)} is not a literal number or None "
                    "(the workflow reads it without importing the file; write the number)", name,
                )  # fmt: skip
        params.append(registry.Param(arg.arg, default))
    return tuple(params)


def activate(path: str) -> list[str]:
    """Import the plugin at ``path`` (declaring it first), so its inits have their functions; their names.

    Raises PluginError if it does not import, or registers other inits than it declares.
    """
    declared = set(declare(path))
    module_name = f"initbench_plugin_{hashlib.sha1(path.encode()).hexdigest()[:10]}_{stem(path)}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    with registry.loading(path):
        try:
            spec.loader.exec_module(module)
        except registry.NameClash as err:
            raise PluginError(path, str(err)) from None
        except Exception as err:  # anything the user's file raises on import: one line, no traceback
            sys.modules.pop(module_name, None)
            raise PluginError(path, f"does not import: {type(err).__name__}: {_first_line(err)}") from None
    mine = {n for n, rec in registry.REGISTRY.items() if rec.source == path}
    unread = sorted(n for n in mine if registry.REGISTRY[n].fn is None)
    if unread:
        raise PluginError(path, f"declares {', '.join(unread)} but importing it did not register them")
    return sorted(declared | mine)


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else repr(err)


def activate_all(paths: list[str]) -> None:
    for path in paths:
        activate(path)


def used_by(specs: list[str]) -> list[str]:
    """The plugin files (in order, once each) whose inits these init specs use."""
    out = []
    for spec in specs:
        source = registry.bind(spec)[0].source
        if source != "built-in" and source not in out:
            out.append(source)
    return out
