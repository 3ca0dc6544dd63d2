"""Fully connected autoencoder and classifier modules, and input corruption."""

import threading
import weakref
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

from skae.nn.tabular import TableNoiseModule

ACTIVATIONS = {
    "identity": nn.Identity,
    "logistic": nn.Sigmoid,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "softplus": nn.Softplus,
}


def make_activation(name):
    """Return a new activation module for ``name``, a key of :data:`ACTIVATIONS`."""
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(
            f"Unknown activation {name!r}; expected one of {sorted(ACTIVATIONS)}."
        ) from None


def _xavier_linear(n_in, n_out):
    # Glorot & Bengio (2010) uniform weights, zero biases: the classic recipes' init.
    layer = nn.Linear(n_in, n_out)
    nn.init.xavier_uniform_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


def _dense_stack(sizes, activations, dropout=0.0):
    """Linear layers ``sizes[i] -> sizes[i + 1]``, each followed by its activation."""
    layers = []
    for n_in, n_out, act in zip(sizes[:-1], sizes[1:], activations, strict=True):
        layers += [_xavier_linear(n_in, n_out), make_activation(act)]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
    return DenseStack(*layers)


# How each layer of a DenseStack computes on a NumPy array, in eval mode (Dropout
# is then the identity). torch's Softplus returns x itself beyond x = 20, where
# log(1 + exp(x)) rounds to x in float32 and differs by under 1e-8 in float64.
_NUMPY_LAYERS = {
    nn.Identity: lambda x: x,
    nn.Dropout: lambda x: x,
    nn.ReLU: lambda x: np.maximum(x, 0),
    nn.Tanh: np.tanh,
    nn.Sigmoid: lambda x: np.exp(-np.logaddexp(0, -x)),
    nn.Softplus: lambda x: np.logaddexp(0, x),
}

_numpy_state = threading.local()


@contextmanager
def numpy_inference():
    """Compute the :class:`DenseStack` layers of this thread in NumPy in the block.

    For a few rows torch's per-operation dispatch costs several times the
    arithmetic (about 5 us a call, where NumPy's product of one row takes 1 to 2);
    results agree with torch's to the float type's rounding, and overflow gives
    inf or NaN silently, as in torch. Use it under :func:`torch.no_grad` on CPU
    tensors.
    """
    previous = getattr(_numpy_state, "on", False)
    _numpy_state.on = True
    try:
        with np.errstate(all="ignore"):
            yield
    finally:
        _numpy_state.on = previous


_NUMPY_READY = weakref.WeakKeyDictionary()


def numpy_ready(module):
    """Whether ``module`` is built of layers that have a cheap form for a few rows.

    True when every layer is a linear layer, an activation with a NumPy form,
    dropout or an input corruption (the identity outside training): what the
    dense autoencoders and MLPs are built of. Convolutions or a table's encoders
    make it False. The answer is kept per module: its layers are fixed.
    """
    ready = _NUMPY_READY.get(module)
    if ready is None:
        allowed = {
            nn.Linear,
            *_NUMPY_LAYERS,
            GaussianNoiseModule,
            MaskingNoiseModule,
            SwapNoiseModule,
        }
        leaves = [m for m in module.modules() if next(m.children(), None) is None]
        ready = _NUMPY_READY[module] = all(type(m) in allowed for m in leaves)
    return ready


class DenseStack(nn.Sequential):
    """Linear layers and activations, in order; in NumPy inside :func:`numpy_inference`.

    Outside that block (and in training mode, or for a layer without a NumPy form)
    it is exactly :class:`torch.nn.Sequential`.
    """

    def forward(self, x):
        """Apply the layers in order (in NumPy inside :func:`numpy_inference`)."""
        if getattr(_numpy_state, "on", False) and not self.training:
            out = self._numpy_forward(x)
            if out is not None:
                return out
        return super().forward(x)

    def _numpy_forward(self, x):
        h = x.numpy()
        for layer in self:
            if type(layer) is nn.Linear:
                h = h @ layer.weight.detach().numpy().T
                h += layer.bias.detach().numpy()
            elif (apply := _NUMPY_LAYERS.get(type(layer))) is not None:
                h = apply(h)
            else:
                return None
        return torch.from_numpy(h)


def _linears(sequential):
    return [m for m in sequential if isinstance(m, nn.Linear)]


def _copy_linears(targets, sources):
    """Copy weights and biases of matching linear layers (shapes must agree)."""
    if [t.weight.shape for t in targets] != [s.weight.shape for s in sources]:
        raise ValueError(
            "Layer shapes differ: "
            f"{[tuple(t.weight.shape) for t in targets]} cannot take "
            f"{[tuple(s.weight.shape) for s in sources]}."
        )
    with torch.no_grad():
        for target, source in zip(targets, sources, strict=True):
            target.weight.copy_(source.weight)
            target.bias.copy_(source.bias)


class GaussianNoiseModule(nn.Module):
    """Additive Gaussian noise of standard deviation ``std``, in training mode only.

    Fresh noise is drawn for every element of every batch; in evaluation mode the
    input passes through unchanged.
    """

    def __init__(self, std):
        super().__init__()
        self.std = std

    def forward(self, x):
        """``(batch, n_features) -> (batch, n_features)``."""
        if not self.training or self.std == 0:
            return x
        return x + self.std * torch.randn_like(x)


class MaskingNoiseModule(nn.Module):
    """Set a fraction ``p`` of the inputs to zero, in training mode only.

    Unlike :class:`torch.nn.Dropout`, the surviving inputs are not rescaled: this is
    the masking noise of denoising autoencoders (Vincent et al., 2008).
    """

    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, x):
        """``(batch, n_features) -> (batch, n_features)``."""
        if not self.training or self.p == 0:
            return x
        return x * (torch.rand_like(x) >= self.p).to(x.dtype)


class SwapNoiseModule(nn.Module):
    """Replace a fraction ``p`` of the inputs with the same feature of another row.

    In training mode only; the other row is drawn at random from the batch, so a
    corrupted input keeps the feature's distribution (the swap noise of the
    denoising autoencoders that won tabular competitions).
    """

    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, x):
        """``(batch, n_features) -> (batch, n_features)``."""
        if not self.training or self.p == 0:
            return x
        hit = torch.rand_like(x) < self.p
        rows = torch.randint(len(x), x.shape, device=x.device)
        return torch.where(hit, torch.gather(x, 0, rows), x)


_NOISES = {
    None: lambda level: nn.Identity(),
    "gaussian": GaussianNoiseModule,
    "mask": MaskingNoiseModule,
    "swap": SwapNoiseModule,
}


class AutoencoderModule(nn.Module):
    """A fully connected autoencoder whose decoder mirrors its encoder.

    Parameters
    ----------
    n_features : int
        Width of the input and of the reconstruction.
    hidden_layer_sizes : sequence of int
        Encoder widths; the last one is the code size. The decoder runs the same
        widths in reverse, then back to ``n_features``.
    activation : str, default="relu"
        Activation of the hidden layers.
    code_activation : str, default="relu"
        Activation of the code layer.
    out_activation : str, default="identity"
        Activation of the reconstruction.
    noise : {"gaussian", "mask", "swap"} or None, default=None
        Corruption of the input while training: :class:`GaussianNoiseModule`,
        :class:`MaskingNoiseModule` or :class:`SwapNoiseModule`. Evaluation mode
        never corrupts.
    noise_level : float, default=0.0
        Standard deviation of the Gaussian noise, or fraction of inputs masked.
    two_views : bool, default=False
        In training, also encode a second, independent corruption of the input
        (without a gradient) and return its code, the target of a consistency
        loss.
    n_outputs : int or None, default=None
        Width of the reconstruction; None means ``n_features``. A table's encoded
        input and its output differ (see :mod:`skae.nn.tabular`).
    table : dict or None, default=None
        The input map of a table (``input_columns``, ``indicators`` and
        ``numeric_inputs``, see :class:`~skae.nn.tabular.TableNoiseModule`):
        ``noise`` then corrupts whole cells, and may also be ``"swap"``.
    """

    def __init__(
        self,
        n_features,
        hidden_layer_sizes,
        activation="relu",
        code_activation="relu",
        out_activation="identity",
        noise=None,
        noise_level=0.0,
        two_views=False,
        n_outputs=None,
        table=None,
    ):
        super().__init__()
        self.two_views = two_views
        sizes = [n_features, *hidden_layer_sizes]
        n_hidden = len(hidden_layer_sizes)
        self.n_components = sizes[-1]
        if table is not None and noise is not None:
            self.corruption = TableNoiseModule(noise, noise_level, **table)
        else:
            self.corruption = _NOISES[noise](noise_level)
        self.encoder = _dense_stack(
            sizes, [activation] * (n_hidden - 1) + [code_activation]
        )
        out_sizes = [n_outputs or n_features, *hidden_layer_sizes]
        self.decoder = _dense_stack(
            out_sizes[::-1], [activation] * (n_hidden - 1) + [out_activation]
        )

    def encode(self, x):
        """``(batch, n_features) -> (batch, n_components)``."""
        return self.encoder(x)

    def decode(self, z):
        """``(batch, n_components) -> (batch, n_features)``."""
        return self.decoder(z)

    def forward(self, x):
        """``(batch, n_features) -> ((batch, n_features), (batch, n_components))``.

        Returns the reconstruction of the (corrupted, in training) input and the code.
        In training with ``two_views``, a third element: the code of a second,
        independent corruption of ``x``, computed without a gradient.
        """
        z = self.encode(self.corruption(x))
        if self.training and self.two_views:
            # The target: no gradient flows through the second copy (as in
            # SimSiam), which costs one forward pass instead of two passes.
            with torch.no_grad():
                z_other = self.encode(self.corruption(x))
            return self.decode(z), z, z_other
        return self.decode(z), z

    def load_layer(self, index, shallow):
        """Take layer ``index`` of the encoder and its mirror from a shallow one.

        ``shallow`` is a one-hidden-layer :class:`AutoencoderModule` trained on the
        codes of layer ``index - 1`` (greedy layer-wise pretraining): its encoder
        becomes encoder layer ``index``, its decoder the decoder layer that maps
        back to layer ``index - 1``.
        """
        encoder, decoder = _linears(self.encoder), _linears(self.decoder)
        _copy_linears([encoder[index]], _linears(shallow.encoder))
        _copy_linears([decoder[len(decoder) - 1 - index]], _linears(shallow.decoder))


class MLPModule(nn.Module):
    """A multilayer perceptron that returns logits.

    Parameters
    ----------
    n_features : int
        Input width.
    hidden_layer_sizes : sequence of int
        Hidden widths; empty gives a linear (softmax regression) model.
    n_outputs : int
        Number of logits.
    activation : str, default="relu"
        Activation of the hidden layers.
    dropout : float, default=0.0
        Dropout probability after each hidden activation.
    """

    def __init__(
        self, n_features, hidden_layer_sizes, n_outputs, activation="relu", dropout=0.0
    ):
        super().__init__()
        sizes = [n_features, *hidden_layer_sizes]
        self.hidden = _dense_stack(
            sizes, [activation] * len(hidden_layer_sizes), dropout
        )
        self.output = _xavier_linear(sizes[-1], n_outputs)

    def forward(self, x):
        """``(batch, n_features) -> (batch, n_outputs)`` logits."""
        return self.output(self.hidden(x))

    def load_encoder(self, encoder):
        """Start the hidden layers from the linear layers of ``encoder``.

        ``encoder`` is a sequential of linear layers and activations, such as
        :attr:`AutoencoderModule.encoder`, with the same widths as the hidden
        layers and the same activations but for the last (the code's).
        """

        def activations(sequential):
            skip = (nn.Linear, nn.Dropout)
            return [type(m).__name__ for m in sequential if not isinstance(m, skip)]

        # The code layer's activation may differ (autoencoders default to a
        # linear code): its weights still start the MLP's last hidden layer,
        # which keeps its own activation.
        if activations(self.hidden)[:-1] != activations(encoder)[:-1]:
            raise ValueError(
                f"Activations differ: {activations(self.hidden)} cannot take "
                f"{activations(encoder)}."
            )
        _copy_linears(_linears(self.hidden), _linears(encoder))
