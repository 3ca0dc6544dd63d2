"""The default outlier detector's hidden width, screened on small data sets.

``AutoencoderOutlierDetector()`` with its default network at other hidden widths
(``--widths``, each a DenoisingAE built as the default builds it), and PCA
keeping 90 % of the variance, on:

- scikit-learn's digits (pixels / 16), breast_cancer and wine (min-max scaled or
  standardised, the scaler fitted on the training rows): one class normal at a
  time, the detector fitted on that class's rows of a stratified half (seeds
  ``--seeds``) and scoring the whole other half, the other classes being the
  anomalies; mean ROC AUC over classes and seeds;
- ``tables``: the ten mixed-type tables of bench_outlier_tables.py (ADBench's
  split, anomalies unmarked in the training rows; seeds ``--seeds``), the
  detectors only (no PCA);
- ``mnist``: bench_outlier.py's one-class protocol (all training images of a
  digit, the 10,000 test images), with ``--pollution`` (a share of the digit's
  count) of training images of the other digits added unmarked, drawn with each
  seed (which also seeds the detector): a polluted training set.

The results: docs/benchmarks.md, "Development notes: how the default's score was
chosen (issue 28)".

    python benchmarks/bench_outlier_widths.py --data digits --seeds 0,1,2,3,4,5,6,7,8
    python benchmarks/bench_outlier_widths.py --data bc-minmax,wine-std --widths 128,256
    python benchmarks/bench_outlier_widths.py --data tables --seeds 0,1
    python benchmarks/bench_outlier_widths.py --data mnist --pollution 0.05 --seeds 0
    python benchmarks/bench_outlier_widths.py --quick   # digits, seed 0
"""

import math
import sys
import time

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.decomposition import PCA
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from skae import AutoencoderOutlierDetector, DenoisingAE

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import _common  # noqa: E402

SCALERS = {"minmax": MinMaxScaler, "std": StandardScaler}


def detector(width, n_samples, seed):
    """The default detector, its hidden layer ``width`` units wide."""
    return AutoencoderOutlierDetector(
        DenoisingAE(
            n_components=32,
            hidden_layer_sizes=(width,),
            code_activation="relu",
            noise="gaussian",
            noise_level=0.1,
            loss="mse",
            consistency=0.0,
            max_iter=int(np.clip(100_000 // max(n_samples, 1), 10, 200)),
        ),
        random_state=seed,
    )


def pca_scores(X_train, X_test):
    pca = PCA(n_components=0.9, random_state=0).fit(X_train)
    return -np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2, 1)


def load(name):
    if name == "digits":
        X, y = load_digits(return_X_y=True)
        return X / 16, y, None
    data, scaling = name.split("-")
    loader = {"bc": load_breast_cancer, "wine": load_wine}[data]
    X, y = loader(return_X_y=True)
    return X, y, SCALERS[scaling]


def one_class(name, widths, seeds):
    """{contender: [AUC per seed and class]} on a scikit-learn data set."""
    X, y, scaler = load(name)
    classes = np.unique(y)
    aucs = {f"hidden {w}": [] for w in widths} | {"PCA (90 %)": []}
    for seed in seeds:
        X_a, X_b, y_a, y_b = train_test_split(
            X, y, test_size=0.5, random_state=seed, stratify=y
        )
        for c in classes:
            X_train, X_test = X_a[y_a == c], X_b
            if scaler is not None:
                fitted = scaler().fit(X_train)
                X_train, X_test = fitted.transform(X_train), fitted.transform(X_test)
            is_anomaly = y_b != c
            for w in widths:
                model = _common.quiet_fit(detector(w, len(X_train), 0), X_train)
                scores = model.score_samples(X_test)
                aucs[f"hidden {w}"].append(roc_auc_score(is_anomaly, -scores))
            scores = pca_scores(X_train, X_test)
            aucs["PCA (90 %)"].append(roc_auc_score(is_anomaly, -scores))
        done = {k: f"{np.mean(v[-len(classes) :]):.4f}" for k, v in aucs.items()}
        print(f"{name} seed {seed}: {done}", file=sys.stderr, flush=True)
    return aucs


def mnist(widths, seeds, pollution):
    """{contender: [AUC per seed and digit]} on one-class MNIST, maybe polluted."""
    import _mnist
    from bench_outlier import PCAReconstruction

    X, y, X_test, y_test = _mnist.load()
    aucs = {f"hidden {w}": [] for w in widths} | {"PCA (90 %)": []}
    for seed in seeds:
        for digit in range(10):
            rng = np.random.RandomState(seed)
            normal = np.flatnonzero(y == digit)
            n_other = math.ceil(pollution * len(normal))
            other = rng.permutation(np.flatnonzero(y != digit))[:n_other]
            X_train = X[np.concatenate([normal, other])]
            is_anomaly = y_test != digit
            for w in widths:
                model = detector(w, len(X_train), seed)
                scores = _common.quiet_fit(model, X_train).score_samples(X_test)
                aucs[f"hidden {w}"].append(roc_auc_score(is_anomaly, -scores))
            scores = PCAReconstruction().fit(X_train).score_samples(X_test)
            aucs["PCA (90 %)"].append(roc_auc_score(is_anomaly, -scores))
            done = {k: f"{v[-1]:.4f}" for k, v in aucs.items()}
            print(
                f"mnist seed {seed} digit {digit}: {done}", file=sys.stderr, flush=True
            )
    return aucs


def tables(widths, seeds):
    """{contender: [AUC per table and seed]} on bench_outlier_tables' split."""
    import _tables
    import bench_outlier_tables

    aucs = {f"hidden {w}": [] for w in widths}
    for table in _tables.TABLES:
        for seed in seeds:
            X, y = bench_outlier_tables.sample(table, seed, 5000)
            train, test = train_test_split(
                np.arange(len(y)),
                test_size=bench_outlier_tables.TEST_SIZE,
                stratify=y,
                random_state=seed,
            )
            for w in widths:
                model = detector(w, len(train), seed)
                model = _common.quiet_fit(model, X.iloc[train])
                scores = model.score_samples(X.iloc[test])
                aucs[f"hidden {w}"].append(roc_auc_score(y[test], -scores))
            done = {k: f"{v[-1]:.4f}" for k, v in aucs.items()}
            print(f"{table} seed {seed}: {done}", file=sys.stderr, flush=True)
    return {"tables": list(_tables.TABLES), **aucs}


def run(args):
    widths = [int(w) for w in args.widths.split(",")]
    seeds = [0] if args.quick else [int(s) for s in args.seeds.split(",")]
    names = ["digits"] if args.quick else args.data.split(",")
    start = time.perf_counter()
    results = {}
    for name in names:
        if name == "mnist":
            if reason := _common.missing("mnist"):
                print(reason)
                continue
            results[name] = mnist(widths, seeds, args.pollution)
        elif name == "tables":
            if reason := _common.missing("tables"):
                print(reason)
                continue
            results[name] = tables(widths, seeds)
        else:
            results[name] = one_class(name, widths, seeds)
    return {
        "machine": _common.machine(),
        "settings": {
            "data": names,
            "widths": widths,
            "seeds": seeds,
            "pollution": args.pollution,
        },
        "load_end": _common.loadavg(),
        "seconds": time.perf_counter() - start,
        "results": results,
    }


def show(report):
    _common.header(report)
    results = report["results"]
    keys = list(dict.fromkeys(k for a in results.values() for k in a if k != "tables"))
    rows = [
        [name] + [f"{np.mean(aucs[k]):.4f}" if k in aucs else "" for k in keys]
        for name, aucs in results.items()
    ]
    print("Mean ROC AUC:\n")
    _common.table(["data set"] + keys, rows)
    if "tables" in results:
        aucs = results["tables"]
        n_seeds = len(report["settings"]["seeds"])
        keys = [k for k in aucs if k != "tables"]
        print("\nROC AUC per table (mean over the seeds):\n")
        rows = [
            [table]
            + [f"{np.mean(aucs[k][i * n_seeds : (i + 1) * n_seeds]):.3f}" for k in keys]
            for i, table in enumerate(aucs["tables"])
        ]
        _common.table(["table"] + keys, rows)


if __name__ == "__main__":
    parser = _common.parser(__doc__, threads=1)
    parser.add_argument(
        "--data",
        default="digits",
        help="comma-separated: digits, "
        "bc-minmax, bc-std, wine-minmax, wine-std, tables, mnist",
    )
    parser.add_argument("--widths", default="128,256", help="hidden widths")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    parser.add_argument(
        "--pollution",
        type=float,
        default=0.0,
        help="mnist: other digits' training images added, as a share of the digit's",
    )
    sys.exit(_common.main(parser, run, show, blas=True))
