# Provenant: `make run` serves the demo, `make test` runs the suite. `make help` lists the rest.
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
INSTALLER ?= uv
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help setup run test coverage check fuzz billing-check worker beat bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'
	@echo
	@echo "Variables (make VAR=value target):"
	@echo "  PORT=8000 HOST=127.0.0.1   where make run serves, e.g. make run PORT=8080 HOST=0.0.0.0"
	@echo "  PYTEST_ARGS=...            extra pytest arguments, e.g. make test PYTEST_ARGS='-k answers -x'"
	@echo "  INSTALLER=pip              install with pip instead of uv"
	@echo "  PYTHON=/path/to/python3.11 the interpreter the virtualenv is made from"

# Installs with uv (from PyPI, into the venv: nothing global changes) when it can be had, else pip.
# Progress is printed either way. INSTALLER=pip forces pip. Remade whenever pyproject.toml changes.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Provenant needs Python 3.11 or newer; set PYTHON=/path/to/python3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@if [ "$(INSTALLER)" != pip ] && { [ -x $(BIN)/uv ] || { echo "setup: fetching uv into $(VENV)"; \
	    $(BIN)/python -m pip install --disable-pip-version-check uv; }; }; then \
	  echo "setup: installing dependencies with uv"; \
	  $(BIN)/uv pip install --python $(BIN)/python -e '.[test,dev]'; \
	else \
	  echo "setup: installing dependencies with pip (slower; takes a few minutes)"; \
	  $(BIN)/python -m pip install --quiet --upgrade pip && \
	  $(BIN)/python -m pip install --progress-bar on -e '.[test,dev]'; \
	fi
	@touch $(STAMP)

setup: $(STAMP) ## Create the virtualenv and install everything
	@mkdir -p var

run: setup ## Migrate, seed the demo and serve it at http://HOST:PORT (default 127.0.0.1:8000)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo --host http://$(HOST):$(PORT)
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: setup ## Run the whole test suite
	$(BIN)/pytest $(PYTEST_ARGS)

coverage: setup ## Run the whole test suite with coverage and print the total
	$(BIN)/pytest --cov --cov-report=term:skip-covered $(PYTEST_ARGS)

check: setup ## Lint, format check, import contracts, type check, migrations check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python manage.py makemigrations --check --dry-run

fuzz: setup ## Fuzz the API with Schemathesis against a live server (needs PostgreSQL, Redis)
	BIN=$(BIN) tests/fuzz/run_schemathesis.sh

billing-check: setup ## Rate pending usage, then check the ledger (DATABASE_URL's): non-zero if off
	$(BIN)/python manage.py rate_usage
	$(BIN)/python manage.py billing_check

worker: setup ## Start a Celery worker (needs CELERY_BROKER_URL or REDIS_URL)
	$(BIN)/celery -A config worker --loglevel=INFO

beat: setup ## Start Celery beat (periodic tasks)
	$(BIN)/celery -A config beat --loglevel=INFO

bench: setup ## Run every benchmark in bench/
	@set -e; for f in bench/bench_*.py; do echo "== $$f"; $(BIN)/python $$f; done

clean: ## Remove the virtualenv and local data
	rm -rf $(VENV) var
