# Two commands do everything on a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

## Upload the bundled example file to the built-in sandbox API and print where the workbook is.
demo: $(STAMP)
	$(BIN)/batch-uploader upload templates/example-shipments.csv --sandbox

## Run the test suite (what CI runs).
test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check batch_uploader tests bench
	$(BIN)/ruff format --check batch_uploader tests bench
	$(BIN)/mypy

## Run the benchmarks against the sandbox on 127.0.0.1 and write BENCHMARKS.md.
bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV)
