"""rule aggregate_spectra: stack every pack's Jacobian spectra into one table."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # this checkout's initbench, in any env
from initbench import jobs, spectra

with jobs.logged(snakemake.log[0]):
    print(f"{spectra.aggregate(snakemake.input.parts, snakemake.output.spectra)} rows")
