# The README's commands. Each creates or reuses .venv, installs torch (the CPU build
# pinned here) first, then skae with its development extras; both are safe to rerun.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TORCH := torch==2.13.0
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow lint clean

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[dev]" "$(TORCH)"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m skae demo

test: $(STAMP)
	$(VENV)/bin/ruff check skae tests benchmarks
	$(PY) -m pytest

test-slow: $(STAMP)
	$(PY) -m pytest -m slow

lint: $(STAMP)
	$(VENV)/bin/ruff check skae tests benchmarks
	$(VENV)/bin/ruff format --check skae tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info
