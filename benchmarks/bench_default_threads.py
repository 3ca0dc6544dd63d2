"""The default DenoisingAE's digits fit at skae's thread choice and at one thread.

``DenoisingAE(n_components=16)`` fitted on the demo's standardised training split
(1,257 digits), each fit in a fresh process: with skae's own thread choice (two
torch threads for this network on a 2-core machine) and with
``OMP_NUM_THREADS=1``, alternated over ``--repeats``. ``--busy N`` runs N
CPU-bound processes (``while True: pass``) beside the fits, as other work on a
user's machine would. Prints each fit's wall-clock and CPU seconds and the medians.

    python benchmarks/bench_default_threads.py              # quiet machine
    python benchmarks/bench_default_threads.py --busy 2     # two busy cores
    python benchmarks/bench_default_threads.py --quick      # 1 repeat, 5 epochs
"""

import argparse
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
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from skae import DenoisingAE

X, y = load_digits(return_X_y=True)
X_train = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)[0]
X_train = StandardScaler().fit_transform(X_train)
max_iter = json.loads(sys.argv[1])
start, cpu = time.perf_counter(), time.process_time()
ae = DenoisingAE(16, max_iter=max_iter, random_state=0).fit(X_train)
print(json.dumps({
    "wall_s": time.perf_counter() - start,
    "cpu_s": time.process_time() - cpu,
    "epochs": ae.n_iter_,
    "torch_threads": torch.get_num_threads(),
}))
"""

SETTINGS = {"skae's choice": {}, "OMP_NUM_THREADS=1": {"OMP_NUM_THREADS": "1"}}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--busy", type=int, default=0, help="CPU-bound processes")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    repeats, max_iter = (1, 5) if args.quick else (args.repeats, "auto")
    print("machine", _common.machine())
    burners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"])
        for _ in range(args.busy)
    ]
    rows = {name: [] for name in SETTINGS}
    try:
        for _ in range(repeats):
            for name, env in SETTINGS.items():
                out = subprocess.run(
                    [sys.executable, "-c", FIT, json.dumps(max_iter)],
                    env={**os.environ, **env},
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                rows[name].append(json.loads(out.strip().splitlines()[-1]))
                print(name, rows[name][-1], flush=True)
    finally:
        for burner in burners:
            burner.kill()
    print(f"| threads (busy processes: {args.busy}) | median wall s | median CPU s |")
    print("|---|---|---|")
    for name, runs in rows.items():
        wall = statistics.median(r["wall_s"] for r in runs)
        cpu = statistics.median(r["cpu_s"] for r in runs)
        print(f"| {name} ({runs[0]['torch_threads']}) | {wall:.2f} | {cpu:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
