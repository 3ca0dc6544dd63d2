"""Property-based input tests: whatever the data, every public estimator gives a
valid result (finite, of the right shape and dtype) or scikit-learn's clear error,
never a crash from inside torch and never NaN.

Run with ``-s`` to print how many cases each estimator met, by outcome.
"""

import collections
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from skae import Autoencoder, ConvAE, DenoisingAE, MLPClassifier, VariationalAE

FAST = {"max_iter": 2, "random_state": 0}
ESTIMATORS = {
    "autoencoder": lambda: Autoencoder(4, hidden_layer_sizes=(), **FAST),
    "denoising": lambda: DenoisingAE(4, hidden_layer_sizes=(), **FAST),
    "variational": lambda: VariationalAE(2, hidden_layer_sizes=(4,), **FAST),
    # pool_sizes=1: the generated matrices have as few as 2 features, which would
    # pool to one position (ConvAE warns about that, rightly).
    "conv": lambda: ConvAE(channels=(2,), pool_sizes=1, **FAST),
    "mlp": lambda: MLPClassifier((4,), **FAST),
}
# Deterministic example generation (CI must not flake) and no example database
# written into the checkout.
SETTINGS = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
pytestmark = [
    pytest.mark.parametrize("name", ESTIMATORS, ids=ESTIMATORS.keys()),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    # scikit-learn's finiteness check sums X first (inf - inf, or an overflowing
    # sum of huge values, warns) and then looks closer: its warning, not skae's.
    pytest.mark.filterwarnings("ignore:invalid value encountered in reduce"),
    pytest.mark.filterwarnings("ignore:overflow encountered in reduce"),
    # Matrices of fewer features than the plain Autoencoder's code: it rightly
    # warns that such a code can learn the identity.
    pytest.mark.filterwarnings("ignore:.*can learn the identity:UserWarning"),
]

# The autoencoders that take a matrix with NaN as a table with missing cells.
TABLES = {"autoencoder", "denoising", "variational"}

# The errors a user may see, each with its own message; anything else fails.
CLEAR_ERRORS = {
    "nan": (ValueError, "Input X contains NaN"),
    "all-missing": (ValueError, "has no observed value"),
    "inf": (ValueError, "Input X contains infinity"),
    "beyond-float32": (ValueError, "Input X contains values too large for float32"),
    "diverged": (FloatingPointError, r"diverged at epoch \d+.*learning_rate_init"),
    "overflow": (FloatingPointError, "overflowed float32 on this input"),
}


def may_overflow(name, method, X):
    """Whether float32 may overflow inside the network for this input.

    Beyond 1e15 any network may; a VAE's ELBO holds exp(log-variance), which
    overflows for inputs far outside the (standardised) training range.
    """
    top = np.abs(X).max() if X.size else 0
    return top > 1e15 or (
        name == "variational" and method == "score_samples" and top > 1e2
    )


CASES = collections.Counter()


@pytest.fixture(scope="module", autouse=True)
def report_cases():
    yield
    if CASES:
        print("\nhypothesis cases by estimator, test and outcome:")
        for key, count in sorted(CASES.items()):
            print("  ", *key, count)
        total = collections.Counter()
        for (name, _, outcome), count in CASES.items():
            if outcome == "examples":
                total[name] += count
        print("   examples per estimator:", dict(total))


@st.composite
def matrices(draw, n_features=None):
    """Float64/float32/int matrices with odd magnitudes, constant and duplicate
    columns, and sometimes NaN or inf; returns ``(X, y)``."""
    n_samples = draw(st.integers(1, 12))
    n_features = n_features or draw(st.integers(1, 6))
    dtype = draw(st.sampled_from([np.float64, np.float32, np.int64]))
    scale = draw(st.sampled_from([1.0, 1e-30, 1e-5, 1e6, 1e30, 1e300]))
    values = draw(
        st.lists(
            st.floats(-10, 10, allow_nan=False),
            min_size=n_samples * n_features,
            max_size=n_samples * n_features,
        )
    )
    X = np.array(values).reshape(n_samples, n_features)
    if dtype is np.int64:
        X = np.round(X * min(scale, 1e17)).astype(np.int64)
    else:
        with np.errstate(over="ignore"):
            X = (X * scale).astype(dtype)
    if draw(st.booleans()):
        X[:, draw(st.integers(0, n_features - 1))] = X[0, 0]  # a constant column
    if n_features > 1 and draw(st.booleans()):
        X[:, -1] = X[:, 0]  # a duplicate column
    special = draw(st.sampled_from([None, None, None, np.nan, np.inf, -np.inf]))
    if special is not None and dtype is not np.int64:
        X[draw(st.integers(0, n_samples - 1)), draw(st.integers(0, n_features - 1))] = (
            special
        )
    y = np.array(
        draw(st.lists(st.integers(0, 2), min_size=n_samples, max_size=n_samples))
    )
    return X, y


def expected_error(X, takes_tables=False):
    """The clear error that validating ``X`` must give, or None.

    ``takes_tables``: NaN cells are missing cells, and only a column with no
    observed cell is an error.
    """
    if X.dtype.kind != "f":
        return None
    if np.isnan(X).any():
        if not takes_tables:
            return "nan"
        if np.isnan(X).all(axis=0).any():
            return "all-missing"
    if np.isinf(X).any():
        return "inf"
    finite = X[np.isfinite(X)]
    if (
        X.dtype == np.float64
        and np.abs(finite).max(initial=0) > np.finfo(np.float32).max
    ):
        return "beyond-float32"
    return None


def test_autoencoder_table_beyond_float32_is_a_clear_error(name):
    if name not in TABLES:
        pytest.skip("takes no tables")
    X = np.zeros((10, 2))
    X[0, 0] = np.nan
    X[-1, 1] = 1e300
    with pytest.raises(ValueError, match="too large for float32"):
        ESTIMATORS[name]().fit(X)


def call(est, method, X):
    return getattr(est, method)(X)


def methods(est):
    if hasattr(est, "predict_proba"):
        return ["predict", "predict_proba", "predict_log_proba"]
    return ["transform", "score_samples"]


def check_output(est, method, X, out):
    """The output of a method that returned: right shape, dtype, all finite."""
    out = np.asarray(out)
    assert out.shape[0] == X.shape[0], method
    if method == "predict":
        assert set(out) <= set(est.classes_)
        return
    float_dtype = np.float32 if X.dtype == np.float32 else np.float64
    if getattr(est, "_table_", None) is not None and method != "transform":
        # A table's scores are float64, as for a frame; its codes follow X's
        # dtype, as scikit-learn's transformers keep float32.
        float_dtype = np.float64
    assert out.dtype == float_dtype, (method, out.dtype)
    if method == "predict_proba":
        # A y of one class still gets two columns, as in scikit-learn's MLP.
        assert out.shape == (X.shape[0], max(2, len(est.classes_)))
    assert np.isfinite(out).all(), f"{method} returned non-finite values: {out}"


def outcome_of(fn, allowed):
    """Run ``fn``; return "ok" or the name of the clear error it raised.

    Any error that is not one of ``allowed`` (with its message) fails the test.
    """
    try:
        fn()
    except (ValueError, FloatingPointError) as exc:
        for key in allowed:
            cls, pattern = CLEAR_ERRORS[key]
            if isinstance(exc, cls) and re.search(pattern, str(exc)):
                return key
        raise
    return "ok"


# The known gaps, always tried: float64 beyond float32's range, and float32 whose
# squared error overflows.
@example(data=(np.array([[1e300, 0.0], [0.0, 1.0]]), np.array([0, 1])))
@example(data=(np.array([[1e30, 1.0], [0.0, 1.0]], dtype=np.float32), np.array([0, 1])))
@SETTINGS
@given(data=matrices())
def test_fit_then_predict_on_any_matrix(name, data):
    X, y = data
    CASES[name, "fit", "examples"] += 1
    est = ESTIMATORS[name]()
    error = expected_error(X, takes_tables=name in TABLES)
    # Divergence is the one error fitting finite data may raise (1e30 squared
    # overflows float32); anything else must have been a validation error.
    allowed = [error] if error else ["diverged"]
    result = outcome_of(lambda: est.fit(X, y), allowed)
    CASES[name, "fit", result] += 1
    if result != "ok":
        assert not any(k.endswith("_") for k in vars(est)), "half-fitted on error"
        return
    for method in methods(est):
        out = None

        def run(method=method):
            nonlocal out
            out = call(est, method, X)

        result = outcome_of(run, ["overflow"] if may_overflow(name, method, X) else [])
        CASES[name, method, result] += 1
        if result == "ok":
            check_output(est, method, X, out)
    for p in est.net_.module_.parameters():
        assert p.isfinite().all()


@pytest.fixture(scope="module")
def fitted():
    """One fitted estimator per name, on clean data of 5 features."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 5))
    y = rng.integers(0, 3, 40)
    return {name: make().fit(X, y) for name, make in ESTIMATORS.items()}


@example(data=(np.full((2, 5), 1e300), None))
@example(data=(np.full((2, 5), 1e30, dtype=np.float32), None))
@example(data=(np.full((2, 5), 1e-30), None))
@SETTINGS
@given(data=matrices(n_features=5))
def test_fitted_estimator_on_any_matrix(name, fitted, data):
    X, _ = data
    CASES[name, "fitted", "examples"] += 1
    est = fitted[name]
    error = expected_error(X)
    for method in methods(est):
        out = None

        def run(method=method):
            nonlocal out
            out = call(est, method, X)

        huge = may_overflow(name, method, X)
        result = outcome_of(run, [error] if error else ["overflow"] if huge else [])
        CASES[name, "fitted-" + method, result] += 1
        if result == "ok":
            check_output(est, method, X, out)


_NAME = st.text(
    alphabet=st.sampled_from(list("ab Z_-.é中🙂 0")), min_size=1, max_size=6
)


@settings(SETTINGS, max_examples=10)
@given(
    columns=st.one_of(
        st.lists(_NAME, min_size=1, max_size=4, unique=True),
        st.lists(st.integers(-5, 5), min_size=1, max_size=4, unique=True),
        st.tuples(_NAME, st.integers(0, 3)).map(list),
    )
)
def test_pandas_with_odd_column_names(name, columns):
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.standard_normal((10, len(columns))), columns=columns)
    y = rng.integers(0, 2, 10)
    CASES[name, "pandas", "examples"] += 1
    est = ESTIMATORS[name]()
    kinds = {type(c) for c in columns}
    if kinds == {str, int}:
        # scikit-learn's rule: mixed names are refused, with its own message.
        with pytest.raises(TypeError, match="Feature names are only supported if"):
            est.fit(X, y)
        CASES[name, "pandas", "mixed-names-refused"] += 1
        return
    est.fit(X, y)
    if kinds == {str}:
        assert list(est.feature_names_in_) == columns
        if hasattr(est, "get_feature_names_out"):
            assert len(est.get_feature_names_out()) == est.transform(X[:2]).shape[1]
        renamed = X.set_axis([f"{c}!" for c in columns], axis=1)
        with pytest.raises(ValueError, match="feature names should match"):
            call(est, methods(est)[0], renamed)
    else:
        assert not hasattr(est, "feature_names_in_")
    for method in methods(est):
        check_output(est, method, X.to_numpy(), call(est, method, X))
    CASES[name, "pandas", "ok"] += 1
