# Plugins: each plugin file (config `plugins`) is imported and its inits tried on small layers
# (initbench.plugincheck) before any train job that uses it starts. Only those jobs depend on the
# check, so editing a plugin reruns exactly them: Snakemake has no order-only input, and ancient()
# would hide a job's other reasons to rerun while the check reruns (docs/plugins.md). The config's
# specs of the plugin's inits are tried too; they are read from the config, not given as params,
# so that adding a spec does not rerun the check and with it every pack that uses the plugin
# (a train job tries its own specs again before it trains).


rule check_plugin:
    input:
        plugin=lambda w: PLUGINS[w.plugin],
    output:
        record="results/plugins/{plugin}.json",
    log:
        "results/logs/plugins/{plugin}.log",
    priority: 100
    conda:
        ENV
    script:
        "../scripts/check_plugin.py"
