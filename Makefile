# The two commands of the Quick start are `make run` and `make test`; both set everything up first.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.initbench-$(shell cat pyproject.toml | sha256sum | cut -c1-12)
CORES ?= all
SNAKEMAKE := $(BIN)/snakemake

.PHONY: setup setup-system setup-test run test test-cluster lint bench bench-dag bench-gpu bench-paper gpu-check gpu-carry dry-run clean help

help:
	@echo "make run    - set up, then run the whole study (snakemake --cores $(CORES)) and write results/report/"
	@echo "make test   - set up, then run the test suite"
	@echo "make test-cluster - as root: install Debian's SLURM, then run the SLURM tests on a throwaway local cluster"
	@echo "make setup  - the set-up alone (idempotent): .venv with the pinned packages + system libraries"
	@echo "make lint   - snakemake --lint, snakefmt, ruff"
	@echo "make bench  - the engine's speed benchmark (results/bench/bench.json)"
	@echo "make bench-dag - the dry-run time of a 10,000-variant grid (results/bench/dag.json)"
	@echo "make bench-gpu - lab and depth packs on a GPU: model-epochs/s, share of the matmul rate (results/bench/gpu.json)"
	@echo "make bench-paper - the paper grid's wall time on this device, projected (results/bench/paper.json)"
	@echo "make gpu-check - on a CUDA machine: bench-gpu, CUDA tests, default study, projection; each under a timeout (OUT=dir)"
	@echo "make gpu-carry - gather the wheels and Fashion-MNIST a bare GPU image lacks into .gpu-carry/"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
	set -o pipefail; $(BIN)/python -m pip install -q -e '.[workflow,dev]' 2>&1 | { grep -v '^WARNING: Location' || true; }
	@rm -f $(VENV)/.initbench-* && touch $@

setup-system:
	@envs/setup-system.sh envs/apt-run.txt

setup: setup-system $(STAMP)

setup-test: setup
	@envs/setup-system.sh --optional envs/apt-test.txt

# CONFIG=FILE runs another config (e.g. config/paper.yaml) in place of config/config.yaml.
CONFIG ?=
CONFIGFILE := $(if $(CONFIG),--configfile $(CONFIG))
# Training jobs declare resources: gpu=1 when they train on a GPU; this caps them at gpu_jobs per
# GPU (config/README.md). Without a GPU it is gpu=0, and no job asks for one.
GPUS = $$($(BIN)/python -m initbench.devices $(CONFIGFILE))

run: setup
	$(SNAKEMAKE) --cores $(CORES) --resources gpu=$(GPUS) $(CONFIGFILE)

dry-run: setup
	$(SNAKEMAKE) --cores $(CORES) -n $(CONFIGFILE)

test: setup-test
	$(BIN)/pytest -q -ra

# The SLURM tests (skipped by `make test`): they start daemons as root and write /etc/slurm/.
test-cluster: setup-test
	bash tests/slurm/install.sh
	INITBENCH_SLURM_TESTS=1 $(BIN)/pytest -q -ra -m slurm tests/test_slurm.py

lint: setup
	$(SNAKEMAKE) --lint
	$(BIN)/snakefmt --check Snakefile workflow/
	$(BIN)/ruff check src tests workflow/scripts
	$(BIN)/ruff format --check src tests workflow/scripts

bench: setup
	$(BIN)/python -m initbench.bench --out results/bench/bench.json

bench-dag: setup
	$(BIN)/python -m initbench.dagbench --out results/bench/dag.json

bench-gpu: setup
	$(BIN)/python -m initbench.gpubench --out results/bench/gpu.json

bench-paper: setup
	$(BIN)/python -m initbench.paperbench $(CONFIGFILE) --out results/bench/paper.json

# The GPU checks run from a bare GPU image too (no venv, no network): see tools/gpu-check.sh.
# STEPS="bench tests" runs some of its steps (setup bench tests study report paper).
gpu-check:
	bash tools/gpu-check.sh $(STEPS)

gpu-carry:
	bash tools/gpu-carry.sh .gpu-carry

clean:
	rm -rf results .snakemake
