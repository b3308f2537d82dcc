"""rule report: render the HTML report and its PDF."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # this checkout's initbench, in any env
from pathlib import Path

from initbench import jobs, report

with jobs.logged(snakemake.log[0]):
    jobs.use_plugins(snakemake.params.config)  # plugin inits: their names, variances and labels
    report.render(
        metrics_dir=Path(snakemake.input.epochs).parent,
        summary_csv=Path(snakemake.input.summary),
        jobs_json=Path(snakemake.input.jobs),
        benchmarks=[Path(p) for p in snakemake.params.benchmarks],
        dataset_meta=[Path(p) for p in snakemake.input.dataset_meta],
        figures={
            name: Path(p) for name, p in zip(snakemake.params.figures, snakemake.input.figures, strict=True)
        },
        config=snakemake.params.config,
        out_html=Path(snakemake.output.html),
        out_pdf=Path(snakemake.output.pdf),
        verdicts_csv=Path(snakemake.output.verdicts),
    )
