# The README's commands. Everything they need is installed on first use: uv (from PyPI, into
# .tools/ unless that version is on PATH), Python (.python-version's) through uv, the locked
# dependencies into .venv/.
SHELL := /bin/bash
# The repository root, wherever make runs (`sam build` runs the build-* targets in a scratch folder).
ROOT := $(patsubst %/,%,$(dir $(abspath $(firstword $(MAKEFILE_LIST)))))
# The tool versions, written here only: the workflows run these targets and install neither tool.
UV_VERSION := 0.13.9
SAM_CLI := aws-sam-cli==1.170.0
# uv from PATH when it is the pinned version, else the pinned one installed into .tools/.
UV := $(or $(shell uv --version 2>/dev/null | grep -q '^uv $(UV_VERSION)\b' && command -v uv),$(ROOT)/.tools/bin/uv)
SAM := $(UV) tool run --from $(SAM_CLI) sam
export UV_PYTHON_DOWNLOADS ?= never
export SAM_CLI_TELEMETRY := 0
# The source roots (the layer, each function, the repository, tests/) are listed once, as pytest's
# pythonpath in pyproject.toml; the commands here and mypy read them from there.
SOURCE_ROOTS := $(shell python3 -c 'import tomllib; print(" ".join(tomllib.load(open("$(ROOT)/pyproject.toml", "rb"))["tool"]["pytest"]["ini_options"]["pythonpath"]))')
export PYTHONPATH := $(subst $(eval) ,:,$(SOURCE_ROOTS))
export MYPYPATH := $(PYTHONPATH)
export PATH := $(abspath $(dir $(UV))):$(PATH)

.PHONY: dev test test-fast lint format check migrate validate build deploy requirements token bench clean

dev: .venv/.synced ## Run the API on http://127.0.0.1:$PORT (default 8000) with the embedded Postgres
	$(UV) run --no-sync python -m localdev.server

# In parallel (pytest-xdist), a file to a worker: a file's module and session fixtures (a dev
# server, a sam build) are made once. One worker per core, at most 4 (each holds a few Postgres
# connections; the suite gains little past that). TEST_WORKERS=0 runs in this process (a debugger).
TEST_WORKERS ?= auto
PYTEST := $(UV) run --no-sync pytest --numprocesses $(TEST_WORKERS) --maxprocesses 4 --dist loadfile

test: .venv/.synced ## Run the whole test suite against real Postgres
	$(PYTEST)

test-fast: .venv/.synced ## The edit-run loop: everything but the build tier (tests/build)
	$(PYTEST) -m "not build"

lint: .venv/.synced ## ruff and mypy
	$(UV) run --no-sync ruff check .
	$(UV) run --no-sync ruff format --check .
	$(UV) run --no-sync mypy $(filter-out .,$(SOURCE_ROOTS)) localdev migrations bench

format: .venv/.synced
	$(UV) run --no-sync ruff check --fix .
	$(UV) run --no-sync ruff format .

check: lint test ## Everything CI checks (the tests validate the template and build it)

migrate: .venv/.synced ## Apply the migrations to DATABASE_URL
	$(UV) run --no-sync alembic upgrade head

validate: $(UV) ## sam validate --lint, and cfn-lint itself (which fails on warnings too)
	$(SAM) validate --lint
	$(UV) tool run --quiet --from $(SAM_CLI) cfn-lint template.yaml

BUILD_DIR ?= .aws-sam/build
SAM_BUILD_FLAGS ?=

build: $(UV) ## sam build: the layer and each function, as build-CommonLayer and build-%Function below make them
	$(SAM) build --build-dir $(BUILD_DIR) $(SAM_BUILD_FLAGS)

CONFIG_ENV ?= dev
SAM_DEPLOY_FLAGS ?=

deploy: $(UV) ## sam deploy the stack of samconfig.toml's CONFIG_ENV (dev or prod), as built by make build
	$(SAM) deploy --config-env $(CONFIG_ENV) --no-fail-on-empty-changeset $(SAM_DEPLOY_FLAGS)

# `sam build` (and so `make build`, `sam local invoke` and CI) runs these, as template.yaml's
# `BuildMethod: makefile` asks, in a scratch copy of the resource's code folder with ARTIFACTS_DIR
# set. They install the pinned wheels for Lambda's platform (no Docker needed), with --no-deps: the
# requirement files are complete and leave out what the layer or the runtime has. Then they
# compile the bytecode: Lambda's code folders are read-only, so without .pyc files every cold start
# compiles every module it imports; unchecked-hash trusts the .pyc whatever the file times.
LAMBDA_ARCH ?= $(shell sed -n 's/^ *Architectures: *\[\(.*\)\]/\1/p' $(ROOT)/template.yaml)
WHEEL_PLATFORM = $(if $(filter arm64,$(LAMBDA_ARCH)),aarch64,x86_64)-manylinux_2_34
# Lambda's runtime (python3.12 in template.yaml) is the project's Python: .python-version.
PYTHON_VERSION := $(file < $(ROOT)/.python-version)
LAMBDA_PYTHON = $(shell $(UV) python find $(PYTHON_VERSION))
INSTALL = $(UV) pip install --quiet --no-deps --only-binary :all: --python-version $(PYTHON_VERSION) \
	--python-platform $(WHEEL_PLATFORM) --python $(LAMBDA_PYTHON)
COMPILE = $(LAMBDA_PYTHON) -m compileall -q -j 0 --invalidation-mode unchecked-hash

build-CommonLayer: | $(UV)
	$(INSTALL) --target "$(ARTIFACTS_DIR)/python" -r requirements.txt
	$(call ship_code,$(ARTIFACTS_DIR)/python)

build-%Function: | $(UV)
	if [ -f requirements.txt ]; then $(INSTALL) --target "$(ARTIFACTS_DIR)" -r requirements.txt; fi
	$(call ship_code,$(ARTIFACTS_DIR))

# The code folder's packages next to the installed ones (no requirements.txt, no stale caches, no
# console scripts), compiled.
define ship_code
	find . -mindepth 1 -maxdepth 1 ! -name requirements.txt -exec cp -R {} "$(1)/" \;
	find "$(ARTIFACTS_DIR)" -name __pycache__ -prune -exec rm -rf {} +
	rm -rf "$(1)/bin"
	$(COMPILE) "$(ARTIFACTS_DIR)"
endef

requirements: $(UV) ## Write the layer's and each function's requirements.txt from uv.lock
	$(UV) run --no-sync python -m localdev.requirements

token: .venv/.synced ## Print a token for USER (default: dev-user) signed with the local SECRET_KEY
	@$(UV) run --no-sync python -m localdev.token $(or $(USER_ID),dev-user)

.venv/.synced: uv.lock pyproject.toml | $(UV)
	$(UV) sync --locked
	@touch $@

$(ROOT)/.tools/bin/uv: $(ROOT)/Makefile
	python3 -m venv $(ROOT)/.tools
	$(ROOT)/.tools/bin/pip install --quiet uv==$(UV_VERSION)
	@touch $@

clean:
	rm -rf .venv .tools .aws-sam .pytest_cache .mypy_cache .ruff_cache

bench: .venv/.synced ## Benchmarks (bench/): cold start and sizes, warm requests, round trips, lists at a million rows, login timing
	$(UV) run --no-sync python -m bench.cold_start
	$(UV) run --no-sync python -m bench.warm
	$(UV) run --no-sync python -m bench.round_trips
	$(UV) run --no-sync python -m bench.list_at_scale
	$(UV) run --no-sync python -m bench.login_timing
