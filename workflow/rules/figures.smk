# Figures: one SVG per figure, each drawn from the aggregate tables only. One job draws them all,
# in `threads` worker processes: a job per figure paid ~3 s each to start Python and import pandas
# and matplotlib, a quarter of the report's tail on 2 cores.


rule figures:
    input:
        **{t: f"results/metrics/{t}.parquet" for t in METRIC_TABLES},
        summary="results/summary.csv",
        spectra="results/metrics/spectra.parquet",
    output:
        svgs=[
            report(
                f"results/report/figures/{name}.svg",
                caption=f"../../report/captions/{name}.rst",
                category="Figures",
                labels={"figure": name},
            )
            for name in FIGURES
        ],
    log:
        "results/logs/figures.log",
    conda:
        ENV
    threads: config["threads"]
    params:
        config=config,
        names=FIGURES,
    script:
        "../scripts/figures.py"
