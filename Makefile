# Thin shortcuts over deploy/local/bootstrap.sh and the `sunaba` command.
SHELL := /bin/bash
ROOT := $(shell [ "$$(id -u)" = 0 ] && echo yes)
PREFIX ?= $(if $(ROOT),/opt/sunaba,$(HOME)/.local/share/sunaba)
STATE_DIR ?= $(if $(ROOT),/var/lib/sunaba,$(HOME)/.local/state/sunaba)
VENV := $(PREFIX)/venv
SUNABA := $(VENV)/bin/sunaba
PYTEST_ARGS ?=
# A local copy of the open data (<mirror>/<dataset>/<file>) for sites that cannot download:
#   make up DATASETS_MIRROR=/path/to/opendata
DATASETS_MIRROR ?=

.PHONY: up install install-dev lock test-tools test test-unit bench lint format docs clean-state

up: install
	SUNABA_FETCH_COURSE_DATA=1 $(if $(DATASETS_MIRROR),SUNABA__DATASETS__MIRROR=$(abspath $(DATASETS_MIRROR)) )$(SUNABA) --config hub_config/sunaba.yaml up --prefix $(PREFIX) --state-dir $(STATE_DIR)

install:
	deploy/local/bootstrap.sh $(PREFIX) thumbnails

install-dev:
	deploy/local/bootstrap.sh $(PREFIX) thumbnails,dev
	$(SUNABA) --config hub_config/sunaba.yaml install --prefix $(PREFIX)

# Re-resolve deploy/constraints.txt from the ranges in pyproject.toml, in a scratch venv.
lock:
	rm -rf .lock-venv && /usr/bin/python3 -m venv .lock-venv
	.lock-venv/bin/pip install -q --upgrade pip && .lock-venv/bin/pip install -q ".[dev,k8s,thumbnails]"
	{ sed -n '1,3p' deploy/constraints.txt; .lock-venv/bin/pip freeze | grep -v -e '^sunaba' -e ' @ ' -e '^pip==' -e '^setuptools==' -e '^wheel=='; } > deploy/constraints.new
	mv deploy/constraints.new deploy/constraints.txt && rm -rf .lock-venv

# Debian packages only the tests need (a browser, servers the deploy tests start).
test-tools:
	deploy/local/test-tools.sh

test: install-dev test-tools
	SUNABA_TEST_PREFIX=$(PREFIX) $(VENV)/bin/python -m pytest -p no:cacheprovider --durations=25 $(PYTEST_ARGS) tests

test-unit: install-dev
	$(VENV)/bin/python -m pytest -p no:cacheprovider tests/unit

bench: install-dev test-tools
	SUNABA_TEST_PREFIX=$(PREFIX) $(VENV)/bin/python benchmarks/run_all.py

lint:
	$(VENV)/bin/ruff check src tests benchmarks hub_config
	$(VENV)/bin/ruff format --check src tests benchmarks hub_config

format:
	$(VENV)/bin/ruff format src tests benchmarks hub_config

docs:
	$(SUNABA) config docs
