"""rule prepare: turn one dataset into one cached tensor file."""
from initbench import jobs

jobs.prepare(
    snakemake.wildcards.dataset,
    snakemake.params.options,
    snakemake.params.root,
    snakemake.output.data,
    log=snakemake.log[0],
)
