"""Anomaly detection: skae's detectors against the usual ones, a sub-command a protocol.

- ``mnist``: one-class MNIST, Ruff et al.'s protocol (ICML 2018): for each digit,
  every detector is fitted on the training images of that digit and scores the
  10,000 test images, the other nine digits being the anomalies; mean ROC AUC and
  average precision over the digits, total fit time. Contenders:
  ``AutoencoderOutlierDetector()``, the same with ``error_scaling=None``, the same
  around a Bernoulli ``VariationalAE``, ``PCA(0.9)``, IsolationForest,
  ``LocalOutlierFactor(novelty=True)`` and PyOD's AutoEncoder and VAE (when
  installed); ``--only`` keeps the default and the contenders whose names start
  with one of its prefixes.
- ``semisupervised``: Deep SAD's protocol (Ruff et al., ICLR 2020) on one-class
  splits. For each normal class d, the training half's images of d, polluted with
  unlabelled anomalies at 5 % of the normal count, plus ``ceil(gamma * n_normal)``
  labelled anomalies, gamma in 1 %, 5 % and 10 %; scored on the other half
  (digits, pixels / 16) or the official test set (MNIST, 1,000 training images of
  d, classes 0-2; skipped when MNIST is absent). Mean ROC AUC over the normal
  classes of the detector unsupervised (``fit(X)``), semi-supervised (``fit(X,
  y)``, y = 1 for the labelled anomalies, -1 for the rest) and a supervised
  ``LogisticRegression(max_iter=1000)`` (labelled anomalies 1, the rest 0).
- ``tables``: the ten tables of ``_tables.py`` (``pip install 'skae[bench]'``),
  ADBench's way (Han et al., NeurIPS 2022): the rare class is the anomalies, at
  most 5 % of the rows, at most ``--max-rows`` rows, a stratified 70 / 30 split
  (``--protocol all``: fitted on and scoring all rows). Contenders: the detector
  on the raw frame, the same with 5 % of the training anomalies labelled, and
  IsolationForest, LocalOutlierFactor, ``PCA(0.9)`` and PyOD's AutoEncoder (when
  installed) on imputed, scaled and one-hot encoded columns. Ranks are per table,
  on the metric averaged over the seeds.

The protocols and results: docs/benchmarks.md and the user guide.

    python benchmarks/bench_outlier.py mnist            # ten digits, full training sets
    python benchmarks/bench_outlier.py mnist --quick    # digits 0 and 1, 10,000 images
    python benchmarks/bench_outlier.py mnist --digits 2,8 --only PCA,Local
    python benchmarks/bench_outlier.py semisupervised   # digits 0-9, MNIST 0-2
    python benchmarks/bench_outlier.py tables --seeds 0,1 --json out.json
    python benchmarks/bench_outlier.py tables --seeds 2,3,4 --json more.json
    python benchmarks/bench_outlier.py tables --report out.json more.json
    python benchmarks/bench_outlier.py tables --quick   # hr_attrition, 600 rows
"""

import json
import math
import statistics
import sys
import time
import traceback
import warnings
from pathlib import Path

import _common
import _mnist
import _tables
import numpy as np
from scipy.stats import rankdata
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.neighbors import LocalOutlierFactor
from sklearn.pipeline import make_pipeline

from skae import AutoencoderOutlierDetector, VariationalAE


def log(*parts):
    print(*parts, file=sys.stderr, flush=True)


# ---- mnist: one-class MNIST -------------------------------------------------------


class PCAReconstruction:
    """Minus the reconstruction error of PCA keeping 90 % of the variance."""

    def fit(self, X):
        self.pca_ = PCA(n_components=0.9, random_state=0).fit(X)
        return self

    def score_samples(self, X):
        reconstruction = self.pca_.inverse_transform(self.pca_.transform(X))
        return -np.mean((reconstruction - X) ** 2, axis=1)


class PyODScores:
    """A PyOD detector, minus its decision_function (PyOD: higher is abnormal)."""

    def __init__(self, detector):
        self.detector = detector

    def fit(self, X):
        self.detector.fit(X)
        return self

    def score_samples(self, X):
        return -self.detector.decision_function(X)


def mnist_contenders(quick):
    """Name -> a function building a fresh detector (fit, score_samples)."""
    vae = VariationalAE(
        16,
        hidden_layer_sizes=(256,),
        loss="bce",
        out_activation="logistic",
        max_iter=1 if quick else 10,
    )
    table = {
        "skae default": lambda: AutoencoderOutlierDetector(random_state=0),
        "skae unscaled errors": lambda: AutoencoderOutlierDetector(
            error_scaling=None, random_state=0
        ),
        "skae VariationalAE": lambda: AutoencoderOutlierDetector(vae, random_state=0),
        "PCA (90 % variance)": PCAReconstruction,
        "IsolationForest": lambda: IsolationForest(random_state=0),
        "LocalOutlierFactor": lambda: LocalOutlierFactor(novelty=True),
    }
    try:
        from pyod.models.auto_encoder import AutoEncoder
        from pyod.models.vae import VAE
    except ImportError:
        print("PyOD not installed: its rows are skipped (pip install pyod)")
        return table
    epochs = {"epoch_num": 1} if quick else {}
    table["PyOD AutoEncoder"] = lambda: PyODScores(AutoEncoder(verbose=0, **epochs))
    table["PyOD VAE"] = lambda: PyODScores(VAE(verbose=0, **epochs))
    return table


def run_mnist(args):
    """One-class MNIST: ROC AUC, average precision and fit time per detector."""
    X, y, X_test, y_test = _mnist.load(10_000 if args.quick else None)
    digits = [0, 1] if args.quick else [int(d) for d in args.digits.split(",")]
    builders = mnist_contenders(args.quick)
    if args.only:
        prefixes = ["skae default"] + [p.strip() for p in args.only.split(",")]
        builders = {
            name: build
            for name, build in builders.items()
            if any(name.lower().startswith(p.lower()) for p in prefixes)
        }
    names = list(builders)
    rows = {name: {"auc": [], "ap": [], "fit_s": [], "score_s": []} for name in names}
    # Warm-up: the first fit of a library pays its lazy initialisation.
    for name in names:
        _common.quiet_fit(builders[name](), X[:200]).score_samples(X_test[:10])
    for i, digit in enumerate(digits):
        X_normal, is_anomaly = X[y == digit], y_test != digit
        for name in names[i % len(names) :] + names[: i % len(names)]:
            start = time.perf_counter()
            detector = _common.quiet_fit(builders[name](), X_normal)
            fitted = time.perf_counter()
            score = detector.score_samples(X_test)
            row = rows[name]
            row["score_s"].append(time.perf_counter() - fitted)
            row["fit_s"].append(fitted - start)
            row["auc"].append(roc_auc_score(is_anomaly, -score))
            row["ap"].append(average_precision_score(is_anomaly, -score))
            log(
                f"digit {digit} {name}: AUC {row['auc'][-1]:.4f},",
                f"fit {fitted - start:.1f} s",
            )
        results = {
            name: {
                **row,
                "mean_auc": statistics.mean(row["auc"]),
                "mean_ap": statistics.mean(row["ap"]),
                "total_fit_s": sum(row["fit_s"]),
                "total_score_s": sum(row["score_s"]),
            }
            for name, row in rows.items()
        }
        settings = {"digits": digits[: i + 1], "n_train": len(X)}
        report = _common.report(args, settings, results=results)
        # After every digit, so that an interrupted run keeps what it measured.
        _common.write_json(report, args.json)
    return report


def show_mnist(report):
    results = report["results"]
    columns = ["detector", "mean ROC AUC", "mean AP", "fit time, all digits (s)"]
    _common.table(
        [*columns, "score time (s)", "AUC per digit"],
        [
            [name, f"{row['mean_auc']:.4f}", f"{row['mean_ap']:.4f}"]
            + [f"{row['total_fit_s']:.1f}", f"{row['total_score_s']:.1f}"]
            + [" ".join(f"{auc:.3f}" for auc in row["auc"])]
            for name, row in results.items()
        ],
    )
    default = results["skae default"]
    others = [(r["mean_auc"], n) for n, r in results.items() if n != "skae default"]
    best, name = max(others)
    gap = default["mean_auc"] - best
    print(f"\nskae default against the best other mean AUC ({name}): {gap:+.4f}.")
    if "PyOD AutoEncoder" in results:
        ratio = default["total_fit_s"] / results["PyOD AutoEncoder"]["total_fit_s"]
        print(f"skae default's fit time / PyOD AutoEncoder's: {ratio:.2f}.")


# ---- semisupervised: a few labelled anomalies ---------------------------------------

GAMMAS = (0.01, 0.05, 0.1)
POLLUTION = 0.05
SEMI = ("unsupervised", "semi-supervised", "supervised")


def one_class_split(X, y, normal, n_normal, gamma, seed):
    """Training rows and labels (1 labelled anomaly, -1 the rest) for class d."""
    rng = np.random.RandomState(seed)
    normal_rows = np.flatnonzero(y == normal)
    if n_normal is not None:
        normal_rows = rng.choice(normal_rows, n_normal, replace=False)
    anomaly_pool = rng.permutation(np.flatnonzero(y != normal))
    n_polluted = math.ceil(POLLUTION * len(normal_rows))
    n_labelled = math.ceil(gamma * len(normal_rows))
    polluted = anomaly_pool[:n_polluted]
    labelled = anomaly_pool[n_polluted : n_polluted + n_labelled]
    rows = np.concatenate([normal_rows, polluted, labelled])
    labels = np.full(len(rows), -1)
    labels[len(rows) - n_labelled :] = 1
    order = rng.permutation(len(rows))
    return X[rows[order]], labels[order]


def semi_datasets(quick):
    """``{name: (X, y, X_test, y_test, normal rows per class, normal classes)}``."""
    X, y = load_digits(return_X_y=True)
    X, X_test, y, y_test = train_test_split(
        X / 16, y, test_size=0.5, random_state=0, stratify=y
    )
    data = {"digits": (X, y, X_test, y_test, None, [0, 1] if quick else range(10))}
    reason = _common.missing("mnist")
    if reason and not quick:
        print(reason.replace("skipped: MNIST", "MNIST skipped:"))
    elif not quick:
        data["MNIST"] = (*_mnist.load(), 1_000, [0, 1, 2])
    return data


def run_semisupervised(args):
    """A few labelled anomalies: unsupervised, semi-supervised and supervised."""
    results = {}
    for name, (X, y, X_test, y_test, n_normal, classes) in semi_datasets(
        args.quick
    ).items():
        aucs = {f"{c} {g}": [] for g in GAMMAS for c in SEMI}
        for normal in classes:
            is_anomaly = y_test != normal
            for gamma in GAMMAS:
                X_fit, labels = one_class_split(X, y, normal, n_normal, gamma, seed=0)
                start = time.perf_counter()
                with _common.quiet():
                    unsup = AutoencoderOutlierDetector(random_state=0).fit(X_fit)
                    semi = AutoencoderOutlierDetector(random_state=0).fit(X_fit, labels)
                    clf = LogisticRegression(max_iter=1000).fit(X_fit, labels == 1)
                scores = (
                    unsup.score_samples(X_test),
                    semi.score_samples(X_test),
                    -clf.predict_proba(X_test)[:, 1],
                )
                for contender, score in zip(SEMI, scores, strict=True):
                    aucs[f"{contender} {gamma}"].append(
                        roc_auc_score(is_anomaly, -score)
                    )
                log(
                    f"{name} {normal} gamma {gamma}: "
                    + ", ".join(f"{c} {aucs[f'{c} {gamma}'][-1]:.4f}" for c in SEMI)
                    + f" ({time.perf_counter() - start:.1f} s)"
                )
        results[name] = {"classes": list(classes), "auc": aucs}
    settings = {"gammas": GAMMAS, "pollution": POLLUTION}
    return _common.report(args, settings, results=results)


def show_semisupervised(report):
    columns = ["labelled anomalies (gamma)", "unsupervised", "semi-supervised"]
    columns += ["supervised (LogisticRegression)", "semi - unsupervised"]
    for name, result in report["results"].items():
        print(f"{name} (normal classes {result['classes']}): mean ROC AUC\n")
        rows = []
        for gamma in report["settings"]["gammas"]:
            mean = {c: statistics.mean(result["auc"][f"{c} {gamma}"]) for c in SEMI}
            gain = mean["semi-supervised"] - mean["unsupervised"]
            rows.append([f"{gamma:.0%}", *(f"{mean[c]:.4f}" for c in SEMI)])
            rows[-1].append(f"{gain:+.4f}")
        _common.table(columns, rows)
        print()


# ---- tables: real mixed-type tables -----------------------------------------------

ANOMALY_SHARE = 0.05
LABELLED = 0.05
TEST_SIZE = 0.3


def sample(name, seed, max_rows):
    """The table with at most 5 % anomalies and ``max_rows`` rows."""
    X, y = _tables.load_table(name)
    rng = np.random.RandomState(seed)
    normal, anomalies = np.flatnonzero(y == 0), np.flatnonzero(y == 1)
    n_anomalies = math.floor(ANOMALY_SHARE / (1 - ANOMALY_SHARE) * len(normal))
    if len(anomalies) > n_anomalies:
        anomalies = rng.choice(anomalies, n_anomalies, replace=False)
    rows = np.sort(np.concatenate([normal, anomalies]))
    if len(rows) > max_rows:
        rows, _ = train_test_split(
            rows, train_size=max_rows, stratify=y[rows], random_state=seed
        )
        rows = np.sort(rows)
    return X.iloc[rows].reset_index(drop=True), y[rows]


def pca_error(model, X):
    Z = model[0].transform(X)
    pca = model[-1]
    return ((Z - pca.inverse_transform(pca.transform(Z))) ** 2).sum(axis=1)


def table_contenders(seed, transductive):
    """name -> (fit(X, labels) -> model, score(model, X) -> anomaly scores)."""
    minus_scores = lambda model, X: -model.score_samples(X)  # noqa: E731

    def encoded(detector, *params, **kwargs):
        """Fit a fresh ``detector(*params, **kwargs)`` on the encoded columns."""
        return lambda X, _: make_pipeline(
            _tables.one_hot(X), detector(*params, **kwargs)
        ).fit(X)

    found = {
        "skae": (
            lambda X, _: AutoencoderOutlierDetector(random_state=seed).fit(X),
            minus_scores,
        ),
        "skae 5 % labelled": (
            lambda X, y: AutoencoderOutlierDetector(random_state=seed).fit(X, y),
            minus_scores,
        ),
        "IsolationForest": (encoded(IsolationForest, random_state=seed), minus_scores),
        "LocalOutlierFactor": (
            encoded(LocalOutlierFactor, novelty=not transductive),
            (lambda model, X: -model[-1].negative_outlier_factor_)
            if transductive
            else minus_scores,
        ),
        "PCA (90 %)": (
            encoded(PCA, 0.9, svd_solver="full", random_state=seed),
            pca_error,
        ),
    }
    try:
        from pyod.models.auto_encoder import AutoEncoder
    except ImportError:
        log("PyOD AutoEncoder skipped: pip install pyod")
    else:
        found["PyOD AutoEncoder"] = (
            encoded(AutoEncoder, verbose=0, random_state=seed, device="cpu"),
            lambda model, X: model.decision_function(X),
        )
    return found


def run_table(name, seed, max_rows, transductive):
    X, y = sample(name, seed, max_rows)
    rng = np.random.RandomState(seed)
    if transductive:
        train = test = np.arange(len(y))
    else:
        train, test = train_test_split(
            np.arange(len(y)), test_size=TEST_SIZE, stratify=y, random_state=seed
        )
    X_train, X_test = X.iloc[train], X.iloc[test]
    anomalies = np.flatnonzero(y[train] == 1)
    labels = np.full(len(train), -1)
    n_labelled = max(1, math.ceil(LABELLED * len(anomalies)))
    labelled = rng.choice(anomalies, n_labelled, replace=False)
    labels[labelled] = 1
    # Rows whose label a contender saw count for none (--protocol all).
    keep = np.isin(test, train[labelled], invert=True)
    rows = []
    for contender, (fit, score) in table_contenders(seed, transductive).items():
        row = {"table": name, "seed": seed, "contender": contender}
        row.update(rows=len(y), anomalies=int(y.sum()), train=len(train))
        try:
            start = time.perf_counter()
            model = fit(X_train, labels)
            row["fit_s"] = time.perf_counter() - start
            start = time.perf_counter()
            scores = np.asarray(score(model, X_test), dtype=float)
            row["score_s"] = time.perf_counter() - start
            row["auc"] = roc_auc_score(y[test][keep], scores[keep])
            row["ap"] = average_precision_score(y[test][keep], scores[keep])
        except Exception as exc:  # a contender that cannot take the table
            row["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0][:120]
            row["traceback"] = traceback.format_exc()
        rows.append(row)
        result = row.get("error") or f"AUC {row['auc']:.4f} AP {row['ap']:.4f}"
        log(f"{name} seed {seed} {contender}: {result}")
    return rows


def summary(results):
    """Per-contender means and mean ranks over the tables, then AUC per table."""
    names = list(dict.fromkeys(r["contender"] for r in results))
    tables = list(dict.fromkeys(r["table"] for r in results))
    ok = [r for r in results if "error" not in r]

    def mean(key, table=None, contender=None):
        values = [
            r[key]
            for r in ok
            if table in (None, r["table"]) and contender in (None, r["contender"])
        ]
        return float(np.mean(values)) if values else float("nan")

    ranks = {(metric, c): [] for metric in ("auc", "ap") for c in names}
    for metric in ("auc", "ap"):
        for table in tables:
            scored = [(c, mean(metric, table, c)) for c in names]
            scored = [(c, v) for c, v in scored if not math.isnan(v)]
            for (c, _), rank in zip(
                scored, rankdata([-v for _, v in scored]), strict=True
            ):
                ranks[metric, c].append(rank)
    columns = ["contender", "mean rank (AUC)", "mean rank (AP)", "mean ROC AUC"]
    columns += ["mean AP", "fit s per run", "score s per run", "failed runs"]
    _common.table(
        columns,
        [
            [c, f"{np.mean(ranks['auc', c]):.2f}", f"{np.mean(ranks['ap', c]):.2f}"]
            + [f"{mean('auc', contender=c):.4f}", f"{mean('ap', contender=c):.4f}"]
            + [f"{mean('fit_s', contender=c):.2f}"]
            + [f"{mean('score_s', contender=c):.3f}"]
            + [sum(r["contender"] == c and "error" in r for r in results)]
            for c in names
        ],
    )
    print("\nROC AUC per table (mean over the seeds):\n")
    firsts = {r["table"]: r for r in reversed(results)}
    _common.table(
        ["table", "rows (anomalies)", *names],
        [
            [t, f"{firsts[t]['rows']} ({firsts[t]['anomalies']})"]
            + [f"{mean('auc', t, c):.3f}" for c in names]
            for t in tables
        ],
    )


def run_tables(args):
    """Real mixed-type tables: ranks, ROC AUC, average precision, times."""
    if args.report:  # runs split over seeds or tables, summarised together
        reports = [json.loads(Path(path).read_text()) for path in args.report]
        for report in reports:
            print(f"settings {report['settings']}")
        summary([row for report in reports for row in report["results"]])
        return None
    if reason := _common.missing("tables"):
        print(reason)
        return None
    names = args.tables.split(",") if args.tables else list(_tables.TABLES)
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.quick:
        names = names if args.tables else ["hr_attrition"]
        seeds, args.max_rows = [0], 600
    results = []
    with _common.quiet():
        # Categories unseen in the training split are ignored, as asked.
        warnings.filterwarnings("ignore", "Found unknown categories")
        for name in names:
            for seed in seeds:
                results += run_table(name, seed, args.max_rows, args.protocol == "all")
    settings = dict(vars(args), tables=names, seeds=seeds)
    return {"machine": _common.machine(), "settings": settings, "results": results}


def show_tables(report):
    summary(report["results"])
    for row in report["results"]:
        if "traceback" in row:
            print(f"\n{row['table']} seed {row['seed']} {row['contender']}:")
            print(row["traceback"])


if __name__ == "__main__":
    parser, command = _common.commands(__doc__)
    # 1 thread, torch and BLAS: on a busy machine, more threads wait.
    mnist = command("mnist", run_mnist, show_mnist, needs="mnist", blas=True, threads=1)
    mnist.add_argument("--digits", default="0,1,2,3,4,5,6,7,8,9", help="digits")
    mnist.add_argument(
        "--only", help="prefixes of the contenders to run (skae default always runs)"
    )
    command(
        "semisupervised", run_semisupervised, show_semisupervised, blas=True, threads=1
    )
    tables = command(
        "tables", run_tables, show_tables, blas=True, threads=1, max_rows=5000
    )
    tables.add_argument("--tables", help="comma-separated names (default: all)")
    tables.add_argument("--seeds", default="0,1", help="comma-separated seeds")
    tables.add_argument("--protocol", choices=("adbench", "all"), default="adbench")
    tables.add_argument("--report", nargs="+", help="print these JSON reports' table")
    sys.exit(_common.main(parser))
