"""Memory of training: the peak of a fit on MNIST, and out-of-core training from disk.

Each measurement runs in a fresh Python process (this script again, with
``--child``), so that its peak resident memory (``VmHWM``) is its own.

- ``fit``: the peak of ``fit`` given float64 input, 60,000 MNIST images (the
  **input**, 376 MB as a C-contiguous float64 array in [0, 1]). The **baseline**
  is the resident set size after the imports; the peak is reset
  (``/proc/self/clear_refs``; where that is refused, it covers the process's whole
  life, whose loading step is smaller than the fit) before one epoch of ``fit``.
  The budget of issue 4: ``peak - baseline <= input + input / 2 + 300 MiB`` (the
  input, one float32 copy of it, 300 MiB). Contenders: skae's
  ``MLPClassifier((300,))`` and ``DenoisingAE(200, hidden_layer_sizes=())``, and
  for reference scikit-learn's ``MLPClassifier((300,))``, which computes in
  float64 on float64 input without a copy.
- ``out_of_core``: ``DenoisingAE.partial_fit`` over a float32 memmap on disk.
  Writes a ``--rows`` x 784 float32 ``.npy`` file (MNIST rows with Gaussian noise,
  or random data without MNIST) chunk by chunk, never holding it in memory, then
  ``stream``: one pass of ``partial_fit`` over chunks of ``--chunk`` rows read from
  the memmap, each through its own memmap window, unmapped after use (one mapping
  of the whole file, ``--mapping whole``, would count every page read so far as
  resident); and ``in-memory``: ``fit`` for one epoch on the first ``--slice`` rows
  loaded into memory, the same model and batch size. Each reports its training
  throughput (rows per second of training, after imports and data set-up) and its
  peak resident memory (anonymous memory plus the file pages it has mapped); the
  two alternate ``--repeats`` times, the table gives medians. The file is deleted
  at the end unless ``--keep``.

    python benchmarks/bench_memory.py fit                 # 60,000 images
    python benchmarks/bench_memory.py fit --quick         # 10,000 images
    python benchmarks/bench_memory.py out_of_core         # 1,000,000 rows (3.1 GB)
    python benchmarks/bench_memory.py out_of_core --quick # 20,000 rows, seconds
    python benchmarks/bench_memory.py out_of_core --path /big/disk --keep
"""

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import _common
import _mnist
import numpy as np
import sklearn.neural_network
import torch

import skae

MiB = 2**20
N_FEATURES = 784


# ---- fit: the peak of fit given float64 input --------------------------------------

BUDGET_EXTRA = 300 * MiB
CONTENDERS = {
    "skae MLPClassifier((300,))": lambda: skae.MLPClassifier(
        (300,), batch_size=100, max_iter=1, random_state=0
    ),
    "skae DenoisingAE(200, hidden_layer_sizes=())": lambda: skae.DenoisingAE(
        **_common.RELU_DAE, batch_size=128, max_iter=1, random_state=0
    ),
    "sklearn MLP": lambda: sklearn.neural_network.MLPClassifier(
        (300,), batch_size=100, max_iter=1, random_state=0
    ),
}


def fit_child(args):
    """Measure one fit in this (fresh) process; print a JSON line."""
    baseline = _common.memory_status()["VmRSS"]
    with np.load(_mnist.mnist_path()) as data:
        pixels = data["x_train"][: args.rows].reshape(-1, 784)
        y = data["y_train"][: args.rows].astype(np.int64)
    X = np.divide(pixels, 255.0, dtype=np.float64)
    del pixels
    est = CONTENDERS[args.child]()
    gc.collect()
    before_fit = _common.memory_status()["VmRSS"]
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        reset = True
    except OSError:
        reset = False
    est.fit(X) if "DenoisingAE" in args.child else est.fit(X, y)
    record = {"baseline": baseline, "before_fit": before_fit}
    record.update(peak=_common.memory_status()["VmHWM"], peak_reset_before_fit=reset)
    record.update(input_bytes=X.nbytes, torch_threads=torch.get_num_threads())
    print(json.dumps(record))


def run_fit(args):
    """Peak resident memory of fit on MNIST given float64 input."""
    if args.child:
        with _common.quiet():
            return fit_child(args)
    results = {}
    for contender in CONTENDERS:
        command = [__file__, "fit", "--child", contender, "--rows", str(args.rows)]
        row = _common.child(
            command + ["--threads", str(args.threads)] * bool(args.threads)
        )
        row["fit_over_baseline"] = row["peak"] - row["baseline"]
        row["budget"] = row["input_bytes"] * 3 // 2 + BUDGET_EXTRA
        row["within_budget"] = row["fit_over_baseline"] <= row["budget"]
        results[contender] = row
    report = _common.report(args, {"rows": args.rows}, results=results)
    if args.threads:
        report["machine"]["torch_threads"] = args.threads
    return report


def show_fit(report):
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
    _common.table([*columns, "within budget"], rows)


# ---- out_of_core: partial_fit over a memmap on disk --------------------------------


def model(batch_size, max_iter=1):
    return skae.DenoisingAE(
        **_common.RELU_DAE,
        noise="gaussian",
        noise_level=0.2,
        loss="mse",  # the network of the documented runs
        batch_size=batch_size,
        max_iter=max_iter,
        random_state=0,
    )


def write_data(path, n_rows, chunk, seed=0):
    """Fill a float32 .npy memmap chunk by chunk; returns seconds taken."""
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    source = None
    if _mnist.mnist_path() is not None:
        with np.load(_mnist.mnist_path()) as data:
            source = data["x_train"].reshape(-1, N_FEATURES)  # uint8, 47 MB
    # Plain writes after an .npy header: nothing of the file stays in memory.
    header = {"descr": "<f4", "fortran_order": False, "shape": (n_rows, N_FEATURES)}
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, header)
        for i in range(0, n_rows, chunk):
            n = min(chunk, n_rows - i)
            block = rng.standard_normal((n, N_FEATURES), dtype=np.float32) * 0.1
            if source is None:
                block += 0.5
            else:
                block += source[rng.integers(0, len(source), n)] / np.float32(255)
            f.write(block.tobytes())
    return time.perf_counter() - start, source is not None


def peak_mb():
    """This process's peak resident memory (VmHWM), in MB.

    Not ``ru_maxrss``: Python starts the child through vfork and exec, and Linux
    carries the parent's high-water mark into the child's ``ru_maxrss``.
    """
    return _common.memory_status()["VmHWM"] / MiB


def out_of_core_child(args):
    """Train in this (fresh) process and print a JSON line of measurements."""
    warnings.simplefilter("ignore")  # ConvergenceWarning of a one-epoch fit
    header = np.load(args.file, mmap_mode="r")
    n_rows, offset = header.shape[0], header.offset
    del header
    est = model(args.batch_size)
    baseline = peak_mb()
    if args.child == "stream":
        whole = np.load(args.file, mmap_mode="r") if args.mapping == "whole" else None
        start, cpu_start = time.perf_counter(), time.process_time()
        for i in range(0, n_rows, args.chunk):
            n = min(args.chunk, n_rows - i)
            if whole is not None:
                est.partial_fit(whole[i : i + n])
            else:
                window = np.memmap(
                    args.file,
                    dtype=np.float32,
                    mode="r",
                    offset=offset + i * N_FEATURES * 4,
                    shape=(n, N_FEATURES),
                )
                est.partial_fit(window)
                del window  # unmapped: its pages leave this process
            if (i // args.chunk) % 10 == 9:
                done = i + n
                print(
                    f"    {done:,} rows, {done / (time.perf_counter() - start):,.0f} "
                    f"rows/s, peak RSS {peak_mb():.0f} MB",
                    file=sys.stderr,
                    flush=True,
                )
        rows = n_rows
    else:
        rows = min(args.slice, n_rows)
        X = np.array(np.load(args.file, mmap_mode="r")[:rows])
        start, cpu_start = time.perf_counter(), time.process_time()
        est.fit(X)
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start  # less sensitive to other tenants
    record = {"mode": args.child, "rows": rows, "seconds": seconds}
    record.update(rows_per_s=rows / seconds, cpu_seconds=cpu_seconds)
    record.update(rows_per_cpu_s=rows / cpu_seconds, peak_rss_mb=peak_mb())
    record.update(rss_before_training_mb=baseline, final_loss=est.loss_curve_[-1])
    print(json.dumps({**record, "epochs": len(est.loss_curve_)}))


def run_out_of_core(args):
    """Out-of-core training: DenoisingAE.partial_fit over a float32 memmap on disk."""
    if args.child:
        return out_of_core_child(args)
    directory = args.path or tempfile.mkdtemp(prefix="skae-ooc-")
    args.file = Path(directory) / f"ooc_{args.rows}x{N_FEATURES}_float32.npy"
    sizes = {k: getattr(args, k) for k in ("chunk", "slice", "batch_size")}
    options = [f"--{k.replace('_', '-')}={v}" for k, v in sizes.items()]
    try:
        write_seconds, from_mnist = write_data(args.file, args.rows, args.chunk)
        size_gb = args.file.stat().st_size / 1e9
        print(
            f"data: {args.rows:,} x {N_FEATURES} float32, {size_gb:.2f} GB at "
            f"{args.file} ({'MNIST rows + noise' if from_mnist else 'random'}), "
            f"written in {write_seconds:.1f} s"
        )
        runs = {"stream": [], "in-memory": []}
        for _ in range(args.repeats):
            for mode in runs:
                command = [__file__, "out_of_core", "--child", mode, "--file"]
                command += [str(args.file), *options, "--mapping", args.mapping]
                r = _common.child(command)
                runs[mode].append(r)
                print(
                    f"  {mode}: {r['rows']:,} rows in {r['seconds']:.1f} s, "
                    f"{r['rows_per_s']:,.0f} rows/s, peak RSS {r['peak_rss_mb']:.0f} MB"
                )
    finally:
        if not args.keep:
            args.file.unlink(missing_ok=True)
            if not args.path:
                os.rmdir(directory)
    settings = {"model": "DenoisingAE(200, hidden_layer_sizes=())", "rows": args.rows}
    settings.update(sizes, mapping=args.mapping)
    report = _common.report(args, settings)
    for mode, rows in runs.items():
        keys = [k for k in rows[0] if k != "mode"]
        median = {k: statistics.median(r[k] for r in rows) for k in keys}
        report[mode] = {"median": median, "runs": rows}
    return report


def show_out_of_core(report):
    labels = {
        "stream": "partial_fit over the memmap",
        "in-memory": "fit, one epoch in memory",
    }
    rows = [
        [label, f"{m['rows']:,.0f}", f"{m['seconds']:.1f}", f"{m['rows_per_s']:,.0f}"]
        + [f"{m['rows_per_cpu_s']:,.0f}", f"{m['peak_rss_mb']:.0f}"]
        + [f"{m['rss_before_training_mb']:.0f}"]
        for mode, label in labels.items()
        for m in [report[mode]["median"]]
    ]
    columns = ["training", "rows", "seconds", "rows/s", "rows/CPU-s"]
    _common.table([*columns, "peak RSS (MB)", "RSS at start (MB)"], rows)
    stream, in_memory = report["stream"]["median"], report["in-memory"]["median"]
    print(
        "\nstreaming throughput / in-memory throughput: "
        f"{stream['rows_per_s'] / in_memory['rows_per_s']:.2f} (per CPU-second: "
        f"{stream['rows_per_cpu_s'] / in_memory['rows_per_cpu_s']:.2f})"
    )


if __name__ == "__main__":
    parser, command = _common.commands(__doc__)
    fit = command("fit", run_fit, show_fit, needs="mnist", rows=(10_000, 60_000))
    fit.add_argument("--child", choices=CONTENDERS, help=argparse.SUPPRESS)
    ooc = command(
        "out_of_core",
        run_out_of_core,
        show_out_of_core,
        repeats=1,
        rows=(20_000, 1_000_000),
        chunk=(5_000, 10_000),
        slice=(10_000, 60_000),
        batch_size=128,
    )
    ooc.add_argument("--mapping", choices=["window", "whole"], default="window")
    ooc.add_argument("--path", help="directory for the data file (default: temp)")
    ooc.add_argument("--keep", action="store_true", help="keep the data file")
    ooc.add_argument("--child", choices=["stream", "in-memory"], help=argparse.SUPPRESS)
    ooc.add_argument("--file", help=argparse.SUPPRESS)
    sys.exit(_common.main(parser))
