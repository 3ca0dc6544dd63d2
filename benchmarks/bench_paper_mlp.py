"""The MLP paper row: at least 98.5 % test accuracy on MNIST in 90 s of training.

skae's ``MLPClassifier`` on the 60,000 training images (pixels / 255, float32),
scored on the 10,000 test images. The recipe (:data:`RECIPE`): 784-800-800-10 ReLU
with dropout 0.3, Adam, batches of 128, no weight decay, and a cosine learning-rate
schedule from 1e-3 to 1e-5 over 12 epochs, run as one ``partial_fit`` per epoch
with ``learning_rate_init`` set before each (``partial_fit`` keeps Adam's state, so
this is a per-epoch schedule through the public API). Only the ``partial_fit``
calls are timed; the test accuracy after each epoch (the curve) is measured outside
the timing.

``--validation`` trains on the first 50,000 training images and scores the last
10,000 instead of the test set. How the recipe was chosen (docs/learning_quality.md,
"The papers"): a one-layer (1024,) net, dropout 0.3, with this schedule reached only
98.40 % on that validation split, so the recipe took the two-layer (800, 800) net
of docs/benchmarks.md's earlier screen (scored on the test images: 98.3 % without
a schedule, dropout 0.2) with dropout 0.3; the two-layer recipe itself was not run
on the validation split before its test run.

    python benchmarks/bench_paper_mlp.py               # seeds 0 and 1, full size
    python benchmarks/bench_paper_mlp.py --validation  # the same on a validation split
    python benchmarks/bench_paper_mlp.py --quick       # 10,000 images, 2 epochs
"""

import math
import os
import sys
import time

import numpy as np

from skae import MLPClassifier

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import _common  # noqa: E402
import _mnist  # noqa: E402

TARGET_ACCURACY, TARGET_SECONDS = 0.985, 90.0
#: The recipe: the estimator's parameters, the epochs and the schedule's peak rate.
RECIPE = {
    "hidden_layer_sizes": (800, 800),
    "dropout": 0.3,
    "batch_size": 128,
    "alpha": 0.0,
    "epochs": 12,
    "learning_rate_init": 1e-3,
}


def cosine_rates(peak, epochs, floor=0.01):
    """One rate per epoch: cosine from ``peak`` down to ``floor * peak``."""
    return [
        peak * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * e / epochs)))
        for e in range(epochs)
    ]


def run_seed(X, y, X_eval, y_eval, recipe, seed, log=sys.stderr):
    params = {k: v for k, v in recipe.items() if k != "epochs"}
    clf = MLPClassifier(**params, random_state=seed)
    classes = np.unique(y)
    seconds, cpu, curve = 0.0, 0.0, []
    for epoch, rate in enumerate(
        cosine_rates(recipe["learning_rate_init"], recipe["epochs"]), 1
    ):
        clf.set_params(learning_rate_init=rate)
        start, start_cpu = time.perf_counter(), time.process_time()
        clf.partial_fit(X, y, classes=classes)
        seconds += time.perf_counter() - start
        cpu += time.process_time() - start_cpu
        curve.append((epoch, seconds, rate, float(clf.score(X_eval, y_eval)), cpu))
        print("seed", seed, "epoch", *curve[-1], file=log, flush=True)
    return {
        "seed": seed,
        "fit_seconds": seconds,
        "fit_cpu_seconds": cpu,
        "accuracy": curve[-1][3],
        "curve": curve,
    }


def run(quick=False, validation=False, seeds=(0, 1), recipe=RECIPE):
    X, y, X_test, y_test = _mnist.load(10_000 if quick else None)
    if validation:
        n_fit = len(X) * 5 // 6
        X, y, X_test, y_test = X[:n_fit], y[:n_fit], X[n_fit:], y[n_fit:]
    if quick:
        recipe = dict(recipe, epochs=2)
    load_before = os.getloadavg()
    runs = [run_seed(X, y, X_test, y_test, recipe, seed) for seed in seeds]
    return _common.stamped(
        load_before,
        settings={
            "quick": quick,
            "validation": validation,
            "n_train": len(X),
            "n_eval": len(X_test),
            "recipe": recipe,
        },
        runs=runs,
    )


def print_report(report, out=sys.stdout):
    s = report["settings"]
    _common.header(report, out)
    scored = "validation" if s["validation"] else "test"
    for r in report["runs"]:
        print(
            f"seed {r['seed']}: epoch, cumulative fit s, rate, {scored} accuracy, "
            "cumulative fit CPU s",
            file=out,
        )
        for epoch, seconds, rate, accuracy, cpu in r["curve"]:
            print(
                f"  {epoch} {seconds:.1f} {rate:.2e} {accuracy:.4f} {cpu:.1f}", file=out
            )
    print(
        f"| seed | epochs | fit s | fit CPU s | {scored} accuracy | target "
        f"(>= {TARGET_ACCURACY:.1%} in <= {TARGET_SECONDS:.0f} s) |",
        file=out,
    )
    print("|---|---|---|---|---|---|", file=out)
    for r in report["runs"]:
        met = r["accuracy"] >= TARGET_ACCURACY and r["fit_seconds"] <= TARGET_SECONDS
        print(
            f"| {r['seed']} | {len(r['curve'])} | {r['fit_seconds']:.1f} "
            f"| {r['fit_cpu_seconds']:.1f} "
            f"| {r['accuracy']:.4f} | {'met' if met else 'missed'} |",
            file=out,
        )


def _run(args):
    overrides = {
        "hidden_layer_sizes": args.hidden and tuple(args.hidden),
        "dropout": args.dropout,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate_init": args.lr,
    }
    recipe = {**RECIPE, **{k: v for k, v in overrides.items() if v is not None}}
    return run(args.quick, args.validation, tuple(args.seeds), recipe)


if __name__ == "__main__":
    parser = _common.parser(__doc__, threads=2, epochs=None, batch_size=None)
    parser.add_argument("--validation", action="store_true")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--hidden", type=int, nargs="+", help="override the recipe")
    parser.add_argument("--dropout", type=float)
    parser.add_argument("--lr", type=float)
    sys.exit(_common.main(parser, _run, print_report, needs="mnist"))
