"""Plugin files for the tests: one good one, and one broken one per way a plugin can be wrong.

``BROKEN_AT_DAG`` are found by reading the file (``plugins.declare``), when the DAG is built;
``BROKEN_AT_CHECK`` only by importing and trying it (``plugincheck``), in the check job. Each maps
a case to (the file's text, the init it declares, a piece of the one-line error).
"""

from __future__ import annotations

from pathlib import Path

GOOD = '''
import initbench


@initbench.register_init(
    "my_init",
    bias="zero",
    weight_variance=lambda fan_in, fan_out, scale=1.0: scale**2 / fan_in,
    cite="A. Author, Some Venue 2024",
)
def my_init(weight, bias, generator, scale=1.0):
    """W ~ N(0, scale^2 / fan_in), b = 0."""
    weight.normal_(0.0, scale / weight.shape[1] ** 0.5, generator=generator)
    bias.zero_()


@initbench.register_init("my_uniform", bias="default")
def my_uniform(weight, bias, generator, low, high=1.0):
    """W ~ U(low, high); bias left at nn.Linear's."""
    weight.uniform_(low, high, generator=generator)
'''


def _plugin(name: str, body: str, *, head: str = "", decorator: str = "", params: str = "") -> str:
    return (
        f"import initbench\n{head}\n\n"
        f"@initbench.register_init({name!r}{decorator})\n"
        f"def {name}(weight, bias, generator{params}):\n"
        + "".join(f"    {line}\n" for line in body.splitlines())
    )


BROKEN_AT_DAG = {
    "syntax error": ("import initbench\n\ndef broken(:\n    pass\n", None, "does not parse: line 3"),
    "name clashes with a built-in": (_plugin("he_normal", "pass"), "he_normal", "already a built-in init"),
    "default that is not a literal": (
        _plugin("bad_default", "pass", head="import math", params=", scale=math.sqrt(2)"),
        "bad_default",
        "default math.sqrt(2) is not a literal number",
    ),
    "bias policy that is not a literal": (
        _plugin("bad_bias", "pass", head="POLICY = 'zero'", decorator=", bias=POLICY"),
        "bad_bias",
        "bias= must be a literal str",
    ),
    "varargs": (_plugin("bad_args", "pass", params=", *scales"), "bad_args", "*args"),
    "declares no init": ("import initbench\n", None, "declares no init"),
}

BROKEN_AT_CHECK = {
    "does not import": (
        _plugin("needs_module", "pass", head="import no_such_module_for_initbench"),
        "needs_module",
        "does not import: ModuleNotFoundError: No module named 'no_such_module_for_initbench'",
    ),
    "raises": (_plugin("raiser", "raise RuntimeError('boom')"), "raiser", "raises RuntimeError: boom"),
    "non-finite values": (
        _plugin("nan_init", "weight.fill_(float('nan'))"),
        "nan_init",
        "returns non-finite values (NaN or inf) in layer 1's weight",
    ),
    "changes a shape": (
        _plugin("reshaper", "weight.set_(weight.new_zeros(2, 2))"),
        "reshaper",
        "changes a tensor's shape or dtype",
    ),
    "not deterministic": (
        _plugin("global_rng", "weight.normal_()  # the global RNG, not the generator"),
        "global_rng",
        "is not deterministic for a given generator",
    ),
    "returns a value": (_plugin("returner", "return weight * 2"), "returner", "returns a Tensor"),
}


def write(folder: Path, name: str, text: str) -> str:
    """Write a plugin file; return its path as a config names it (relative to ``folder``)."""
    (folder / "plugins").mkdir(exist_ok=True)
    (folder / "plugins" / f"{name}.py").write_text(text)
    return f"plugins/{name}.py"
