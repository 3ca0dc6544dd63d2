"""Behaviour of MLPClassifier and MLPRegressor on small seeded data."""

import threading
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn import config_context
from sklearn.base import clone
from sklearn.datasets import make_multilabel_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import get_scorer
from sklearn.model_selection import GridSearchCV, cross_validate, train_test_split
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from threadpoolctl import threadpool_info, threadpool_limits

from skae import Autoencoder, ConvAE, DenoisingAE, MLPClassifier, MLPRegressor
from skae._parallel import _one_blas_thread
from skae._training import _seeded_torch

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def split(digits):
    X, y = digits
    return train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)


@pytest.mark.parametrize(
    "solver, lr", [("adam", 1e-3), ("adagrad", 0.05), ("sgd", 0.05)], ids=str
)
def test_mlp_learns_digits_with_every_solver(split, solver, lr):
    X_train, X_test, y_train, y_test = split
    clf = MLPClassifier(
        (64,), solver=solver, learning_rate_init=lr, max_iter=40, random_state=0
    )
    clf.fit(X_train, y_train)
    assert clf.loss_curve_[-1] < 0.3 * clf.loss_curve_[0]
    assert clf.score(X_test, y_test) > 0.9
    optimizer = clf.net_.optimizer_
    assert type(optimizer).__name__.lower() == solver
    assert optimizer.param_groups[0]["lr"] == lr


def test_any_label_type(split):
    X_train, X_test, y_train, _ = split
    names = np.array(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    )
    clf = MLPClassifier((32,), max_iter=10, random_state=0).fit(X_train, names[y_train])
    assert clf.classes_.tolist() == sorted(names)
    assert set(clf.predict(X_test)) <= set(names)
    proba = clf.predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(1), 1, rtol=1e-6)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(1)], clf.predict(X_test))
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X_test)), proba, rtol=1e-5)
    binary = MLPClassifier((8,), max_iter=5, random_state=0).fit(X_train, y_train > 4)
    assert binary.classes_.tolist() == [False, True]
    assert binary.predict_proba(X_test).shape == (len(X_test), 2)


def test_seed_recipe_is_a_parameter_setting(split):
    X_train, _, y_train, _ = split
    clf = MLPClassifier(
        (300,),
        dropout=0.25,
        solver="adagrad",
        learning_rate_init=0.3,
        batch_size=100,
        max_iter=1,
    ).fit(X_train, y_train)
    module = clf.net_.module_
    assert [type(m).__name__ for m in module.hidden] == ["Linear", "ReLU", "Dropout"]
    assert module.hidden[2].p == 0.25
    assert module.output.out_features == 10
    assert isinstance(clf.net_.optimizer_, torch.optim.Adagrad)
    assert clf.net_.batch_size == 100


def test_dropout_only_while_training(split):
    X_train, X_test, y_train, _ = split
    clf = MLPClassifier((32,), dropout=0.5, max_iter=3, random_state=0).fit(
        X_train, y_train
    )
    np.testing.assert_array_equal(clf.predict_proba(X_test), clf.predict_proba(X_test))


def test_l2_penalty_is_weight_decay_on_weights_only(split):
    X_train, _, y_train, _ = split
    clf = MLPClassifier((16,), alpha=0.5, batch_size=50, max_iter=1, random_state=0)
    clf.fit(X_train, y_train)
    decay = {
        tuple(p.shape): group["weight_decay"]
        for group in clf.net_.optimizer_.param_groups
        for p in group["params"]
    }
    assert decay == {(16, 64): 0.01, (16,): 0.0, (10, 16): 0.01, (10,): 0.0}


def test_softmax_regression_without_hidden_layers(split):
    X_train, X_test, y_train, y_test = split
    clf = MLPClassifier((), max_iter=30, learning_rate_init=0.01, random_state=0)
    assert clf.fit(X_train, y_train).score(X_test, y_test) > 0.9


def test_partial_fit_classes(split):
    X_train, _, y_train, _ = split
    clf = MLPClassifier((8,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X_train, y_train)
    clf.partial_fit(X_train[y_train < 5], y_train[y_train < 5], classes=np.arange(10))
    assert clf.classes_.tolist() == list(range(10))
    clf.partial_fit(X_train[y_train >= 5], y_train[y_train >= 5])
    # scikit-learn's MLP message, which names both sets of classes.
    with pytest.raises(
        ValueError, match=r"classes not in `self.classes_`. `self.classes_` has \[0 1"
    ):
        clf.partial_fit(X_train, y_train + 10)
    assert len(clf.loss_curve_) == 2


def test_warm_start_needs_the_same_classes(split):
    X_train, _, y_train, _ = split
    clf = MLPClassifier((8,), max_iter=2, warm_start=True, random_state=0).fit(
        X_train, y_train
    )
    with pytest.raises(
        ValueError, match="warm_start can only be used where `y` has the same"
    ):
        clf.fit(X_train[y_train < 5], y_train[y_train < 5])
    assert clf.classes_.tolist() == list(range(10))


def test_one_class_and_column_y(split):
    X_train, X_test, y_train, _ = split
    clf = MLPClassifier((8,), max_iter=2, random_state=0).fit(
        X_train, np.full(len(X_train), 7)
    )
    assert set(clf.predict(X_test)) == {7}
    with pytest.warns(UserWarning, match="A column-vector y was passed"):
        MLPClassifier((8,), max_iter=1).fit(X_train, y_train[:, None])
    with pytest.raises(ValueError, match="Unknown label type"):
        MLPClassifier((8,), max_iter=1).fit(X_train, y_train + 0.5)


def test_early_stopping_keeps_the_best_epoch(split):
    X_train, X_test, y_train, y_test = split
    clf = MLPClassifier(
        (64,), early_stopping=True, n_iter_no_change=3, max_iter=200, random_state=0
    ).fit(X_train, y_train)
    assert clf.n_iter_ < 200
    best = int(np.argmax(clf.validation_scores_))
    assert clf.n_iter_ >= best + 4  # ran n_iter_no_change + 1 epochs past the best
    assert clf.score(X_test, y_test) > 0.9


def test_cross_validate(digits):
    X, y = digits
    clf = MLPClassifier((32,), learning_rate_init=0.01, max_iter=20, random_state=0)
    result = cross_validate(clf, X, y, cv=3)
    assert np.all(result["test_score"] > 0.8)


@pytest.fixture(scope="module")
def few_labels(split):
    """100 labelled training digits, the rest unlabelled (-1)."""
    X_train, X_test, y_train, y_test = split
    y_semi = y_train.copy()
    y_semi[np.random.RandomState(0).permutation(len(y_train))[100:]] = -1
    return X_train, y_semi, X_test, y_test


def test_encoder_pretrains_on_all_rows_and_fine_tunes_on_labelled(few_labels):
    X_train, y_semi, X_test, y_test = few_labels
    encoder = DenoisingAE(
        64,
        hidden_layer_sizes=(),
        code_activation="relu",
        noise_level=0.2,
        batch_size=32,
        max_iter=100,
    )
    clf = MLPClassifier(
        (64,), encoder=encoder, batch_size=32, max_iter=200, random_state=0
    ).fit(X_train, y_semi)
    assert clf.classes_.tolist() == list(range(10))  # never -1
    assert clf.encoder is encoder and not hasattr(encoder, "net_")  # cloned
    assert clf.encoder_.n_features_in_ == X_train.shape[1]
    assert clf.encoder_.random_state is not None  # drawn from clf's, repeatable
    # The encoder was fitted on every row, the classifier on the 100 labelled ones.
    assert clf.net_.history[-1]["train_batch_count"] == 4  # ceil(100 / 32)
    assert clf.score(X_test, y_test) > 0.85  # measured 0.893 with 100 labels
    # Whether pretraining beats training from scratch is a question for MNIST
    # (benchmarks/bench_papers.py pretraining); digits is too small to show it.
    again = clone(clf).fit(X_train, y_semi)
    np.testing.assert_array_equal(
        again.predict_proba(X_test), clf.predict_proba(X_test)
    )


def test_encoder_weights_start_the_hidden_layers(few_labels):
    X_train, y_semi, X_test, _ = few_labels
    encoder = Autoencoder(
        16,
        hidden_layer_sizes=(32,),
        code_activation="relu",
        pretrain_max_iter=2,
        max_iter=3,
        random_state=0,
    )
    clf = MLPClassifier(
        (32, 16), encoder=encoder, solver="sgd", momentum=0.0, alpha=0.0
    )
    # A vanishing learning rate leaves the hidden layers as the encoder made them.
    clf.set_params(learning_rate_init=1e-12, max_iter=1, random_state=0)
    clf.fit(X_train, y_semi)
    hidden = clf.net_.module_.hidden
    codes = hidden(torch.as_tensor(X_test, dtype=torch.float32)).detach().numpy()
    np.testing.assert_allclose(codes, clf.encoder_.transform(X_test), atol=1e-5)


def test_encoder_frozen_is_used_as_fitted(few_labels):
    X_train, y_semi, X_test, _ = few_labels
    ae = Autoencoder(
        32, hidden_layer_sizes=(), code_activation="relu", max_iter=5, random_state=0
    ).fit(X_train)
    clf = MLPClassifier((32,), encoder=FrozenEstimator(ae), max_iter=1, random_state=0)
    before = ae.net_.module_.encoder[0].weight.detach().clone()
    clf.fit(X_train, y_semi)
    assert clf.encoder_ is clf.encoder
    assert torch.equal(ae.net_.module_.encoder[0].weight, before)  # not refitted
    assert not torch.equal(clf.net_.module_.hidden[0].weight, before)  # fine-tuned


def test_encoder_must_match_the_hidden_layers(few_labels):
    X_train, y_semi, _, _ = few_labels
    ae = Autoencoder(
        32, hidden_layer_sizes=(), code_activation="relu", max_iter=1, random_state=0
    )
    with pytest.raises(ValueError, match="make them equal"):
        MLPClassifier((16,), encoder=ae).fit(X_train, y_semi)
    deep = Autoencoder(8, hidden_layer_sizes=(32,), max_iter=1, random_state=0)
    with pytest.raises(ValueError, match="Activations differ"):
        MLPClassifier((32, 8), activation="tanh", encoder=deep).fit(X_train, y_semi)
    # The default linear code starts a ReLU layer: only the code's may differ.
    MLPClassifier((32, 8), max_iter=1, encoder=deep).fit(X_train, y_semi)
    with pytest.raises(ValueError, match="encoder must be an Autoencoder"):
        MLPClassifier((32,), encoder=ConvAE(max_iter=1)).fit(X_train, y_semi)
    with pytest.raises(ValueError, match="All samples are unlabelled"):
        MLPClassifier((32,), encoder=ae).fit(X_train, np.full(len(X_train), -1))
    # Without an encoder, -1 is an ordinary label.
    clf = MLPClassifier((8,), max_iter=1).fit(X_train, np.where(y_semi == -1, -1, 1))
    assert clf.classes_.tolist() == [-1, 1]


def test_encoder_parameters_in_a_grid_search(few_labels):
    X_train, y_semi, _, _ = few_labels
    clf = MLPClassifier(
        (16,),
        encoder=Autoencoder(
            16, hidden_layer_sizes=(), code_activation="relu", max_iter=5
        ),
        max_iter=5,
        random_state=0,
    )
    assert "encoder__l1_code" in clf.get_params()
    search = GridSearchCV(clf, {"encoder__l1_code": [0.0, 0.1]}, cv=2)
    labelled = y_semi != -1
    search.fit(X_train[labelled], y_semi[labelled])
    assert search.best_estimator_.encoder_.l1_code in (0.0, 0.1)


# ------------------------------------------- scikit-learn parity, the regressor


def test_mlp_regressor_fits_one_and_several_outputs():
    X, y = make_regression(n_samples=200, n_features=8, n_targets=3, random_state=0)
    y = y / y.std(axis=0)
    reg = MLPRegressor(hidden_layer_sizes=(32,), solver="lbfgs", random_state=0)
    reg.fit(X, y)
    assert reg.score(X, y) > 0.95
    assert reg.n_outputs_ == 3 and reg.out_activation_ == "identity"
    assert reg.predict(X).shape == (200, 3) and reg.predict(X).dtype == np.float64
    one = clone(reg).fit(X.astype(np.float32), y[:, 0])
    assert one.predict(X[:5].astype(np.float32)).shape == (5,)
    assert one.predict(X[:5].astype(np.float32)).dtype == np.float32
    assert one.coefs_[0].dtype == np.float32


def test_mlp_regressor_poisson_has_an_exp_output():
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(300, 2))
    y = rng.poisson(np.exp(X @ [1.0, -1.0] + 1))
    reg = MLPRegressor(loss="poisson", hidden_layer_sizes=(), solver="lbfgs").fit(X, y)
    assert reg.out_activation_ == "exp" and (reg.predict(X) > 0).all()
    # A linear Poisson model: the coefficients of the GLM that generated y.
    np.testing.assert_allclose(reg.coefs_[0].ravel(), [1.0, -1.0], atol=0.3)
    with pytest.raises(ValueError, match="non-negative y"):
        clone(reg).fit(X, -y)


def test_mlp_n_iter_counts_the_last_call_as_in_sklearn(small):
    X, y = small
    clf = MLPClassifier((16,), max_iter=3, warm_start=True, random_state=0).fit(X, y)
    clf.fit(X, y)
    assert clf.n_iter_ == 3 and len(clf.loss_curve_) == 6 and clf.t_ == 6 * len(X)
    assert clf.loss_ == clf.loss_curve_[-1]
    clf.partial_fit(X, y)
    assert clf.n_iter_ == 1 and len(clf.loss_curve_) == 7


def test_mlp_fitted_attributes_match_sklearns_layout(small):
    X, y = small
    clf = MLPClassifier((16, 8), max_iter=3, random_state=0).fit(X, y)
    assert [c.shape for c in clf.coefs_] == [(64, 16), (16, 8), (8, 10)]
    assert [b.shape for b in clf.intercepts_] == [(16,), (8,), (10,)]
    assert clf.n_layers_ == 4 and clf.n_outputs_ == 10
    assert clf.out_activation_ == "softmax"
    weight = clf.net_.module_.output.weight.detach().numpy()
    np.testing.assert_array_equal(clf.coefs_[-1], weight.T)
    binary = MLPClassifier((16,), max_iter=3, random_state=0).fit(X, y > 4)
    assert binary.n_outputs_ == 1 and binary.out_activation_ == "logistic"
    assert binary.coefs_[-1].shape == (16, 1)


def test_mlp_activation_by_position_as_in_sklearn():
    assert MLPClassifier((5,), "tanh").activation == "tanh"
    assert MLPRegressor("poisson", (5,), "tanh").get_params()["loss"] == "poisson"


def test_mlp_partial_fit_refuses_what_sklearn_refuses(small):
    X, y = small
    with pytest.raises(ValueError, match="does not support early_stopping"):
        MLPClassifier(early_stopping=True).partial_fit(X, y, classes=np.unique(y))
    clf = MLPClassifier((8,)).partial_fit(X, y, classes=np.arange(10))
    with pytest.raises(ValueError, match="not the same as on last call"):
        clf.partial_fit(X, y, classes=np.arange(11))
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
    assert not hasattr(MLPRegressor(solver="lbfgs"), "partial_fit")


def test_mlp_partial_fit_equals_fit_in_float32(small):
    """sklearn's test_partial_fit_regression, at float32's tolerance."""
    X, y = small
    y = X[:, 20] - X[:, 30]
    kwargs = dict(solver="sgd", learning_rate_init=0.01, batch_size=len(X))
    fitted = MLPRegressor(max_iter=20, tol=0, random_state=1, **kwargs).fit(X, y)
    stepped = MLPRegressor(random_state=1, **kwargs)
    for _ in range(20):
        stepped.partial_fit(X, y)
    np.testing.assert_allclose(stepped.predict(X), fitted.predict(X), atol=1e-5)


def test_mlp_regressor_diverging_with_early_stopping_says_so():
    # The held-out R² of NaN predictions was scored first: "Input contains NaN".
    X, y = make_regression(200, 5, random_state=0)
    reg = MLPRegressor(
        hidden_layer_sizes=(5,),
        solver="sgd",
        learning_rate_init=10.0,
        early_stopping=True,
        max_iter=20,
        random_state=0,
    )
    with pytest.raises(FloatingPointError, match=r"diverged at epoch \d+"):
        reg.fit(X * 1e3, y * 1e6)


def test_mlp_learning_rate_schedules(small):
    X, y = small
    sgd = dict(solver="sgd", learning_rate_init=0.1, random_state=0)
    clf = MLPClassifier(
        (8,), learning_rate="invscaling", power_t=0.25, max_iter=2, **sgd
    )
    clf.fit(X, y)
    # The second epoch ran at learning_rate_init / (t + 1) ** power_t, t = n_samples.
    lr = clf.net_.optimizer_.param_groups[0]["lr"]
    assert lr == pytest.approx(0.1 / (len(X) + 1) ** 0.25)
    # "adaptive" divides by 5 instead of stopping, and stops once the rule fires
    # at a rate of 1e-6 or less. tol=1e3: every epoch after the first fails to
    # improve, whatever the losses, so the epochs are scikit-learn's exactly:
    # 1 + 11 * 9 (0.1 divided 8 times, to 2.56e-7, then a last firing).
    kwargs = dict(learning_rate="adaptive", tol=1e3, max_iter=1000, **sgd)
    clf = MLPClassifier((8,), **kwargs).fit(X[:100], y[:100])
    reference = SklearnMLPClassifier((8,), **kwargs).fit(X[:100], y[:100])
    assert clf.n_iter_ == reference.n_iter_ == 100
    assert clf.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(0.1 / 5**8)
    # n_iter_no_change=inf never stops.
    clf = MLPClassifier((8,), tol=1e3, n_iter_no_change=np.inf, max_iter=15, **sgd)
    clf.fit(X, y)
    assert clf.n_iter_ == 15


def _blas_threads():
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def test_lbfgs_blas_limit_is_restored_after_overlapping_fits(small):
    X, y = small
    with threadpool_limits(2, user_api="blas"):
        before = _blas_threads()
        with _one_blas_thread():
            assert set(_blas_threads()) == {1}
            with _one_blas_thread():  # a second fit inside: still one thread
                assert set(_blas_threads()) == {1}
            assert set(_blas_threads()) == {1}  # until the last one leaves
        assert _blas_threads() == before
        # Two L-BFGS fits at once, each leaving when it is done: the original
        # limit comes back after both.
        fits = [
            threading.Thread(
                target=MLPClassifier(
                    (8,), solver="lbfgs", max_iter=max_iter, random_state=0
                ).fit,
                args=(X, y),
            )
            for max_iter in (5, 40)
        ]
        for fit in fits:
            fit.start()
        for fit in fits:
            fit.join()
        assert _blas_threads() == before


def test_mlp_lbfgs_as_in_sklearn(small):
    X, y = small
    clf = MLPClassifier((32,), solver="lbfgs", max_iter=200, random_state=0).fit(X, y)
    assert clf.score(X, y) > 0.99
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        limited = MLPClassifier((32,), solver="lbfgs", max_fun=10, random_state=0)
        limited.fit(X, y)
    assert limited.n_iter_ <= 10
    with pytest.raises(ValueError, match="dropout"):
        MLPClassifier(solver="lbfgs", dropout=0.5).fit(X, y)


def test_mlp_multilabel_as_in_sklearn():
    X, Y = make_multilabel_classification(n_samples=100, random_state=0)
    clf = MLPClassifier((50,), solver="lbfgs", max_iter=200, random_state=0).fit(X, Y)
    assert clf.score(X, Y) > 0.9
    proba = clf.predict_proba(X)
    assert proba.shape == Y.shape and not np.allclose(proba.sum(1), 1)
    np.testing.assert_array_equal(clf.predict(X), proba > 0.5)
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba), rtol=1e-7)
    np.testing.assert_array_equal(clf.classes_, np.arange(Y.shape[1]))


def test_mlp_multilabel_takes_a_sparse_indicator_matrix():
    # scikit-learn's MLP takes one; numpy failed on it ("setting an array
    # element with a sequence").
    X, Y = make_multilabel_classification(n_samples=60, n_classes=3, random_state=0)
    kwargs = dict(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=5, random_state=0)
    dense = MLPClassifier(**kwargs).fit(X, Y)
    sparse = MLPClassifier(**kwargs).fit(X, sp.csr_matrix(Y))
    np.testing.assert_array_equal(sparse.predict(X), dense.predict(X))
    np.testing.assert_array_equal(sparse.classes_, np.arange(3))


# ------------------------------------------------ sample and class weights


@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor], ids=str)
def test_mlp_sample_weight_equals_repeated_rows(small, Estimator):
    X, y = small
    X, y = X[:120], (y[:120] if Estimator is MLPClassifier else X[:120, 20])
    w = np.random.RandomState(0).randint(0, 3, len(X))
    # A linear model on full-batch L-BFGS: one optimum, so the two fits agree.
    kwargs = dict(
        hidden_layer_sizes=(), solver="lbfgs", alpha=0.1, tol=1e-10, max_iter=2000
    )
    weighted = Estimator(**kwargs, random_state=0).fit(X, y, sample_weight=w)
    repeated = Estimator(**kwargs, random_state=0).fit(
        np.repeat(X, w, axis=0), np.repeat(y, w)
    )
    out = "predict_proba" if Estimator is MLPClassifier else "predict"
    np.testing.assert_allclose(
        getattr(weighted, out)(X), getattr(repeated, out)(X), atol=2e-3
    )


# ------------------------------------------------------------------- dtype

DTYPES = {
    # (solver, dtype parameter, X's dtype): the dtype the network computes in
    "lbfgs-auto-float64-input": ("lbfgs", "auto", np.float64, torch.float64),
    "lbfgs-auto-float32-input": ("lbfgs", "auto", np.float32, torch.float32),
    "adam-auto-float64-input": ("adam", "auto", np.float64, torch.float32),
    "adam-float64": ("adam", "float64", np.float32, torch.float64),
    "sgd-float64": ("sgd", "float64", np.float64, torch.float64),
    "lbfgs-float32": ("lbfgs", "float32", np.float64, torch.float32),
}


@pytest.mark.parametrize("case", DTYPES, ids=DTYPES.keys())
@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_mlp_dtype_chooses_the_compute_precision(small, Estimator, case):
    solver, dtype, x_dtype, net_dtype = DTYPES[case]
    X, y = small
    X = X[:100].astype(x_dtype)
    y = y[:100] if Estimator is MLPClassifier else X[:, 20].astype(np.float64)
    est = Estimator(
        hidden_layer_sizes=(8,), solver=solver, dtype=dtype, max_iter=5, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y, sample_weight=np.linspace(0.5, 2, len(X)))
    assert {p.dtype for p in est.net_.module_.parameters()} == {net_dtype}
    state = est.net_.optimizer_.state_dict()["state"]
    moments = [v for s in state.values() for v in s.values() if torch.is_tensor(v)]
    # (Adam's step count is a float32 scalar whatever the parameters are.)
    assert all(v.dtype == net_dtype for v in moments if v.ndim > 0)
    # Outputs follow the input, whatever the network computes in.
    out = est.predict_proba(X) if Estimator is MLPClassifier else est.predict(X)
    assert out.dtype == x_dtype and est.coefs_[0].dtype == x_dtype
    assert np.isfinite(out).all()


def test_mlp_float64_starts_from_the_float32_weights(small):
    X, y = small
    fits = [
        MLPClassifier((8,), dtype=dtype, max_iter=1, random_state=0)
        for dtype in ("float32", "float64")
    ]
    starts = []
    for est in fits:
        est.n_outputs_, est.out_activation_ = 10, "softmax"
        est._compute_dtype_ = est._choose_dtype(X)  # as fit sets it
        with _seeded_torch(0, "cpu"):
            starts.append(est._make_net(X.shape[1], "cpu").module_)
    assert starts[1].output.weight.dtype == torch.float64
    for a, b in zip(starts[0].parameters(), starts[1].parameters(), strict=True):
        torch.testing.assert_close(a.double(), b, rtol=0, atol=0)


def test_mlp_partial_fit_keeps_the_dtype_of_its_first_call(small):
    X, y = small
    clf = MLPClassifier((8,), dtype="float64", random_state=0)
    clf.partial_fit(X, y, classes=np.unique(y))
    clf.set_params(dtype="float32").partial_fit(X.astype(np.float32), y)
    assert clf.net_.module_.output.weight.dtype == torch.float64
    assert clf.predict_proba(X[:3].astype(np.float32)).dtype == np.float32
    # A new fit builds a new network, in the dtype asked for now.
    clf.fit(X, y)
    assert clf.net_.module_.output.weight.dtype == torch.float32


@pytest.mark.parametrize("x_dtype", [np.float64, np.float32])
@pytest.mark.parametrize("y_kind", ["binary", "multiclass", "multilabel"])
@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_mlp_predict_log_proba_is_log_of_predict_proba(small, solver, y_kind, x_dtype):
    """At scikit-learn's rtol=1e-7, in either compute and input dtype."""
    X, y = small
    X = X[:100].astype(x_dtype)
    y = {
        "binary": y[:100] % 2,
        "multiclass": y[:100],
        "multilabel": np.column_stack([y[:100] % 2, y[:100] > 4]),
    }[y_kind]
    clf = MLPClassifier((8,), solver=solver, max_iter=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    proba, log_proba = clf.predict_proba(X), clf.predict_log_proba(X)
    assert log_proba.dtype == x_dtype
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(log_proba[proba > 0], np.log(proba[proba > 0]),
                                   rtol=1e-7)  # fmt: skip
    assert np.isfinite(log_proba).all()


def test_mlp_sample_weight_errors(small):
    X, y = small
    with pytest.raises(ValueError, match="Negative values in data"):
        MLPClassifier().fit(X, y, sample_weight=-np.ones(len(y)))
    with pytest.raises(ValueError, match="at least one"):
        MLPClassifier().fit(X, y, sample_weight=np.zeros(len(y)))


def test_mlp_class_weight_balanced_raises_minority_recall(digits):
    X, y = digits
    rng = np.random.RandomState(0)
    positive = np.flatnonzero(y == 0)
    negative = rng.permutation(np.flatnonzero(y != 0))[: 9 * len(positive)]
    rows = np.concatenate([positive, negative])  # 10 % positive
    X, y = X[rows][:, ::8], (y[rows] == 0).astype(int)  # 8 pixels: a hard problem
    # A strongly regularised linear model: unweighted, it predicts the majority.
    kwargs = dict(hidden_layer_sizes=(), solver="lbfgs", alpha=1.0, random_state=0)
    plain = MLPClassifier(**kwargs).fit(X, y)
    balanced = MLPClassifier(**kwargs, class_weight="balanced").fit(X, y)
    recall = lambda clf: (clf.predict(X)[y == 1] == 1).mean()  # noqa: E731
    assert recall(balanced) > recall(plain) + 0.5
    with pytest.raises(ValueError, match="not supported for partial_fit"):
        MLPClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1])


def test_mlp_sample_weight_reaches_the_mlp_through_routing(small):
    X, y = small
    w = np.random.RandomState(0).uniform(0, 2, len(y))
    direct = MLPClassifier((8,), max_iter=5, random_state=0).fit(X, y, sample_weight=w)
    with config_context(enable_metadata_routing=True):
        mlp = MLPClassifier((8,), max_iter=5, random_state=0)
        mlp.set_fit_request(sample_weight=True).set_score_request(sample_weight=False)
        pipe = make_pipeline(FunctionTransformer(), mlp)
        pipe.fit(X, y, sample_weight=w)
        np.testing.assert_array_equal(pipe.predict_proba(X), direct.predict_proba(X))
        # The scorer takes the weights too: a weighted accuracy.
        scorer = get_scorer("accuracy").set_score_request(sample_weight=True)
        grid = {"mlpclassifier__alpha": [1e-4]}
        search = GridSearchCV(pipe, grid, cv=2, scoring=scorer)
        search.fit(X, y, sample_weight=w)
        plain = MLPClassifier((8,), max_iter=5, random_state=0)
        unweighted = GridSearchCV(
            make_pipeline(FunctionTransformer(), plain), grid, cv=2, scoring=scorer
        ).fit(X, y)
        assert not np.array_equal(search.predict_proba(X), unweighted.predict_proba(X))


# ------------------------------------------------------------------ sparse input


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_mlp_sparse_input_matches_dense(small, fmt):
    X, y = small
    Xs = sp.csr_matrix(X) if fmt == "csr" else sp.csc_matrix(X)
    kwargs = dict(hidden_layer_sizes=(15,), solver="lbfgs", random_state=1)
    dense = MLPClassifier(**kwargs, max_iter=50).fit(X, y)
    sparse = MLPClassifier(**kwargs, max_iter=50).fit(Xs, y)
    np.testing.assert_allclose(sparse.predict_proba(Xs), dense.predict_proba(X))
    np.testing.assert_array_equal(sparse.predict(X), sparse.predict(Xs))
    reg = MLPRegressor(hidden_layer_sizes=(8,), max_iter=3, early_stopping=True)
    assert reg.fit(Xs, X[:, 20]).predict(Xs).shape == (len(X),)


def test_mlp_validation_fraction_zero_names_the_parameter(small):
    X, y = small
    with pytest.raises(ValueError, match="validation_fraction=0.0"):
        MLPClassifier(early_stopping=True, validation_fraction=0.0).fit(X, y)


def test_mlp_too_small_validation_split_names_validation_fraction(small):
    X, y = small
    clf = MLPClassifier((8,), early_stopping=True, validation_fraction=0.02)
    with pytest.raises(ValueError, match=r"validation_fraction=0\.02") as error:
        clf.fit(X[:200], y[:200])
    assert "test_size" not in str(error.value)


@pytest.mark.parametrize("kind", ["pandas", "polars"])
@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_mlp_frame_with_text_names_the_column(Estimator, kind):
    # scikit-learn's "could not convert string to float: 'red'" (or a cast
    # error) named neither the column nor what to do.
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    df = pd.DataFrame(
        {
            "level": pd.Categorical(rng.choice([1, 2, 3], 30)),  # numbers: fine
            "x": rng.randn(30),
            "colour": rng.choice(["red", "blue"], 30),
        }
    )
    if kind == "polars":
        df = pytest.importorskip("polars").from_pandas(df)
    y = rng.randint(0, 2, 30)
    match = (
        f"{Estimator.__name__} takes numbers only, and column 'colour' has dtype "
        r".*make_pipeline\(skae.DenoisingAE\(\)"
    )
    with pytest.raises(ValueError, match=match):
        Estimator(max_iter=2).fit(df, y)
    Estimator(max_iter=2).fit(
        df.drop(columns="colour") if kind == "pandas" else df.drop("colour"), y
    )
