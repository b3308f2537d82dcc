"""rule fetch: find or download one dataset's raw files and write its manifest."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # this checkout's initbench, in any env
from initbench import jobs

jobs.fetch(
    snakemake.wildcards.dataset,
    snakemake.params.options,
    snakemake.params.root,
    snakemake.output.manifest,
    log=snakemake.log[0],
)
