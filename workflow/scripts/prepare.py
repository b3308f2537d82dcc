"""rule prepare: turn one dataset into one cached tensor file."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # this checkout's initbench, in any env
from initbench import jobs

jobs.prepare(
    snakemake.wildcards.dataset,
    snakemake.params.options,
    snakemake.params.root,
    snakemake.output.data,
    log=snakemake.log[0],
)
