"""AutoencoderOutlierDetector: labels in fit, per-feature scores, thresholds."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skae import Autoencoder, AutoencoderOutlierDetector, DenoisingAE, VariationalAE
from skae.nn.outlier import SemiSupervisedReconstructionLoss

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def blobs():
    """95 inliers around the origin and 5 far away, the last five rows."""
    rng = np.random.RandomState(0)
    return np.vstack([rng.normal(size=(95, 6)), rng.normal(8, 1, size=(5, 6))])


def small_ae(**params):
    return Autoencoder(3, hidden_layer_sizes=(), max_iter=30, **params)


@pytest.fixture(scope="module")
def digits_one_class():
    """Training: the 0s of one half, polluted with 10 other digits, 5 labelled."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16, y, test_size=0.5, random_state=0, stratify=y
    )
    rng = np.random.RandomState(0)
    anomalies = rng.choice(np.flatnonzero(y_train != 0), 10, replace=False)
    rows = np.concatenate([np.flatnonzero(y_train == 0), anomalies])
    labels = np.full(len(rows), -1)
    labels[-5:] = 1
    return X_train[rows], labels, X_test, y_test != 0


# --------------------------------------------------------------- semi-supervised


def test_outlier_detector_fit_y_none_is_unsupervised(blobs):
    # y=None and all -1 train exactly as fit(X) does.
    plain = AutoencoderOutlierDetector(small_ae(), random_state=0).fit(blobs)
    for y in (None, np.full(len(blobs), -1)):
        other = AutoencoderOutlierDetector(small_ae(), random_state=0).fit(blobs, y)
        assert type(other.estimator_) is Autoencoder
        np.testing.assert_array_equal(
            other.score_samples(blobs), plain.score_samples(blobs)
        )
        assert other.offset_ == plain.offset_


def test_outlier_detector_labelled_anomalies_score_lower(digits_one_class):
    X, labels, X_test, is_anomaly = digits_one_class
    unsupervised = AutoencoderOutlierDetector(random_state=0).fit(X)
    semi = AutoencoderOutlierDetector(random_state=0).fit(X, labels)
    assert isinstance(semi.estimator_, DenoisingAE)
    # The known anomalies are pushed far below the rest of the training data.
    known = labels == 1
    scores = semi.score_samples(X)
    assert scores[known].max() < np.percentile(scores[~known], 5)
    # And what they teach carries over to unseen anomalies.
    auc = roc_auc_score(is_anomaly, -semi.score_samples(X_test))
    auc_unsupervised = roc_auc_score(is_anomaly, -unsupervised.score_samples(X_test))
    assert auc > 0.97
    assert auc >= auc_unsupervised - 0.005


def test_outlier_detector_semi_supervised_keeps_the_estimator_params(blobs):
    y = np.full(len(blobs), -1)
    y[-2:] = 1
    y[:3] = 0
    ae = DenoisingAE(4, hidden_layer_sizes=(), noise_level=0.3, max_iter=20)
    detector = AutoencoderOutlierDetector(ae, random_state=0).fit(blobs, y)
    assert isinstance(detector.estimator_, DenoisingAE)
    assert detector.estimator_.get_params() == {**ae.get_params(), "random_state": 0}
    assert detector.predict(blobs)[-5:].tolist() == [-1] * 5


@pytest.mark.parametrize(
    "estimator",
    [VariationalAE(2, max_iter=2), make_pipeline(StandardScaler(), small_ae())],
    ids=["vae", "pipeline"],
)
def test_outlier_detector_semi_supervised_refuses_other_estimators(blobs, estimator):
    y = np.full(len(blobs), -1)
    y[-1] = 1
    with pytest.raises(ValueError, match="semi-supervised"):
        AutoencoderOutlierDetector(estimator).fit(blobs, y)


@pytest.mark.parametrize(
    "y, match",
    [
        (np.arange(100) % 3, r"y must hold 1 \(known anomaly\)"),
        (np.zeros(99), "inconsistent numbers of samples"),
        (np.full(100, 0.5), r"y must hold"),
        # scikit-learn's outlier labels (+1 inlier, -1 outlier) would read as 95
        # known anomalies: refused, not trained on inverted.
        (np.r_[np.ones(95), -np.ones(5)], "95 of the 100 samples as known anomal"),
    ],
    ids=["value-2", "length", "fraction", "predict-labels"],
)
def test_outlier_detector_validates_y(blobs, y, match):
    with pytest.raises(ValueError, match=match):
        AutoencoderOutlierDetector(small_ae()).fit(blobs, y)


def test_semi_supervised_loss_pushes_anomalies_up():
    torch.manual_seed(0)
    X = torch.randn(4, 3)
    reconstruction = (X + 0.1 * torch.randn(4, 3)).requires_grad_()
    labels = torch.tensor([-1.0, 0.0, 1.0, -1.0])
    loss = SemiSupervisedReconstructionLoss(eta=2.0)
    per_sample = loss.per_sample(
        (reconstruction, torch.zeros(4, 2)), torch.cat([X, labels[:, None]], dim=1)
    )
    error = (reconstruction - X).square().mean(dim=1)
    torch.testing.assert_close(per_sample[[0, 3]], error[[0, 3]])
    torch.testing.assert_close(per_sample[1], 2.0 * error[1])
    torch.testing.assert_close(per_sample[2], 2.0 / (error[2] + 1e-6))
    per_sample.sum().backward()
    # Descending the loss moves the anomaly's reconstruction away from its input.
    step = -reconstruction.grad[2]
    assert torch.dot(step, reconstruction[2].detach() - X[2]) > 0


# ------------------------------------------------------------------ explanations


@pytest.mark.parametrize("loss", ["mse", "huber"])
def test_outlier_detector_score_samples_per_feature_sums_to_score(blobs, loss):
    detector = AutoencoderOutlierDetector(small_ae(loss=loss), random_state=0)
    per_feature = detector.fit(blobs).score_samples_per_feature(blobs)
    assert per_feature.shape == blobs.shape
    assert per_feature.dtype == np.float64
    assert (per_feature <= 0).all()
    np.testing.assert_allclose(
        per_feature.sum(axis=1), detector.score_samples(blobs), rtol=1e-5, atol=1e-9
    )


def test_outlier_detector_score_samples_per_feature_finds_the_odd_feature(blobs):
    detector = AutoencoderOutlierDetector(random_state=0).fit(blobs[:95])
    X = blobs[:5].copy()
    X[:, 2] += 10
    per_feature = detector.score_samples_per_feature(X)
    np.testing.assert_array_equal(per_feature.argmin(axis=1), [2] * 5)


def test_outlier_detector_score_samples_per_feature_needs_a_reconstruction(blobs):
    detector = AutoencoderOutlierDetector(VariationalAE(2, max_iter=2))
    assert not hasattr(detector, "score_samples_per_feature")
    assert hasattr(AutoencoderOutlierDetector(), "score_samples_per_feature")


# -------------------------------------------------------------------- thresholds


@pytest.mark.parametrize("contamination", [0.05, 0.1, 0.2])
def test_outlier_detector_novelty_threshold_holds_on_new_data(contamination):
    # A Gaussian blob: the second half is new data from the training
    # distribution, and about `contamination` of it is flagged. The threshold is
    # a percentile of the 1,000 held-out rows' scores, and whatever the network,
    # the share of new rows below it is a draw: over 1,000 held-out rows and
    # 5,000 new ones its standard deviation is 0.0075 at 0.05 (the bounds are
    # 3.3 of them away), 0.010 at 0.1 and 0.014 at 0.2. With 500 training rows
    # (100 held out) it was 0.026 at 0.05, and a perfectly calibrated score
    # would fall outside these bounds in 30 % of the draws.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(10_000, 8))
    detector = AutoencoderOutlierDetector(
        contamination=contamination, novelty=True, random_state=0
    ).fit(X[:5000])
    share = np.mean(detector.predict(X[5000:]) == -1)
    assert contamination / 2 <= share <= contamination * 1.5


def test_outlier_detector_training_threshold_overflags_new_data():
    # Why novelty=True exists: the default network fits its 500 training rows
    # better than new ones, and a threshold on their scores flags new data
    # far beyond its share.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(1000, 8))
    detector = AutoencoderOutlierDetector(contamination=0.1, random_state=0)
    share = np.mean(detector.fit(X[:500]).predict(X[500:]) == -1)
    assert share > 0.2


def test_outlier_detector_novelty_hides_fit_predict(blobs):
    detector = AutoencoderOutlierDetector(small_ae(), novelty=True, random_state=0)
    assert not hasattr(detector, "fit_predict")
    with pytest.raises(AttributeError, match="fit_predict"):
        detector.fit_predict(blobs)
    assert hasattr(AutoencoderOutlierDetector(), "fit_predict")


def test_outlier_detector_novelty_holds_out_no_known_anomaly(blobs):
    y = np.full(len(blobs), -1)
    y[-3:] = 1
    detector = AutoencoderOutlierDetector(small_ae(), novelty=True, random_state=0)
    train, held_out = detector._split(len(blobs), y)
    assert len(held_out) == 20
    assert not np.isin([97, 98, 99], held_out).any()
    assert len(np.union1d(train, held_out)) == len(blobs)
    detector.fit(blobs, y)
    assert detector.predict(blobs)[-5:].tolist() == [-1] * 5


def test_outlier_detector_novelty_leaves_global_rng(blobs):
    np_state = np.random.get_state()[1].copy()  # noqa: NPY002
    AutoencoderOutlierDetector(small_ae(random_state=0), novelty=True).fit(blobs)
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)  # noqa: NPY002


def test_outlier_detector_novelty_needs_two_samples():
    with pytest.raises(ValueError, match="at least 2"):
        AutoencoderOutlierDetector(small_ae(), novelty=True).fit(np.ones((1, 6)))


# ---------------------------------------------------------------------- plotting


@pytest.fixture
def plt():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def test_plot_feature_scores_heat_map_and_bars(blobs, plt):
    from skae.plotting import plot_feature_scores

    detector = AutoencoderOutlierDetector(small_ae(), random_state=0).fit(blobs)
    expected = -detector.score_samples_per_feature(blobs[-1:])[0]
    ax = plot_feature_scores(detector, blobs[-1], image_shape=(2, 3))
    np.testing.assert_allclose(ax.images[0].get_array().data.ravel(), expected)
    ax = plot_feature_scores(detector, blobs[-1], n_features=4)
    widths = [bar.get_width() for bar in ax.patches]
    np.testing.assert_allclose(widths, np.sort(expected)[-4:])
    assert ax.get_yticklabels()[-1].get_text() == f"x{np.argmax(expected)}"
    with pytest.raises(ValueError, match="image_shape"):
        plot_feature_scores(detector, blobs[-1], image_shape=(4, 4))
