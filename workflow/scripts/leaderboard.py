"""rule leaderboard: rank every init across every study and cell."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # this checkout's initbench, in any env
from initbench import jobs

jobs.leaderboard(
    snakemake.input.summary,
    list(snakemake.input.dataset_meta),
    list(snakemake.input.plugins),
    snakemake.output.csv,
    log=snakemake.log[0],
)
