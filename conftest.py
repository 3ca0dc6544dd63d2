"""Test-session configuration shared by tests/ and the doctests in skae/."""

import pytest
import torch
from _pytest.doctest import DoctestItem


def pytest_collection_modifyitems(config, items):
    """Skip GPU tests without CUDA; let doctests stop before converging."""
    no_cuda = pytest.mark.skip(reason="needs CUDA")
    # Docstring examples train for a few epochs so that they run fast: they are
    # expected not to converge.
    short_runs = pytest.mark.filterwarnings(
        "ignore::sklearn.exceptions.ConvergenceWarning"
    )
    for item in items:
        if "gpu" in item.keywords and not torch.cuda.is_available():
            item.add_marker(no_cuda)
        if isinstance(item, DoctestItem):
            item.add_marker(short_runs)
