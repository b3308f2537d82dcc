"""rule figures: draw every figure from the aggregate tables."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # this checkout's initbench, in any env
from pathlib import Path

from initbench import figures, jobs

with jobs.logged(snakemake.log[0]):
    jobs.use_plugins(snakemake.params.config)  # plugin inits: their names, variances and labels
    figures.draw_all(
        dict(zip(snakemake.params.names, map(Path, snakemake.output.svgs), strict=True)),
        Path(snakemake.input.epochs).parent,
        Path(snakemake.input.summary),
        snakemake.params.config,
        workers=snakemake.threads,
    )
