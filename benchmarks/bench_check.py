"""Regression guard: skae's fit time as ratios to a plain loop and scikit-learn.

Three cases, each timed in this process, contenders alternated, median of
``--repeats`` rounds after one untimed warm-up call each:

- ``seed``: the seed MNIST recipe (``bench_denormals.py``) against the same
  steps in a plain PyTorch loop with denormals flushed (needs MNIST);
- ``dae``: a one-layer denoising autoencoder on 5,000 MNIST images against the
  same steps in a plain loop (``bench_training.py``; needs MNIST);
- ``small``: the 100-unit classifier and the 128-unit autoencoder on digits
  against scikit-learn's MLPs (``bench_small_data.py``).

A ratio is skae's median over the other's. The thresholds are generous (a
busy 2-core machine moves a ratio by 20 to 30 %) but below the 1.6x that
unflushed denormals cost. Writes the ratios as JSON (``--json``) and exits 1
when one passes its threshold.

    python benchmarks/bench_check.py --json bench_check.json
"""

import argparse
import json
import statistics
import sys
import time

import torch

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import _common  # noqa: E402
import bench_denormals  # noqa: E402
import bench_small_data  # noqa: E402
import bench_training  # noqa: E402
from _mnist import load, mnist_path  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

# skae's median over the other's, at most.
THRESHOLDS = {
    "seed: skae / plain loop, flush": 1.35,
    "dae: skae / plain loop": 1.5,
    "small classifier: skae / scikit-learn": 2.0,
    "small autoencoder: skae / scikit-learn": 2.0,
}


def _median_ratio(skae_fit, other_fit, args, repeats):
    """skae's median wall time over the other's, alternated, after a warm-up."""
    for fit in (skae_fit, other_fit):
        fit(*args)
    times = {skae_fit: [], other_fit: []}
    for r in range(repeats):
        for fit in (skae_fit, other_fit) if r % 2 == 0 else (other_fit, skae_fit):
            start = time.perf_counter()
            fit(*args)
            times[fit].append(time.perf_counter() - start)
    skae_s, other_s = (statistics.median(times[f]) for f in (skae_fit, other_fit))
    return {"skae_s": skae_s, "other_s": other_s, "ratio": skae_s / other_s}


def run(repeats=3):
    """Measure every case that this machine has the data for."""
    results = {}
    if mnist_path() is not None:
        X, y, _, _ = load(bench_denormals.N_TRAIN)
        results["seed: skae / plain loop, flush"] = _median_ratio(
            bench_denormals.skae_fit,
            lambda X, y: bench_denormals.plain_loop(X, y, flush=True),
            (X, y),
            repeats,
        )
        results["dae: skae / plain loop"] = _median_ratio(
            bench_training.skae_dae, bench_training.plain_dae, (X[:5000], 2), repeats
        )
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype("float32")
    for case, skae_fit, other_fit in [
        (
            "small classifier: skae / scikit-learn",
            bench_small_data.skae_classifier,
            bench_small_data.sklearn_classifier,
        ),
        (
            "small autoencoder: skae / scikit-learn",
            bench_small_data.skae_autoencoder,
            bench_small_data.sklearn_autoencoder,
        ),
    ]:
        results[case] = _median_ratio(skae_fit, other_fit, (X, y, 20), repeats)
    for case, result in results.items():
        result["threshold"] = THRESHOLDS[case]
        result["passed"] = result["ratio"] <= THRESHOLDS[case]
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    load_before = _common.loadavg()
    results = run(args.repeats)
    report = {
        "machine": _common.machine(),
        "torch_threads": torch.get_num_threads(),
        "load_before": load_before,
        "load_after": _common.loadavg(),
        "results": results,
    }
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    print("| case | skae s | other s | ratio | threshold |")
    print("|---|---|---|---|---|")
    for case, r in results.items():
        flag = "" if r["passed"] else " FAILED"
        print(
            f"| {case} | {r['skae_s']:.2f} | {r['other_s']:.2f} | "
            f"{r['ratio']:.2f} | {r['threshold']}{flag} |"
        )
    return 0 if all(r["passed"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
