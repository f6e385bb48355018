# Two commands do everything on a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The browser tests drive Chromium from the OS packages (Playwright's own download is not used).
CHROMIUM ?= /usr/bin/chromium

.PHONY: demo test lint bench clean chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

## Upload the bundled example file to the built-in sandbox API and print where the workbook is.
demo: $(STAMP)
	$(BIN)/batch-uploader upload templates/example-shipments.csv --sandbox

## Run the test suite (what CI runs).
test: $(STAMP) chromium
	$(BIN)/python -m pytest -q

## Chromium for the web page's browser tests: installed from apt when missing (as root).
chromium:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium from the OS packages (browser tests)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "make test needs Chromium at $(CHROMIUM) for the browser tests: run 'sudo apt-get install -y chromium' (Debian/Ubuntu) and try again" >&2; \
	    exit 1; \
	  fi; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check batch_uploader tests bench
	$(BIN)/ruff format --check batch_uploader tests bench
	$(BIN)/mypy

## Run the benchmarks against the sandbox on 127.0.0.1 and write BENCHMARKS.md.
bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV)
