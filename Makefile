PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
# The browser tests (marked `browser`) drive Debian's Chromium: Playwright cannot download
# one here. When it is missing, `make pytest` installs it where it can (as root, with
# apt-get); elsewhere it runs the other tests and says so in one line, except under CI
# (`CI` set), which requires the browser tests: they run, and fail without Chromium.
CHROMIUM = /usr/bin/chromium
INSTALL_CHROMIUM = sudo apt-get install -y chromium

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
	@if [ ! -x $(CHROMIUM) ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Chromium for the browser tests: apt-get install -y chromium"; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || \
		echo "apt-get could not install chromium" >&2; \
	fi
	@if [ -x $(CHROMIUM) ] || [ -n "$$CI" ]; then \
		$(BIN)/pytest; \
	else \
		echo "Chromium missing: browser tests skipped; install with: $(INSTALL_CHROMIUM)"; \
		$(BIN)/pytest -m "not browser"; \
	fi

schema: $(BIN)/.installed
	$(BIN)/accountflow export-schema > schema/schema.graphql

bench: $(BIN)/.installed
	@echo "Benchmarks run by hand at full size: see bench/README.md"
