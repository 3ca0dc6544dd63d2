"""DenoisingAE codes against PCA's as features, on numeric data and real tables.

- ``numeric``: the design card's pipeline, everything but the code size at its
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
- ``tables``: the ten tables of ``_tables.py`` (``pip install 'skae[bench]'``);
  each score is the ROC AUC of 3-fold stratified cross-validation (one shuffled
  split per ``--seeds`` seed), every model fitted on the training folds only.
  Section ``lr``, for k in (2, 4, 8): a LogisticRegression(max_iter=1000) on the
  codes of ``pca`` (median imputation and scaling of the numbers, most-frequent
  imputation and one-hot encoding of the categories, then PCA(k)) or of ``dae``
  (``DenoisingAE(n_components=k)`` on the raw frame). Section ``hgb``:
  HistGradientBoostingClassifier(categorical_features="from_dtype") on the raw
  frame, against the same with the codes of ``DenoisingAE(n_components=8)``
  appended as numeric columns. Each section counts the contender's wins, ties
  (|difference| < 0.001) and losses per k; ``--params`` passes DenoisingAE
  parameters as JSON, for screening defaults.

    python benchmarks/bench_pca.py numeric            # every dataset, MNIST included
    python benchmarks/bench_pca.py numeric --quick    # digits only
    python benchmarks/bench_pca.py numeric --datasets breast_cancer wine --cv 3
    python benchmarks/bench_pca.py tables             # all tables, seed 0
    python benchmarks/bench_pca.py tables --sections hgb
    python benchmarks/bench_pca.py tables --quick     # 3 tables, 1,500 rows, k=2
"""

import json
import sys
import time
import warnings

import _common
import _mnist
import _tables
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_wine,
    make_classification,
)
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import (
    RepeatedStratifiedKFold,
    StratifiedKFold,
    train_test_split,
)
from sklearn.pipeline import make_pipeline
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


# ---- tables: real mixed-type tables --------------------------------------------------

TIE = 0.001


class Append(TransformerMixin, BaseEstimator):
    """The frame with the codes of ``DenoisingAE(n_components=n, **params)``
    appended as numeric columns (the removed screen ``screen_hgb_codes.py``
    appended other things too; the development notes run it at be792b0)."""

    def __init__(self, n=8, params=None, seed=0):
        self.n = n
        self.params = params
        self.seed = seed

    def fit(self, X, y=None):
        params = {"random_state": self.seed, "n_components": self.n}
        self.model_ = DenoisingAE(**{**params, **(self.params or {})}).fit(X)
        return self

    def transform(self, X):
        Z = np.asarray(self.model_.transform(X), dtype=float)
        names = [f"extra{i}" for i in range(Z.shape[1])]
        return pd.concat([X, pd.DataFrame(Z, index=X.index, columns=names)], axis=1)


def as_categories(X):
    """``X`` with its non-numeric columns as ``category`` dtype, for the booster."""
    return X.astype({c: "category" for c in _tables.categorical_columns(X)})


def cross_validate(build, X, y, seeds):
    """Mean ROC AUC of 3-fold stratified cross-validation, one shuffled split per
    seed, a fresh ``build(seed)`` a fold; the mean fit seconds."""
    aucs, seconds = [], []
    for seed in seeds:
        folds = StratifiedKFold(3, shuffle=True, random_state=seed)
        for train, test in folds.split(X, y):
            model = build(seed)
            start = time.perf_counter()
            model.fit(X.iloc[train], y[train])
            seconds.append(time.perf_counter() - start)
            aucs.append(roc_auc_score(y[test], model.predict_proba(X.iloc[test])[:, 1]))
    return {"auc": float(np.mean(aucs)), "aucs": aucs, "fit_s": float(np.mean(seconds))}


def contenders(section, X, k, params):
    """``{method: build(seed)}`` of a section, at code size ``k``."""
    if section == "lr":
        return {
            "pca": lambda seed: make_pipeline(
                _tables.one_hot(X),
                PCA(k, random_state=seed),
                LogisticRegression(max_iter=1000),
            ),
            "dae": lambda seed: make_pipeline(
                DenoisingAE(**{"n_components": k, "random_state": seed, **params}),
                LogisticRegression(max_iter=1000),
            ),
        }
    return {
        "hgb": lambda seed: _tables.hgb(),
        "hgb+dae8": lambda seed: make_pipeline(Append(8, params, seed), _tables.hgb()),
    }


def run_tables(args):
    """Real mixed-type tables: DenoisingAE codes against PCA codes and raw boosting."""
    names = args.tables.split(",") if args.tables else list(_tables.TABLES)
    names = names[:3] if args.quick and not args.tables else names
    ks = (2,) if args.quick else (2, 4, 8)
    seeds = [int(s) for s in args.seeds.split(",")]
    params, sections = json.loads(args.params), args.sections.split(",")
    warnings.simplefilter("ignore", ConvergenceWarning)
    results = []
    for name in names:
        start = time.perf_counter()
        X, y = _tables.load_table(name, 1500 if args.quick else args.max_rows)
        for section in sections:
            frame = X if section == "lr" else as_categories(X)
            for k in ks if section == "lr" else (8,):
                for method, build in contenders(section, X, k, params).items():
                    try:
                        row = cross_validate(build, frame, y, seeds)
                    except Exception as exc:  # a contender that cannot take the frame
                        row = {"error": f"{type(exc).__name__}: {exc}".splitlines()[0]}
                        row["error"] = row["error"][:80]
                    results.append(dict(row, table=name, section=section, k=k))
                    results[-1]["method"] = method
        seconds = time.perf_counter() - start
        print(f"{name}: {len(X)} rows, {seconds:.1f} s", file=sys.stderr)
    settings = dict(tables=names, ks=ks, seeds=seeds, params=params, sections=sections)
    return _common.report(args, settings, max_rows=args.max_rows, results=results)


def show_tables(report):
    sections = {"lr": ("pca", "dae"), "hgb": ("hgb", "hgb+dae8")}
    for section in report["settings"]["sections"]:
        show_section(report["results"], section, *sections[section])


def show_section(results, section, base, other):
    rows = [r for r in results if r["section"] == section]
    print(f"\n{section}: {other} against {base} (ROC AUC, fit s per fold)")
    cell = {(r["table"], r["k"], r["method"]): r for r in rows}
    lines, tally = [], {}
    for table, k in dict.fromkeys((r["table"], r["k"]) for r in rows):
        a, b = cell[table, k, base], cell[table, k, other]
        line = [table, k, f"{a['auc']:.4f}", f"{a['fit_s']:.2f}"]
        if "error" in b:
            lines.append([*line, f"n/a (error: {b['error']})", "", ""])
            continue
        diff = b["auc"] - a["auc"]
        won = "tie" if abs(diff) < TIE else ("win" if diff > 0 else "loss")
        tally.setdefault(k, []).append((won, a["auc"], b["auc"]))
        lines.append([*line, f"{b['auc']:.4f}", f"{diff:+.4f}", f"{b['fit_s']:.2f}"])
    columns = ["table", "k", base, f"fit s {base}", other, "diff", f"fit s {other}"]
    _common.table(columns, lines)
    for k in dict.fromkeys(r["k"] for r in rows):
        mean = np.mean([r["auc"] for r in rows if (r["k"], r["method"]) == (k, base)])
        line = f"k={k}: mean {base} {mean:.4f} over all tables"
        if k in tally:
            won = [sum(w == kind for w, _, _ in tally[k]) for kind in ("win", "tie")]
            won.append(len(tally[k]) - sum(won))
            means = np.mean([r[1:] for r in tally[k]], axis=0)
            line += (
                f"; {other} wins/ties/losses {'/'.join(map(str, won))}, "
                f"mean over those {base} {means[0]:.4f}, {other} {means[1]:.4f}"
            )
        print(line)


if __name__ == "__main__":
    parser, command = _common.commands(__doc__)
    numeric = command("numeric", run_numeric, None)
    numeric.add_argument(
        "--datasets", nargs="+", choices=sorted(CODE_SIZES), metavar="NAME"
    )
    numeric.add_argument("--seeds", type=int, nargs="+", default=[0])
    numeric.add_argument(
        "--params",
        type=json.loads,
        default={},
        help="DenoisingAE parameters other than the defaults, as JSON, for screens: "
        "'{\"noise_level\": 0.3}'",
    )
    numeric.add_argument(
        "--cv",
        type=int,
        metavar="R",
        help="mean over R repeats of stratified 5-fold cross-validation (not MNIST)",
    )
    tables = command("tables", run_tables, show_tables, needs="tables")
    tables.add_argument("--tables", help="comma-separated names (default: all)")
    tables.add_argument("--seeds", default="0", help="comma-separated CV seeds")
    tables.add_argument("--params", default="{}", help="DenoisingAE params, JSON")
    tables.add_argument("--sections", default="lr,hgb", help="lr, hgb or both")
    tables.add_argument("--max-rows", type=int, help="subsample larger tables")
    sys.exit(_common.main(parser))
