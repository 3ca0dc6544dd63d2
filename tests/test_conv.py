"""Behaviour of ConvAE on small seeded data."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from skae import ConvAE
from skae._conv import _encoder_sizes
from skae.nn.conv import ConvAutoencoderModule

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.mark.parametrize(
    "n_features, image_shape, expected",
    [
        (64, None, (1, 8, 8)),
        (10, None, (1, 10)),
        (64, (4, 16), (1, 4, 16)),
        (64, (4, 4, 4), (4, 4, 4)),
    ],
    ids=["square", "signal", "height-width", "channels"],
)
# A 4x4 image pooled twice has a code of one position: a warning, not the point.
@pytest.mark.filterwarnings("ignore:ConvAE's code has a spatial size:UserWarning")
def test_convae_reads_rows_as_images_or_signals(n_features, image_shape, expected):
    X = np.random.RandomState(0).uniform(size=(40, n_features))
    conv = ConvAE(image_shape, channels=(4, 2), max_iter=2, random_state=0).fit(X)
    assert conv.image_shape_ == expected
    Z = conv.transform(X)
    assert Z.shape == (40, conv.net_.module_.n_components)
    assert conv.inverse_transform(Z).shape == X.shape


def test_convae_image_shape_must_match_n_features(digits):
    X, _ = digits
    with pytest.raises(ValueError, match="product of n_features=64"):
        ConvAE((7, 9)).fit(X)
    with pytest.raises(ValueError, match="kernel_sizes has 3 entries"):
        ConvAE(channels=(4, 2), kernel_sizes=(3, 3, 3)).fit(X)


def test_convae_learns_digits(digits):
    X, y = digits
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    conv = ConvAE(channels=(16, 8), batch_size=64, max_iter=40, random_state=0)
    conv.fit(X_train)
    assert conv.loss_curve_[-1] < 0.5 * conv.loss_curve_[0]
    baseline = -np.mean((X_test - X_train.mean(0)) ** 2)
    assert conv.score(X_test) > 0.5 * baseline
    # 8x8 -> pool -> 4x4 -> pool -> 2x2 with 8 channels: a 32-feature code that
    # keeps what a linear classifier needs.
    assert conv.transform(X_test).shape == (len(X_test), 32)
    pipe = make_pipeline(conv, LogisticRegression(max_iter=3000))
    assert pipe.fit(X_train, y_train).score(X_test, y_test) > 0.85


def test_convae_classic_mnist_setting_is_parameters():
    X = np.random.RandomState(0).uniform(-1, 1, size=(8, 784)).astype(np.float32)
    conv = ConvAE(
        (28, 28), channels=(16, 8), strides=(3, 2), out_activation="tanh", max_iter=1
    ).fit(X)
    module = conv.net_.module_
    assert module.code_shape == (8, 2, 2)
    assert conv.transform(X).shape == (8, 32)
    reconstruction = conv.inverse_transform(conv.transform(X))
    assert reconstruction.shape == (8, 784) and reconstruction.dtype == np.float32
    assert np.abs(reconstruction).max() <= 1


def test_convae_warns_when_strides_collapse_the_code(digits):
    X, _ = digits
    with pytest.warns(UserWarning, match="spatial size of 1x1") as record:
        conv = ConvAE(strides=4, max_iter=1, random_state=0).fit(X)
    message = str(record[0].message)
    assert "8x8 input becomes 2x2 after the convolution of stage 1 (strides=4)" in (
        message
    )
    assert "Lower strides or pool_sizes" in message
    assert conv.net_.module_.code_shape[1:] == (1, 1)


def test_convae_warns_when_pooling_collapses_the_code(digits):
    X, _ = digits
    with pytest.warns(UserWarning, match=r"1x1 after the pooling of stage 1") as rec:
        ConvAE(channels=(4,), pool_sizes=8, max_iter=1, random_state=0).fit(X)
    message = str(rec[0].message)
    assert "(pool_sizes=8)" in message and "strides" not in message


def test_convae_does_not_warn_on_a_code_with_spatial_layout(digits):
    # Warnings are errors: the default 8x8 -> 4x4 -> 2x2 fits in silence, as does
    # an input that has a single position to begin with.
    X, _ = digits
    ConvAE(channels=(4, 2), max_iter=1, random_state=0).fit(X)
    ConvAE((64, 1, 1), channels=(4,), max_iter=1, random_state=0).fit(X)


@pytest.mark.parametrize(
    "input_shape, kernel_sizes, strides, pool_sizes",
    [
        ((1, 8, 8), 3, 1, 2),
        ((1, 8, 8), 3, 4, 2),
        ((1, 28, 28), (3, 3), (3, 2), 2),
        ((2, 7, 5), (4, 2), (2, 3), (3, 1)),
        ((1, 10), 5, (1, 2), (2, 3)),
        ((1, 3), 2, 1, (2, 2)),
    ],
    ids=["digits", "stride-4", "mnist", "even-kernels", "signal", "short-signal"],
)
def test_convae_collapse_check_computes_the_modules_code_shape(
    input_shape, kernel_sizes, strides, pool_sizes
):
    # The warning's arithmetic must agree with the module it describes.
    channels = (4, 2)
    steps = _encoder_sizes(input_shape, channels, kernel_sizes, strides, pool_sizes)
    module = ConvAutoencoderModule(
        input_shape,
        channels=channels,
        kernel_sizes=kernel_sizes,
        strides=strides,
        pool_sizes=pool_sizes,
    )
    assert steps[-1][2] == module.code_shape[1:]
