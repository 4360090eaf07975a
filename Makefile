# One entry point for everything: `make demo` runs the main job, `make test` the tests.
SHELL := /bin/bash
# The interpreter .venv is built on: scripts/venv-python.sh says which and why; PYTHON=... overrides.
PYTHON ?= $(shell scripts/venv-python.sh)
VENV := .venv
PY := $(VENV)/bin/python
PACKAGES := -e libs/billing_core -e libs/billing_io -e libs/billing_cli -e libs/billing_runtime \
            -e services/ingest -e services/rating -e services/invoice

.PHONY: FORCE setup up down status test test-unit test-integration lint demo bench-rating bench-ingest bench-dashboard bench-invoice clean helm-lint

# pytest exits 5 when it collected nothing: for us that is a failure, said out loud.
define run_pytest
	$(PY) -m pytest $(1) || { rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest collected no tests in $(1)" >&2; fi; exit $$rc; }
endef

# A venv built on another interpreter than the one chosen now is built again from scratch.
$(VENV)/.base-python: FORCE
	@want="$$(realpath "$$(command -v $(PYTHON))")" || exit 1; \
	if [ "$$(cat $@ 2>/dev/null)" != "$$want" ]; then \
	  [ ! -d $(VENV) ] || echo "rebuilding $(VENV) on $$want"; \
	  rm -rf $(VENV); mkdir -p $(VENV); echo "$$want" >$@; \
	fi

$(VENV)/.installed: $(VENV)/.base-python constraints.txt requirements-dev.txt $(wildcard libs/*/pyproject.toml services/*/pyproject.toml)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt $(PACKAGES) -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed

up: setup
	scripts/stack.sh up

down:
	scripts/stack.sh down

status:
	scripts/stack.sh status

test: setup
	scripts/stack.sh up
	$(call run_pytest,tests)

test-unit: setup
	$(call run_pytest,tests/unit)

test-integration: setup
	scripts/stack.sh up
	$(call run_pytest,tests/integration)

lint: setup
	$(VENV)/bin/ruff check libs services tests bench
	$(VENV)/bin/mypy

demo: up
	scripts/demo.sh

bench-rating: setup
	$(PY) bench/bench_rating.py

clean: down
	rm -rf .local $(VENV)

bench-invoice: setup
	$(PY) bench/bench_invoice.py

# helm is built from source into .local/bin on first use (slow once; not part of `make test`).
HELM := .local/bin/helm
$(HELM):
	mkdir -p .local/bin
	GOBIN=$(CURDIR)/.local/bin go install helm.sh/helm/v4/cmd/helm@v4.3.2

helm-lint: $(HELM)
	for region in test us-prod uk-prod; do \
	  $(HELM) lint helm/billing -f helm/billing/values-$$region.yaml || exit 1; \
	  $(HELM) template billing helm/billing -f helm/billing/values-$$region.yaml >.local/helm-$$region.yaml || exit 1; \
	  echo "rendered $$region: $$(grep -c '^kind:' .local/helm-$$region.yaml) objects in .local/helm-$$region.yaml"; \
	done

bench-dashboard: up
	$(PY) bench/bench_dashboard.py

# Ingest throughput: N events (default 1,000,000) through Kafka into the usage ledger, against a
# read-and-parse baseline in the same run. `make bench-ingest EVENTS=200000` for a shorter run.
EVENTS ?= 1000000
bench-ingest: up
	$(PY) bench/bench_ingest.py --events $(EVENTS)
