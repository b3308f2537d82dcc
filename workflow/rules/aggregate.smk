# Aggregation: every pack's files → one tidy table per kind, plus one summary row per variant.


rule aggregate:
    input:
        **{t: all_pack_files(f"{t}.parquet") for t in METRIC_TABLES},
        variants=all_pack_files("variants.csv"),
        meta=all_pack_files("meta.json"),
    output:
        **{t: f"results/metrics/{t}.parquet" for t in METRIC_TABLES},
        summary="results/summary.csv",
        jobs="results/metrics/jobs.json",
    log:
        "results/logs/aggregate.log",
    conda:
        ENV
    script:
        "../scripts/aggregate.py"
