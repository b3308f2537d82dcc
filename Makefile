# The two commands of the Quick start are `make run` and `make test`; both set everything up first.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.initbench-$(shell cat pyproject.toml | sha256sum | cut -c1-12)
CORES ?= all
SNAKEMAKE := $(BIN)/snakemake

.PHONY: setup setup-system setup-test run test lint bench dry-run clean help

help:
	@echo "make run    - set up, then run the whole study (snakemake --cores $(CORES)) and write results/report/"
	@echo "make test   - set up, then run the test suite"
	@echo "make setup  - the set-up alone (idempotent): .venv with the pinned packages + system libraries"
	@echo "make lint   - snakemake --lint, snakefmt, ruff"
	@echo "make bench  - the engine's speed benchmark (results/bench/bench.json)"

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
	@if [ -n "$$INITBENCH_SLURM_TESTS" ]; then bash tests/slurm/install.sh; fi

run: setup
	$(SNAKEMAKE) --cores $(CORES)

dry-run: setup
	$(SNAKEMAKE) --cores $(CORES) -n

test: setup-test
	$(BIN)/pytest -q -ra

lint: setup
	$(SNAKEMAKE) --lint
	$(BIN)/snakefmt --check Snakefile workflow/
	$(BIN)/ruff check src tests workflow/scripts
	$(BIN)/ruff format --check src tests workflow/scripts

bench: setup
	$(BIN)/python -m initbench.bench --out results/bench/bench.json

clean:
	rm -rf results .snakemake
