"""A default DenoisingAE fit at skae's thread choice, at one and at all threads.

``--data digits``: ``DenoisingAE(n_components=16)`` on the demo's standardised
training split (1,257 digits); ``--data breast_cancer``:
``DenoisingAE(n_components=8)`` on the standardised breast-cancer table (569 x
30). Each fit runs in a fresh process: with skae's own thread choice and with
``OMP_NUM_THREADS=1`` (and, with ``--cores``, at the core count), alternated
over ``--repeats``. ``--busy N [N ...]`` runs the rounds beside N CPU-bound
processes (``while True: pass``) for each N in turn. ``--warm`` fits once on 20
rows for one epoch before the timed fit, so that the time leaves out what only
a process's first fit pays (torch's first optimiser imports ``torch._dynamo``);
its time is reported as ``warm_up_s``. Prints each fit's
wall-clock and CPU seconds, the torch threads the fit trained on and the
1-minute load before it, then the medians (threads: the most the fits trained on).

    python benchmarks/bench_default_threads.py                 # quiet machine
    python benchmarks/bench_default_threads.py --busy 0 1 2    # 0, 1, 2 busy cores
    python benchmarks/bench_default_threads.py --data breast_cancer --warm --busy 0 1 2
    python benchmarks/bench_default_threads.py --quick         # 1 repeat, 5 epochs
"""

import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import _common  # noqa: E402

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

SETTINGS = {
    "skae's choice": {},
    "OMP_NUM_THREADS=1": {"OMP_NUM_THREADS": "1"},
    "OMP_NUM_THREADS=cores": {"OMP_NUM_THREADS": str(len(os.sched_getaffinity(0)))},
}


def run_round(args, repeats, max_iter, busy, settings):
    """Alternate the settings' fits beside ``busy`` CPU-bound processes."""
    rows = {name: [] for name in settings}
    with _common.busy(busy):
        for r in range(repeats):
            for name in settings if r % 2 == 0 else settings[::-1]:
                load = _common.loadavg()
                out = subprocess.run(
                    [
                        sys.executable,
                        "-c",
                        FIT,
                        json.dumps(max_iter),
                        args.data,
                        "warm" if args.warm else "cold",
                    ],
                    env={**os.environ, **SETTINGS[name]},
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                rows[name].append(
                    {**json.loads(out.strip().splitlines()[-1]), "load": load}
                )
                print(f"busy {busy}", name, rows[name][-1], flush=True)
    return rows


def run(args):
    max_iter = 5 if args.quick else "auto"
    settings = list(SETTINGS) if args.cores else list(SETTINGS)[:2]
    rounds = {}
    for busy in args.busy:
        rows = run_round(args, args.repeats, max_iter, busy, settings)
        rounds[busy] = {
            name: {
                "runs": runs,
                "median_wall_s": statistics.median(r["wall_s"] for r in runs),
                "median_cpu_s": statistics.median(r["cpu_s"] for r in runs),
                "median_warm_up_s": statistics.median(r["warm_up_s"] for r in runs),
                "threads": max(n for r in runs for n in r["torch_threads"]),
            }
            for name, runs in rows.items()
        }
    return _common.report(args, {"data": args.data, "warm": args.warm}, rounds=rounds)


def show(report):
    _common.header(report)
    for busy, rows in report["rounds"].items():
        _common.table(
            [f"threads (busy processes: {busy})", "median wall s", "median CPU s"]
            + ["median warm-up s"] * report["settings"].get("warm", False),
            [
                [f"{name} ({r['threads']})", f"{r['median_wall_s']:.2f}"]
                + [f"{r['median_cpu_s']:.2f}"]
                + [f"{r['median_warm_up_s']:.2f}"]
                * report["settings"].get("warm", False)
                for name, r in rows.items()
            ],
        )


if __name__ == "__main__":
    parser = _common.parser(__doc__, repeats=(1, 3))
    parser.add_argument("--busy", type=int, nargs="+", default=[0], help="burners")
    parser.add_argument("--data", choices=["digits", "breast_cancer"], default="digits")
    parser.add_argument("--cores", action="store_true", help="OMP_NUM_THREADS=cores")
    parser.add_argument(
        "--warm", action="store_true", help="time a fit after a first one-epoch fit"
    )
    sys.exit(_common.main(parser, run, show))
