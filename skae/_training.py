"""The training loop: epochs of mini-batch steps, told to listeners as events.

:class:`skae._base.BaseNeuralEstimator` is the estimator contract; it calls
:func:`train` (or :func:`train_lbfgs`) to train a skorch net under scikit-learn's
rules. :func:`train` prepares the tensors, builds the listeners that carry those
rules (:mod:`skae._listeners`: schedule, validation scoring, stopping, Ctrl-C,
rollback) and runs a :class:`TrainingLoop`, which only iterates epochs and
batches and tells the listeners. Nothing here knows which estimator it trains
beyond the parameters it reads.
"""

import math
import warnings
from contextlib import contextmanager

import numpy as np
import torch
from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skae._interrupts import (  # _deferred_interrupts: imported from here by tests
    FitInterruptedWarning,
    _deferred_interrupts,  # noqa: F401
    _Interrupted,
)
from skae._listeners import (
    DivergenceCheck,
    InterruptCheck,
    LearningRateSchedule,
    RollbackCheckpoint,
    SkorchCallbacks,
    StoppingRule,
    ValidationScoring,
    check_finite,
    training_state,
)
from skae._threads import torch_compute
from skae.nn.data import SparseRows, as_tensor, batch_rows, make_dataset

__all__ = ["FitInterruptedWarning", "TrainingLoop", "train", "train_lbfgs"]


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


def training_tensors(est, X, y, sample_weight):
    """Return ``X``, ``y`` and the sample weights as tensors, the unlabelled dropped.

    ``X`` (or :class:`~skae.nn.data.SparseRows`), float ``y`` and the weights
    are in the dtype ``est``'s net computes in; ``y`` and the weights are None
    when not given. Rows labelled -1 served the semi-supervised MLP's
    pretraining only and are dropped.
    """
    dtype = est._compute_dtype()
    np_dtype = np.float32 if dtype == torch.float32 else np.float64
    Xt = as_tensor(X, dtype)
    yt = None if y is None else torch.as_tensor(_float_targets(y, np_dtype))
    wt = None
    if sample_weight is not None:
        weights = np.asarray(sample_weight, dtype=np.float64)
        if weights.size and weights.max() > np.finfo(np_dtype).max:
            raise ValueError(
                f"sample_weight has values too large for {np.dtype(np_dtype).name}, "
                "the precision skae computes in; rescale the weights (only their "
                "ratios count)."
            )
        wt = torch.as_tensor(weights.astype(np_dtype))
    if yt is None or not is_classifier(est) or yt.ndim != 1 or not (yt < 0).any():
        return Xt, yt, wt
    labelled = yt >= 0
    return Xt[labelled], yt[labelled], None if wt is None else wt[labelled]


def _float_targets(y, dtype):
    """Return ``y`` with floats as a copy in ``dtype`` (labels as they are).

    A copy: torch cannot wrap a read-only array (a pandas Series' values).
    """
    y = np.asarray(y)
    if y.dtype.kind != "f":
        return y
    with np.errstate(over="ignore"):
        cast = y.astype(dtype)
    if (np.isinf(cast) & np.isfinite(y)).any():
        raise ValueError(
            "y contains values too large for float32, the precision skae "
            "computes in; scale y first."
        )
    return cast


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


def _heldout_loss(net, Xt, yt, wt, penalty):
    """Return a function of no argument: the training loss on held-out rows.

    The criterion's (weighted) mean over the rows plus the L2 term ``penalty()``,
    as each training loss of the loss curve, computed as the net's module and
    criterion are (evaluation mode is the caller's).
    """
    chunk = batch_rows(Xt, _LBFGS_CHUNK)
    total_weight = float(len(Xt) if wt is None else wt.sum())

    def loss():
        value = 0.0
        with torch.no_grad():
            for start in range(0, len(Xt), chunk):
                Xb = Xt[start : start + chunk].to(net.device)
                yb = Xb if yt is None else yt[start : start + chunk].to(net.device)
                losses = net.criterion_.per_sample(net.module_(Xb), yb).double()
                if wt is not None:
                    losses = losses * wt[start : start + chunk].to(losses)
                value += float(losses.sum())
        return value / max(total_weight, np.finfo(np.float64).tiny) + penalty()

    return loss


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

# torch's fused optimiser steps run on the CPU from torch 2.4.
_FUSED_ON_CPU = tuple(int(v) for v in torch.__version__.split(".")[:2]) >= (2, 4)
_FUSABLE = (torch.optim.Adam, torch.optim.AdamW, torch.optim.SGD, torch.optim.Adagrad)


def _fuse_steps(optimizer):
    """Switch a CPU optimiser's groups to torch's fused step; return what to restore.

    The fused step updates a parameter in one kernel instead of a Python loop of
    element-wise operations: 15 % of a digits fit with Adam (measured,
    in the development notes on benchmarks). The same update, up to rounding, and as
    deterministic (element-wise). Only for the training calls of skae's own loop:
    the net keeps the optimiser as it was built. Returns ``[(group, old value)]``.
    """
    if not _FUSED_ON_CPU or type(optimizer) not in _FUSABLE:
        return []
    groups = optimizer.param_groups
    params = [p for group in groups for p in group["params"]]
    floats = (torch.float32, torch.float64)
    if not all(p.device.type == "cpu" and p.dtype in floats for p in params):
        return []
    old = []
    for group in groups:
        if group.get("fused") or group.get("foreach") or group.get("differentiable"):
            continue
        old.append((group, group.get("fused")))
        group["fused"] = True
    return old


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


class TrainingLoop:
    """Epochs of mini-batch training steps on a skorch net, told to listeners.

    :meth:`run` iterates epochs and, in each, the batches of ``dataset``; it tells
    each :class:`~skae._listeners.TrainingListener` of ``listeners`` (in their
    order) when the fit begins, an epoch begins, a batch ends (only those that
    listen to batches), an epoch ends and the fit ends. Everything else, from the
    learning rate to stopping and Ctrl-C, is a listener's.

    On the fast path (``fast``, skae's own step) a batch of ``dataset`` is
    ``(X, y, w)`` with ``y`` only when ``has_target`` (else ``X`` is the target)
    and ``w`` only when ``weighted``; ``batch_loss(net, Xb, yb, wb)`` is a
    batch's loss. Unless a listener listens to batches, no loss is read back
    from the device during the epoch: the listeners find the epoch's losses
    (tensors) in ``batch_losses`` and its batch sizes in ``batch_sizes``.
    Otherwise (a net of another class, Accelerate's) skorch's ``train_step``
    runs each batch.

    A listener ends training after the epoch by setting ``stop``. Ctrl-C
    (``_Interrupted`` from a listener) goes back to ``checkpoint``'s last
    complete epoch and sets ``interrupted``; without one, or before any complete
    epoch, it raises KeyboardInterrupt. ``completed`` says that the epochs ran
    to their end, stopped or interrupted, without an error.
    """

    def __init__(
        self,
        net,
        dataset,
        listeners,
        *,
        fast=True,
        has_target=False,
        weighted=False,
        checkpoint=None,
        batch_loss=_batch_loss,
    ):
        self.net, self.dataset, self.listeners = net, dataset, list(listeners)
        self.fast, self.has_target, self.weighted = fast, has_target, weighted
        self.checkpoint, self.batch_loss = checkpoint, batch_loss
        self.n_samples = len(dataset)
        self.batch_losses, self.batch_sizes = [], []
        self.stop = self.completed = self.interrupted = False

    def _notify(self, event):
        for listener in self.listeners:
            getattr(listener, event)(self)

    def batch_end(self, batch, loss):
        """Tell the listeners that listen to batches that a step was taken."""
        for listener in self._batch_listeners:
            listener.on_batch_end(self, batch, loss)

    def run(self, epochs):
        """Train for up to ``epochs`` epochs; return self."""
        net = self.net
        self.stop = self.completed = self.interrupted = False
        self._batch_listeners = [
            listener for listener in self.listeners if listener.listens_to_batches
        ]
        with torch_compute(net.module_, net.batch_size) as refresh_threads:
            self._notify("on_fit_begin")
            unfuse = _fuse_steps(net.optimizer_) if self.fast else []
            try:
                for _ in range(epochs):
                    refresh_threads()
                    self._notify("on_epoch_begin")
                    try:
                        self._run_batches()
                    except _Interrupted:
                        if self.checkpoint is None or not self.checkpoint.restore():
                            raise KeyboardInterrupt from None
                        self.interrupted = True
                        break
                    self._notify("on_epoch_end")
                    if self.stop:
                        break
                self.completed = True
            finally:
                for group, fused in unfuse:
                    group["fused"] = fused
                self._notify("on_fit_end")
                net.module_.eval()
        return self

    def _run_batches(self):
        """Take one epoch's training steps."""
        net = self.net
        self.batch_losses, self.batch_sizes = [], []
        if not self.fast:
            net.run_single_epoch(
                net.get_iterator(self.dataset, training=True),
                training=True,
                prefix="train",
                step_fn=net.train_step,
            )
            return
        module, optimizer, device = net.module_, net.optimizer_, net.device
        module.train()
        net.criterion_.train()
        # What optimizer.zero_grad() does (set_to_none), without its per-call
        # wrappers (dynamo's disable and the profiler's record_function): 3 % of a
        # digits fit.
        params = [p for group in optimizer.param_groups for p in group["params"]]
        has_target, weighted = self.has_target, self.weighted
        batch_loss, batch_listeners = self.batch_loss, self._batch_listeners
        losses, sizes = self.batch_losses, self.batch_sizes
        for batch in net.get_iterator(self.dataset, training=True):
            Xb = batch[0].to(device)
            yb = batch[1].to(device) if has_target else Xb
            wb = batch[-1].to(device) if weighted else None
            for p in params:
                p.grad = None
            loss = batch_loss(net, Xb, yb, wb)
            loss.backward()
            optimizer.step()
            losses.append(loss.detach())
            sizes.append(len(Xb))
            for listener in batch_listeners:
                listener.on_batch_end(self, batch, loss)


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
    listeners=(),
):
    """Run up to ``epochs`` epochs, with scikit-learn's stopping rule and schedules.

    ``est`` is the estimator whose parameters rule training, ``net`` the skorch
    net to train (``est.net_``, or a layer's net during pretraining); ``state``
    (a :func:`~skae._listeners.training_state` dict, updated in place) carries the
    stopping rule and the schedule across calls; ``warn`` says whether running out
    of epochs warrants a ConvergenceWarning. With ``graceful``, Ctrl-C ends
    training after the current batch with the weights, optimiser state and
    history of the last complete epoch, and a FitInterruptedWarning: the result of
    the fit that ``max_iter`` = the completed epochs would have given. Without any
    complete epoch in a first fit there is nothing to keep: KeyboardInterrupt.
    ``listeners`` are told of the loop's events after skae's own.

    Returns a dict: ``n_iter`` (epochs run), ``losses`` (their training losses),
    ``valid_scores`` and ``valid_losses`` (with early stopping: the score and the
    training loss on the held-out rows) and ``converged``.
    """
    state = training_state() if state is None else state
    Xt, yt, wt = training_tensors(est, X, y, sample_weight)
    valid = None
    if early_stopping:
        train_idx, valid_idx = _validation_split(
            est, Xt, None if yt is None else yt.numpy(), seed
        )
        train_idx, valid_idx = torch.from_numpy(train_idx), torch.from_numpy(valid_idx)
        valid = [None if t is None else t[valid_idx] for t in (Xt, yt, wt)]
        Xt, yt, wt = (None if t is None else t[train_idx] for t in (Xt, yt, wt))
    dataset = make_dataset(*[t for t in (Xt, yt, wt) if t is not None])

    batch_size = est._batch_size(len(Xt))
    net.batch_size = batch_size
    # The current learning_rate_init and alpha hold for continued training too.
    for group in net.optimizer_.param_groups:
        if any(p.ndim > 1 for p in group["params"]):
            group["weight_decay"] = est.alpha / batch_size
    # skae's loop serves every net but those of another class (Accelerate's),
    # which need skorch's own step.
    fast = type(net) is est._net_class
    if wt is not None and not fast:
        raise ValueError(
            f"sample_weight is not supported with device={est.device!r}; train on "
            "one device, or repeat rows in proportion to their weights."
        )

    schedule = LearningRateSchedule(est, state)
    stopping = StoppingRule(est, state, schedule, early_stopping=early_stopping)
    checkpoint = RollbackCheckpoint(net, state) if graceful else None
    rules = [schedule]
    if valid is not None:
        Xv, yv, wv = valid
        kwargs = {} if wv is None else {"sample_weight": wv}
        rules.append(
            ValidationScoring(
                lambda: est._score_tensors(Xv, yv, **kwargs),
                loss=_heldout_loss(net, Xv, yv, wv, _l2_penalty(est, net, batch_size)),
            )
        )
    rules += [
        SkorchCallbacks(est, net, fast=fast, penalty=_l2_penalty(est, net, batch_size)),
        InterruptCheck(),
        DivergenceCheck(est),
        stopping,
    ]
    if checkpoint is not None:
        rules.append(checkpoint)
    n_before = len(net.history)
    loop = TrainingLoop(
        net,
        dataset,
        [*rules, *listeners],
        fast=fast,
        has_target=yt is not None,
        weighted=wt is not None,
        checkpoint=checkpoint,
    ).run(epochs)

    rows = net.history[n_before:]
    if loop.interrupted:
        warnings.warn(
            f"{type(est).__name__}.fit was interrupted (Ctrl-C) during epoch "
            f"{len(net.history) + 1}; it keeps the {len(net.history)} complete "
            "epochs: n_iter_, loss_curve_ and the weights are theirs.",
            FitInterruptedWarning,
            stacklevel=6,
        )
    elif warn and epochs > 1 and not loop.stop:
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
        "valid_losses": (
            [row["valid_loss"] for row in rows] if early_stopping else None
        ),
        "converged": stopping.converged,
    }


class _Iterations:
    """What :func:`train_lbfgs`'s listeners hear of as the loop: ``net``, ``stop``."""

    def __init__(self, net):
        self.net = net
        self.stop = self.completed = self.interrupted = False


def train_lbfgs(est, net, X, y, *, sample_weight=None, listeners=()):
    """Fit ``net`` by full-batch L-BFGS-B on its torch gradients, as scikit-learn.

    The objective is the mean (or weighted mean) loss over all samples plus
    ``alpha / (2 * n) * ||W||^2`` (``n``: the sum of the weights); scipy's
    ``L-BFGS-B`` runs with ``maxiter=max_iter``, ``maxfun=max_fun`` and
    ``gtol=tol``. Parameters are in the module's dtype (float32, or float64 for
    float64 data) and float64 in scipy. The loss and its gradient are
    accumulated over chunks of rows, so memory is that of one chunk's
    activations.

    ``listeners`` hear of each L-BFGS iteration as of an epoch, the weights of
    the iteration that ended in the module, and can end the iterations by
    setting ``stop``; they get no batch events.

    Returns a dict as :func:`train` does, with ``n_iter`` L-BFGS iterations and
    ``losses`` the objective after each.
    """
    from scipy.optimize import minimize
    from sklearn.utils.optimize import _check_optimize_result

    Xt, yt, wt = training_tensors(est, X, y, sample_weight)
    module, criterion, device = net.module_, net.criterion_, net.device
    params = list(module.parameters())
    dtype = params[0].dtype
    penalised = [p for p in params if p.ndim > 1]
    total_weight = float(len(Xt) if wt is None else wt.sum())
    chunk = batch_rows(Xt, _LBFGS_CHUNK)
    if isinstance(Xt, SparseRows) and len(Xt) <= chunk:
        Xt = Xt[0 : len(Xt)]  # one chunk: densify once, not at every evaluation
    curve = []

    def objective(theta):
        torch.nn.utils.vector_to_parameters(
            torch.from_numpy(theta).to(device=device, dtype=dtype), params
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

    listeners = list(listeners)
    loop = _Iterations(net)

    def notify(event):
        for listener in listeners:
            getattr(listener, event)(loop)

    def iteration_end(intermediate_result):
        curve.append(float(intermediate_result.fun))
        if not listeners:
            return
        # The module holds the line search's last trial, not always the iterate.
        torch.nn.utils.vector_to_parameters(
            torch.from_numpy(intermediate_result.x).to(device=device, dtype=dtype),
            params,
        )
        notify("on_epoch_end")
        if loop.stop:
            raise StopIteration
        notify("on_epoch_begin")

    x0 = torch.nn.utils.parameters_to_vector(params).detach().cpu().double().numpy()
    module.train()
    criterion.train()
    # An evaluation is a pass over all rows, a chunk at a time: small ones run on
    # one thread (and one BLAS thread), as small training steps do.
    try:
        with torch_compute(module, min(len(Xt), chunk), blas=True):
            notify("on_fit_begin")
            notify("on_epoch_begin")
            result = minimize(
                objective,
                x0,
                method="L-BFGS-B",
                jac=True,
                callback=iteration_end,
                options={
                    "maxfun": est.max_fun,
                    "maxiter": est.max_iter,
                    "gtol": est.tol,
                },
            )
            loop.completed = True
    finally:
        notify("on_fit_end")
        module.eval()
    torch.nn.utils.vector_to_parameters(
        torch.from_numpy(result.x).to(device=device, dtype=dtype), params
    )
    check_finite(est, net, float(result.fun), result.nit)
    if loop.stop:  # a listener ended the iterations: no convergence to check
        n_iter = result.nit
    else:
        n_iter = _check_optimize_result("lbfgs", result, est.max_iter)
    return {
        "n_iter": n_iter,
        "losses": curve or [float(result.fun)],
        "loss": float(result.fun),
        "valid_scores": None,
        "valid_losses": None,
        "converged": result.success,
    }
