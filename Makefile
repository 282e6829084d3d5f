# Two commands a newcomer needs: `make serve` and `make test`. Everything else is installed by
# these targets into project-local folders (.venv-serve, .venv, .tools, tools/azurite/node_modules).
SHELL := /bin/bash
PYTHON ?= python3
PY_VERSION ?= 3.11
UV_VERSION := 0.13.9
UV := .tools/uv/bin/uv
export UV_PYTHON_DOWNLOADS := never
# A stamp per interpreter version: switching PY_VERSION rebuilds the venv on that version.
VENV_STAMP := .venv/.synced-$(PY_VERSION)
SERVE_STAMP := .venv-serve/.synced-$(PY_VERSION)
SERVE_PY := .venv-serve/bin/python
AZURITE_STAMP := tools/azurite/node_modules/.installed
stage = @printf '\n==> %s\n' $(1)
# The interpreter for PY_VERSION: pyenv's own install first (its shims refuse a version that is
# not selected), else python$(PY_VERSION) on PATH.
PY_BIN = $(shell for p in $$(pyenv root 2>/dev/null)/versions/$(PY_VERSION).*/bin/python$(PY_VERSION) \
	$$(command -v python$(PY_VERSION)); do [ -x "$$p" ] && "$$p" -c '' 2>/dev/null && { echo "$$p"; break; }; done)
# Checked before anything is deleted: a typo in PY_VERSION must not cost a working venv.
need_python = @case "$(PY_VERSION)" in 3.1[1-9]|3.[2-9][0-9]) ;; \
	*) echo "PY_VERSION=$(PY_VERSION): LAMBDA needs Python 3.11 or newer (pyproject.toml requires-python)"; exit 2;; esac; \
	test -n "$(PY_BIN)" || { echo "no Python $(PY_VERSION) found: install it (e.g. pyenv install $(PY_VERSION)) or set PY_VERSION"; exit 2; }

.DEFAULT_GOAL := help
.PHONY: help install serve test lint typecheck lock clean smoke converge mesh compact bench mutate \
	docs check-commits hooks pulumi-cli deploy preview destroy logs cost status reconcile \
	replay

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(UV):
	$(PYTHON) -m venv .tools/uv
	.tools/uv/bin/pip install --quiet "uv==$(UV_VERSION)"

# requirements.lock pins every package with hashes; `make lock` regenerates it from pyproject.toml.
$(VENV_STAMP): requirements.lock | $(UV)
	$(call stage,"installing the test environment into .venv (Python $(PY_VERSION))")
	$(need_python)
	@if [ -x .venv/bin/python ] && ! .venv/bin/python -c 'import sys; sys.exit(f"{sys.version_info[0]}.{sys.version_info[1]}" != "$(PY_VERSION)")'; then rm -rf .venv; fi
	[ -x .venv/bin/python ] || $(UV) venv --quiet --python $(PY_BIN) .venv
	$(UV) pip sync --quiet --python .venv/bin/python requirements.lock
	rm -f .venv/.synced-*
	touch $@

# A venv holding one extra of pyproject.toml at the lock's pins, rebuilt when PY_VERSION changes:
# $(1) its folder, $(2) the extra, $(3) what it holds (for the stage line).
define extra_venv
$(call stage,"installing $(3) into $(1) (Python $(PY_VERSION))")
$(need_python)
@if [ -x $(1)/bin/python ] && ! $(1)/bin/python -c 'import sys; sys.exit(f"{sys.version_info[0]}.{sys.version_info[1]}" != "$(PY_VERSION)")'; then rm -rf $(1); fi
[ -x $(1)/bin/python ] || $(UV) venv --quiet --python $(PY_BIN) $(1)
$(UV) pip compile --quiet pyproject.toml --extra $(2) -c requirements.lock --no-header --generate-hashes \
	--python-version $(PY_VERSION) -o $(1)/requirements.txt
$(UV) pip sync --quiet --python $(1)/bin/python $(1)/requirements.txt
rm -f $(1)/.synced-*
touch $@
endef

# make logs needs each cloud's log client (the `logs` extra), not the serving or test set.
LOGS_STAMP := .venv-logs/.synced-$(PY_VERSION)
LOGS_PY := .venv-logs/bin/python
$(LOGS_STAMP): requirements.lock pyproject.toml | $(UV)
	$(call extra_venv,.venv-logs,logs,the log clients)

# Serving needs the app and waitress only (the `local` extra), at the lock's pins.
$(SERVE_STAMP): requirements.lock pyproject.toml | $(UV)
	$(call extra_venv,.venv-serve,local,the server)

lock: | $(UV) ## Re-pin requirements.lock and requirements.txt from pyproject.toml
	$(UV) pip compile pyproject.toml --all-extras --group dev --group infra --group bench --universal \
		--python-version $(PY_VERSION) --generate-hashes --quiet -o requirements.lock
	# requirements.txt is what the Pulumi CLI installs into its own virtualenv: the infra group
	# only, at the same pins as requirements.lock.
	$(UV) pip compile --group infra --universal -c requirements.lock \
		--python-version $(PY_VERSION) --generate-hashes --quiet -o requirements.txt

$(AZURITE_STAMP): tools/azurite/package.json tools/azurite/package-lock.json
	$(call stage,"installing Azurite (the Azure Storage emulator) with npm")
	npm ci --prefix tools/azurite --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV_STAMP) $(AZURITE_STAMP) ## Install the test environment and Azurite

serve: $(SERVE_STAMP) ## Serve the app on http://127.0.0.1:8080 (files under ./.data); RELOAD=0: no restart on edits
	$(SERVE_PY) -m functions.local $(if $(filter 0,$(RELOAD)),,--reload)

lint: $(VENV_STAMP) ## ruff check and format check, and the import contracts (pyproject.toml)
	$(call stage,"ruff")
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	$(call stage,"import-linter")
	.venv/bin/lint-imports --no-cache

typecheck: $(VENV_STAMP) ## mypy, strict, over functions/, stacks/, scripts/, tools/ and bench/
	$(call stage,"mypy")
	.venv/bin/mypy

# One pytest worker per core (pytest-xdist); each test file stays on one worker, so a module's
# fixtures (a mesh, built archives) start once. PYTEST_ARGS= runs the suite in one process.
PYTEST_ARGS ?= -n auto --dist loadfile
test: install lint typecheck ## Install, then ruff, mypy and the whole test suite
	$(call stage,"pytest")
	.venv/bin/pytest $(PYTEST_ARGS)

clean: ## Remove what the targets create, except .data (your stored events: rm -rf .data)
	rm -rf .venv .venv-serve .venv-logs .tools tools/azurite/node_modules .pytest_cache .mypy_cache \
		.ruff_cache .hypothesis .build mutants
	find . -name __pycache__ -type d -not -path './.git/*' -prune -exec rm -rf {} +
	@if [ -d .data ]; then echo ".data is kept (the local server's events and read token): rm -rf .data removes it"; fi

# smoke, compact, deploy and logs need the serving environment only, not the 1.1 GB test one.
smoke: $(SERVE_STAMP) ## Check a deployment: make smoke URL=https://... TOKEN=<read token>
	@test -n "$(URL)" || { echo 'usage: make smoke URL=https://... TOKEN=<read token>'; exit 2; }
	@LAMBDA_READ_TOKEN="$(TOKEN)" $(SERVE_PY) -m scripts.smoke "$(URL)"

# Checked first, before any environment is installed for a command that cannot run.
pulumi-cli:
	@command -v pulumi >/dev/null || { echo 'make $(firstword $(MAKECMDGOALS)) needs the Pulumi CLI: install it from https://www.pulumi.com/docs/install/ (curl -fsSL https://get.pulumi.com | sh)'; exit 2; }

need_stack = @case "$(STACK)" in aws|gcp|azure) ;; *) echo 'usage: make $@ STACK=aws|gcp|azure'; exit 2;; esac

deploy: pulumi-cli $(SERVE_STAMP) ## pulumi up one stack, then smoke it: make deploy STACK=aws [YES=1]
	$(need_stack)
	$(SERVE_PY) -m scripts.deploy up --stack $(STACK) $(if $(YES),--yes)

preview: pulumi-cli $(SERVE_STAMP) ## What make deploy would change: make preview STACK=aws
	$(need_stack)
	$(SERVE_PY) -m scripts.deploy preview --stack $(STACK)

destroy: pulumi-cli $(SERVE_STAMP) ## Delete a stack but its events, after asking: make destroy STACK=aws
	$(need_stack)
	$(SERVE_PY) -m scripts.deploy destroy --stack $(STACK) $(if $(YES),--yes)

logs: pulumi-cli $(LOGS_STAMP) ## The function's JSON log lines: make logs STACK=aws [FOLLOW=1] [SINCE=10m]
	$(need_stack)
	@$(LOGS_PY) -m scripts.logs --stack $(STACK) $(if $(FOLLOW),--follow) $(if $(SINCE),--since $(SINCE))

converge: pulumi-cli $(VENV_STAMP) ## Bring all three stacks up until their peers converge (Pulumi CLI)
	.venv/bin/python -m scripts.converge

cost: $(SERVE_STAMP) ## A stack's monthly bill per cloud at a traffic: make cost RATE=50/s [MEMORY=512] [PEERS=2]
	@test -n "$(RATE)" || { echo 'usage: make cost RATE=50/s (or /min, /h, /day, or a monthly count)'; exit 2; }
	@$(SERVE_PY) -m scripts.cost "$(RATE)" $(if $(MEMORY),--memory $(MEMORY)) $(if $(PEERS),--peers $(PEERS))

mesh: install ## Three local members (aws, gcp, azure entry points) on their emulators
	.venv/bin/python -m scripts.mesh

compact: $(SERVE_STAMP) ## Compact the local store's closed hours into Parquet (HOURS=72 looks further back)
	$(SERVE_PY) -m functions.local.compact $(if $(HOURS),--lookback-hours $(HOURS))

bench: install ## The benchmark suite (ARGS=--full for the long run)
	@command -v wrk >/dev/null || { apt-get install -y -q wrk >/dev/null 2>&1 || \
		{ apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null; } || \
		echo "wrk could not be installed: the Python load generator is used (and labelled)"; }
	.venv/bin/python -m bench $(ARGS)

BUDGET ?= 3600
mutate: install ## Mutation testing of functions/ and stacks/ for BUDGET seconds (goes on next time); report in mutation/
	.venv/bin/python -m scripts.mutate --budget $(BUDGET)

docs: $(VENV_STAMP) ## Regenerate docs/configuration.md's stack settings table from Pulumi.yaml
	.venv/bin/python -m scripts.config_docs

# The commit convention (CONTRIBUTING.md). Not part of `make test`: the history before it was
# adopted does not follow it. BASE defaults to origin/main, else main.
check-commits: ## Check the messages of the commits since BASE (default origin/main)
	$(PYTHON) -m scripts.check_commits $(BASE)

hooks: ## Install a commit-msg hook that checks each message as you commit
	@hook="$$(git rev-parse --git-path hooks)/commit-msg"; mkdir -p "$$(dirname "$$hook")"; \
		printf '#!/bin/sh\nexec $(PYTHON) -m scripts.check_commits --message-file "$$1"\n' > "$$hook"; \
		chmod +x "$$hook"; echo "installed $$hook"

status: $(VENV_STAMP) ## Every mesh member side by side (make mesh's, else the stacks'); JSON=1, EVENT=<id>
	@.venv/bin/python -m scripts.status $(if $(JSON),--json) $(if $(EVENT),--event $(EVENT))

reconcile: $(VENV_STAMP) ## One anti-entropy run on every member; DAYS=90 for a backfill
	@.venv/bin/python -m scripts.reconcile $(if $(DAYS),--days $(DAYS))

replay: $(VENV_STAMP) ## Re-deliver a time range: FROM=<time> TO=<time> [SOURCE=] [PEER=] [MEMBER=]
	@test -n "$(FROM)" -a -n "$(TO)" || { echo 'usage: make replay FROM=2026-12-01T00:00Z TO=2026-12-02T00:00Z [SOURCE=github] [PEER=url] [MEMBER=aws]'; exit 2; }
	@.venv/bin/python -m scripts.replay --from "$(FROM)" --to "$(TO)" $(if $(SOURCE),--source $(SOURCE)) \
		$(if $(PEER),--peer $(PEER)) $(if $(MEMBER),--member $(MEMBER))
