"""The thread policy: denormals flushed on every torch thread, threads by load."""

import pytest
import torch

from skae._threads import (
    _flushed_denormals,
    _flushing_denormals,
    _openmp_parallel,
    torch_compute,
)

TINY = torch.finfo(torch.float32).tiny

needs_team_flush = pytest.mark.skipif(
    _openmp_parallel() is None or not torch.set_flush_denormal(False),
    reason="needs torch on OpenMP and a CPU that flushes denormals",
)


@pytest.fixture
def two_torch_threads():
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _unflushed(x):
    """How many elements of ``x * 0.5`` stay denormal (zero when flushed)."""
    return int(((x * 0.5) != 0).sum())


@needs_team_flush
def test_torch_compute_flushes_denormals_on_the_worker_threads(two_torch_threads):
    # A parallel kernel first, so the worker threads exist before the flush:
    # they do not take it from the calling thread by themselves.
    x = torch.full((1_000_000,), TINY)
    assert _unflushed(x) == x.numel()
    module = torch.nn.Linear(1000, 1000)
    with torch_compute(module, 1000):
        assert torch.get_num_threads() == 2
        assert _unflushed(x) == 0
    assert not _flushing_denormals()
    assert _unflushed(x) == x.numel()


@needs_team_flush
def test_flushed_denormals_covers_a_team_that_grows_in_the_block(two_torch_threads):
    x = torch.full((1_000_000,), TINY)
    _unflushed(x)
    torch.set_num_threads(1)
    with _flushed_denormals() as cover_team:
        # A fit's share grows when the fits beside it end.
        torch.set_num_threads(2)
        cover_team()
        assert _unflushed(x) == 0
        torch.set_num_threads(1)
    torch.set_num_threads(2)
    assert _unflushed(x) == x.numel()
