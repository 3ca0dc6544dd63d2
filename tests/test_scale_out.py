"""Scaling out: searches on Dask, torch threads per worker, out-of-core training.

The Dask tests start a real ``LocalCluster`` of worker processes and close it at the
end of the module. skae's CPU fits with a fixed ``random_state`` are bitwise
repeatable, so results on the cluster must equal local ones exactly. Each Dask
worker runs torch on one thread, and the local runs here do too (under
``threadpool_limits(1)``): on this machine 1 and 2 threads gave identical bits
(measured), but BLAS may split sums differently at other thread counts.
"""

import os
import threading

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from skae import DenoisingAE, MLPClassifier
from skae._parallel import _refresh_torch_threads, _share_torch_threads

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

N_WORKERS = 2


@pytest.fixture(scope="module")
def client():
    """A real cluster: two worker processes of one thread each, closed afterwards."""
    with (
        distributed.LocalCluster(
            n_workers=N_WORKERS,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def digits600():
    X, y = load_digits(return_X_y=True)
    return X[:600], y[:600]


def _pipeline():
    return Pipeline(
        [
            ("scale", StandardScaler()),
            (
                "ae",
                DenoisingAE(
                    8,
                    hidden_layer_sizes=(),
                    noise_level=0.2,
                    max_iter=3,
                    batch_size=100,
                    random_state=0,
                ),
            ),
            ("clf", LogisticRegression(max_iter=200)),
        ]
    )


def _scores(search):
    res = search.cv_results_
    keys = [k for k in res if k.startswith(("split", "mean_test", "std_test"))]
    return {k: np.asarray(res[k]) for k in keys}, [str(p) for p in res["params"]]


def _assert_same_search(local, remote):
    assert remote.best_params_ == local.best_params_
    local_scores, local_params = _scores(local)
    remote_scores, remote_params = _scores(remote)
    assert remote_params == local_params
    for key, value in local_scores.items():
        np.testing.assert_array_equal(remote_scores[key], value, err_msg=key)
    assert remote.best_score_ == local.best_score_


def _local_then_dask(search, X, y):
    with threadpool_limits(limits=1):
        local = clone(search).set_params(n_jobs=1).fit(X, y)
    with joblib.parallel_config(backend="dask"):
        remote = clone(search).set_params(n_jobs=-1).fit(X, y)
    return local, remote


# 24 fits (45 s on a busy machine); the partial_fit tests keep Dask in make test.
@pytest.mark.slow
def test_grid_search_dask_matches_local(client, digits600):
    X, y = digits600
    search = GridSearchCV(
        _pipeline(),
        {
            "ae__n_components": [4, 8],
            "ae__learning_rate_init": [1e-3, 1e-2],
        },
        cv=3,
    )
    local, remote = _local_then_dask(search, X, y)
    _assert_same_search(local, remote)
    # The refitted best pipeline is the same model too.
    np.testing.assert_array_equal(
        remote.best_estimator_.predict_proba(X), local.best_estimator_.predict_proba(X)
    )
    # The fits ran as tasks on the cluster, not in this process.
    prefixes = client.run_on_scheduler(
        lambda dask_scheduler: sorted(dask_scheduler.task_prefixes)
    )
    assert any("batch_of" in name for name in prefixes), prefixes


@pytest.mark.slow
def test_randomized_search_dask_matches_local(client, digits600):
    X, y = digits600
    search = RandomizedSearchCV(
        _pipeline(),
        {
            "ae__n_components": [4, 8, 16],
            "ae__noise_level": [0.1, 0.3],
            "ae__alpha": [1e-4, 1e-2],
        },
        n_iter=4,
        cv=3,
        random_state=0,
    )
    local, remote = _local_then_dask(search, X, y)
    _assert_same_search(local, remote)


# ------------------------------------------------------------------ torch threads


def _probe_class():
    """A DenoisingAE that records the torch thread count its training runs with.

    Made in a function so that cloudpickle sends the class itself to worker
    processes, which cannot import this test module.
    """

    class ThreadProbeAE(DenoisingAE):
        barrier = None

        def _pretrain(self, X, seed):
            if self.barrier is not None:
                # Hold until the other fit runs too, so both count as concurrent.
                self.barrier.wait(timeout=60)

        def _score_tensors(self, Xt, yt=None):
            # Called by early stopping at the end of an epoch, inside training.
            self.torch_threads_ = torch.get_num_threads()
            return super()._score_tensors(Xt, yt)

    return ThreadProbeAE


def _threads_seen(n_jobs, X, barrier=None):
    probe = _probe_class()
    probe.barrier = barrier
    out = cross_validate(
        # Large enough to train on its share of threads: a model this small would
        # run on one thread anyway (skae._training._ONE_THREAD_FLOPS).
        probe(
            256,
            hidden_layer_sizes=(512,),
            max_iter=1,
            early_stopping=True,
            random_state=0,
        ),
        X,
        cv=n_jobs,
        n_jobs=n_jobs,
        return_estimator=True,
    )
    return [est.torch_threads_ for est in out["estimator"]]


def _worker_threads(share):
    """The torch threads of a loky or dask worker, given the parent's environment.

    Both set each thread variable the parent leaves unset to the worker's share
    (CI sets them all, at 1 and at 2), and torch's default follows
    MKL_NUM_THREADS before OMP_NUM_THREADS.
    """
    return int(os.environ.get("MKL_NUM_THREADS", share))


def test_loky_workers_share_the_cores(digits600):
    """Two loky workers: each fit's torch gets its share, not all cores."""
    X, _ = digits600
    n_cores = joblib.cpu_count()
    threads = _threads_seen(2, X)
    share = _worker_threads(max(1, n_cores // 2))
    assert threads == [share] * 2


def test_dask_workers_run_one_torch_thread(client, digits600):
    """Dask's nanny sets OMP_NUM_THREADS=1 in each worker; torch follows it."""
    X, _ = digits600
    expected = _worker_threads(1)
    assert set(client.run(torch.get_num_threads).values()) == {expected}
    with joblib.parallel_config(backend="dask"):
        threads = _threads_seen(N_WORKERS, X)
    assert threads == [expected] * N_WORKERS


def test_share_torch_threads_splits_between_concurrent_fits():
    base = torch.get_num_threads()
    barrier = threading.Barrier(2)
    seen = []

    def run():
        with _share_torch_threads():
            barrier.wait(timeout=30)  # both inside at once
            _refresh_torch_threads()  # as at the start of each epoch
            seen.append(torch.get_num_threads())
            barrier.wait(timeout=30)  # neither leaves before both have looked

    workers = [threading.Thread(target=run) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert seen == [max(1, base // 2)] * 2
    assert torch.get_num_threads() == base
    with _share_torch_threads():
        _refresh_torch_threads()
        assert torch.get_num_threads() == base  # a fit alone keeps every thread
        with _share_torch_threads():  # a nested fit counts once
            _refresh_torch_threads()
            assert torch.get_num_threads() == base


def test_threading_backend_fits_share_the_cores(digits600):
    """Two fits in two threads of one process: max(1, k // 2) torch threads each."""
    X, _ = digits600
    base = torch.get_num_threads()
    with joblib.parallel_config(backend="threading"):
        threads = _threads_seen(2, X, barrier=threading.Barrier(2))
    assert threads == [max(1, base // 2)] * 2
    assert torch.get_num_threads() == base


# ------------------------------------------------------------------- out of core


def _blocks(X, y, rows):
    return [(X[i : i + rows], y[i : i + rows]) for i in range(0, len(X), rows)]


def test_incremental_autoencoder_on_dask_matches_local_partial_fit(client, digits600):
    """dask-ml's Incremental calls partial_fit block by block on the cluster."""
    from dask_ml.wrappers import Incremental

    X, y = digits600
    X = X / 16.0
    ae = DenoisingAE(
        8, hidden_layer_sizes=(), noise_level=0.2, batch_size=50, random_state=0
    )
    dX = da.from_array(X, chunks=(200, X.shape[1]))
    inc = Incremental(ae, shuffle_blocks=False).fit(dX)

    local = clone(ae)
    with threadpool_limits(limits=1):
        for Xb, _ in _blocks(X, y, 200):
            local.partial_fit(Xb)
    remote = inc.estimator_
    assert remote.n_iter_ == local.n_iter_ == 1  # one epoch per partial_fit call
    assert len(remote.loss_curve_) == 3
    assert remote.loss_curve_ == local.loss_curve_
    with threadpool_limits(limits=1):
        np.testing.assert_array_equal(remote.transform(X), local.transform(X))
    # Incremental's transform maps blocks of a dask array to blocks of codes.
    Z = inc.transform(dX)
    assert isinstance(Z, da.Array)
    assert Z.compute().shape == (len(X), 8)


def test_incremental_classifier_on_dask_matches_local_partial_fit(client, digits600):
    from dask_ml.wrappers import Incremental

    X, y = digits600
    X = X / 16.0
    classes = np.unique(y)
    clf = MLPClassifier((16,), batch_size=50, random_state=0)
    dX = da.from_array(X, chunks=(200, X.shape[1]))
    dy = da.from_array(y, chunks=200)
    inc = Incremental(clf, shuffle_blocks=False).fit(dX, dy, classes=classes)

    local = clone(clf)
    with threadpool_limits(limits=1):
        for Xb, yb in _blocks(X, y, 200):
            local.partial_fit(Xb, yb, classes=classes)
    remote = inc.estimator_
    assert remote.loss_curve_ == local.loss_curve_
    np.testing.assert_array_equal(remote.classes_, classes)
    assert remote.loss_curve_[-1] < remote.loss_curve_[0]
    with threadpool_limits(limits=1):
        # Equal weights (the loss curves above match bit for bit); the
        # probabilities agree to float32 rounding, as a few rows' logits can
        # differ in the last bit between the worker and this process.
        np.testing.assert_allclose(
            remote.predict_proba(X), local.predict_proba(X), rtol=1e-6
        )
