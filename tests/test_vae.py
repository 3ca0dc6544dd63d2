"""Behaviour of VariationalAE on small seeded data."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

from skae import VariationalAE

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def vae(digits):
    X, _ = digits
    return VariationalAE(
        4,
        hidden_layer_sizes=(64,),
        loss="bce",
        out_activation="logistic",
        max_iter=30,
        random_state=0,
    ).fit(X[:1500])


def test_vae_learns_and_reports_nats_per_sample(vae, digits):
    X, _ = digits
    # Loss in nats per sample: a Bernoulli likelihood over 64 pixels starts near
    # 64 * log(2) = 44 nats and must go well below.
    assert 30 < vae.loss_curve_[0] < 60
    assert vae.loss_curve_[-1] < 0.8 * vae.loss_curve_[0]
    scores = vae.score_samples(X[1500:])
    assert scores.shape == (len(X) - 1500,)
    assert np.all(scores < 0)  # a bound on a log-probability of binary-ish data
    # score is the mean ELBO; held-out data scores within reach of the training loss.
    assert vae.score(X[1500:]) == pytest.approx(scores.mean())
    assert -vae.score(X[1500:]) < 1.3 * vae.loss_curve_[-1]


def test_vae_transform_is_the_posterior_mean_and_deterministic(vae, digits):
    X, _ = digits
    Z = vae.transform(X)
    assert Z.shape == (len(X), 4)
    np.testing.assert_array_equal(vae.transform(X), Z)
    np.testing.assert_array_equal(vae.score_samples(X[:50]), vae.score_samples(X[:50]))
    reconstruction = vae.inverse_transform(Z)
    assert reconstruction.shape == X.shape
    assert reconstruction.min() > 0 and reconstruction.max() < 1  # logistic output
    assert vae.get_feature_names_out().tolist() == [
        f"variationalae{i}" for i in range(4)
    ]


def test_vae_sample_from_the_prior(vae):
    a = vae.sample(5, random_state=0)
    assert a.shape == (5, 64) and a.dtype == np.float64
    np.testing.assert_array_equal(a, vae.sample(5, random_state=0))
    assert not np.array_equal(a, vae.sample(5, random_state=1))
    # Samples look like data: pixel values in (0, 1), mean intensity near the data's.
    assert 0.1 < vae.sample(500, random_state=0).mean() < 0.5


def test_vae_bce_needs_unit_range_with_a_clear_error(digits):
    X, _ = digits
    vae = VariationalAE(
        2, hidden_layer_sizes=(8,), loss="bce", out_activation="logistic", max_iter=1
    )
    with pytest.raises(ValueError, match=r"loss='bce' needs X in \[0, 1\]"):
        vae.fit(X * 16)
    with pytest.raises(ValueError, match="needs out_activation='logistic'"):
        vae.set_params(out_activation="identity").fit(X)


def test_vae_gaussian_likelihood_on_standardised_data(digits_std):
    X, _ = digits_std
    vae = VariationalAE(4, hidden_layer_sizes=(32,), max_iter=20, random_state=0).fit(X)
    # Gaussian of unit variance: at least 0.5 * log(2 pi) nats per feature.
    assert vae.loss_curve_[-1] > 0.5 * np.log(2 * np.pi) * X.shape[1]
    assert vae.loss_curve_[-1] < vae.loss_curve_[0]


def test_vae_beta_weights_the_kl_term(digits):
    X, _ = digits
    kwargs = {"loss": "bce", "out_activation": "logistic", "max_iter": 15}
    loose = VariationalAE(
        4, hidden_layer_sizes=(32,), beta=0.1, random_state=0, **kwargs
    ).fit(X)
    tight = VariationalAE(
        4, hidden_layer_sizes=(32,), beta=4.0, random_state=0, **kwargs
    ).fit(X)
    # A heavier KL term pulls the posterior means towards the prior's 0.
    assert np.abs(tight.transform(X)).mean() < np.abs(loose.transform(X)).mean()


def test_vae_grid_search_over_beta_without_scoring(digits):
    X, _ = digits
    vae = VariationalAE(
        4,
        hidden_layer_sizes=(32,),
        loss="bce",
        out_activation="logistic",
        batch_size=32,
        max_iter=40,
        random_state=0,
    )
    search = GridSearchCV(vae, {"beta": [1.0, 50.0]}, cv=2).fit(X)
    # Scores are plain ELBOs: the over-regularised model has the worse bound
    # (measured: -25.7 against -27.4 nats).
    assert search.best_params_ == {"beta": 1.0}
