"""How many threads skae computes on: one policy for training and inference.

- :func:`_share_torch_threads`: fits that run at the same time in one process (a
  search under joblib's threading backend) split the cores between them instead of
  each running a full-size torch thread pool. Worker processes need nothing from
  here: joblib's loky backend and Dask's nanny cap ``OMP_NUM_THREADS`` in each
  worker, and torch's thread pool follows it.
- :func:`torch_threads`: a step too small to pay for waking the thread pool runs
  on one thread (:func:`_one_thread`); any other on the fit's share of the cores.
- :func:`torch_compute`: the context in which training epochs, L-BFGS's
  evaluations and inference batches run, under that policy (and, for a small
  L-BFGS problem, with one BLAS thread), with denormal floats flushed to zero;
  the caller's settings come back on exit.
"""

import threading
import weakref
from contextlib import contextmanager

import torch
from threadpoolctl import threadpool_limits

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
    ``OMP_NUM_THREADS`` and ``threadpoolctl.threadpool_limits``). A fit alone
    keeps ``n``. The share is set on entry and again by
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
    return max(1, base // max(1, _active_fits))


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
    1-row ``predict`` (docs/benchmarks.md), and a module's shapes are fixed.
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


@contextmanager
def _flushed_denormals():
    """Flush denormal floats to zero in the block; the caller's setting after it.

    Weight decay drives the weights of inputs that are always zero (MNIST's
    border pixels) towards zero, through the denormal range, where x86
    arithmetic is many times slower: 2 epochs of a 300-unit MLP on 20,000 MNIST
    images took twice as long. Flushed, such a value is zero at once. A CPU
    without the setting (``set_flush_denormal`` returns False) computes as
    before.
    """
    changed = not _flushing_denormals() and torch.set_flush_denormal(True)
    try:
        yield
    finally:
        if changed:
            torch.set_flush_denormal(False)


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
    to zero in the block (:func:`_flushed_denormals`). The caller's thread count
    and denormal setting come back on exit.
    """
    previous = torch.get_num_threads()

    def refresh():
        threads = torch_threads(module, rows)
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)

    refresh()
    try:
        with _flushed_denormals():
            if blas and _one_thread(module, rows):
                with _one_blas_thread():
                    yield refresh
            else:
                yield refresh
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)
