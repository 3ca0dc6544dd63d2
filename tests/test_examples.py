"""Every gallery example runs on its own, in its quick mode, in a real subprocess."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").glob("plot_*.py"))
# Each example takes well under a minute on a CPU; this bound catches one that
# silently grew into a full-size run.
TIME_LIMIT_S = 120


def test_examples_found():
    assert len(EXAMPLES) >= 12


@pytest.mark.slow
@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(example, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "SKAE_MNIST"}
    env["MPLBACKEND"] = "Agg"
    # The examples' networks are tiny: one torch thread is faster than two, many
    # times over on the shared CI machine (see docs/conf.py, which does the same
    # for the gallery build).
    env["OMP_NUM_THREADS"] = "1"
    result = subprocess.run(
        [sys.executable, str(example)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIME_LIMIT_S,
    )
    assert result.returncode == 0, (
        f"{example.name} exited with {result.returncode}:\n{result.stderr[-4000:]}"
    )
    # Each example prints what it measured.
    assert result.stdout.strip(), f"{example.name} printed nothing"
