"""The training machinery: the epoch loop, stopping, interrupts and checkpoints.

:class:`skae._base.BaseNeuralEstimator` is the estimator contract; it calls
:func:`train` to run the epochs of a skorch net under scikit-learn's stopping rule.
Nothing here knows which estimator it trains beyond the parameters it reads.
"""

import copy
import ctypes
import math
import signal
import threading
import warnings
import weakref
from contextlib import contextmanager, nullcontext
from functools import partial

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from skorch.callbacks import Callback, PrintLog
from torch.utils.data import TensorDataset

from skae._parallel import _one_blas_thread, _refresh_torch_threads
from skae._verbose import log_message, logging_callbacks


def _as_tensor(X):
    """Wrap ``X`` as a float32 CPU tensor, or a sparse ``X`` as :class:`SparseRows`.

    Copies only when dtype, order or read-only memory make it necessary (torch
    cannot wrap read-only arrays). Finite float64 values beyond float32's range
    would become infinite: a ValueError says so instead.
    """
    if sp.issparse(X):
        return SparseRows(X)
    wide = np.asarray(X).dtype.itemsize > 4
    with np.errstate(over="ignore"):
        X = np.ascontiguousarray(X, dtype=np.float32)
    _check_float32_range(X, wide)
    if not X.flags.writeable:
        X = X.copy()
    return torch.from_numpy(X)


def _check_float32_range(X, wide):
    if wide and not np.isfinite(X).all():
        raise ValueError(
            "Input X contains values too large for float32 (beyond "
            f"{np.finfo(np.float32).max:.3g} in absolute value), the precision skae "
            "computes in; scale X first, for example with StandardScaler."
        )


def _find_malloc_trim():
    try:
        return ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError):  # not glibc (macOS, Windows, musl)
        return None


_malloc_trim = _find_malloc_trim()

# Bytes densified between two trims (see SparseRows._dense).
_TRIM_BYTES = 2**28


class SparseRows:
    """A sparse matrix that hands out its rows as dense float32 tensors.

    Training and inference cut ``X`` into batches; only a batch is ever dense.
    A slice (``rows[start:stop]``) and ``index_select(0, idx)`` give a dense
    ``(batch, n_features)`` tensor; indexing with an index or boolean tensor
    (the validation split, the labelled rows) gives another :class:`SparseRows`.
    The matrix is kept as float32 CSR (one copy, the size of its non-zeros).

    With more than one torch thread, glibc's allocator keeps some of what each
    wide batch frees in its per-thread arenas instead of returning it: measured at
    100,000 features and 200 rows a batch, resident memory grew by 2.4 MB a batch,
    2.2 GB over one epoch of 200,000 rows. After every ``_TRIM_BYTES`` (256 MB)
    densified, ``malloc_trim`` hands those pages back (a cost well below that of
    densifying them), so memory stays at a few batches' worth whatever the number
    of rows.
    """

    def __init__(self, X):
        wide = X.dtype.itemsize > 4
        with np.errstate(over="ignore"):
            X = sp.csr_matrix(X, dtype=np.float32)
        _check_float32_range(X.data, wide)
        self.X = X
        self.shape = X.shape
        self._densified = 0  # bytes since the last trim

    def __len__(self):
        return self.shape[0]

    def size(self, dim):
        return self.shape[dim]

    def _dense(self, rows):
        self._densified += 4 * rows.shape[0] * rows.shape[1]
        if _malloc_trim is not None and self._densified >= _TRIM_BYTES:
            self._densified = 0
            _malloc_trim(0)
        return torch.from_numpy(np.ascontiguousarray(rows.toarray()))

    def __getitem__(self, key):
        if isinstance(key, slice):
            return self._dense(self.X[key])
        key = np.asarray(key.cpu() if isinstance(key, torch.Tensor) else key)
        if key.dtype == bool:
            key = np.flatnonzero(key)
        return SparseRows(self.X[key])

    def index_select(self, dim, index):
        return self._dense(self.X[index.numpy()])


class _SparseDataset(torch.utils.data.Dataset):
    """``TensorDataset``'s role for a :class:`SparseRows` ``X`` and dense others."""

    def __init__(self, *tensors):
        self.tensors = tensors

    def __len__(self):
        return len(self.tensors[0])

    def __getitem__(self, i):
        return tuple(t[i : i + 1][0] for t in self.tensors)


def _batch_rows(X, rows):
    """Return the rows per batch of ``X`` at inference.

    A sparse ``X``'s densified batch is capped at about 64 MB, whatever its width.
    """
    if isinstance(X, SparseRows):
        return max(1, min(rows, 2**24 // max(1, X.shape[1])))
    return rows


@contextmanager
def _seeded_torch(seed, device):
    """Seed torch for the block, then give the caller back its own RNG state."""
    device = torch.device(device)
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


# Rows per forward pass of L-BFGS's full-batch objective: bounds the memory of
# the activations whatever n_samples is.
_LBFGS_CHUNK = 8192


class _Interrupted(Exception):
    """Ctrl-C was pressed during training; raised between two batches."""


class FitInterruptedWarning(UserWarning):
    """Warning that ``fit`` stopped at Ctrl-C and kept its last complete epoch.

    Pressing Ctrl-C while a skae estimator trains ends training after the current
    batch. The estimator keeps the weights, optimiser state and history of the last
    complete epoch (as if ``max_iter`` had been that number of epochs), ``fit``
    returns normally and this warning says so. A second Ctrl-C raises
    ``KeyboardInterrupt`` at once; the estimator is then put back as it was before
    ``fit``. Without a complete epoch in a first fit there is nothing to keep: the
    estimator stays unfitted and ``KeyboardInterrupt`` propagates.

    Examples
    --------
    >>> import warnings
    >>> from skae import FitInterruptedWarning
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", FitInterruptedWarning)  # Ctrl-C: an error
    """


# The flag a Ctrl-C sets while a skae fit owns SIGINT (main thread only).
_interrupt = None


def _interrupt_requested():
    return (
        _interrupt is not None
        and _interrupt.is_set()
        and threading.current_thread() is threading.main_thread()
    )


@contextmanager
def _deferred_interrupts():
    """Turn Ctrl-C into a flag that training reads between batches.

    Yields True when this call installed the handler: the outermost fit of the main
    thread, where Python's default SIGINT handler is in place (a handler the user
    installed, or an ignored SIGINT, is left alone). A second Ctrl-C raises
    KeyboardInterrupt at once.
    """
    global _interrupt
    if (
        _interrupt is not None
        or threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield False
        return
    flag = threading.Event()

    def handler(signum, frame):
        if flag.is_set():
            raise KeyboardInterrupt
        flag.set()

    signal.signal(signal.SIGINT, handler)
    _interrupt = flag
    try:
        yield True
    finally:
        _interrupt = None
        signal.signal(signal.SIGINT, signal.default_int_handler)


class _InterruptCheck(Callback):
    """skorch's per-batch loop stops between batches on Ctrl-C, as skae's does."""

    def on_batch_end(self, net, **kwargs):
        if _interrupt_requested():
            raise _Interrupted


def _batch_loss(net, Xb, yb, wb):
    """Return a batch's loss: the criterion's mean, or its weighted mean.

    With sample weights, each sample's loss counts by its weight, as in
    scikit-learn: ``sum(w * loss) / sum(w)`` over the batch (zero for a batch whose
    weights are all zero).
    """
    output = net.module_(Xb)
    if wb is None:
        return net.get_loss(output, yb, X=Xb, training=True)
    losses = net.criterion_.per_sample(output, yb)
    return (losses * wb).sum() / wb.sum().clamp(min=torch.finfo(wb.dtype).tiny)


def _run_epoch(net, dataset, *, has_target, weighted, per_batch_callbacks, penalty):
    """Train ``net`` for one epoch, as ``net.fit_loop(dataset, epochs=1)`` does.

    skorch's loop notifies every callback and reads the loss back (``.item()``) at
    every batch, which costs several percent of a small model's training time. This
    loop does only the train steps; it writes the same per-batch history (losses and
    batch sizes) after the epoch, so skorch's epoch-level callbacks (timer, loss
    scoring, log) see what they would have seen. ``per_batch_callbacks`` notifies
    the batch-level callbacks too (a progress bar). A batch of ``dataset`` is
    ``(X, y, w)`` with ``y`` only when ``has_target`` (else ``X`` is the target)
    and ``w`` only when ``weighted``. ``penalty()`` is the L2 term that the loss
    curve includes, as scikit-learn's does, evaluated once at the epoch's end.
    """
    net.notify("on_epoch_begin", dataset_train=dataset, dataset_valid=None)
    module, optimizer, device = net.module_, net.optimizer_, net.device
    module.train()
    net.criterion_.train()
    # What optimizer.zero_grad() does (set_to_none), without its per-call wrappers
    # (dynamo's disable and the profiler's record_function): 3 % of a digits fit.
    params = [p for group in optimizer.param_groups for p in group["params"]]
    losses, sizes = [], []
    for batch in net.get_iterator(dataset, training=True):
        Xb = batch[0].to(device)
        yb = batch[1].to(device) if has_target else Xb
        wb = batch[-1].to(device) if weighted else None
        for p in params:
            p.grad = None
        loss = _batch_loss(net, Xb, yb, wb)
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
        sizes.append(len(Xb))
        if per_batch_callbacks:
            # A progress bar reads each batch's row of the history as it ends:
            # write the rows as skorch's loop does, then tell the callbacks.
            net.history.new_batch()
            net.history.record_batch("train_loss", loss.item())
            net.history.record_batch("train_batch_size", len(Xb))
            for _, callback in net.callbacks_:
                callback.on_batch_end(net, batch=batch, training=True, loss=loss)
        if _interrupt_requested():
            raise _Interrupted
    history = net.history
    extra = penalty()
    if per_batch_callbacks:
        for row in history[-1]["batches"]:
            row["train_loss"] += extra
    else:
        for loss, size in zip(torch.stack(losses).tolist(), sizes, strict=True):
            history.new_batch()
            history.record_batch("train_loss", loss + extra)
            history.record_batch("train_batch_size", size)
    history.record("train_batch_count", len(sizes))
    net.notify("on_epoch_end", dataset_train=dataset, dataset_valid=None)


def _copy_into(dst, src):
    """Return a deep copy of ``src``, written into ``dst``'s tensors where it can.

    ``src`` is a state dict (nested dicts and lists of tensors and plain values);
    where ``dst`` has the same structure, its tensors get ``src``'s values in place.
    """
    if isinstance(src, torch.Tensor):
        if (
            isinstance(dst, torch.Tensor)
            and dst.shape == src.shape
            and dst.dtype == src.dtype
            and dst.device == src.device
        ):
            return dst.copy_(src)
        return src.detach().clone()
    if isinstance(src, dict):
        dst = dst if isinstance(dst, dict) else {}
        return {key: _copy_into(dst.get(key), value) for key, value in src.items()}
    if isinstance(src, list):
        dst = (
            dst if isinstance(dst, list) and len(dst) == len(src) else [None] * len(src)
        )
        return [_copy_into(d, value) for d, value in zip(dst, src, strict=True)]
    return copy.deepcopy(src)


class _Checkpoint:
    """A net's weights, optimiser state and history length at an epoch's end.

    With the training state (stopping rule, schedule) of that moment. Saved after
    every complete epoch while a fit can be interrupted, so that Ctrl-C can go back
    to the last complete epoch; copies into the same buffers each time.
    """

    def __init__(self, net, state):
        self.net, self.state = net, state
        self.weights = {
            k: v.detach().clone() for k, v in net.module_.state_dict().items()
        }
        self.optimizer = None
        self.save()

    def save(self):
        net = self.net
        for key, value in net.module_.state_dict().items():
            self.weights[key].copy_(value)
        # A deepcopy of the optimiser state at every epoch was 10 % of a digits
        # fit; copying into the tensors of the previous copy is a few memcpys.
        self.optimizer = _copy_into(self.optimizer, net.optimizer_.state_dict())
        self.n_epochs = len(net.history)
        self.state_copy = dict(self.state)

    def restore(self):
        net = self.net
        net.module_.load_state_dict(self.weights)
        net.optimizer_.load_state_dict(self.optimizer)
        del net.history[self.n_epochs :]
        self.state.update(self.state_copy)


class _ValidationScoring(Callback):
    """Record the estimator's score on held-out data at the end of each epoch.

    ``scorer`` is set only while a fit runs, so a fitted net holds no data. It
    scores in evaluation mode, as ``predict`` and ``score`` do: no dropout and no
    input corruption on the held-out rows.
    """

    def __init__(self):
        self.scorer = None

    def on_epoch_end(self, net, **kwargs):
        if self.scorer is None:
            return
        scores = [
            row["valid_score"] for row in net.history[:-1] if "valid_score" in row
        ]
        module = net.module_
        training = module.training
        module.eval()
        try:
            score = self.scorer()
        finally:
            module.train(training)
        net.history.record("valid_score", score)
        net.history.record("valid_score_best", score > max(scores, default=-np.inf))


def training_state():
    """Return what the stopping rule and schedule carry from one call to the next.

    scikit-learn keeps these between ``partial_fit`` calls and warm-started fits
    (``best_loss_``, ``_no_improvement_count``, the adaptive learning rate); a
    fresh fit starts a new state. A plain dict, so that it persists as data.
    """
    return {
        "best": None,  # the best training loss, or the best validation score
        "no_improvement": 0,
        "lr_scale": 1.0,  # what learning_rate="adaptive" has divided by so far
        "t": 0,  # training samples seen, scikit-learn's t_
    }


def _learning_rate(est, state):
    """Return the learning rate of the next epoch under ``est``'s schedule."""
    schedule = getattr(est, "learning_rate", "constant")
    if schedule == "invscaling":
        return est.learning_rate_init / (state["t"] + 1) ** est.power_t
    return est.learning_rate_init * state["lr_scale"]


def _validation_split(est, X, y, seed):
    """Split off ``validation_fraction`` of the rows, stratified for classifiers."""
    fraction = est.validation_fraction
    if not fraction:
        raise ValueError(
            "early_stopping=True holds out validation_fraction of the training "
            f"data, but validation_fraction={fraction}: set validation_fraction in "
            "(0, 1), for example 0.1, or set early_stopping=False."
        )
    stratify = y if is_classifier(est) and y is not None and y.ndim == 1 else None
    n_valid = math.ceil(fraction * len(X))
    n_classes = 0 if stratify is None else len(np.unique(stratify))
    if n_valid < n_classes:
        raise ValueError(
            f"early_stopping=True holds out validation_fraction={fraction} of "
            f"{len(X)} samples, {n_valid} rows, fewer than the {n_classes} classes "
            "the stratified split must put in it; raise validation_fraction to at "
            f"least {n_classes / len(X):.3g}, or set early_stopping=False."
        )
    train_idx, valid_idx = train_test_split(
        np.arange(len(X)),
        test_size=fraction,
        random_state=np.random.RandomState(seed),
        stratify=stratify,
    )
    if len(valid_idx) < 2:
        raise ValueError(
            "The validation set is too small. Increase 'validation_fraction' or "
            "the size of your dataset."
        )
    return train_idx, valid_idx


def _l2_penalty(est, net, batch_size):
    """scikit-learn's L2 term of a batch's loss, ``alpha / (2 b) * ||W||^2``."""
    if not est.alpha:
        return lambda: 0.0
    weights = [p for p in net.module_.parameters() if p.ndim > 1]

    def penalty():
        with torch.no_grad():
            total = sum(float(w.square().sum()) for w in weights)
        return 0.5 * est.alpha * total / batch_size

    return penalty


# Below this many floating-point operations per training step, one torch thread
# beats two: a step is then too short to pay for waking the thread pool, and on
# a busy machine the pool's threads wait for cores (measured on digits-sized
# MLPs: 16 ms against 111 ms per epoch with two other CPU-bound processes;
# docs/benchmarks.md).
_ONE_THREAD_FLOPS = 5e7


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


_N_WEIGHTS = weakref.WeakKeyDictionary()


# torch's fused optimiser steps run on the CPU from torch 2.4.
_FUSED_ON_CPU = tuple(int(v) for v in torch.__version__.split(".")[:2]) >= (2, 4)
_FUSABLE = (torch.optim.Adam, torch.optim.AdamW, torch.optim.SGD, torch.optim.Adagrad)


def _fuse_steps(optimizer):
    """Switch a CPU optimiser's groups to torch's fused step; return what to restore.

    The fused step updates a parameter in one kernel instead of a Python loop of
    element-wise operations: 15 % of a digits fit with Adam (measured,
    docs/benchmarks.md). The same update, up to float32 rounding, and as
    deterministic (element-wise). Only for the training calls of skae's own loop:
    the net keeps the optimiser as it was built. Returns ``[(group, old value)]``.
    """
    if not _FUSED_ON_CPU or type(optimizer) not in _FUSABLE:
        return []
    groups = optimizer.param_groups
    params = [p for group in groups for p in group["params"]]
    if not all(p.device.type == "cpu" and p.dtype == torch.float32 for p in params):
        return []
    old = []
    for group in groups:
        if group.get("fused") or group.get("foreach") or group.get("differentiable"):
            continue
        old.append((group, group.get("fused")))
        group["fused"] = True
    return old


def _check_finite(est, net, loss, n_epochs):
    # The loss is computed before each step: the epoch's last step can still have
    # made the weights infinite.
    if math.isfinite(loss) and all(
        torch.isfinite(p).all() for p in net.module_.parameters()
    ):
        return
    what = (
        f"the training loss is {loss}"
        if not math.isfinite(loss)
        else "the weights are no longer finite"
    )
    raise FloatingPointError(
        f"{type(est).__name__} diverged at epoch {n_epochs}: {what}. Lower "
        f"learning_rate_init (now {est.learning_rate_init}) or scale the input, "
        "for example with StandardScaler."
    )


def _drop_unlabelled(est, Xt, yt, wt):
    """Rows labelled -1 served the semi-supervised MLP's pretraining only."""
    if yt is None or not is_classifier(est) or yt.ndim != 1 or not (yt < 0).any():
        return Xt, yt, wt
    labelled = yt >= 0
    return Xt[labelled], yt[labelled], None if wt is None else wt[labelled]


def train(
    est,
    net,
    X,
    y,
    *,
    epochs,
    early_stopping,
    seed,
    sample_weight=None,
    state=None,
    warn=True,
    graceful=False,
):
    """Run up to ``epochs`` epochs, with scikit-learn's stopping rule and schedules.

    ``est`` is the estimator whose parameters rule training, ``net`` the skorch
    net to train (``est.net_``, or a layer's net during pretraining); ``state``
    (a :func:`training_state` dict, updated in place) carries the stopping rule and
    the schedule across calls; ``warn`` says whether running out of epochs
    warrants a ConvergenceWarning. With ``graceful``, Ctrl-C ends training after
    the current batch with the weights, optimiser state and history of the last
    complete epoch, and a FitInterruptedWarning: the result of the fit that
    ``max_iter`` = the completed epochs would have given. Without any complete
    epoch in a first fit there is nothing to keep: KeyboardInterrupt.

    Returns a dict: ``n_iter`` (epochs run), ``losses`` (their training losses),
    ``valid_scores`` (with early stopping) and ``converged``.
    """
    state = training_state() if state is None else state
    Xt = _as_tensor(X)
    yt = None if y is None else torch.as_tensor(y)
    wt = None
    if sample_weight is not None:
        wt = torch.as_tensor(np.asarray(sample_weight, dtype=np.float32))
    Xt, yt, wt = _drop_unlabelled(est, Xt, yt, wt)
    valid = None
    if early_stopping:
        train_idx, valid_idx = _validation_split(
            est, Xt, None if yt is None else yt.numpy(), seed
        )
        train_idx, valid_idx = torch.from_numpy(train_idx), torch.from_numpy(valid_idx)
        valid = [None if t is None else t[valid_idx] for t in (Xt, yt, wt)]
        Xt, yt, wt = (None if t is None else t[train_idx] for t in (Xt, yt, wt))
    tensors = [t for t in (Xt, yt, wt) if t is not None]
    sparse = isinstance(Xt, SparseRows)
    dataset = _SparseDataset(*tensors) if sparse else TensorDataset(*tensors)
    has_target, weighted = yt is not None, wt is not None

    batch_size = est._batch_size(len(Xt))
    net.batch_size = batch_size
    # The current learning_rate_init and alpha hold for continued training too.
    for group in net.optimizer_.param_groups:
        if any(p.ndim > 1 for p in group["params"]):
            group["weight_decay"] = est.alpha / batch_size
    net.callbacks = [
        ("valid_score", _ValidationScoring()),
        *logging_callbacks(est, net),
        ("interrupt", _InterruptCheck()),
    ]
    net.initialize_callbacks()
    # skae prints through its own callbacks (net.verbose is 0): skorch's table would
    # still be formatted, and thrown away, at every epoch (7 % of a digits fit).
    net.callbacks_ = [
        (name, cb) for name, cb in net.callbacks_ if not isinstance(cb, PrintLog)
    ]
    scoring = dict(net.callbacks_)["valid_score"]
    if valid is not None:
        Xv, yv, wv = valid
        kwargs = {} if wv is None else {"sample_weight": wv}
        scoring.scorer = partial(est._score_tensors, Xv, yv, **kwargs)

    best_state = None
    if state["best"] is None:
        state["best"] = -np.inf if early_stopping else np.inf
    converged = False
    # skae's loop serves every net but those of another class (Accelerate's),
    # which need skorch's own.
    fast = type(net) is est._net_class
    if weighted and not fast:
        raise ValueError(
            f"sample_weight is not supported with device={est.device!r}; train on "
            "one device, or repeat rows in proportion to their weights."
        )
    penalty = _l2_penalty(est, net, batch_size)
    # Only a progress bar (verbose=2, on a terminal) needs to hear of each batch.
    per_batch = "progress_bar" in dict(net.callbacks_)
    threads = 1 if _one_thread(net.module_, batch_size) else None
    checkpoint = _Checkpoint(net, state) if graceful else None
    interrupted = False
    n_before = len(net.history)
    unfuse = _fuse_steps(net.optimizer_) if fast else []
    net.notify("on_train_begin", X=dataset, y=None)
    try:
        for _ in range(epochs):
            _refresh_torch_threads(cap=threads)
            lr = _learning_rate(est, state)
            for group in net.optimizer_.param_groups:
                group["lr"] = lr
            try:
                if fast:
                    _run_epoch(
                        net,
                        dataset,
                        has_target=has_target,
                        weighted=weighted,
                        per_batch_callbacks=per_batch,
                        penalty=penalty,
                    )
                else:
                    net.fit_loop(dataset, None, epochs=1)
            except _Interrupted:
                if checkpoint is None or not checkpoint.n_epochs:
                    raise KeyboardInterrupt from None
                checkpoint.restore()
                interrupted = True
                break
            state["t"] += len(Xt)
            row = net.history[-1]
            loss = row["train_loss"]
            _check_finite(est, net, loss, len(net.history))
            if early_stopping:
                # Validation score: higher is better.
                score = row["valid_score"]
                improved = score >= state["best"] + est.tol
                if score > state["best"]:
                    state["best"] = score
                    best_state = {
                        k: v.detach().clone()
                        for k, v in net.module_.state_dict().items()
                    }
            else:
                improved = loss <= state["best"] - est.tol
                state["best"] = min(state["best"], loss)
            state["no_improvement"] = 0 if improved else state["no_improvement"] + 1
            if state["no_improvement"] > est.n_iter_no_change:
                what = "Validation score" if early_stopping else "Training loss"
                message = (
                    f"{what} did not improve more than tol={est.tol} for "
                    f"{est.n_iter_no_change} consecutive epochs."
                )
                adaptive = getattr(est, "learning_rate", None) == "adaptive"
                if adaptive and lr / 5 > 1e-6:
                    state["lr_scale"] /= 5
                    state["no_improvement"] = 0
                    if est.verbose:
                        log_message(
                            net, f"{message} Setting learning rate to {lr / 5:g}"
                        )
                else:
                    converged = True
                    if est.verbose:
                        log_message(net, f"{message} Stopping.")
                    break
            if checkpoint is not None:
                checkpoint.save()
    finally:
        for group, fused in unfuse:
            group["fused"] = fused
        scoring.scorer = None
        net.notify("on_train_end", X=dataset, y=None)
        net.module_.eval()
    if best_state is not None:
        net.module_.load_state_dict(best_state)
    rows = net.history[n_before:]
    if interrupted:
        warnings.warn(
            f"{type(est).__name__}.fit was interrupted (Ctrl-C) during epoch "
            f"{len(net.history) + 1}; it keeps the {len(net.history)} complete "
            "epochs: n_iter_, loss_curve_ and the weights are theirs.",
            FitInterruptedWarning,
            stacklevel=6,
        )
    elif warn and epochs > 1 and not converged:
        warnings.warn(
            f"Stochastic Optimizer: Maximum iterations ({est.max_iter}) reached "
            "and the optimization hasn't converged yet.",
            ConvergenceWarning,
            stacklevel=6,
        )
    return {
        "n_iter": len(rows),
        "losses": [float(row["train_loss"]) for row in rows],
        "valid_scores": (
            [row["valid_score"] for row in rows] if early_stopping else None
        ),
        "converged": converged,
    }


def train_lbfgs(est, net, X, y, *, sample_weight=None):
    """Fit ``net`` by full-batch L-BFGS-B on its torch gradients, as scikit-learn.

    The objective is the mean (or weighted mean) loss over all samples plus
    ``alpha / (2 * n) * ||W||^2`` (``n``: the sum of the weights); scipy's
    ``L-BFGS-B`` runs with ``maxiter=max_iter``, ``maxfun=max_fun`` and
    ``gtol=tol``. Parameters are float32 in the module and float64 in scipy. The
    loss and its gradient are accumulated over chunks of rows, so memory is that
    of one chunk's activations.

    Returns a dict as :func:`train` does, with ``n_iter`` L-BFGS iterations and
    ``losses`` the objective after each.
    """
    from scipy.optimize import minimize
    from sklearn.utils.optimize import _check_optimize_result

    Xt = _as_tensor(X)
    yt = None if y is None else torch.as_tensor(y)
    wt = None
    if sample_weight is not None:
        wt = torch.as_tensor(np.asarray(sample_weight, dtype=np.float32))
    Xt, yt, wt = _drop_unlabelled(est, Xt, yt, wt)
    module, criterion, device = net.module_, net.criterion_, net.device
    params = list(module.parameters())
    penalised = [p for p in params if p.ndim > 1]
    total_weight = float(len(Xt) if wt is None else wt.sum())
    chunk = _batch_rows(Xt, _LBFGS_CHUNK)
    if isinstance(Xt, SparseRows) and len(Xt) <= chunk:
        Xt = Xt[0 : len(Xt)]  # one chunk: densify once, not at every evaluation
    # An evaluation is a pass over all rows, a chunk at a time: small ones run
    # on one thread, as small training steps do.
    small = _one_thread(module, min(len(Xt), chunk))
    _refresh_torch_threads(cap=1 if small else None)
    curve = []

    def objective(theta):
        torch.nn.utils.vector_to_parameters(
            torch.from_numpy(theta).to(device=device, dtype=torch.float32), params
        )
        for p in params:
            p.grad = None
        value = 0.0
        for start in range(0, len(Xt), chunk):
            Xb = Xt[start : start + chunk].to(device)
            yb = Xb if yt is None else yt[start : start + chunk].to(device)
            losses = criterion.per_sample(module(Xb), yb)
            if wt is not None:
                losses = losses * wt[start : start + chunk].to(device)
            part = losses.sum() / total_weight
            part.backward()
            value += float(part.detach())
        if est.alpha:
            reg = sum(p.square().sum() for p in penalised)
            reg = reg * (0.5 * est.alpha / total_weight)
            reg.backward()
            value += float(reg.detach())
        grad = torch.nn.utils.parameters_to_vector([p.grad for p in params])
        return value, grad.detach().cpu().double().numpy()

    x0 = torch.nn.utils.parameters_to_vector(params).detach().cpu().double().numpy()
    module.train()
    criterion.train()
    # scipy's L-BFGS-B update is BLAS work on vectors of the parameters' size:
    # for a small model, BLAS threads only wait for cores (on a busy machine,
    # 100 iterations of a 200-parameter problem took 2.3 s with them, 0.04 s
    # without).
    blas = _one_blas_thread() if small else nullcontext()
    try:
        with blas:
            result = minimize(
                objective,
                x0,
                method="L-BFGS-B",
                jac=True,
                callback=lambda intermediate_result: curve.append(
                    float(intermediate_result.fun)
                ),
                options={
                    "maxfun": est.max_fun,
                    "maxiter": est.max_iter,
                    "gtol": est.tol,
                },
            )
    finally:
        module.eval()
    torch.nn.utils.vector_to_parameters(
        torch.from_numpy(result.x).to(device=device, dtype=torch.float32), params
    )
    _check_finite(est, net, float(result.fun), result.nit)
    n_iter = _check_optimize_result("lbfgs", result, est.max_iter)
    return {
        "n_iter": n_iter,
        "losses": curve or [float(result.fun)],
        "loss": float(result.fun),
        "valid_scores": None,
        "converged": result.success,
    }
