"""Behaviour of Autoencoder and DenoisingAE on small seeded data."""

import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

import skae._autoencoder
from skae import Autoencoder, ConvAE, DenoisingAE, VariationalAE

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _reference_error(reconstruction, X, loss, delta=0.5):
    """Per-sample reconstruction error in NumPy: the documented formulas."""
    e = np.abs(reconstruction - X)
    if loss == "mse":
        return (e**2).mean(1)
    return np.where(e <= delta, 0.5 * e**2, delta * (e - 0.5 * delta)).mean(1)


@pytest.mark.parametrize("loss", [None, "mse", "huber"])
def test_autoencoder_learns_better_than_the_mean(digits_std, loss):
    X, _ = digits_std
    kwargs = {} if loss is None else {"loss": loss}
    ae = Autoencoder(32, hidden_layer_sizes=(), max_iter=30, random_state=0, **kwargs)
    ae.fit(X)
    loss = loss or "huber"  # the default
    assert ae.loss_curve_[-1] < 0.5 * ae.loss_curve_[0]
    # The mean as the reconstruction of every sample.
    baseline = -_reference_error(X.mean(0), X, loss).mean()
    assert ae.score(X) > 0.5 * baseline
    scores = ae.score_samples(X)
    assert scores.shape == (len(X),)
    np.testing.assert_allclose(ae.score(X), scores.mean())
    reconstruction = ae.inverse_transform(ae.transform(X))
    np.testing.assert_allclose(
        -_reference_error(reconstruction, X, loss), scores, rtol=1e-4
    )


def test_huber_delta_sets_where_the_loss_turns_linear(digits_std):
    X, _ = digits_std
    ae = Autoencoder(8, hidden_layer_sizes=(), max_iter=3, random_state=0).fit(X)
    reconstruction = ae.inverse_transform(ae.transform(X))
    for delta in (0.1, 2.0):
        ae.set_params(huber_delta=delta)
        np.testing.assert_allclose(
            -_reference_error(reconstruction, X, "huber", delta),
            ae.score_samples(X),
            rtol=1e-4,
        )
    with pytest.raises(ValueError, match="huber_delta"):
        Autoencoder(huber_delta=0).fit(X)


@pytest.mark.parametrize("hidden, k", [((), 16), ((32, 8), 2)], ids=["shallow", "deep"])
def test_autoencoder_shapes(digits, hidden, k):
    X, _ = digits
    ae = Autoencoder(
        k, hidden_layer_sizes=hidden, activation="tanh", max_iter=2, random_state=0
    ).fit(X)
    Z = ae.transform(X)
    assert Z.shape == (len(X), k)
    assert ae.inverse_transform(Z).shape == X.shape
    np.testing.assert_array_equal(ae.fit_transform(X), Z)
    names = ae.get_feature_names_out()
    assert names.tolist() == [f"autoencoder{i}" for i in range(k)]
    with pytest.raises(ValueError, match=f"expecting {k} features"):
        ae.inverse_transform(X)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Autoencoder(2, hidden_layer_sizes=(), max_iter=1, random_state=0),
        lambda: VariationalAE(2, hidden_layer_sizes=(4,), max_iter=1, random_state=0),
        lambda: ConvAE(channels=(2,), pool_sizes=1, max_iter=1, random_state=0),
    ],
    ids=["Autoencoder", "VariationalAE", "ConvAE"],
)
def test_autoencoder_inverse_transform_names_X_in_its_errors(make):
    # PCA.inverse_transform's words: "Input X contains NaN."
    X = np.random.RandomState(0).normal(size=(20, 4))
    ae = make().fit(X)
    Z = ae.transform(X[:2])
    Z[0, 0] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        ae.inverse_transform(Z)


def test_sparsity_penalty_shrinks_the_code(digits_std):
    X, _ = digits_std
    # A ReLU code: l1_code drives units to exactly zero.
    kwargs = {"hidden_layer_sizes": (), "code_activation": "relu", "max_iter": 20}
    plain = Autoencoder(32, random_state=0, **kwargs).fit(X)
    sparse = Autoencoder(32, l1_code=1.0, random_state=0, **kwargs).fit(X)
    assert np.abs(sparse.transform(X)).mean() < 0.5 * np.abs(plain.transform(X)).mean()
    assert (sparse.transform(X) == 0).mean() > (plain.transform(X) == 0).mean()


def test_linear_code_activation(digits_std):
    X, _ = digits_std
    ae = Autoencoder(
        8,
        hidden_layer_sizes=(),
        activation="tanh",
        code_activation="identity",
        max_iter=2,
    )
    Z = ae.set_params(random_state=0).fit_transform(X)
    assert np.abs(Z).max() > 1  # tanh would bound the code to [-1, 1]


def test_bce_loss_needs_logistic_output_and_unit_range(digits):
    X, _ = digits
    ae = Autoencoder(
        16,
        hidden_layer_sizes=(),
        loss="bce",
        out_activation="logistic",
        max_iter=5,
        random_state=0,
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
    dae = DenoisingAE(
        16,
        hidden_layer_sizes=(),
        noise=noise,
        noise_level=0.3,
        max_iter=3,
        random_state=0,
    )
    Z = dae.fit_transform(X)
    np.testing.assert_array_equal(dae.transform(X), Z)
    np.testing.assert_array_equal(dae.score_samples(X), dae.score_samples(X))
    plain = Autoencoder(16, hidden_layer_sizes=(), max_iter=3, random_state=0).fit(X)
    assert not np.array_equal(plain.transform(X), Z)
    clean = DenoisingAE(
        16,
        hidden_layer_sizes=(),
        noise=noise,
        noise_level=0.0,
        max_iter=3,
        random_state=0,
    )
    np.testing.assert_array_equal(clean.fit_transform(X), plain.transform(X))


def test_code_consistency_is_twice_one_minus_the_correlation_and_scale_free():
    import torch

    from skae.nn.losses import code_consistency

    g = torch.Generator().manual_seed(0)
    z = torch.randn(500, 3, generator=g, dtype=torch.float64)
    other = 0.6 * z + 0.8 * torch.randn(500, 3, generator=g, dtype=torch.float64)
    r = np.mean([np.corrcoef(z[:, j], other[:, j])[0, 1] for j in range(3)])
    per_sample = code_consistency(z, other)
    assert per_sample.shape == (500,)
    np.testing.assert_allclose(per_sample.mean().item(), 2 * (1 - r), rtol=1e-6)
    # Shrinking or shifting a code cannot lower it.
    np.testing.assert_allclose(
        code_consistency(1e-3 * z + 5, 100 * other).numpy(),
        per_sample.numpy(),
        rtol=1e-5,
    )
    # A batch of one sample (the last of an epoch) adds nothing, and no NaN.
    assert code_consistency(z[:1], other[:1]).item() == 0


def test_consistency_trains_on_two_corruptions_and_only_with_noise(digits_std):
    X, _ = digits_std
    kwargs = dict(n_components=8, hidden_layer_sizes=(32,), max_iter=3)
    on = DenoisingAE(**kwargs, random_state=0).fit(X[:401])  # last batch: 1 row
    assert on.net_.module_.two_views
    assert on.net_.criterion_.consistency == 1.0
    assert np.all(np.isfinite(on.loss_curve_))
    off = DenoisingAE(**kwargs, consistency=0, random_state=0).fit(X[:401])
    assert not off.net_.module_.two_views
    # The term is in the training loss, not in the score or the transform.
    assert on.loss_curve_[0] > off.loss_curve_[0]
    np.testing.assert_array_equal(on.transform(X), on.transform(X))
    assert not np.allclose(on.transform(X), off.transform(X))
    clean = DenoisingAE(**kwargs, noise_level=0.0, random_state=0).fit(X[:401])
    assert not clean.net_.module_.two_views
    assert clean.net_.criterion_.consistency == 0.0
    with pytest.raises(ValueError, match="consistency"):
        DenoisingAE(consistency=-1).fit(X)


def test_masking_noise_level_must_stay_below_one(digits):
    X, _ = digits
    with pytest.raises(ValueError, match="noise_level below 1"):
        DenoisingAE(noise="mask", noise_level=1.0).fit(X)


def test_score_samples_flags_anomalies(digits):
    X, _ = digits
    rng = np.random.RandomState(0)
    ae = Autoencoder(16, hidden_layer_sizes=(), max_iter=40, random_state=0).fit(
        X[:1500]
    )
    noise = rng.uniform(0, 1, size=(50, X.shape[1]))
    inliers, outliers = ae.score_samples(X[1500:]), ae.score_samples(noise)
    assert np.median(outliers) < np.percentile(inliers, 5)


def test_set_output_pandas(digits):
    pd = pytest.importorskip("pandas")
    X, _ = digits
    dae = DenoisingAE(4, hidden_layer_sizes=(), max_iter=2, random_state=0).set_output(
        transform="pandas"
    )
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
                8,
                hidden_layer_sizes=(128,),
                noise_level=0.3,
                batch_size=64,
                max_iter=100,
                random_state=0,
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
    grid = {"noise_level": [0.0, 0.5], "n_components": [4, 32]}
    dae = DenoisingAE(hidden_layer_sizes=(), batch_size=32, max_iter=20, random_state=0)
    search = GridSearchCV(dae, grid, cv=2).fit(X)
    # Higher is better: a wider code reconstructs better.
    assert search.best_params_["n_components"] == 32
    assert search.best_score_ < 0
    pipe = Pipeline(
        [
            ("scale", StandardScaler()),
            ("dae", DenoisingAE(hidden_layer_sizes=(), max_iter=10, random_state=0)),
            ("clf", LogisticRegression(max_iter=500)),
        ]
    )
    search = GridSearchCV(pipe, {f"dae__{k}": v for k, v in grid.items()}, cv=2).fit(
        X, y
    )
    assert 0.5 < search.best_score_ <= 1
    assert set(search.cv_results_["params"][0]) == {
        "dae__noise_level",
        "dae__n_components",
    }


def test_layerwise_pretraining_starts_the_stack_from_shallow_autoencoders(digits_std):
    X, _ = digits_std
    # The thresholds below were measured with the squared error.
    kwargs = {"activation": "tanh", "code_activation": "identity", "random_state": 0}
    kwargs["loss"] = "mse"
    stacked = Autoencoder(
        4, hidden_layer_sizes=(48, 16), pretrain_max_iter=15, max_iter=1, **kwargs
    )
    curves = stacked.fit(X).pretrain_loss_curves_
    assert [len(c) for c in curves] == [15, 15, 15]
    assert all(c[-1] < 0.8 * c[0] for c in curves)  # each layer learned
    fresh = Autoencoder(4, hidden_layer_sizes=(48, 16), max_iter=1, **kwargs).fit(X)
    assert not hasattr(fresh, "pretrain_loss_curves_")
    # The pretrained stack starts far better: measured 0.82 against 0.95 in the
    # first epoch of fine-tuning, 0.78 against 0.92 after it.
    assert stacked.loss_curve_[0] < 0.9 * fresh.loss_curve_[0]
    assert stacked.score(X) > fresh.score(X) + 0.05
    # Denoising stacks pretrain each layer with the estimator's noise.
    dae = DenoisingAE(
        8,
        hidden_layer_sizes=(32,),
        noise="mask",
        pretrain_max_iter=5,
        max_iter=1,
        **kwargs,
    )
    assert [len(c) for c in dae.fit(X).pretrain_loss_curves_] == [5, 5]
    # An encoder of one layer (the code) has nothing to pretrain.
    single = Autoencoder(
        8, hidden_layer_sizes=(), pretrain_max_iter=5, max_iter=2, random_state=0
    ).fit(X)
    assert not hasattr(single, "pretrain_loss_curves_")


def test_plain_autoencoder_with_a_code_as_wide_as_its_input_warns(digits_std):
    X, _ = digits_std
    X = X[:200, :16]
    with pytest.warns(UserWarning, match="n_components below the number of features"):
        Autoencoder(16, hidden_layer_sizes=(), max_iter=1).fit(X)
    # Noise or a sparsity penalty keeps a wide code from copying its input.
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        Autoencoder(8, hidden_layer_sizes=(), max_iter=1).fit(X)
        Autoencoder(32, hidden_layer_sizes=(), l1_code=0.1, max_iter=1).fit(X)
        DenoisingAE(32, hidden_layer_sizes=(), max_iter=1).fit(X)
    with pytest.warns(UserWarning, match="learn the identity"):
        DenoisingAE(32, hidden_layer_sizes=(), noise_level=0.0, max_iter=1).fit(X)


def test_auto_max_iter_follows_the_training_set_size(digits_std, monkeypatch):
    X, _ = digits_std
    monkeypatch.setattr(skae._autoencoder, "_PRESENTATIONS", 3000)
    kwargs = {"hidden_layer_sizes": (), "n_iter_no_change": 1000, "random_state": 0}
    with warnings.catch_warnings():
        # Reaching the "auto" budget is the intended end: no ConvergenceWarning.
        warnings.simplefilter("error", ConvergenceWarning)
        assert DenoisingAE(4, **kwargs).fit(X[:300]).n_iter_ == 10
        assert DenoisingAE(4, **kwargs).fit(X[:100]).n_iter_ == 30
        assert DenoisingAE(4, **kwargs).fit(X[:1000]).n_iter_ == 10  # at least 10
    with pytest.warns(ConvergenceWarning):
        DenoisingAE(4, max_iter=3, **kwargs).fit(X[:100])


def test_auto_max_iter_gives_a_small_set_fewer_epochs(digits_std):
    # At most max(60, n_samples / 8) epochs below 1,200 rows; the full budget of
    # 150 from there on, until 1.2 million presentations take fewer.
    X, _ = digits_std
    kwargs = {"hidden_layer_sizes": (), "n_iter_no_change": 1000, "random_state": 0}
    assert DenoisingAE(4, **kwargs).fit(X[:100]).n_iter_ == 60
    assert DenoisingAE(4, **kwargs).fit(X[:800]).n_iter_ == 100
    assert DenoisingAE(4, **kwargs).fit(X[:1250]).n_iter_ == 150


# ------------------------------------------------- sample weights, sparse input


def test_autoencoder_sample_weight_equals_repeated_rows(digits):
    X, _ = digits
    X = X[:60]
    w = np.random.RandomState(0).randint(0, 3, len(X))
    # Full batches ("auto" takes all of n <= 200 rows) and no penalty: a weighted
    # epoch takes the same step as an epoch over the repeated rows.
    kwargs = dict(n_components=4, hidden_layer_sizes=(), solver="sgd", alpha=0.0)
    kwargs.update(learning_rate_init=0.1, max_iter=20, random_state=0)
    weighted = Autoencoder(**kwargs).fit(X, sample_weight=w)
    repeated = Autoencoder(**kwargs).fit(np.repeat(X, w, axis=0))
    np.testing.assert_allclose(weighted.transform(X), repeated.transform(X), atol=1e-4)
    unweighted = Autoencoder(**kwargs).fit(X)
    assert not np.allclose(weighted.transform(X), unweighted.transform(X), atol=1e-3)


@pytest.mark.parametrize("Estimator", [Autoencoder, DenoisingAE, VariationalAE])
def test_autoencoder_sparse_input_matches_dense(digits, Estimator):
    X, _ = digits
    X = X[:200]
    Xs = sp.csr_matrix(X)
    kwargs = dict(n_components=4, hidden_layer_sizes=(16,), max_iter=3, random_state=0)
    dense, sparse = Estimator(**kwargs).fit(X), Estimator(**kwargs).fit(Xs.tocsc())
    np.testing.assert_allclose(sparse.transform(Xs), dense.transform(X), rtol=1e-5)
    np.testing.assert_allclose(sparse.score_samples(Xs), sparse.score_samples(X))


@pytest.mark.parametrize(
    "Estimator, kwargs",
    [
        (Autoencoder, dict(n_components=4, hidden_layer_sizes=(16,))),
        (DenoisingAE, dict(n_components=4, hidden_layer_sizes=(16,))),
        (VariationalAE, dict(n_components=2, hidden_layer_sizes=(16,))),
        (ConvAE, dict(channels=(4,))),
    ],
    ids=["Autoencoder", "DenoisingAE", "VariationalAE", "ConvAE"],
)
def test_autoencoder_learning_rate_schedules_as_the_mlps(digits, Estimator, kwargs):
    X, _ = digits
    X = X[:100] / 16.0
    sgd = dict(solver="sgd", learning_rate_init=0.01, random_state=0, **kwargs)
    ae = Estimator(learning_rate="invscaling", power_t=0.25, max_iter=2, **sgd).fit(X)
    # The second epoch ran at learning_rate_init / (t + 1) ** power_t, t = n_samples.
    lr = ae.net_.optimizer_.param_groups[0]["lr"]
    assert lr == pytest.approx(0.01 / (len(X) + 1) ** 0.25)
    # "adaptive" divides by 5 instead of stopping, and stops below 1e-6.
    ae = Estimator(learning_rate="adaptive", tol=1e3, max_iter=1000, **sgd).fit(X)
    assert ae.n_iter_ < 1000
    assert ae.net_.optimizer_.param_groups[0]["lr"] < 1e-5


def test_conv_autoencoder_refuses_sparse_input(digits):
    X, _ = digits
    with pytest.raises(TypeError, match="dense data is required"):
        ConvAE(max_iter=1).fit(sp.csr_matrix(X[:50]))


@pytest.mark.slow
def test_sparse_200k_by_100k_trains_with_bounded_memory(tmp_path):
    """The sparse acceptance case: a dense copy would take 80 GB (20 GB for the
    autoencoder's training rows)."""
    script = tmp_path / "sparse_fit.py"
    script.write_text(
        textwrap.dedent(
            """
            import resource, sys, warnings
            import numpy as np, scipy.sparse as sp
            from skae import Autoencoder, MLPClassifier
            warnings.simplefilter("ignore")
            # 10 non-zeros a row: density 1e-4 (sp.random would draw the
            # positions from all 2e10 cells, an array of 149 GiB).
            rng = np.random.RandomState(0)
            n, d, per_row = 200_000, 100_000, 10
            X = sp.csr_matrix(
                (rng.uniform(size=n * per_row).astype(np.float32),
                 rng.randint(0, d, n * per_row),
                 np.arange(0, n * per_row + 1, per_row)),
                shape=(n, d),
            )
            y = np.random.RandomState(0).randint(0, 2, X.shape[0])
            def peak():
                return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
            before = peak()
            MLPClassifier((16,), max_iter=1, random_state=0).fit(X, y).predict(X)
            # The autoencoder's output is as wide as the input: a fit on all
            # the rows took three minutes. Its memory is a few batches
            # whatever the rows, so it trains on a quarter (20 GB dense) and
            # encodes all of them.
            Autoencoder(16, hidden_layer_sizes=(), max_iter=1,
                        random_state=0).fit(X[:50_000]).transform(X)
            print(f"{peak() - before:.3f}")
            """
        )
    )
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=True
    )
    growth_gb = float(out.stdout.strip().splitlines()[-1])
    print(f"peak memory growth: {growth_gb:.3f} GB")
    assert growth_gb < 2.0, f"peak memory grew by {growth_gb:.3f} GB"
