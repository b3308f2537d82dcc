# Training: one job per pack (all variants sharing an architecture), since each job pays ~2 s to import torch.


rule train:
    input:
        data=lambda w: f"results/data/{pack_spec(w)['dataset']}.pt",
        plugins=pack_plugins,
        plugin_checks=lambda w: [plugin_check(p) for p in pack_plugins(w)],
    output:
        **{t: f"results/runs/{{study}}/{{pack}}/{t}.parquet" for t in METRIC_TABLES},
        variants="results/runs/{study}/{pack}/variants.csv",
        meta="results/runs/{study}/{pack}/meta.json",
    log:
        "results/logs/train/{study}/{pack}.log",
    benchmark:
        "results/benchmarks/train/{study}/{pack}.tsv"
    conda:
        ENV
    threads: config["threads"]
    resources:
        runtime=120,
        mem_mb=pack_mem_mb,
        gpu=pack_gpus,
    params:
        spec=pack_spec,
        placement=pack_placement,
        checkpoint=lambda w: (
            f"results/checkpoints/{w.study}/{w.pack}.pt"
            if config["checkpoint"]
            else None
        ),
        checkpoint_every_s=config["checkpoint_every_s"],
    script:
        "../scripts/train.py"
