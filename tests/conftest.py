import pytest
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

import skae._threads


@pytest.fixture(scope="session")
def digits():
    """Digits with pixels scaled to [0, 1]: (X, y), X float64."""
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


@pytest.fixture(scope="session")
def digits_std(digits):
    X, y = digits
    return StandardScaler().fit_transform(X), y


@pytest.fixture
def small(digits):
    """300 digits: enough to learn something in a few epochs, fast to fit."""
    X, y = digits
    return X[:300].copy(), y[:300].copy()


@pytest.fixture(autouse=True)
def _no_other_load(monkeypatch):
    """Fits see no other runnable threads: tests never depend on the machine's load.

    A test of the load rule injects its own readings.
    """
    monkeypatch.setattr(skae._threads, "_other_runnable_threads", lambda: 0)
