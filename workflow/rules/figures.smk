# Figures: one SVG per figure, each drawn from the aggregate tables only.


rule figure:
    input:
        **{t: f"results/metrics/{t}.parquet" for t in METRIC_TABLES},
        summary="results/summary.csv",
        spectra="results/metrics/spectra.parquet",
    output:
        svg=report(
            "results/report/figures/{figure}.svg",
            caption="../report/figure.rst",
            category="Figures",
            labels={"figure": "{figure}"},
        ),
    log:
        "results/logs/figures/{figure}.log",
    conda:
        ENV
    params:
        config=config,
        caption=lambda w: figures.CAPTIONS.get(w.figure, w.figure),
    script:
        "../scripts/figure.py"
