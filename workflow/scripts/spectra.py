"""rule spectra: the Jacobian singular values of one pack's variants at initialisation."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # this checkout's initbench, in any env
from initbench import jobs, spectra

with jobs.logged(snakemake.log[0]):
    rows = spectra.run_pack(
        snakemake.params.spec,
        snakemake.input.data,
        snakemake.output.spectra,
        depths=snakemake.params.jacobian["depths"],
        inputs=snakemake.params.jacobian["inputs"],
        plugins=list(snakemake.input.plugins),
    )
    print(f"{rows} singular values")
