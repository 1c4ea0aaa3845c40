# Charter — every command a developer, CI or a load tester needs. `make help` lists them.
# Each target bootstraps what it needs (uv, the virtual environment, node tooling), so on a fresh machine
# `make run` and `make test` are the whole set-up.

SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
VENV := .venv
BIN := $(VENV)/bin
SYNCED := $(VENV)/.synced
NODE_SYNCED := node_modules/.synced
PYTEST_ARGS ?=

.PHONY: help
help: ## List the make targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo
	@echo "  Variables: HOST, PORT, WORKERS, DATA_DIR, APP_ENV (see README's settings table), PYTEST_ARGS."

# --- set-up ------------------------------------------------------------------------------------------------
$(SYNCED): pyproject.toml uv.lock
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	$(UV) sync --locked
	@touch $@

$(NODE_SYNCED): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.PHONY: install
install: $(SYNCED) $(NODE_SYNCED) ## Install the Python (uv.lock) and Node (package-lock.json) toolchains

# --- run ---------------------------------------------------------------------------------------------------
.PHONY: run
run: $(SYNCED) ## Serve the API on SQLite at http://$${HOST:-127.0.0.1}:$${PORT:-8000} (docs at /docs)
	$(if $(HOST),HOST=$(HOST)) $(if $(PORT),PORT=$(PORT)) $(if $(WORKERS),WORKERS=$(WORKERS)) $(BIN)/python -m impl

.PHONY: create-admin
create-admin: $(SYNCED) ## Create the first admin by hand (EMAIL=...; password from ADMIN_PASSWORD or a prompt)
	@test -n "$(EMAIL)" || { echo 'usage: make create-admin EMAIL=admin@example.com'; exit 2; }
	$(BIN)/python -m scripts.create_admin --email "$(EMAIL)"

.PHONY: jwt-keys
jwt-keys: $(SYNCED) ## Write a new RS256 signing key to $${JWT_KEYS_DIR:-var/jwt-keys} (for JWT_ALGORITHM=RS256; never commit it)
	$(BIN)/python -m scripts.generate_jwt_keys --out "$${JWT_KEYS_DIR:-var/jwt-keys}"

# --- contract pipeline -------------------------------------------------------------------------------------
.PHONY: generate
generate: $(SYNCED) ## Regenerate generated/ from spec/openapi.yaml and the README's settings table
	$(BIN)/python -m scripts.generate
	$(BIN)/python -m scripts.settings_doc

.PHONY: check-generated
check-generated: $(SYNCED) ## Fail with a diff when generated/ or the README settings table differ from their sources
	$(BIN)/python -m scripts.generate --check
	$(BIN)/python -m scripts.settings_doc --check

.PHONY: migration
migration: $(SYNCED) ## Write a new Alembic migration from the models (MSG="what changed"), on a scratch SQLite file
	@test -n "$(MSG)" || { echo 'usage: make migration MSG="what changed"'; exit 2; }
	$(BIN)/python -m scripts.new_migration "$(MSG)"

.PHONY: lint-spec
lint-spec: $(SYNCED) $(NODE_SYNCED) ## Lint the specs: Redocly and openapi-spec-validator (OpenAPI), @asyncapi/parser (AsyncAPI)
	npx --no-install redocly lint spec/openapi.yaml --format=stylish
	$(BIN)/openapi-spec-validator spec/openapi.yaml
	node scripts/lint_asyncapi.mjs spec/asyncapi.yaml

.PHONY: lint-deploy
lint-deploy: $(SYNCED) ## Lint the deployment files: hadolint, kubernetes-validate --strict, cfn-lint, compose checks
	$(BIN)/python -m scripts.lint_deploy

# --- quality gates -----------------------------------------------------------------------------------------
.PHONY: lint
lint: $(SYNCED) ## ruff (lint and format check), Bandit, mypy --strict and import-linter
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit -q -c pyproject.toml -r impl scripts load
	$(BIN)/mypy
	$(BIN)/lint-imports

.PHONY: format
format: $(SYNCED) ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

.PHONY: test
test: $(SYNCED) ## Run the test suite (includes in-process contract fuzzing and the gate tests)
	$(BIN)/pytest $(PYTEST_ARGS)

.PHONY: fuzz
fuzz: $(SYNCED) ## Fuzz the real service (uvicorn on a free loopback port) with Schemathesis; reports in reports/fuzz/
	$(BIN)/python -m scripts.fuzz

.PHONY: bench-serialisation
bench-serialisation: $(SYNCED) ## Measure FastAPI's JSON paths side by side (needs wrk and taskset; ~1 min, loopback)
	$(BIN)/python -m load.bench_serialisation

.PHONY: ci
ci: ## Everything CI runs (.ci/run): test, drift, spec lint, lint, types, architecture, deploy lint, fuzz
	bash .ci/run

.PHONY: clean
clean: ## Remove the virtual environment, node_modules, reports and local data
	rm -rf $(VENV) node_modules reports var .mypy_cache .ruff_cache .pytest_cache .import_linter_cache
