"""rule check_plugin: import one plugin file and try its inits on small layers."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # this checkout's initbench, in any env
from initbench import jobs

jobs.check_plugin(snakemake.input.plugin, snakemake.config, snakemake.output.record, log=snakemake.log[0])
