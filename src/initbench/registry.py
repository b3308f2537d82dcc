"""The init registry: one record per initializer, in one place, torch-free.

A record (``InitRecord``) holds everything the benchmark knows about an init: its function, its
parameters with their defaults (read off the function's signature), its bias policy, its weight
and bias variances as functions of ``(fan_in, fan_out, *params)`` (the theory overlay reads
these), its citation, and where it came from (built in, or a plugin file). ``names``, ``theory``,
the config checks and ``docs/inits.md`` all derive from the records.

An init function changes one layer in place: ``fn(weight, bias, generator, *params)``, with weight
(fan_out, fan_in) and bias (fan_out,) float tensors, after PyTorch's default ``nn.Linear`` init has
been drawn into them (``inits.init_params``). Registering one::

    from initbench import register_init

    @register_init("my_init", weight_variance=lambda fan_in, fan_out, scale=1.0: scale**2 / fan_in)
    def my_init(weight, bias, generator, scale=1.0):
        \"\"\"W ~ N(0, scale^2 / fan_in), b = 0.\"\"\"
        weight.normal_(0.0, scale / weight.shape[1] ** 0.5, generator=generator)
        bias.zero_()

Configs then say ``my_init``, ``"my_init(0.5)"`` or ``"my_init(scale=0.5)"``. This module never
imports torch, so the Snakefile can check init specs when it builds the DAG; the built-in
functions (``schemes.py``) import torch only when they run.
"""

from __future__ import annotations

import contextlib
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass

# What an init does to the biases that nn.Linear drew:
BIAS_POLICIES = {
    "default": "keeps nn.Linear's U(-1/sqrt(fan_in), 1/sqrt(fan_in)) bias",
    "zero": "sets the bias to 0",
    "init": "draws the bias from the init's own law",
}
BIAS_OVERRIDES = ("default", "zero")  # what a study's ``bias:`` key may force on every init
REQUIRED = inspect.Parameter.empty
USER_SUPPLIED = "user-supplied"  # the citation of a plugin init that gives none


@dataclass(frozen=True)
class Param:
    """One parameter of an init: its name and default (``REQUIRED`` if it has none)."""

    name: str
    default: float | None | object = REQUIRED

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@dataclass(frozen=True)
class InitRecord:
    """Everything known about one init. See the module docstring."""

    name: str
    fn: Callable | None  # None: declared by a plugin file that the DAG has not imported
    params: tuple[Param, ...]
    bias: str | Callable[..., str]  # a policy of BIAS_POLICIES, or a function of the params giving one
    weight_variance: Callable[..., float | None] | None = None  # (fan_in, fan_out, *params) -> Var W
    bias_variance: Callable[..., float | None] | None = None  # the same, for a bias the init draws
    cite: str = USER_SUPPLIED
    no_theory: str = ""  # why there is no variance formula, when there is none
    data_dependent: bool = False  # needs a batch of training inputs (lsuv)
    data_step: Callable | None = None  # (layers, data, activation) -> None, after every layer is set
    check: Callable[..., str | None] | None = None  # (*params) -> what is wrong, or None
    source: str = "built-in"  # or the plugin file that registered it

    @property
    def doc(self) -> str:
        return inspect.cleandoc(self.fn.__doc__ or "") if self.fn is not None else ""

    @property
    def formula(self) -> str:
        """The first line of the function's docstring: its formula."""
        return self.doc.split("\n\n")[0].replace("\n", " ").strip()

    def policy(self, args: tuple) -> str:
        """The bias policy for these (bound) parameter values."""
        return self.bias(*args) if callable(self.bias) else self.bias

    def variances(self, fan_in: int, fan_out: int, args: tuple) -> tuple[float, float] | None:
        """(Var W, Var b) of a layer, or None where the theory does not apply to this init."""
        if self.weight_variance is None:
            return None
        var_w = self.weight_variance(fan_in, fan_out, *args)
        if var_w is None:
            return None
        policy = self.policy(args)
        if policy == "default":
            var_b = 1.0 / (3.0 * fan_in)  # nn.Linear: b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))
        elif policy == "zero":
            var_b = 0.0
        elif self.bias_variance is not None:
            var_b = self.bias_variance(fan_in, fan_out, *args)
        else:
            return None
        return None if var_b is None else (float(var_w), float(var_b))

    def bind(self, args: tuple, kwargs: dict, spec: str) -> tuple:
        """All parameter values, defaults filled in; ValueError naming ``spec`` if they do not fit."""
        names = [p.name for p in self.params]
        if len(args) > len(names):
            raise ValueError(f"init {spec!r} takes at most {len(names)} argument(s); {_usage(self)}")
        values = dict(zip(names, args, strict=False))
        for key, value in kwargs.items():
            if key not in names:
                raise ValueError(f"init {spec!r}: unknown argument {key!r}; {_usage(self)}")
            if key in values:
                raise ValueError(f"init {spec!r}: argument {key!r} given twice")
            values[key] = value
        missing = [p.name for p in self.params if p.required and p.name not in values]
        if missing:
            raise ValueError(f"init {spec!r} needs {', '.join(missing)}; {_usage(self)}")
        bound = tuple(values.get(p.name, p.default) for p in self.params)
        problem = self.check(*bound) if self.check else None
        if problem:
            raise ValueError(f"init {spec!r}: {problem}")
        return bound


def _usage(rec: InitRecord) -> str:
    if not rec.params:
        return f"write it as {rec.name}"
    shown = ", ".join(p.name if p.required else f"{p.name}={p.default}" for p in rec.params)
    return f"write it as {rec.name}({shown})"


REGISTRY: dict[str, InitRecord] = {}
NAME = re.compile(r"[a-z_][a-z0-9_]*")  # of an init and of its parameters: what a config spec can write


def params_of(fn: Callable) -> tuple[Param, ...]:
    """The init parameters of ``fn(weight, bias, generator, *params)``: all after the third."""
    sig = list(inspect.signature(fn).parameters.values())
    if len(sig) < 3:
        raise ValueError(
            f"an init function takes (weight, bias, generator, ...); {fn.__name__} takes {len(sig)}"
        )
    return tuple(Param(p.name, p.default) for p in sig[3:])


def register_init(
    name: str,
    *,
    bias: str | Callable[..., str] = "init",
    weight_variance: Callable | None = None,
    bias_variance: Callable | None = None,
    cite: str = USER_SUPPLIED,
    no_theory: str = "",
    data_dependent: bool = False,
    data_step: Callable | None = None,
    check: Callable | None = None,
    source: str | None = None,
    registry: dict[str, InitRecord] | None = None,
):
    """Decorator: register ``fn(weight, bias, generator, *params)`` as the init ``name``.

    ``bias`` is the bias policy (``default``, ``zero``, or ``init`` when the function draws the
    bias itself, which is the default for a new init). A name that is already taken by another
    source raises ``NameClash`` (a ValueError). A plugin file registers its inits the same way;
    ``plugins.py`` reads what it declares without importing it, for the DAG.
    """
    registry = REGISTRY if registry is None else registry
    if not NAME.fullmatch(name or ""):
        raise ValueError(f"init name {name!r}: use lower-case letters, digits and '_' (a Python name)")
    if not callable(bias) and bias not in BIAS_POLICIES:
        raise ValueError(f"init {name!r}: bias policy {bias!r} is not one of {', '.join(BIAS_POLICIES)}")

    def decorate(fn: Callable) -> Callable:
        origin = source or _source_of(fn)
        claim(name, origin, registry)
        registry[name] = InitRecord(
            name=name, fn=fn, params=params_of(fn), bias=bias, weight_variance=weight_variance,
            bias_variance=bias_variance, cite=cite, no_theory=no_theory,
            data_dependent=data_dependent, data_step=data_step, check=check, source=origin,
        )  # fmt: skip
        return fn

    return decorate


class NameClash(ValueError):
    """An init name that another source (the built-ins, or another plugin file) already registered."""

    def __init__(self, name: str, where: str):
        self.where = where  # "a built-in init", or "an init of <plugin file>"
        super().__init__(f"init {name!r} is already {where}; choose another name")


def claim(name: str, origin: str, registry: dict[str, InitRecord] | None = None) -> None:
    """Raise NameClash if ``name`` is taken by a source other than ``origin``."""
    old = (REGISTRY if registry is None else registry).get(name)
    if old is not None and old.source != origin:
        raise NameClash(name, "a built-in init" if old.source == "built-in" else f"an init of {old.source}")


_LOADING: list[str] = []  # the plugin file being imported now (``loading``): the source of its inits


@contextlib.contextmanager
def loading(path: str):
    """While a plugin file is imported, ``register_init`` records ``path`` (as the config wrote it,
    relative to the working directory) as the source of its inits."""
    _LOADING.append(path)
    try:
        yield
    finally:
        _LOADING.pop()


def _source_of(fn: Callable) -> str:
    if _LOADING:
        return _LOADING[-1]
    module = getattr(fn, "__module__", "") or ""
    return "built-in" if module.startswith("initbench.") else (inspect.getsourcefile(fn) or module)


_SPEC = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*(?:\((.*)\))?\s*$")
_KEYWORD = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*=\s*(.+?)\s*$")


def _number(text: str, spec: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(
            f"init {spec!r}: arguments must be numbers, e.g. uniform(-1,1); got {text.strip()!r}"
        ) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"init {spec!r}: arguments must be finite numbers; got {text.strip()!r}")
    return value


def split_spec(spec: str) -> tuple[str, tuple[float, ...], dict[str, float]]:
    """``"gaussian(1.5, sigma_b2=0.05)"`` -> ``("gaussian", (1.5,), {"sigma_b2": 0.05})``, unchecked."""
    m = _SPEC.match(str(spec))
    if not m:
        raise ValueError(f"init {spec!r} is not a name or name(arg, ...); {_valid()}")
    name, raw = m.group(1), m.group(2)
    args, kwargs = [], {}
    for item in raw.split(",") if raw and raw.strip() else []:
        kw = _KEYWORD.match(item)
        if kw:
            kwargs[kw.group(1)] = _number(kw.group(2), spec)
        elif kwargs:
            raise ValueError(f"init {spec!r}: a positional argument follows a keyword argument")
        else:
            args.append(_number(item, spec))
    return name, tuple(args), kwargs


def _valid() -> str:
    return f"valid inits are: {', '.join(sorted(REGISTRY))}"


def lookup(name: str, spec: str | None = None) -> InitRecord:
    """The record of init ``name``; ValueError listing the valid names if there is none."""
    if name not in REGISTRY:
        raise ValueError(f"unknown init {spec or name!r}; {_valid()}")
    return REGISTRY[name]


def bind(spec: str) -> tuple[InitRecord, tuple]:
    """The record of an init spec and all its parameter values (defaults filled in)."""
    name, args, kwargs = split_spec(spec)
    rec = lookup(name, spec)
    return rec, rec.bind(args, kwargs, spec)


def parse_init(spec: str) -> tuple[str, tuple]:
    """Split an init spec such as ``"uniform(-1,1)"`` into ``("uniform", (-1.0, 1.0))``.

    The values are those up to the last one the spec gives (keywords put in their place, defaults
    filled in before them), so ``"orthogonal"`` stays ``("orthogonal", ())``. Raises ValueError
    naming the spec, and listing the valid inits or the init's parameters.
    """
    name, args, kwargs = split_spec(spec)
    rec = lookup(name, spec)
    bound = rec.bind(args, kwargs, spec)
    names = [p.name for p in rec.params]
    given = max([len(args)] + [names.index(k) + 1 for k in kwargs])
    return name, bound[:given]


def canonical(spec: str) -> str:
    """The spec without spaces, keywords, trailing defaults or float noise:
    ``uniform(0, 1.0)`` -> ``uniform(0,1)``, ``gaussian(sigma_w2=2, sigma_b2=0)`` -> ``gaussian(2)``."""
    name, args = parse_init(spec)
    params = REGISTRY[name].params
    while args and not params[len(args) - 1].required and args[-1] == params[len(args) - 1].default:
        args = args[:-1]
    return f"{name}({','.join(f'{a:g}' for a in args)})" if args else name


def bias_policy(spec: str, override: str | None = None) -> str:
    """The bias policy a variant ends up with: the study's ``override`` if given, else the init's.

    A study may not override an init that draws its own bias (its sigma_b^2 belongs to the init).
    """
    rec, args = bind(spec)
    own = rec.policy(args)
    if override in (None, "scheme"):
        return own
    if override not in BIAS_OVERRIDES:
        raise ValueError(f"unknown bias policy {override!r}; valid: {', '.join(BIAS_OVERRIDES)}")
    if own == "init":
        raise ValueError(
            f"bias {override!r} would replace the bias that init {spec!r} draws itself "
            "(its bias law belongs to the init); drop the study's bias key or choose another init"
        )
    return override


def init_names() -> list[str]:
    return sorted(REGISTRY)


# The built-in records; imported last, since schemes.py registers through this module.
from initbench import schemes as _builtins  # noqa: E402, F401
