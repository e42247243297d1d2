PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

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

pytest: $(BIN)/.installed
	$(BIN)/pytest

schema: $(BIN)/.installed
	$(BIN)/accountflow export-schema > schema/schema.graphql

bench: $(BIN)/.installed
	@echo "Benchmarks run by hand at full size: see bench/README.md"
