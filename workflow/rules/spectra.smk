# Jacobian spectra at initialisation: one job per pack of each study with stats.jacobian, then one table.
# No training: each job rebuilds its variants' initial parameters (initbench.spectra).
from initbench import spectra as ibspectra  # noqa: E402

SPECTRA_PACKS = [(s, p) for s, p in PACKS if s in ibspectra.studies(config)]


rule spectra:
    input:
        data=lambda w: f"results/data/{pack_spec(w)['dataset']}.pt",
        plugins=pack_plugins,
        plugin_checks=lambda w: [plugin_check(p) for p in pack_plugins(w)],
    output:
        spectra="results/spectra/{study}/{pack}.parquet",
    log:
        "results/logs/spectra/{study}/{pack}.log",
    conda:
        ENV
    threads: 1
    params:
        spec=pack_spec,
        jacobian=lambda w: config["studies"][w.study]["stats"]["jacobian"],
    script:
        "../scripts/spectra.py"


rule aggregate_spectra:
    input:
        parts=[f"results/spectra/{s}/{p}.parquet" for s, p in SPECTRA_PACKS],
    output:
        spectra="results/metrics/spectra.parquet",
    log:
        "results/logs/aggregate_spectra.log",
    conda:
        ENV
    script:
        "../scripts/aggregate_spectra.py"
