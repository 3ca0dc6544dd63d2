"""How many threads skae computes on: one policy for training and inference.

- :func:`_share_torch_threads`: fits that run at the same time in one process (a
  search under joblib's threading backend) split the cores between them instead of
  each running a full-size torch thread pool. Worker processes need nothing from
  here: joblib's loky backend and Dask's nanny cap ``OMP_NUM_THREADS`` in each
  worker, and torch's thread pool follows it.
- :func:`_threads_for_load`: a fit on torch's default thread count uses no more
  threads than the cores other processes leave free when it starts.
- :func:`torch_threads`: a step too small to pay for waking the thread pool runs
  on one thread (:func:`_one_thread`); any other on the fit's share of the cores.
- :func:`torch_compute`: the context in which training epochs, L-BFGS's
  evaluations and inference batches run, under that policy (and, for a small
  L-BFGS problem, with one BLAS thread), with denormal floats flushed to zero;
  the caller's settings come back on exit.
"""

import ctypes
import functools
import glob
import os
import threading
import time
import weakref
from contextlib import contextmanager

import torch
from threadpoolctl import threadpool_info, threadpool_limits

# ------------------------------------------------------------------ fits at once

_active_fits = 0
_active_lock = threading.Lock()
_local = threading.local()


@contextmanager
def _share_torch_threads():
    """Give this thread's torch its share of the cores while a fit runs.

    With ``k`` fits running at once in this process, each fit's torch uses
    ``max(1, n // k)`` intra-op threads, where ``n`` is the thread count torch
    would use on its own in this thread (which already honours
    ``OMP_NUM_THREADS`` and ``threadpoolctl.threadpool_limits``), lowered to
    the cores that other processes leave free at the fit's start when that
    count is torch's default (:func:`_threads_for_load`). A fit alone keeps
    ``n``. The share is set on entry and again by
    :func:`_refresh_torch_threads` (at each epoch), so a fit that started alone
    gives up threads when others start. The thread's own setting is restored on
    exit. A fit nested in another (an encoder pretrained inside a fit) counts once.
    """
    global _active_fits
    if getattr(_local, "base", None) is not None:
        yield
        return
    with _active_lock:
        _active_fits += 1
    _local.base = torch.get_num_threads()
    _local.cores = _threads_for_load(_local.base)
    try:
        _refresh_torch_threads()
        yield
    finally:
        # The setting is the calling thread's own (torch's OpenMP pool is per
        # thread), so the other fits keep theirs.
        if torch.get_num_threads() != _local.base:
            torch.set_num_threads(_local.base)
        _local.base = None
        with _active_lock:
            _active_fits -= 1


def _fit_share():
    """Return this thread's share of the cores in a fit; None outside a fit."""
    base = getattr(_local, "base", None)
    if base is None:
        return None
    return max(1, _local.cores // max(1, _active_fits))


def _refresh_torch_threads(cap=None):
    """Set this thread's torch threads to its current share; outside a fit, no-op.

    ``cap`` bounds the share (a small model trains on one thread).
    """
    share = _fit_share()
    if share is None:
        return
    if cap is not None:
        share = min(share, cap)
    if torch.get_num_threads() != share:
        torch.set_num_threads(share)


# ------------------------------------------------------------------ busy machines

# torch's thread count when skae was imported: its default, unless the user set
# one before. A fit on a count other than this one, or under OMP_NUM_THREADS or
# MKL_NUM_THREADS, runs on exactly that count.
_DEFAULT_TORCH_THREADS = torch.get_num_threads()


def _other_runnable_threads(proc="/proc", readings=3):
    """Return how many threads of other processes are runnable; None without /proc.

    ``/proc/loadavg``'s fourth field counts the machine's runnable threads now;
    this process's own (its tasks in state R: the reading thread, and torch's
    pool threads that spin for a while after a parallel region) are taken off.
    The fewest of ``readings`` readings, a millisecond apart, so that a process
    that runs for an instant does not count as one that keeps a core busy.
    """
    fewest = None
    for i in range(readings):
        if i:
            time.sleep(1e-3)
        try:
            with open(os.path.join(proc, "loadavg")) as f:
                runnable = int(f.read().split()[3].split("/")[0])
            own = 0
            for stat in glob.glob(os.path.join(proc, "self", "task", "*", "stat")):
                try:
                    with open(stat) as f:
                        # The state follows the command, in parentheses, which
                        # may itself hold spaces and parentheses.
                        own += f.read().rpartition(")")[2].split()[0] == "R"
                except (OSError, IndexError):  # a thread that ended meanwhile
                    continue
        except (OSError, ValueError, IndexError):
            return None
        others = max(0, runnable - own)
        fewest = others if fewest is None else min(fewest, others)
    return fewest


def _free_cores(n_cores, others):
    """Return the cores that ``others`` runnable threads leave: at least one."""
    return max(1, n_cores - others)


def _threads_for_load(threads, others=None):
    """Return the torch threads for a fit that would run on ``threads``.

    ``threads`` when the user fixed it (a count other than torch's default, or
    ``OMP_NUM_THREADS`` or ``MKL_NUM_THREADS`` set), or when the machine's load
    cannot be read (no /proc: macOS, Windows; or this process is bound to some
    of the cores only, where the machine-wide count says little). Otherwise no
    more than the cores that other processes' runnable threads (``others``,
    read from /proc when None) leave free: a torch thread that waits for a core
    holds up the others at each parallel kernel's barrier (a digits fit took
    32.8 s on two threads against 11.4 s on one beside two CPU-bound processes).
    """
    if (
        threads != _DEFAULT_TORCH_THREADS
        or os.environ.get("OMP_NUM_THREADS")
        or os.environ.get("MKL_NUM_THREADS")
        or not hasattr(os, "sched_getaffinity")
    ):
        return threads
    n_cores = len(os.sched_getaffinity(0))
    if n_cores != os.cpu_count():
        return threads
    if others is None:
        others = _other_runnable_threads()
        if others is None:
            return threads
    return min(threads, _free_cores(n_cores, others))


# ------------------------------------------------------------------ small steps

# Below this many floating-point operations per training step, one torch thread
# beats two: a step is then too short to pay for waking the thread pool, and on
# a busy machine the pool's threads wait for cores (measured on digits-sized
# MLPs: 16 ms against 111 ms per epoch with two other CPU-bound processes;
# docs/benchmarks.md).
_ONE_THREAD_FLOPS = 5e7

_N_WEIGHTS = weakref.WeakKeyDictionary()


def _one_thread(module, rows):
    """Whether a step of ``rows`` rows is small enough for one torch thread.

    The rough cost of a training step is 6 FLOPs per weight and row; training,
    L-BFGS's evaluations and inference all decide by it. A module's weight count
    is kept after the first call: walking its parameters took about a tenth of a
    1-row ``predict``, and a module's shapes are fixed.
    """
    n_weights = _N_WEIGHTS.get(module)
    if n_weights is None:
        n_weights = sum(p.numel() for p in module.parameters() if p.ndim > 1)
        _N_WEIGHTS[module] = n_weights
    return 6 * n_weights * rows < _ONE_THREAD_FLOPS


def torch_threads(module, rows):
    """Return the torch thread count for steps of ``rows`` rows through ``module``.

    One for a small step (:func:`_one_thread`); otherwise the fit's share of the
    cores (:func:`_share_torch_threads`), or outside a fit the caller's setting.
    """
    if _one_thread(module, rows):
        return 1
    share = _fit_share()
    return torch.get_num_threads() if share is None else share


# ---------------------------------------------------------------- BLAS threads

_blas_lock = threading.Lock()
_blas_users = 0
_blas_limiter = None


@contextmanager
def _one_blas_thread():
    """Limit BLAS (numpy's, scipy's) to one thread while any fit is inside.

    The limit is process-wide, so concurrent fits share one: the first to enter
    sets it and the last to leave restores the original, which two independent
    ``threadpool_limits`` contexts, leaving in another order than they entered,
    would not do.
    """
    global _blas_users, _blas_limiter
    with _blas_lock:
        if _blas_users == 0:
            _blas_limiter = threadpool_limits(1, user_api="blas")
        _blas_users += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0:
                _blas_limiter.restore_original_limits()
                _blas_limiter = None


# --------------------------------------------------------------------- denormals


def _flushing_denormals():
    """Return whether this thread flushes denormal floats to zero.

    torch has a setter (:func:`torch.set_flush_denormal`) and no getter: the
    setting is read from arithmetic, halving the smallest normal float32, which
    gives a denormal, or zero when denormals are flushed.
    """
    return bool(_SMALLEST_NORMAL.mul(0.5).item() == 0.0)


_SMALLEST_NORMAL = torch.tensor([torch.finfo(torch.float32).tiny])

_TEAM_TASK = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


@functools.cache
def _openmp_parallel():
    """Return torch's OpenMP runtime's ``GOMP_parallel``; None where there is none.

    ``GOMP_parallel(task, data, n_threads, flags)`` runs ``task`` once on each
    thread of an ``n_threads`` team of the calling thread, the team torch's
    parallel kernels run on. GNU's libgomp and LLVM's libomp both export it; a
    torch without OpenMP, or an OpenMP runtime without it, gives None.
    """
    if "OpenMP" not in torch.__config__.parallel_info():
        return None
    torch_dir = os.path.realpath(os.path.dirname(torch.__file__)) + os.sep
    try:
        libraries = [
            info["filepath"]
            for info in threadpool_info()
            if info["internal_api"] == "openmp"
        ]
    except Exception:  # threadpoolctl could not inspect this process
        return None
    # torch's own copy (pip wheels bundle one), or the only runtime loaded.
    own = [path for path in libraries if os.path.realpath(path).startswith(torch_dir)]
    for path in own or (libraries if len(libraries) == 1 else []):
        try:
            parallel = ctypes.CDLL(path).GOMP_parallel
        except (OSError, AttributeError):
            continue
        parallel.argtypes = [_TEAM_TASK, ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint]
        parallel.restype = None
        return parallel
    return None


def _set_team_flush(on, n_threads):
    """Set the flush on each thread of this thread's ``n_threads`` OpenMP team.

    FTZ and DAZ, the flags :func:`torch.set_flush_denormal` sets, are per thread
    (the x86 MXCSR register), and OpenMP's worker threads take them from the
    thread that starts them, once: a pool started before the flush computes its
    share of each parallel kernel with denormals (measured: half the elements of
    a 2-thread multiplication). Returns whether the team was reached.
    """
    parallel = _openmp_parallel()
    if parallel is None or n_threads < 2:
        return False
    parallel(_TEAM_TASK(lambda _: torch.set_flush_denormal(on)), None, n_threads, 0)
    return True


@contextmanager
def _flushed_denormals():
    """Flush denormal floats to zero in the block; the caller's setting after it.

    Weight decay drives the weights of inputs that are always zero (MNIST's
    border pixels) towards zero, through the denormal range, where x86
    arithmetic is many times slower: 2 epochs of a 300-unit MLP on 20,000 MNIST
    images took twice as long. Flushed, such a value is zero at once. A CPU
    without the setting (``set_flush_denormal`` returns False) computes as
    before.

    The flush covers this thread and the OpenMP team of torch's current thread
    count (:func:`_set_team_flush`). Yields a function to call after changing
    the thread count in the block, which covers the new team; on exit, every
    team thread the block flushed gets the caller's setting back.
    """
    changed = not _flushing_denormals() and torch.set_flush_denormal(True)
    widest = 1

    def cover_team():
        nonlocal widest
        n_threads = torch.get_num_threads()
        if changed and n_threads > widest and _set_team_flush(True, n_threads):
            widest = n_threads

    cover_team()
    try:
        yield cover_team
    finally:
        if changed:
            torch.set_flush_denormal(False)
            _set_team_flush(False, widest)


# --------------------------------------------------------------------- the policy


@contextmanager
def torch_compute(module, rows, *, blas=False):
    """Run the block's steps of ``rows`` rows through ``module`` under the policy.

    Sets this thread's torch threads to :func:`torch_threads`; with ``blas``, a
    small problem (one torch thread) also limits BLAS to one thread (scipy's
    L-BFGS-B update is BLAS work on vectors of the parameters' size, where BLAS
    threads only wait for cores: on a busy machine, 100 iterations of a
    200-parameter problem took 2.3 s with them, 0.04 s without). Yields a
    function that applies the policy again (training calls it at each epoch, so
    that a fit gives up threads when others start). Denormal floats are flushed
    to zero in the block, on this thread and on torch's worker threads
    (:func:`_flushed_denormals`). The caller's thread count and denormal setting
    come back on exit.
    """
    previous = torch.get_num_threads()
    threads = torch_threads(module, rows)
    if previous != threads:
        torch.set_num_threads(threads)
    try:
        with _flushed_denormals() as cover_team:

            def refresh():
                threads = torch_threads(module, rows)
                if torch.get_num_threads() != threads:
                    torch.set_num_threads(threads)
                    cover_team()

            if blas and _one_thread(module, rows):
                with _one_blas_thread():
                    yield refresh
            else:
                yield refresh
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)
