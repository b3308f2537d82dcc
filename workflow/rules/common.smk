# Shared helpers: config validation, the grid, and input functions. Torch is never imported here.
import os
import sys

# the DAG is built with this checkout's package; the job scripts put the same src/ on their path
sys.path.insert(0, os.path.join(workflow.basedir, "src"))

from initbench import (
    config as ibconfig,
    figures,
    grid,
    kinds,
    locks,
    packsize,
    placement,
    plugins,
)  # noqa: E402
from initbench.schema import METRIC_TABLES  # noqa: E402

# A config file given with --configfile is a whole study: it replaces config/config.yaml instead of
# being merged into it (Snakemake's default), so its studies never inherit the default's keys.
# Several --configfile files still merge in order, and --config key=value still overrides.
if workflow.config_settings.configfiles:
    from snakemake.common.configfile import load_configfile
    from snakemake.utils import update_config

    config = {}
    for _path in workflow.config_settings.configfiles:
        update_config(config, load_configfile(_path))
    update_config(config, dict(workflow.config_settings.config))

try:
    config = ibconfig.validate(
        config, os.path.join(workflow.basedir, "workflow/schemas/config.schema.yaml")
    )
except ValueError as err:  # ConfigError, GridError: one readable line, no traceback
    sys.stderr.write(f"initbench: config error: {err}\n")
    sys.exit(1)

if workflow.is_main_process:
    # a run killed with SIGKILL leaves its lock behind; remove it when its owner is provably gone
    if locks.clear_stale():
        sys.stderr.write(
            "initbench: removed the lock left by a killed run; resuming.\n"
        )
    locks.register()

# pack_size auto sizes packs to the GPU's memory, and gpu_jobs auto counts how many of them fit
# one GPU. The main process reads the memory once and hands it to every job's re-parse (local or
# SLURM) in the environment, so all of them cut the same packs.
if placement.GPU_MEMORY_VAR not in os.environ:
    os.environ[placement.GPU_MEMORY_VAR] = str(placement.gpu_memory_mb(config) or 0)


PACKS, GPU_JOBS = placement.plan(
    config, int(os.environ[placement.GPU_MEMORY_VAR]) or None
)
os.environ[placement.GPU_JOBS_VAR] = str(GPU_JOBS)  # for the train jobs


envvars:
    "INITBENCH_GPU_MEMORY_MB",  # asserted, and passed on to remote jobs by the executor
    "INITBENCH_GPU_JOBS",


DATASETS = grid.datasets_used(config)
FIGURES = figures.catalog(config["studies"])
ENV = "../../envs/initbench.yaml"


wildcard_constraints:
    study="[A-Za-z0-9_]+",
    pack="[^/]+",
    dataset="[^/]+",


def pack_spec(wildcards):
    return PACKS[(wildcards.study, wildcards.pack)]


def pack_place(wildcards):
    """Where a pack trains and whether its job asks for a GPU (initbench.placement)."""
    spec = pack_spec(wildcards)
    return placement.place(spec, placement.data_of(config, spec), config["device"])


def pack_placement(wildcards):
    return {k: v for k, v in pack_place(wildcards).items() if k != "gpu"}


def pack_gpus(wildcards):
    return pack_place(wildcards)["gpu"]


def pack_mem_mb(wildcards):
    """Host memory for a train job: the pack's own estimate (initbench.packsize)."""
    spec = pack_spec(wildcards)
    name = spec["dataset"]
    return packsize.job_mem_mb(spec, packsize.data_of(name, config["datasets"][name]))


def pack_dir(study, pack):
    return f"results/runs/{study}/{pack}"


def all_pack_files(name):
    return [f"{pack_dir(s, p)}/{name}" for s, p in PACKS]


# Plugin files (config `plugins`), by their file name: results/plugins/<name>.json is each one's check.
PLUGINS = {plugins.stem(path): path for path in config["plugins"]}


def pack_plugins(wildcards):
    """The plugin files whose inits this pack uses: inputs of its train job, so editing one reruns it."""
    return plugins.used_by([v["init"] for v in pack_spec(wildcards)["variants"]])


def plugin_check(path):
    return f"results/plugins/{plugins.stem(path)}.json"


def dataset_file(wildcards):
    """A tensors dataset's own .npz (an input of its fetch, so editing it reruns that dataset's jobs)."""
    opts = grid.dataset_options(config, wildcards.dataset)
    return [opts["source"]] if kinds.KINDS[opts["kind"]].origin == kinds.FILE else []


def data_root(manifest):
    """data/manifests/<name>.json -> data/: where torchvision's folders live."""
    return os.path.dirname(os.path.dirname(manifest))
