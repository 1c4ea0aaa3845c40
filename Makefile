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
# pytest-xdist workers (`auto`: one per core); each gets its own Redis database (tests/conftest.py). A module's
# tests stay on one worker (--dist loadfile), so module-scoped apps and servers are built once.
TEST_WORKERS ?= auto
PYTEST_PARALLEL = -n $(TEST_WORKERS) --dist loadfile
# Branch coverage of impl/ and scripts/ ([tool.coverage] in pyproject.toml), measured in the same run; the floor
# (fail_under there) applies to the whole suite only, so `PYTEST_ARGS=tests/impl/auth` reports without failing on it.
PYTEST_COVERAGE = --cov --cov-report=term-missing:skip-covered --cov-report=xml:reports/coverage.xml $(if $(PYTEST_ARGS),--cov-fail-under=0)

.PHONY: help
help: ## List the make targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo
	@echo "  Variables: HOST, PORT, WORKERS, DATA_DIR, APP_ENV (see docs/settings.md), PYTEST_ARGS, TEST_WORKERS, MOCK_PORT."
	@echo "  make load: USERS, SPAWN_RATE, RUN_TIME; HOST=http://... (or LOAD_HOST) targets a running service instead of"
	@echo "  starting one, acting as the admin in CHARTER_LOAD_ADMIN_EMAIL / CHARTER_LOAD_ADMIN_PASSWORD; PROCESSES=N"
	@echo "  Locust worker processes; SEED_USERS=N users bulk-inserted first (SEED_DATABASE_URL for a remote target);"
	@echo "  make load-master (EXPECT_WORKERS, MASTER_BIND_HOST, MASTER_PORT) / make load-worker MASTER=host:port."

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

.PHONY: mock-api
mock-api: $(SYNCED) ## Serve the real API as a stateful mock (APP_ENV=mock): scratch data, demo accounts, no external services
	APP_ENV=mock $(if $(HOST),HOST=$(HOST)) $(if $(PORT),PORT=$(PORT)) $(BIN)/python -m impl

.PHONY: mock
mock: $(SYNCED) $(NODE_SYNCED) ## Serve the spec's examples with Prism on http://127.0.0.1:$${MOCK_PORT:-4010} (invalid requests get problem+json)
	$(BIN)/python -m scripts.mock --port "$${MOCK_PORT:-4010}"

.PHONY: create-admin
create-admin: $(SYNCED) ## Create the first admin by hand (EMAIL=...; password from ADMIN_PASSWORD or a prompt)
	@test -n "$(EMAIL)" || { echo 'usage: make create-admin EMAIL=admin@example.com'; exit 2; }
	$(BIN)/python -m scripts.create_admin --email "$(EMAIL)"

.PHONY: jwt-keys
jwt-keys: $(SYNCED) ## Write a new RS256 signing key to $${JWT_KEYS_DIR:-var/jwt-keys} (for JWT_ALGORITHM=RS256; never commit it)
	$(BIN)/python -m scripts.generate_jwt_keys --out "$${JWT_KEYS_DIR:-var/jwt-keys}"

# --- contract pipeline -------------------------------------------------------------------------------------
.PHONY: generate
generate: $(SYNCED) $(NODE_SYNCED) ## Regenerate generated/ (incl. TypeScript types and client) from spec/openapi.yaml, and docs/settings.md from Settings
	$(BIN)/python -m scripts.generate
	$(BIN)/python -m scripts.settings_doc

.PHONY: check-generated
check-generated: $(SYNCED) $(NODE_SYNCED) ## Fail with a diff when generated/ or docs/settings.md differ from their sources
	$(BIN)/python -m scripts.generate --check
	$(BIN)/python -m scripts.settings_doc --check

.PHONY: check-breaking
check-breaking: $(SYNCED) ## Fail on breaking changes against spec/released/ without a major info.version bump, an operation removed before its deprecation's sunset, or a stale spec/CHANGELOG.md
	$(BIN)/python -m scripts.check_breaking

.PHONY: changelog
changelog: $(SYNCED) ## Rewrite the Unreleased section of spec/CHANGELOG.md from the diff against the last released spec
	$(BIN)/python -m scripts.check_breaking --changelog

.PHONY: release
release: $(SYNCED) ## Release the spec as spec/released/openapi-<info.version>.yaml and date its changelog section
	$(BIN)/python -m scripts.check_breaking --release

.PHONY: migration
.PHONY: migrate
migrate: $(SYNCED) ## Apply the Alembic migrations to the configured database (DATABASE_URL, DATA_DIR), under the workers' lock
	$(BIN)/python -m scripts.migrate

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
test: $(SYNCED) $(NODE_SYNCED) ## Run the test suite in parallel with branch coverage (includes in-process contract fuzzing and the gate tests)
	$(BIN)/pytest $(PYTEST_PARALLEL) $(PYTEST_COVERAGE) $(PYTEST_ARGS)

.PHONY: test-fast
test-fast: $(SYNCED) ## The inner loop: the unit-level modules (marked `unit`, none `slow`), in parallel, no coverage
	$(BIN)/pytest $(PYTEST_PARALLEL) -m "unit and not slow" $(PYTEST_ARGS)

.PHONY: fuzz
fuzz: $(SYNCED) ## Fuzz the real service (uvicorn on a free loopback port) with Schemathesis; reports in reports/fuzz/
	$(BIN)/python -m scripts.fuzz

# `make load HOST=http://...` targets another service. HOST is also the address `make run` binds to, so here only
# a URL (with ://) counts as a target; LOAD_HOST=... says the same without the ambiguity.
LOAD_TARGET = $(or $(LOAD_HOST),$(if $(findstring ://,$(HOST)),$(HOST)))
USERS ?= 50
SPAWN_RATE ?= 2
RUN_TIME ?= 60s
PROCESSES ?= 0
SEED_USERS ?= 0
EXPECT_WORKERS ?= 2
MASTER_BIND_HOST ?= 127.0.0.1
MASTER_PORT ?= 5557
LOAD_RUN = $(BIN)/python -m scripts.load_run --users $(USERS) --spawn-rate $(SPAWN_RATE) --run-time $(RUN_TIME) \
	--seed-users $(SEED_USERS) $(if $(SEED_DATABASE_URL),--seed-database-url "$(SEED_DATABASE_URL)") \
	$(if $(LOAD_TARGET),--host "$(LOAD_TARGET)")

.PHONY: load
load: $(SYNCED) ## Locust journeys judged by the spec's x-slo (USERS=50 SPAWN_RATE=2 RUN_TIME=60s PROCESSES=0 SEED_USERS=0; HOST=http://... targets another service); reports/load/<timestamp>/
	$(LOAD_RUN) --processes $(PROCESSES)

.PHONY: load-smoke
load-smoke: $(SYNCED) ## The load test in ~20 s (one user per journey at least), judged on errors only (too few requests for a p95), so the scenarios never rot
	$(BIN)/python -m scripts.load_run --users 10 --spawn-rate 3 --run-time 20s --name load-smoke --errors-only $(if $(LOAD_TARGET),--host "$(LOAD_TARGET)")

.PHONY: load-master
load-master: $(SYNCED) ## make load as a master for workers on other machines (EXPECT_WORKERS=2; MASTER_BIND_HOST=0.0.0.0 to accept them, MASTER_PORT=5557)
	$(LOAD_RUN) --master --expect-workers $(EXPECT_WORKERS) --master-bind-host $(MASTER_BIND_HOST) --master-bind-port $(MASTER_PORT)

.PHONY: load-worker
load-worker: $(SYNCED) ## A Locust worker of a load-master elsewhere: MASTER=host:port (PROCESSES=N for several)
	@test -n "$(MASTER)" || { echo "make load-worker: set MASTER=host:port (the load-master's address)" >&2; exit 2; }
	$(BIN)/python -m scripts.load_run --worker "$(MASTER)" --processes $(PROCESSES)

.PHONY: test-ts
test-ts: $(SYNCED) $(NODE_SYNCED) ## Type-check the TypeScript client and tests in three set-ups (Vite, Node ESM, CommonJS), run them against the service and Prism
	$(BIN)/python -m scripts.typescript_suite

.PHONY: bench-tools
bench-tools: ## Install the benchmarks' Debian tools when missing: wrk, and taskset (util-linux); sudo when not root
	@for pair in wrk:wrk taskset:util-linux; do \
	  tool=$${pair%%:*}; package=$${pair##*:}; \
	  command -v $$tool >/dev/null 2>&1 && continue; \
	  command -v apt-get >/dev/null 2>&1 || { echo "$$tool is missing and there is no apt-get: install $$package by hand" >&2; exit 1; }; \
	  if [ "$$(id -u)" = 0 ]; then sudo=; elif command -v sudo >/dev/null 2>&1; then sudo=sudo; \
	  else echo "$$tool is missing: as root, run apt-get install -y $$package" >&2; exit 1; fi; \
	  echo "installing $$package (for $$tool)"; \
	  $$sudo apt-get install -y --no-install-recommends $$package \
	    || { $$sudo apt-get update && $$sudo apt-get install -y --no-install-recommends $$package; } \
	    || { echo "could not install $$package (needed for $$tool)" >&2; exit 1; }; \
	done

.PHONY: bench-serialisation
bench-serialisation: $(SYNCED) bench-tools ## Measure FastAPI's JSON paths side by side (wrk and taskset; ~1 min, loopback)
	$(BIN)/python -m load.bench_serialisation

.PHONY: bench
bench: $(SYNCED) bench-tools ## Benchmark the service as ratios to a bare FastAPI app and a raw ASGI app, with RSS and targets (~6 min); JSON in reports/bench/; BENCH_ARGS="--only health,user --rounds 2" for a subset
	$(BIN)/python -m load.bench $(BENCH_ARGS)

.PHONY: bench-soak
bench-soak: $(SYNCED) bench-tools ## The service's RSS under 5 minutes of steady reads (SOAK_SECONDS=300), sampled every 5 s; JSON in reports/bench/
	$(BIN)/python -m load.bench --soak $(or $(SOAK_SECONDS),300)

.PHONY: bench-smoke
bench-smoke: $(SYNCED) bench-tools ## The benchmark in seconds (1 round of 2 s runs, every app): fails on crashes and errors, not on targets
	$(BIN)/python -m load.bench --smoke

.PHONY: docs
docs: $(SYNCED) ## Build the docs site (docs/, mkdocs.yml) into site/ with --strict, offline
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

.PHONY: docs-serve
docs-serve: $(SYNCED) ## Serve the docs site with live reload on http://127.0.0.1:$${DOCS_PORT:-8001}
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve --strict --dev-addr "127.0.0.1:$${DOCS_PORT:-8001}"

.PHONY: ci
ci: ## Everything CI runs (.ci/run): test, drift, breaking changes, spec lint, lint, types, architecture, docs, deploy lint, fuzz, load and bench smoke, test-ts
	bash .ci/run

.PHONY: clean
clean: ## Remove the virtual environment, node_modules, reports, the built docs site and local data
	rm -rf $(VENV) node_modules reports var site .mypy_cache .ruff_cache .pytest_cache .import_linter_cache
