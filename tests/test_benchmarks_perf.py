"""The performance benchmark scripts of issue 4 run end to end (quick mode, MNIST)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import _mnist  # noqa: E402

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        _mnist.mnist_path() is None, reason="MNIST .npz not on this machine"
    ),
]

NUMBER = r"-?[\d.]+"


def _run(script, *args):
    """Run a script; exit status 0 is required. Its stdout, with a machine header."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--quick", *args],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    header = result.stdout.splitlines()[0]
    assert re.search(r"torch \S+, skorch \S+, scikit-learn \S+", header), header
    assert re.search(r"\d+ CPUs, \d+ torch threads", header), header
    return result.stdout


def test_bench_accuracy_quick():
    out = _run("bench_accuracy.py")
    assert (
        "| contender | epochs | median fit s | ratio to skae | test accuracy |" in out
    )
    rows = re.findall(
        rf"^\| (skae|scikit-learn) \| (\d+)[^|]* \| ({NUMBER}) \| ({NUMBER}) "
        rf"\| ({NUMBER}) \|$",
        out,
        re.M,
    )
    assert [r[0] for r in rows] == ["skae", "scikit-learn"], out
    for _, epochs, seconds, ratio, accuracy in rows:
        assert int(epochs) >= 1 and float(seconds) > 0 and float(ratio) > 0
        # One or two epochs on 5,000 images: far above chance (0.1).
        assert 0.8 < float(accuracy) <= 1, out
    # The per-epoch record of scikit-learn's run: epoch, seconds, accuracy, loss.
    curve = re.findall(rf"^  (\d+) ({NUMBER}) ({NUMBER}) ({NUMBER})$", out, re.M)
    assert [int(c[0]) for c in curve] == [1, 2], out


def test_bench_inference_quick():
    out = _run("bench_inference.py")
    rows = re.findall(
        rf"^\| ([^|]+) \| ([^|]+) \| ({NUMBER}) (us|s) \| ({NUMBER}) \| ({NUMBER}) \|$",
        out,
        re.M,
    )
    cases = {}
    for case, name, value, unit, ratio, _ in rows:
        seconds = float(value) * (1e-6 if unit == "us" else 1)
        assert seconds > 0 and float(ratio) > 0
        cases.setdefault(case, {})[name] = float(ratio)
    assert list(cases) == [
        "DenoisingAE.transform 784-200",
        "MLPClassifier.predict_proba 784-300-10",
        "MLPClassifier.predict, 1 row",
        "MLPClassifier.predict, 100 rows",
    ], out
    for contenders in cases.values():
        # Ratios are to the bare module, array in and out, of the same case.
        assert contenders["bare module, array in/out"] == 1.0
    assert "PCA(200).transform, float32" in cases["DenoisingAE.transform 784-200"]
    assert "bare module, 64 rows" in cases["MLPClassifier.predict, 1 row"]


def test_bench_memory_quick():
    out = _run("bench_memory.py")
    rows = re.findall(
        r"^\| ([^|]+) \| " + r" \| ".join([r"(\d+)"] * 6) + r" \| (yes|no)[^|]* \|$",
        out,
        re.M,
    )
    names = [r[0] for r in rows]
    assert names == [
        "skae MLPClassifier((300,))",
        "skae DenoisingAE(200, hidden_layer_sizes=())",
        "sklearn MLP",
    ], out
    for name, inp, baseline, before, peak, over, budget, within in rows:
        inp, baseline, before, peak, over, budget = map(
            int, (inp, baseline, before, peak, over, budget)
        )
        # 10,000 float64 images: 60 MiB, resident before the fit starts.
        assert inp == 60 and before - baseline >= inp - 1
        assert peak >= before and over == pytest.approx(peak - baseline, abs=1)
        if name.startswith("skae"):
            # Issue 4's budget: the input, one float32 copy and 300 MiB.
            assert within == "yes", out


def test_bench_scaling_quick():
    out = _run("bench_scaling.py")
    points = re.findall(
        rf"^\| ([^|]+) \| (\d+) \| ({NUMBER}) \| ({NUMBER}) \|$", out, re.M
    )
    assert [(axis.split()[0], int(size)) for axis, size, _, _ in points] == [
        ("n_samples", 1000),
        ("n_samples", 2000),
        ("n_samples", 4000),
        ("hidden", 50),
        ("hidden", 100),
        ("hidden", 200),
    ], out
    assert all(float(seconds) > 0 for _, _, seconds, _ in points)
    fits = re.findall(
        rf"^\| ([^|]+) \| ({NUMBER}) \| ({NUMBER}) \| ({NUMBER}) \| ({NUMBER}) \|$",
        out,
        re.M,
    )
    assert len(fits) == 2, out
    for _, _, _, r2, ratio in fits:
        assert 0 <= float(r2) <= 1 and float(ratio) > 0
