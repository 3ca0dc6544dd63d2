"""The training machinery: the epoch loop, stopping, interrupts and checkpoints.

:class:`skae._base.BaseNeuralEstimator` is the estimator contract; it calls
:func:`train` to run the epochs of a skorch net under scikit-learn's stopping rule.
Nothing here knows which estimator it trains beyond the parameters it reads.
"""

import copy
import math
import signal
import threading
import warnings
from contextlib import contextmanager
from functools import partial

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from skorch.callbacks import Callback
from torch.utils.data import TensorDataset

from skae._parallel import _refresh_torch_threads
from skae._verbose import logging_callbacks


def _as_tensor(X):
    """Wrap ``X`` as a float32 CPU tensor.

    Copies only when dtype, order or read-only memory make it necessary (torch
    cannot wrap read-only arrays). Finite float64 values beyond float32's range
    would become infinite: a ValueError says so instead.
    """
    wide = np.asarray(X).dtype.itemsize > 4
    with np.errstate(over="ignore"):
        X = np.ascontiguousarray(X, dtype=np.float32)
    if wide and not np.isfinite(X).all():
        raise ValueError(
            "Input X contains values too large for float32 (beyond "
            f"{np.finfo(np.float32).max:.3g} in absolute value), the precision skae "
            "computes in; scale X first, for example with StandardScaler."
        )
    if not X.flags.writeable:
        X = X.copy()
    return torch.from_numpy(X)


@contextmanager
def _seeded_torch(seed, device):
    """Seed torch for the block, then give the caller back its own RNG state."""
    device = torch.device(device)
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


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


def _run_epoch(net, dataset):
    """Train ``net`` for one epoch, as ``net.fit_loop(dataset, epochs=1)`` does.

    skorch's loop notifies every callback and reads the loss back (``.item()``) at
    every batch, which costs several percent of a small model's training time. This
    loop does only the train steps; it writes the same per-batch history (losses and
    batch sizes) after the epoch, so skorch's epoch-level callbacks (timer, loss
    scoring, log) see what they would have seen.
    """
    net.notify("on_epoch_begin", dataset_train=dataset, dataset_valid=None)
    module, optimizer, device = net.module_, net.optimizer_, net.device
    module.train()
    net.criterion_.train()
    losses, sizes = [], []
    for Xb, yb in net.get_iterator(dataset, training=True):
        Xb, yb = Xb.to(device), yb.to(device)
        optimizer.zero_grad()
        loss = net.get_loss(module(Xb), yb, X=Xb, training=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
        sizes.append(len(Xb))
        if _interrupt_requested():
            raise _Interrupted
    history = net.history
    for loss, size in zip(torch.stack(losses).tolist(), sizes, strict=True):
        history.new_batch()
        history.record_batch("train_loss", loss)
        history.record_batch("train_batch_size", size)
    history.record("train_batch_count", len(sizes))
    net.notify("on_epoch_end", dataset_train=dataset, dataset_valid=None)


class _Checkpoint:
    """The weights, optimiser state and history length of a net at an epoch's end.

    Saved after every complete epoch while a fit can be interrupted, so that Ctrl-C
    can go back to the last complete epoch; copies into the same buffers each time.
    """

    def __init__(self, net):
        self.net = net
        self.weights = {
            k: v.detach().clone() for k, v in net.module_.state_dict().items()
        }
        self.optimizer = copy.deepcopy(net.optimizer_.state_dict())
        self.n_epochs = len(net.history)

    def save(self):
        net = self.net
        for key, value in net.module_.state_dict().items():
            self.weights[key].copy_(value)
        self.optimizer = copy.deepcopy(net.optimizer_.state_dict())
        self.n_epochs = len(net.history)

    def restore(self):
        net = self.net
        net.module_.load_state_dict(self.weights)
        net.optimizer_.load_state_dict(self.optimizer)
        del net.history[self.n_epochs :]


class _ValidationScoring(Callback):
    """Record the estimator's score on held-out data at the end of each epoch.

    ``scorer`` is set only while a fit runs, so a fitted net holds no data.
    """

    def __init__(self):
        self.scorer = None

    def on_epoch_end(self, net, **kwargs):
        if self.scorer is None:
            return
        scores = [
            row["valid_score"] for row in net.history[:-1] if "valid_score" in row
        ]
        score = self.scorer()
        net.history.record("valid_score", score)
        net.history.record("valid_score_best", score > max(scores, default=-np.inf))


def train(est, net, X, y, *, epochs, early_stopping, seed, warn=True, graceful=False):
    """Run up to ``epochs`` epochs through skorch, with sklearn's stopping rule.

    ``est`` is the estimator whose parameters rule training, ``net`` the skorch
    net to train (``est.net_``, or a layer's net during pretraining); ``warn``
    says whether running out of epochs warrants a ConvergenceWarning. With
    ``graceful``, Ctrl-C ends training after the current batch with the weights,
    optimiser state and history of the last complete epoch, and a
    FitInterruptedWarning: the result of the fit that ``max_iter`` = the completed
    epochs would have given. Without any complete epoch in a first fit there is
    nothing to keep: KeyboardInterrupt.
    """
    Xt = _as_tensor(X)
    yt = None if y is None else torch.as_tensor(y)
    if yt is not None and (yt < 0).any():
        # A negative target marks an unlabelled row (the semi-supervised MLP):
        # it served the unsupervised pretraining and has no supervised loss.
        labelled = yt >= 0
        Xt, yt, y = Xt[labelled], yt[labelled], y[labelled.numpy()]
    if early_stopping:
        train_idx, valid_idx = train_test_split(
            np.arange(len(Xt)),
            test_size=est.validation_fraction,
            random_state=np.random.RandomState(seed),
            stratify=y if yt is not None else None,
        )
        train_idx, valid_idx = (
            torch.from_numpy(train_idx),
            torch.from_numpy(valid_idx),
        )
        Xv, yv = Xt[valid_idx], None if yt is None else yt[valid_idx]
        Xt, yt = Xt[train_idx], None if yt is None else yt[train_idx]
    dataset = TensorDataset(Xt) if yt is None else TensorDataset(Xt, yt)

    batch_size = est._batch_size(len(Xt))
    net.batch_size = batch_size
    # The current learning_rate_init and alpha hold for continued training too.
    for group in net.optimizer_.param_groups:
        group["lr"] = est.learning_rate_init
        if any(p.ndim > 1 for p in group["params"]):
            group["weight_decay"] = est.alpha / batch_size
    net.callbacks = [
        ("valid_score", _ValidationScoring()),
        *logging_callbacks(est, net),
        ("interrupt", _InterruptCheck()),
    ]
    net.initialize_callbacks()
    scoring = dict(net.callbacks_)["valid_score"]
    if early_stopping:
        scoring.scorer = partial(est._score_tensors, Xv, yv)

    best_state = None
    # As sklearn's best_loss_, the best carries over from earlier calls.
    losses = (row["train_loss"] for row in net.history)
    best = -np.inf if early_stopping else min(losses, default=np.inf)
    no_improvement = 0
    converged = False
    # skae's own callbacks work per epoch; only the progress bar (verbose=2) and
    # nets of another class (e.g. Accelerate's) need skorch's per-batch loop.
    fast = est.verbose < 2 and type(net) is est._net_class
    checkpoint = _Checkpoint(net) if graceful else None
    interrupted = False
    net.notify("on_train_begin", X=dataset, y=None)
    try:
        for _ in range(epochs):
            _refresh_torch_threads()
            try:
                if fast:
                    _run_epoch(net, dataset)
                else:
                    net.fit_loop(dataset, None, epochs=1)
            except _Interrupted:
                if checkpoint is None or not checkpoint.n_epochs:
                    raise KeyboardInterrupt from None
                checkpoint.restore()
                interrupted = True
                break
            row = net.history[-1]
            loss = row["train_loss"]
            # The loss is computed before each step: the epoch's last step can
            # still have made the weights infinite.
            if not math.isfinite(loss) or not all(
                torch.isfinite(p).all() for p in net.module_.parameters()
            ):
                what = (
                    f"the training loss is {loss}"
                    if not math.isfinite(loss)
                    else "the weights are no longer finite"
                )
                raise FloatingPointError(
                    f"{type(est).__name__} diverged at epoch {len(net.history)}: "
                    f"{what}. Lower learning_rate_init "
                    f"(now {est.learning_rate_init}) or scale the input, for "
                    "example with StandardScaler."
                )
            if early_stopping:
                # Validation score: higher is better.
                score = row["valid_score"]
                no_improvement = no_improvement + 1 if score < best + est.tol else 0
                if score > best:
                    best = score
                    best_state = {
                        k: v.detach().clone()
                        for k, v in net.module_.state_dict().items()
                    }
            else:
                no_improvement = no_improvement + 1 if loss > best - est.tol else 0
                best = min(best, loss)
            if no_improvement > est.n_iter_no_change:
                converged = True
                if est.verbose:
                    what = "Validation score" if early_stopping else "Training loss"
                    print(
                        f"{what} did not improve more than tol={est.tol} for "
                        f"{est.n_iter_no_change} consecutive epochs. Stopping."
                    )
                break
            if checkpoint is not None:
                checkpoint.save()
    finally:
        scoring.scorer = None
        net.notify("on_train_end", X=dataset, y=None)
        net.module_.eval()
    if best_state is not None:
        net.module_.load_state_dict(best_state)
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
