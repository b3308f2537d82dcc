"""rule figure: draw one figure from the aggregate tables."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # this checkout's initbench, in any env
from pathlib import Path

from initbench import figures, jobs

with jobs.logged(snakemake.log[0]):
    jobs.use_plugins(snakemake.params.config)  # plugin inits: their names, variances and labels
    figures.draw(
        snakemake.wildcards.figure,
        Path(snakemake.input.epochs).parent,
        Path(snakemake.input.summary),
        Path(snakemake.output.svg),
        snakemake.params.config,
    )
