"""Peak resident memory of ``fit`` on MNIST given float64 input, CPU.

Each fit runs in a fresh Python process (this script, called with ``--child``):

1. import numpy, torch, scikit-learn and skae: the **baseline** (interpreter and
   imports) is the resident set size (VmRSS) then;
2. load the 60,000 training images as a C-contiguous float64 array in [0, 1] (the
   **input**, 376 MB);
3. reset the peak (``/proc/self/clear_refs``; where that is refused, the peak
   covers the process's whole life, whose loading step is smaller than the fit);
4. fit for one epoch, then read the peak resident set size (VmHWM).

The budget of issue 4 is the input plus one float32 copy of it plus 300 MiB, over
the baseline: ``peak - baseline <= input + input / 2 + 300 MiB``. Contenders:
``MLPClassifier((300,))`` and ``DenoisingAE(200, hidden_layer_sizes=())`` of skae,
and for reference scikit-learn's ``MLPClassifier((300,))``, which computes in float64
on float64 input without a copy.

    python benchmarks/bench_memory.py            # 60,000 images
    python benchmarks/bench_memory.py --quick    # 10,000 images
"""

import argparse
import json
import subprocess
import sys

import _common
import _mnist

MiB = 2**20
BUDGET_EXTRA = 300 * MiB
CONTENDERS = [
    "skae MLPClassifier((300,))",
    "skae DenoisingAE(200, hidden_layer_sizes=())",
    "sklearn MLP",
]


def _status():
    """VmRSS and VmHWM of this process, in bytes."""
    with open("/proc/self/status") as f:
        fields = dict(line.split(":", 1) for line in f)
    return {k: int(fields[k].split()[0]) * 1024 for k in ("VmRSS", "VmHWM")}


def child(contender, n_train, threads):
    """Measure one fit in this (fresh) process; print a JSON line."""
    import gc

    import numpy as np
    import sklearn.neural_network
    import torch

    import skae

    if threads:
        torch.set_num_threads(threads)
    baseline = _status()["VmRSS"]
    with np.load(_mnist.mnist_path()) as data:
        pixels = data["x_train"][:n_train].reshape(-1, 784)
        y = data["y_train"][:n_train].astype(np.int64)
    X = np.divide(pixels, 255.0, dtype=np.float64)
    del pixels
    est = {
        CONTENDERS[0]: lambda: skae.MLPClassifier(
            (300,), batch_size=100, max_iter=1, random_state=0
        ),
        CONTENDERS[1]: lambda: skae.DenoisingAE(
            **_common.RELU_DAE,
            batch_size=128,
            max_iter=1,
            random_state=0,
        ),
        CONTENDERS[2]: lambda: sklearn.neural_network.MLPClassifier(
            (300,), batch_size=100, max_iter=1, random_state=0
        ),
    }[contender]()
    gc.collect()
    before_fit = _status()["VmRSS"]
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        reset = True
    except OSError:
        reset = False
    with _common.quiet():
        if "DenoisingAE" in contender:
            est.fit(X)
        else:
            est.fit(X, y)
    print(
        json.dumps(
            {
                "baseline": baseline,
                "before_fit": before_fit,
                "peak": _status()["VmHWM"],
                "peak_reset_before_fit": reset,
                "input_bytes": X.nbytes,
                "torch_threads": torch.get_num_threads(),
            }
        )
    )


def run(args):
    if args.child:
        child(args.child, args.n, args.threads)
        return None
    quick, threads = args.quick, args.threads
    n_train = 10_000 if quick else 60_000
    results = {}
    for contender in CONTENDERS:
        command = [sys.executable, __file__, "--child", contender, "--n", str(n_train)]
        if threads:
            command += ["--threads", str(threads)]
        out = subprocess.run(command, capture_output=True, text=True, check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        row["fit_over_baseline"] = row["peak"] - row["baseline"]
        row["budget"] = row["input_bytes"] * 3 // 2 + BUDGET_EXTRA
        row["within_budget"] = row["fit_over_baseline"] <= row["budget"]
        results[contender] = row
    report = {
        "machine": _common.machine(),
        "settings": {"quick": quick, "rows": n_train},
    }
    if threads:
        report["machine"]["torch_threads"] = threads
    report["results"] = results
    return report


def print_table(report, out=sys.stdout):
    _common.header(report, out)
    keys = ["input_bytes", "baseline", "before_fit", "peak", "fit_over_baseline"]
    rows = []
    for name, row in report["results"].items():
        within = "yes" if row["within_budget"] else "no"
        if not row["peak_reset_before_fit"]:
            within += " (peak over the process's life)"
        cells = [f"{row[k] / MiB:.0f}" for k in [*keys, "budget"]]
        rows.append([name, *cells, within])
    columns = ["contender", "input MiB", "baseline MiB", "RSS before fit MiB"]
    columns += ["peak in fit MiB", "peak - baseline MiB", "budget MiB"]
    _common.table([*columns, "within budget"], rows, out)


if __name__ == "__main__":
    parser = _common.parser(__doc__)
    parser.add_argument("--child", choices=CONTENDERS, help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    sys.exit(_common.main(parser, run, print_table, needs="mnist"))
