# The report: HTML with inline SVG figures, and the PDF rendered from the same HTML.


rule report:
    input:
        **{t: f"results/metrics/{t}.parquet" for t in METRIC_TABLES},
        summary="results/summary.csv",
        spectra="results/metrics/spectra.parquet",
        jobs="results/metrics/jobs.json",
        figures=expand("results/report/figures/{figure}.svg", figure=FIGURES),
        dataset_meta=expand("results/data/{dataset}.json", dataset=DATASETS),
    output:
        html="results/report/report.html",
        pdf="results/report/report.pdf",
        verdicts="results/report/verdicts.csv",
    log:
        "results/logs/report.log",
    conda:
        ENV
    params:
        config=config,
        figures=FIGURES,
        benchmarks=[f"results/benchmarks/train/{s}/{p}.tsv" for s, p in PACKS],
    script:
        "../scripts/report.py"
