PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
# The dashboard's browser test drives Debian's Chromium: Playwright cannot download one here.
CHROMIUM = /usr/bin/chromium

.PHONY: run test lint typecheck pytest bench schema

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/accountflow serve --host 127.0.0.1 --port $${PORT:-8000}

test: lint typecheck pytest

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/.installed
	$(BIN)/mypy

pytest: $(BIN)/.installed $(CHROMIUM)
	$(BIN)/pytest

$(CHROMIUM):
	@if [ "$$(id -u)" != 0 ]; then echo "Chromium is missing: run 'sudo apt-get install -y chromium'" >&2; exit 1; fi
	DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

schema: $(BIN)/.installed
	$(BIN)/accountflow export-schema > schema/schema.graphql

bench: $(BIN)/.installed
	@echo "Benchmarks run by hand at full size: see bench/README.md"
