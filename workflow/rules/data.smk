# Datasets: fetch (downloads, on the submit host only) and prepare (one cached tensor file each).


localrules:
    fetch,


rule fetch:
    input:
        dataset_file,
    output:
        manifest="data/manifests/{dataset}.json",
    log:
        "results/logs/fetch/{dataset}.log",
    conda:
        ENV
    params:
        options=lambda w: grid.dataset_options(config, w.dataset),
        root=lambda w, output: data_root(output.manifest),
    script:
        "../scripts/fetch.py"


rule prepare:
    input:
        manifest="data/manifests/{dataset}.json",
    output:
        data="results/data/{dataset}.pt",
        meta="results/data/{dataset}.json",
    log:
        "results/logs/prepare/{dataset}.log",
    conda:
        ENV
    params:
        options=lambda w: grid.dataset_options(config, w.dataset),
        root=lambda w, input: data_root(input.manifest),
    script:
        "../scripts/prepare.py"
