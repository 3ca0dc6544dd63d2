"""Running across processes: ``device="accelerate"``.

The skorch net is trained through skorch's :class:`~skorch.hf.AccelerateMixin`,
data-parallel over the processes that ``accelerate launch`` starts. How fits in
one process share the cores is :mod:`skae._threads`' policy.
"""

import numpy as np
import torch
from skorch import NeuralNet, NeuralNetClassifier
from skorch.callbacks import PassthroughScoring, PrintLog
from skorch.hf import AccelerateMixin
from skorch.utils import to_tensor
from torch.utils.data import DataLoader, Dataset

# Their former home, where tests and benchmarks still import them from.
from skae._threads import (  # noqa: F401
    _one_blas_thread,
    _refresh_torch_threads,
    _share_torch_threads,
)

# --------------------------------------------------------------------- Accelerate


def _make_accelerator():
    """Make an ``accelerate.Accelerator`` configured by ``accelerate launch``."""
    try:
        from accelerate import Accelerator
    except ImportError as exc:
        raise ImportError(
            "device='accelerate' needs Hugging Face Accelerate: "
            "pip install 'skae[accelerate]'."
        ) from exc
    return Accelerator()


class _PairDataset(Dataset):
    """Rows of a TensorDataset as ``(X, y)`` batches, fetched a batch at a time.

    A dataset of one tensor is its own target (an autoencoder's). ``__getitems__``
    lets a :class:`~torch.utils.data.DataLoader` (which Accelerate can shard across
    processes) cut each batch with one indexing operation instead of collating
    rows one by one.
    """

    def __init__(self, dataset):
        tensors = dataset.tensors
        self.X = tensors[0]
        self.y = tensors[1] if len(tensors) > 1 else tensors[0]

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return self.X[i], self.y[i]

    def __getitems__(self, indices):
        idx = torch.as_tensor(indices, dtype=torch.long)
        return self.X.index_select(0, idx), self.y.index_select(0, idx)


def _keep_batch(batch):
    return batch


def _data_loader(dataset, batch_size, shuffle=False):
    """Build a DataLoader, skorch's ``iterator_train`` with ``device="accelerate"``.

    ``accelerator.prepare`` shards a DataLoader across processes; skae's own
    :class:`~skae.nn.TensorBatchIterator` it would leave whole.
    """
    return DataLoader(
        _PairDataset(dataset),
        batch_size=batch_size,
        shuffle=shuffle,
        collate_fn=_keep_batch,
    )


class _GatheredLoss(PassthroughScoring):
    """The epoch's training loss averaged over the batches of every process.

    Each process sees only its shard of the batches; skae's stopping rule reads
    this loss, so every process must read the same number or they would stop at
    different epochs and the others would wait for them forever.
    """

    def get_avg_score(self, history):
        rows = history[-1, "batches", :, ["train_batch_size", "train_loss"]]
        weights, scores = zip(*rows, strict=True)
        weights = np.asarray(weights, dtype=np.float64)
        local = torch.tensor(
            [float(np.dot(weights, scores)), float(weights.sum())],
            dtype=torch.float64,
        )
        total = self.accelerator.reduce(local.to(self.accelerator.device), "sum")
        return float(total[0] / total[1])


class _AcceleratedNetMixin(AccelerateMixin):
    """skorch's AccelerateMixin, adapted to the way skae drives a net.

    skae calls ``fit_loop`` between its own ``on_train_begin`` and ``on_train_end``
    notifications, once per ``fit`` or ``partial_fit``; so the net is prepared for
    Accelerate at the start of each training call (not at ``initialize``) and
    handed back unwrapped, optimiser included, at its end. ``module_`` is always
    the plain module (only the training forward pass runs through the prepared,
    possibly DistributedDataParallel, wrapper): skae's inference, early stopping's
    best weights and warm starts see the usual module and state dict, and the net
    pickles (without its Accelerator, made again from the environment when
    training continues).
    """

    def __init__(self, *args, accelerator=None, **kwargs):
        super().__init__(*args, accelerator=accelerator, **kwargs)

    def initialize(self):
        # AccelerateMixin wants device=None (Accelerate places the tensors); skae
        # reads net.device at inference, so it is set to Accelerate's device once
        # the net is built.
        if self.accelerator is None:
            self.accelerator = _make_accelerator()
        self.device = None
        super().initialize()
        self.device = str(self.accelerator.device)
        return self

    def _validate_params(self):
        device, self.device = self.device, None
        try:
            super()._validate_params()
        finally:
            self.device = device

    def _initialize_accelerator(self):
        return self  # done in on_train_begin

    def get_default_callbacks(self):
        callbacks = []
        for name, cb in super().get_default_callbacks():
            if name == "train_loss":
                cb = _GatheredLoss(name="train_loss", on_train=True)
            callbacks.append((name, cb))
        return callbacks

    def initialize_callbacks(self):
        super().initialize_callbacks()
        # AccelerateMixin's log sink (the main process's print) would print the
        # table whatever the verbosity; skae's verbose=0 means silent.
        self.callbacks_ = [
            (name, cb)
            for name, cb in self.callbacks_
            if self.verbose or not isinstance(cb, PrintLog)
        ]
        for _, cb in self.callbacks_:
            if isinstance(cb, _GatheredLoss):
                cb.accelerator = self.accelerator
        return self

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        if self.accelerator is None:
            self.accelerator = _make_accelerator()
            self.initialize_callbacks()
        self._prepare()

    def _prepare(self):
        """Hand criteria, modules and optimisers to ``accelerator.prepare``.

        As AccelerateMixin's own, except that a criterion without trainable
        parameters (every skae loss) is only moved to the device: across
        processes Accelerate would wrap it in DistributedDataParallel, which
        refuses a module with nothing to synchronise.
        """
        if self._wrapped_with_accelerator:
            return
        prepare = self.accelerator.prepare
        for name in self._criteria:
            criterion = getattr(self, name + "_")
            if isinstance(criterion, torch.nn.Module):
                if any(p.requires_grad for p in criterion.parameters()):
                    setattr(self, name + "_", prepare(criterion))
                else:
                    criterion.to(self.accelerator.device)
        # module_ itself stays the plain module (skae scores, copies and restores
        # its state dict during training); the training forward pass goes through
        # the prepared one (DistributedDataParallel across processes), see infer.
        # (object.__setattr__: skorch accepts torch modules as attributes only
        # while initialising; this one is a view of module_, not a component.)
        object.__setattr__(self, "_prepared_module", prepare(self.module_))
        for name in self._optimizers:
            optimizer = getattr(self, name + "_")
            if isinstance(optimizer, torch.optim.Optimizer):
                setattr(self, name + "_", prepare(optimizer))
        self._wrapped_with_accelerator = True

    def infer(self, x, **fit_params):
        module = getattr(self, "_prepared_module", None) or self.module_
        return module(to_tensor(x, device=self.device), **fit_params)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        super().on_train_end(net, X=X, y=y, **kwargs)
        self._unwrap_accelerator()
        object.__setattr__(self, "_prepared_module", None)
        for name in self._optimizers:
            optimizer = getattr(self, name + "_")
            # AcceleratedOptimizer keeps the wrapped optimiser as .optimizer.
            inner = getattr(optimizer, "optimizer", None)
            if isinstance(inner, torch.optim.Optimizer):
                setattr(self, name + "_", inner)
        self.accelerator.free_memory()

    def __getstate__(self):
        state = super().__getstate__()
        state["accelerator"] = None
        state["_prepared_module"] = None
        state["callbacks_"] = [
            (name, _without_accelerator(cb)) for name, cb in state["callbacks_"]
        ]
        return state


def _without_accelerator(cb):
    if isinstance(cb, _GatheredLoss):
        cb = _GatheredLoss(name=cb.name, on_train=cb.on_train)
    return cb


class _AcceleratedNeuralNet(_AcceleratedNetMixin, NeuralNet):
    """NeuralNet trained through Accelerate (private: built by ``_make_net``)."""


class _AcceleratedNeuralNetClassifier(_AcceleratedNetMixin, NeuralNetClassifier):
    """NeuralNetClassifier trained through Accelerate (private)."""


_ACCELERATED = {
    NeuralNet: _AcceleratedNeuralNet,
    NeuralNetClassifier: _AcceleratedNeuralNetClassifier,
}


def _accelerated_class(net_class):
    """Return the Accelerate-enabled counterpart of a skorch net class."""
    try:
        return _ACCELERATED[net_class]
    except KeyError:
        # Not importable by name, so such a net will not pickle.
        return type(
            "Accelerated" + net_class.__name__,
            (_AcceleratedNetMixin, net_class),
            {"__module__": __name__},
        )
