"""docs/inits.md, written from the init records (``registry``), so the docs never drift from the code.

    python -m initbench.initdocs > docs/inits.md       (a test checks the file is current)

One row per init: how to write it, its formula (its docstring's first paragraph), its bias policy,
whether the theory overlay has its variances (and why not), and its citation.
"""

from __future__ import annotations

from initbench import registry

HEADER = """# Initializers

Generated from the init records by `python -m initbench.initdocs > docs/inits.md`; do not edit by hand.
Write an init in a config as `name`, `name(arg, ...)` or `name(param=value, ...)`; a study's `init`
list may also span a range of one init's parameters (see `config/README.md`). A plugin file adds
its own inits the same way (`@initbench.register_init`, see the README).

Bias policies: {policies}.

| init | formula | bias | theory overlay | source |
|---|---|---|---|---|
"""


def _usage(rec: registry.InitRecord) -> str:
    if not rec.params:
        return f"`{rec.name}`"
    shown = ", ".join(p.name if p.required else f"{p.name}={p.default}" for p in rec.params)
    return f"`{rec.name}({shown})`"


def _bias(rec: registry.InitRecord) -> str:
    if callable(rec.bias):
        return "depends on the parameters (see the formula)"
    return rec.bias


def markdown() -> str:
    policies = "; ".join(f"`{k}` {v}" for k, v in registry.BIAS_POLICIES.items())
    out = [HEADER.format(policies=policies)]
    for name in registry.init_names():
        rec = registry.REGISTRY[name]
        if rec.source != "built-in":
            continue
        theory = "yes" if rec.weight_variance else f"none: {rec.no_theory}"
        if rec.weight_variance and rec.no_theory:
            theory += f", except where {rec.no_theory}"
        formula = rec.formula.replace("|", "\\|")
        out.append(f"| {_usage(rec)} | {formula} | {_bias(rec)} | {theory} | {rec.cite} |\n")
    return "".join(out)


if __name__ == "__main__":
    print(markdown(), end="")
