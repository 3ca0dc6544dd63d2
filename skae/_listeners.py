"""What happens around the training steps, as listeners of the loop's events.

:class:`skae._training.TrainingLoop` runs epochs of batches and tells a list of
:class:`TrainingListener` objects when a fit begins, an epoch begins, a batch
ends, an epoch ends and the fit ends. Each rule of scikit-learn's MLP training is
one small listener here, as skorch's callbacks (``EarlyStopping``, ``Checkpoint``)
and scikit-learn's optimisers (``iteration_ends``, ``trigger_stopping``) split
them: the learning-rate schedule, validation scoring, the divergence check, the
stopping rule, the Ctrl-C check and the rollback checkpoint, and the bridge to
the skorch net's own callbacks (its history, timer, progress bar and log).

What the stopping rule and schedule carry from one training call to the next
lives in a plain dict (:func:`training_state`) that they share.
"""

import copy
import math

import numpy as np
import torch
from skorch.callbacks import Callback, PrintLog

from skae._interrupts import _interrupt_requested, _Interrupted
from skae._verbose import log_message, logging_callbacks


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


class TrainingListener:
    """Something told of the training loop's events; every method is a no-op.

    ``loop`` is the :class:`skae._training.TrainingLoop` that runs: its ``net``,
    its ``dataset``, ``n_samples`` (rows per epoch), and during an epoch the
    losses of its batches so far (``batch_losses``, tensors) and their sizes
    (``batch_sizes``). A listener ends training after the current epoch by
    setting ``loop.stop = True`` in :meth:`on_epoch_end`.

    :meth:`on_batch_end` is called only for listeners whose
    :attr:`listens_to_batches` is true (by default, those that override it), so
    that a loop nobody listens to per batch reads no loss back from the device.
    """

    @property
    def listens_to_batches(self):
        return type(self).on_batch_end is not TrainingListener.on_batch_end

    def on_fit_begin(self, loop):
        """Hear that training starts: before the first epoch of this call."""

    def on_epoch_begin(self, loop):
        """Hear that an epoch starts."""

    def on_batch_end(self, loop, batch, loss):
        """Hear that a training step was taken; ``loss`` is its (device) tensor."""

    def on_epoch_end(self, loop):
        """Hear that an epoch ended, all of its batches taken."""

    def on_fit_end(self, loop):
        """Hear that training ends, completed or raising (``loop.completed``)."""


class LearningRateSchedule(TrainingListener):
    """scikit-learn's ``learning_rate``: "constant", "invscaling" or "adaptive".

    Sets the optimiser's learning rate at each epoch's start and counts the
    samples seen (scikit-learn's ``t_``) at its end, as ``iteration_ends`` does;
    :meth:`trigger_stopping` is asked by the stopping rule whether to stop, or
    (adaptive) to divide the learning rate by 5 and go on.
    """

    def __init__(self, est, state):
        self.est, self.state = est, state
        self.lr = None

    def learning_rate(self):
        """Return the learning rate of the next epoch under the schedule."""
        est, state = self.est, self.state
        schedule = getattr(est, "learning_rate", "constant")
        if schedule == "invscaling":
            return est.learning_rate_init / (state["t"] + 1) ** est.power_t
        return est.learning_rate_init * state["lr_scale"]

    def on_epoch_begin(self, loop):
        self.lr = self.learning_rate()
        for group in loop.net.optimizer_.param_groups:
            group["lr"] = self.lr

    def on_epoch_end(self, loop):
        self.state["t"] += loop.n_samples

    def trigger_stopping(self, loop, message):
        """Return whether training stops after ``message`` (no improvement)."""
        est = self.est
        adaptive = getattr(est, "learning_rate", None) == "adaptive"
        # scikit-learn's SGDOptimizer.trigger_stopping: the rate that just ran
        # decides, so that the last division may take it below 1e-6 once.
        if adaptive and self.lr > 1e-6:
            self.state["lr_scale"] /= 5
            if est.verbose:
                log_message(
                    loop.net, f"{message} Setting learning rate to {self.lr / 5:f}"
                )
            return False
        if est.verbose:
            too_small = " Learning rate too small." if adaptive else ""
            log_message(loop.net, f"{message}{too_small} Stopping.")
        return True


class ValidationScoring(TrainingListener):
    """Record the estimator's score on held-out data at the end of each epoch.

    ``scorer()`` returns the score (higher is better) and ``loss()``, when given,
    the training loss on the same rows; both run in evaluation mode, as
    ``predict`` and ``score`` do: no dropout and no input corruption on the
    held-out rows. The history row gets ``valid_score``, ``valid_score_best``
    and ``valid_loss``. The functions (which hold the held-out data) are dropped
    when the fit ends, so a fitted net holds no data.
    """

    def __init__(self, scorer, loss=None):
        self.scorer, self.loss = scorer, loss

    def on_epoch_end(self, loop):
        net = loop.net
        if not _finite_epoch(loop):
            # Diverged: DivergenceCheck says so once the epoch's loss is recorded;
            # scoring would fail first, on the held-out predictions' NaN.
            return
        scores = [
            row["valid_score"] for row in net.history[:-1] if "valid_score" in row
        ]
        module = net.module_
        training = module.training
        module.eval()
        try:
            score = self.scorer()
            loss = None if self.loss is None else self.loss()
        finally:
            module.train(training)
        net.history.record("valid_score", score)
        net.history.record("valid_score_best", score > max(scores, default=-np.inf))
        if loss is not None:
            net.history.record("valid_loss", loss)

    def on_fit_end(self, loop):
        self.scorer = self.loss = None


def _finite_epoch(loop):
    """Whether the epoch's weights and batch losses (if kept) are finite."""
    losses = loop.batch_losses
    if losses and not torch.isfinite(torch.stack(losses)).all():
        return False
    return all(torch.isfinite(p).all() for p in loop.net.module_.parameters())


class SkorchCallbacks(TrainingListener):
    """The skorch net's own callbacks and history, told of the loop's events.

    skorch's timer and loss scoring, and skae's progress bar and epoch line
    (:func:`skae._verbose.logging_callbacks`), hear of the events as in skorch's
    own loop. On skae's fast path (``fast``), reading each batch's loss back
    (``.item()``) costs several percent of a small model's training time: the
    batch rows of the history are written after the epoch, with the L2 term
    ``penalty()`` added to each loss (the loss curve includes it, as
    scikit-learn's does), unless a progress bar asks for each batch as it ends.
    Otherwise skorch's ``run_single_epoch`` writes them, and a callback brings its
    batch events back to the loop's listeners (the Ctrl-C check).
    """

    def __init__(self, est, net, *, fast, penalty):
        self.net, self.fast, self.penalty = net, fast, penalty
        callbacks = logging_callbacks(est, net)
        if not fast:
            callbacks.append(("batch_events", _BatchEvents()))
        net.callbacks = callbacks
        net.initialize_callbacks()
        # skae prints through its own callbacks (net.verbose is 0): skorch's table
        # would still be formatted, and thrown away, at every epoch (7 % of a
        # digits fit).
        net.callbacks_ = [
            (name, cb) for name, cb in net.callbacks_ if not isinstance(cb, PrintLog)
        ]
        # Only a progress bar (verbose=2, on a terminal) needs to hear of each batch.
        self.per_batch = fast and "progress_bar" in dict(net.callbacks_)

    @property
    def listens_to_batches(self):
        return self.per_batch

    def on_fit_begin(self, loop):
        for _, cb in self.net.callbacks_:
            if isinstance(cb, _BatchEvents):
                cb.loop = loop
        self.net.notify("on_train_begin", X=loop.dataset, y=None)

    def on_epoch_begin(self, loop):
        self.net.notify(
            "on_epoch_begin", dataset_train=loop.dataset, dataset_valid=None
        )

    def on_batch_end(self, loop, batch, loss):
        # A progress bar reads each batch's row of the history as it ends: write
        # the rows as skorch's loop does, then tell the callbacks.
        net = self.net
        net.history.new_batch()
        net.history.record_batch("train_loss", loss.item())
        net.history.record_batch("train_batch_size", loop.batch_sizes[-1])
        for _, callback in net.callbacks_:
            callback.on_batch_end(net, batch=batch, training=True, loss=loss)

    def on_epoch_end(self, loop):
        net = self.net
        if self.fast:
            history = net.history
            extra = self.penalty()
            if self.per_batch:
                for row in history[-1]["batches"]:
                    row["train_loss"] += extra
            else:
                losses = torch.stack(loop.batch_losses).tolist()
                for loss, size in zip(losses, loop.batch_sizes, strict=True):
                    history.new_batch()
                    history.record_batch("train_loss", loss + extra)
                    history.record_batch("train_batch_size", size)
            history.record("train_batch_count", len(loop.batch_sizes))
        net.notify("on_epoch_end", dataset_train=loop.dataset, dataset_valid=None)

    def on_fit_end(self, loop):
        self.net.notify("on_train_end", X=loop.dataset, y=None)
        for _, cb in self.net.callbacks_:
            if isinstance(cb, _BatchEvents):
                cb.loop = None


class _BatchEvents(Callback):
    """A skorch callback that passes skorch's batch ends on to the loop's listeners."""

    loop = None

    def on_batch_end(self, net, batch=None, training=None, loss=None, **kwargs):
        if training and self.loop is not None:
            self.loop.batch_end(batch, loss)


class DivergenceCheck(TrainingListener):
    """Stop with a FloatingPointError when the loss or the weights are not finite.

    The loss is computed before each step: the epoch's last step can still have
    made the weights infinite, so they are checked too.
    """

    def __init__(self, est):
        self.est = est

    def on_epoch_end(self, loop):
        net = loop.net
        check_finite(self.est, net, net.history[-1]["train_loss"], len(net.history))


def check_finite(est, net, loss, n_epochs):
    """Raise a FloatingPointError unless ``loss`` and ``net``'s weights are finite."""
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


class StoppingRule(TrainingListener):
    """scikit-learn's stopping rule: ``n_iter_no_change`` epochs without ``tol``.

    Without early stopping, an epoch improves when its training loss is at least
    ``tol`` below the best so far; with it, when its validation score is at least
    ``tol`` above the best, and the weights of the best-scoring epoch are put back
    when the fit ends. After more than ``n_iter_no_change`` epochs without
    improvement, the schedule decides (``trigger_stopping``): stop, or go on with
    a smaller learning rate. ``converged`` says whether the rule stopped training.
    """

    def __init__(self, est, state, schedule, *, early_stopping):
        self.est, self.state, self.schedule = est, state, schedule
        self.early_stopping = early_stopping
        self.best_weights = None
        self.converged = False

    def on_fit_begin(self, loop):
        if self.state["best"] is None:
            self.state["best"] = -np.inf if self.early_stopping else np.inf

    def on_epoch_end(self, loop):
        est, state, net = self.est, self.state, loop.net
        row = net.history[-1]
        if self.early_stopping:
            score = row["valid_score"]
            improved = score >= state["best"] + est.tol
            if score > state["best"]:
                state["best"] = score
                self.best_weights = {
                    k: v.detach().clone() for k, v in net.module_.state_dict().items()
                }
        else:
            loss = row["train_loss"]
            improved = loss <= state["best"] - est.tol
            state["best"] = min(state["best"], loss)
        state["no_improvement"] = 0 if improved else state["no_improvement"] + 1
        if state["no_improvement"] > est.n_iter_no_change:
            what = "Validation score" if self.early_stopping else "Training loss"
            message = (
                f"{what} did not improve more than tol={est.tol:f} for "
                f"{est.n_iter_no_change} consecutive epochs."
            )
            if self.schedule.trigger_stopping(loop, message):
                self.converged = loop.stop = True
            else:
                state["no_improvement"] = 0

    def on_fit_end(self, loop):
        if loop.completed and self.best_weights is not None:
            loop.net.module_.load_state_dict(self.best_weights)


class InterruptCheck(TrainingListener):
    """End training between two batches once Ctrl-C was pressed (``_Interrupted``)."""

    def on_batch_end(self, loop, batch, loss):
        if _interrupt_requested():
            raise _Interrupted


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


class RollbackCheckpoint(TrainingListener):
    """The net's weights, optimiser state and history at the last complete epoch.

    With the training state (stopping rule, schedule) of that moment. Saved when
    the fit begins and after every complete epoch, so that Ctrl-C can go back to
    the last complete epoch (:meth:`restore`); copies into the same buffers each
    time. It must listen after the rules that update the state at an epoch's end.
    """

    def __init__(self, net, state):
        self.net, self.state = net, state
        self.weights = None
        self.optimizer = None
        self.n_epochs = 0

    def on_fit_begin(self, loop):
        self.weights = {
            k: v.detach().clone() for k, v in self.net.module_.state_dict().items()
        }
        self.save()

    def on_epoch_end(self, loop):
        if not loop.stop:
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
        """Go back to the last save; return False when it holds no complete epoch."""
        if not self.n_epochs:
            return False
        net = self.net
        net.module_.load_state_dict(self.weights)
        net.optimizer_.load_state_dict(self.optimizer)
        del net.history[self.n_epochs :]
        self.state.update(self.state_copy)
        return True
