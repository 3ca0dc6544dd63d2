"""Regression guard: skae's fit time as ratios to a plain loop and scikit-learn.

Three cases, each timed in this process, contenders alternated, median of
``--repeats`` rounds after one untimed warm-up call each:

- ``seed``: the seed MNIST recipe (``bench_cpu.py denormals``) against the same
  steps in a plain PyTorch loop with denormals flushed (needs MNIST);
- ``dae``: a one-layer denoising autoencoder on 5,000 MNIST images against the
  same steps in a plain loop (``bench_training.py seed``; needs MNIST);
- ``small``: the 100-unit classifier and the 128-unit autoencoder on digits
  against scikit-learn's MLPs (``bench_small_data.py digits``).

A ratio is skae's median over the other's. The thresholds are generous (a
busy 2-core machine moves a ratio by 20 to 30 %) but below the 1.6x that
unflushed denormals cost. Writes the ratios as JSON (``--json``) and exits 1
when one passes its threshold.

    python benchmarks/bench_check.py --json bench_check.json
"""

import sys

import _common
import bench_cpu
import bench_small_data
import bench_training
from _mnist import load, mnist_path
from sklearn.datasets import load_digits

# skae's median over the other's, at most.
THRESHOLDS = {
    "seed: skae / plain loop, flush": 1.35,
    "dae: skae / plain loop": 1.5,
    "small classifier: skae / scikit-learn": 2.0,
    "small autoencoder: skae / scikit-learn": 2.0,
}


def cases():
    """``{case: (skae's fit, the other's fit)}``, the data bound in."""
    out = {}
    if mnist_path() is not None:
        Xm, ym, _, _ = load(bench_cpu.N_TRAIN)
        out["seed: skae / plain loop, flush"] = (
            lambda: bench_cpu.skae_fit(Xm, ym),
            lambda: bench_cpu.plain_loop(Xm, ym, flush=True),
        )
        out["dae: skae / plain loop"] = (
            lambda: bench_training.skae_dae(Xm[:5000], 2),
            lambda: bench_training.plain_dae(Xm[:5000], 2),
        )
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype("float32")
    small = bench_small_data
    for case, skae_fit, other_fit in [
        ("classifier", small.skae_classifier, small.sklearn_classifier),
        ("autoencoder", small.skae_autoencoder, small.sklearn_autoencoder),
    ]:
        out[f"small {case}: skae / scikit-learn"] = (
            lambda fit=skae_fit: fit(X, y, 20),
            lambda fit=other_fit: fit(X, y, 20),
        )
    return out


def run(args):
    """Measure every case that this machine has the data for."""
    results = {}
    load_before = _common.loadavg()
    for case, (skae_fit, other_fit) in cases().items():
        times = _common.alternate({"skae": skae_fit, "other": other_fit}, args.repeats)
        r = _common.compare(times, "other")
        results[case] = {
            "skae_s": r["skae"]["median_s"],
            "other_s": r["other"]["median_s"],
            "ratio": r["skae"]["ratio"],
            "threshold": THRESHOLDS[case],
            "passed": r["skae"]["ratio"] <= THRESHOLDS[case],
        }
    return _common.report(
        args, load_before=load_before, load_after=_common.loadavg(), results=results
    )


def show(report):
    """The table; exit status 1 when a ratio passed its threshold."""
    _common.table(
        ["case", "skae s", "other s", "ratio", "threshold"],
        [
            [case, f"{r['skae_s']:.2f}", f"{r['other_s']:.2f}", f"{r['ratio']:.2f}"]
            + [f"{r['threshold']}{'' if r['passed'] else ' FAILED'}"]
            for case, r in report["results"].items()
        ],
    )
    return 0 if all(r["passed"] for r in report["results"].values()) else 1


if __name__ == "__main__":
    sys.exit(_common.main(_common.parser(__doc__, repeats=3), run, show))
