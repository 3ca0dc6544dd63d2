"""Inference speed of skae against the bare torch module and PCA, on MNIST, CPU.

Two fitted models (one short epoch each: the weights do not matter for timing):
the seed's 784-200 softplus ``DenoisingAE`` and the 784-300-10 ``MLPClassifier``.

* ``transform`` of the 60,000 training images: ``DenoisingAE.transform`` against
  ``PCA(n_components=200).transform`` and against calling the encoder of the bare
  module (``est.net_.module_.encode``) under ``torch.no_grad()``, counted twice:
  on a float32 tensor made beforehand ("tensor in, tensor out") and with the
  NumPy-to-tensor conversion and the ``.numpy()`` of the result inside the timing
  ("array in, array out", what a NumPy caller pays). The same for the MLP's
  ``predict_proba`` against ``softmax(module(x))``. skae also gets float64 input,
  which it converts to float32 and whose result it returns as float64.
* ``predict`` latency for 1 and for 100 rows against the bare module's
  ``module(x).argmax(1)`` (array in, array out). skae pads inference batches
  under ``max(64, 4 * threads)`` rows with zero rows (so that a row's result does
  not depend on its batch); the bare module at 64 rows shows what the padded call
  costs.

Every contender runs alternately, in a new random order each repeat, ``--repeats``
times; a repeat of a latency case
is the mean of ``--number`` calls. The table gives medians and the ratio to the
bare module (array in, array out) of the same case.

    python benchmarks/bench_inference.py            # 60,000 rows
    python benchmarks/bench_inference.py --quick    # 5,000 rows, fewer repeats
"""

import argparse
import json
import statistics
import sys
import time
import warnings

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning

from skae import DenoisingAE, MLPClassifier

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import _common  # noqa: E402
import _mnist  # noqa: E402

BARE = "bare module, array in/out"


def fit_models(X, y):
    """A DenoisingAE, an MLPClassifier and a PCA fitted on ``X``."""
    n_fit = min(len(X), 2_000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dae = DenoisingAE(
            200,
            hidden_layer_sizes=(),
            consistency=0,  # the objective of the documented runs
            activation="softplus",
            code_activation="softplus",
            noise="gaussian",
            noise_level=0.01,
            batch_size=128,
            max_iter=1,
            random_state=0,
        ).fit(X[:n_fit])
        mlp = MLPClassifier(
            (300,),
            dropout=0.25,
            solver="adagrad",
            learning_rate_init=0.3,
            batch_size=100,
            max_iter=1,
            random_state=0,
        ).fit(X[:n_fit], y[:n_fit])
    pca = PCA(n_components=200, random_state=0).fit(X[:n_fit])
    return dae, mlp, pca


def contenders(dae, mlp, pca, X, X_small):
    """``{case: {contender: zero-argument callable}}``."""
    encode, module = dae.net_.module_.encode, mlp.net_.module_
    X64 = X.astype(np.float64)
    Xt = torch.from_numpy(X)

    def no_grad(fn):
        def wrapped():
            with torch.no_grad():
                return fn()

        return wrapped

    cases = {
        "DenoisingAE.transform 784-200": {
            "skae, float32 in": lambda: dae.transform(X),
            "skae, float64 in": lambda: dae.transform(X64),
            "bare module, tensor in/out": no_grad(lambda: encode(Xt)),
            BARE: no_grad(lambda: encode(torch.from_numpy(X)).numpy()),
            "PCA(200).transform, float32": lambda: pca.transform(X),
        },
        "MLPClassifier.predict_proba 784-300-10": {
            "skae, float32 in": lambda: mlp.predict_proba(X),
            "skae, float64 in": lambda: mlp.predict_proba(X64),
            "bare module, tensor in/out": no_grad(
                lambda: torch.softmax(module(Xt), dim=1)
            ),
            BARE: no_grad(
                lambda: torch.softmax(module(torch.from_numpy(X)), dim=1).numpy()
            ),
        },
    }
    for n_rows in (1, 100):
        Xs = X_small[:n_rows]
        case = {
            "skae predict": lambda Xs=Xs: mlp.predict(Xs),
            BARE: no_grad(lambda Xs=Xs: module(torch.from_numpy(Xs)).argmax(1).numpy()),
        }
        if n_rows == 1:
            # What skae's zero padding of short batches makes the module compute.
            case["bare module, 64 rows"] = no_grad(
                lambda X64rows=X_small[:64]: (
                    module(torch.from_numpy(X64rows)).argmax(1).numpy()
                )
            )
        cases[f"MLPClassifier.predict, {n_rows} row{'s' * (n_rows > 1)}"] = case
    return cases


def _seconds(fn, number):
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number


def run(quick=False, repeats=5, number=200):
    n_rows = 5_000 if quick else 60_000
    X, y, X_test, _ = _mnist.load(n_rows)
    dae, mlp, pca = fit_models(X, y)
    cases = contenders(dae, mlp, pca, X, X_test[:100])
    results = {}
    for case, fns in cases.items():
        names = list(fns)
        small = "predict," in case
        calls = number if small else 1
        for name in names:  # warm-up
            _seconds(fns[name], min(calls, 10))
        times = {name: [] for name in names}
        rng = np.random.RandomState(0)
        for _ in range(repeats):
            # A fresh random order each repeat: a rotation would keep every
            # contender's predecessor (whose freed memory or cache state it
            # inherits) the same in all repeats.
            for name in rng.permutation(names):
                times[name].append(_seconds(fns[name], calls))
        base = statistics.median(times[BARE])
        results[case] = {
            name: {
                "seconds": times[name],
                "median_s": statistics.median(times[name]),
                "ratio_to_bare": statistics.median(times[name]) / base,
                "paired_ratio": statistics.median(
                    t / b for t, b in zip(times[name], times[BARE], strict=True)
                ),
            }
            for name in names
        }
    return {
        "machine": _common.machine(),
        "settings": {
            "quick": quick,
            "repeats": repeats,
            "rows": n_rows,
            "calls_per_latency_repeat": number,
        },
        "results": results,
    }


def print_table(report, out=sys.stdout):
    m = report["machine"]
    print(
        f"torch {m['torch']}, skorch {m['skorch']}, scikit-learn {m['scikit-learn']}, "
        f"numpy {m['numpy']}, skae {m['skae']}, Python {m['python']}; "
        f"{m['cpu_count']} CPUs, {m['torch_threads']} torch threads; "
        f"settings {report['settings']}",
        file=out,
    )
    print(
        "| case | contender | median | ratio to bare module (array in/out) "
        "| median paired ratio |",
        file=out,
    )
    print("|---|---|---|---|---|", file=out)
    for case, rows in report["results"].items():
        for name, row in rows.items():
            seconds = row["median_s"]
            shown = f"{seconds * 1e6:.1f} us" if seconds < 0.01 else f"{seconds:.3f} s"
            print(
                f"| {case} | {name} | {shown} | {row['ratio_to_bare']:.2f} | "
                f"{row['paired_ratio']:.2f} |",
                file=out,
            )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument(
        "--number", type=int, default=None, help="calls per latency repeat"
    )
    parser.add_argument("--threads", type=int, help="torch.set_num_threads first")
    parser.add_argument("--json", help="also write the full report here")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if _mnist.mnist_path() is None:
        print("skipped: MNIST not found (set SKAE_MNIST to an mnist.npz)")
        return 0
    report = run(
        args.quick,
        args.repeats or (2 if args.quick else 7),
        args.number or (20 if args.quick else 500),
    )
    print_table(report)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
