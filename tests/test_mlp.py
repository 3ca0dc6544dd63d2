"""Behaviour of MLPClassifier on small seeded data."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GridSearchCV, cross_validate, train_test_split

from skae import Autoencoder, ConvAE, DenoisingAE, MLPClassifier

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
    with pytest.raises(ValueError, match="classes not in `self.classes_`"):
        clf.partial_fit(X_train, y_train + 10)
    assert clf.n_iter_ == 2


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
    # (benchmarks/bench_semisupervised.py); digits is too small to show it.
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
    with pytest.raises(ValueError, match="must match the encoder's layers"):
        MLPClassifier((16,), encoder=ae).fit(X_train, y_semi)
    with pytest.raises(ValueError, match="Activations differ"):
        MLPClassifier((32,), activation="tanh", encoder=ae).fit(X_train, y_semi)
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
