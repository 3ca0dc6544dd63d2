"""Fingerprint every estimator's training: a check that a refactor changed no bit.

Fits each public estimator in the configurations that exercise the training
loop's branches (early stopping, partial_fit sequences, warm starts, sample
weights, sparse input, learning-rate schedules, L-BFGS, pretraining) on small
seeded data, and writes ``loss_curve_``, ``n_iter_``, ``validation_scores_`` and
a hash of the weights and outputs to a JSON file. Run it before and after a
change to the training machinery, on the same machine and thread count, and
compare::

    OMP_NUM_THREADS=1 python benchmarks/fingerprint_training.py before.json
    # ... change the code ...
    OMP_NUM_THREADS=1 python benchmarks/fingerprint_training.py after.json
    python benchmarks/fingerprint_training.py --compare before.json after.json

The numbers are not portable (CPU, thread count and library versions change the
bits); only the comparison on one machine means anything.
"""

import argparse
import hashlib
import json
import sys
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from skae import (
    Autoencoder,
    AutoencoderOutlierDetector,
    ConvAE,
    DenoisingAE,
    MLPClassifier,
    MLPRegressor,
    VariationalAE,
)


def _data():
    X, y = load_digits(return_X_y=True)
    X = X[:300] / 16.0
    y = y[:300]
    rng = np.random.RandomState(0)
    w = rng.uniform(0.2, 2.0, size=len(X))
    return X, y, w


def _hash(est, X):
    h = hashlib.sha256()
    for key, value in sorted(est.net_.module_.state_dict().items()):
        h.update(key.encode())
        h.update(value.detach().cpu().numpy().tobytes())
    for method in ("predict_proba", "predict", "transform", "score_samples"):
        if hasattr(est, method):
            h.update(np.ascontiguousarray(getattr(est, method)(X)).tobytes())
    return h.hexdigest()


def _record(est, X):
    scores = getattr(est, "validation_scores_", None)
    return {
        "n_iter": int(est.n_iter_),
        "loss_curve": [float(v) for v in est.loss_curve_],
        "validation_scores": None if scores is None else [float(s) for s in scores],
        "t": int(getattr(est, "t_", -1)),
        "hash": _hash(est, X),
    }


def _cases():
    X, y, w = _data()
    Xs = sp.csr_matrix(np.where(X > 0.5, X, 0.0))
    yr = X[:, :3].sum(axis=1)
    ae = {"n_components": 8, "hidden_layer_sizes": (16,), "random_state": 0}
    mlp = {"hidden_layer_sizes": (16,), "random_state": 0}

    def fit(est, *args, **kwargs):
        return lambda: (est.fit(*args, **kwargs), X if not sp.issparse(args[0]) else Xs)

    def partial(est, *args, n=3, **kwargs):
        def run():
            for _ in range(n):
                est.partial_fit(*args, **kwargs)
            return est, X

        return run

    def warm(est, *args):
        def run():
            est.fit(*args)
            est.set_params(max_iter=3)
            est.fit(*args)
            return est, X

        return run

    return {
        "ae": fit(Autoencoder(max_iter=15, **ae), X),
        "ae_early": fit(Autoencoder(max_iter=40, early_stopping=True, **ae), X),
        "ae_weighted": fit(Autoencoder(max_iter=10, **ae), X, sample_weight=w),
        "ae_early_weighted": fit(
            Autoencoder(max_iter=20, early_stopping=True, **ae), X, sample_weight=w
        ),
        "ae_sparse": fit(Autoencoder(max_iter=8, **ae), Xs),
        "ae_partial": partial(Autoencoder(**ae), X),
        "ae_warm": warm(Autoencoder(max_iter=5, warm_start=True, **ae), X),
        "ae_auto": fit(Autoencoder(max_iter="auto", **ae), X[:100]),
        "ae_tol_stop": fit(Autoencoder(max_iter=200, tol=1e-2, **ae), X),
        "ae_pretrain": fit(
            Autoencoder(
                n_components=4,
                hidden_layer_sizes=(16,),
                pretrain_max_iter=3,
                max_iter=4,
                random_state=0,
            ),
            X,
        ),
        "dae": fit(DenoisingAE(max_iter=10, **ae), X),
        "dae_gauss_sgd": fit(
            DenoisingAE(max_iter=10, noise="gaussian", solver="sgd", **ae), X
        ),
        "conv": fit(ConvAE(channels=(4,), max_iter=4, random_state=0), X),
        "vae": fit(
            VariationalAE(
                n_components=2, hidden_layer_sizes=(16,), max_iter=8, random_state=0
            ),
            X,
        ),
        "vae_early": fit(
            VariationalAE(
                n_components=2,
                hidden_layer_sizes=(16,),
                max_iter=15,
                early_stopping=True,
                random_state=0,
            ),
            X,
        ),
        "clf": fit(MLPClassifier(max_iter=15, **mlp), X, y),
        "clf_dropout_adagrad": fit(
            MLPClassifier(max_iter=10, dropout=0.2, solver="adagrad", **mlp), X, y
        ),
        "clf_early": fit(MLPClassifier(max_iter=60, early_stopping=True, **mlp), X, y),
        "clf_adaptive": fit(
            MLPClassifier(
                max_iter=80,
                solver="sgd",
                learning_rate="adaptive",
                n_iter_no_change=2,
                tol=1e-2,
                **mlp,
            ),
            X,
            y,
        ),
        "clf_invscaling": fit(
            MLPClassifier(
                max_iter=10,
                solver="sgd",
                learning_rate="invscaling",
                learning_rate_init=0.1,
                **mlp,
            ),
            X,
            y,
        ),
        "clf_weighted": fit(MLPClassifier(max_iter=10, **mlp), X, y, sample_weight=w),
        "clf_class_weight": fit(
            MLPClassifier(max_iter=10, class_weight="balanced", **mlp), X, y
        ),
        "clf_partial": partial(MLPClassifier(**mlp), X, y, classes=np.unique(y), n=3),
        "clf_warm": warm(MLPClassifier(max_iter=5, warm_start=True, **mlp), X, y),
        "clf_sparse": fit(MLPClassifier(max_iter=8, **mlp), Xs, y),
        "clf_lbfgs": fit(MLPClassifier(max_iter=30, solver="lbfgs", **mlp), X, y),
        "clf_lbfgs_weighted": fit(
            MLPClassifier(max_iter=30, solver="lbfgs", **mlp), X, y, sample_weight=w
        ),
        "clf_semi": fit(
            MLPClassifier(max_iter=5, **mlp), X, np.where(np.arange(300) % 3, y, -1)
        ),
        "clf_encoder": fit(
            MLPClassifier(
                max_iter=5,
                encoder=Autoencoder(
                    n_components=16, hidden_layer_sizes=(), max_iter=3, random_state=0
                ),
                hidden_layer_sizes=(16,),
                random_state=0,
            ),
            X,
            y,
        ),
        "reg": fit(MLPRegressor(max_iter=15, **mlp), X, yr),
        "reg_early": fit(MLPRegressor(max_iter=40, early_stopping=True, **mlp), X, yr),
        "reg_lbfgs": fit(MLPRegressor(max_iter=30, solver="lbfgs", **mlp), X, yr),
        "reg_partial": partial(MLPRegressor(**mlp), X, yr),
        "outlier": fit(
            AutoencoderOutlierDetector(
                Autoencoder(n_components=4, hidden_layer_sizes=(16,), max_iter=8),
                random_state=0,
            ),
            X,
        ),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", help="JSON file to write")
    parser.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args(argv)
    if args.compare:
        before, after = (json.load(open(path)) for path in args.compare)
        differ = sorted(
            k for k in before.keys() | after.keys() if before.get(k) != after.get(k)
        )
        for key in differ:
            print(f"DIFFERENT: {key}")
        print(f"{len(before) - len(differ)} of {len(before)} cases identical")
        return 1 if differ else 0
    results = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for name, run in _cases().items():
            est, X = run()
            target = est.estimator_ if hasattr(est, "estimator_") else est
            results[name] = _record(target, X)
            print(name, results[name]["n_iter"], results[name]["hash"][:12], flush=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
