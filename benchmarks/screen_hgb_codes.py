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

import json
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import _common  # noqa: E402
import _tables  # noqa: E402
from bench_tables import FITTED, Append, as_categories, cross_validate  # noqa: E402

LIMIT = 0.2  # points: the most the issue lets appended columns cost on a table


def builder(variant, hgb_params):
    """``build(seed)``: the booster, after the variant's appender (None: alone)."""
    if variant is None:
        return lambda seed: _tables.hgb(**hgb_params)
    kwargs = {k: v for k, v in variant.items() if k != "name"}
    return lambda seed: make_pipeline(
        Append(**{"seed": seed, **kwargs}), _tables.hgb(**hgb_params)
    )


def run(args):
    names = args.tables.split(",") if args.tables else list(_tables.TABLES)
    seeds = [int(s) for s in args.seeds.split(",")]
    variants, hgb_params = json.loads(args.variants), json.loads(args.hgb_params)
    labels = [v.get("name", json.dumps(v)) for v in variants]
    print("machine", _common.machine(), "load", _common.loadavg())
    warnings.simplefilter("ignore", ConvergenceWarning)
    results = []
    for name in names:
        start = time.perf_counter()
        X, y = _tables.load_table(name, args.max_rows)
        X = as_categories(X)
        FITTED.clear()  # one table at a time: bounded memory
        base = cross_validate(builder(None, hgb_params), X, y, seeds)
        results.append(dict(base, table=name, variant="hgb"))
        line = f"{name}: hgb {base['auc']:.4f}"
        for label, variant in zip(labels, variants, strict=True):
            row = cross_validate(builder(variant, hgb_params), X, y, seeds)
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
    settings = dict(tables=names, seeds=seeds, variants=variants)
    settings.update(hgb_params=hgb_params, max_rows=args.max_rows)
    return _common.report(args, settings, results=results)


if __name__ == "__main__":
    parser = _common.parser(__doc__, max_rows=5000)
    parser.add_argument("--tables", help="comma-separated names (default: all)")
    parser.add_argument("--seeds", default="0", help="comma-separated CV seeds")
    parser.add_argument("--variants", required=True, help="JSON list of variants")
    parser.add_argument("--hgb-params", default="{}", help="booster params, JSON")
    sys.exit(_common.main(parser, run, lambda report: None, needs="tables"))
