"""What each workflow job does, as plain functions of plain values.

The scripts under workflow/scripts/ only unpack the ``snakemake`` object and call these, so every
job can be run and tested without Snakemake.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from pathlib import Path


@contextlib.contextmanager
def logged(log_path: str | Path | None):
    """Send this job's stdout and stderr to its log file (Snakemake's ``log:``)."""
    if not log_path:
        yield
        return
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w", buffering=1) as fh:
        old = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = fh
        try:
            yield
        except Exception:  # SystemExit carries its own message
            import traceback

            traceback.print_exc(file=fh)
            raise
        finally:
            sys.stdout, sys.stderr = old


@contextlib.contextmanager
def _one_line_exit(error_type: type[Exception]):
    """An error of ``error_type`` is the user's to act on: print its message plainly (to the job's
    log and the terminal) and exit 1, no traceback."""
    try:
        yield
    except error_type as err:
        print(f"initbench: {err}", file=sys.stderr)
        print(f"initbench: {err}", file=sys.__stderr__)
        raise SystemExit(1) from None


def dataset_errors():
    """A DatasetError ends the job with its one line."""
    from . import datasets

    return _one_line_exit(datasets.DatasetError)


def plugin_errors():
    """A PluginError names the file, the init and the problem: that line ends the job."""
    from . import plugins

    return _one_line_exit(plugins.PluginError)


def use_plugins(config: dict) -> None:
    """Import the config's plugin files whose inits some study uses (figure, report, leaderboard jobs)."""
    from . import grid, plugins

    with plugin_errors():
        for path in config["plugins"]:
            plugins.declare(path)
        for path in plugins.used_by(grid.specs_used(config)):
            plugins.activate(path)


def check_plugin(path: str, config: dict, out: str, log: str | None = None) -> None:
    """Import plugin ``path``, try its inits (also at the config's specs of them), write the record."""
    from . import grid, plugincheck, plugins
    from .datasets.files import write_json

    with logged(log), plugin_errors():
        for other in config["plugins"]:  # every file's names, so all the config's specs bind
            plugins.declare(other)
        record = plugincheck.check_file(path, grid.specs_used(config))
        print(json.dumps(record, indent=1))
        write_json(Path(out), record)


def fetch(name: str, options: dict, root: str, manifest: str, log: str | None = None) -> None:
    from . import datasets

    with logged(log), dataset_errors():
        datasets.fetch(name, options, Path(root), Path(manifest))


def prepare(name: str, options: dict, root: str, out: str, log: str | None = None) -> None:
    from . import datasets

    with logged(log), dataset_errors():
        meta = datasets.prepare(name, options, Path(root), Path(out))
        print(json.dumps(meta, indent=1, default=str))


def train(
    spec: dict,
    data: str,
    outdir: str,
    checkpoint: str | None,
    device: str = "auto",
    threads: int = 1,
    log: str | None = None,
    placement: dict | None = None,
    gpu_jobs: int = 1,
    plugins: list[str] = (),
    checkpoint_every_s: float = 0.0,
) -> None:
    """Train one pack and write its per-pack metric files into ``outdir``.

    ``placement`` is ``placement.place``'s decision for the pack (its device and why), recorded in
    meta.json; without it the job trains on ``device``. ``gpu_jobs`` jobs may share the GPU this
    job claims, so it plans for that share of the GPU's memory (a whole GPU under SLURM, where
    each train job has its own). A CUDA out-of-memory error ends the job with one line.
    ``plugins``: the plugin files whose inits the pack uses; imported, and the pack's specs of them
    tried (``plugincheck``), before anything is trained. Their sha256 go into the pack's meta.
    """
    placed = dict(placement or {"device": device, "reason": "the device given to the job"})
    with logged(log):
        import torch

        from . import datasets, devices, plugincheck, registry
        from . import placement as placement_rules
        from . import plugins as plugin_files
        from . import train as trainer

        with plugin_errors():
            for path in plugins:
                plugin_files.activate(path)
            for init in sorted({v["init"] for v in spec["variants"]}):
                if registry.bind(init)[0].source in plugins:
                    plugincheck.try_spec(init)
        torch.set_num_threads(max(1, int(threads)))
        forced = placement_rules.overridden()
        if forced:  # $INITBENCH_DEVICE wins over the config's device and the placement
            placed["reason"] += f"; $INITBENCH_DEVICE={forced} overrides it"
        elif placed["device"] == "cpu":
            devices.keep_on_cpu()  # an empty or "auto" $INITBENCH_DEVICE would claim a GPU
        slots = 1 if os.environ.get("SLURM_JOB_ID") else max(1, int(gpu_jobs))
        dev = devices.claim(placed["device"], slots=slots)
        memory_mb = _gpu_share_mb(torch, dev, slots)
        loaded = datasets.load(Path(data))
        tensors = {k: v for k, v in loaded.items() if k != "meta"}
        pack = trainer.PackSpec.from_dict(spec)
        print(
            f"pack {spec['study']}/{spec['pack']}: {len(pack.variants)} variants on {dev} "
            f"({placed['reason']}), {threads} threads"
            + (f", {memory_mb:.0f} MB of GPU memory ({slots} jobs may share the GPU)" if memory_mb else "")
        )
        sized = {"memory_mb": memory_mb} if memory_mb else {}  # the engine sizes its parts to it
        try:
            result = trainer.train_pack(
                pack,
                tensors,
                checkpoint=Path(checkpoint) if checkpoint else None,
                checkpoint_every_s=checkpoint_every_s,
                device=dev,
                progress=True,
                **sized,
            )
        except torch.cuda.OutOfMemoryError as err:
            if checkpoint:
                Path(checkpoint).unlink(missing_ok=True)  # a fitting pack is another spec: start over
            line = out_of_memory_line(spec, estimate_mb(spec, loaded, dev), memory_mb, err, torch)
            print(line)
            print(line, file=sys.__stderr__)
            raise SystemExit(1) from None
        result.meta.update(study=spec["study"], pack=spec["pack"], n_variants=len(pack.variants))
        result.meta["placement"] = {k: v for k, v in placed.items() if k != "gpu"} | {
            "gpu_jobs": slots,
            "memory_mb": memory_mb,
        }
        result.meta["plugins"] = {path: plugin_files.sha256(path) for path in plugins}
        result.write(Path(outdir))
        if checkpoint and Path(checkpoint).exists():
            Path(checkpoint).unlink()  # the outputs now hold everything it did


def estimate_mb(spec: dict, loaded: dict, device: str = "cpu") -> float:
    """packsize's estimate of the pack's memory on ``device`` (cpu or cuda), in MiB, for the dataset
    file's kind and size."""
    from . import packsize

    samples = sum(loaded[f"x_{split}"].shape[0] for split in ("train", "val", "test"))
    data = packsize.Data(loaded["meta"]["kind"], samples)
    return packsize.pack_bytes(spec, data, device=str(device).split(":")[0]) / 2**20


def _gpu_share_mb(torch, dev: str, slots: int) -> float | None:
    """This job's share of its GPU's memory in MiB (the GPU's memory / ``slots``); None off CUDA."""
    if not str(dev).startswith("cuda"):
        return None
    return torch.cuda.get_device_properties(torch.device(dev)).total_memory / 2**20 / slots


def out_of_memory_line(spec: dict, estimate_mb, share_mb, err, torch) -> str:
    """The one line a CUDA out-of-memory error ends a job with: the pack, its estimate, and a
    ``pack_memory_mb`` that would fit. The pack needed ``r`` times its estimate, at least: r >=
    share / estimate (it did not fit the share), and r >= (peak + the failed request) / estimate
    when torch reports them. A budget of share / r, less 10 %, then cuts packs that fit."""
    estimate = float(estimate_mb or share_mb or 0) or None
    share = float(share_mb or estimate or 0)
    need = None
    asked = re.search(r"Tried to allocate ([\d.]+) (GiB|MiB)", str(err))
    if asked and torch.cuda.is_initialized():
        need = torch.cuda.max_memory_allocated() / 2**20 + float(asked[1]) * (
            1024 if asked[2] == "GiB" else 1
        )
    ratio = max([1.0] + [x / estimate for x in (share, need) if x and estimate])
    fit = max(100, int(0.9 * share / ratio // 100 * 100)) if share else None
    where = f"pack {spec['study']}/{spec['pack']} ({len(spec['variants'])} variants)"
    sizes = f"estimated {estimate:.0f} MB" if estimate else "no estimate"
    if share_mb:
        sizes += f", this job's share of the GPU {share_mb:.0f} MB"
    advice = f"set pack_memory_mb: {fit} in the config" if fit else "set a smaller pack_memory_mb"
    return (
        f"initbench: out of GPU memory in {where}: {sizes}; {advice} (or gpu_jobs: 1) so that its packs fit"
    )


def leaderboard(
    summary: str, dataset_meta: list[str], plugin_checks: list[str], out: str, log: str | None = None
) -> None:
    """Write the leaderboard CSV from the summary, the datasets' class counts and the plugins' records."""
    from . import leaderboard as board
    from . import schema

    with logged(log):
        table = board.build(
            schema.read(summary, "summary"),
            board.n_classes_of(dataset_meta),
            board.plugin_records(plugin_checks),
        )
        board.write(table, out)
        print(table.to_string(index=False))
