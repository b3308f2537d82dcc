# The leaderboard: every init ranked across every study and cell it took part in (initbench.leaderboard).


rule leaderboard:
    input:
        summary="results/summary.csv",
        dataset_meta=expand("results/data/{dataset}.json", dataset=DATASETS),
        plugins=expand("results/plugins/{plugin}.json", plugin=PLUGINS),
    output:
        csv="results/report/leaderboard.csv",
    log:
        "results/logs/leaderboard.log",
    conda:
        ENV
    script:
        "../scripts/leaderboard.py"
