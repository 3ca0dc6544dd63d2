"""The base estimator: shared parameters, validation, the skorch net it builds.

Every skae estimator is a plain scikit-learn estimator that builds a skorch net in
``fit`` and keeps it as ``net_``. This module is the contract they share; a subclass
says which module and criterion to build, how to validate its data and how to score
it. The epoch loop lives in :mod:`skae._training`, the rules around it (stopping,
schedule, interrupts, checkpoints) in :mod:`skae._listeners`.
"""

import copy
import functools
import numbers
import warnings

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator
from sklearn.callback import CallbackSupportMixin, with_callbacks
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import _check_sample_weight, validate_data

from skae._callbacks import SklearnCallbacks
from skae._interrupts import _deferred_interrupts
from skae._listeners import training_state
from skae._state import PlainStateMixin
from skae._threads import _one_thread, _share_torch_threads, torch_compute
from skae._training import _seeded_torch, train, train_lbfgs
from skae.nn import ACTIVATIONS, TensorBatchIterator
from skae.nn.data import all_finite as _all_finite
from skae.nn.data import as_tensor, batch_rows, cast_rows
from skae.nn.modules import numpy_inference, numpy_ready

FLOAT_DTYPES = (np.float64, np.float32)
# The precisions a network computes in, by the names the ``dtype`` parameter takes.
_COMPUTE_DTYPES = {"float32": torch.float32, "float64": torch.float64}
_SOLVERS = {
    "adam": torch.optim.Adam,
    "adagrad": torch.optim.Adagrad,
    "sgd": torch.optim.SGD,
}
# Rows per forward pass at inference. Each batch's operations wait for all torch
# threads: beside one CPU-bound process, 60,000 MNIST rows took 1.7x to 2.4x the
# bare module's single call in batches of 4,096 rows and 1.3x to 1.5x in batches
# of 16,384, which cost 5 to 15 % on an idle machine (where smaller batches stay
# in cache). A batch's activations stay bounded: 64 MB for a 1,024-unit layer.
_INFERENCE_BATCH = 16384
# Rows per batch of an input cast batch by batch (float64 into a float32 net):
# the cast batch must still be in cache when the first layer reads it. The
# same 60,000 rows as float64 took 1.46x the bare module in batches of 4,096
# and 1.88x in batches of 16,384 on an idle machine, 2.01x and 2.19x beside a
# CPU-bound process.
_CAST_BATCH = 4096
# At most this many dense rows take the NumPy path of BaseNeuralEstimator._apply:
# the rows that _infer would pad to 16.
_NUMPY_ROWS = 16


class BaseNeuralEstimator(CallbackSupportMixin, PlainStateMixin, BaseEstimator):
    """Base class of the skae estimators; not for direct use.

    Subclasses define ``__init__`` (the common parameters below plus their own),
    ``fit`` / ``partial_fit`` (which call :meth:`_fit`), ``_net_class`` (the
    skorch class to build) and the hooks ``_validate_training_data``,
    ``_module_spec``, ``_criterion_spec`` and ``_score_tensors``; they may
    replace the hooks with defaults here (``_weigh_classes``, ``_pretrain``,
    ``_train``).

    scikit-learn's callbacks (``set_callbacks``) see each ``fit`` or
    ``partial_fit`` call as one task with one sub-task per epoch (per L-BFGS
    iteration with ``solver="lbfgs"``), as ``LogisticRegression``'s fit has one
    per iteration; pretraining is part of the task, not a sub-task.
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
        "n_iter_no_change": [
            Interval(numbers.Integral, 1, None, closed="left"),
            Options(numbers.Real, {np.inf}),
        ],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "power_t": [Interval(numbers.Real, 0, None, closed="left")],
        "device": [StrOptions({"auto", "cpu", "cuda", "accelerate"})],
    }

    _net_class = None  # the skorch class, set by subclasses

    # ------------------------------------------------------------------------ hooks

    def _validate_training_data(self, X, y, *, reset, incremental, classes):
        """Return ``X`` and ``y`` validated for training (``y`` None if unused).

        Sets what the data fixes (``n_features_in_``, ``classes_``,
        ``n_outputs_``); ``reset`` is False when training continues.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must define _validate_training_data."
        )

    def _module_spec(self, n_features):
        """Return ``(module class, kwargs)``: the torch module to build and train."""
        raise NotImplementedError(f"{type(self).__name__} must define _module_spec.")

    def _criterion_spec(self):
        """Return ``(criterion class, kwargs)``: the training loss to build.

        The criterion's ``per_sample(output, target)`` gives each sample's loss
        (sample weights, L-BFGS); calling it gives the batch's mean.
        """
        raise NotImplementedError(f"{type(self).__name__} must define _criterion_spec.")

    def _score_tensors(self, Xt, yt, sample_weight=None):
        """Return the score (higher is better) of held-out tensors, a float.

        Early stopping calls it at each epoch's end, in evaluation mode.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must define _score_tensors to support "
            "early_stopping=True."
        )

    # --------------------------------------------------------------------- training

    # The callbacks are torn down here too, for a fit without _fit_context.
    @with_callbacks
    def _fit(self, X, y, *, incremental, classes=None, sample_weight=None):
        """Validate, (re)build or continue the net, and train it.

        On any error the estimator is put back as it was before the call: unfitted,
        or fitted as before. Ctrl-C during the training epochs stops after the
        current batch and keeps the last complete epoch (see ``_train``); elsewhere
        (validation, pretraining) it is an error like any other.
        """
        # The callbacks' hooks get the data as given to fit: a classifier's
        # validated y is encoded.
        data = {
            "X": X,
            "y": y,
            "metadata": None
            if sample_weight is None
            else {"sample_weight": sample_weight},
        }
        fitted = hasattr(self, "net_")
        if incremental and fitted:
            # scikit-learn's _fit_context skips this for partial_fit on a fitted
            # estimator; parameters set since (set_params) must still be valid.
            self._validate_params()
        lbfgs = getattr(self, "solver", None) == "lbfgs"
        continuing = fitted and (incremental or self.warm_start)
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        snapshot = self._snapshot(deep=continuing) if fitted else None
        with _deferred_interrupts() as graceful:
            try:
                X, y = self._validate_training_data(
                    X, y, reset=not continuing, incremental=incremental, classes=classes
                )
                if not (continuing and incremental):
                    # partial_fit continues in the dtype the net was built in.
                    self._compute_dtype_ = self._choose_dtype(X)
                if sample_weight is not None:
                    sample_weight = _check_sample_weight(
                        sample_weight, X, dtype=np.float64, ensure_non_negative=True
                    )
                sample_weight = self._weigh_classes(y, sample_weight, incremental)
                callback_ctx = self._init_callback_context(
                    max_subtasks=_max_subtasks(self, incremental, lbfgs)
                )
                callback_ctx.call_on_fit_task_begin(estimator=self, **data)
                listeners = (
                    [SklearnCallbacks(self, callback_ctx, **data)]
                    if hasattr(self, "_skl_callbacks")
                    else []
                )
                device = self._resolve_device()
                rng = check_random_state(self.random_state)
                seed = rng.randint(np.iinfo(np.int32).max)
                if continuing:
                    # A new stream for each continued call, still fixed by random_state.
                    stream = np.random.SeedSequence([seed, len(self.loss_curve_)])
                    seed = int(stream.generate_state(1)[0])
                with _seeded_torch(seed, device), _share_torch_threads():
                    if not continuing:
                        self.net_ = self._make_net(X.shape[1], device)
                        self._training_state_ = training_state()
                        self._pretrain(X, seed)
                    elif not incremental:
                        self.net_ = self._rebuild_net(self.net_, X.shape[1], device)
                    if lbfgs:
                        result = train_lbfgs(
                            self,
                            self.net_,
                            X,
                            y,
                            sample_weight=sample_weight,
                            listeners=listeners,
                        )
                    else:
                        result = self._train(
                            X,
                            y,
                            epochs=1 if incremental else self.max_iter,
                            early_stopping=self.early_stopping and not incremental,
                            seed=seed,
                            sample_weight=sample_weight,
                            state=self._training_state_,
                            graceful=graceful,
                            listeners=listeners,
                        )
                self._record(result, continuing)
                callback_ctx.call_on_fit_task_end(
                    estimator=self, **data, reconstruction_attributes={}
                )
            except BaseException:
                self._restore(snapshot)
                raise
        return self

    def _weigh_classes(self, y, sample_weight, incremental):
        """Fold ``class_weight`` into the sample weights; a hook (classifiers)."""
        return sample_weight

    def _record(self, result, continuing):
        """Set scikit-learn's fitted attributes from a training call's result.

        As in scikit-learn, ``n_iter_`` counts the epochs (or L-BFGS iterations) of
        this call, while ``loss_curve_`` and ``t_`` carry on over continued calls.
        """
        curve = self.loss_curve_ if continuing else []
        self.loss_curve_ = [*curve, *result["losses"]]
        self.n_iter_ = result["n_iter"]
        self.loss_ = result.get("loss", self.loss_curve_[-1])
        self.t_ = self._training_state_["t"]
        if result["valid_scores"] is None:
            # A continued call without scoring (partial_fit) keeps the scores of
            # the epochs that had them, as scikit-learn's attributes do.
            if not continuing:
                self.validation_scores_ = self.best_validation_score_ = None
                self.validation_loss_curve_ = None
            self.best_loss_ = min(self.loss_curve_)
        else:
            scores = (self.validation_scores_ or []) if continuing else []
            self.validation_scores_ = [*scores, *result["valid_scores"]]
            self.best_validation_score_ = max(self.validation_scores_)
            losses = (
                (getattr(self, "validation_loss_curve_", None) or [])
                if continuing
                else []
            )
            self.validation_loss_curve_ = [*losses, *result["valid_losses"]]
            self.best_loss_ = None

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
        net.initialize()
        dtype = self._compute_dtype()
        if dtype != torch.float32:
            # Initialised in float32, then cast: a float64 net starts from the
            # weights the float32 one would have. The optimiser holds the same
            # Parameter objects, whose data the cast replaces.
            net.module_.to(dtype)
            net.criterion_.to(dtype)
        return net

    def _choose_dtype(self, X):
        """Return the name of the float dtype a net for ``X`` computes in.

        The one place that decides it, from the ``dtype`` parameter (estimators
        without one compute in float32): "auto" is float64 for L-BFGS on float64
        ``X``, as scikit-learn's MLP computes in its input's dtype, and float32
        for the stochastic solvers, whose mini-batch noise is far above float32's
        rounding.
        """
        dtype = getattr(self, "dtype", "float32")
        if dtype != "auto":
            return dtype
        lbfgs = getattr(self, "solver", None) == "lbfgs"
        return "float64" if lbfgs and X.dtype == np.float64 else "float32"

    def _compute_dtype(self):
        """Return the torch dtype of the fitted (or being built) net.

        float32 for estimators fitted before skae had a choice.
        """
        return _COMPUTE_DTYPES[getattr(self, "_compute_dtype_", "float32")]

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
        # L-BFGS runs in scipy (skae._training.train_lbfgs); the net still holds
        # a torch optimiser, which then never steps.
        return _SOLVERS.get(self.solver, torch.optim.SGD), kwargs

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

    def _train(self, X, y, *, epochs, early_stopping, seed, net=None, **kwargs):
        """Train ``net`` (default ``net_``) for up to ``epochs`` epochs; see train."""
        return train(
            self,
            self.net_ if net is None else net,
            X,
            y,
            epochs=epochs,
            early_stopping=early_stopping,
            seed=seed,
            **kwargs,
        )

    # ----------------------------------------------------------------- fit rollback

    def _snapshot(self, deep):
        """Return the fitted attributes, with copies of what a continued fit mutates."""
        attrs = {k: v for k, v in vars(self).items() if k.endswith("_")}
        if "_training_state_" in attrs:
            attrs["_training_state_"] = dict(attrs["_training_state_"])
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

    def _infer(self, fn, Xt, dtype=None):
        """``fn`` over ``Xt`` in batches on the net's device; a CPU tensor.

        A row's result must not depend on which other rows share its batch
        (scikit-learn checks that predictions of a subset match those of the whole).
        CPU BLAS picks other kernels, with another summation order, for matrices of
        few rows, so short batches are padded with zero rows to a size that takes
        the common kernel: 16 rows, or 4 per thread beyond 4 threads. With MKL's
        AVX-512 kernels each row then gets bitwise the result it has in a batch of
        512; with its AVX2 and SSE4.2 kernels a row at the end of a block of 4 to 8
        rows is summed in another order, so results agree to float32 rounding
        (about 1e-7 relative), not bitwise.

        A small model (a training step of 64 rows under ``_ONE_THREAD_FLOPS``, a
        property of the model, not of the batch) runs on one torch thread, as it
        trains: waking the thread pool costs more than the arithmetic, and on a
        busy machine a 1-row ``predict`` at two threads waited milliseconds for
        a core.

        With ``dtype``, each batch of a wider ``Xt`` is cast to it just before
        use (:func:`~skae.nn.data.cast_rows`).
        """
        with torch_compute(self.net_.module_, 64):
            return self._infer_batches(fn, Xt, self.net_.device, dtype)

    def _infer_batches(self, fn, Xt, device, dtype=None):
        min_rows = max(16, 4 * torch.get_num_threads())
        cast = dtype is not None and Xt.dtype != dtype
        rows = batch_rows(Xt, _CAST_BATCH if cast else _INFERENCE_BATCH)
        out = None
        with torch.no_grad():
            for start in range(0, len(Xt), rows):
                Xb = Xt[start : start + rows]
                if dtype is not None:
                    Xb = cast_rows(Xb, dtype)
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

    def _few_rows(self, X):
        """Whether ``X`` is few enough dense rows for the NumPy path of :meth:`_apply`.

        At most ``_NUMPY_ROWS`` rows, on the CPU, through dense layers
        (:func:`~skae.nn.modules.numpy_ready`), whose arithmetic for those rows
        is small enough for one thread (a 784-300-10 network's is, for 16 rows).
        """
        module = self.net_.module_
        return (
            X.shape[0] <= _NUMPY_ROWS
            and not sp.issparse(X)
            and str(self.net_.device) == "cpu"
            and _one_thread(module, X.shape[0])
            and numpy_ready(module)
        )

    def _apply(self, fn, X):
        """``fn`` over the validated array ``X``, as NumPy; floats in ``X``'s dtype.

        A few rows through a small dense model (:meth:`_few_rows`: a service's
        one-row ``predict``) skip :meth:`_infer`'s batching, padding, thread and
        denormal settings, and the dense layers compute in NumPy: torch's
        dispatch, about 5 us an operation, was most of such a call. A row's
        result then agrees with the one it gets in a long batch to the float
        type's rounding (about 1e-7 relative in float32), as between batches
        of other sizes on CPUs whose BLAS kernels sum short blocks in another
        order.

        ``X`` is cast to the dtype the net computes in. Finite input can still
        overflow it inside the network (float32 input near 1e30, or weights grown
        huge by a run close to divergence): that is an error, never inf or NaN
        handed back as a result.
        """
        dtype = self._compute_dtype()
        dtype_name = str(dtype).removeprefix("torch.")
        with np.errstate(over="ignore"):
            if self._few_rows(X):
                with torch.no_grad(), numpy_inference():
                    out = fn(as_tensor(X, dtype)).numpy()
            else:
                Xt = as_tensor(X, dtype, cast=False)
                out = self._infer(fn, Xt, dtype).numpy()
            if out.dtype.kind != "f":
                return out
            # Checked in the narrower of the two float types: half the bytes
            # when the result widens, and what a narrowing cast made infinite.
            if out.dtype.itemsize > X.dtype.itemsize:
                out = out.astype(X.dtype)
                dtype_name = str(X.dtype)
        if not _all_finite(out) and not np.isfinite(out).all():
            raise FloatingPointError(
                f"{type(self).__name__} overflowed {dtype_name} on this input (its "
                "result is not finite). Scale X, for example with StandardScaler; "
                "if X is on the training data's scale, training has diverged: fit "
                "again with a lower learning_rate_init."
            )
        return out.astype(X.dtype, copy=False)

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
        return resolve_device(self.device)


def validate_rows(estimator, X, *, accept_sparse=False):
    """Validate ``X`` for a fitted ``estimator``'s method, as scikit-learn does.

    ``validate_data(estimator, X, dtype=FLOAT_DTYPES, accept_sparse=accept_sparse,
    reset=False)``, whose checks of a one-row array cost about 90 us (most of it
    asking DataFrame libraries whether ``X`` is theirs), more than a small
    network's arithmetic. A 2-D float32 or float64 NumPy array of the fitted
    width and of finite values, for an estimator fitted without feature names,
    is what that call would hand back unchanged, and it is handed back at once;
    anything else goes through ``validate_data``, with its errors and warnings.
    """
    if (
        type(X) is np.ndarray
        and X.ndim == 2
        and X.dtype in FLOAT_DTYPES
        and X.shape[0] > 0
        and X.shape[1] == getattr(estimator, "n_features_in_", None)
        and not hasattr(estimator, "feature_names_in_")
        and _all_finite(X)
    ):
        return X
    return validate_data(
        estimator, X, dtype=FLOAT_DTYPES, accept_sparse=accept_sparse, reset=False
    )


def resolve_device(device, remedy="use device='cpu' or device='auto'"):
    """Return where to compute for a ``device`` parameter's value.

    "auto" is CUDA when torch sees a GPU, else the CPU; "accelerate" is this
    process's device under ``accelerate launch``. "cuda" without a GPU is a
    ValueError that ends with ``remedy``.
    """
    if device == "accelerate":
        return _accelerate_device()
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device='cuda' but torch.cuda.is_available() is False; {remedy}."
        )
    return device


def _max_subtasks(est, incremental, lbfgs):
    """Return the most sub-tasks (epochs) of a fit's callback context, or None.

    L-BFGS has one more: the iteration begun after the last, which never runs
    (as in ``LogisticRegression``). None when the autoencoders choose the number
    of epochs (``max_iter="auto"``).
    """
    if incremental:
        return 1
    if not isinstance(est.max_iter, numbers.Integral):
        return None
    return est.max_iter + 1 if lbfgs else est.max_iter


def restored_on_error(fit):
    """Decorate ``fit`` so that an error leaves the estimator as it was before.

    For estimators that validate (and set ``n_features_in_``) before the step
    that may fail; :class:`BaseNeuralEstimator` rolls back in its own ``_fit``.
    """

    @functools.wraps(fit)
    def wrapper(self, *args, **kwargs):
        before = dict(vars(self))
        try:
            return fit(self, *args, **kwargs)
        except BaseException:
            vars(self).clear()
            vars(self).update(before)
            raise

    return wrapper


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
