"""Imputation on real mixed-type tables: AutoencoderImputer against scikit-learn's.

Eight of the ten tables of ``_tables.py`` (``pip install 'skae[bench]'``), a
seeded subsample of at most 1,000 rows each, with observed cells hidden in
``SETTINGS``: completely at random (``mcar``) and not at random (``mnar``,
self-masking: a number among the largest ``HIGH_SHARE`` of its column, or a
category other than its column's most frequent level, ``HIGH_ODDS`` times
likelier to be hidden). Each contender (``CONTENDERS``, taking turns on every
setting, after one untimed fill each) fills the table; scores: the hidden numbers'
RMSE in each column's standard deviations, the share of hidden categories filled
with another level, and the 3-fold ROC AUC of a logistic regression trained on the
filled table to predict its ``y``; then each imputer's mean rank per score, and
its fit times (fit and transform). The protocol and results: docs/benchmarks.md,
"Imputation on eight real tables".

    OMP_NUM_THREADS=1 python benchmarks/bench_impute.py           # 8 tables
    OMP_NUM_THREADS=1 python benchmarks/bench_impute.py --quick   # 1 table, 20 %
    OMP_NUM_THREADS=1 python benchmarks/bench_impute.py \
        --ae '{"max_iter": 125, "batch_size": 200, "learning_rate_init": 0.001}'
"""

import json
import sys
import time
import warnings

import _common
import _tables
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skae import AutoencoderImputer

TABLES = [
    "credit_data",
    "telco_churn",
    "hr_attrition",
    "mlc_churn",
    "lending_club",
    "hmda",
    "acs_income",
    "nass_crashes",
]
# (pattern, rate) pairs.
SETTINGS = (("mcar", 0.1), ("mcar", 0.2), ("mcar", 0.4), ("mnar", 0.2))
MAX_ROWS = 1000
# MNAR: the share of cells in the "high" group, and how much likelier they are
# to be hidden than the others.
HIGH_SHARE, HIGH_ODDS = 0.3, 3.0


def prepare(name, max_rows, seed):
    """X (numbers float64, categories object) and y, at most max_rows."""
    X, y = _tables.load_table(name)
    if len(X) > max_rows:
        rows = np.random.RandomState(seed).choice(len(X), max_rows, replace=False)
        X, y = X.iloc[rows].reset_index(drop=True), y[rows]
    categorical = _tables.categorical_columns(X)
    for c in X.columns:
        if c in categorical:
            X[c] = pd.Series(
                [None if pd.isna(v) else str(v) for v in X[c]], dtype=object
            )
        else:
            X[c] = X[c].astype(np.float64)
    return X, y, categorical


def high_cells(X, categorical):
    """Boolean (n_samples, n_features): the cells MNAR hides more often.

    A number among the largest ``HIGH_SHARE`` of its column, or a category
    other than its column's most frequent level.
    """
    high = np.zeros(X.shape, dtype=bool)
    for j, c in enumerate(X.columns):
        if c in categorical:
            mode = X[c].mode()
            high[:, j] = X[c].notna() & (X[c] != mode.iloc[0] if len(mode) else True)
        else:
            high[:, j] = X[c] > X[c].quantile(1 - HIGH_SHARE)
    return high


def hide(X, pattern, rate, seed, categorical):
    """X with a share ``rate`` of its observed cells hidden, and their mask."""
    rng = np.random.RandomState(seed)
    p = np.full(X.shape, rate)
    if pattern == "mnar":
        low = 1 / (HIGH_SHARE * HIGH_ODDS + 1 - HIGH_SHARE)
        p = np.where(high_cells(X, categorical), HIGH_ODDS * low, low) * rate
    mask = (rng.rand(*X.shape) < p) & X.notna().to_numpy()
    X_hidden = X.copy()
    for j, c in enumerate(X.columns):
        X_hidden.loc[mask[:, j], c] = None if X[c].dtype == object else np.nan
    return X_hidden, mask


class Encoded:
    """Numbers standardised and categories one-hot, NaN kept, and the way back."""

    def __init__(self, X, categorical):
        self.columns = list(X.columns)
        self.categorical = categorical
        blocks, self.layout = [], []
        for c in self.columns:
            if c in categorical:
                levels = sorted(X[c].dropna().unique())
                block = np.zeros((len(X), len(levels)))
                for k, level in enumerate(levels):
                    block[:, k] = X[c] == level
                block[X[c].isna().to_numpy()] = np.nan
                self.layout.append((c, levels))
            else:
                mean, sd = X[c].mean(), X[c].std() or 1.0
                block = ((X[c].to_numpy() - mean) / sd)[:, None]
                self.layout.append((c, (mean, sd)))
            blocks.append(block)
        self.matrix = np.hstack(blocks)

    def decode(self, matrix):
        out, start = {}, 0
        for c, info in self.layout:
            if c in self.categorical:
                stop = start + len(info)
                out[c] = np.asarray(info, dtype=object)[
                    matrix[:, start:stop].argmax(axis=1)
                ]
            else:
                stop = start + 1
                out[c] = matrix[:, start] * info[1] + info[0]
            start = stop
        return pd.DataFrame(out)


def mean_imputer(X, categorical, seed):
    numeric = [c for c in X.columns if c not in categorical]
    imputer = ColumnTransformer(
        [
            ("num", SimpleImputer(strategy="mean"), numeric),
            # The categories' missing cells are None (SimpleImputer's NaN
            # would not match them).
            (
                "cat",
                SimpleImputer(missing_values=None, strategy="most_frequent"),
                categorical,
            ),
        ]
    )
    filled = imputer.fit_transform(X)
    return pd.DataFrame(filled, columns=numeric + categorical)[list(X.columns)]


def encoded_imputer(make):
    def impute(X, categorical, seed):
        encoded = Encoded(X, categorical)
        return encoded.decode(make(seed).fit_transform(encoded.matrix))

    return impute


CONTENDERS = {
    "mean": mean_imputer,
    "knn": encoded_imputer(lambda seed: KNNImputer(n_neighbors=5)),
    "iter": encoded_imputer(
        lambda seed: IterativeImputer(max_iter=10, random_state=seed)
    ),
    "iter_rf": encoded_imputer(
        lambda seed: IterativeImputer(
            estimator=RandomForestRegressor(
                n_estimators=10, max_depth=10, n_jobs=1, random_state=seed
            ),
            max_iter=3,
            random_state=seed,
        )
    ),
    "ae": lambda X, categorical, seed: AutoencoderImputer(
        random_state=seed, **AE_PARAMS
    ).fit_transform(X),
}
# AutoencoderImputer's parameters besides random_state (--ae).
AE_PARAMS = {}


def errors(X, filled, mask, categorical):
    squared, wrong, n_numeric, n_categorical = 0.0, 0, 0, 0
    for j, c in enumerate(X.columns):
        m = mask[:, j]
        if not m.any():
            continue
        truth = X[c].to_numpy()[m]
        guess = filled[c].to_numpy()[m]
        if c in categorical:
            wrong += int(np.sum(truth != guess))
            n_categorical += int(m.sum())
        else:
            sd = X[c].std() or 1.0
            squared += float(np.sum(((guess.astype(float) - truth) / sd) ** 2))
            n_numeric += int(m.sum())
    rmse = np.sqrt(squared / n_numeric) if n_numeric else np.nan
    return rmse, wrong / n_categorical if n_categorical else np.nan


def downstream_auc(filled, y, categorical, seed):
    """3-fold CV ROC AUC of a logistic regression on the filled table."""
    numeric = [c for c in filled.columns if c not in categorical]
    frame = filled.copy()
    frame[numeric] = frame[numeric].astype(np.float64)
    frame[categorical] = frame[categorical].astype(str)
    model = make_pipeline(
        ColumnTransformer(
            [
                ("num", StandardScaler(), numeric),
                ("cat", OneHotEncoder(handle_unknown="ignore"), categorical),
            ]
        ),
        LogisticRegression(max_iter=1000),
    )
    folds = StratifiedKFold(3, shuffle=True, random_state=seed)
    return float(cross_val_score(model, frame, y, cv=folds, scoring="roc_auc").mean())


def mean_ranks(rows):
    """Per imputer: mean rank per score over the settings, and fit times."""
    frame = pd.DataFrame(rows)
    keys = ["table", "pattern", "rate"]
    ranks = pd.DataFrame(index=frame.index)
    for score, ascending in (("rmse", True), ("wrong", True), ("auc", False)):
        ranks[score] = frame.groupby(keys)[score].rank(ascending=ascending)
    ranks["imputer"] = frame["imputer"]
    summary = ranks.groupby("imputer", sort=False).mean()
    summary["mean"] = summary[["rmse", "wrong", "auc"]].mean(axis=1)
    times = frame.groupby("imputer", sort=False)["fit_s"]
    summary["fit_s_median"] = times.median()
    summary["fit_s_total"] = times.sum()
    return summary


def run(args):
    AE_PARAMS.update(json.loads(args.ae))
    names = args.tables.split(",") if args.tables else TABLES
    settings = SETTINGS
    if args.settings:
        pairs = (pair.split(":") for pair in args.settings.split(","))
        settings = [(pattern, float(rate)) for pattern, rate in pairs]
    max_rows = MAX_ROWS
    if args.quick:
        names, settings, max_rows = names[:1], (("mcar", 0.2),), 500
    # One untimed fill by each contender (one-off costs of a first fit).
    X, _, categorical = prepare(names[0], min(max_rows, 200), args.seed)
    X_hidden, _ = hide(X, "mcar", 0.2, args.seed, categorical)
    warnings.simplefilter("ignore", ConvergenceWarning)
    for impute in CONTENDERS.values():
        impute(X_hidden, categorical, args.seed)
    rows = []
    for name in names:
        X, y, categorical = prepare(name, max_rows, args.seed)
        for pattern, rate in settings:
            X_hidden, mask = hide(X, pattern, rate, args.seed, categorical)
            for contender, impute in CONTENDERS.items():
                start = time.perf_counter()
                filled = impute(X_hidden, categorical, args.seed)
                seconds = time.perf_counter() - start
                rmse, wrong = errors(X, filled, mask, categorical)
                auc = downstream_auc(filled, y, categorical, args.seed)
                rows.append(dict(table=name, pattern=pattern, rate=rate))
                rows[-1].update(imputer=contender, rmse=rmse, wrong=wrong, auc=auc)
                rows[-1]["fit_s"] = seconds
                print(
                    f"{name} {pattern} {rate:.0%} {contender}: rmse {rmse:.3f}, "
                    f"wrong {wrong:.3f}, auc {auc:.3f}, {seconds:.1f} s",
                    file=sys.stderr,
                    flush=True,
                )
    return _common.report(
        args,
        {"seed": args.seed, "ae_params": AE_PARAMS, "max_rows": max_rows},
        rows=rows,
        mean_ranks=mean_ranks(rows).reset_index().to_dict(orient="records"),
    )


def show(report):
    rows = report["rows"]
    print(f"\nmean rank over {len(rows) // len(CONTENDERS)} settings (1 is best)\n")
    columns = ["imputer", "rmse", "wrong", "auc", "mean"]
    _common.table(
        [*columns, "fit_s median", "total"],
        [
            [r["imputer"]]
            + [f"{r[c]:.2f}" for c in columns[1:]]
            + [f"{r['fit_s_median']:.2f}", f"{r['fit_s_total']:.1f}"]
            for r in report["mean_ranks"]
        ],
    )
    times = pd.DataFrame(rows).pivot_table(
        index="table", columns="imputer", values="fit_s", aggfunc="sum", sort=False
    )[list(CONTENDERS)]
    print("\nfit s per table (its settings together), and iter_rf / ae\n")
    _common.table(
        ["table", *CONTENDERS, "iter_rf / ae"],
        [
            [name]
            + [f"{t[c]:.2f}" for c in CONTENDERS]
            + [f"{t['iter_rf'] / t['ae']:.1f}"]
            for name, t in times.iterrows()
        ],
    )


if __name__ == "__main__":
    parser = _common.parser(__doc__, seed=0)
    parser.add_argument("--tables", help="comma-separated names")
    parser.add_argument("--settings", help="pattern:rate pairs, e.g. mcar:0.2,mnar:0.2")
    parser.add_argument(
        "--ae", default="{}", help="AutoencoderImputer's parameters, JSON"
    )
    sys.exit(_common.main(parser, run, show, needs="tables"))
