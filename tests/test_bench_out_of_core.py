"""The out-of-core benchmark runs end to end in its quick mode."""

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_bench_out_of_core_quick(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench_out_of_core.py"),
            "--quick",
            "--path",
            str(tmp_path),
            "--json",
            str(tmp_path / "out.json"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    assert re.search(
        r"^\| partial_fit over the memmap \| 20,000 \|", result.stdout, re.M
    )
    assert re.search(r"^\| fit, one epoch in memory \| 10,000 \|", result.stdout, re.M)
    summary = json.loads((tmp_path / "out.json").read_text())
    stream = summary["stream"]["median"]
    assert stream["epochs"] == 4  # one partial_fit per chunk of 5,000 rows
    assert math.isfinite(stream["final_loss"])
    assert stream["peak_rss_mb"] < 1024
    assert summary["in-memory"]["median"]["epochs"] == 1
    # The data file is deleted afterwards; only the JSON is left.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]
