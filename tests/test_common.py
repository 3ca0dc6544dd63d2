"""scikit-learn's own estimator checks over every public estimator."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skae import (
    Autoencoder,
    AutoencoderImputer,
    ConvAE,
    DenoisingAE,
    MLPClassifier,
    MLPRegressor,
    VariationalAE,
)

# Small and fast, but large enough to learn what the checks ask (e.g. > 83 % train
# accuracy on blobs in check_classifiers_train).
FAST = {"max_iter": 30, "random_state": 0}
ESTIMATORS = [
    Autoencoder(n_components=8, hidden_layer_sizes=(), **FAST),
    DenoisingAE(n_components=8, hidden_layer_sizes=(), **FAST),
    DenoisingAE(
        n_components=8, hidden_layer_sizes=(), noise="mask", noise_level=0.2, **FAST
    ),
    MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01, **FAST),
    MLPClassifier(hidden_layer_sizes=(16,), solver="lbfgs", **FAST),
    MLPRegressor(hidden_layer_sizes=(16,), learning_rate_init=0.01, **FAST),
    MLPRegressor(hidden_layer_sizes=(16,), solver="lbfgs", **FAST),
    VariationalAE(n_components=2, hidden_layer_sizes=(8,), **FAST),
    # pool_sizes=1: the checks' 2 to 4 features would pool to one position, which
    # ConvAE rightly warns about.
    ConvAE(channels=(4, 2), pool_sizes=1, **FAST),
    Autoencoder(n_components=4, hidden_layer_sizes=(8,), pretrain_max_iter=3, **FAST),
    MLPClassifier(
        hidden_layer_sizes=(16,),
        learning_rate_init=0.01,
        encoder=DenoisingAE(
            n_components=16,
            hidden_layer_sizes=(),
            code_activation="relu",
            max_iter=5,
            random_state=0,
        ),
        **FAST,
    ),
    AutoencoderImputer(n_components=4, hidden_layer_sizes=(8,), **FAST),
]


def expected_failed_checks(estimator):
    failures = {}
    # With solver="lbfgs" the MLPs compute float64 input in float64, as
    # scikit-learn's do, and pass both sample-weight checks.
    if isinstance(estimator, MLPClassifier | MLPRegressor) and (
        estimator.solver != "lbfgs"
    ):
        why = (
            "stochastic training: weights change which samples share a batch with "
            "which, so a weighted fit and a fit on repeated rows take other steps "
            "(scikit-learn's own MLPs fail it the same way with their stochastic "
            "solvers)"
        )
        failures["check_sample_weight_equivalence_on_dense_data"] = why
        failures["check_sample_weight_equivalence_on_sparse_data"] = why
    if not isinstance(
        estimator, MLPClassifier | MLPRegressor | AutoencoderImputer
    ):  # the autoencoders
        why = (
            "stochastic training (mini-batches, and the noise of DenoisingAE and "
            "VariationalAE): a weighted fit and a fit on repeated rows take other "
            "steps; tests/test_autoencoder.py::test_autoencoder_sample_weight_equals"
            "_repeated_rows checks the equivalence with full batches and no noise"
        )
        failures["check_sample_weight_equivalence_on_dense_data"] = why
        if not isinstance(estimator, ConvAE):
            failures["check_sample_weight_equivalence_on_sparse_data"] = why
    if isinstance(estimator, MLPClassifier) and estimator.encoder is not None:
        failures["check_classifiers_classes"] = (
            "The check fits binary labels [-1, 1] and expects both as classes_; "
            "with an encoder, -1 marks an unlabelled sample, as in "
            "SelfTrainingClassifier, which scikit-learn exempts from this check "
            "by name (estimator_checks._choose_check_classifiers_labels). The "
            "same estimator passes it without an encoder, above."
        )
    return failures


# Short training runs are expected not to converge: that is the point of FAST.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
# Many checks fit on 1 to 5 features, fewer than the plain Autoencoder's code: its
# warning that such a code can learn the identity is right, and expected there.
@pytest.mark.filterwarnings("ignore:.*can learn the identity:UserWarning")
@parametrize_with_checks(
    ESTIMATORS, expected_failed_checks=expected_failed_checks, xfail_strict=True
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
