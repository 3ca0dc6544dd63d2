"""Screen what, appended to a table, helps HistGradientBoosting (issue 24's target).

The protocol of ``bench_tables.py --sections hgb``: 3-fold stratified
cross-validation (shuffled, one split per ``--seeds`` seed), ROC AUC,
``HistGradientBoostingClassifier(categorical_features="from_dtype",
random_state=0)`` on the raw frame (categories as ``category`` dtype), against
the same with extra numeric columns appended, each appender fitted on the
training folds only (``--hgb-params`` changes the booster's parameters, outside
the issue's protocol). Every variant is a JSON object in ``--variants``:

- ``{"append": "noise", "n": 8, "seed": 0}``: ``n`` columns of standard normal
  noise (a control: what any 8 uninformative columns do to the splits);
- ``{"append": "pca", "n": 8}``: ``PCA(n)`` of the one-hot table (median and
  most-frequent imputation, standard scaling of the numbers);
- ``{"append": "codes", "n": 8, "params": {...}}``: the codes of
  ``DenoisingAE(n_components=n, random_state=seed, **params)`` on the raw frame;
- ``{"append": "errors", "params": {...}}``: that autoencoder's per-column scores
  (``score_samples_per_feature``), one column per input column;
- ``{"append": "codes+errors", ...}`` and ``{"append": "score", ...}`` (the
  row's ``score_samples``, one column).

A variant may carry a ``"name"``; the default is its JSON. Prints, per table, the
baseline and each variant's difference in points, then per variant the mean
difference, the worst, and how many tables lose more than 0.2 points.

    OMP_NUM_THREADS=1 python benchmarks/screen_hgb_codes.py --max-rows 5000 \\
        --variants '[{"append": "noise", "seed": 0}, {"append": "pca"}]'
"""

import argparse
import json
import sys
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import PCA
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline

from skae import DenoisingAE

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import _common  # noqa: E402
import _tables  # noqa: E402

LIMIT = 0.2  # points: the most the issue lets appended columns cost on a table
_FITTED = {}


class Append(TransformerMixin, BaseEstimator):
    """The frame with numeric columns appended: noise, PCA or autoencoder output."""

    def __init__(self, append="codes", n=8, params=None, seed=0):
        self.append = append
        self.n = n
        self.params = params
        self.seed = seed

    def fit(self, X, y=None):
        if self.append == "noise":
            return self
        if self.append == "pca":
            self.model_ = make_pipeline(
                _tables.one_hot(X), PCA(self.n, random_state=self.seed)
            ).fit(self._objects(X))
            return self
        params = {"random_state": self.seed, "n_components": self.n}
        params = {**params, **(self.params or {})}
        # Variants that differ only in what they append share one fit.
        key = (json.dumps(params, sort_keys=True), tuple(X.columns))
        key += (hash(X.index.to_numpy().tobytes()),)
        if key not in _FITTED:
            _FITTED[key] = DenoisingAE(**params).fit(X)
        self.model_ = _FITTED[key]
        return self

    @staticmethod
    def _objects(X):
        cats = _tables.categorical_columns(X)
        return X.astype({c: object for c in cats})

    def transform(self, X):
        if self.append == "noise":
            # A generator seeded by the rows' count and index: the same rows get
            # the same noise, training and test rows different noise.
            rng = np.random.default_rng([self.seed, len(X), int(X.index[0])])
            Z = rng.standard_normal((len(X), self.n))
        elif self.append == "pca":
            Z = self.model_.transform(self._objects(X))
        else:
            parts = []
            if "codes" in self.append:
                parts.append(np.asarray(self.model_.transform(X), dtype=float))
            if "errors" in self.append:
                parts.append(self.model_.score_samples_per_feature(X))
            if self.append == "score":
                parts.append(self.model_.score_samples(X)[:, None])
            Z = np.hstack(parts)
        names = [f"extra{i}" for i in range(Z.shape[1])]
        return pd.concat([X, pd.DataFrame(Z, index=X.index, columns=names)], axis=1)


HGB_PARAMS = {}  # --hgb-params: the protocol keeps HistGradientBoosting's defaults


def hgb():
    return HistGradientBoostingClassifier(
        **{"categorical_features": "from_dtype", "random_state": 0, **HGB_PARAMS}
    )


def build(variant, seed):
    if variant is None:
        return hgb()
    kwargs = {k: v for k, v in variant.items() if k != "name"}
    kwargs.setdefault("seed", seed)
    return make_pipeline(Append(**kwargs), hgb())


def cross_validate(variant, X, y, seeds):
    aucs, seconds = [], []
    for seed in seeds:
        folds = StratifiedKFold(3, shuffle=True, random_state=seed)
        for train, test in folds.split(X, y):
            model = build(variant, seed)
            start = time.perf_counter()
            model.fit(X.iloc[train], y[train])
            seconds.append(time.perf_counter() - start)
            aucs.append(roc_auc_score(y[test], model.predict_proba(X.iloc[test])[:, 1]))
    return {"auc": float(np.mean(aucs)), "aucs": aucs, "fit_s": float(np.mean(seconds))}


def load(name, rows):
    X, y = _tables.load_table(name)
    if rows and len(X) > rows:
        X, _, y, _ = train_test_split(X, y, train_size=rows, stratify=y, random_state=0)
        X = X.reset_index(drop=True)
    cats = _tables.categorical_columns(X)
    return X.astype({c: "category" for c in cats}), y


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", help="comma-separated names (default: all)")
    parser.add_argument("--seeds", default="0", help="comma-separated CV seeds")
    parser.add_argument("--variants", required=True, help="JSON list of variants")
    parser.add_argument("--max-rows", type=int, default=5000)
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument(
        "--hgb-params", default="{}", help="HistGradientBoosting params, JSON"
    )
    args = parser.parse_args(argv)
    HGB_PARAMS.update(json.loads(args.hgb_params))
    names = args.tables.split(",") if args.tables else list(_tables.TABLES)
    seeds = [int(s) for s in args.seeds.split(",")]
    variants = json.loads(args.variants)
    labels = [v.get("name", json.dumps(v)) for v in variants]
    print("machine", _common.machine(), "load", _common.loadavg())
    warnings.simplefilter("ignore", ConvergenceWarning)
    results = []
    for name in names:
        start = time.perf_counter()
        X, y = load(name, args.max_rows)
        _FITTED.clear()  # one table at a time: bounded memory
        base = cross_validate(None, X, y, seeds)
        results.append(dict(base, table=name, variant="hgb"))
        line = f"{name}: hgb {base['auc']:.4f}"
        for label, variant in zip(labels, variants, strict=True):
            row = cross_validate(variant, X, y, seeds)
            results.append(dict(row, table=name, variant=label))
            line += f" | {label}: {100 * (row['auc'] - base['auc']):+.2f}"
            line += f" ({row['fit_s']:.1f} s)"
        seconds = time.perf_counter() - start
        print(f"{line} [{seconds:.0f} s, load {_common.loadavg()}]", flush=True)
    auc = {(r["table"], r["variant"]): r["auc"] for r in results}
    for label in labels:
        diffs = np.array([100 * (auc[t, label] - auc[t, "hgb"]) for t in names])
        print(
            f"{label}: mean {diffs.mean():+.2f} points, worst {diffs.min():+.2f}, "
            f"below -{LIMIT} on {int((diffs < -LIMIT).sum())} of {len(names)}"
        )
    if args.json:
        settings = dict(tables=names, seeds=seeds, variants=variants)
        settings["hgb_params"] = HGB_PARAMS
        settings["max_rows"] = args.max_rows
        with open(args.json, "w") as f:
            json.dump(
                {
                    "machine": _common.machine(),
                    "settings": settings,
                    "results": results,
                },
                f,
                indent=2,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
