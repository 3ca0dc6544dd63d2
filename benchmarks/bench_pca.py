"""DenoisingAE codes against PCA's as features, on numeric data.

The design card's pipeline, everything but the code size at its
default, ``Pipeline([StandardScaler(), DenoisingAE(n_components=k),
LogisticRegression()])`` against the same with ``PCA(k)``, test accuracy on:
digits (the demo's 70/30 stratified split, k in {8, 16, 32}); breast_cancer
and wine (70/30 stratified, k in {2, 4, 8}); synthetic (``make_classification``:
3,000 samples, 40 features, 10 informative, 5 classes; 70/30, k in {4, 8,
16}); mnist (the official split, k in {10, 30, 64}; skipped without the .npz).
The steps run one by one, so that the DAE's fit time (wall clock and CPU) is its
own. Each fit is seeded (random_state=0); ``--seeds`` repeats the DAE over
several seeds. ``--cv R`` scores instead by R repeats of stratified 5-fold
cross-validation on the whole dataset, the mean over the 5R folds (a test row
of the 171 in breast_cancer's split is 0.6 points).

    python benchmarks/bench_pca.py            # every dataset, MNIST included
    python benchmarks/bench_pca.py --quick    # digits only
    python benchmarks/bench_pca.py --datasets breast_cancer wine --cv 3
"""

import json
import sys
import time

import _common
import _mnist
import numpy as np
from sklearn.base import clone
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_wine,
    make_classification,
)
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import (
    RepeatedStratifiedKFold,
    train_test_split,
)
from sklearn.preprocessing import StandardScaler

from skae import DenoisingAE

# ---- numeric: digits, two bundled tables, a synthetic set, MNIST ---------------------

CODE_SIZES = {
    "digits": (8, 16, 32),
    "breast_cancer": (2, 4, 8),
    "wine": (2, 4, 8),
    "synthetic": (4, 8, 16),
    "mnist": (10, 30, 64),
}


def splits(name, cv=None, seed=0):
    """The (X_train, X_test, y_train, y_test) to score on: one split, or cv's folds."""
    if not cv:
        return [load(name)]
    X_train, X_test, y_train, y_test = load(name)
    X, y = np.concatenate([X_train, X_test]), np.concatenate([y_train, y_test])
    folds = RepeatedStratifiedKFold(n_splits=5, n_repeats=cv, random_state=seed)
    return [(X[a], X[b], y[a], y[b]) for a, b in folds.split(X, y)]


def load(name):
    """(X_train, X_test, y_train, y_test) of one dataset."""
    if name == "mnist":
        X_train, y_train, X_test, y_test = _mnist.load()
        return X_train, X_test, y_train, y_test
    if name == "synthetic":
        X, y = make_classification(
            n_samples=3000,
            n_features=40,
            n_informative=10,
            n_redundant=10,
            n_classes=5,
            random_state=0,
        )
    else:
        loader = {
            "digits": load_digits,
            "breast_cancer": load_breast_cancer,
            "wine": load_wine,
        }[name]
        X, y = loader(return_X_y=True)
    return train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)


class _Timed:
    """Wrap a transformer's fit to time it (wall clock and CPU) inside a pipeline."""

    def __init__(self, reducer):
        self.reducer = reducer
        self.wall = self.cpu = None

    def fit_transform(self, X, y=None):
        wall, cpu = time.perf_counter(), time.process_time()
        self.reducer.fit(X)
        self.wall = time.perf_counter() - wall
        self.cpu = time.process_time() - cpu
        return self.reducer.transform(X)

    def transform(self, X):
        return self.reducer.transform(X)


def score(reducer, data):
    """Test accuracy of StandardScaler -> reducer -> LogisticRegression."""
    X_train, X_test, y_train, y_test = data
    scaler = StandardScaler().fit(X_train)
    timed = _Timed(reducer)
    Z_train = timed.fit_transform(scaler.transform(X_train))
    clf = LogisticRegression(max_iter=3000).fit(Z_train, y_train)
    accuracy = clf.score(timed.transform(scaler.transform(X_test)), y_test)
    return accuracy, timed.wall, timed.cpu


def mean_score(reducer, folds):
    """score() of a clone of ``reducer`` on each of ``folds``: the means, the epochs."""
    results, epochs = [], []
    for data in folds:
        reducer = clone(reducer)
        results.append(score(reducer, data))
        epochs.append(getattr(reducer, "n_iter_", 0))
    accuracy, wall, cpu = (
        float(np.mean(column)) for column in zip(*results, strict=True)
    )
    return accuracy, wall, cpu, int(np.median(epochs))


def run_numeric(args):
    """DenoisingAE with its defaults against PCA on numeric datasets."""
    datasets = args.datasets or (
        ["digits"] if args.quick else ["digits", "breast_cancer", "wine", "synthetic"]
    )
    if not args.datasets and not args.quick:
        skipped = _common.missing("mnist")
        if skipped:
            print(skipped)
        else:
            datasets.append("mnist")
    if args.cv and "mnist" in datasets:
        sys.exit("--cv is not for MNIST: its official split is the protocol")
    seeds, params, cv = args.seeds, args.params, args.cv
    report = _common.report(args, {"params": params, "cv": cv})
    _common.header(report)
    print(
        "| dataset | k | seed | PCA accuracy | DAE accuracy | DAE - PCA, points "
        "| DAE fit s | DAE fit CPU s | epochs |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    rows = []
    for name in datasets:
        for k in CODE_SIZES[name]:
            folds = splits(name, cv, seeds[0])
            pca = mean_score(PCA(k, random_state=0), folds)[0]
            for seed in seeds:
                accuracy, wall, cpu, epochs = mean_score(
                    DenoisingAE(n_components=k, random_state=seed, **params),
                    folds,
                )
                row = {
                    "dataset": name,
                    "n_train": len(folds[0][0]),
                    "folds": len(folds),
                    "k": k,
                    "seed": seed,
                    "pca": pca,
                    "dae": accuracy,
                    "margin_points": 100 * (accuracy - pca),
                    "dae_fit_s": wall,
                    "dae_fit_cpu_s": cpu,
                    "epochs": epochs,
                }
                rows.append(row)
                print(
                    f"| {name} | {k} | {seed} | {pca:.4f} | {accuracy:.4f} | "
                    f"{row['margin_points']:+.2f} | {wall:.1f} | {cpu:.1f} | "
                    f"{epochs} |",
                    flush=True,
                )
    return {**report, "rows": rows}


if __name__ == "__main__":
    parser = _common.parser(__doc__)
    parser.add_argument(
        "--datasets", nargs="+", choices=sorted(CODE_SIZES), metavar="NAME"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument(
        "--params",
        type=json.loads,
        default={},
        help="DenoisingAE parameters other than the defaults, as JSON, for screens: "
        "'{\"noise_level\": 0.3}'",
    )
    parser.add_argument(
        "--cv",
        type=int,
        metavar="R",
        help="mean over R repeats of stratified 5-fold cross-validation (not MNIST)",
    )
    sys.exit(_common.main(parser, run_numeric, None))
