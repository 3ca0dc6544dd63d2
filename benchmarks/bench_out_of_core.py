"""Out-of-core training: ``DenoisingAE.partial_fit`` over a float32 memmap on disk.

Writes a ``--rows`` x 784 float32 ``.npy`` file (MNIST rows with Gaussian noise,
or random data without MNIST) chunk by chunk, never holding it in memory, then, each
in a fresh process so that its peak resident memory is its own:

* ``stream``: one pass of ``partial_fit`` over chunks of ``--chunk`` rows read
  from the memmap;
* ``in-memory``: ``fit`` for one epoch on the first ``--slice`` rows loaded into
  memory, the same model and batch size.

Each process reports its training throughput (rows per second of training, after
imports and data set-up) and its peak resident memory (``VmHWM``: anonymous memory
plus the file pages it has mapped). The two run alternately ``--repeats``
times; the table gives medians.

Each chunk is read through its own memmap window, unmapped after use: one mapping
of the whole file would count every page read so far as resident (reclaimable page
cache, but part of ``VmHWM``). ``--mapping whole`` measures that variant.

    python benchmarks/bench_out_of_core.py               # 1,000,000 rows (3.1 GB)
    python benchmarks/bench_out_of_core.py --quick       # 20,000 rows, seconds
    python benchmarks/bench_out_of_core.py --path /big/disk --keep

The file is deleted at the end unless ``--keep``.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import _common
import _mnist
import numpy as np

N_FEATURES = 784


def model(batch_size, max_iter=1):
    from skae import DenoisingAE

    return DenoisingAE(
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


def _peak_rss_mb():
    """This process's peak resident memory (VmHWM), in MB.

    Not ``ru_maxrss``: Python starts the worker through vfork and exec, and Linux
    carries the parent's high-water mark into the child's ``ru_maxrss``.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux


def worker(args):
    """Train in this (fresh) process and print a JSON line of measurements."""
    warnings.simplefilter("ignore")  # ConvergenceWarning of a one-epoch fit
    import torch  # noqa: F401  (imported before the clock, as skae needs it)

    header = np.load(args.file, mmap_mode="r")
    n_rows, offset = header.shape[0], header.offset
    del header
    est = model(args.batch_size)
    baseline = _peak_rss_mb()
    if args.worker == "stream":
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
                    f"rows/s, peak RSS {_peak_rss_mb():.0f} MB",
                    file=sys.stderr,
                    flush=True,
                )
        seconds = time.perf_counter() - start
        cpu_seconds = time.process_time() - cpu_start
        rows = n_rows
    else:
        rows = min(args.slice, n_rows)
        X = np.array(np.load(args.file, mmap_mode="r")[:rows])
        start, cpu_start = time.perf_counter(), time.process_time()
        est.fit(X)
        seconds = time.perf_counter() - start
        cpu_seconds = time.process_time() - cpu_start
    print(
        json.dumps(
            {
                "mode": args.worker,
                "rows": rows,
                "seconds": seconds,
                "rows_per_s": rows / seconds,
                # CPU time of all threads: less sensitive to other tenants.
                "cpu_seconds": cpu_seconds,
                "rows_per_cpu_s": rows / cpu_seconds,
                "peak_rss_mb": _peak_rss_mb(),
                "rss_before_training_mb": baseline,
                "final_loss": est.loss_curve_[-1],
                "epochs": len(est.loss_curve_),
            }
        )
    )


def run_worker(args, mode):
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        mode,
        "--file",
        str(args.file),
        "--chunk",
        str(args.chunk),
        "--slice",
        str(args.slice),
        "--batch-size",
        str(args.batch_size),
        "--mapping",
        args.mapping,
    ]
    # stderr (progress) passes through; stdout carries the result.
    out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def run(args):
    if args.worker:
        worker(args)
        return None
    directory = args.path or tempfile.mkdtemp(prefix="skae-ooc-")
    args.file = Path(directory) / f"ooc_{args.rows}x{N_FEATURES}_float32.npy"
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
                runs[mode].append(run_worker(args, mode))
                r = runs[mode][-1]
                print(
                    f"  {mode}: {r['rows']:,} rows in {r['seconds']:.1f} s, "
                    f"{r['rows_per_s']:,.0f} rows/s, peak RSS {r['peak_rss_mb']:.0f} MB"
                )
    finally:
        if not args.keep:
            args.file.unlink(missing_ok=True)
            if not args.path:
                os.rmdir(directory)
    report = {
        "machine": _common.machine(),
        "settings": {
            "model": "DenoisingAE(200, hidden_layer_sizes=())",
            **{k: getattr(args, k) for k in ("rows", "chunk", "slice", "batch_size")},
            "mapping": args.mapping,
            "repeats": args.repeats,
        },
    }
    for mode, rows in runs.items():
        keys = [k for k in rows[0] if k != "mode"]
        median = {k: statistics.median(r[k] for r in rows) for k in keys}
        report[mode] = {"median": median, "runs": rows}
    return report


def show(report):
    _common.header(report)
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
    parser = _common.parser(
        __doc__,
        repeats=1,
        rows=(20_000, 1_000_000),
        chunk=(5_000, 10_000),
        slice=(10_000, 60_000),
        batch_size=128,
    )
    parser.add_argument("--mapping", choices=["window", "whole"], default="window")
    parser.add_argument("--path", help="directory for the data file (default: temp)")
    parser.add_argument("--keep", action="store_true", help="keep the data file")
    parser.add_argument(
        "--worker", choices=["stream", "in-memory"], help=argparse.SUPPRESS
    )
    parser.add_argument("--file", help=argparse.SUPPRESS)
    sys.exit(_common.main(parser, run, show))
