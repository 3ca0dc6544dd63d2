# The README's commands. Each creates or reuses .venv, installs torch (the CPU build
# pinned here) first, then skae with its development extras; both are safe to rerun.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TORCH := torch==2.13.0
STAMP := $(VENV)/.installed

.PHONY: demo test test-threads test-slow docs bench bench-check lint format clean

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[dev]" "$(TORCH)"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m skae demo

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

# CI's fast suite, twice: at one torch/BLAS thread and at two, each in its own random
# order (pytest-randomly), so that no test passes only in one order or at one thread
# count. TEST_SEED picks the first order (random unless given; each run prints its
# --randomly-seed to reproduce it), the second run takes TEST_SEED + 1.
TEST_SEED := $(or $(TEST_SEED),$(shell od -An -N4 -tu4 /dev/urandom | tr -d ' '))
THREADS = OMP_NUM_THREADS=$(1) MKL_NUM_THREADS=$(1) OPENBLAS_NUM_THREADS=$(1) \
	NUMEXPR_NUM_THREADS=$(1) VECLIB_MAXIMUM_THREADS=$(1)
test-threads: $(STAMP)
	$(VENV)/bin/ruff check .
	$(call THREADS,1) $(PY) -m pytest -p randomly --randomly-seed=$(TEST_SEED)
	$(call THREADS,2) $(PY) -m pytest -p randomly --randomly-seed=$$(($(TEST_SEED) + 1))

test-slow: $(STAMP) bench-check
	$(PY) -m pytest -m slow --durations=15

# skae's fit time as ratios to a plain PyTorch loop and scikit-learn, on one
# thread; fails when a ratio passes its threshold (benchmarks/bench_check.py).
bench-check: $(STAMP)
	OMP_NUM_THREADS=1 $(PY) benchmarks/bench_check.py --json bench_check.json

# The documentation site, warnings as errors; the gallery runs its examples in quick
# mode (digits) unless SKAE_MNIST points at an MNIST .npz.
docs: $(STAMP)
	$(PY) -m sphinx -W --keep-going -b html docs docs/_build/html

# Every benchmark at full size, one after the other (hours): benchmarks/bench_NAME.py
# and its sub-command, if it has any.
BENCHMARKS = check impute synthesis \
	"cpu threads" "cpu denormals" "cpu dtype" "cpu scaling" "cpu search" \
	"inference torch" "inference onnx" "memory fit" "memory out_of_core" \
	"outlier mnist" "outlier semisupervised" "outlier tables" \
	pca tables "small_data digits" "small_data sparse" \
	"training seed" "training vae" "training accuracy" \
	"papers mlp" "papers vae" "papers deep_ae" "papers semisupervised" "papers pretraining"

bench: $(STAMP)
	for run in $(BENCHMARKS); do set -- $$run; script=$$1; shift; \
		$(PY) benchmarks/bench_$$script.py "$$@" || exit 1; done

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) build *.egg-info docs/_build docs/auto_examples docs/generated docs/sg_execution_times.rst
