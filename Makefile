# tapewatch: the two README commands are `make demo` and `make test`.
# Every target creates or updates .venv as needed and is safe to re-run.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
STAMP := $(VENV)/.installed
DURATION ?= 150
# Debian packages the test suite needs (installed by `make test` when run as root).
DEB_PACKAGES := prometheus prometheus-alertmanager docker-compose

.PHONY: install demo test test-fast fuzz lint format bench system-deps clean

install: $(STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

# torch first and pinned, so no dependency pulls a CUDA build; then everything at locked versions.
$(STAMP): pyproject.toml requirements.lock | $(PY)
	$(PIP) install torch==2.13.0
	$(PIP) install -c requirements.lock -e ".[dev]"
	touch $@

demo: $(STAMP)
	$(VENV)/bin/tapewatch demo --duration $(DURATION)

system-deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
		else echo "warning: not root, cannot install Debian packages:$$missing (tests that need them will fail)"; fi; \
	fi

test: $(STAMP) system-deps
	$(PY) -m pytest -m "not fuzz"

# The 10,000-example fuzz runs of every HTTP endpoint and the record decoders (about 5 minutes).
fuzz: $(STAMP) system-deps
	$(PY) -m pytest -m fuzz

# The edit loop: unit tests only (no broker, model, servers or Debian packages), well under a minute.
test-fast: $(STAMP)
	$(PY) -m pytest -m "not integration and not e2e and not slow and not fuzz"

# What CI checks before the tests (.ci/run), and what .pre-commit-config.yaml runs on a commit.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .tapewatch
