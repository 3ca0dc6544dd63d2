"""Time to accuracy on MNIST: skae's MLPClassifier against scikit-learn's, CPU.

The 60,000 training images, pixels in [0, 1] as float32, scored on the 10,000
test images. skae: :data:`SKAE_PARAMS` for the epochs of :data:`SKAE_PHASES`
(Adam at 1e-3, then ``warm_start`` at 1e-4). scikit-learn: its defaults but
``hidden_layer_sizes=(300,)`` and ``batch_size=100``, one epoch a ``fit``, until
its own stopping rule or ``--sklearn-max-iter`` epochs, timed up to its best test
accuracy (a generous reading). ``--curve`` also records skae's accuracy after each
epoch. The protocol and results: docs/benchmarks.md, "Time to a test accuracy".

    python benchmarks/bench_accuracy.py            # 60,000 images
    python benchmarks/bench_accuracy.py --quick    # 5,000 images, 2 epochs
"""

import statistics
import sys
import time

import _common
import _mnist
import numpy as np
from sklearn.neural_network import MLPClassifier as SklearnMLP

from skae import MLPClassifier

#: skae's settings.
SKAE_PARAMS = {
    "hidden_layer_sizes": (512,),
    "dropout": 0.25,
    "solver": "adam",
    "batch_size": 128,
    "alpha": 0.0,
    "random_state": 0,
}
#: (learning_rate_init, epochs) of each phase: a ``fit``, then ``fit`` again with
#: ``warm_start=True`` (which keeps the weights and, as in scikit-learn, starts the
#: optimiser afresh) at the next rate: a step schedule through the public API.
SKAE_PHASES = [(1e-3, 6), (1e-4, 3)]
SKLEARN_PARAMS = {"hidden_layer_sizes": (300,), "batch_size": 100, "random_state": 0}


def run_skae(X, y, X_test, y_test, phases):
    clf = MLPClassifier(**SKAE_PARAMS)
    start = time.perf_counter()
    with _common.quiet():
        for i, (rate, epochs) in enumerate(phases):
            clf.set_params(learning_rate_init=rate, max_iter=epochs, warm_start=i > 0)
            clf.fit(X, y)
    seconds = time.perf_counter() - start
    print("skae fit", seconds, file=sys.stderr, flush=True)
    return {
        "seconds": seconds,
        "epochs": clf.n_iter_,
        "accuracy": float(clf.score(X_test, y_test)),
    }


def skae_curve(X, y, X_test, y_test, phases):
    """(epoch, cumulative fit seconds, test accuracy) with one partial_fit an epoch.

    The same settings and phases as the timed run, but the shuffling differs (each
    ``partial_fit`` call draws a new stream) and the optimiser's state carries
    over the change of rate, so the curve is close to the timed run, not equal.
    """
    clf, classes, seconds, curve = MLPClassifier(**SKAE_PARAMS), np.unique(y), 0.0, []
    rates = [rate for rate, epochs in phases for _ in range(epochs)]
    for epoch, rate in enumerate(rates, 1):
        clf.set_params(learning_rate_init=rate)
        start = time.perf_counter()
        clf.partial_fit(X, y, classes=classes)
        seconds += time.perf_counter() - start
        curve.append((epoch, seconds, float(clf.score(X_test, y_test))))
        print("skae epoch", *curve[-1], file=sys.stderr, flush=True)
    return curve


def run_sklearn(X, y, X_test, y_test, max_epochs):
    """Epochs until scikit-learn's stopping rule; the time to its best accuracy."""
    clf = SklearnMLP(**SKLEARN_PARAMS, warm_start=True, max_iter=1)
    seconds, curve = 0.0, []
    best_loss, no_improvement, converged = np.inf, 0, False
    with _common.quiet():
        for epoch in range(1, max_epochs + 1):
            start = time.perf_counter()
            clf.fit(X, y)
            seconds += time.perf_counter() - start
            loss = clf.loss_curve_[-1]
            curve.append((epoch, seconds, float(clf.score(X_test, y_test)), loss))
            print("scikit-learn epoch", *curve[-1], file=sys.stderr, flush=True)
            # scikit-learn's rule (_update_no_improvement_count), across the calls.
            no_improvement = no_improvement + 1 if loss > best_loss - clf.tol else 0
            best_loss = min(best_loss, loss)
            if no_improvement > clf.n_iter_no_change:
                converged = True
                break
    best = max(curve, key=lambda row: row[2])
    return {
        "seconds": best[1],
        "epochs": best[0],
        "accuracy": best[2],
        "epochs_run": len(curve),
        "seconds_all_epochs": seconds,
        "converged": converged,
        "curve": curve,
    }


def run(args):
    quick, repeats, sklearn_max_iter = args.quick, args.repeats, args.sklearn_max_iter
    curve = args.curve
    n_train = 5_000 if quick else None
    X, y, X_test, y_test = _mnist.load(n_train)
    phases = [(rate, 1) for rate, _ in SKAE_PHASES] if quick else SKAE_PHASES
    max_epochs = 2 if quick else sklearn_max_iter
    contenders = {
        "skae": lambda: run_skae(X, y, X_test, y_test, phases),
        "scikit-learn": lambda: run_sklearn(X, y, X_test, y_test, max_epochs),
    }
    runs = {name: [] for name in contenders}
    names = list(contenders)
    for rep in range(repeats):
        for name in names[rep % len(names) :] + names[: rep % len(names)]:
            runs[name].append(contenders[name]())
    results = {
        name: {
            "runs": rows,
            "median_s": statistics.median(r["seconds"] for r in rows),
            "median_accuracy": statistics.median(r["accuracy"] for r in rows),
        }
        for name, rows in runs.items()
    }
    base = results["skae"]["median_s"]
    for row in results.values():
        row["ratio_to_skae"] = row["median_s"] / base
    settings = {"skae": dict(SKAE_PARAMS, phases=phases)}
    settings["sklearn"] = dict(SKLEARN_PARAMS, max_epochs=max_epochs)
    report = _common.report(args, settings, results=results)
    if curve:
        report["skae_curve"] = skae_curve(X, y, X_test, y_test, phases)
    return report


def show(report):
    _common.header(report)
    sk = report["results"]["scikit-learn"]["runs"][-1]
    print("scikit-learn, last repeat: epoch, cumulative fit s, test accuracy, loss")
    for epoch, seconds, accuracy, loss in sk["curve"]:
        print(f"  {epoch} {seconds:.2f} {accuracy:.4f} {loss:.5f}")
    if "skae_curve" in report:
        print("skae (partial_fit): epoch, cumulative fit s, test accuracy")
        for epoch, seconds, accuracy in report["skae_curve"]:
            print(f"  {epoch} {seconds:.2f} {accuracy:.4f}")
    rows = []
    for name, row in report["results"].items():
        run = row["runs"][-1]
        epochs = str(run["epochs"])
        if name == "scikit-learn":
            stop = "converged" if run["converged"] else "max epochs"
            epochs += f" (best of {run['epochs_run']}, {stop})"
        rows.append(
            [name, epochs, f"{row['median_s']:.2f}", f"{row['ratio_to_skae']:.2f}"]
            + [f"{row['median_accuracy']:.4f}"]
        )
    columns = ["contender", "epochs", "median fit s", "ratio to skae"]
    _common.table([*columns, "test accuracy"], rows)


if __name__ == "__main__":
    parser = _common.parser(__doc__, repeats=1)
    parser.add_argument("--sklearn-max-iter", type=int, default=50, help="epochs")
    parser.add_argument("--curve", action="store_true", help="skae's epoch accuracy")
    # scikit-learn's matrix products run in NumPy's BLAS: --threads limits it too.
    sys.exit(_common.main(parser, run, show, needs="mnist", blas=True))
