# Two commands a newcomer needs: `make serve` and `make test`. Everything else is installed by
# these targets into project-local folders (.venv, .tools, tools/azurite/node_modules).
SHELL := /bin/bash
PYTHON ?= python3
PY_VERSION ?= 3.11
UV_VERSION := 0.13.9
UV := .tools/uv/bin/uv
export UV_PYTHON_DOWNLOADS := never
VENV_STAMP := .venv/.synced-$(PY_VERSION)
AZURITE_STAMP := tools/azurite/node_modules/.installed

.PHONY: install serve test lint typecheck lock clean smoke converge mesh compact bench

$(UV):
	$(PYTHON) -m venv .tools/uv
	.tools/uv/bin/pip install --quiet "uv==$(UV_VERSION)"

# requirements.lock pins every package with hashes; `make lock` regenerates it from pyproject.toml.
$(VENV_STAMP): requirements.lock | $(UV)
	[ -x .venv/bin/python ] || $(UV) venv --quiet --python $(PY_VERSION) .venv
	$(UV) pip sync --quiet --python .venv/bin/python requirements.lock
	touch $@

# requirements.txt is what the Pulumi CLI installs into its own virtualenv: the infra group only,
# at the same pins as requirements.lock.
lock: | $(UV)
	$(UV) pip compile pyproject.toml --all-extras --group dev --group infra --universal \
		--python-version $(PY_VERSION) --generate-hashes --quiet -o requirements.lock
	$(UV) pip compile --group infra --universal -c requirements.lock \
		--python-version $(PY_VERSION) --generate-hashes --quiet -o requirements.txt

$(AZURITE_STAMP): tools/azurite/package.json tools/azurite/package-lock.json
	npm ci --prefix tools/azurite --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV_STAMP) $(AZURITE_STAMP)

serve: $(VENV_STAMP)
	.venv/bin/python -m functions.local

lint: $(VENV_STAMP)
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

typecheck: $(VENV_STAMP)
	.venv/bin/mypy

test: install lint typecheck
	.venv/bin/pytest $(PYTEST_ARGS)

clean:
	rm -rf .venv .tools tools/azurite/node_modules .pytest_cache .mypy_cache .ruff_cache

# After a deploy: make smoke URL="$$(pulumi stack output base_url)"
smoke: $(VENV_STAMP)
	@test -n "$(URL)" || { echo 'usage: make smoke URL=https://...'; exit 2; }
	.venv/bin/python -m scripts.smoke "$(URL)"

# Bring all three stacks up and re-run until the peer URLs converge (Automation API).
converge: $(VENV_STAMP)
	.venv/bin/python -m scripts.converge

# Three local members (aws, gcp, azure entry points) on their emulators, wired as signed peers.
mesh: install
	.venv/bin/python -m scripts.mesh

# Compact the local store's closed hours into Parquet (the clouds do it on an hourly schedule).
compact: $(VENV_STAMP)
	.venv/bin/python -m functions.local.compact

# The benchmark suite: `make bench` (quick, a few minutes) or `make bench ARGS=--full`.
bench: install
	.venv/bin/python -m bench $(ARGS)
