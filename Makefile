# The two commands: `make demo` and `make test`. Both build .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CORES ?= 2

.PHONY: demo test lint clean bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@# Byte-compiled now, once: where PYTHONDONTWRITEBYTECODE is set, every run's processes
	@# would otherwise compile the package again (~0.15 s each).
	$(BIN)/python -m compileall -q src >/dev/null
	@# The package's imports, parsed once for the rules' code hashes (src/aiddeserts/manifest.py):
	@# a first run in a new folder then parses none at its start (~0.5 s).
	$(BIN)/python -m aiddeserts.manifest >/dev/null
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) --quiet rules
	@echo "Map: $(CURDIR)/outputs/nyc/map.html"

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Peers side by side in one run (a few minutes); installs the bench-only extras first.
$(VENV)/.bench-installed: $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $@

bench: $(VENV)/.bench-installed
	$(BIN)/python bench/run.py $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests workflow/scripts scripts bench
	$(BIN)/snakemake --lint

clean:
	rm -rf data/processed/* outputs/* outputs/.versions .snakemake logs benchmarks test-artifacts
