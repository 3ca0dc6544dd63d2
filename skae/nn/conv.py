"""Convolutional autoencoder module on flat rows, for 1-D signals and images."""

import math
from numbers import Integral

import torch
from torch import nn
from torch.nn import functional as F

from skae.nn.modules import _NOISES, make_activation

_LAYERS = {
    1: (nn.Conv1d, nn.MaxPool1d, nn.ConvTranspose1d, F.conv_transpose1d),
    2: (nn.Conv2d, nn.MaxPool2d, nn.ConvTranspose2d, F.conv_transpose2d),
}


def _xavier_init(layer):
    # Glorot & Bengio (2010) uniform weights, zero biases, as the dense modules.
    nn.init.xavier_uniform_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


def _per_stage(value, n_stages, name):
    """Broadcast an int to ``n_stages`` positive ints, or check a sequence's length."""
    values = [value] * n_stages if isinstance(value, Integral) else list(value)
    if len(values) != n_stages:
        raise ValueError(
            f"{name} has {len(values)} entries but channels has {n_stages} stages."
        )
    values = [int(v) for v in values]
    if any(v < 1 for v in values):
        raise ValueError(f"{name} must be positive integers, got {value!r}.")
    return values


class CroppedConvTranspose(nn.Module):
    """A transposed convolution whose output has exactly ``output_size``.

    Equivalent to ``ConvTransposeNd(in_channels, out_channels, kernel_size, stride,
    padding)`` followed by cropping or zero-extending the end of every spatial
    dimension to ``output_size``, the extension still receiving the bias, as
    ``output_padding`` would. Unlike ``output_padding``, any extension is allowed,
    even one of ``stride`` or more.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels of the input and of the output.
    kernel_size, stride : int
        As in :class:`torch.nn.ConvTranspose1d`, the same in every dimension.
    padding : int or tuple of int
        Rows cropped at the start of each spatial dimension, as ``padding`` does in
        :class:`torch.nn.ConvTranspose1d`; one int for every dimension.
    output_size : tuple of int
        Spatial size of the output; its length (1 or 2) picks the dimension.
    """

    def __init__(
        self, in_channels, out_channels, kernel_size, stride, padding, output_size
    ):
        super().__init__()
        self.output_size = tuple(output_size)
        if isinstance(padding, int):
            padding = (padding,) * len(self.output_size)
        self.padding = tuple(padding)
        _, _, conv_transpose, self._conv_transpose = _LAYERS[len(self.output_size)]
        # The layer itself is unpadded: padding is applied below as a crop of its
        # output, so that an even kernel on a length-1 input, whose padded output
        # would be empty (an error in torch), still yields ``output_size``.
        self.conv = _xavier_init(
            conv_transpose(in_channels, out_channels, kernel_size, stride=stride)
        )

    def extra_repr(self):
        """Show the crop and the output size next to the wrapped layer."""
        return f"padding={self.padding}, output_size={self.output_size}"

    def forward(self, x):
        """``(batch, in_channels, *spatial) -> (batch, out_channels, *output_size)``."""
        y = self._conv_transpose(x, self.conv.weight, None, self.conv.stride)
        y = y[
            (
                ...,
                *(
                    slice(p, p + n)
                    for p, n in zip(self.padding, self.output_size, strict=True)
                ),
            )
        ]
        # Zero-extend at the end, as output_padding does; the bias comes after so
        # that the extension gets it too.
        extension = []
        for n, have in zip(self.output_size[::-1], y.shape[2:][::-1], strict=True):
            extension += [0, n - have]
        if any(extension):
            y = F.pad(y, extension)
        return y + self.conv.bias.view(-1, *[1] * len(self.output_size))


class ConvAutoencoderModule(nn.Module):
    """A convolutional autoencoder whose decoder mirrors its encoder.

    Inputs and outputs are flat rows, as scikit-learn carries them; they are
    reshaped to ``input_shape`` inside. Encoder stage ``i`` is::

        Conv(c[i-1] -> c[i], kernel k[i], stride s[i], padding k[i] // 2)
        -> activation -> MaxPool(p[i], ceil_mode=True)  # when p[i] > 1

    and the decoder runs the stages in reverse with transposed convolutions
    ``c[i] -> c[i-1]`` of stride ``s[i] * p[i]``, kernel ``max(k[i], s[i] * p[i])``
    and padding ``k[i] // 2`` (less where the end of the output would otherwise be
    left uncovered), so that every output position is reached by some input unit;
    each is followed by ``activation`` except the last, followed by
    ``out_activation``. Each transposed convolution's output is cropped or
    zero-extended (see :class:`CroppedConvTranspose`) to the input size of its
    encoder stage, so the reconstruction always has ``input_shape``.

    Ceil-mode pooling never gives an empty dimension: a dimension shorter than its
    pool size pools to length 1. Convolutions padded by ``k // 2`` never do either,
    so any input size, down to ``(1, 1)``, works.

    Parameters
    ----------
    input_shape : tuple of int
        ``(C, L)`` for 1-D signals or ``(C, H, W)`` for images.
    channels : sequence of int or int, default=(16, 8)
        Output channels of each encoder stage (an int: a single stage); the last
        one is the code's.
    kernel_sizes : int or sequence of int, default=3
        Kernel size of each stage, or one for all of them.
    strides : int or sequence of int, default=1
        Convolution stride of each stage, or one for all of them.
    pool_sizes : int or sequence of int, default=2
        Max-pooling size (and stride) of each stage, or one for all of them; 1
        means no pooling.
    activation : str, default="relu"
        Activation of every stage but the decoder's last, see
        :func:`~skae.nn.modules.make_activation`.
    out_activation : str, default="identity"
        Activation of the reconstruction.
    noise : {"gaussian", "mask"} or None, default=None
        Corruption of the input while training, as in
        :class:`~skae.nn.modules.AutoencoderModule`.
    noise_level : float, default=0.0
        Standard deviation of the Gaussian noise, or fraction of inputs masked.

    Attributes
    ----------
    input_shape : tuple of int
        The shape of one sample.
    code_shape : tuple of int
        The shape of one sample's bottleneck, ``(channels[-1], *spatial)``.
    n_components : int
        Number of features of the flattened bottleneck, ``prod(code_shape)``.

    Examples
    --------
    The classic MNIST convolutional autoencoder:

    >>> module = ConvAutoencoderModule(
    ...     (1, 28, 28), strides=(3, 2), out_activation="tanh"
    ... )
    >>> module.code_shape, module.n_components
    ((8, 2, 2), 32)
    >>> reconstruction, code = module(torch.zeros(5, 784))
    >>> tuple(reconstruction.shape), tuple(code.shape)
    ((5, 784), (5, 32))
    """

    def __init__(
        self,
        input_shape,
        channels=(16, 8),
        kernel_sizes=3,
        strides=1,
        pool_sizes=2,
        activation="relu",
        out_activation="identity",
        noise=None,
        noise_level=0.0,
    ):
        super().__init__()
        self.input_shape = tuple(int(d) for d in input_shape)
        if len(self.input_shape) - 1 not in _LAYERS or min(self.input_shape) < 1:
            raise ValueError(
                "input_shape must be (C, L) or (C, H, W) of positive sizes, "
                f"got {input_shape!r}."
            )
        if isinstance(channels, Integral):
            channels = [channels]
        channels = [int(c) for c in channels]
        if not channels or min(channels) < 1:
            raise ValueError(
                f"channels must be a non-empty sequence of positive ints, "
                f"got {channels!r}."
            )
        n_stages = len(channels)
        kernels = _per_stage(kernel_sizes, n_stages, "kernel_sizes")
        strides = _per_stage(strides, n_stages, "strides")
        pools = _per_stage(pool_sizes, n_stages, "pool_sizes")
        conv, max_pool, _, _ = _LAYERS[len(self.input_shape) - 1]

        self.corruption = _NOISES[noise](noise_level)
        in_channels = [self.input_shape[0], *channels[:-1]]
        stages = []
        for c_in, c_out, k, s, p in zip(
            in_channels, channels, kernels, strides, pools, strict=True
        ):
            stage = [
                _xavier_init(conv(c_in, c_out, k, stride=s, padding=k // 2)),
                make_activation(activation),
            ]
            if p > 1:
                stage.append(max_pool(p, ceil_mode=True))
            stages.append(nn.Sequential(*stage))
        self.encoder = nn.Sequential(*stages)

        # The spatial size entering each stage is what its mirror must give back.
        sizes = []
        with torch.no_grad():
            h = torch.zeros(1, *self.input_shape)
            for stage in self.encoder:
                sizes.append(tuple(h.shape[2:]))
                h = stage(h)
        self.code_shape = tuple(h.shape[1:])
        self.n_components = math.prod(self.code_shape)

        decoder = []
        leaving = [*sizes[1:], self.code_shape[1:]]
        for i in reversed(range(n_stages)):
            k, stride = kernels[i], strides[i] * pools[i]
            # A kernel narrower than the stride would leave gaps: output positions
            # that no code unit reaches, stuck at the bias. The crop at the start
            # shrinks where the full one would leave the end uncovered.
            kernel = max(k, stride)
            crop = tuple(
                max(0, min(k // 2, (n_in - 1) * stride + kernel - n_out))
                for n_in, n_out in zip(leaving[i], sizes[i], strict=True)
            )
            decoder += [
                CroppedConvTranspose(
                    channels[i],
                    in_channels[i],
                    kernel,
                    stride=stride,
                    padding=crop,
                    output_size=sizes[i],
                ),
                make_activation(activation if i else out_activation),
            ]
        self.decoder = nn.Sequential(*decoder)

    def encode(self, x):
        """``(batch, n_features) -> (batch, n_components)``."""
        return self.encoder(x.reshape(x.shape[0], *self.input_shape)).flatten(1)

    def decode(self, z):
        """``(batch, n_components) -> (batch, n_features)``."""
        return self.decoder(z.reshape(z.shape[0], *self.code_shape)).flatten(1)

    def forward(self, x):
        """``(batch, n_features) -> ((batch, n_features), (batch, n_components))``.

        Returns the reconstruction of the (corrupted, in training) input and the code.
        """
        z = self.encode(self.corruption(x))
        return self.decode(z), z
