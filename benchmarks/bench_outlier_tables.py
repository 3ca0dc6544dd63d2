"""Anomaly detection on real mixed-type tables: ROC AUC, average precision, times.

The ten tables of ``_tables.py`` (``pip install 'skae[bench]'``), ADBench's way
(Han et al., NeurIPS 2022): the rare class is the anomalies, at most 5 % of the
rows, at most ``--max-rows`` rows, a stratified 70 / 30 split (``--protocol
all``: fitted on and scoring all rows). Contenders: ``AutoencoderOutlierDetector``
on the raw frame, the same with 5 % of the training anomalies labelled, and
IsolationForest, LocalOutlierFactor, ``PCA(0.9)`` and PyOD's AutoEncoder (when
installed) on imputed, scaled and one-hot encoded columns. Ranks are per table, on
the metric averaged over the seeds. The protocol and results: docs/benchmarks.md,
"Anomaly detection on real mixed-type tables".

    python benchmarks/bench_outlier_tables.py --seeds 0,1 --json out.json
    python benchmarks/bench_outlier_tables.py --seeds 2,3,4 --json more.json
    python benchmarks/bench_outlier_tables.py --report out.json more.json
    python benchmarks/bench_outlier_tables.py --quick   # hr_attrition, 600 rows
"""

import json
import math
import sys
import time
import traceback
import warnings
from pathlib import Path

import numpy as np
from scipy.stats import rankdata
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.neighbors import LocalOutlierFactor
from sklearn.pipeline import make_pipeline

from skae import AutoencoderOutlierDetector

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import _common  # noqa: E402
import _tables  # noqa: E402

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


def contenders(seed, transductive):
    """name -> (fit(X, labels) -> model, score(model, X) -> anomaly scores)."""
    minus_scores = lambda model, X: -model.score_samples(X)  # noqa: E731
    found = {
        "skae": (
            lambda X, _: AutoencoderOutlierDetector(random_state=seed).fit(X),
            minus_scores,
        ),
        "skae 5 % labelled": (
            lambda X, y: AutoencoderOutlierDetector(random_state=seed).fit(X, y),
            minus_scores,
        ),
        "IsolationForest": (
            lambda X, _: make_pipeline(
                _tables.one_hot(X), IsolationForest(random_state=seed)
            ).fit(X),
            minus_scores,
        ),
        "LocalOutlierFactor": (
            lambda X, _: make_pipeline(
                _tables.one_hot(X), LocalOutlierFactor(novelty=not transductive)
            ).fit(X),
            (lambda model, X: -model[-1].negative_outlier_factor_)
            if transductive
            else minus_scores,
        ),
        "PCA (90 %)": (
            lambda X, _: make_pipeline(
                _tables.one_hot(X), PCA(0.9, svd_solver="full", random_state=seed)
            ).fit(X),
            pca_error,
        ),
    }
    try:
        from pyod.models.auto_encoder import AutoEncoder
    except ImportError:
        print("PyOD AutoEncoder skipped: pip install pyod", file=sys.stderr)
    else:
        found["PyOD AutoEncoder"] = (
            lambda X, _: make_pipeline(
                _tables.one_hot(X),
                AutoEncoder(verbose=0, random_state=seed, device="cpu"),
            ).fit(X),
            lambda model, X: model.decision_function(X),
        )
    return found


def run_one(name, seed, max_rows, transductive):
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
    for contender, (fit, score) in contenders(seed, transductive).items():
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
        print(f"{name} seed {seed} {contender}: {result}", file=sys.stderr, flush=True)
    return rows


def summary(results):
    """Per-contender means and mean ranks over the tables, as markdown."""
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

    ranks = {("auc", c): [] for c in names} | {("ap", c): [] for c in names}
    for metric in ("auc", "ap"):
        for table in tables:
            scored = [(c, mean(metric, table, c)) for c in names]
            scored = [(c, v) for c, v in scored if not math.isnan(v)]
            for (c, _), rank in zip(
                scored, rankdata([-v for _, v in scored]), strict=True
            ):
                ranks[metric, c].append(rank)
    lines = [
        "| contender | mean rank (AUC) | mean rank (AP) | mean ROC AUC | mean AP "
        "| fit s per run | score s per run | failed runs |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in names:
        failed = sum(r["contender"] == c and "error" in r for r in results)
        lines.append(
            f"| {c} | {np.mean(ranks['auc', c]):.2f} | {np.mean(ranks['ap', c]):.2f} "
            f"| {mean('auc', contender=c):.4f} | {mean('ap', contender=c):.4f} "
            f"| {mean('fit_s', contender=c):.2f} | {mean('score_s', contender=c):.3f} "
            f"| {failed} |"
        )
    lines += ["", "ROC AUC per table (mean over the seeds):", ""]
    lines.append("| table | rows (anomalies) | " + " | ".join(names) + " |")
    lines.append("|---" * (len(names) + 2) + "|")
    for table in tables:
        first = next(r for r in results if r["table"] == table)
        cells = [f"{first['rows']} ({first['anomalies']})"]
        cells += [f"{mean('auc', table, c):.3f}" for c in names]
        lines.append(f"| {table} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run(args):
    if args.report:  # runs split over seeds or tables, summarised together
        reports = [json.loads(Path(path).read_text()) for path in args.report]
        for report in reports:
            print(f"settings {report['settings']}")
        print(summary([row for report in reports for row in report["results"]]))
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
        # Categories unseen in the training split are ignored by the one-hot
        # encoder, as asked.
        warnings.filterwarnings("ignore", "Found unknown categories")
        for name in names:
            for seed in seeds:
                results += run_one(name, seed, args.max_rows, args.protocol == "all")
    settings = dict(vars(args), tables=names, seeds=seeds)
    return {"machine": _common.machine(), "settings": settings, "results": results}


def show(report):
    _common.header(report)
    print(summary(report["results"]))
    for row in report["results"]:
        if "traceback" in row:
            print(f"\n{row['table']} seed {row['seed']} {row['contender']}:")
            print(row["traceback"])


if __name__ == "__main__":
    parser = _common.parser(__doc__, threads=1, max_rows=5000)
    parser.add_argument("--tables", help="comma-separated names (default: all)")
    parser.add_argument("--seeds", default="0,1", help="comma-separated seeds")
    parser.add_argument("--protocol", choices=("adbench", "all"), default="adbench")
    parser.add_argument("--report", nargs="+", help="print these JSON reports' table")
    sys.exit(_common.main(parser, run, show, blas=True))
