"""What the CPU does to a fit's time: threads, denormals, float64, size, searches.

- ``threads``: a default DenoisingAE fit at skae's thread choice and at one thread
  (``--cores``: also at the core count). ``--data digits``:
  ``DenoisingAE(n_components=16)`` on the demo's standardised training split
  (1,257 digits); ``--data breast_cancer``: ``DenoisingAE(n_components=8)`` on the
  standardised breast-cancer table (569 x 30). Each fit runs in a fresh process,
  alternated over ``--repeats``; ``--busy N [N ...]`` runs the rounds beside N
  CPU-bound processes for each N in turn. ``--warm`` first fits once on 20 rows for
  one epoch, so that the time leaves out what only a process's first fit pays
  (torch's first optimiser imports ``torch._dynamo``), reported as ``warm_up_s``.
  Medians of the wall-clock and CPU seconds; threads: the most the fits trained on.
- ``denormals``: the seed MNIST recipe (``MNIST_MLP``, 2 epochs on 20,000 images)
  in skae, with and without its flush of denormal floats, against the same model
  and steps in a plain PyTorch loop without and with
  ``torch.set_flush_denormal(True)``.
- ``dtype``: MLP fits with ``dtype="float64"`` against ``"float32"`` (X float64
  throughout): digits with Adam (30 epochs) and L-BFGS (100 iterations), MNIST
  10,000 images with Adam (3 epochs) and 5,000 with L-BFGS (20 iterations). The
  stochastic fits run all their epochs; L-BFGS may take other steps in the two
  precisions, so its function evaluations are counted.
- ``scaling``: ``MLPClassifier((width,), batch_size=100, max_iter=epochs)`` on
  MNIST against ``n_samples`` (7,500 to 60,000, width 300) and the hidden width
  (100 to 800, 60,000 images); the medians, a least-squares line ``time = slope *
  size + intercept`` with its R^2, and the ratio of the time per unit of size at
  the largest size to that at the smallest.
- ``search``: GridSearchCV over StandardScaler -> DenoisingAE ->
  LogisticRegression on digits with n_jobs=1 (torch's own thread count, then one
  thread), then n_jobs=2 on joblib's loky and threading backends; the median wall
  time, its ratio to n_jobs=1 and the torch threads each fit trained with.

Contenders alternate over ``--repeats`` rounds after one untimed warm-up each;
run with ``OMP_NUM_THREADS=1`` for one thread. The results: docs/benchmarks.md
and docs/scaling.md.

    python benchmarks/bench_cpu.py threads --data breast_cancer --warm --busy 0 1 2
    python benchmarks/bench_cpu.py denormals --repeats 3
    OMP_NUM_THREADS=1 python benchmarks/bench_cpu.py dtype --repeats 3
    python benchmarks/bench_cpu.py scaling --threads 1 --repeats 2
    python benchmarks/bench_cpu.py search --repeats 3 --max-iter 10
    python benchmarks/bench_cpu.py dtype --quick   # any sub-command: a small run
"""

import contextlib
import json
import os
import statistics
import subprocess
import sys
import time

import _common
import _mnist
import joblib
import numpy as np
import scipy.optimize
import torch
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

import skae._threads
from skae import DenoisingAE, MLPClassifier


def runs(values):
    return ", ".join(f"{t:.2f}" for t in values)


# ---- threads: skae's thread choice, in fresh processes ---------------------------

FIT = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
import torch
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
import skae._threads
from skae import DenoisingAE

max_iter, data, warm = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3] == "warm"
if data == "digits":
    X, y = load_digits(return_X_y=True)
    X_train = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)[0]
    n_components = 16
else:
    X_train, n_components = load_breast_cancer(return_X_y=True)[0], 8
X_train = StandardScaler().fit_transform(X_train)
# The thread counts the fit's steps ran on.
used, choose = set(), skae._threads.torch_threads
skae._threads.torch_threads = lambda m, r: used.add(choose(m, r)) or choose(m, r)
warm_up = time.perf_counter()
if warm:
    DenoisingAE(2, hidden_layer_sizes=(4,), max_iter=1).fit(X_train[:20])
warm_up = time.perf_counter() - warm_up
start, cpu = time.perf_counter(), time.process_time()
ae = DenoisingAE(n_components, max_iter=max_iter, random_state=0).fit(X_train)
print(json.dumps({
    "wall_s": time.perf_counter() - start,
    "cpu_s": time.process_time() - cpu,
    "epochs": ae.n_iter_,
    "warm_up_s": warm_up,
    "torch_threads": sorted(used),
}))
"""

THREADS = {
    "skae's choice": {},
    "OMP_NUM_THREADS=1": {"OMP_NUM_THREADS": "1"},
    "OMP_NUM_THREADS=cores": {"OMP_NUM_THREADS": str(len(os.sched_getaffinity(0)))},
}


def fresh_fit(args, setting):
    """One fit in a fresh process under ``setting``'s environment: its record."""
    max_iter = json.dumps(5 if args.quick else "auto")
    return _common.child(
        ["-c", FIT, max_iter, args.data, "warm" if args.warm else "cold"],
        env={**os.environ, **THREADS[setting]},
        stderr=subprocess.PIPE,
    )


def run_threads(args):
    """A default DenoisingAE fit at skae's thread choice, at one and at all threads."""
    settings = list(THREADS) if args.cores else list(THREADS)[:2]
    rounds = {}
    for busy in args.busy:
        rows = {name: [] for name in settings}
        with _common.busy(busy):
            for r in range(args.repeats):
                for name in settings if r % 2 == 0 else settings[::-1]:
                    load = _common.loadavg()
                    rows[name].append({**fresh_fit(args, name), "load": load})
                    print(f"busy {busy}", name, rows[name][-1], flush=True)
        rounds[busy] = {
            name: {
                "runs": fits,
                **{
                    f"median_{key}": statistics.median(r[key] for r in fits)
                    for key in ("wall_s", "cpu_s", "warm_up_s")
                },
                "threads": max(n for r in fits for n in r["torch_threads"]),
            }
            for name, fits in rows.items()
        }
    return _common.report(args, {"data": args.data, "warm": args.warm}, rounds=rounds)


KEYS = {"wall": "median_wall_s", "CPU": "median_cpu_s", "warm-up": "median_warm_up_s"}


def show_threads(report):
    keys = ["wall", "CPU"] + ["warm-up"] * report["settings"]["warm"]
    for busy, rows in report["rounds"].items():
        _common.table(
            [f"threads (busy processes: {busy})"] + [f"median {k} s" for k in keys],
            [
                [f"{name} ({r['threads']})"] + [f"{r[KEYS[k]]:.2f}" for k in keys]
                for name, r in rows.items()
            ],
        )


# ---- denormals: skae's flush against a plain loop --------------------------------

N_TRAIN, EPOCHS, BATCH = 20_000, 2, 100


def skae_fit(X, y):
    _common.quiet_fit(
        MLPClassifier(**_common.MNIST_MLP, max_iter=EPOCHS, random_state=0), X, y
    )


@contextlib.contextmanager
def _not_flushed():
    yield lambda: None


def skae_fit_unflushed(X, y):
    original = skae._threads._flushed_denormals
    skae._threads._flushed_denormals = _not_flushed
    try:
        skae_fit(X, y)
    finally:
        skae._threads._flushed_denormals = original


def plain_loop(X, y, flush=False):
    torch.manual_seed(0)
    if flush:
        torch.set_flush_denormal(True)
    try:
        model = torch.nn.Sequential(
            torch.nn.Linear(784, 300),
            torch.nn.ReLU(),
            torch.nn.Dropout(0.25),
            torch.nn.Linear(300, 10),
        )
        decay = [p for p in model.parameters() if p.ndim > 1]
        rest = [p for p in model.parameters() if p.ndim == 1]
        optimizer = torch.optim.Adagrad(
            [{"params": decay, "weight_decay": 1e-4 / BATCH}, {"params": rest}],
            lr=0.3,
        )
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
        loss_fn = torch.nn.CrossEntropyLoss()
        for _ in range(EPOCHS):
            order = torch.randperm(len(Xt))
            for start in range(0, len(Xt), BATCH):
                idx = order[start : start + BATCH]
                optimizer.zero_grad()
                loss = loss_fn(model(Xt[idx]), yt[idx])
                loss.backward()
                optimizer.step()
    finally:
        if flush:
            torch.set_flush_denormal(False)


DENORMALS = {
    "skae (flush)": skae_fit,
    "skae, no flush": skae_fit_unflushed,
    "plain loop": plain_loop,
    "plain loop, flush": lambda X, y: plain_loop(X, y, flush=True),
}


def run_denormals(args):
    """Denormal floats: skae's seed MNIST recipe against a plain PyTorch loop."""
    X, y, _, _ = _mnist.load(N_TRAIN)
    for fit in DENORMALS.values():  # imports, thread pools, first kernels
        fit(X[:1000], y[:1000])
    loads = {name: [] for name in DENORMALS}

    def measure(name):
        loads[name].append(_common.loadavg())
        return _common.seconds(lambda: DENORMALS[name](X, y))

    names = {name: name for name in DENORMALS}
    times = _common.alternate(names, args.repeats, warmup=False, measure=measure)
    results = {
        name: {"seconds": t, "median_s": statistics.median(t), "loads": loads[name]}
        for name, t in times.items()
    }
    return _common.report(args, results=results)


def show_denormals(report):
    _common.table(
        ["contender", "median s", "runs", "1-min load before each run"],
        [
            [name, f"{r['median_s']:.2f}", runs(r["seconds"]), ", ".join(r["loads"])]
            for name, r in report["results"].items()
        ],
    )


# ---- dtype: float64 against float32 ----------------------------------------------

DTYPES = ("float32", "float64")


def mlp(width, solver, iterations):
    """``dtype -> MLPClassifier((width,))``; Adam runs all its epochs."""
    rule = {"n_iter_no_change": np.inf} if solver == "adam" else {"solver": solver}
    return lambda dtype: MLPClassifier(
        (width,), max_iter=iterations, dtype=dtype, random_state=0, **rule
    )


def dtype_cases(quick):
    """``{name: (make estimator, X, y)}``."""
    X, y = load_digits(return_X_y=True)
    out = {
        "digits, Adam, 30 epochs": (mlp(100, "adam", 2 if quick else 30), X / 16, y),
        "digits, L-BFGS, 100 iterations": (
            mlp(100, "lbfgs", 5 if quick else 100),
            X / 16,
            y,
        ),
    }
    if _mnist.mnist_path() is None:
        print("MNIST is not on this machine: digits only (see benchmarks/_mnist.py)")
        return out
    Xm, ym, _, _ = _mnist.load(10_000)
    Xm = Xm.astype(np.float64)
    n_adam, n_lbfgs = (1000, 1000) if quick else (10_000, 5000)
    out["MNIST 10,000, Adam, 3 epochs"] = (
        mlp(300, "adam", 1 if quick else 3),
        Xm[:n_adam],
        ym[:n_adam],
    )
    out["MNIST 5,000, L-BFGS, 20 iterations"] = (
        mlp(300, "lbfgs", 2 if quick else 20),
        Xm[:n_lbfgs],
        ym[:n_lbfgs],
    )
    return out


def timed_fit(make, dtype, X, y):
    """Return (seconds, function evaluations or None) of one fit."""
    evaluations = []
    minimize = scipy.optimize.minimize

    def counting(*args, **kwargs):
        result = minimize(*args, **kwargs)
        evaluations.append(result.nfev)
        return result

    est = make(dtype)
    scipy.optimize.minimize = counting
    try:
        start = time.perf_counter()
        _common.quiet_fit(est, X, y)
        seconds = time.perf_counter() - start
    finally:
        scipy.optimize.minimize = minimize
    assert str(est.net_.module_.output.weight.dtype) == f"torch.{dtype}"
    return seconds, (evaluations[0] if evaluations else None)


def run_dtype(args):
    """The cost of float64: MLP fits with dtype="float64" against "float32"."""
    results = {}
    for name, (make, X, y) in dtype_cases(args.quick).items():
        for dtype in DTYPES:  # imports, thread pools, first kernels: untimed
            timed_fit(make, dtype, X[:200], y[:200])
        times = {dtype: [] for dtype in DTYPES}
        nfev = {dtype: [] for dtype in DTYPES}
        loads = []
        for r in range(args.repeats):
            loads.append(_common.loadavg())
            for dtype in DTYPES if r % 2 == 0 else DTYPES[::-1]:
                seconds, evaluations = timed_fit(make, dtype, X, y)
                times[dtype].append(seconds)
                nfev[dtype].append(evaluations)
        results[name] = {
            **{f"{d}_s": times[d] for d in DTYPES},
            **{f"{d}_median_s": statistics.median(times[d]) for d in DTYPES},
            "evaluations": nfev if nfev["float32"][0] is not None else None,
            "loads": loads,
        }
    return _common.report(args, results=results)


def show_dtype(report):
    rows = []
    for name, r in report["results"].items():
        m32, m64 = (r[f"{d}_median_s"] for d in DTYPES)
        evals = "-"
        if r["evaluations"]:
            evals = " / ".join(
                f"{r['evaluations'][d][0]} "
                f"({1000 * r[f'{d}_median_s'] / r['evaluations'][d][0]:.1f} ms each)"
                for d in DTYPES
            )
        rows.append(
            [name, f"{m32:.2f}", f"{m64:.2f}", f"{m64 / m32:.2f}"]
            + [runs(r[f"{d}_s"]) for d in DTYPES]
            + [evals, ", ".join(r["loads"])]
        )
    columns = ["fit", "float32 median s", "float64 median s", "float64 / float32"]
    columns += ["runs float32", "runs float64", "evaluations (L-BFGS)", "1-min load"]
    _common.table(columns, rows)


# ---- scaling: fit time against samples and width ---------------------------------


def fit_seconds(X, y, width, epochs):
    clf = MLPClassifier((width,), batch_size=100, max_iter=epochs, random_state=0)
    return _common.seconds(lambda: _common.quiet_fit(clf, X, y))


def line(sizes, seconds):
    """Slope, intercept and R^2 of the least-squares line through the points."""
    x, t = np.asarray(sizes, float), np.asarray(seconds, float)
    slope, intercept = np.polyfit(x, t, 1)
    residual = t - (slope * x + intercept)
    r2 = 1 - (residual**2).sum() / ((t - t.mean()) ** 2).sum()
    return float(slope), float(intercept), float(r2)


def run_scaling(args):
    """How skae's fit time grows with the number of samples and the hidden width."""
    X, y, _, _ = _mnist.load()
    if args.quick:
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
        for rep in range(args.repeats):
            for size in sizes[rep % len(sizes) :] + sizes[: rep % len(sizes)]:
                n, width = points[size]
                times[size].append(fit_seconds(X[:n], y[:n], width, args.epochs))
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
    return _common.report(args, {"epochs": args.epochs}, results=results)


def show_scaling(report):
    results = report["results"].items()
    _common.table(
        ["axis", "size", "median fit s", "s per 1,000 units"],
        [
            [axis, size, f"{seconds:.2f}", f"{1000 * seconds / size:.4f}"]
            for axis, res in results
            for size, seconds in zip(res["sizes"], res["median_s"], strict=True)
        ],
    )
    print()
    columns = ["axis", "slope, s per 1,000 units", "intercept s", "R^2"]
    _common.table(
        [*columns, "time-per-unit ratio largest/smallest"],
        [
            [axis, f"{1000 * r['slope_s_per_unit']:.4f}", f"{r['intercept_s']:.3f}"]
            + [f"{r['r2']:.4f}", f"{r['per_unit_ratio_largest_to_smallest']:.3f}"]
            for axis, r in results
        ],
    )


# ---- search: a search with 2 workers against 1 -----------------------------------


class ThreadProbeAE(DenoisingAE):
    """DenoisingAE that records the torch threads its training ran with."""

    def _train(self, *args, **kwargs):
        result = super()._train(*args, **kwargs)
        # Still inside the fit: the thread count the epochs ran with.
        self.torch_threads_ = torch.get_num_threads()
        return result


@contextlib.contextmanager
def search_setting(backend, n_jobs, limit):
    with (
        joblib.parallel_config(backend=backend),
        threadpool_limits(limits=limit),
        _common.quiet(),
    ):
        yield


def timed_search(setting, X, y, max_iter):
    ae = ThreadProbeAE(
        hidden_layer_sizes=(),
        consistency=0,  # the objective of the documented runs
        code_activation="relu",
        batch_size=64,
        max_iter=max_iter,
        random_state=0,
    )
    pipe = Pipeline(
        [
            ("scale", StandardScaler()),
            ("ae", ae),
            ("clf", LogisticRegression(max_iter=500)),
        ]
    )
    grid = {"ae__n_components": [16, 32], "ae__noise_level": [0.1, 0.3]}
    search = GridSearchCV(pipe, grid, cv=3, n_jobs=setting[1])
    with search_setting(*setting):
        return _common.seconds(lambda: search.fit(X, y))


def probe_threads(backend, n_jobs, limit, X):
    """The torch threads of fits in workers (a search keeps no fold's estimator)."""
    ae = ThreadProbeAE(
        8, hidden_layer_sizes=(), code_activation="relu", max_iter=2, random_state=0
    )
    with search_setting(backend, n_jobs, limit):
        out = cross_validate(
            ae, X, cv=max(2, n_jobs), n_jobs=n_jobs, return_estimator=True
        )
    return sorted({est.torch_threads_ for est in out["estimator"]})


def run_search(args):
    """A search with 2 workers against the same search with 1."""
    X, y = load_digits(return_X_y=True)
    # (joblib backend, n_jobs, threadpool limit in the parent: None = torch's own)
    settings = [("loky", 1, None), ("loky", 1, 1), ("loky", 2, None)]
    settings.append(("threading", 2, None))
    # Untimed warm-up: loky starts its worker processes at the first search only.
    for setting in settings:
        timed_search(setting, X, y, 1)
    times = {s: [] for s in settings}
    for _ in range(args.repeats):
        for setting in settings:
            times[setting].append(timed_search(setting, X, y, args.max_iter))
    rows = []
    for setting in settings:
        backend, n_jobs, limit = setting
        if n_jobs == 1:
            backend = "sequential" + (f", threadpool_limits({limit})" if limit else "")
        rows.append(
            {
                "backend": backend,
                "n_jobs": n_jobs,
                "torch_threads": probe_threads(*setting, X),
                "seconds": times[setting],
                "median_s": statistics.median(times[setting]),
            }
        )
    return _common.report(args, {"max_iter": args.max_iter}, results=rows)


def show_search(report):
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
    parser, command = _common.commands(__doc__)
    threads = command("threads", run_threads, show_threads, repeats=(1, 3))
    threads.add_argument("--busy", type=int, nargs="+", default=[0], help="burners")
    threads.add_argument(
        "--data", choices=["digits", "breast_cancer"], default="digits"
    )
    threads.add_argument("--cores", action="store_true", help="OMP_NUM_THREADS=cores")
    threads.add_argument("--warm", action="store_true", help="time a second fit")
    command("denormals", run_denormals, show_denormals, needs="mnist", repeats=(1, 3))
    command("dtype", run_dtype, show_dtype, repeats=(1, 3))
    command(
        "scaling",
        run_scaling,
        show_scaling,
        needs="mnist",
        repeats=(1, 3),
        epochs=(1, 2),
    )
    command("search", run_search, show_search, repeats=(1, 5), max_iter=(2, 30))
    sys.exit(_common.main(parser))
