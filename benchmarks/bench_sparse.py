"""Fit time on sparse (TF-IDF-like) input against scikit-learn's MLP, CPU.

A synthetic CSR matrix shaped like TF-IDF text features: ``--rows`` documents
over ``--features`` terms, ``--density`` of the entries non-zero (term counts
drawn from a Zipf-like law, log-scaled, rows scaled to unit L2 norm), and 5
classes from a sparse linear model of the terms. Both sides train an
``MLPClassifier((100,))`` on the same CSR matrix: Adam at 1e-3, batches of 200,
``alpha=1e-4``, no early stop (``tol=0``, ``n_iter_no_change=max_iter``).
scikit-learn multiplies the sparse batch by its dense weights; skae densifies
one batch at a time (``skae.nn.data.SparseRows``). For reference, skae also fits
the same matrix made dense beforehand (what a user could do when it fits in
memory).

Contenders run ``--repeats`` rounds, in a new random order each round, on the
machine as it is (no burners); the table gives medians, the ratio of medians to
scikit-learn's and the median per-round ratio, with the load average at the
start and the end.

    python benchmarks/bench_sparse.py            # 3,000 x 15,000 at 0.5 %, 20 epochs
    python benchmarks/bench_sparse.py --quick    # 1,000 x 10,000, 3 epochs
"""

import sys
import time

import _common
import numpy as np
import scipy.sparse as sp
from bench_small_data import SKLEARN, _load
from bench_small_data import skae_classifier as skae_fit
from bench_small_data import sklearn_classifier as sklearn_fit


def tfidf_like(n_rows, n_features, density, n_classes=5, seed=0):
    """A CSR matrix shaped like TF-IDF features, and class labels from it."""
    rng = np.random.RandomState(seed)
    nnz_per_row = max(1, round(density * n_features))
    # Frequent terms are shared by many documents: a Zipf-like choice of columns.
    weights = 1.0 / np.arange(1, n_features + 1) ** 0.7
    weights /= weights.sum()
    indices = np.concatenate(
        [
            np.sort(rng.choice(n_features, nnz_per_row, replace=False, p=weights))
            for _ in range(n_rows)
        ]
    )
    counts = rng.zipf(2.0, size=n_rows * nnz_per_row).clip(max=50)
    data = 1.0 + np.log(counts)
    indptr = np.arange(0, n_rows * nnz_per_row + 1, nnz_per_row)
    X = sp.csr_matrix((data, indices, indptr), shape=(n_rows, n_features))
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    X = sp.diags(1.0 / norms) @ X
    coef = sp.random(n_features, n_classes, density=0.05, random_state=rng).toarray()
    y = np.asarray(X @ coef).argmax(axis=1)
    return X.tocsr(), y


def run(args):
    repeats, epochs = args.repeats, args.epochs
    rows, features, density = args.rows, args.features, args.density
    X, y = tfidf_like(rows, features, density)
    X_dense = X.toarray()
    contenders = {
        "skae, CSR": lambda: skae_fit(X, y, epochs),
        SKLEARN + ", CSR": lambda: sklearn_fit(X, y, epochs),
        "skae, the same matrix dense": lambda: skae_fit(X_dense, y, epochs),
    }
    skae_fit(X[:400], y[:400], 1)  # warm-up: the first optimiser, thread pools
    sklearn_fit(X[:400], y[:400], 1)
    accuracy = {}

    def measure(fit):
        start = time.perf_counter()
        model = fit()
        seconds = time.perf_counter() - start
        accuracy[fit] = model.score(X, y)
        return seconds

    load_start = _load()
    times = _common.alternate(contenders, repeats, measure=measure, warmup=False)
    load_end = _load()
    summary = _common.compare(times, SKLEARN + ", CSR")
    for name, fit in contenders.items():
        summary[name]["train_accuracy"] = accuracy[fit]
    settings = {"epochs": epochs, "rows": rows, "features": features}
    return _common.report(
        args,
        {**settings, "density": density, "nnz": int(X.nnz)},
        load_start=load_start,
        load_end=load_end,
        results=summary,
    )


def show(report):
    _common.header(report)
    print()
    columns = ["contender", "median fit s", "ratio to scikit-learn"]
    _common.table(
        [*columns, "median paired ratio", "training accuracy"],
        [
            [name, f"{r['median_s']:.3f}", f"{r['ratio']:.3f}"]
            + [f"{r['paired_ratio']:.3f}", f"{r['train_accuracy']:.4f}"]
            for name, r in report["results"].items()
        ],
    )


if __name__ == "__main__":
    parser = _common.parser(
        __doc__,
        repeats=(2, 5),
        epochs=(3, 20),
        rows=(1_000, 3_000),
        features=(10_000, 15_000),
    )
    parser.add_argument("--density", type=float, default=0.005)
    sys.exit(_common.main(parser, run, show))
