"""Fit and 1-row predict time on small problems against scikit-learn, CPU.

- ``digits``: the digits (pixels / 16), no early stop on either side.
  ``classifier``: ``MLPClassifier((100,))`` against scikit-learn's, and a plain
  PyTorch loop at 1 and 2 threads; ``autoencoder``: the demo's ``DenoisingAE(8,
  hidden_layer_sizes=(128,))`` against ``MLPRegressor((128, 8, 128))`` fitting X
  to X; scikit-learn also under ``threadpool_limits(1)``; 1-row ``predict``,
  ``predict_proba`` and ``transform`` (against ``predict``), skae at torch's
  threads and at one. A ``quiet`` phase, then a ``busy`` one beside
  ``--burners`` CPU-bound processes; every contender once a round, in a new
  random order.
- ``sparse``: a synthetic CSR matrix shaped like TF-IDF text features (``--rows``
  documents over ``--features`` terms, ``--density`` of the entries non-zero,
  term counts from a Zipf-like law, log-scaled, rows scaled to unit L2 norm; 5
  classes from a sparse linear model of the terms). Both sides train the same
  ``MLPClassifier((100,))`` on the CSR matrix: scikit-learn multiplies the
  sparse batch by its dense weights, skae densifies one batch at a time
  (``skae.nn.data.SparseRows``); skae also fits the matrix made dense
  beforehand, for reference. ``--repeats`` rounds in a new random order each, on
  the machine as it is.

The protocols and results: docs/benchmarks.md, "Small problems and busy
machines" and "Fit time on sparse input".

    python benchmarks/bench_small_data.py digits          # 100 epochs, 5 rounds a phase
    python benchmarks/bench_small_data.py digits --quick  # 500 rows, 2 epochs, 1 round
    python benchmarks/bench_small_data.py sparse          # 3,000 x 15,000 at 0.5 %
    python benchmarks/bench_small_data.py sparse --quick  # 1,000 x 10,000, 3 epochs
"""

import statistics
import sys
import time

import _common
import numpy as np
import scipy.sparse as sp
import torch
from sklearn.datasets import load_digits
from sklearn.neural_network import MLPClassifier as SklearnClassifier
from sklearn.neural_network import MLPRegressor as SklearnRegressor
from threadpoolctl import threadpool_limits
from torch import nn

from skae import DenoisingAE, MLPClassifier

SOLVER = {
    "solver": "adam",
    "learning_rate_init": 1e-3,
    "batch_size": 200,
    "alpha": 1e-4,
    "tol": 0.0,
}
SKLEARN = "scikit-learn"
SKAE_1 = "skae, torch.set_num_threads(1)"
CALL_SECONDS = 2.0


# --------------------------------------------------------------------- contenders


def skae_classifier(X, y, epochs):
    clf = MLPClassifier(
        (100,), max_iter=epochs, n_iter_no_change=epochs, random_state=0, **SOLVER
    )
    return _common.quiet_fit(clf, X, y)


def sklearn_classifier(X, y, epochs):
    clf = SklearnClassifier(
        hidden_layer_sizes=(100,),
        max_iter=epochs,
        n_iter_no_change=epochs,
        random_state=0,
        **SOLVER,
    )
    return _common.quiet_fit(clf, X, y)


def plain_classifier(X, y, epochs, threads):
    """The hand-written loop, at ``threads`` torch threads."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(64, 100), nn.ReLU(), nn.Linear(100, 10))
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        loss_fn = nn.CrossEntropyLoss()
        Xt = torch.from_numpy(X.astype(np.float32))
        yt = torch.from_numpy(y.astype(np.int64))
        for _ in range(epochs):
            order = torch.randperm(len(Xt))
            for start in range(0, len(Xt), 200):
                idx = order[start : start + 200]
                optimizer.zero_grad()
                loss_fn(model(Xt[idx]), yt[idx]).backward()
                optimizer.step()
        return model
    finally:
        torch.set_num_threads(before)


def skae_autoencoder(X, y, epochs):
    dae = DenoisingAE(
        8,
        hidden_layer_sizes=(128,),
        consistency=0,  # the objective of the documented runs
        max_iter=epochs,
        n_iter_no_change=epochs,
        random_state=0,
        **SOLVER,
    )
    return _common.quiet_fit(dae, X)


def sklearn_autoencoder(X, y, epochs):
    reg = SklearnRegressor(
        hidden_layer_sizes=(128, 8, 128),
        max_iter=epochs,
        n_iter_no_change=epochs,
        random_state=0,
        **SOLVER,
    )
    return _common.quiet_fit(reg, X, X)


def _one_blas_thread(fit):
    def fit_one(X, y, epochs):
        with threadpool_limits(1, user_api="blas"):
            return fit(X, y, epochs)

    return fit_one


SKLEARN_1 = "scikit-learn, 1 BLAS thread"
FIT_CASES = {
    "classifier": {
        "skae": skae_classifier,
        SKLEARN: sklearn_classifier,
        SKLEARN_1: _one_blas_thread(sklearn_classifier),
        "plain torch loop, 1 thread": lambda X, y, e: plain_classifier(X, y, e, 1),
        "plain torch loop, 2 threads": lambda X, y, e: plain_classifier(X, y, e, 2),
    },
    "autoencoder": {
        "skae": skae_autoencoder,
        SKLEARN: sklearn_autoencoder,
        SKLEARN_1: _one_blas_thread(sklearn_autoencoder),
    },
}


# ------------------------------------------------------------------------ harness


def fit_times(X, y, epochs, repeats, seed, skip=()):
    out = {}
    for case, contenders in FIT_CASES.items():
        contenders = {k: v for k, v in contenders.items() if k not in skip}

        def measure(fit):
            start = time.perf_counter()
            fit(X, y, epochs)
            return time.perf_counter() - start

        out[case] = _common.alternate(
            contenders, repeats, seed=seed, measure=measure, warmup=False
        )
    return out


def predict_times(models, row, calls, repeats, seed):
    """Median seconds of one ``predict(row)`` call, over ``calls`` calls a round."""
    out = {}
    for case, contenders in models.items():

        def measure(contender):
            method, threads = contender
            before = torch.get_num_threads()
            torch.set_num_threads(threads or before)
            try:
                times = []
                deadline = time.perf_counter() + CALL_SECONDS
                # On a busy machine a call can take milliseconds: a round stops
                # after CALL_SECONDS (and at least 20 calls).
                while len(times) < calls and (
                    len(times) < 20 or time.perf_counter() < deadline
                ):
                    start = time.perf_counter()
                    method(row)
                    times.append(time.perf_counter() - start)
            finally:
                torch.set_num_threads(before)
            return statistics.median(times)

        out[case] = _common.alternate(
            contenders, repeats, seed=seed, measure=measure, warmup=False
        )
    return out


def run_digits(args):
    """Fit and 1-row predict time on the digits, quiet and busy."""
    quick, repeats, epochs, calls = args.quick, args.repeats, args.epochs, args.calls
    n_burners, skip = args.burners, args.skip
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    if quick:  # a smoke run, fast even on a busy machine
        X, y = X[:500], y[:500]
    # Untimed warm-up: the first torch optimiser imports torch._dynamo, the first
    # fits start thread pools.
    for contenders in FIT_CASES.values():
        for fit in contenders.values():
            fit(X[:400], y[:400], 1)
    clf = skae_classifier(X, y, 2)
    sk_clf = sklearn_classifier(X, y, 2)
    dae = skae_autoencoder(X, y, 2)
    sk_reg = sklearn_autoencoder(X, y, 2)
    # (method, torch threads for the calls: None keeps torch's default)
    models = {
        "classifier predict": {
            "skae": (clf.predict, None),
            SKAE_1: (clf.predict, 1),
            SKLEARN: (sk_clf.predict, None),
        },
        "classifier predict_proba": {
            "skae": (clf.predict_proba, None),
            SKAE_1: (clf.predict_proba, 1),
            SKLEARN: (sk_clf.predict_proba, None),
        },
        "autoencoder transform / predict": {
            "skae": (dae.transform, None),
            SKAE_1: (dae.transform, 1),
            SKLEARN: (sk_reg.predict, None),
        },
    }
    # skae's thread choice for these models (its rule, applied to the fitted ones).
    from skae._threads import _one_thread

    skae_threads = {
        case: 1 if _one_thread(est.net_.module_, 200) else torch.get_num_threads()
        for case, est in {"classifier": clf, "autoencoder": dae}.items()
    }
    phases = {}
    for phase, n in {"quiet": 0, "busy": n_burners}.items():
        with _common.busy(n):
            load_start = _common.loads()
            fits = fit_times(X, y, epochs, repeats, len(phases), skip)
            preds = predict_times(models, X[:1], calls, repeats, seed=len(phases))
            phases[phase] = {
                "burners": n,
                "load_start": load_start,
                "load_end": _common.loads(),
                "fit": {c: _common.compare(t, SKLEARN) for c, t in fits.items()},
                "predict": {c: _common.compare(t, SKLEARN) for c, t in preds.items()},
            }
    settings = {"epochs": epochs, "predict_calls": calls, "burners": n_burners}
    return _common.report(
        args,
        {**settings, "skipped": list(skip)},
        skae_torch_threads=skae_threads,
        phases=phases,
    )


def show_digits(report):
    print(f"skae's torch threads {report['skae_torch_threads']}")
    for phase, p in report["phases"].items():
        print(
            f"{phase}: {p['burners']} burners, load average {p['load_start']} at "
            f"the start, {p['load_end']} at the end"
        )
    phases = report["phases"]

    def timed(kind, scale, digits):
        return [
            [phase, case, name, f"{row['median_s'] * scale:.{digits}f}"]
            + [f"{row['ratio']:.3f}", f"{row['paired_ratio']:.3f}"]
            for phase, p in phases.items()
            for case, rows in p[kind].items()
            for name, row in rows.items()
        ]

    ratios = ["ratio to scikit-learn", "median paired ratio"]
    print()
    _common.table(
        ["phase", "case", "contender", "median fit s", *ratios], timed("fit", 1, 3)
    )
    print()
    quiet, busy = phases["quiet"]["fit"], phases["busy"]["fit"]
    _common.table(
        ["case", "contender", "quiet median fit s", "busy median fit s"]
        + ["slowdown busy / quiet"],
        [
            [case, name, f"{q:.3f}", f"{b:.3f}", f"{b / q:.3f}"]
            for case, rows in quiet.items()
            for name, row in rows.items()
            for q, b in [(row["median_s"], busy[case][name]["median_s"])]
        ],
    )
    print()
    columns = ["phase", "case", "contender", "median µs per 1-row call", *ratios]
    _common.table(columns, timed("predict", 1e6, 1))


# ---- sparse: TF-IDF-like input -----------------------------------------------------


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


def run_sparse(args):
    """Fit time on sparse (TF-IDF-like) input against scikit-learn's MLP."""
    repeats, epochs = args.repeats, args.epochs
    rows, features, density = args.rows, args.features, args.density
    X, y = tfidf_like(rows, features, density)
    X_dense = X.toarray()
    contenders = {
        "skae, CSR": lambda: skae_classifier(X, y, epochs),
        SKLEARN + ", CSR": lambda: sklearn_classifier(X, y, epochs),
        "skae, the same matrix dense": lambda: skae_classifier(X_dense, y, epochs),
    }
    skae_classifier(X[:400], y[:400], 1)  # warm-up: the first optimiser, thread pools
    sklearn_classifier(X[:400], y[:400], 1)
    accuracy = {}

    def measure(fit):
        start = time.perf_counter()
        model = fit()
        seconds = time.perf_counter() - start
        accuracy[fit] = model.score(X, y)
        return seconds

    load_start = _common.loads()
    times = _common.alternate(contenders, repeats, measure=measure, warmup=False)
    load_end = _common.loads()
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


def show_sparse(report):
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
    parser, command = _common.commands(__doc__)
    digits = command(
        "digits",
        run_digits,
        show_digits,
        repeats=(1, 5),
        epochs=(2, 100),
        calls=(50, 2000),
        burners=2,
    )
    digits.add_argument(
        "--skip",
        action="append",
        default=[],
        help="a fit contender to leave out (repeatable), e.g. 'plain torch loop, "
        "2 threads', which takes minutes a fit on a busy machine",
    )
    sparse = command(
        "sparse",
        run_sparse,
        show_sparse,
        repeats=(2, 5),
        epochs=(3, 20),
        rows=(1_000, 3_000),
        features=(10_000, 15_000),
    )
    sparse.add_argument("--density", type=float, default=0.005)
    sys.exit(_common.main(parser))
