# The README's commands. Everything they need is installed on first use: uv (from PyPI, into
# .tools/ unless one is on PATH), Python 3.12 through uv, the locked dependencies into .venv/.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
UV_VERSION := 0.13.9
SAM_CLI := aws-sam-cli==1.170.0
SAM := $(UV) tool run --from $(SAM_CLI) sam
export UV_PYTHON_DOWNLOADS ?= never
export SAM_CLI_TELEMETRY := 0
export PYTHONPATH := layers/common:functions/auth:functions/chat:functions/mcp:functions/tasks:.
export PATH := $(abspath $(dir $(UV))):$(PATH)

.PHONY: dev test test-fast lint format check migrate validate build requirements token bench clean

dev: .venv/.synced ## Run the API on http://127.0.0.1:$PORT (default 8000) with the embedded Postgres
	$(UV) run --no-sync python -m localdev.server

test: .venv/.synced ## Run the whole test suite against real Postgres
	$(UV) run --no-sync pytest

test-fast: .venv/.synced ## The edit-run loop: everything but the build tier (tests/build)
	$(UV) run --no-sync pytest -m "not build"

lint: .venv/.synced ## ruff and mypy
	$(UV) run --no-sync ruff check .
	$(UV) run --no-sync ruff format --check .
	$(UV) run --no-sync mypy layers/common functions/auth functions/chat functions/mcp functions/tasks localdev migrations tests bench

format: .venv/.synced
	$(UV) run --no-sync ruff check --fix .
	$(UV) run --no-sync ruff format .

check: lint test validate build ## Everything CI checks

migrate: .venv/.synced ## Apply the migrations to DATABASE_URL
	$(UV) run --no-sync alembic upgrade head

validate: $(UV) ## sam validate --lint
	$(SAM) validate --lint

BUILD_DIR ?= .aws-sam/build
SAM_BUILD_FLAGS ?=

build: .venv/.synced ## sam build (arm64 wheels for the layer), then compile the bytecode into it
	$(SAM) build --build-dir $(BUILD_DIR) $(SAM_BUILD_FLAGS)
	@# Lambda's code folders are read-only: without shipped .pyc files every cold start compiles every
	@# module it imports. unchecked-hash: the .pyc is trusted whatever the file times after packaging.
	$(UV) run --no-sync python -m compileall -q -j 0 --invalidation-mode unchecked-hash $(BUILD_DIR)

requirements: $(UV) ## Regenerate the layer's requirements.txt from uv.lock
	$(UV) export --frozen --no-dev --no-hashes --no-emit-project --no-annotate --no-header \
		-o layers/common/requirements.txt >/dev/null

token: .venv/.synced ## Print a token for USER (default: dev-user) signed with the local SECRET_KEY
	@$(UV) run --no-sync python -m localdev.token $(or $(USER_ID),dev-user)

.venv/.synced: uv.lock pyproject.toml | $(UV)
	$(UV) sync --locked
	@touch $@

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

clean:
	rm -rf .venv .tools .aws-sam .pytest_cache .mypy_cache .ruff_cache

bench: .venv/.synced ## Benchmarks (bench/): round trips, the list at a million rows, login timing, cold start
	$(UV) run --no-sync python bench/round_trips.py
	$(UV) run --no-sync python bench/list_at_scale.py
	$(UV) run --no-sync python bench/login_timing.py
	$(UV) run --no-sync python bench/cold_start.py
