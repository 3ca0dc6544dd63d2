"""MNIST for the benchmarks: the shared .npz, or SKAE_MNIST pointing at one."""

import os
from pathlib import Path

import numpy as np

DEFAULT = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist.npz"


def mnist_path():
    """Path of the MNIST .npz, or None when it is not on this machine."""
    path = Path(os.environ.get("SKAE_MNIST", DEFAULT))
    return path if path.is_file() else None


def load(n_train=None):
    """(X_train, y_train, X_test, y_test): float32 pixels in [0, 1], int64 labels."""
    with np.load(mnist_path()) as data:
        X_train = data["x_train"].reshape(-1, 784).astype(np.float32) / 255
        X_test = data["x_test"].reshape(-1, 784).astype(np.float32) / 255
        y_train = data["y_train"].astype(np.int64)
        y_test = data["y_test"].astype(np.int64)
    if n_train is not None:
        X_train, y_train = X_train[:n_train], y_train[:n_train]
    return X_train, y_train, X_test, y_test
