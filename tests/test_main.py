import re
import subprocess
import sys

import pytest

from skae.__main__ import main


def test_demo_command_prints_the_table():
    # A real process, as `make demo` runs it.
    result = subprocess.run(
        [sys.executable, "-m", "skae", "demo", "--code-sizes", "4"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    lines = result.stdout.splitlines()
    assert lines[0].startswith("skae ") and "digits" in lines[0]
    assert "accuracy" in lines[1]
    rows = lines[3:]
    assert [r.split(" + ")[0].split(" on ")[0] for r in rows] == [
        "LogisticRegression",
        "PCA(4)",
        "DenoisingAE(n_components=4)",
    ]
    for row in rows:
        _, accuracy, seconds = re.search(r"(\d+) +([\d.]+) +([\d.]+)", row).groups()
        assert 0.5 < float(accuracy) <= 1 and float(seconds) >= 0
    assert result.stderr == ""


def test_cli_needs_a_command(capsys):
    with pytest.raises(SystemExit):
        main([])
    assert "demo" in capsys.readouterr().err
