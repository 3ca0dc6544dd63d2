"""MNIST for the benchmarks and tests: ``SKAE_MNIST``, else the shared .npz.

``SKAE_MNIST`` is also the examples' variable; they differ only when it is unset:
a benchmark then reads the shared ``../shared/data/mnist.npz``, while an example
(and so the documentation build) runs its quick mode on digits.
"""

import os
from pathlib import Path

from skae.datasets import load_mnist

DEFAULT = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist.npz"


def mnist_path():
    """Path of the MNIST .npz, or None when it is not on this machine."""
    path = Path(os.environ.get("SKAE_MNIST", DEFAULT))
    return path if path.is_file() else None


def load(n_train=None):
    """(X_train, y_train, X_test, y_test): rows of 784 float32 pixels in [0, 1],
    int64 labels, read by ``skae.datasets.load_mnist``."""
    X_train, y_train, X_test, y_test = (
        array
        for subset in ("train", "test")
        for array in load_mnist(path=mnist_path(), subset=subset, return_X_y=True)
    )
    if n_train is not None:
        X_train, y_train = X_train[:n_train], y_train[:n_train]
    return X_train, y_train, X_test, y_test
