"""scikit-learn's own estimator checks over every public estimator."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skae import Autoencoder, ConvAE, DenoisingAE, MLPClassifier, VariationalAE

# Small and fast, but large enough to learn what the checks ask (e.g. > 83 % train
# accuracy on blobs in check_classifiers_train).
FAST = {"max_iter": 30, "random_state": 0}
ESTIMATORS = [
    Autoencoder(hidden_layer_sizes=(8,), **FAST),
    DenoisingAE(hidden_layer_sizes=(8,), **FAST),
    DenoisingAE(hidden_layer_sizes=(8,), noise="mask", noise_level=0.2, **FAST),
    MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01, **FAST),
    VariationalAE(hidden_layer_sizes=(8, 2), **FAST),
    ConvAE(channels=(4, 2), **FAST),
]


# Short training runs are expected not to converge: that is the point of FAST.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
