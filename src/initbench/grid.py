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

from . import names, packsize


class GridError(ValueError):
    """A config that is well-formed but names something that does not exist."""


def seeds_of(study: dict) -> list[int]:
    """``seeds: 5`` means seeds 0..4; a list is taken as given."""
    seeds = study["seeds"]
    return list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]


def architectures(study: dict) -> list[list[int]]:
    """The hidden-size lists of a study: one explicit ``hidden`` list, or depth × width."""
    if study.get("hidden"):
        return [list(study["hidden"])]
    return [[w] * d for d, w in itertools.product(study["depth"], study["width"])]


def _datasets(study: dict) -> list[str]:
    ds = study["dataset"]
    return [ds] if isinstance(ds, str) else list(ds)


def check(config: dict) -> None:
    """Semantic checks the JSON schema cannot make. Raises GridError naming the key path."""
    known_sets = config.get("datasets", {})
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
        if not study.get("hidden") and not (study.get("depth") and study.get("width")):
            raise GridError(f"{where}: give either hidden (a list of sizes) or both depth and width")
        if study.get("hidden") and (study.get("depth") or study.get("width")):
            raise GridError(f"{where}: give hidden or depth × width, not both")
        for i, spec in enumerate(study["init"]):
            try:
                names.parse_init(spec)
            except ValueError as e:
                raise GridError(f"{where}.init[{i}]: {e}") from None
        for i, act in enumerate(study["activation"]):
            try:
                names.check_activation(act)
            except ValueError as e:
                raise GridError(f"{where}.activation[{i}]: {e}") from None
        if not seeds_of(study):
            raise GridError(f"{where}.seeds: need at least one seed")
        if len(set(study["init"])) != len(study["init"]):
            raise GridError(f"{where}.init: an init is listed twice")
        given = [key for key in ("epochs", "steps") if study["training"].get(key) is not None]
        if len(given) != 1:
            raise GridError(
                f"{where}.training: give exactly one of epochs (passes over the data) and steps "
                f"(SGD steps in all); got {' and '.join(given) or 'neither'}"
            )
    for dname, ds in known_sets.items():
        kind = ds.get("kind") or dname
        if kind not in names.DATASET_KINDS:
            raise GridError(
                f"datasets.{dname}.kind: unknown dataset kind {kind!r}; valid kinds are: "
                f"{', '.join(names.DATASET_KINDS)}"
            )


def _arch_tag(hidden: list[int], explicit: bool) -> str:
    if explicit:
        return "h" + "x".join(map(str, hidden))
    return f"d{len(hidden)}-w{hidden[0]}"


def variants(config: dict) -> list[dict]:
    """Every variant of every study, as a flat dict of its grid values and training settings."""
    out = []
    for sname, study in config["studies"].items():
        explicit = bool(study.get("hidden"))
        for ds, hidden, act, init, seed in itertools.product(
            _datasets(study), architectures(study), study["activation"], study["init"], seeds_of(study)
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
                    "bias_policy": names.bias_policy(init, study.get("bias")),
                    "_bias": None if study.get("bias", "scheme") == "scheme" else study["bias"],
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
    size = config.get("pack_size")
    groups: dict[tuple[str, str], list[dict]] = {}
    for v in variants(config):
        groups.setdefault((v["study"], v["_pack_base"]), []).append(v)
    result = {}
    for (sname, base), members in groups.items():
        study = config["studies"][sname]
        if size == "auto":
            data = packsize.data_of(members[0]["dataset"], config["datasets"][members[0]["dataset"]])
            whole = _pack_spec(config, sname, base, study, members)
            device = _trains_on(config, gpu_mb)
            cap = packsize.max_variants(whole, data, packsize.budget_mb(config, gpu_mb), device)
        else:
            cap = size or len(members)
        n = -(-len(members) // cap)
        for i in range(n):
            chunk = members[i * len(members) // n : (i + 1) * len(members) // n]
            pid = base if n == 1 else f"{base}-p{i}"
            result[(sname, pid)] = _pack_spec(config, sname, pid, study, chunk)
    return result


def _trains_on(config: dict, gpu_mb: int | None) -> str:
    """The kind of device whose memory estimate sizes the packs: the config's, or a GPU under
    ``device: auto`` when one is visible."""
    device = config.get("device", "auto")
    return device if device in ("cpu", "cuda") else ("cuda" if gpu_mb else "cpu")


def _pack_spec(config: dict, sname: str, pid: str, study: dict, members: list[dict]) -> dict:
    train = study["training"]
    stats = study.get("stats", {})
    first = members[0]
    return {
        "study": sname,
        "pack": pid,
        "dataset": first["dataset"],
        "hidden": first["_hidden_list"],
        "activation": first["activation"],
        "batch_size": train["batch_size"],
        "epochs": train.get("epochs"),
        "steps": train.get("steps"),
        "precision": config.get("precision", "fp32"),
        "output_activation": train.get("output_activation", "identity"),
        "loss": train.get("loss", "cross_entropy"),
        "shuffle": train.get("shuffle", True),
        "eval_batch_size": train.get("eval_batch_size", 5000),
        "stats_samples": stats.get("samples", 1000),
        "histograms": stats.get("histograms", True),
        "record_hidden": study.get("record_hidden", False),
        "variants": [
            {
                "init": v["init"],
                "seed": v["seed"],
                "lr": train["lr"],
                "momentum": train.get("momentum", 0.0),
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
    return [d for d in config.get("datasets", {}) if d in used]


def dataset_options(config: dict, name: str) -> dict:
    """The options of dataset ``name``, with ``kind`` resolved (it defaults to the name)."""
    opts = dict(config["datasets"][name])
    opts["kind"] = opts.get("kind") or name
    return opts
