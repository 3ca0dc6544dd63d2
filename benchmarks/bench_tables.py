"""Real mixed-type tables: DenoisingAE codes against PCA's, and appended to boosting.

The ten tables of ``_tables.py`` (``pip install 'skae[bench]'``);
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

    python benchmarks/bench_tables.py             # all tables, seed 0
    python benchmarks/bench_tables.py --sections hgb
    python benchmarks/bench_tables.py --quick     # 3 tables, 1,500 rows, k=2
"""

import json
import sys
import time
import warnings

import _common
import _tables
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline

from skae import DenoisingAE

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
    parser = _common.parser(__doc__)
    parser.add_argument("--tables", help="comma-separated names (default: all)")
    parser.add_argument("--seeds", default="0", help="comma-separated CV seeds")
    parser.add_argument("--params", default="{}", help="DenoisingAE params, JSON")
    parser.add_argument("--sections", default="lr,hgb", help="lr, hgb or both")
    parser.add_argument("--max-rows", type=int, help="subsample larger tables")
    sys.exit(_common.main(parser, run_tables, show_tables, needs="tables"))
