"""Try a plugin's inits on small layers before any training job uses them (the ``check_plugin`` rule).

``check_file(path, specs)`` imports the plugin (``plugins.activate``) and tries every init it
registers: at its defaults when it has them, and at each spec of it that the config uses. A try
(``try_spec``) initialises a small MLP twice from the same seed, exactly as training will
(``inits.init_params``), after calling the function once on its own, and fails if the function

- raises;
- returns a value (an init changes ``weight`` and ``bias`` in place and returns None);
- changes a tensor's shape or dtype;
- leaves a non-finite value (NaN or inf) in a weight or a bias;
- is not deterministic for a given generator: two runs from the same seed differ (it draws from
  the global RNG instead of ``generator``).

Each failure is a ``PluginError`` whose message is the one line the run stops with.
"""

from __future__ import annotations

import torch

from initbench import inits, plugins, registry

SIZES = (7, 5, 3)  # a small MLP: two layers, neither square
SEED = 1234
BATCH = 16  # inputs for a data-dependent init's data step


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0]}" if lines else type(err).__name__


def try_spec(spec: str) -> None:
    """Try one init spec; raise PluginError naming its file and init on the first problem."""
    rec = registry.lookup(registry.split_spec(spec)[0])

    def fail(problem: str) -> plugins.PluginError:
        return plugins.PluginError(
            rec.source, f"{spec}: {problem}" if spec != rec.name else problem, rec.name
        )

    try:
        args = rec.bind(*registry.split_spec(spec)[1:], spec)
    except Exception as err:  # its own check= says the values are wrong, or raises
        raise fail(f"parameters do not fit: {_first_line(err)}") from None

    generator = torch.Generator().manual_seed(SEED)
    weight, bias = torch.empty(SIZES[1], SIZES[0]), torch.empty(SIZES[1])
    inits.reset_default(weight, bias, generator)
    try:
        with torch.no_grad():
            returned = rec.fn(weight, bias, generator, *args)
    except Exception as err:
        raise fail(f"raises {_first_line(err)}") from None
    if returned is not None:
        raise fail(
            f"returns a {type(returned).__name__}; an init changes weight and bias in place and returns None"
        )
    _check_layer(fail, 1, weight, bias, SIZES[0], SIZES[1])
    data = torch.randn(BATCH, SIZES[0], generator=torch.Generator().manual_seed(SEED))
    runs = []
    for _ in range(2):
        try:
            runs.append(inits.init_params(spec, list(SIZES), SEED, data=data, activation="tanh"))
        except Exception as err:
            raise fail(f"raises {_first_line(err)}") from None
    for i, ((w, b), n_in, n_out) in enumerate(zip(runs[0], SIZES[:-1], SIZES[1:], strict=True), start=1):
        _check_layer(fail, i, w, b, n_in, n_out)
    same = all(torch.equal(a, b) for la, lb in zip(*runs, strict=True) for a, b in zip(la, lb, strict=True))
    if not same:
        raise fail(
            "is not deterministic for a given generator: two runs from the same seed differ "
            "(draw every random number from the generator argument, not the global RNG)"
        )


def _check_layer(fail, i: int, weight, bias, n_in: int, n_out: int) -> None:
    for what, t, shape in (("weight", weight, (n_out, n_in)), ("bias", bias, (n_out,))):
        if tuple(t.shape) != shape or t.dtype != torch.float32:
            raise fail(
                f"changes a tensor's shape or dtype: layer {i}'s {what} became {tuple(t.shape)} {t.dtype}, "
                f"not {shape} torch.float32"
            )
        if not torch.isfinite(t).all():
            raise fail(f"returns non-finite values (NaN or inf) in layer {i}'s {what}")


def specs_to_try(path: str, used: list[str]) -> list[str]:
    """Each init of the (activated) plugin at its defaults, where it has them, and the specs ``used``."""
    mine = sorted(n for n, rec in registry.REGISTRY.items() if rec.source == path)
    out = [n for n in mine if not any(p.required for p in registry.REGISTRY[n].params)]
    used = [registry.canonical(s) for s in used if registry.split_spec(s)[0] in mine]
    return out + [s for s in dict.fromkeys(used) if s not in out]


def check_file(path: str, used: list[str]) -> dict:
    """Import the plugin and try its inits (``used``: the config's specs); the record of what was checked."""
    plugins.activate(path)
    tried = specs_to_try(path, used)
    for spec in tried:
        try_spec(spec)
    records = [registry.REGISTRY[n] for n in sorted(registry.REGISTRY) if registry.REGISTRY[n].source == path]
    return {
        "plugin": path,
        "sha256": plugins.sha256(path),
        "inits": [
            {
                "name": r.name,
                "params": [{"name": p.name, "default": None if p.required else p.default} for p in r.params],
                "required": [p.name for p in r.params if p.required],
                "bias": r.bias if isinstance(r.bias, str) else "depends on the parameters",
                "theory": r.weight_variance is not None,
                "cite": r.cite,
                "formula": r.formula,
            }
            for r in records
        ],
        "tried": tried,
    }
