# PyRun Web: `make up` starts the platform, `make test` runs every test, `make bench` prints benchmarks.
SHELL := /bin/bash
UV_VERSION := 0.13.9
VENV := .venv
PY := $(VENV)/bin/python
UV := $(shell command -v uv 2>/dev/null)

.PHONY: install system-deps frontend frontend-test up test lint format bench bench-full clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml uv.lock
	@if [ -z "$(UV)" ]; then python3 -m pip install --quiet "uv==$(UV_VERSION)"; fi
	uv sync --frozen
	@touch $@

system-deps:
	@scripts/install-system-deps.sh

# The browser IDE (frontend/): npm ci when node_modules is missing or older than the lock file, and a build
# when dist/ is missing or any source is newer than it. Django serves frontend/dist as static files.
FRONTEND_SOURCES := $(shell find frontend/src -type f 2>/dev/null) frontend/index.html frontend/bench.html \
	frontend/package-lock.json \
	frontend/vite.config.ts frontend/tsconfig.json

frontend: frontend/dist/index.html

frontend/node_modules/.package-lock.json: frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	@touch $@

frontend/dist/index.html: frontend/node_modules/.package-lock.json $(FRONTEND_SOURCES)
	cd frontend && npm run build
	@touch $@

frontend-test: frontend/node_modules/.package-lock.json
	cd frontend && npx vitest run

# The sandbox's system packages first: without them the platform refuses to run user code (docs/security.md).
up: install frontend
	@scripts/install-system-deps.sh --runtime-only
	$(VENV)/bin/pyrun-web up

# Test processes (pytest-xdist; tests/parallel.py keeps their Redis databases and data dirs apart). Most tests
# wait on real workers, servers and browsers, so two share 2 cores well; a file's tests stay in one process.
TEST_WORKERS ?= 2

# Tests get their own throwaway data dir (and embedded Redis), removed afterwards, unless the caller names one.
# They build dozens of short-lived runtimes: bytecode compilation is off unless asked for (one test covers it).
test: install system-deps frontend frontend-test
	@if [ -n "$$PYRUN_TEST_DATA_DIR" ]; then dir="$$PYRUN_TEST_DATA_DIR"; \
	else dir=$$(mktemp -d -t pyrun-test-XXXXXX); trap 'rm -rf "$$dir"' EXIT; fi; \
	PYRUN_DATA_DIR="$$dir" PYRUN_RUNTIME_COMPILE_BYTECODE="$${PYRUN_RUNTIME_COMPILE_BYTECODE:-0}" \
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# lint-imports checks the direction of imports between apps (pyproject.toml [tool.importlinter]).
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# bench: every target with few, well-chosen repetitions (under 10 minutes on 2 cores); bench-full: the long
# statistical runs. Both print the machine's load and call a ratio inside its own noise "inconclusive".
bench: install
	$(PY) -m bench $(BENCH_ARGS)

bench-full: install
	$(PY) -m bench --full $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache frontend/dist
