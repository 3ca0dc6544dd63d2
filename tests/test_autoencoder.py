"""Behaviour of Autoencoder and DenoisingAE on small seeded data."""

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from skae import Autoencoder, DenoisingAE

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def test_autoencoder_learns_better_than_the_mean(digits_std):
    X, _ = digits_std
    ae = Autoencoder((32,), max_iter=30, random_state=0).fit(X)
    assert ae.loss_curve_[-1] < 0.5 * ae.loss_curve_[0]
    # The mean as reconstruction scores minus the mean variance, here -1.
    baseline = -np.mean((X - X.mean(0)) ** 2)
    assert ae.score(X) > 0.5 * baseline
    scores = ae.score_samples(X)
    assert scores.shape == (len(X),)
    np.testing.assert_allclose(ae.score(X), scores.mean())
    reconstruction = ae.inverse_transform(ae.transform(X))
    np.testing.assert_allclose(-((reconstruction - X) ** 2).mean(1), scores, rtol=1e-4)


@pytest.mark.parametrize("hidden", [(16,), (32, 8, 2)], ids=["shallow", "deep"])
def test_autoencoder_shapes(digits, hidden):
    X, _ = digits
    ae = Autoencoder(hidden, activation="tanh", max_iter=2, random_state=0).fit(X)
    Z = ae.transform(X)
    assert Z.shape == (len(X), hidden[-1])
    assert ae.inverse_transform(Z).shape == X.shape
    np.testing.assert_array_equal(ae.fit_transform(X), Z)
    names = ae.get_feature_names_out()
    assert names.tolist() == [f"autoencoder{i}" for i in range(hidden[-1])]
    with pytest.raises(ValueError, match=f"expecting {hidden[-1]} features"):
        ae.inverse_transform(X)


def test_sparsity_penalty_shrinks_the_code(digits_std):
    X, _ = digits_std
    plain = Autoencoder((32,), max_iter=20, random_state=0).fit(X)
    sparse = Autoencoder((32,), l1_code=1.0, max_iter=20, random_state=0).fit(X)
    assert np.abs(sparse.transform(X)).mean() < 0.5 * np.abs(plain.transform(X)).mean()
    assert (sparse.transform(X) == 0).mean() > (plain.transform(X) == 0).mean()


def test_linear_code_activation(digits_std):
    X, _ = digits_std
    ae = Autoencoder((8,), activation="tanh", code_activation="identity", max_iter=2)
    Z = ae.set_params(random_state=0).fit_transform(X)
    assert np.abs(Z).max() > 1  # tanh would bound the code to [-1, 1]


def test_bce_loss_needs_logistic_output_and_unit_range(digits):
    X, _ = digits
    ae = Autoencoder(
        (16,), loss="bce", out_activation="logistic", max_iter=5, random_state=0
    )
    ae.fit(X)
    assert ae.score(X) < 0  # a cross-entropy, never negative
    with pytest.raises(
        ValueError, match=r"needs X in \[0, 1\], got values in \[0, 16\]"
    ):
        ae.score_samples(X * 16)
    with pytest.raises(ValueError, match="needs X in"):
        ae.fit(X * 16)
    with pytest.raises(ValueError, match="needs out_activation='logistic'"):
        ae.set_params(out_activation="identity").fit(X)


@pytest.mark.parametrize("noise", ["gaussian", "mask"])
def test_denoising_transform_is_deterministic_and_noise_changes_training(
    digits_std, noise
):
    X, _ = digits_std
    dae = DenoisingAE((16,), noise=noise, noise_level=0.3, max_iter=3, random_state=0)
    Z = dae.fit_transform(X)
    np.testing.assert_array_equal(dae.transform(X), Z)
    np.testing.assert_array_equal(dae.score_samples(X), dae.score_samples(X))
    plain = Autoencoder((16,), max_iter=3, random_state=0).fit(X)
    assert not np.array_equal(plain.transform(X), Z)
    clean = DenoisingAE((16,), noise=noise, noise_level=0.0, max_iter=3, random_state=0)
    np.testing.assert_array_equal(clean.fit_transform(X), plain.transform(X))


def test_masking_noise_level_must_stay_below_one(digits):
    X, _ = digits
    with pytest.raises(ValueError, match="noise_level below 1"):
        DenoisingAE(noise="mask", noise_level=1.0).fit(X)


def test_score_samples_flags_anomalies(digits):
    X, _ = digits
    rng = np.random.RandomState(0)
    ae = Autoencoder((16,), max_iter=40, random_state=0).fit(X[:1500])
    noise = rng.uniform(0, 1, size=(50, X.shape[1]))
    inliers, outliers = ae.score_samples(X[1500:]), ae.score_samples(noise)
    assert np.median(outliers) < np.percentile(inliers, 5)


def test_set_output_pandas(digits):
    pd = pytest.importorskip("pandas")
    X, _ = digits
    dae = DenoisingAE((4,), max_iter=2, random_state=0).set_output(transform="pandas")
    Z = dae.fit_transform(X)
    assert isinstance(Z, pd.DataFrame)
    assert list(Z.columns) == [
        "denoisingae0",
        "denoisingae1",
        "denoisingae2",
        "denoisingae3",
    ]
    assert dae.inverse_transform(Z).shape == X.shape


def test_pipeline_beats_pca_at_the_same_code_size(digits):
    # A nonlinear 8-D code keeps more of what a linear classifier needs than PCA's.
    # Measured on 4 splits: 0.90-0.91 accuracy against 0.86-0.89 for PCA.
    X, y = digits
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=0, stratify=y
    )
    scores = {}
    for name, reducer in [
        ("pca", PCA(8, random_state=0)),
        (
            "dae",
            DenoisingAE(
                (128, 8), noise_level=0.3, batch_size=64, max_iter=100, random_state=0
            ),
        ),
    ]:
        pipe = make_pipeline(
            StandardScaler(), reducer, LogisticRegression(max_iter=3000)
        )
        scores[name] = pipe.fit(X_train, y_train).score(X_test, y_test)
    assert scores["dae"] > scores["pca"] + 0.02, scores


def test_grid_search_without_scoring_alone_and_in_a_pipeline(digits):
    X, y = digits
    X, y = X[:400], y[:400]
    grid = {"noise_level": [0.0, 0.5], "hidden_layer_sizes": [(4,), (32,)]}
    dae = DenoisingAE(batch_size=32, max_iter=20, random_state=0)
    search = GridSearchCV(dae, grid, cv=2).fit(X)
    # Higher is better: a wider code reconstructs better.
    assert search.best_params_["hidden_layer_sizes"] == (32,)
    assert search.best_score_ < 0
    pipe = Pipeline(
        [
            ("scale", StandardScaler()),
            ("dae", DenoisingAE(max_iter=10, random_state=0)),
            ("clf", LogisticRegression(max_iter=500)),
        ]
    )
    search = GridSearchCV(pipe, {f"dae__{k}": v for k, v in grid.items()}, cv=2).fit(
        X, y
    )
    assert 0.5 < search.best_score_ <= 1
    assert set(search.cv_results_["params"][0]) == {
        "dae__noise_level",
        "dae__hidden_layer_sizes",
    }


def test_layerwise_pretraining_starts_the_stack_from_shallow_autoencoders(digits_std):
    X, _ = digits_std
    kwargs = {"activation": "tanh", "code_activation": "identity", "random_state": 0}
    stacked = Autoencoder((48, 16, 4), pretrain_max_iter=15, max_iter=1, **kwargs)
    curves = stacked.fit(X).pretrain_loss_curves_
    assert [len(c) for c in curves] == [15, 15, 15]
    assert all(c[-1] < 0.8 * c[0] for c in curves)  # each layer learned
    fresh = Autoencoder((48, 16, 4), max_iter=1, **kwargs).fit(X)
    assert not hasattr(fresh, "pretrain_loss_curves_")
    # The pretrained stack starts far better: measured 0.82 against 0.95 in the
    # first epoch of fine-tuning, 0.78 against 0.92 after it.
    assert stacked.loss_curve_[0] < 0.9 * fresh.loss_curve_[0]
    assert stacked.score(X) > fresh.score(X) + 0.05
    # Denoising stacks pretrain each layer with the estimator's noise.
    dae = DenoisingAE((32, 8), noise="mask", pretrain_max_iter=5, max_iter=1, **kwargs)
    assert [len(c) for c in dae.fit(X).pretrain_loss_curves_] == [5, 5]
    # A single hidden layer has nothing to pretrain.
    single = Autoencoder((8,), pretrain_max_iter=5, max_iter=2, random_state=0).fit(X)
    assert not hasattr(single, "pretrain_loss_curves_")
