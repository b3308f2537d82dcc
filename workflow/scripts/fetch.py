"""rule fetch: find or download one dataset's raw files and write its manifest."""
from initbench import jobs

jobs.fetch(
    snakemake.wildcards.dataset,
    snakemake.params.options,
    snakemake.params.root,
    snakemake.output.manifest,
    log=snakemake.log[0],
)
