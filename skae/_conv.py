"""Convolutional autoencoder as a scikit-learn transformer."""

import math
import numbers
import warnings

from sklearn.utils._param_validation import Interval, StrOptions

from skae._autoencoder import _OUT_ACTIVATIONS, _BaseAutoencoder
from skae._base import BaseNeuralEstimator
from skae._docstrings import DOCS
from skae.nn import ACTIVATIONS
from skae.nn.conv import ConvAutoencoderModule, _per_stage

_POSITIVE_INTS = [Interval(numbers.Integral, 1, None, closed="left"), "array-like"]


class ConvAE(_BaseAutoencoder):
    __doc__ = """Convolutional autoencoder on the flat rows a Pipeline carries.

    Each row is reshaped into an image (or a 1-D signal) before the convolutional
    encoder; the code is the flattened bottleneck (:meth:`transform`), and the
    decoder, transposed convolutions mirroring the encoder, maps codes back to flat
    rows of the input's width (:meth:`inverse_transform`).

    Parameters
    ----------
    image_shape : tuple of int or None, default=None
        ``(height, width)`` or ``(channels, height, width)`` of each row, whose
        product must be ``n_features``. None reads a square ``n_features`` as a
        one-channel square image and any other ``n_features`` as a one-channel
        1-D signal.

    channels : int or array-like of int, default=(16, 8)
        Output channels of each encoder stage.

    kernel_sizes : int or array-like of int, default=3
        Convolution kernel size of each stage (padding ``kernel_size // 2``).

    strides : int or array-like of int, default=1
        Convolution stride of each stage.

    pool_sizes : int or array-like of int, default=2
        Max-pooling size of each stage (ceil mode: no dimension becomes empty);
        1 means no pooling.

    activation : {{"identity", "logistic", "sigmoid", "tanh", "relu", "softplus"}}, \
default="relu"
        Activation of the convolutions.

    out_activation : {{"identity", "logistic", "sigmoid", "tanh"}}, default="identity"
        Activation of the reconstruction.

    loss : {{"mse", "huber", "bce"}}, default="mse"
        Reconstruction error, as in :class:`Autoencoder`. The squared error stays
        the default here: the fully connected autoencoders' Huber default was
        chosen on standardised pixels, while images for a convolutional model
        are usually scaled to [0, 1] or [-1, 1], where errors beyond
        ``huber_delta`` are rare and Huber's loss is about half the squared
        error.

    huber_delta : float, default=0.5
        Where Huber's loss turns from quadratic to linear, as in
        :class:`Autoencoder`; ignored by the other losses.

    l1_code : float, default=0.0
        Sparsity penalty on the code, as in :class:`Autoencoder`.

    {training_params}

    Attributes
    ----------
    image_shape_ : tuple of int
        The ``(channels, height, width)`` or ``(channels, length)`` used.

    {training_attributes}

    See Also
    --------
    Autoencoder : The fully connected autoencoder.

    Notes
    -----
    The classic MNIST convolutional autoencoder (1x28x28 -> 16 channels, stride 3
    -> max-pool -> 8 channels, stride 2 -> max-pool, mirrored with transposed
    convolutions, tanh output, a 32-feature code) is
    ``ConvAE(image_shape=(28, 28), channels=(16, 8), strides=(3, 2),
    out_activation="tanh")``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import ConvAE
    >>> X, _ = load_digits(return_X_y=True)
    >>> conv = ConvAE(channels=(8, 4), max_iter=2, random_state=0).fit(X / 16)
    >>> conv.image_shape_, conv.transform(X[:3] / 16).shape
    ((1, 8, 8), (3, 16))
    """.format(**DOCS)

    # Convolutions need the image: sparse X is refused with scikit-learn's error.
    _accept_sparse = False

    _parameter_constraints = {
        **{
            k: v
            for k, v in BaseNeuralEstimator._parameter_constraints.items()
            if k != "hidden_layer_sizes"
        },
        "image_shape": [None, "array-like"],
        "channels": _POSITIVE_INTS,
        "kernel_sizes": _POSITIVE_INTS,
        "strides": _POSITIVE_INTS,
        "pool_sizes": _POSITIVE_INTS,
        "activation": [StrOptions(set(ACTIVATIONS))],
        "out_activation": [StrOptions(_OUT_ACTIVATIONS)],
        "loss": [StrOptions({"huber", "mse", "bce"})],
        "huber_delta": [Interval(numbers.Real, 0, None, closed="neither")],
        "l1_code": [Interval(numbers.Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        image_shape=None,
        *,
        channels=(16, 8),
        kernel_sizes=3,
        strides=1,
        pool_sizes=2,
        activation="relu",
        out_activation="identity",
        loss="mse",
        huber_delta=0.5,
        l1_code=0.0,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=0,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        device="cpu",
    ):
        self.image_shape = image_shape
        self.channels = channels
        self.kernel_sizes = kernel_sizes
        self.strides = strides
        self.pool_sizes = pool_sizes
        self.activation = activation
        self.out_activation = out_activation
        self.loss = loss
        self.huber_delta = huber_delta
        self.l1_code = l1_code
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.device = device

    def transform(self, X):
        """Encode ``X``: the flattened bottleneck of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to encode, flat rows of ``image_shape_``.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
            The codes: the last encoder stage's feature maps, of shape
            ``net_.module_.code_shape`` (``(channels[-1], *spatial)``), flattened
            in C order; ``n_components`` is their product.
        """
        return super().transform(X)

    @property
    def image_shape_(self):
        return self.net_.module_.input_shape

    def _input_shape(self, n_features):
        if self.image_shape is None:
            side = math.isqrt(n_features)
            return (1, side, side) if side * side == n_features else (1, n_features)
        shape = tuple(int(d) for d in self.image_shape)
        if len(shape) == 2:
            shape = (1, *shape)
        if len(shape) != 3 or math.prod(shape) != n_features:
            raise ValueError(
                "image_shape must be (height, width) or (channels, height, width) "
                f"with a product of n_features={n_features}, got {self.image_shape}."
            )
        return shape

    def _module_spec(self, n_features):
        input_shape = self._input_shape(n_features)
        message = _collapse_message(
            input_shape, self.channels, self.kernel_sizes, self.strides, self.pool_sizes
        )
        if message is not None:
            warnings.warn(message, UserWarning, stacklevel=6)
        return ConvAutoencoderModule, {
            "input_shape": input_shape,
            "channels": self.channels,
            "kernel_sizes": self.kernel_sizes,
            "strides": self.strides,
            "pool_sizes": self.pool_sizes,
            "activation": self.activation,
            "out_activation": self.out_activation,
        }


def _format_size(size):
    return "x".join(str(n) for n in size)


def _encoder_sizes(input_shape, channels, kernel_sizes, strides, pool_sizes):
    """Spatial sizes through the encoder: ``[(what, setting, size), ...]``.

    ``what`` is ``"convolution"`` or ``"pooling"`` with its stage number, and
    ``setting`` the parameter that set its output size. The arithmetic is torch's
    for :class:`~skae.nn.conv.ConvAutoencoderModule`'s layers: a convolution padded
    by ``k // 2``, then a ceil-mode max-pooling (tests/test_conv.py checks that the
    last size is the module's ``code_shape``). No module is built, so that the
    seeded random stream of the fit is left as it is.
    """
    n_stages = 1 if isinstance(channels, numbers.Integral) else len(channels)
    kernels = _per_stage(kernel_sizes, n_stages, "kernel_sizes")
    strides = _per_stage(strides, n_stages, "strides")
    pools = _per_stage(pool_sizes, n_stages, "pool_sizes")
    size, steps = tuple(input_shape[1:]), []
    for i, (k, s, p) in enumerate(zip(kernels, strides, pools, strict=True), 1):
        size = tuple((n + 2 * (k // 2) - k) // s + 1 for n in size)
        steps.append((f"the convolution of stage {i}", f"strides={s}", size))
        if p > 1:
            size = tuple(max(1, -(-(n - p) // p) + 1) for n in size)
            steps.append((f"the pooling of stage {i}", f"pool_sizes={p}", size))
    return steps


def _collapse_message(input_shape, channels, kernel_sizes, strides, pool_sizes):
    """Say how the code shrank to one position, or None if it did not."""
    steps = _encoder_sizes(input_shape, channels, kernel_sizes, strides, pool_sizes)
    size = tuple(input_shape[1:])
    if all(n == 1 for n in size) or any(n > 1 for n in steps[-1][2]):
        return None
    path, names = [], []
    for what, setting, new in steps:
        if new != size:
            path.append(f"{_format_size(new)} after {what} ({setting})")
            name = setting.split("=")[0]
            names += [name] if name not in names else []
        size = new
    advice = " or ".join(names)
    if "pool_sizes" in names:
        advice += " (pool_sizes=1 means no pooling)"
    return (
        f"ConvAE's code has a spatial size of {_format_size(size)}: the "
        f"{_format_size(input_shape[1:])} input becomes {', then '.join(path)}. "
        "A code of one position keeps no spatial layout (only the channels of the "
        "last stage) and often reconstructs no better than the mean image. Lower "
        f"{advice}, or use fewer stages in channels."
    )
