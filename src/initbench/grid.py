"""The grid, computed once: config → studies → variants → packs.

A *variant* is one model to train: one point of dataset × architecture × activation × init × seed.
A *pack* is the set of variants that share a dataset, an architecture, an activation and the
training settings, so one process can train them together (``train.train_pack``). Training
jobs and the aggregate step both read the packs from here; nothing else recomputes them.

Torch-free: the Snakefile imports this module, and building the DAG must not import torch.
"""

from __future__ import annotations

import itertools
import re

from . import kinds, names, packsize, plugins, registry
from .datasets.files import DatasetError
from .datasets.options import resolve as resolve_dataset


class GridError(ValueError):
    """A config that is well-formed but names something that does not exist."""


def seeds_of(study: dict) -> list[int]:
    """``seeds: 5`` means seeds 0..4; a list is taken as given."""
    seeds = study["seeds"]
    return list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]


def architectures(study: dict) -> list[list[int]]:
    """The hidden-size lists of a study: one explicit ``hidden`` list, or depth × width."""
    if study["hidden"]:
        return [list(study["hidden"])]
    return [[w] * d for d, w in itertools.product(study["depth"], study["width"])]


def init_specs(study: dict) -> list[str]:
    """The study's init specs, with each compact range form expanded into its specs.

    An item of ``init`` is a spec string (``"uniform(-1,1)"``) or a one-key mapping that spans a
    grid of one init's parameters, e.g. ``{gaussian: {sigma_w2: {from: 1, to: 4, num: 31},
    sigma_b2: 0.05}}`` -> ``gaussian(1,0.05)``, ``gaussian(1.1,0.05)``, ... ``gaussian(4,0.05)``.
    A parameter's value is a number, a list of numbers, or ``{from, to, num[, spacing: log]}``;
    several ranged parameters give every combination, in the order of the init's parameters.
    """
    out = []
    for item in study["init"]:
        if isinstance(item, str):
            out.append(item)
            continue
        ((name, params),) = item.items()
        rec = registry.lookup(name)
        order = [p.name for p in rec.params]
        unknown = sorted(set(params) - set(order))
        if unknown:
            raise ValueError(
                f"init {name!r} has no parameter {', '.join(unknown)}; its parameters: {', '.join(order) or 'none'}"
            )
        given = [k for k in order if k in params]
        axes = [_values(params[k]) for k in given]
        for combo in itertools.product(*axes):
            args = ",".join(f"{k}={v:.12g}" for k, v in zip(given, combo, strict=True))
            out.append(registry.canonical(f"{name}({args})"))
    return out


def _values(value) -> list[float]:
    """A range item's values: a number, a list, or ``{from, to, num, spacing}``."""
    if isinstance(value, (int, float)):
        return [float(value)]
    if isinstance(value, list):
        return [float(v) for v in value]
    lo, hi, num = float(value["from"]), float(value["to"]), int(value["num"])
    if value.get("spacing", "linear") == "log":
        if lo <= 0 or hi <= 0:
            raise ValueError(f"a log range needs from > 0 and to > 0, got {lo:g} and {hi:g}")
        return [lo * (hi / lo) ** (i / (num - 1)) for i in range(num)]
    return [lo + (hi - lo) * i / (num - 1) for i in range(num)]


def _datasets(study: dict) -> list[str]:
    ds = study["dataset"]
    return [ds] if isinstance(ds, str) else list(ds)


def check(config: dict) -> None:
    """Semantic checks the JSON schema cannot make. Raises GridError naming the key path.

    Declares the config's plugin files first (``plugins.declare``: read, not imported), so that
    their inits are valid names in the studies.
    """
    _check_plugins(config["plugins"])
    known_sets = config["datasets"]
    for sname, study in config["studies"].items():
        where = f"studies.{sname}"
        if not re.fullmatch(r"[A-Za-z0-9_]+", sname):
            raise GridError(f"{where}: study names may hold letters, digits and '_' only")
        for ds in _datasets(study):
            if ds not in known_sets:
                raise GridError(
                    f"{where}.dataset: {ds!r} is not defined under datasets "
                    f"(defined: {', '.join(sorted(known_sets)) or 'none'})"
                )
        if not study["hidden"] and not (study["depth"] and study["width"]):
            raise GridError(f"{where}: give either hidden (a list of sizes) or both depth and width")
        if study["hidden"] and (study["depth"] or study["width"]):
            raise GridError(f"{where}: give hidden or depth × width, not both")
        specs = []
        for i, item in enumerate(study["init"]):
            try:
                expanded = init_specs({"init": [item]})
                for spec in expanded:
                    names.parse_init(spec)
            except ValueError as e:
                raise GridError(f"{where}.init[{i}]: {e}") from None
            specs += expanded
        for spec in specs:
            try:
                names.bias_policy(spec, study["bias"])
            except ValueError as e:
                raise GridError(f"{where}.bias: {e}") from None
        for i, act in enumerate(study["activation"]):
            try:
                names.check_activation(act)
            except ValueError as e:
                raise GridError(f"{where}.activation[{i}]: {e}") from None
        if not seeds_of(study):
            raise GridError(f"{where}.seeds: need at least one seed")
        jacobian = (study.get("stats") or {}).get("jacobian")
        shallowest = min(len(h) for h in architectures(study))
        if jacobian and max(jacobian["depths"]) > shallowest:
            raise GridError(
                f"{where}.stats.jacobian.depths: {max(jacobian['depths'])} is deeper than the study's "
                f"shallowest network ({shallowest} hidden layers)"
            )
        canon = [registry.canonical(spec) for spec in specs]
        twice = sorted({c for c in canon if canon.count(c) > 1})
        if twice:
            raise GridError(f"{where}.init: {', '.join(twice)} is listed twice")
    for dname, ds in known_sets.items():
        kind = ds["kind"] or dname
        if kind not in names.DATASET_KINDS:
            raise GridError(
                f"datasets.{dname}.kind: unknown dataset kind {kind!r}; valid kinds are: "
                f"{', '.join(names.DATASET_KINDS)}"
            )
        try:  # the options a kind takes, and a tensors file's arrays: before any job runs
            resolve_dataset(dname, ds)
            kinds.check(dname, ds)
        except (ValueError, DatasetError) as e:
            raise GridError(f"datasets.{dname}: {e}") from None


def _check_plugins(paths: list[str]) -> None:
    """Declare every plugin file; two files of one name would share results/plugins/<name>.json."""
    stems: dict[str, str] = {}
    for i, path in enumerate(paths):
        if plugins.stem(path) in stems:
            raise GridError(
                f"plugins[{i}]: {path} and {stems[plugins.stem(path)]} have the same file name; rename one"
            )
        stems[plugins.stem(path)] = path
        try:
            plugins.declare(path)
        except ValueError as e:
            raise GridError(f"plugins[{i}]: {e}") from None


def specs_used(config: dict) -> list[str]:
    """Every init spec some study trains, canonical, once each, in config order."""
    out: list[str] = []
    for study in config["studies"].values():
        out += [c for c in map(registry.canonical, init_specs(study)) if c not in out]
    return out


def _arch_tag(hidden: list[int], explicit: bool) -> str:
    if explicit:
        return "h" + "x".join(map(str, hidden))
    return f"d{len(hidden)}-w{hidden[0]}"


def variants(config: dict) -> list[dict]:
    """Every variant of every study, as a flat dict of its grid values and training settings."""
    out = []
    for sname, study in config["studies"].items():
        explicit = bool(study["hidden"])
        for ds, hidden, act, init, seed in itertools.product(
            _datasets(study), architectures(study), study["activation"], init_specs(study), seeds_of(study)
        ):
            arch = _arch_tag(hidden, explicit)
            out.append(
                {
                    "study": sname,
                    "dataset": ds,
                    "depth": len(hidden),
                    "width": max(hidden),
                    "activation": act,
                    "init": init,
                    "seed": seed,
                    "variant": f"{sname}/{ds}/{arch}/{act}/{init}/s{seed}",
                    "hidden": "-".join(map(str, hidden)),
                    "bias_policy": names.bias_policy(init, study["bias"]),
                    "_bias": None if study["bias"] == "scheme" else study["bias"],
                    "_hidden_list": hidden,
                    "_pack_base": f"{ds}-{arch}-{act}",
                }
            )
    return out


def packs(config: dict, gpu_mb: int | None = None) -> dict[tuple[str, str], dict]:
    """Map (study, pack id) to the plain-JSON spec ``train.PackSpec.from_dict`` takes, plus ``dataset``.

    ``pack_size`` (top level) splits a pack too large for one job into even chunks ``-p0, -p1,
    ...``: an integer caps the variants per job; ``auto`` caps the estimated memory
    (``packsize``) at ``pack_memory_mb``, else at the memory of a GPU of ``gpu_mb`` MiB (the
    smallest visible one, when training runs on GPUs), else at ``packsize.CPU_BUDGET_MB``.
    A pack that fits keeps its plain id.
    """
    size = config["pack_size"]
    groups: dict[tuple[str, str], list[dict]] = {}
    for v in variants(config):
        groups.setdefault((v["study"], v["_pack_base"]), []).append(v)
    result = {}
    for (sname, base), members in groups.items():
        study = config["studies"][sname]
        if size == "auto":
            data = packsize.data_of(members[0]["dataset"], config["datasets"][members[0]["dataset"]])
            whole = _pack_spec(sname, base, study, members)
            cap = packsize.max_variants(whole, data, packsize.budget_mb(config, gpu_mb))
        else:
            cap = size or len(members)
        n = -(-len(members) // cap)
        for i in range(n):
            chunk = members[i * len(members) // n : (i + 1) * len(members) // n]
            pid = base if n == 1 else f"{base}-p{i}"
            result[(sname, pid)] = _pack_spec(sname, pid, study, chunk)
    return result


def _pack_spec(sname: str, pid: str, study: dict, members: list[dict]) -> dict:
    train = study["training"]
    stats = study["stats"]
    first = members[0]
    return {
        "study": sname,
        "pack": pid,
        "dataset": first["dataset"],
        "hidden": first["_hidden_list"],
        "activation": first["activation"],
        "batch_size": train["batch_size"],
        "epochs": train["epochs"],
        "output_activation": train["output_activation"],
        "loss": train["loss"],
        "shuffle": train["shuffle"],
        "eval_batch_size": train["eval_batch_size"],
        "stats_samples": stats["samples"],
        "histograms": stats["histograms"],
        "record_hidden": study["record_hidden"],
        "variants": [
            {
                "init": v["init"],
                "seed": v["seed"],
                "lr": train["lr"],
                "momentum": train["momentum"],
                "bias": v["_bias"],
                "columns": {
                    k: v[k]
                    for k in (
                        "study",
                        "dataset",
                        "depth",
                        "width",
                        "activation",
                        "init",
                        "seed",
                        "variant",
                        "hidden",
                        "bias_policy",
                    )
                }
                | {"pack": pid},
            }
            for v in members
        ],
    }


def datasets_used(config: dict) -> list[str]:
    """The dataset names that some study trains on, in config order."""
    used = {ds for study in config["studies"].values() for ds in _datasets(study)}
    return [d for d in config["datasets"] if d in used]


def dataset_options(config: dict, name: str) -> dict:
    """The options of dataset ``name``, with ``kind`` resolved (it defaults to the name)."""
    opts = dict(config["datasets"][name])
    opts["kind"] = opts["kind"] or name
    return opts
