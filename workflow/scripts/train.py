"""rule train: train one pack of variants."""

import os
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # this checkout's initbench, in any env
from pathlib import Path

from initbench import jobs

jobs.train(
    spec=snakemake.params.spec,
    data=snakemake.input.data,
    outdir=str(Path(snakemake.output.meta).parent),
    checkpoint=snakemake.params.checkpoint,
    checkpoint_every_s=snakemake.params.checkpoint_every_s,
    placement=snakemake.params.placement,
    gpu_jobs=int(os.environ.get("INITBENCH_GPU_JOBS", "1")),  # set by workflow/rules/common.smk
    threads=snakemake.threads,
    log=snakemake.log[0],
    plugins=list(snakemake.input.plugins),
)
