# Benchmark targets, included from the Makefile. `make bench` loads synthetic data with our
# loader, the INSERT baseline (the original pipeline's row-by-row INSERTs), pimdb and server-side COPY (the ceiling), interleaved,
# REPEAT times, and writes docs/benchmarks/{results.json,results.md,chart.png}.
# How to read the numbers: docs/benchmarks/README.md.

##@ Benchmark (settings: SCALE or BENCH_SCALE, REPEAT, BENCH_ARGS, LOADER_VENV, PIMDB_VENV)

SCALE ?= 0.02# 1.0 = the real files' sizes; 0.02 is about 4 M rows
BENCH_SCALE ?= $(SCALE)# the same setting, under the name the other targets' settings use
BENCH_ARGS ?=# e.g. --contenders ours,ceiling --out build/bench
PIMDB_VENV ?= .venvs/pimdb
LOADER_VENV ?= .venvs/loader# the loader installed as images/loader/Dockerfile installs it

# What the pods run: a non-editable install of loader/ and its runtime dependencies only,
# pinned by the loader image's own lock (requirements/loader.lock), bytecode compiled. The dev
# venv would add Airflow's .pth files and the editable-install finder to every process start.
$(LOADER_VENV)/.installed: requirements/loader.lock loader/pyproject.toml $(shell find loader/imdb_loader -name '*.py')
	rm -rf $(LOADER_VENV)
	$(PYTHON) -m venv $(LOADER_VENV)
	$(LOADER_VENV)/bin/python -m pip install --quiet --constraint requirements/loader.lock ./loader
	rm -rf loader/build
	@touch $@

$(PIMDB_VENV)/.installed: requirements/pimdb.lock
	$(PYTHON) -m venv $(PIMDB_VENV)
	$(PIMDB_VENV)/bin/python -m pip install --quiet -r requirements/pimdb.lock
	@touch $@

.PHONY: bench
bench: $(VENV)/.installed $(PIMDB_VENV)/.installed $(LOADER_VENV)/.installed ## Benchmark ours vs the INSERT baseline, pimdb and the COPY ceiling (never part of `make test`).
	$(BIN)/python bench/loader/bench.py --scale $(BENCH_SCALE) --repeat $(REPEAT) \
	  --imdb-load $(LOADER_VENV)/bin/imdb-load $(BENCH_ARGS)

.PHONY: bench-refresh
bench-refresh: $(VENV)/.installed $(LOADER_VENV)/.installed ## Benchmark only the unchanged day: a parallel load, then all seven skipped.
	$(BIN)/python bench/loader/bench.py --scale $(BENCH_SCALE) --repeat $(REPEAT) \
	  --imdb-load $(LOADER_VENV)/bin/imdb-load --contenders ours-parallel --out build/bench-refresh $(BENCH_ARGS)

.PHONY: bench-report
bench-report: $(VENV)/.installed ## Redraw docs/benchmarks/results.md, chart.png and the README summary from results.json.
	$(BIN)/python bench/loader/bench.py --report-only

.PHONY: bench-pipeline
bench-pipeline: $(VENV)/.installed $(DBT_VENV)/.installed $(LOADER_VENV)/.installed ## The whole pipeline at SCALE: loads as the DAG runs them, dbt build, freshness; peak disk and memory (never part of `make test`).
	$(BIN)/python bench/pipeline/run.py --scale $(SCALE) --imdb-load $(LOADER_VENV)/bin/imdb-load \
	  --dbt $(DBT_VENV)/bin/dbt $(BENCH_PIPELINE_ARGS)
