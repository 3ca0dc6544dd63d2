"""A search with 2 workers against the same search with 1, and torch threads per fit.

GridSearchCV over StandardScaler -> DenoisingAE -> LogisticRegression on digits,
run with n_jobs=1 (with torch's own thread count, then with one thread), then
n_jobs=2 on joblib's loky backend (worker processes) and on its threading backend
(one process), alternating the settings over the repeats.
For each setting it reports the median wall time, the ratio to n_jobs=1 and the
torch thread count each fit trained with (recorded inside the fits).

    python benchmarks/bench_search_threads.py           # 5 repeats, 30 epochs
    python benchmarks/bench_search_threads.py --quick   # 1 repeat, 2 epochs
"""

import statistics
import sys
import time

import joblib
import torch
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from skae import DenoisingAE

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import _common  # noqa: E402


class ThreadProbeAE(DenoisingAE):
    """DenoisingAE that records the torch threads its training ran with."""

    def _train(self, *args, **kwargs):
        result = super()._train(*args, **kwargs)
        # Still inside the fit: the thread count the epochs ran with.
        self.torch_threads_ = torch.get_num_threads()
        return result


def make_search(max_iter):
    pipe = Pipeline(
        [
            ("scale", StandardScaler()),
            (
                "ae",
                ThreadProbeAE(
                    hidden_layer_sizes=(),
                    consistency=0,  # the objective of the documented runs
                    code_activation="relu",
                    batch_size=64,
                    max_iter=max_iter,
                    random_state=0,
                ),
            ),
            ("clf", LogisticRegression(max_iter=500)),
        ]
    )
    grid = {"ae__n_components": [16, 32], "ae__noise_level": [0.1, 0.3]}
    return GridSearchCV(pipe, grid, cv=3, return_train_score=False)


def run(setting, X, y, max_iter):
    backend, n_jobs, limit = setting
    search = make_search(max_iter).set_params(n_jobs=n_jobs)
    with (
        joblib.parallel_config(backend=backend),
        threadpool_limits(limits=limit),
        _common.quiet(),
    ):
        start = time.perf_counter()
        search.fit(X, y)
        return time.perf_counter() - start


def probe_threads(backend, n_jobs, limit, X):
    with (
        joblib.parallel_config(backend=backend),
        threadpool_limits(limits=limit),
        _common.quiet(),
    ):
        out = cross_validate(
            ThreadProbeAE(
                8,
                hidden_layer_sizes=(),
                code_activation="relu",
                max_iter=2,
                random_state=0,
            ),
            X,
            cv=max(2, n_jobs),
            n_jobs=n_jobs,
            return_estimator=True,
        )
    return sorted({est.torch_threads_ for est in out["estimator"]})


def search(args):
    X, y = load_digits(return_X_y=True)
    # (joblib backend, n_jobs, threadpool limit in the parent: None = torch's own)
    settings = [("loky", 1, None), ("loky", 1, 1), ("loky", 2, None)]
    settings.append(("threading", 2, None))
    times = {s: [] for s in settings}
    # Untimed warm-up: loky starts its worker processes (and they import torch) at
    # the first search only.
    for setting in settings:
        run(setting, X, y, 1)
    for _ in range(args.repeats):
        for setting in settings:
            times[setting].append(run(setting, X, y, args.max_iter))
    rows = []
    for setting in settings:
        backend, n_jobs, limit = setting
        if n_jobs == 1:
            backend = "sequential" + (f", threadpool_limits({limit})" if limit else "")
        # The thread count of fits in workers, read from fitted probes (the search
        # keeps no fitted estimators of its folds).
        threads = probe_threads(*setting, X)
        rows.append({"backend": backend, "n_jobs": n_jobs, "torch_threads": threads})
        rows[-1].update(
            seconds=times[setting], median_s=statistics.median(times[setting])
        )
    return _common.report(args, {"max_iter": args.max_iter}, results=rows)


def show(report):
    _common.header(report)
    rows = report["results"]
    base, base1 = rows[0]["median_s"], rows[1]["median_s"]
    print(
        f"GridSearchCV, 4 candidates x 3 folds, DenoisingAE "
        f"{report['settings']['max_iter']} epochs, digits; median of "
        f"{report['settings']['repeats']} (alternating)"
    )
    _common.table(
        ["backend", "n_jobs", "torch threads per fit", "median time (s)"]
        + ["min-max (s)", "vs sequential", "vs sequential, 1 thread"],
        [
            [r["backend"], r["n_jobs"], ", ".join(map(str, r["torch_threads"]))]
            + [f"{t:.1f}", f"{min(r['seconds']):.1f}-{max(r['seconds']):.1f}"]
            + [f"{t / base:.2f}", f"{t / base1:.2f}"]
            for r in rows
            for t in [r["median_s"]]
        ],
    )


if __name__ == "__main__":
    parser = _common.parser(__doc__, repeats=(1, 5), max_iter=(2, 30))
    sys.exit(_common.main(parser, search, show))
