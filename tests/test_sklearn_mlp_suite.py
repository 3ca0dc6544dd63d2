"""scikit-learn's own MLP test suite, run against skae's MLPClassifier and MLPRegressor.

The installed ``sklearn/neural_network/tests/test_mlp.py`` is executed unchanged
except for the classes it imports: while its module body runs,
``sklearn.neural_network`` hands out skae's classes, so every test (and every
parametrisation) that names ``MLPClassifier`` or ``MLPRegressor`` gets skae's. The
tests are then collected from here. The few that read scikit-learn's private
internals or compare float64 numerics of its stochastic solvers exactly (skae's
compute in float32 unless asked for float64; its L-BFGS computes float64 input in
float64, as scikit-learn's does) are marked below as expected failures, each with
its reason; skae's own tests check the public behaviour they stand for.

An expected failure is strict (an unexpected pass fails the suite) only where the
failure does not depend on the machine: a private attribute that skae does not
have, a message worded otherwise. Where rounding decides the outcome, the test
passes on some CPUs (or thread counts) and fails on others, so its mark is not
strict, and a test here checks the same behaviour at a tolerance that holds on any
of them.
"""

import importlib.util
import warnings

import numpy as np
import pytest
import sklearn.neural_network
import torch
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import PoissonRegressor
from sklearn.neural_network.tests import test_mlp as _sklearn_suite

import skae

# The reason each of these cannot pass, and where skae checks the same behaviour
# (tests/test_mlp.py unless named).
PRIVATE = "reads scikit-learn's private internals: "
FLOAT32 = (
    "compares at rtol 1e-7, scikit-learn's float64 precision; skae's stochastic "
    "solvers compute in float32 unless dtype='float64' (rounding near 1e-7 "
    "relative): "
)
EXPECTED_FAILURES = {
    "test_fit": PRIVATE + "sets coefs_ and the SGD velocities (_coef_velocity) by "
    "hand, then compares one step with a worked example in float64",
    "test_gradient": PRIVATE + "_loss_grad_lbfgs and _unpack, scikit-learn's "
    "hand-written backpropagation; skae's gradients are torch's autograd",
    "test_learning_rate_warmstart": PRIVATE + "_optimizer.learning_rate; "
    "test_mlp_learning_rate_schedules checks invscaling's rate on net_.optimizer_",
    "test_adaptive_learning_rate": PRIVATE + "_optimizer.learning_rate; "
    "test_mlp_learning_rate_schedules checks adaptive's rate on net_.optimizer_",
    "test_n_iter_no_change": PRIVATE + "_no_improvement_count; "
    "tests/test_base.py::test_stopping_rule_and_convergence_warning checks the "
    "same rule through n_iter_",
    "test_n_iter_no_change_inf": PRIVATE + "_no_improvement_count; "
    "test_mlp_learning_rate_schedules checks that n_iter_no_change=inf runs "
    "max_iter epochs",
    "test_nonfinite_params": "matches scikit-learn's message 'Solver produced "
    "non-finite parameter weights'; skae refuses input beyond float32's range "
    "before training, with a ValueError that says so (tests/test_reliability.py)",
    "test_early_stopping_stratified": "matches the class as scikit-learn's "
    "label-binarised y names it (\"['True']\"); skae's stratified split raises the "
    "same ValueError naming the class by its index ([1])",
    "test_mlp_diverging_loss": "expects a diverging fit to finish with NaN "
    "validation scores; skae stops a diverging fit with a FloatingPointError that "
    "names the epoch and what to change, and puts the estimator back as it was "
    "(tests/test_base.py::test_diverging_run_stops_with_an_error_and_keeps_nothing_broken)",
}
# Expected to fail, but rounding decides: on some CPUs, thread counts or torch
# builds these pass, so an unexpected pass is no error.
ROUNDING_DEPENDENT = {
    "test_partial_fit_regression": FLOAT32 + "100 partial_fit calls against one "
    "fit of 100 epochs, whose batches sum their rows in other orders; "
    "test_mlp_partial_fit_equals_fit_in_float32 checks it at float32 tolerance",
    "test_lbfgs_regression_maxfun": "expects every activation's L-BFGS to run "
    "out of max_fun=10 evaluations; from skae's (Xavier) starting weights at "
    "random_state=1 the identity network, a linear model, meets L-BFGS's "
    "relative-reduction stop at the 10th evaluation in float64, whether it does "
    "turning on the last digits (scikit-learn's own MLP does the same at "
    "random_state=3); test_mlp.py::test_mlp_lbfgs_as_in_sklearn checks max_fun",
}
# Too slow for the suite's time budget as well as reading private state: these
# run 3000-epoch fits (minutes here) only to read _no_improvement_count.
NOT_RUN = {"test_n_iter_no_change", "test_n_iter_no_change_inf"}


def _load_suite_with_skae():
    spec = importlib.util.spec_from_file_location(
        "_sklearn_test_mlp_on_skae", _sklearn_suite.__file__
    )
    module = importlib.util.module_from_spec(spec)
    saved = {
        name: getattr(sklearn.neural_network, name)
        for name in ("MLPClassifier", "MLPRegressor")
    }
    try:
        sklearn.neural_network.MLPClassifier = skae.MLPClassifier
        sklearn.neural_network.MLPRegressor = skae.MLPRegressor
        spec.loader.exec_module(module)
    finally:
        for name, cls in saved.items():
            setattr(sklearn.neural_network, name, cls)
    return module


_suite = _load_suite_with_skae()
assert _suite.MLPClassifier is skae.MLPClassifier
assert _suite.MLPRegressor is skae.MLPRegressor

for _name, _test in vars(_suite).items():
    if _name.startswith("test_") and callable(_test):
        if _name in EXPECTED_FAILURES:
            _test = pytest.mark.xfail(
                reason=EXPECTED_FAILURES[_name],
                strict=True,
                run=_name not in NOT_RUN,
            )(_test)
        elif _name in ROUNDING_DEPENDENT:
            _test = pytest.mark.xfail(reason=ROUNDING_DEPENDENT[_name], strict=False)(
                _test
            )
        globals()[_name] = _test


@pytest.fixture
def global_random_seed():
    """scikit-learn's fixture (its conftest), at its default seed."""
    return 42


@pytest.mark.parametrize("dtype", ["float32", "auto"])
@pytest.mark.parametrize("seed", [0, 1, 42])
def test_mlp_vs_poisson_glm_equivalent_by_dtype(seed, dtype):
    """sklearn's test_mlp_vs_poisson_glm_equivalent, in float32 and in float64.

    In float64 (dtype="auto" with float64 X) at scikit-learn's rtol=1e-4, with no
    ConvergenceWarning: over seeds 0 to 39, at one and two threads, the largest
    relative difference seen was 5e-6. In float32, whether L-BFGS stops
    'ABNORMAL' and how close it gets to the float64 GLM turns on rounding: across
    seeds, CPU instruction sets and thread counts the largest relative difference
    seen was 2.7e-4, so it is checked at 2e-3.
    """
    n = 100
    rng = np.random.default_rng(seed)
    X = np.linspace(0, 1, n)
    y = rng.poisson(np.exp(X + 1))
    X = X.reshape(n, -1)
    glm = PoissonRegressor(alpha=0, tol=1e-7).fit(X, y)
    params = dict(
        hidden_layer_sizes=(1,),
        activation="identity",
        alpha=0,
        solver="lbfgs",
        tol=1e-7,
        random_state=seed + 1,
        dtype=dtype,
    )
    with warnings.catch_warnings():
        if dtype == "float32":
            warnings.simplefilter("ignore", ConvergenceWarning)
        poisson = skae.MLPRegressor(loss="poisson", **params).fit(X, y)
        squared = skae.MLPRegressor(loss="squared_error", **params).fit(X, y)
    assert poisson.net_.module_.output.weight.dtype == getattr(
        torch, "float32" if dtype == "float32" else "float64"
    )
    rtol = 2e-3 if dtype == "float32" else 1e-4
    assert_allclose(poisson.predict(X), glm.predict(X), rtol=rtol)
    # An identity output cannot follow the GLM's exponential.
    assert not np.allclose(squared.predict(X), glm.predict(X), rtol=1e-2)
