# initbench: a reproducible benchmark of neural-network weight initialisation.
# Run: snakemake --cores all   (see README.md; the config keys are in config/README.md)
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"


report: "workflow/report/workflow.rst"


include: "workflow/rules/data.smk"
include: "workflow/rules/plugins.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/spectra.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/leaderboard.smk"


rule all:
    default_target: True
    input:
        "results/report/report.html",
        "results/report/report.pdf",
        "results/report/leaderboard.csv",
