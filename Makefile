# The project's one interface. Every target bootstraps what it needs on a new machine.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV ?= $(CURDIR)/.venv
BIN := $(VENV)/bin
PY := $(BIN)/python
export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PYTHONDONTWRITEBYTECODE := 1
LAB := $(PY) -m lab

.PHONY: help venv demo test lint sanity units integration bench lab-tests lab-up lab-down lab-status lab-env build changelog docs

help:
	@echo "make demo       build the lab and deploy the platform into it with site.yml"
	@echo "make test       everything CI checks: lint, sanity, unit and lab tests"
	@echo "make lint       ansible-lint, production profile"
	@echo "make sanity     ansible-test sanity, locally"
	@echo "make units      unit tests with coverage"
	@echo "make lab-tests  the lab's own tests (stand-ins, fixture charts)"
	@echo "make bench      benchmarks against the lab"
	@echo "make lab-up | lab-down | lab-status | lab-env"
	@echo "make build      ansible-galaxy collection build"
	@echo "make docs       regenerate docs/variables.md and the example inventory from the roles"

venv: $(VENV)/.requirements .build/collections/ansible_collections/kaapana/platform

$(VENV)/.requirements .build/collections/ansible_collections/kaapana/platform: requirements.txt scripts/bootstrap.sh
	bash scripts/bootstrap.sh

lint: venv
	bash scripts/lint.sh

sanity: venv
	bash scripts/sanity.sh

units: venv
	$(PY) -m pytest tests/unit

integration: venv
	$(PY) -m pytest tests/integration

# The lab's own tests (stand-ins, fixture charts): the rig, counted apart from the collection's tests.
lab-tests: venv
	$(PY) -m pytest --no-cov lab/tests

# CI: the static gates (ansible-lint, ansible-test sanity) beside the rig's own tests and one pytest run over
# the collection's unit and lab tests (scripts/test.sh); any failure fails the run.
test: venv
	bash scripts/test.sh

bench: venv
	$(PY) -c 'import matplotlib' 2>/dev/null || $(BIN)/pip install -q matplotlib==3.11.2
	$(PY) -m tests.bench

demo: venv
	bash scripts/demo.sh

build: venv
	$(BIN)/ansible-galaxy collection build --force

# Generated documentation: the variable reference and the example inventory come from the roles.
docs: venv
	$(PY) scripts/variables_reference.py
	$(PY) scripts/example_inventory.py

lab-up: venv
	$(LAB) up

lab-down: venv
	$(LAB) down

lab-status: venv
	$(LAB) status

lab-env: venv
	@$(LAB) env
