"""The thread policy: denormals flushed on every torch thread, threads by load."""

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning

from skae import DenoisingAE, _threads
from skae._threads import (
    _flushed_denormals,
    _flushing_denormals,
    _free_cores,
    _openmp_parallel,
    _other_runnable_threads,
    _share_torch_threads,
    _threads_for_load,
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


# ------------------------------------------------------------------ busy machines


def _fake_proc(root, loadavg, states):
    (root / "self" / "task").mkdir(parents=True)
    (root / "loadavg").write_text(loadavg)
    for i, state in enumerate(states, 1):
        (root / "self" / "task" / str(i)).mkdir()
        # A command with spaces and a parenthesis, as a thread's name may be.
        (root / "self" / "task" / str(i) / "stat").write_text(
            f"{i} (pt main) x) {state} 1 1 1 0 -1\n"
        )
    return root


def test_other_runnable_threads_leaves_out_this_process(tmp_path):
    proc = _fake_proc(tmp_path, "2.10 1.50 1.20 5/180 4242\n", ["R", "S", "R"])
    assert _other_runnable_threads(str(proc), readings=2) == 3


def test_other_runnable_threads_without_proc(tmp_path):
    assert _other_runnable_threads(str(tmp_path / "absent")) is None


@pytest.mark.parametrize(
    "n_cores, others, expected",
    [(2, 0, 2), (2, 1, 1), (2, 2, 1), (2, 7, 1), (16, 3, 13)],
    ids=["quiet", "one-busy", "two-busy", "overloaded", "many-cores"],
)
def test_free_cores_leaves_at_least_one(n_cores, others, expected):
    assert _free_cores(n_cores, others) == expected


@pytest.fixture
def default_threads(monkeypatch):
    """torch's thread count as skae's default, and no thread variables set."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    monkeypatch.setattr(_threads, "_DEFAULT_TORCH_THREADS", torch.get_num_threads())
    monkeypatch.setattr(_threads.os, "sched_getaffinity", lambda pid: {0, 1}, False)
    monkeypatch.setattr(_threads.os, "cpu_count", lambda: 2)
    return torch.get_num_threads()


def test_threads_for_load_lowers_the_default_count(default_threads):
    assert _threads_for_load(default_threads, others=0) == min(default_threads, 2)
    assert _threads_for_load(default_threads, others=2) == 1


@pytest.mark.parametrize("variable", ["OMP_NUM_THREADS", "MKL_NUM_THREADS"])
def test_threads_for_load_honours_a_thread_variable(
    default_threads, monkeypatch, variable
):
    monkeypatch.setenv(variable, str(default_threads))
    assert _threads_for_load(default_threads, others=5) == default_threads


def test_threads_for_load_honours_a_count_the_user_set(default_threads):
    assert _threads_for_load(default_threads + 1, others=5) == default_threads + 1


def test_threads_for_load_without_a_reading(default_threads, monkeypatch):
    monkeypatch.setattr(_threads, "_other_runnable_threads", lambda: None)
    assert _threads_for_load(default_threads) == default_threads


def test_threads_for_load_on_some_of_the_cores(default_threads, monkeypatch):
    # Bound to one core of two: the machine-wide count is no guide.
    monkeypatch.setattr(_threads.os, "sched_getaffinity", lambda pid: {0}, False)
    assert _threads_for_load(default_threads, others=5) == default_threads


def test_fit_trains_on_the_threads_the_load_leaves(default_threads, monkeypatch):
    torch.set_num_threads(2)
    monkeypatch.setattr(_threads, "_DEFAULT_TORCH_THREADS", 2)
    monkeypatch.setattr(_threads, "_other_runnable_threads", lambda: 1)
    try:
        with _share_torch_threads():
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(default_threads)


@pytest.mark.parametrize("fix", ["OMP_NUM_THREADS", "torch.set_num_threads"])
def test_denoising_ae_fixed_thread_count_is_bit_identical(
    default_threads, monkeypatch, fix, digits_std
):
    # Two fits under different loads: with the thread count fixed, the same
    # threads and the same bits.
    X = digits_std[0][:200]
    if fix == "OMP_NUM_THREADS":
        monkeypatch.setenv("OMP_NUM_THREADS", "2")
        threads = 2
    else:
        threads = default_threads + 1  # not torch's default: the user's count
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    fits = []
    try:
        for others in (0, 5):
            monkeypatch.setattr(_threads, "_other_runnable_threads", lambda o=others: o)
            ae = DenoisingAE(8, max_iter=2, random_state=0)
            with pytest.warns(ConvergenceWarning):
                ae.fit(X)
            fits.append(ae)
            assert torch.get_num_threads() == threads
    finally:
        torch.set_num_threads(previous)
    first, second = (
        [p.detach().numpy() for p in ae.net_.module_.parameters()] for ae in fits
    )
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(fits[0].transform(X), fits[1].transform(X))
