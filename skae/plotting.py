"""Plots of fitted skae estimators: reconstructions, codes, training, weights, samples.

matplotlib is an optional dependency (``pip install 'skae[plot]'``): this module
imports without it, and each function imports it when called, raising an
:class:`ImportError` that says how to install it when it is missing.

Functions that draw a grid of images return ``(fig, axes)``, with ``axes`` a 2-D
array of :class:`matplotlib.axes.Axes` (an image per axes, ticks off); those that
draw in one axes return it, as scikit-learn's ``Display`` objects do with
``ax_``. New figures come from :mod:`matplotlib.pyplot`, so that they show in
notebooks and with ``plt.show()``; pass ``fig`` (or ``ax``) to draw elsewhere.
"""

import math
import numbers

import numpy as np
from sklearn.utils import check_array
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted
from torch import nn

__all__ = [
    "plot_codes",
    "plot_feature_scores",
    "plot_loss_curve",
    "plot_reconstructions",
    "plot_samples",
    "plot_weights",
]

# Numeric targets with more distinct values than this get a colourbar, not a legend.
_MAX_LEGEND_CLASSES = 20
_TILE_INCHES = 0.8


def _require_matplotlib():
    """Import and return :mod:`matplotlib.pyplot`, or say how to install it."""
    try:
        import matplotlib  # noqa: F401
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "skae.plotting needs matplotlib: pip install 'skae[plot]'"
        ) from exc
    return plt


def _check_count(value, name):
    if not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def _image_shape(n_features, image_shape, estimator=None):
    """Return the ``(channels, height, width)`` that rows of ``n_features`` form.

    ``image_shape`` is ``(height, width)`` or ``(channels, height, width)``; None
    takes the estimator's ``image_shape_`` (a ConvAE's; a 1-D ``(channels,
    length)`` becomes a strip one pixel high), else a square of one channel.
    """
    if image_shape is None and estimator is not None:
        fitted_shape = getattr(estimator, "image_shape_", None)
        if fitted_shape is not None:
            shape = tuple(int(d) for d in fitted_shape)
            if len(shape) == 2:
                shape = (shape[0], 1, shape[1])
            if math.prod(shape) == n_features:
                return shape
    if image_shape is None:
        side = math.isqrt(n_features)
        if side * side != n_features:
            raise ValueError(
                f"Rows of {n_features} features are not square images; pass "
                "image_shape=(height, width) or (channels, height, width)."
            )
        return (1, side, side)
    shape = tuple(int(d) for d in image_shape)
    if len(shape) == 2:
        shape = (1, *shape)
    if len(shape) != 3 or math.prod(shape) != n_features:
        raise ValueError(
            "image_shape must be (height, width) or (channels, height, width) with "
            f"a product of {n_features} (the number of features), got {image_shape}."
        )
    return shape


def _images(rows, shape):
    """Rows of pixels as images of ``shape``, channel 0: (n, height, width)."""
    return np.asarray(rows).reshape(len(rows), *shape)[:, 0]


def _grid(plt, fig, nrows, ncols, figsize):
    """Add an ``nrows`` x ``ncols`` grid of tick-less axes to ``fig`` (or a new one)."""
    if fig is None:
        fig = plt.figure(figsize=figsize)
    axes = fig.subplots(
        nrows, ncols, squeeze=False, gridspec_kw={"wspace": 0.05, "hspace": 0.05}
    )
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    return fig, axes


def _near_square(n):
    ncols = math.ceil(math.sqrt(n))
    return math.ceil(n / ncols), ncols


def _tiles(plt, images, *, cmap, fig, vmin, vmax):
    """Draw ``images`` in a near-square grid; unused axes are switched off."""
    nrows, ncols = _near_square(len(images))
    figsize = (max(ncols * _TILE_INCHES, 2), max(nrows * _TILE_INCHES, 2))
    fig, axes = _grid(plt, fig, nrows, ncols, figsize)
    for ax, image in zip(axes.flat, images, strict=False):
        ax.imshow(image, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    for ax in axes.flat[len(images) :]:
        ax.set_axis_off()
    return fig, axes


def plot_reconstructions(
    estimator, X, *, n_images=5, image_shape=None, cmap="gray", fig=None
):
    """Draw images next to their reconstructions by a fitted autoencoder.

    The first ``n_images`` rows of ``X`` are drawn on the top row, and
    ``estimator.inverse_transform(estimator.transform(X[:n_images]))`` below them.
    Both rows share the grey scale of the originals, so that a reconstruction that
    is too faint or too bright shows as such.

    Parameters
    ----------
    estimator : estimator
        A fitted autoencoder, or a fitted Pipeline ending in one (anything with
        ``transform`` and ``inverse_transform``).

    X : array-like of shape (n_samples, n_features)
        Images as rows of pixels; the first ``n_images`` are drawn (all of them
        if there are fewer).

    n_images : int, default=5
        Number of images.

    image_shape : tuple of int or None, default=None
        ``(height, width)`` or ``(channels, height, width)`` of a row; channel 0
        is drawn. None takes the estimator's ``image_shape_`` if it has one (as
        :class:`~skae.ConvAE`), and otherwise a square of ``n_features`` pixels.

    cmap : str or Colormap, default="gray"
        The colour map.

    fig : Figure or None, default=None
        The figure to draw in; None creates one.

    Returns
    -------
    fig : Figure
        The figure.

    axes : ndarray of Axes of shape (2, n_images)
        The originals in ``axes[0]``, the reconstructions in ``axes[1]``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import Autoencoder
    >>> from skae.plotting import plot_reconstructions
    >>> X = load_digits().data[:200] / 16
    >>> ae = Autoencoder(16, hidden_layer_sizes=(), max_iter=2, random_state=0).fit(X)
    >>> fig, axes = plot_reconstructions(ae, X, n_images=4)
    >>> axes.shape
    (2, 4)
    >>> import matplotlib.pyplot as plt
    >>> plt.close(fig)
    """
    plt = _require_matplotlib()
    check_is_fitted(estimator)
    n_images = _check_count(n_images, "n_images")
    X = X.iloc[:n_images] if hasattr(X, "iloc") else np.asarray(X)[:n_images]
    originals = np.asarray(X, dtype=float)
    if originals.ndim != 2 or len(originals) == 0:
        raise ValueError(
            "X must be a non-empty 2-D array of shape (n_samples, n_features), got "
            f"shape {originals.shape}."
        )
    reconstructions = np.asarray(estimator.inverse_transform(estimator.transform(X)))
    shape = _image_shape(originals.shape[1], image_shape, estimator)
    n = len(originals)
    vmin, vmax = originals.min(), originals.max()
    if vmin == vmax:
        vmin = vmax = None
    fig, axes = _grid(plt, fig, 2, n, figsize=(max(1.2 * n, 3), 2.8))
    for row, images in enumerate((originals, reconstructions)):
        for ax, image in zip(axes[row], _images(images, shape), strict=True):
            ax.imshow(image, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    axes[0, 0].set_ylabel("original")
    axes[1, 0].set_ylabel("reconstruction")
    return fig, axes


def plot_codes(Z, y=None, *, ax=None, cmap="tab10", s=5):
    """Scatter codes of two or three components, coloured by ``y``.

    Parameters
    ----------
    Z : array-like of shape (n_samples, 2) or (n_samples, 3)
        The codes, such as ``estimator.transform(X)`` of an autoencoder with a code
        of 2 or 3 units. Three components are drawn on 3-D axes.

    y : array-like of shape (n_samples,) or None, default=None
        Labels or values to colour by. Class labels (or numbers with at most 20
        distinct values) get one colour each and a legend; other numbers a
        colourbar. None draws every point in one colour.

    ax : Axes or None, default=None
        The axes to draw in: 2-D for two components, 3-D
        (``projection="3d"``) for three. None creates a figure and axes.

    cmap : str or Colormap, default="tab10"
        The colour map: a qualitative map such as "tab10" gives classes its
        colours in order; others are sampled evenly.

    s : float, default=5
        Marker size, in points squared (as :meth:`matplotlib.axes.Axes.scatter`).

    Returns
    -------
    ax : Axes
        The axes drawn in.

    Examples
    --------
    >>> import numpy as np
    >>> from skae.plotting import plot_codes
    >>> Z = np.random.RandomState(0).normal(size=(50, 2))
    >>> ax = plot_codes(Z, y=np.arange(50) % 3)
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['0', '1', '2']
    >>> import matplotlib.pyplot as plt
    >>> plt.close(ax.figure)
    """
    plt = _require_matplotlib()
    import matplotlib
    from matplotlib.colors import ListedColormap

    Z = check_array(Z)
    n_components = Z.shape[1]
    if n_components not in (2, 3):
        raise ValueError(
            "plot_codes draws codes of 2 or 3 components, got Z of shape "
            f"{Z.shape}; use a code of 2 or 3 units or reduce it first (e.g. with "
            "PCA(n_components=2))."
        )
    is_3d = n_components == 3
    if ax is None:
        fig = plt.figure(layout="constrained")
        ax = fig.add_subplot(projection="3d" if is_3d else None)
    elif (getattr(ax, "name", None) == "3d") != is_3d:
        raise ValueError(
            f"Z has {n_components} components, which need "
            + ("3-D axes (projection='3d')" if is_3d else "2-D axes")
            + f", but ax is {'3-D' if ax.name == '3d' else '2-D'}; pass ax=None "
            "to create the right axes."
        )

    if y is None:
        ax.scatter(*Z.T, s=s)
    else:
        y = np.asarray(y)
        if y.shape != (len(Z),):
            raise ValueError(
                f"y must have shape ({len(Z)},), one value per code, got {y.shape}."
            )
        classes = np.unique(y)
        numeric = np.issubdtype(y.dtype, np.number)
        if type_of_target(y) in ("binary", "multiclass") and (
            not numeric or len(classes) <= _MAX_LEGEND_CLASSES
        ):
            colormap = matplotlib.colormaps[cmap] if isinstance(cmap, str) else cmap
            # A qualitative map (few listed colours) gives its colours in order;
            # a continuous one is sampled evenly.
            qualitative = isinstance(colormap, ListedColormap) and colormap.N < 256
            for i, label in enumerate(classes):
                if qualitative:
                    color = colormap(i % colormap.N)
                else:
                    color = colormap(i / max(len(classes) - 1, 1))
                ax.scatter(*Z[y == label].T, s=s, color=[color], label=str(label))
            ax.legend(title="y", markerscale=max(1.0, math.sqrt(30 / s)))
        else:
            points = ax.scatter(*Z.T, c=y, cmap=cmap, s=s)
            ax.figure.colorbar(points, ax=ax, label="y")
    ax.set_xlabel("Z[:, 0]")
    ax.set_ylabel("Z[:, 1]")
    if is_3d:
        ax.set_zlabel("Z[:, 2]")
    return ax


def plot_feature_scores(
    detector, x, *, image_shape=None, n_features=10, cmap="Reds", ax=None
):
    """Plot which features make a sample anomalous, as a bar chart or a heat map.

    The anomaly contribution of each feature is minus its
    ``score_samples_per_feature`` (a fitted
    :class:`~skae.AutoencoderOutlierDetector`'s): the part of the sample's
    reconstruction error that the feature brings. The contributions add up to
    minus the sample's ``score_samples``.

    Parameters
    ----------
    detector : AutoencoderOutlierDetector
        A fitted detector (anything with ``score_samples_per_feature``).

    x : array-like of shape (n_features,) or (1, n_features)
        The sample.

    image_shape : tuple of int or None, default=None
        ``(height, width)``: draw the contributions as a heat map of that
        shape. None draws a horizontal bar chart of the ``n_features`` largest
        contributions, labelled with the detector's ``feature_names_in_`` if it
        has them, else ``x0``, ``x1``, ...

    n_features : int, default=10
        Bars in the chart (the largest contributions); ignored by the heat map.

    cmap : str, default="Reds"
        Colour map of the heat map, from 0 up to the largest contribution.

    ax : Axes or None, default=None
        The axes to draw in; None creates a figure and axes.

    Returns
    -------
    ax : Axes
        The axes drawn in.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderOutlierDetector
    >>> from skae.plotting import plot_feature_scores
    >>> X, y = load_digits(return_X_y=True)
    >>> detector = AutoencoderOutlierDetector(random_state=0).fit(X[y == 0] / 16)
    >>> ax = plot_feature_scores(detector, X[y == 1][0] / 16, image_shape=(8, 8))
    >>> ax.images[0].get_array().shape
    (8, 8)
    >>> import matplotlib.pyplot as plt
    >>> plt.close(ax.figure)
    """
    plt = _require_matplotlib()
    check_is_fitted(detector)
    _check_count(n_features, "n_features")
    x = check_array(np.asarray(x).reshape(1, -1), dtype=np.float64)
    contributions = -detector.score_samples_per_feature(x)[0]
    if ax is None:
        _, ax = plt.subplots(layout="constrained")
    if image_shape is not None:
        shape = _image_shape(len(contributions), image_shape)
        if shape[0] != 1:
            raise ValueError(f"image_shape must be (height, width), got {image_shape}.")
        image = ax.imshow(
            contributions.reshape(shape[1:]),
            cmap=cmap,
            vmin=0,
            vmax=max(contributions.max(), np.finfo(np.float64).tiny),
            interpolation="nearest",
        )
        ax.set_xticks([])
        ax.set_yticks([])
        ax.figure.colorbar(image, ax=ax, label="anomaly contribution")
        return ax
    names = getattr(detector, "feature_names_in_", None)
    if names is None:
        names = np.array([f"x{i}" for i in range(len(contributions))])
    top = np.argsort(-contributions, kind="stable")[:n_features][::-1]
    ax.barh(np.arange(len(top)), contributions[top], color="C3")
    ax.set_yticks(np.arange(len(top)), [str(n) for n in np.asarray(names)[top]])
    ax.set_xlabel("anomaly contribution (part of the reconstruction error)")
    return ax


def plot_loss_curve(estimator, *, ax=None):
    """Plot the training loss per epoch, and the validation score if there is one.

    Parameters
    ----------
    estimator : estimator
        A fitted skae estimator (anything with ``loss_curve_`` and
        ``validation_scores_``, as scikit-learn's MLPs too). With
        ``early_stopping=True`` its ``validation_scores_`` go on a twin y axis
        (``ax.twinx()``), labelled "validation score".

    ax : Axes or None, default=None
        The axes to draw in; None creates a figure and axes.

    Returns
    -------
    ax : Axes
        The axes of the training loss (x: epochs 1 to ``n_iter_``).

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import Autoencoder
    >>> from skae.plotting import plot_loss_curve
    >>> X = load_digits().data[:200] / 16
    >>> ae = Autoencoder(16, hidden_layer_sizes=(), max_iter=3, random_state=0).fit(X)
    >>> ax = plot_loss_curve(ae)
    >>> ax.get_lines()[0].get_xdata().tolist()
    [1, 2, 3]
    >>> import matplotlib.pyplot as plt
    >>> plt.close(ax.figure)
    """
    plt = _require_matplotlib()
    from matplotlib.ticker import MaxNLocator

    check_is_fitted(estimator)
    loss_curve = getattr(estimator, "loss_curve_", None)
    if loss_curve is None:
        raise TypeError(
            f"{type(estimator).__name__} has no loss_curve_; plot_loss_curve needs "
            "an estimator trained by gradient descent, such as a skae estimator."
        )
    if ax is None:
        # Constrained layout keeps the twin axis' label inside the figure.
        _, ax = plt.subplots(layout="constrained")
    epochs = np.arange(1, len(loss_curve) + 1)
    lines = ax.plot(epochs, loss_curve, color="C0", label="training loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))

    scores = getattr(estimator, "validation_scores_", None)
    if scores is not None:
        history = getattr(getattr(estimator, "net_", None), "history", None)
        if history is not None:
            # The epochs that recorded a score (a continued fit may add others).
            score_epochs = [
                i + 1 for i, row in enumerate(history) if "valid_score" in row
            ]
        else:
            score_epochs = epochs[: len(scores)]
        twin = ax.twinx()
        lines += twin.plot(score_epochs, scores, color="C1", label="validation score")
        twin.set_ylabel("validation score")
    # "best" does not see the twin's line; between a falling loss and a rising
    # score, the middle of the right side is usually free.
    ax.legend(handles=lines, loc="best" if len(lines) == 1 else "center right")
    return ax


def _first_layer(estimator):
    module = getattr(getattr(estimator, "net_", None), "module_", None)
    if module is None:
        raise TypeError(
            "plot_weights needs a fitted skae estimator (a torch module in "
            f"net_.module_), got {type(estimator).__name__}."
        )
    for layer in module.modules():
        if isinstance(layer, nn.Linear | nn.Conv1d | nn.Conv2d):
            return layer
    raise TypeError(
        f"{type(estimator).__name__}'s module has no Linear, Conv1d or Conv2d layer."
    )


def plot_weights(estimator, *, n_tiles=100, image_shape=None, cmap="gray", fig=None):
    """Draw the first layer's weights as images, one tile per unit.

    For a dense first layer (:class:`torch.nn.Linear`, weight of shape
    ``(n_hidden, n_features)``), tile ``i`` is the weights into hidden unit ``i``,
    as an image. For a convolutional one (:class:`~skae.ConvAE`), tile ``i`` is the
    kernel of output channel ``i`` (on input channel 0); 1-D kernels are strips.
    All tiles share one grey scale, symmetric around zero (mid-grey).

    Parameters
    ----------
    estimator : estimator
        A fitted skae estimator; its first layer is the first ``Linear``,
        ``Conv1d`` or ``Conv2d`` in ``estimator.net_.module_.modules()``.

    n_tiles : int, default=100
        Most tiles to draw: the first ``n_tiles`` units.

    image_shape : tuple of int or None, default=None
        ``(height, width)`` or ``(channels, height, width)`` of the input (channel
        0 is drawn), for a dense layer; None is a square of ``n_features``. A
        convolution's tiles have the kernel's shape, and take no image_shape.

    cmap : str or Colormap, default="gray"
        The colour map.

    fig : Figure or None, default=None
        The figure to draw in; None creates one.

    Returns
    -------
    fig : Figure
        The figure.

    axes : ndarray of Axes of shape (n_rows, n_cols)
        A near-square grid, row by row; axes past the last tile are switched off.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import Autoencoder
    >>> from skae.plotting import plot_weights
    >>> X = load_digits().data[:200] / 16
    >>> ae = Autoencoder(16, hidden_layer_sizes=(), max_iter=2, random_state=0).fit(X)
    >>> fig, axes = plot_weights(ae)
    >>> axes.shape
    (4, 4)
    >>> import matplotlib.pyplot as plt
    >>> plt.close(fig)
    """
    plt = _require_matplotlib()
    check_is_fitted(estimator)
    n_tiles = _check_count(n_tiles, "n_tiles")
    layer = _first_layer(estimator)
    weights = layer.weight.detach().cpu().numpy()
    if isinstance(layer, nn.Linear):
        tiles = _images(weights, _image_shape(weights.shape[1], image_shape))
    else:
        if image_shape is not None:
            raise ValueError(
                "image_shape is for a dense first layer; the first layer of "
                f"{type(estimator).__name__} is a {type(layer).__name__}, whose "
                "tiles are its kernels. Leave image_shape=None."
            )
        tiles = weights[:, 0]  # (out_channels, kh, kw) or (out_channels, k)
        if tiles.ndim == 2:
            tiles = tiles[:, None, :]
    tiles = tiles[:n_tiles]
    vmax = float(np.abs(tiles).max()) or None
    return _tiles(
        plt,
        tiles,
        cmap=cmap,
        fig=fig,
        vmin=None if vmax is None else -vmax,
        vmax=vmax,
    )


def plot_samples(
    estimator,
    *,
    n_samples=64,
    image_shape=None,
    random_state=None,
    cmap="gray",
    fig=None,
):
    """Draw new samples from a generative estimator, such as a VariationalAE.

    The images are ``estimator.sample(n_samples, random_state=random_state)``,
    in a near-square grid, on one grey scale from their minimum to maximum.

    Parameters
    ----------
    estimator : estimator
        A fitted estimator with a ``sample(n_samples, random_state)`` method,
        as :class:`~skae.VariationalAE`.

    n_samples : int, default=64
        Number of samples.

    image_shape : tuple of int or None, default=None
        ``(height, width)`` or ``(channels, height, width)`` of a sample (channel
        0 is drawn); None takes the estimator's ``image_shape_`` if it has one,
        else a square of ``n_features``.

    random_state : int, RandomState instance or None, default=None
        Passed to ``sample``: an int draws the same samples every time.

    cmap : str or Colormap, default="gray"
        The colour map.

    fig : Figure or None, default=None
        The figure to draw in; None creates one.

    Returns
    -------
    fig : Figure
        The figure.

    axes : ndarray of Axes of shape (n_rows, n_cols)
        A near-square grid, row by row; axes past the last sample are switched
        off.

    Raises
    ------
    TypeError
        If the estimator has no ``sample`` method.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import VariationalAE
    >>> from skae.plotting import plot_samples
    >>> X = load_digits().data[:200] / 16
    >>> vae = VariationalAE(2, hidden_layer_sizes=(32,), max_iter=2, random_state=0)
    >>> vae = vae.fit(X)
    >>> fig, axes = plot_samples(vae, n_samples=10, random_state=0)
    >>> axes.shape
    (3, 4)
    >>> import matplotlib.pyplot as plt
    >>> plt.close(fig)
    """
    plt = _require_matplotlib()
    if not callable(getattr(estimator, "sample", None)):
        raise TypeError(
            f"{type(estimator).__name__} has no sample method: plot_samples needs "
            "a generative estimator such as skae.VariationalAE."
        )
    check_is_fitted(estimator)
    n_samples = _check_count(n_samples, "n_samples")
    samples = np.asarray(estimator.sample(n_samples, random_state=random_state))
    images = _images(samples, _image_shape(samples.shape[1], image_shape, estimator))
    vmin, vmax = float(images.min()), float(images.max())
    if vmin == vmax:
        vmin = vmax = None
    return _tiles(plt, images, cmap=cmap, fig=fig, vmin=vmin, vmax=vmax)
