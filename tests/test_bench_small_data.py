"""The small-data and sparse-input benchmarks run end to end in their quick modes."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(script, tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / script),
            "--quick",
            "--json",
            str(tmp_path / "out.json"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return result.stdout, json.loads((tmp_path / "out.json").read_text())


@pytest.mark.slow
def test_bench_small_data_quick(tmp_path):
    stdout, report = _run("bench_small_data.py", tmp_path)
    fits = re.findall(
        r"^\| (quiet|busy) \| (classifier|autoencoder) \| ([\w ,-]+) "
        r"\| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|$",
        stdout,
        flags=re.M,
    )
    assert {(phase, case, name) for phase, case, name, *_ in fits} == {
        (phase, case, name)
        for phase in ("quiet", "busy")
        for case, names in {
            "classifier": (
                "skae",
                "scikit-learn",
                "scikit-learn, 1 BLAS thread",
                "plain torch loop, 1 thread",
                "plain torch loop, 2 threads",
            ),
            "autoencoder": ("skae", "scikit-learn", "scikit-learn, 1 BLAS thread"),
        }.items()
        for name in names
    }
    for *_, seconds, ratio, paired in fits:
        assert float(seconds) > 0 and float(ratio) > 0 and float(paired) > 0
    slowdowns = re.findall(
        r"^\| (classifier|autoencoder) \| [\w ,-]+ \| ([\d.]+) \| ([\d.]+) "
        r"\| ([\d.]+) \|$",
        stdout,
        flags=re.M,
    )
    assert len(slowdowns) == 8
    assert all(float(v) > 0 for row in slowdowns for v in row[1:])
    predicts = re.findall(
        r"^\| (quiet|busy) \| (classifier predict|autoencoder transform / predict) "
        r"\| (skae[\w.(), ]*|scikit-learn) \| ([\d.]+) "
        r"\| ([\d.]+) \| ([\d.]+) \|$",
        stdout,
        flags=re.M,
    )
    assert len(predicts) == 12
    assert all(float(v) > 0 for row in predicts for v in row[3:])
    assert report["phases"]["busy"]["burners"] == 2
    # These models are below skae's one-thread threshold.
    assert report["skae_torch_threads"] == {"classifier": 1, "autoencoder": 1}


@pytest.mark.slow
def test_bench_sparse_quick(tmp_path):
    stdout, report = _run("bench_sparse.py", tmp_path)
    rows = re.findall(
        r"^\| ([\w ,-]+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|$",
        stdout,
        flags=re.M,
    )
    assert [name for name, *_ in rows] == [
        "skae, CSR",
        "scikit-learn, CSR",
        "skae, the same matrix dense",
    ]
    for _, seconds, ratio, paired, accuracy in rows:
        assert float(seconds) > 0 and float(ratio) > 0 and float(paired) > 0
        assert 0 < float(accuracy) <= 1
    # Densified batches train the same model as the dense matrix.
    results = report["results"]
    assert results["skae, CSR"]["train_accuracy"] == pytest.approx(
        results["skae, the same matrix dense"]["train_accuracy"], abs=0.02
    )
