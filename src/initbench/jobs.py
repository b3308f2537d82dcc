"""What each workflow job does, as plain functions of plain values.

The scripts under workflow/scripts/ only unpack the ``snakemake`` object and call these, so every
job can be run and tested without Snakemake.
"""

from __future__ import annotations

import contextlib
import json
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
def dataset_errors():
    """A DatasetError is the user's to act on: print its message plainly and exit 1, no traceback."""
    from . import datasets

    try:
        yield
    except datasets.DatasetError as err:
        print(f"initbench: {err}", file=sys.stderr)
        print(f"initbench: {err}", file=sys.__stderr__)
        raise SystemExit(1) from None


@contextlib.contextmanager
def plugin_errors():
    """A PluginError names the file, the init and the problem: print that line and exit 1, no traceback."""
    from . import plugins

    try:
        yield
    except plugins.PluginError as err:
        print(f"initbench: {err}", file=sys.stderr)
        print(f"initbench: {err}", file=sys.__stderr__)
        raise SystemExit(1) from None


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
    plugins: list[str] = (),
) -> None:
    """Train one pack and write its per-pack metric files into ``outdir``.

    ``plugins``: the plugin files whose inits the pack uses; imported, and the pack's specs of them
    tried (``plugincheck``), before anything is trained. Their sha256 go into the pack's meta.
    """
    with logged(log):
        import torch

        from . import datasets, devices, plugincheck, registry
        from . import plugins as plugin_files
        from . import train as trainer

        with plugin_errors():
            for path in plugins:
                plugin_files.activate(path)
            for init in sorted({v["init"] for v in spec["variants"]}):
                if registry.bind(init)[0].source in plugins:
                    plugincheck.try_spec(init)
        torch.set_num_threads(max(1, int(threads)))
        dev = devices.claim(device)
        loaded = datasets.load(Path(data))
        tensors = {k: v for k, v in loaded.items() if k != "meta"}
        pack = trainer.PackSpec.from_dict(spec)
        print(
            f"pack {spec['study']}/{spec['pack']}: {len(pack.variants)} variants on {dev}, {threads} threads"
        )
        result = trainer.train_pack(
            pack, tensors, checkpoint=Path(checkpoint) if checkpoint else None, device=dev, progress=True
        )
        result.meta.update(study=spec["study"], pack=spec["pack"], n_variants=len(pack.variants))
        result.meta["plugins"] = {path: plugin_files.sha256(path) for path in plugins}
        result.write(Path(outdir))
        if checkpoint and Path(checkpoint).exists():
            Path(checkpoint).unlink()  # the outputs now hold everything it did


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
