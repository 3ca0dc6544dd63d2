"""The cost of float64: MLP fits with ``dtype="float64"`` against ``"float32"``.

Four fits, each timed in float32 and in float64 (the ``dtype`` parameter; X is
float64 throughout), the two alternated (float32 first in odd rounds, float64
first in even ones), median of ``--repeats`` rounds, after one untimed warm-up
fit of each:

- digits (1,797 images), ``MLPClassifier((100,))``, Adam, 30 epochs;
- digits, ``MLPClassifier((100,), solver="lbfgs")``, 100 iterations;
- MNIST, 10,000 training images, ``MLPClassifier((300,))``, Adam, 3 epochs;
- MNIST, 5,000 training images, ``MLPClassifier((300,), solver="lbfgs")``,
  20 iterations.

The stochastic fits run a fixed number of epochs (``n_iter_no_change=inf``).
L-BFGS may take other steps in the two precisions, so its table also gives the
time per function evaluation. Run with ``OMP_NUM_THREADS=1`` for one thread::

    OMP_NUM_THREADS=1 python benchmarks/bench_dtype.py [--repeats 3]
    python benchmarks/bench_dtype.py --quick   # one round, small fits
"""

import statistics
import sys
import time

import _common
import numpy as np
import scipy.optimize
from _mnist import load, mnist_path
from sklearn.datasets import load_digits

from skae import MLPClassifier

DTYPES = ("float32", "float64")


def mlp(width, solver, iterations):
    """``dtype -> MLPClassifier((width,))``; Adam runs all its epochs."""
    rule = {"n_iter_no_change": np.inf} if solver == "adam" else {"solver": solver}
    return lambda dtype: MLPClassifier(
        (width,), max_iter=iterations, dtype=dtype, random_state=0, **rule
    )


def cases(quick):
    """``{name: (make estimator, X, y)}``."""
    X, y = load_digits(return_X_y=True)
    out = {
        "digits, Adam, 30 epochs": (mlp(100, "adam", 2 if quick else 30), X / 16, y),
        "digits, L-BFGS, 100 iterations": (
            mlp(100, "lbfgs", 5 if quick else 100),
            X / 16,
            y,
        ),
    }
    if mnist_path() is None:
        print("MNIST is not on this machine: digits only (see benchmarks/_mnist.py)")
        return out
    Xm, ym, _, _ = load(10_000)
    Xm = Xm.astype(np.float64)
    n_adam, n_lbfgs = (1000, 1000) if quick else (10_000, 5000)
    out["MNIST 10,000, Adam, 3 epochs"] = (
        mlp(300, "adam", 1 if quick else 3),
        Xm[:n_adam],
        ym[:n_adam],
    )
    out["MNIST 5,000, L-BFGS, 20 iterations"] = (
        mlp(300, "lbfgs", 2 if quick else 20),
        Xm[:n_lbfgs],
        ym[:n_lbfgs],
    )
    return out


def timed_fit(make, dtype, X, y):
    """Return (seconds, function evaluations or None) of one fit."""
    evaluations = []
    minimize = scipy.optimize.minimize

    def counting(*args, **kwargs):
        result = minimize(*args, **kwargs)
        evaluations.append(result.nfev)
        return result

    est = make(dtype)
    scipy.optimize.minimize = counting
    try:
        with _common.quiet():
            start = time.perf_counter()
            est.fit(X, y)
            seconds = time.perf_counter() - start
    finally:
        scipy.optimize.minimize = minimize
    assert str(est.net_.module_.output.weight.dtype) == f"torch.{dtype}"
    return seconds, (evaluations[0] if evaluations else None)


def run(args):
    results = {}
    for name, (make, X, y) in cases(args.quick).items():
        for dtype in DTYPES:  # imports, thread pools, first kernels: untimed
            timed_fit(make, dtype, X[:200], y[:200])
        times = {dtype: [] for dtype in DTYPES}
        nfev = {dtype: [] for dtype in DTYPES}
        loads = []
        for r in range(args.repeats):
            loads.append(_common.loadavg())
            for dtype in DTYPES if r % 2 == 0 else DTYPES[::-1]:
                seconds, evaluations = timed_fit(make, dtype, X, y)
                times[dtype].append(seconds)
                nfev[dtype].append(evaluations)
        results[name] = {
            **{f"{d}_s": times[d] for d in DTYPES},
            **{f"{d}_median_s": statistics.median(times[d]) for d in DTYPES},
            "evaluations": nfev if nfev["float32"][0] is not None else None,
            "loads": loads,
        }
    return _common.report(args, results=results)


def show(report):
    _common.header(report)
    rows = []
    for name, r in report["results"].items():
        m32, m64 = (r[f"{d}_median_s"] for d in DTYPES)
        runs = [", ".join(f"{t:.2f}" for t in r[f"{d}_s"]) for d in DTYPES]
        evals = "-"
        if r["evaluations"]:
            evals = " / ".join(
                f"{r['evaluations'][d][0]} "
                f"({1000 * r[f'{d}_median_s'] / r['evaluations'][d][0]:.1f} ms each)"
                for d in DTYPES
            )
        rows.append(
            [name, f"{m32:.2f}", f"{m64:.2f}", f"{m64 / m32:.2f}", *runs, evals]
            + [", ".join(r["loads"])]
        )
    columns = ["fit", "float32 median s", "float64 median s", "float64 / float32"]
    columns += ["runs float32", "runs float64", "evaluations (L-BFGS)", "1-min load"]
    _common.table(columns, rows)


if __name__ == "__main__":
    sys.exit(_common.main(_common.parser(__doc__, repeats=(1, 3)), run, show))
