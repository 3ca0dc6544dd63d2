"""What ``verbose`` prints, to a terminal and to a pipe.

The fits run in a real subprocess whose stdout and stderr go either to a pipe or to
a pseudo-terminal, so that what is tested is what a user's shell, log file or CI
log receives: stderr is merged into stdout, as ``2>&1`` does.
"""

import os
import pathlib
import re
import struct
import subprocess
import sys

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import skae
from skae import ConvAE

# Both skae's epoch line and its pieces, as the `verbose` docstring documents them.
LINE = re.compile(
    r"Iteration (\d+), loss = -?\d+\.\d{8}"
    r"(?:, validation score = -?\d+\.\d{8})?, time = \d+\.\d\ds"
)
ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")

CHILD = """
import warnings

warnings.simplefilter("ignore")
import numpy as np
from skae import ConvAE

X = np.random.RandomState(0).uniform(size=(60, 8))


def make(verbose, **params):
    return ConvAE(
        channels=(2,), batch_size=20, max_iter=3, verbose=verbose, random_state=0,
        **params,
    )


print("== verbose=0", flush=True)
make(0).fit(X)
print("== verbose=1", flush=True)
make(1).fit(X)
print("== early_stopping", flush=True)
make(1, early_stopping=True, validation_fraction=0.2).fit(X)
print("== verbose=2", flush=True)
make(2).fit(X)
print("== partial_fit", flush=True)
est = make(1)
for _ in range(3):
    est.partial_fit(X)
print("== end", flush=True)
"""


def _child_env():
    env = dict(os.environ, OMP_NUM_THREADS="1")
    root = str(pathlib.Path(skae.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    return env


def _run_in_pipe():
    result = subprocess.run(
        [sys.executable, "-c", CHILD],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=_child_env(),
        timeout=600,
        check=True,
    )
    return result.stdout.decode()


def _run_in_terminal():
    pty = pytest.importorskip("pty")
    fcntl = pytest.importorskip("fcntl")
    termios = pytest.importorskip("termios")
    master, slave = pty.openpty()
    # A terminal has a size; tqdm draws nothing on one of 0 columns.
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=_child_env(),
        close_fds=True,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert proc.wait(timeout=600) == 0, b"".join(chunks).decode(errors="replace")
    # A terminal turns "\n" into "\r\n"; a lone "\r" is a progress bar's redraw.
    return b"".join(chunks).decode().replace("\r\n", "\n")


def _sections(output):
    """Split the child's output at its ``== name`` markers: {name: text}."""
    parts = re.split(r"^== (.+)\n", output, flags=re.MULTILINE)
    assert parts[0] == "", parts[0]
    return dict(zip(parts[1::2], parts[2::2], strict=True))


@pytest.fixture(scope="module", params=["pipe", "terminal"])
def output(request):
    """Each section of the child's output, with how it was captured."""
    run = _run_in_pipe if request.param == "pipe" else _run_in_terminal
    return request.param, _sections(run())


def _epoch_lines(text):
    """The epoch lines of ``text``; fails on any other non-empty line."""
    lines = [line for line in text.split("\n") if line.strip()]
    for line in lines:
        assert LINE.fullmatch(line), repr(line)
    return [int(LINE.fullmatch(line)[1]) for line in lines]


def test_verbose_0_prints_nothing(output):
    _, sections = output
    assert sections["verbose=0"] == ""


def test_verbose_1_prints_sklearn_lines_without_colour(output):
    _, sections = output
    text = sections["verbose=1"]
    assert ANSI_COLOUR.search(text) is None, repr(text)
    assert _epoch_lines(text) == [1, 2, 3]
    assert "validation score" not in text


def test_verbose_early_stopping_reports_validation_score(output):
    _, sections = output
    text = sections["early_stopping"]
    assert _epoch_lines(text) == [1, 2, 3]
    assert text.count("validation score = ") == 3


def test_verbose_partial_fit_calls_read_as_one_sequence(output):
    # No header at all, so three calls cannot print three headers; the numbering
    # goes on across the calls as the epochs do (n_iter_).
    _, sections = output
    text = sections["partial_fit"]
    assert _epoch_lines(text) == [1, 2, 3]
    assert "epoch" not in text and "train_loss" not in text


def test_verbose_2_progress_bar_only_on_a_terminal(output):
    stream, sections = output
    text = sections["verbose=2"]
    assert ANSI_COLOUR.search(text) is None, repr(text)
    if stream == "pipe":
        # Exactly verbose=1's lines: no bar fragments such as "0%| | 0/3".
        assert "\r" not in text and "%|" not in text, repr(text)
        assert _epoch_lines(text) == [1, 2, 3]
    else:
        assert "%|" in text and "/3" in text, repr(text)  # 3 batches per epoch
        # Each bar is erased before its epoch's line: the text after the last
        # carriage return of each line is the epoch line.
        lines = [line.rsplit("\r", 1)[-1] for line in text.split("\n")]
        assert _epoch_lines("\n".join(lines)) == [1, 2, 3]


def test_verbose_line_format_in_process(capsys):
    X = np.random.RandomState(0).uniform(size=(60, 8))
    est = ConvAE(channels=(2,), batch_size=20, max_iter=2, verbose=1, random_state=0)
    with pytest.warns(ConvergenceWarning):  # 2 epochs
        est.fit(X)
    out = capsys.readouterr().out
    assert _epoch_lines(out) == [1, 2]
    losses = [float(m) for m in re.findall(r"loss = (\S+),", out)]
    np.testing.assert_allclose(losses, est.loss_curve_, rtol=1e-7)


@pytest.mark.parametrize("learning_rate", ["constant", "adaptive"])
def test_verbose_stopping_lines_are_sklearns(capsys, learning_rate):
    # tol=1e3: every epoch after the first fails to improve, whatever the losses.
    from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier

    X = np.random.RandomState(0).uniform(size=(40, 4))
    y = np.arange(40) % 2
    kwargs = dict(
        solver="sgd",
        learning_rate=learning_rate,
        learning_rate_init=0.1,
        tol=1e3,
        n_iter_no_change=1,
        max_iter=100,
        verbose=1,
        random_state=0,
    )
    skae.MLPClassifier((3,), **kwargs).fit(X, y)
    ours = capsys.readouterr().out
    SklearnMLPClassifier((3,), **kwargs).fit(X, y)
    theirs = capsys.readouterr().out

    def stopping(text):
        return [line for line in text.splitlines() if "did not improve" in line]

    assert stopping(ours) == stopping(theirs)
    assert stopping(ours)
