# PyRun Web: `make up` starts the platform, `make test` runs every test, `make bench` prints benchmarks.
SHELL := /bin/bash
UV_VERSION := 0.13.9
VENV := .venv
PY := $(VENV)/bin/python
UV := $(shell command -v uv 2>/dev/null)

.PHONY: install system-deps up test lint format bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml uv.lock
	@if [ -z "$(UV)" ]; then python3 -m pip install --quiet "uv==$(UV_VERSION)"; fi
	uv sync --frozen
	@touch $@

system-deps:
	@scripts/install-system-deps.sh

up: install
	$(VENV)/bin/pyrun-web up

# Tests get their own throwaway data dir (and embedded Redis), removed afterwards, unless the caller names one.
test: install system-deps
	@if [ -n "$$PYRUN_TEST_DATA_DIR" ]; then dir="$$PYRUN_TEST_DATA_DIR"; \
	else dir=$$(mktemp -d -t pyrun-test-XXXXXX); trap 'rm -rf "$$dir"' EXIT; fi; \
	PYRUN_DATA_DIR="$$dir" $(VENV)/bin/pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: install
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
