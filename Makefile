# Pilotlight developer commands. Everything runs from a virtualenv in .venv that the targets create and keep
# up to date (reinstalled only when pyproject.toml changes). No stdin is read; works as root on a fresh clone.

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.pilotlight-installed
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: help venv demo test lint format migrate bench stop-db clean-db

help:
	@echo "make demo      run the portal with the demo portfolio at http://127.0.0.1:$${PORT:-8000} (Ctrl-C stops it)"
	@echo "make test      run the whole test suite (PYTEST_ARGS='-k name' to narrow it)"
	@echo "make lint      ruff check"
	@echo "make migrate   apply database migrations"
	@echo "make bench     run the benchmarks (bench/) and write docs/benchmarks.md (BENCH_ARGS='--sizes 100')"
	@echo "make bench-smoke  tiny benchmark for CI: query counts must not grow with the portfolio"
	@echo "make stop-db   stop the embedded PostgreSQL server (var/pgdata)"
	@echo "make clean-db  stop it and delete var/pgdata and var/broker (all local data)"

$(PY):
	@test -n "$(PYTHON)" || { echo "Python 3.11 is needed (python3.11 not found)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	@echo "Installing Pilotlight and its dependencies into $(VENV) (first run: about a minute)"
	$(PY) -m pip install -qq --disable-pip-version-check -e ".[dev]"
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(PY) -m portal.launcher demo

test: $(STAMP)
	$(PY) -m portal.launcher test $(PYTEST_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .

format: $(STAMP)
	$(PY) -m ruff format .

migrate: $(STAMP)
	$(PY) manage.py migrate --noinput

# Each area benchmark writes its section to docs/benchmarks/; bench.run runs the portfolio benchmark and assembles
# docs/benchmarks.md from all of them. Every benchmark runs even if an earlier one misses a target; make fails if any did.
bench: $(STAMP)
	@status=0; \
	$(PY) -m bench.mlflow_sync || status=1; \
	$(PY) -m bench.cost_import || status=1; \
	$(PY) -m bench.compliance_audit || status=1; \
	$(PY) -m bench.run $(BENCH_ARGS) || status=1; \
	exit $$status

.PHONY: bench-smoke
bench-smoke: $(STAMP)
	$(PY) -m bench.run --smoke

stop-db: $(STAMP)
	$(PY) -m portal.launcher stop-db

clean-db: stop-db
	rm -rf var/pgdata var/broker
