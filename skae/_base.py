"""The base estimator: shared parameters, validation, the skorch net and training.

Every skae estimator is a plain scikit-learn estimator that builds a skorch net in
``fit`` and keeps it as ``net_``. This module owns what they share; a subclass says
which module and criterion to build, how to validate its data and how to score it.
"""

import copy
import math
import numbers
import signal
import threading
import warnings
from contextlib import contextmanager
from functools import partial

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from skorch.callbacks import Callback, ProgressBar
from torch.utils.data import TensorDataset

from skae._parallel import _refresh_torch_threads, _share_torch_threads
from skae.nn import ACTIVATIONS, TensorBatchIterator

FLOAT_DTYPES = (np.float64, np.float32)
_SOLVERS = {
    "adam": torch.optim.Adam,
    "adagrad": torch.optim.Adagrad,
    "sgd": torch.optim.SGD,
}
# Rows per forward pass at inference: large enough to keep the matrix products
# efficient, small enough that activations of wide models stay in cache-sized chunks.
_INFERENCE_BATCH = 4096


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


class BaseNeuralEstimator(BaseEstimator):
    """Base class of the skae estimators; not for direct use.

    Subclasses define ``__init__`` (the common parameters below plus their own),
    ``fit`` / ``partial_fit`` (which call :meth:`_fit`) and the hooks
    ``_validate_training_data``, ``_module_spec``, ``_criterion_spec`` and
    ``_score_tensors``; ``_net_class`` is the skorch class to build.
    """

    _parameter_constraints = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(numbers.Integral, 1, None, closed="left"),
        ],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "solver": [StrOptions(set(_SOLVERS))],
        "alpha": [Interval(numbers.Real, 0, None, closed="left")],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(numbers.Integral, 1, None, closed="left"),
        ],
        "learning_rate_init": [Interval(numbers.Real, 0, None, closed="neither")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(numbers.Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="left")],
        "beta_1": [Interval(numbers.Real, 0, 1, closed="left")],
        "beta_2": [Interval(numbers.Real, 0, 1, closed="left")],
        "epsilon": [Interval(numbers.Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
        "device": [StrOptions({"auto", "cpu", "cuda", "accelerate"})],
    }

    _net_class = None  # the skorch class, set by subclasses

    # ------------------------------------------------------------------ fitted state
    # Derived from the net's history, so that they can never disagree with it and a
    # failed fit that rolls the history back rolls them back too.

    @property
    def loss_curve_(self):
        return [float(row["train_loss"]) for row in self.net_.history]

    @property
    def n_iter_(self):
        return len(self.net_.history)

    @property
    def validation_scores_(self):
        scores = [
            row["valid_score"] for row in self.net_.history if "valid_score" in row
        ]
        return scores or None

    @property
    def best_validation_score_(self):
        scores = self.validation_scores_
        return None if scores is None else max(scores)

    @property
    def best_loss_(self):
        return None if self.validation_scores_ else min(self.loss_curve_)

    # --------------------------------------------------------------------- training

    def _fit(self, X, y, *, incremental, classes=None):
        """Validate, (re)build or continue the net, and train it.

        On any error the estimator is put back as it was before the call: unfitted,
        or fitted as before. Ctrl-C during the training epochs stops after the
        current batch and keeps the last complete epoch (see ``_train``); elsewhere
        (validation, pretraining) it is an error like any other.
        """
        fitted = hasattr(self, "net_")
        continuing = fitted and (incremental or self.warm_start)
        snapshot = self._snapshot(deep=continuing) if fitted else None
        with _deferred_interrupts() as graceful:
            try:
                X, y = self._validate_training_data(
                    X, y, reset=not continuing, incremental=incremental, classes=classes
                )
                device = self._resolve_device()
                rng = check_random_state(self.random_state)
                seed = rng.randint(np.iinfo(np.int32).max)
                if continuing:
                    # A new stream for each continued call, still fixed by random_state.
                    stream = np.random.SeedSequence([seed, self.n_iter_])
                    seed = int(stream.generate_state(1)[0])
                with _seeded_torch(seed, device), _share_torch_threads():
                    if not continuing:
                        self.net_ = self._make_net(X.shape[1], device)
                        self._pretrain(X, seed)
                    elif not incremental:
                        self.net_ = self._rebuild_net(self.net_, X.shape[1], device)
                    self._train(
                        X,
                        y,
                        epochs=1 if incremental else self.max_iter,
                        early_stopping=self.early_stopping and not incremental,
                        seed=seed,
                        graceful=graceful,
                    )
            except BaseException:
                self._restore(snapshot)
                raise
        return self

    def _make_net(self, n_features, device, module_spec=None, criterion_spec=None):
        """Build and initialise a skorch net; the specs default to the hooks'."""
        module, module_kwargs = module_spec or self._module_spec(n_features)
        criterion, criterion_kwargs = criterion_spec or self._criterion_spec()
        optimizer, optimizer_kwargs = self._optimizer_spec()
        kwargs = {
            **{f"module__{k}": v for k, v in module_kwargs.items()},
            **{f"criterion__{k}": v for k, v in criterion_kwargs.items()},
            **{f"optimizer__{k}": v for k, v in optimizer_kwargs.items()},
        }
        net_class, iterator_train = self._net_class, TensorBatchIterator
        if self.device == "accelerate":
            net_class, iterator_train, kwargs = _accelerated_net(net_class, kwargs)
        net = net_class(
            module=module,
            criterion=criterion,
            optimizer=optimizer,
            lr=self.learning_rate_init,
            max_epochs=self.max_iter,
            iterator_train=iterator_train,
            iterator_train__shuffle=self.shuffle,
            iterator_valid=TensorBatchIterator,
            train_split=None,
            device=device,
            **kwargs,
        )
        return net.initialize()

    def _rebuild_net(self, old, n_features, device):
        """Build a net with the current parameters and ``old``'s weights and history.

        This is ``fit`` with ``warm_start``: the optimiser starts afresh, as in
        scikit-learn.
        """
        net = self._make_net(n_features, device)
        old_state = old.module_.state_dict()
        new_state = net.module_.state_dict()
        if {k: v.shape for k, v in old_state.items()} != {
            k: v.shape for k, v in new_state.items()
        }:
            raise ValueError(
                "warm_start=True cannot change the architecture of a fitted "
                f"{type(self).__name__} (hidden_layer_sizes or the number of "
                "outputs); set warm_start=False to fit a new one."
            )
        net.module_.load_state_dict(old_state)
        net.history = old.history
        return net

    def _optimizer_spec(self):
        kwargs = {"param_groups": [("*bias", {"weight_decay": 0.0})]}
        if self.solver == "adam":
            kwargs.update(betas=(self.beta_1, self.beta_2), eps=self.epsilon)
        elif self.solver == "sgd":
            kwargs.update(
                momentum=self.momentum,
                nesterov=self.nesterovs_momentum and self.momentum > 0,
            )
        return _SOLVERS[self.solver], kwargs

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warnings.warn(
                "Got `batch_size` less than 1 or larger than sample size. "
                "It is going to be clipped",
                UserWarning,
                stacklevel=4,
            )
        return int(np.clip(self.batch_size, 1, n_samples))

    def _pretrain(self, X, seed):
        """Initialise the fresh ``net_`` from unsupervised training; a hook."""

    def _train(
        self, X, y, *, epochs, early_stopping, seed, net=None, warn=True, graceful=False
    ):
        """Run up to ``epochs`` epochs through skorch, with sklearn's stopping rule.

        ``net`` defaults to ``net_``; ``warn`` says whether running out of epochs
        warrants a ConvergenceWarning. With ``graceful``, Ctrl-C ends training
        after the current batch with the weights, optimiser state and history of
        the last complete epoch, and a FitInterruptedWarning: the result of the fit
        that ``max_iter`` = the completed epochs would have given. Without any
        complete epoch in a first fit there is nothing to keep: KeyboardInterrupt.
        """
        net = self.net_ if net is None else net
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
                test_size=self.validation_fraction,
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

        batch_size = self._batch_size(len(Xt))
        net.batch_size = batch_size
        # The current learning_rate_init and alpha hold for continued training too.
        for group in net.optimizer_.param_groups:
            group["lr"] = self.learning_rate_init
            if any(p.ndim > 1 for p in group["params"]):
                group["weight_decay"] = self.alpha / batch_size
        net.verbose = int(self.verbose >= 1)
        net.callbacks = [("valid_score", _ValidationScoring())]
        if self.verbose >= 2:
            net.callbacks.append(("progress_bar", ProgressBar()))
        net.callbacks.append(("interrupt", _InterruptCheck()))
        net.initialize_callbacks()
        scoring = dict(net.callbacks_)["valid_score"]
        if early_stopping:
            scoring.scorer = partial(self._score_tensors, Xv, yv)

        best_state = None
        # As sklearn's best_loss_, the best carries over from earlier calls.
        losses = (row["train_loss"] for row in net.history)
        best = -np.inf if early_stopping else min(losses, default=np.inf)
        no_improvement = 0
        converged = False
        # skae's own callbacks work per epoch; only the progress bar (verbose=2) and
        # nets of another class (e.g. Accelerate's) need skorch's per-batch loop.
        fast = self.verbose < 2 and type(net) is self._net_class
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
                        f"{type(self).__name__} diverged at epoch {len(net.history)}: "
                        f"{what}. Lower learning_rate_init "
                        f"(now {self.learning_rate_init}) or scale the input, for "
                        "example with StandardScaler."
                    )
                if early_stopping:
                    # Validation score: higher is better.
                    score = row["valid_score"]
                    no_improvement = (
                        no_improvement + 1 if score < best + self.tol else 0
                    )
                    if score > best:
                        best = score
                        best_state = {
                            k: v.detach().clone()
                            for k, v in net.module_.state_dict().items()
                        }
                else:
                    no_improvement = no_improvement + 1 if loss > best - self.tol else 0
                    best = min(best, loss)
                if no_improvement > self.n_iter_no_change:
                    converged = True
                    if self.verbose:
                        what = "Validation score" if early_stopping else "Training loss"
                        print(
                            f"{what} did not improve more than tol={self.tol} for "
                            f"{self.n_iter_no_change} consecutive epochs. Stopping."
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
                f"{type(self).__name__}.fit was interrupted (Ctrl-C) during epoch "
                f"{len(net.history) + 1}; it keeps the {len(net.history)} complete "
                "epochs: n_iter_, loss_curve_ and the weights are theirs.",
                FitInterruptedWarning,
                stacklevel=5,
            )
        elif warn and epochs > 1 and not converged:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached "
                "and the optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=5,
            )

    # ----------------------------------------------------------------- fit rollback

    def _snapshot(self, deep):
        """Return the fitted attributes, with copies of what a continued fit mutates."""
        attrs = {k: v for k, v in vars(self).items() if k.endswith("_")}
        if not deep:
            return attrs, None
        net = self.net_
        weights = {k: v.detach().clone() for k, v in net.module_.state_dict().items()}
        optimizer = (net.optimizer_, copy.deepcopy(net.optimizer_.state_dict()))
        return attrs, (weights, optimizer, len(net.history))

    def _restore(self, snapshot):
        for key in [k for k in vars(self) if k.endswith("_")]:
            delattr(self, key)
        if snapshot is None:
            return
        attrs, deep = snapshot
        vars(self).update(attrs)
        if deep is not None:
            weights, (optimizer, optimizer_state), n_epochs = deep
            net = self.net_
            net.module_.load_state_dict(weights)
            net.optimizer_ = optimizer
            optimizer.load_state_dict(optimizer_state)
            del net.history[n_epochs:]
            net.module_.eval()

    # -------------------------------------------------------------------- inference

    def _infer(self, fn, Xt):
        """``fn`` over ``Xt`` in batches on the net's device; a CPU tensor.

        A row's result must not depend on which other rows share its batch
        (scikit-learn checks that predictions of a subset match those of the whole).
        CPU BLAS picks other kernels, with another summation order, for matrices of
        few rows (below about twice the thread count, measured), so short batches
        are padded with zero rows to a size that takes the common kernel.
        """
        device = self.net_.device
        min_rows = max(64, 4 * torch.get_num_threads())
        out = None
        with torch.no_grad():
            for start in range(0, len(Xt), _INFERENCE_BATCH):
                Xb = Xt[start : start + _INFERENCE_BATCH]
                n_rows = len(Xb)
                if n_rows < min_rows:
                    Xb = torch.cat([Xb, Xb.new_zeros(min_rows - n_rows, *Xb.shape[1:])])
                result = fn(Xb.to(device))[:n_rows]
                if n_rows == len(Xt):
                    return result.cpu()
                if out is None:
                    out = result.new_empty((len(Xt), *result.shape[1:]), device="cpu")
                out[start : start + n_rows] = result
        return out

    def _apply(self, fn, X):
        """``fn`` over the validated array ``X``, as NumPy; floats in ``X``'s dtype.

        Finite input can still overflow float32 inside the network (input near
        1e30, or weights grown huge by a run close to divergence): that is an
        error, never inf or NaN handed back as a result.
        """
        with np.errstate(over="ignore"):
            out = self._infer(fn, _as_tensor(X)).numpy()
            out = out.astype(X.dtype, copy=False) if out.dtype.kind == "f" else out
        if out.dtype.kind == "f" and not np.isfinite(out).all():
            raise FloatingPointError(
                f"{type(self).__name__} overflowed float32 on this input (its "
                "result is not finite). Scale X, for example with StandardScaler; "
                "if X is on the training data's scale, training has diverged: fit "
                "again with a lower learning_rate_init."
            )
        return out

    # ------------------------------------------------------------------------ misc

    def _hidden_sizes(self, allow_empty=False):
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, numbers.Integral) else list(sizes)
        if any(not isinstance(s, numbers.Integral) or s <= 0 for s in sizes) or (
            not sizes and not allow_empty
        ):
            raise ValueError(
                "hidden_layer_sizes must be positive integers"
                f"{'' if allow_empty else ' (at least one)'}, got {sizes}."
            )
        return [int(s) for s in sizes]

    def _resolve_device(self):
        if self.device == "accelerate":
            return _accelerate_device()
        if self.device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ValueError(
                "device='cuda' but torch.cuda.is_available() is False; "
                "use device='cpu' or device='auto'."
            )
        return self.device


def _accelerate_device():
    """Return this process's device under ``accelerate launch`` (or a plain run)."""
    from skae._parallel import _make_accelerator

    return str(_make_accelerator().device)


def _accelerated_net(net_class, kwargs):
    """Net class, train iterator and net kwargs for ``device="accelerate"``.

    A DataLoader, which Accelerate shards across processes, replaces skae's batch
    iterator; the Accelerator reads its configuration from the environment that
    ``accelerate launch`` sets.
    """
    from skae._parallel import _accelerated_class, _data_loader, _make_accelerator

    kwargs = {**kwargs, "accelerator": _make_accelerator()}
    return _accelerated_class(net_class), _data_loader, kwargs
