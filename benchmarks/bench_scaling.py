"""How skae's fit time grows with the number of samples and the hidden width, CPU.

``MLPClassifier((width,), batch_size=100, max_iter=epochs)`` on MNIST, a fixed
number of epochs (no early stop can trigger in so few):

* against ``n_samples`` in 7,500, 15,000, 30,000 and 60,000 at width 300;
* against the hidden width in 100, 200, 400 and 800 on all 60,000 images.

Sizes run alternately (rotating the order each repeat), ``--repeats`` times; the
table gives the median fit time and the time per sample, then a least-squares line
``time = slope * size + intercept`` (``np.polyfit``) with its R^2, and the ratio of
the time per unit of size at the largest size to that at the smallest (1.0 for a
line through zero; below 1 when a fixed cost is spread over more work).

    python benchmarks/bench_scaling.py            # 2 epochs, 3 repeats
    python benchmarks/bench_scaling.py --quick    # small sizes, 1 epoch, 1 repeat
"""

import statistics
import sys
import time

import numpy as np

from skae import MLPClassifier

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import _common  # noqa: E402
import _mnist  # noqa: E402


def fit_seconds(X, y, width, epochs):
    clf = MLPClassifier((width,), batch_size=100, max_iter=epochs, random_state=0)
    start = time.perf_counter()
    with _common.quiet():
        clf.fit(X, y)
    return time.perf_counter() - start


def line(sizes, seconds):
    """Slope, intercept and R^2 of the least-squares line through the points."""
    x, t = np.asarray(sizes, float), np.asarray(seconds, float)
    slope, intercept = np.polyfit(x, t, 1)
    residual = t - (slope * x + intercept)
    r2 = 1 - (residual**2).sum() / ((t - t.mean()) ** 2).sum()
    return float(slope), float(intercept), float(r2)


def run(args):
    quick, repeats, epochs = args.quick, args.repeats, args.epochs
    X, y, _, _ = _mnist.load()
    if quick:
        sample_sizes, widths, width_n = [1_000, 2_000, 4_000], [50, 100, 200], 4_000
    else:
        sample_sizes, widths = [7_500, 15_000, 30_000, 60_000], [100, 200, 400, 800]
        width_n = 60_000
    # One shuffled order, so that every prefix has all digits in their proportions.
    order = np.random.RandomState(0).permutation(len(X))
    X, y = X[order], y[order]
    fit_seconds(X[:1000], y[:1000], 50, 1)  # warm-up: lazy initialisation
    axes = {
        "n_samples (width 300)": {n: (n, 300) for n in sample_sizes},
        f"hidden width (n_samples {width_n})": {w: (width_n, w) for w in widths},
    }
    results = {}
    for axis, points in axes.items():
        sizes = list(points)
        times = {size: [] for size in sizes}
        for rep in range(repeats):
            for size in sizes[rep % len(sizes) :] + sizes[: rep % len(sizes)]:
                n, width = points[size]
                times[size].append(fit_seconds(X[:n], y[:n], width, epochs))
        medians = [statistics.median(times[s]) for s in sizes]
        slope, intercept, r2 = line(sizes, medians)
        results[axis] = {
            "sizes": sizes,
            "seconds": [times[s] for s in sizes],
            "median_s": medians,
            "slope_s_per_unit": slope,
            "intercept_s": intercept,
            "r2": r2,
            "per_unit_ratio_largest_to_smallest": (medians[-1] / sizes[-1])
            / (medians[0] / sizes[0]),
        }
    return _common.report(args, {"epochs": epochs}, results=results)


def print_table(report, out=sys.stdout):
    _common.header(report, out)
    results = report["results"].items()
    _common.table(
        ["axis", "size", "median fit s", "s per 1,000 units"],
        [
            [axis, size, f"{seconds:.2f}", f"{1000 * seconds / size:.4f}"]
            for axis, res in results
            for size, seconds in zip(res["sizes"], res["median_s"], strict=True)
        ],
        out,
    )
    print(file=out)
    columns = ["axis", "slope, s per 1,000 units", "intercept s", "R^2"]
    _common.table(
        [*columns, "time-per-unit ratio largest/smallest"],
        [
            [axis, f"{1000 * r['slope_s_per_unit']:.4f}", f"{r['intercept_s']:.3f}"]
            + [f"{r['r2']:.4f}", f"{r['per_unit_ratio_largest_to_smallest']:.3f}"]
            for axis, r in results
        ],
        out,
    )


if __name__ == "__main__":
    parser = _common.parser(__doc__, repeats=(1, 3), epochs=(1, 2))
    sys.exit(_common.main(parser, run, print_table, needs="mnist"))
