"""rule aggregate: stack every pack's files into the aggregate tables."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # this checkout's initbench, in any env
from initbench import aggregate, jobs
from initbench.schema import METRIC_TABLES

with jobs.logged(snakemake.log[0]):
    keys = (*METRIC_TABLES, "variants", "meta")
    counts = aggregate.aggregate(
        {k: list(snakemake.input[k]) for k in keys},
        {k: snakemake.output[k] for k in (*METRIC_TABLES, "summary", "jobs")},
    )
    print(counts)
