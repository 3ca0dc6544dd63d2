"""The paper benchmarks (benchmarks/bench_paper_*.py) run end to end in quick mode."""

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import _mnist  # noqa: E402

needs_mnist = pytest.mark.skipif(
    _mnist.mnist_path() is None, reason="MNIST .npz not on this machine"
)


def _run(script, tmp_path):
    out = tmp_path / "report.json"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / script),
            "--quick",
            "--threads",
            "1",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    assert "load average" in result.stdout
    return result.stdout, json.loads(out.read_text())


@pytest.mark.slow
@needs_mnist
def test_bench_paper_vae_quick(tmp_path):
    stdout, report = _run("bench_paper_vae.py", tmp_path)
    assert re.search(r"^\| skae VariationalAE 784-400-20 \| 2 \| ", stdout, re.M)
    assert report["settings"]["n_train"] == 10_000
    assert [row[0] for row in report["curve"]] == [1, 2]
    # Two epochs on 10,000 images: far from 102 nats, but a bound that has moved.
    assert 100 < report["test_loss_nats"] < 250


@pytest.mark.slow
@needs_mnist
def test_bench_paper_mlp_quick(tmp_path):
    stdout, report = _run("bench_paper_mlp.py", tmp_path)
    assert re.findall(r"^\| (\d) \| 2 \| [\d.]+ \| [\d.]+ \| ([\d.]+) \|", stdout, re.M)
    assert [run["seed"] for run in report["runs"]] == [0, 1]
    for run in report["runs"]:
        assert len(run["curve"]) == 2 and run["fit_seconds"] > 0
        assert run["accuracy"] > 0.85


@pytest.mark.slow
@needs_mnist
def test_bench_paper_semisupervised_quick(tmp_path):
    stdout, report = _run("bench_paper_semisupervised.py", tmp_path)
    assert re.search(r"^\| 0 \| 4 \| 3.00 \| 0.001 \| ", stdout, re.M)
    (run,) = report["runs"]
    assert [point[0] for point in run["curve"]] == [0, 4]
    # The pseudo-labels of the last epoch are mostly right, and the classifier
    # trained on them is a working one.
    assert run["curve"][-1][3] > 0.8
    assert run["accuracy"] > 0.7


@pytest.mark.slow
@needs_mnist
def test_bench_paper_deep_ae_quick(tmp_path):
    stdout, report = _run("bench_paper_deep_ae.py", tmp_path)
    assert re.search(r"^\| skae Autoencoder 784-1000-500-250-30 \| 2 \| ", stdout, re.M)
    assert report["epochs"] == 2
    # PCA(30) fitted on 10,000 images is close to the paper's 13.87.
    assert 13 < report["pca_test_error"] < 15
    assert math.isfinite(report["test_error"]) and report["test_error"] < 60
