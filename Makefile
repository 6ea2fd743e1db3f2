# Everything a developer or CI does goes through here. `make run` and `make test` bootstrap their own
# virtualenv from a bare Python 3.11 + pip; nothing else has to be installed first.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
REGION ?= us-east-1
STATE_DIR ?= .localcloud
ENV ?= dev
NAME ?= operator

export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= $(REGION)

.PHONY: help install run test test-fast lint format package deploy bench lock clean token fuzz

help:  ## this list
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(INSTALLED): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

install: $(INSTALLED)  ## create .venv with everything pinned in requirements.lock

# checkov has a venv of its own: its pins (boto3, networkx, ...) conflict with requirements.lock.
CHECKOV_VENV := .venv-checkov
$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install -q --disable-pip-version-check -r requirements-checkov.txt
	touch $@

run: install  ## start the whole backend locally with demo data (Ctrl-C stops it)
	$(BIN)/python -m devcloud --state-dir $(STATE_DIR) run $(ARGS)

test: install  ## the whole suite: unit, integration, local cloud and end-to-end
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(ARGS)

test-fast: install  ## unit tests only
	$(BIN)/python -m pytest tests/unit $(ARGS)

fuzz: install  ## contract fuzzing of openapi.yaml against a local cloud, longer than CI's (FUZZ_MAX_EXAMPLES=50)
	FUZZ_MAX_EXAMPLES=$${FUZZ_MAX_EXAMPLES:-50} FUZZ_SEED=$${FUZZ_SEED:-$$RANDOM} \
		$(BIN)/python -m pytest tests/fuzz -n 0 --timeout=3600 -p no:cacheprovider $(ARGS)

lint: install $(CHECKOV_VENV)/.installed  ## ruff, mypy, cfn-lint, sam validate and checkov: no findings allowed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/cfn-lint template.yaml
	$(BIN)/sam validate --lint --region $(REGION) --template template.yaml
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml --file template.yaml

format: install  ## ruff fix + format
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

token: install  ## print a JWT of a demo user of the running local cloud (NAME=operator, or NAME=customer)
	@$(BIN)/python -m localcloud --state-dir $(STATE_DIR) token $(NAME)

package: install  ## deployable artifacts in .aws-sam/build (sam build, or pip wheels for arm64/3.13 without Docker)
	$(BIN)/python -m tools.package

deploy: package  ## sam deploy with the samconfig.toml profile ENV (dev or prod)
	$(BIN)/sam deploy --config-env $(ENV) --template-file .aws-sam/build/template.yaml

bench: install  ## print the benchmarks' figures (they never fail)
	$(BIN)/python -m bench.cold_start
	$(BIN)/python -m bench.api_calls
	$(BIN)/python -m bench.localcloud
	$(BIN)/python -m bench.orders
	$(BIN)/python -m bench.checkout
	$(BIN)/python -m bench.hot_sku
	$(BIN)/python -m bench.dynamodb_queries

lock:  ## re-pin requirements.lock and the layer's requirements from pyproject.toml (needs uv: pip install uv)
	uv pip compile pyproject.toml --extra localcloud --extra dev --python-version 3.11 -o requirements.lock
	uv pip compile pyproject.toml -c requirements.lock --python-version 3.13 \
		--python-platform aarch64-manylinux_2_28 --no-annotate --no-header -o layers/common/requirements.txt

clean:  ## remove build and cache directories
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache build
