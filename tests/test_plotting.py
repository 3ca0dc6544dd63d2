import importlib
import sys

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skae
from skae import Autoencoder, ConvAE, DenoisingAE, MLPClassifier, VariationalAE
from skae.plotting import (
    plot_codes,
    plot_loss_curve,
    plot_reconstructions,
    plot_samples,
    plot_weights,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(autouse=True)
def agg():
    """Draw with Agg (no display) and close every figure after each test."""
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


@pytest.fixture(scope="module")
def data(digits):
    X, y = digits
    return X[:200], y[:200]


@pytest.fixture(scope="module")
def ae(data):
    return Autoencoder(2, hidden_layer_sizes=(16,), max_iter=3, random_state=0).fit(
        data[0]
    )


@pytest.fixture(scope="module")
def vae(data):
    return VariationalAE(2, hidden_layer_sizes=(16,), max_iter=2, random_state=0).fit(
        data[0]
    )


@pytest.fixture(scope="module")
def conv(data):
    return ConvAE(channels=(4, 2), max_iter=2, random_state=0).fit(data[0])


def only_image(ax):
    """The array drawn in ``ax``, which must hold exactly one image."""
    assert len(ax.images) == 1
    return ax.images[0].get_array().data


# ------------------------------------------------------------ without matplotlib

CALLS = {
    "plot_reconstructions": lambda m: m.plot_reconstructions(None, None),
    "plot_codes": lambda m: m.plot_codes(None),
    "plot_loss_curve": lambda m: m.plot_loss_curve(None),
    "plot_weights": lambda m: m.plot_weights(None),
    "plot_samples": lambda m: m.plot_samples(None),
}


@pytest.mark.parametrize("name", CALLS)
def test_plotting_without_matplotlib(monkeypatch, name):
    # A fresh import of skae.plotting with matplotlib impossible to import.
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.delitem(sys.modules, "skae.plotting")
    monkeypatch.delattr(skae, "plotting")  # restored, with the module, afterwards
    plotting = importlib.import_module("skae.plotting")
    with pytest.raises(ImportError) as info:
        CALLS[name](plotting)
    assert str(info.value) == (
        "skae.plotting needs matplotlib: pip install 'skae[plot]'"
    )


# ---------------------------------------------------------------- reconstructions


def test_plot_reconstructions_draws_the_estimators_reconstructions(ae, data):
    X = data[0]
    fig, axes = plot_reconstructions(ae, X, n_images=4)
    assert axes.shape == (2, 4) and fig.axes == list(axes.flat)
    reconstructions = ae.inverse_transform(ae.transform(X[:4]))
    for i in range(4):
        np.testing.assert_array_equal(only_image(axes[0, i]), X[i].reshape(8, 8))
        np.testing.assert_allclose(
            only_image(axes[1, i]), reconstructions[i].reshape(8, 8)
        )
        # One grey scale, the originals', for both rows.
        assert axes[1, i].images[0].get_clim() == (X[:4].min(), X[:4].max())
        assert not axes[0, i].get_xticks().size and not axes[1, i].get_yticks().size
    assert axes[0, 0].get_ylabel() == "original"
    assert axes[1, 0].get_ylabel() == "reconstruction"


def test_plot_reconstructions_fewer_rows_and_given_figure(ae, data, agg):
    fig = agg.figure()
    returned, axes = plot_reconstructions(ae, data[0][:3], n_images=5, fig=fig)
    assert returned is fig and axes.shape == (2, 3)
    with pytest.raises(ValueError, match="n_images must be a positive integer"):
        plot_reconstructions(ae, data[0], n_images=0)


def test_plot_reconstructions_pipeline(data):
    # A Pipeline's inverse_transform undoes the scaler too: reconstructions are
    # drawn in the units of X.
    X = data[0]
    pipe = make_pipeline(
        StandardScaler(),
        Autoencoder(8, hidden_layer_sizes=(), max_iter=2, random_state=0),
    ).fit(X)
    _, axes = plot_reconstructions(pipe, X, n_images=2)
    expected = pipe.inverse_transform(pipe.transform(X[:2]))
    np.testing.assert_allclose(only_image(axes[1, 1]), expected[1].reshape(8, 8))


def test_plot_reconstructions_image_shape(data):
    # A ConvAE's own image_shape_ (here 4 x 16, not the square 8 x 8) is used;
    # an explicit image_shape wins; a wrong one is refused.
    conv = ConvAE(image_shape=(4, 16), channels=(2,), max_iter=1, random_state=0).fit(
        data[0]
    )
    _, axes = plot_reconstructions(conv, data[0], n_images=2)
    assert only_image(axes[0, 0]).shape == (4, 16)
    _, axes = plot_reconstructions(conv, data[0], n_images=2, image_shape=(2, 32))
    np.testing.assert_array_equal(only_image(axes[0, 1]), data[0][1].reshape(2, 32))
    _, axes = plot_reconstructions(conv, data[0], n_images=2, image_shape=(4, 4, 4))
    np.testing.assert_array_equal(  # channel 0 of a (4, 4, 4) row
        only_image(axes[0, 1]), data[0][1].reshape(4, 4, 4)[0]
    )
    with pytest.raises(ValueError, match="product of 64"):
        plot_reconstructions(conv, data[0], image_shape=(5, 5))


def test_plot_reconstructions_not_square(data):
    ae60 = Autoencoder(4, hidden_layer_sizes=(), max_iter=1, random_state=0).fit(
        data[0][:, :60]
    )
    with pytest.raises(ValueError, match="60 features are not square"):
        plot_reconstructions(ae60, data[0][:, :60])
    _, axes = plot_reconstructions(ae60, data[0][:, :60], image_shape=(6, 10))
    assert only_image(axes[1, 0]).shape == (6, 10)


def test_plot_reconstructions_unfitted(data):
    with pytest.raises(NotFittedError):
        plot_reconstructions(Autoencoder(), data[0])


# -------------------------------------------------------------------------- codes


def test_plot_codes_2d_by_class(ae, data):
    X, y = data
    Z = ae.transform(X)
    ax = plot_codes(Z, y)
    assert ax.name != "3d"
    classes = np.unique(y)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [str(c) for c in classes]
    assert len(ax.collections) == len(classes)
    colors = set()
    for collection, c in zip(ax.collections, classes, strict=True):
        np.testing.assert_allclose(collection.get_offsets(), Z[y == c])
        colors.add(tuple(collection.get_facecolor()[0]))
    assert len(colors) == len(classes)  # tab10: a colour per digit
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Z[:, 0]", "Z[:, 1]")


def test_plot_codes_without_labels_and_string_labels(agg):
    Z = np.random.RandomState(0).normal(size=(30, 2))
    _, ax = agg.subplots()
    assert plot_codes(Z, ax=ax) is ax
    assert len(ax.collections) == 1
    np.testing.assert_allclose(ax.collections[0].get_offsets(), Z)
    y = np.array(["cat", "dog", "emu"])[np.arange(30) % 3]
    ax = plot_codes(Z, y)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["cat", "dog", "emu"]


def test_plot_codes_continuous_target_gets_a_colourbar():
    rng = np.random.RandomState(0)
    Z, y = rng.normal(size=(40, 2)), rng.uniform(size=40)
    ax = plot_codes(Z, y, cmap="viridis")
    assert ax.get_legend() is None
    assert len(ax.figure.axes) == 2  # the axes and its colourbar
    np.testing.assert_allclose(ax.collections[0].get_array(), y)


def test_plot_codes_3d(agg):
    rng = np.random.RandomState(0)
    Z, y = rng.normal(size=(40, 3)), np.arange(40) % 2
    ax = plot_codes(Z, y)
    assert ax.name == "3d" and ax.get_zlabel() == "Z[:, 2]"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["0", "1"]
    low, high = ax.get_zlim()
    assert low <= Z[:, 2].min() and high >= Z[:, 2].max()
    ax3 = agg.figure().add_subplot(projection="3d")
    assert plot_codes(Z, ax=ax3) is ax3


def test_plot_codes_errors(agg):
    rng = np.random.RandomState(0)
    with pytest.raises(ValueError, match="2 or 3 components"):
        plot_codes(rng.normal(size=(10, 4)))
    _, ax = agg.subplots()
    with pytest.raises(ValueError, match=r"need 3-D axes \(projection='3d'\)"):
        plot_codes(rng.normal(size=(10, 3)), ax=ax)
    ax3 = agg.figure().add_subplot(projection="3d")
    with pytest.raises(ValueError, match="need 2-D axes"):
        plot_codes(rng.normal(size=(10, 2)), ax=ax3)
    with pytest.raises(ValueError, match=r"y must have shape \(10,\)"):
        plot_codes(rng.normal(size=(10, 2)), y=np.arange(9))


# -------------------------------------------------------------------- loss curves


@pytest.mark.parametrize(
    "estimator",
    [
        Autoencoder(8, hidden_layer_sizes=(), max_iter=3, random_state=0),
        DenoisingAE(8, hidden_layer_sizes=(), max_iter=3, random_state=0),
        ConvAE(channels=(2,), max_iter=3, random_state=0),
        VariationalAE(2, hidden_layer_sizes=(8,), max_iter=3, random_state=0),
        MLPClassifier((8,), max_iter=3, random_state=0),
    ],
    ids=lambda e: type(e).__name__,
)
def test_plot_loss_curve_every_estimator(estimator, data):
    estimator = clone(estimator).fit(*data)
    ax = plot_loss_curve(estimator)
    (line,) = ax.get_lines()
    np.testing.assert_array_equal(line.get_xdata(), np.arange(1, estimator.n_iter_ + 1))
    np.testing.assert_allclose(line.get_ydata(), estimator.loss_curve_)
    assert len(ax.figure.axes) == 1  # no validation scores, no twin axes
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["training loss"]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("epoch", "training loss")


def test_plot_loss_curve_validation_scores(data, agg):
    ae = Autoencoder(
        8, hidden_layer_sizes=(), early_stopping=True, max_iter=4, random_state=0
    )
    ae.fit(data[0])
    assert ae.validation_scores_ is not None
    _, ax = agg.subplots()
    assert plot_loss_curve(ae, ax=ax) is ax
    (twin,) = [other for other in ax.figure.axes if other is not ax]
    (line,) = twin.get_lines()
    np.testing.assert_allclose(line.get_ydata(), ae.validation_scores_)
    np.testing.assert_array_equal(line.get_xdata(), np.arange(1, ae.n_iter_ + 1))
    assert twin.get_ylabel() == "validation score"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "training loss",
        "validation score",
    ]

    # partial_fit adds an epoch without a score: the scores keep their epochs.
    # (partial_fit refuses early_stopping=True, as scikit-learn's does.)
    n_scored = ae.n_iter_
    ae.set_params(early_stopping=False).partial_fit(data[0])
    ax = plot_loss_curve(ae)
    twin = [other for other in ax.figure.axes if other is not ax][0]
    np.testing.assert_array_equal(
        twin.get_lines()[0].get_xdata(), np.arange(1, n_scored + 1)
    )
    assert len(ax.get_lines()[0].get_xdata()) == n_scored + 1


def test_plot_loss_curve_unfitted():
    with pytest.raises(NotFittedError):
        plot_loss_curve(VariationalAE())


# ------------------------------------------------------------------------ weights


def test_plot_weights_tiles_are_the_first_layer(ae):
    weights = ae.net_.module_.state_dict()["encoder.0.weight"].numpy()
    assert weights.shape == (16, 64)
    fig, axes = plot_weights(ae)
    assert axes.shape == (4, 4)
    for ax, w in zip(axes.flat, weights, strict=True):
        np.testing.assert_array_equal(only_image(ax), w.reshape(8, 8))
    vmin, vmax = axes[0, 0].images[0].get_clim()
    assert vmax == np.abs(weights).max() and vmin == -vmax  # zero is mid-grey


def test_plot_weights_n_tiles_and_image_shape(ae, agg):
    weights = ae.net_.module_.state_dict()["encoder.0.weight"].numpy()
    fig = agg.figure()
    returned, axes = plot_weights(ae, n_tiles=5, image_shape=(4, 16), fig=fig)
    assert returned is fig and axes.shape == (2, 3)
    drawn = [ax for ax in axes.flat if ax.images]
    assert len(drawn) == 5 and not axes[1, 2].axison
    np.testing.assert_array_equal(only_image(drawn[4]), weights[4].reshape(4, 16))
    with pytest.raises(ValueError, match="product of 64"):
        plot_weights(ae, image_shape=(7, 7))


@pytest.mark.parametrize(
    "estimator, key",
    [
        (
            VariationalAE(2, hidden_layer_sizes=(16,), max_iter=1, random_state=0),
            "body.0.weight",
        ),
        (MLPClassifier((9,), max_iter=1, random_state=0), "hidden.0.weight"),
    ],
    ids=["VariationalAE", "MLPClassifier"],
)
def test_plot_weights_dense_estimators(estimator, key, data):
    estimator = clone(estimator).fit(*data)
    weights = estimator.net_.module_.state_dict()[key].numpy()
    _, axes = plot_weights(estimator, n_tiles=4)
    assert axes.shape == (2, 2)
    for ax, w in zip(axes.flat, weights[:4], strict=True):
        np.testing.assert_array_equal(only_image(ax), w.reshape(8, 8))


def test_plot_weights_conv_kernels(conv, data):
    kernels = conv.net_.module_.state_dict()["encoder.0.0.weight"].numpy()
    assert kernels.shape == (4, 1, 3, 3)
    _, axes = plot_weights(conv)
    assert axes.shape == (2, 2)
    for ax, k in zip(axes.flat, kernels[:, 0], strict=True):
        np.testing.assert_array_equal(only_image(ax), k)
    with pytest.raises(ValueError, match="image_shape is for a dense first layer"):
        plot_weights(conv, image_shape=(8, 8))

    # 60 features: a 1-D signal, Conv1d kernels drawn as strips.
    conv1d = ConvAE(channels=(3,), max_iter=1, random_state=0).fit(data[0][:, :60])
    kernels = conv1d.net_.module_.state_dict()["encoder.0.0.weight"].numpy()
    assert kernels.shape == (3, 1, 3)
    _, axes = plot_weights(conv1d)
    drawn = [ax for ax in axes.flat if ax.images]
    assert len(drawn) == 3
    np.testing.assert_array_equal(only_image(drawn[2]), kernels[2])  # (1, 3)


def test_plot_weights_errors(data):
    with pytest.raises(NotFittedError):
        plot_weights(Autoencoder())
    with pytest.raises(TypeError, match="needs a fitted skae estimator.*PCA"):
        plot_weights(PCA(2).fit(data[0]))


# ------------------------------------------------------------------------ samples


def test_plot_samples_draws_the_estimators_samples(vae):
    fig, axes = plot_samples(vae, n_samples=10, random_state=0)
    assert axes.shape == (3, 4)
    samples = vae.sample(10, random_state=0)
    drawn = [ax for ax in axes.flat if ax.images]
    assert len(drawn) == 10
    for ax, sample in zip(drawn, samples, strict=True):
        np.testing.assert_allclose(only_image(ax), sample.reshape(8, 8))
    assert not any(ax.axison for ax in axes.flat[10:])
    # The default draws 64 in an 8 x 8 grid.
    _, axes = plot_samples(vae, random_state=1)
    assert axes.shape == (8, 8)


def test_plot_samples_errors(ae):
    with pytest.raises(TypeError, match="Autoencoder has no sample method"):
        plot_samples(ae)
    with pytest.raises(NotFittedError):
        plot_samples(VariationalAE())
