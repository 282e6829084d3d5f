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
AZURITE_STAMP := tools/azurite/node_modules/.installed
stage = @printf '\n==> %s\n' $(1)
# The interpreter for PY_VERSION: pyenv's own install first (its shims refuse a version that is
# not selected), else python$(PY_VERSION) on PATH.
PY_BIN = $(shell for p in $$(pyenv root 2>/dev/null)/versions/$(PY_VERSION).*/bin/python$(PY_VERSION) \
	$$(command -v python$(PY_VERSION)); do [ -x "$$p" ] && "$$p" -c '' 2>/dev/null && { echo "$$p"; break; }; done)
need_python = @test -n "$(PY_BIN)" || { echo "no Python $(PY_VERSION) found: install it (e.g. pyenv install $(PY_VERSION)) or set PY_VERSION"; exit 2; }

.DEFAULT_GOAL := help
.PHONY: help install serve test lint typecheck lock clean smoke converge mesh compact bench mutate \
	docs check-commits hooks

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(UV):
	$(PYTHON) -m venv .tools/uv
	.tools/uv/bin/pip install --quiet "uv==$(UV_VERSION)"

# requirements.lock pins every package with hashes; `make lock` regenerates it from pyproject.toml.
$(VENV_STAMP): requirements.lock | $(UV)
	$(call stage,"installing the test environment into .venv (Python $(PY_VERSION))")
	@if [ -x .venv/bin/python ] && ! .venv/bin/python -c 'import sys; sys.exit(f"{sys.version_info[0]}.{sys.version_info[1]}" != "$(PY_VERSION)")'; then rm -rf .venv; fi
	$(need_python)
	[ -x .venv/bin/python ] || $(UV) venv --quiet --python $(PY_BIN) .venv
	$(UV) pip sync --quiet --python .venv/bin/python requirements.lock
	rm -f .venv/.synced-*
	touch $@

# Serving needs the app and waitress only (the `local` extra), at the lock's pins.
$(SERVE_STAMP): requirements.lock pyproject.toml | $(UV)
	$(call stage,"installing the server into .venv-serve (Python $(PY_VERSION))")
	@if [ -x .venv-serve/bin/python ] && ! .venv-serve/bin/python -c 'import sys; sys.exit(f"{sys.version_info[0]}.{sys.version_info[1]}" != "$(PY_VERSION)")'; then rm -rf .venv-serve; fi
	$(need_python)
	[ -x .venv-serve/bin/python ] || $(UV) venv --quiet --python $(PY_BIN) .venv-serve
	$(UV) pip compile --quiet pyproject.toml --extra local -c requirements.lock --no-header --generate-hashes \
		--python-version $(PY_VERSION) -o .venv-serve/requirements.txt
	$(UV) pip sync --quiet --python .venv-serve/bin/python .venv-serve/requirements.txt
	rm -f .venv-serve/.synced-*
	touch $@

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

serve: $(SERVE_STAMP) ## Serve the app on http://127.0.0.1:8080 (files under ./.data)
	.venv-serve/bin/python -m functions.local

lint: $(VENV_STAMP) ## ruff check and format check, and the import contracts (pyproject.toml)
	$(call stage,"ruff")
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	$(call stage,"import-linter")
	.venv/bin/lint-imports --no-cache

typecheck: $(VENV_STAMP) ## mypy, strict, over functions/, stacks/, scripts/, tools/ and bench/
	$(call stage,"mypy")
	.venv/bin/mypy

test: install lint typecheck ## Install, then ruff, mypy and the whole test suite
	$(call stage,"pytest")
	.venv/bin/pytest $(PYTEST_ARGS)

clean: ## Remove everything the targets create
	rm -rf .venv .venv-serve .tools tools/azurite/node_modules .pytest_cache .mypy_cache \
		.ruff_cache .hypothesis .build mutants

smoke: $(VENV_STAMP) ## Check a deployment: make smoke URL=https://... TOKEN=<read token>
	@test -n "$(URL)" || { echo 'usage: make smoke URL=https://... TOKEN=<read token>'; exit 2; }
	@LAMBDA_READ_TOKEN="$(TOKEN)" .venv/bin/python -m scripts.smoke "$(URL)"

converge: $(VENV_STAMP) ## Bring all three stacks up until their peers converge (Pulumi CLI)
	@command -v pulumi >/dev/null || { echo 'make converge needs the Pulumi CLI: install it from https://www.pulumi.com/docs/install/ (curl -fsSL https://get.pulumi.com | sh)'; exit 2; }
	.venv/bin/python -m scripts.converge

mesh: install ## Three local members (aws, gcp, azure entry points) on their emulators
	.venv/bin/python -m scripts.mesh

compact: $(VENV_STAMP) ## Compact the local store's closed hours into Parquet
	.venv/bin/python -m functions.local.compact

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
