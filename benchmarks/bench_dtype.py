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

import argparse
import json
import statistics
import time
import warnings

import numpy as np
import scipy.optimize
from _common import loadavg, machine
from _mnist import load, mnist_path
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from skae import MLPClassifier

DTYPES = ("float32", "float64")


def cases(quick):
    """``{name: (make estimator, X, y)}``."""
    X, y = load_digits(return_X_y=True)
    X = X / 16
    adam = dict(n_iter_no_change=np.inf, random_state=0)
    out = {
        "digits, Adam, 30 epochs": (
            lambda dtype: MLPClassifier(
                (100,), max_iter=2 if quick else 30, dtype=dtype, **adam
            ),
            X,
            y,
        ),
        "digits, L-BFGS, 100 iterations": (
            lambda dtype: MLPClassifier(
                (100,),
                solver="lbfgs",
                max_iter=5 if quick else 100,
                dtype=dtype,
                random_state=0,
            ),
            X,
            y,
        ),
    }
    if mnist_path() is None:
        print("MNIST is not on this machine: digits only (see benchmarks/_mnist.py)")
        return out
    Xm, ym, _, _ = load(10_000)
    Xm = Xm.astype(np.float64)
    n_lbfgs = 1000 if quick else 5000
    out["MNIST 10,000, Adam, 3 epochs"] = (
        lambda dtype: MLPClassifier(
            (300,), max_iter=1 if quick else 3, dtype=dtype, **adam
        ),
        Xm[:1000] if quick else Xm,
        ym[:1000] if quick else ym,
    )
    out["MNIST 5,000, L-BFGS, 20 iterations"] = (
        lambda dtype: MLPClassifier(
            (300,),
            solver="lbfgs",
            max_iter=2 if quick else 20,
            dtype=dtype,
            random_state=0,
        ),
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
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start = time.perf_counter()
            est.fit(X, y)
            seconds = time.perf_counter() - start
    finally:
        scipy.optimize.minimize = minimize
    assert str(est.net_.module_.output.weight.dtype) == f"torch.{dtype}"
    return seconds, (evaluations[0] if evaluations else None)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    repeats = 1 if args.quick else args.repeats
    print(json.dumps(machine()))
    print(
        "| fit | float32 median s | float64 median s | float64 / float32 | "
        "runs float32 | runs float64 | evaluations (L-BFGS) | 1-min load |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, (make, X, y) in cases(args.quick).items():
        for dtype in DTYPES:  # imports, thread pools, first kernels: untimed
            timed_fit(make, dtype, X[:200], y[:200])
        times = {dtype: [] for dtype in DTYPES}
        nfev = {dtype: [] for dtype in DTYPES}
        loads = []
        for r in range(repeats):
            loads.append(loadavg())
            for dtype in DTYPES if r % 2 == 0 else DTYPES[::-1]:
                seconds, evaluations = timed_fit(make, dtype, X, y)
                times[dtype].append(seconds)
                nfev[dtype].append(evaluations)
        m32, m64 = (statistics.median(times[d]) for d in DTYPES)
        runs = [", ".join(f"{t:.2f}" for t in times[d]) for d in DTYPES]
        evals = (
            "-"
            if nfev["float32"][0] is None
            else " / ".join(
                f"{nfev[d][0]} ({1000 * statistics.median(times[d]) / nfev[d][0]:.1f}"
                " ms each)"
                for d in DTYPES
            )
        )
        print(
            f"| {name} | {m32:.2f} | {m64:.2f} | {m64 / m32:.2f} | {runs[0]} | "
            f"{runs[1]} | {evals} | {', '.join(loads)} |"
        )


if __name__ == "__main__":
    main()
