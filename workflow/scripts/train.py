"""rule train: train one pack of variants."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # this checkout's initbench, in any env
from pathlib import Path

from initbench import jobs

jobs.train(
    spec=snakemake.params.spec,
    data=snakemake.input.data,
    outdir=str(Path(snakemake.output.meta).parent),
    checkpoint=snakemake.params.checkpoint,
    device=snakemake.params.device,
    threads=snakemake.threads,
    log=snakemake.log[0],
    plugins=list(snakemake.input.plugins),
)
