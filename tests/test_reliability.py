"""Faults and repeatability: divergence never leaves NaN weights, the same seed gives
the same bits in another process, the caller's RNGs are left alone, and inference
from many threads at once gives the serial results."""

import pickle
import random
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from numpy.testing import assert_array_equal
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.utils.validation import check_is_fitted

import skae
from skae import VariationalAE, load, save

SEEDED = {"max_iter": 3, "random_state": 0}
MAKERS = {
    "autoencoder": (
        "Autoencoder",
        {"n_components": 8, "hidden_layer_sizes": (), **SEEDED},
    ),
    "denoising": (
        "DenoisingAE",
        {"n_components": 8, "hidden_layer_sizes": (), **SEEDED},
    ),
    "variational": (
        "VariationalAE",
        {"n_components": 2, "hidden_layer_sizes": (8,), **SEEDED},
    ),
    "conv": ("ConvAE", {"channels": (4,), **SEEDED}),
    "mlp": ("MLPClassifier", {"hidden_layer_sizes": (8,), "dropout": 0.2, **SEEDED}),
}
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def make(name, **params):
    cls, defaults = MAKERS[name]
    return getattr(skae, cls)(**{**defaults, **params})


def all_outputs(est, X):
    """Every inference output: codes, reconstructions and scores, or predictions."""
    if hasattr(est, "predict_proba"):
        return {
            "predict": est.predict(X),
            "predict_proba": est.predict_proba(X),
            "predict_log_proba": est.predict_log_proba(X),
        }
    Z = est.transform(X)
    return {
        "transform": Z,
        "inverse_transform": est.inverse_transform(Z),
        "score_samples": est.score_samples(X),
    }


def weights(est):
    return {k: v.detach().clone() for k, v in est.net_.module_.state_dict().items()}


def assert_finite_weights(est):
    for name, p in est.net_.module_.state_dict().items():
        assert torch.isfinite(p).all(), f"{name} holds non-finite values"


# ------------------------------------------------------------------ divergence

DIVERGING = {"solver": "sgd", "learning_rate_init": 1e8, "max_iter": 20}


@pytest.mark.parametrize("name", MAKERS)
def test_diverging_first_fit_leaves_the_estimator_unfitted(name, small):
    X, y = small
    est = make(name, **DIVERGING)
    with pytest.raises(FloatingPointError) as info:
        est.fit(X, y)
    message = str(info.value)
    assert f"{type(est).__name__} diverged at epoch " in message
    assert "Lower learning_rate_init (now 100000000.0)" in message
    assert not [k for k in vars(est) if k.endswith("_")]
    with pytest.raises(NotFittedError):
        check_is_fitted(est)


@pytest.mark.parametrize("how", ["fit", "warm_start", "partial_fit"])
@pytest.mark.parametrize("name", MAKERS)
def test_diverging_refit_keeps_the_previous_finite_weights(name, how, small):
    X, y = small
    # SGD from the start: partial_fit continues the optimiser it has.
    est = make(name, solver="sgd", learning_rate_init=0.01).fit(X, y)
    before, state, n_iter = all_outputs(est, X), weights(est), est.n_iter_
    est.set_params(**DIVERGING, warm_start=how == "warm_start")
    with pytest.raises(FloatingPointError, match="diverged at epoch"):
        if how == "partial_fit":
            for _ in range(20):  # one epoch per call: until one diverges
                est.partial_fit(X, y)
                # Finite weights, though perhaps too large to give finite outputs.
                state, n_iter = weights(est), est.n_iter_
        else:
            est.fit(X, y)
    assert_finite_weights(est)
    for key, value in weights(est).items():
        assert torch.equal(value, state[key]), key
    assert est.n_iter_ == n_iter
    if how != "partial_fit":
        for key, value in all_outputs(est, X).items():
            assert_array_equal(value, before[key], err_msg=key)
    # And the estimator is still usable: it trains on from there (after the
    # partial_fit run, whose last weights may be huge, it trains afresh).
    est.set_params(learning_rate_init=1e-3, max_iter=2, warm_start=how != "partial_fit")
    est.fit(X, y)
    assert_finite_weights(est)


def test_weights_blown_up_by_the_last_step_count_as_divergence(small):
    # One batch per epoch: the loss of the only epoch is finite (computed before
    # the step), but the step at this learning rate makes the weights infinite.
    X, y = small
    est = VariationalAE(
        2,
        hidden_layer_sizes=(8,),
        solver="sgd",
        learning_rate_init=1e38,
        max_iter=1,
        batch_size=len(X),
    )
    with pytest.raises(FloatingPointError, match="diverged at epoch 1"):
        est.set_params(random_state=0).fit(X, y)
    assert not hasattr(est, "net_")


# ----------------------------------------------------------------- determinism

_SUBPROCESS = """
import sys, warnings
import numpy as np
from sklearn.datasets import load_digits
import skae
warnings.simplefilter("ignore")
X, y = load_digits(return_X_y=True)
X, y = X[:300] / 16, y[:300]
out = {{}}
for name, (cls, params) in {makers!r}.items():
    est = getattr(skae, cls)(**params).fit(X, y)
    if hasattr(est, "predict_proba"):
        out[name + ".predict_proba"] = est.predict_proba(X)
        out[name + ".predict"] = est.predict(X)
    else:
        out[name + ".transform"] = est.transform(X)
        out[name + ".score_samples"] = est.score_samples(X)
    out[name + ".loss_curve"] = np.array(est.loss_curve_)
np.savez(sys.argv[1], **out)
"""


def test_same_random_state_gives_the_same_bits_in_other_processes(tmp_path):
    script = textwrap.dedent(_SUBPROCESS.format(makers=MAKERS))
    runs = []
    for i in range(2):
        path = tmp_path / f"run{i}.npz"
        subprocess.run([sys.executable, "-c", script, str(path)], check=True)
        runs.append(dict(np.load(path)))
    # And once more in this process, which has already run other tests.
    here = {}
    X, y = load_digits(return_X_y=True)
    X, y = X[:300] / 16, y[:300]
    for name in MAKERS:
        est = make(name).fit(X, y)
        if hasattr(est, "predict_proba"):
            here[name + ".predict_proba"] = est.predict_proba(X)
            here[name + ".predict"] = est.predict(X)
        else:
            here[name + ".transform"] = est.transform(X)
            here[name + ".score_samples"] = est.score_samples(X)
        here[name + ".loss_curve"] = np.array(est.loss_curve_)
    assert runs[0].keys() == runs[1].keys() == here.keys()
    for key in here:
        assert_array_equal(runs[0][key], runs[1][key], err_msg=key)
        assert_array_equal(runs[0][key], here[key], err_msg=key)


def _rng_states():
    return (
        random.getstate(),
        np.random.get_state()[1].copy(),  # noqa: NPY002 (what is checked)
        torch.get_rng_state(),
    )


def _assert_rng_states(states):
    assert random.getstate() == states[0]
    assert_array_equal(np.random.get_state()[1], states[1])  # noqa: NPY002
    assert torch.equal(torch.get_rng_state(), states[2])


@pytest.mark.parametrize("name", MAKERS)
def test_fit_inference_and_persistence_leave_global_rngs_alone(name, small, tmp_path):
    X, y = small
    random.seed(1)
    np.random.seed(1)  # noqa: NPY002 (the caller's global state, checked below)
    torch.manual_seed(1)
    states = _rng_states()
    est = make(name).fit(X, y)
    _assert_rng_states(states)
    est.partial_fit(X, y)
    _assert_rng_states(states)
    all_outputs(est, X)
    est.score(X, y)
    if hasattr(est, "sample"):
        est.sample(3, random_state=0)
    _assert_rng_states(states)
    save(est, tmp_path / "m.skae")
    load(tmp_path / "m.skae")
    _assert_rng_states(states)


# ----------------------------------------------------------------- concurrency

_SIZES = [1, 2, 7, 64, 65, 300, 1797, 4097, 5000]


@pytest.mark.parametrize("name", MAKERS)
def test_inference_from_many_threads_matches_serial(name, digits, monkeypatch):
    # Batches of 4,096 rows, so that the larger calls span two of them.
    monkeypatch.setattr(skae._base, "_INFERENCE_BATCH", 4096)
    X, y = digits
    X_big = np.vstack([X, X, X])  # 5391 rows
    est = make(name).fit(X[:300], y[:300])
    inputs = {method: X_big for method in all_outputs(est, X[:1])}
    if "inverse_transform" in inputs:
        inputs["inverse_transform"] = est.transform(X_big)

    def run(job):
        method, start, size = job
        return getattr(est, method)(inputs[method][start : start + size])

    jobs = [(m, start, size) for m in inputs for size in _SIZES for start in (0, 11)]
    serial = {job: run(job) for job in jobs}
    with ThreadPoolExecutor(max_workers=8) as pool:
        # Every job 3 times, interleaved, so that threads overlap in every method
        # and batch size.
        futures = {(job, i): pool.submit(run, job) for i in range(3) for job in jobs}
        results = {key: future.result() for key, future in futures.items()}
    for (job, _), result in results.items():
        assert_array_equal(result, serial[job], err_msg=str(job))


# ---------------------------------------------------------------- interruption


class _RaiseOnForward:
    """A module's ``forward`` that raises KeyboardInterrupt on its n-th call."""

    def __init__(self, module, n):
        self.forward, self.n = module.forward, n

    def __call__(self, *args, **kwargs):
        self.n -= 1
        if self.n == 0:
            raise KeyboardInterrupt
        return self.forward(*args, **kwargs)


@pytest.mark.parametrize("name", MAKERS)
def test_keyboard_interrupt_in_partial_fit_leaves_nothing_half_updated(name, small):
    # A KeyboardInterrupt raised as an exception in the middle of an epoch (not
    # the SIGINT that skae turns into a clean stop): some batches have updated
    # the weights and the optimiser by then.
    X, y = small
    est = make(name, batch_size=50).fit(X, y)
    twin = pickle.loads(pickle.dumps(est))
    before, state, curve = all_outputs(est, X), weights(est), list(est.loss_curve_)
    module = est.net_.module_
    module.forward = _RaiseOnForward(module, 4)
    with pytest.raises(KeyboardInterrupt):
        est.partial_fit(X, y)
    vars(est.net_.module_).pop("forward", None)
    for key, value in weights(est).items():
        assert torch.equal(value, state[key]), key
    assert est.loss_curve_ == curve and est.n_iter_ == twin.n_iter_
    for key, value in all_outputs(est, X).items():
        assert_array_equal(value, before[key], err_msg=key)
    # The optimiser state and the training RNG were put back too: the next call
    # gives the bits of the estimator that was never interrupted.
    est.partial_fit(X, y)
    twin.partial_fit(X, y)
    assert est.loss_curve_ == twin.loss_curve_
    for key, value in weights(est).items():
        assert torch.equal(value, weights(twin)[key]), key


def _killed_in_the_middle(X, kill):
    """A pipeline step whose worker process dies (SIGKILL) when ``kill``."""
    if kill:
        import os
        import signal

        os.kill(os.getpid(), signal.SIGKILL)
    return X


@pytest.mark.slow
def test_search_whose_worker_is_killed_leaves_nothing_half_fitted(small, tmp_path):
    # A real second process dies mid-search: the search raises, holds no fitted
    # attribute, and a model saved before is intact.
    cloudpickle = pytest.importorskip("cloudpickle")  # joblib's loky uses it
    from joblib.externals.loky.process_executor import TerminatedWorkerError
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    X, y = small
    saved = skae.MLPClassifier((4,), max_iter=3, random_state=0).fit(X, y)
    path = tmp_path / "model.skae"
    save(saved, path)
    expected = saved.predict_proba(X)
    pipe = make_pipeline(
        FunctionTransformer(_killed_in_the_middle, kw_args={"kill": False}),
        skae.MLPClassifier((4,), max_iter=3, random_state=0),
    )
    grid = {"functiontransformer__kw_args": [{"kill": False}, {"kill": True}]}
    search = GridSearchCV(pipe, grid, cv=2, n_jobs=2)
    # The test module is not importable in the workers: send the step by value.
    module = sys.modules[_killed_in_the_middle.__module__]
    cloudpickle.register_pickle_by_value(module)
    try:
        with pytest.raises(TerminatedWorkerError):
            search.fit(X, y)
    finally:
        cloudpickle.unregister_pickle_by_value(module)
    # (scikit-learn sets scorer_ and multimetric_ before the folds run.)
    assert not hasattr(search, "cv_results_")
    assert not hasattr(search, "best_estimator_")
    assert_array_equal(load(path).predict_proba(X), expected)


def test_a_result_beyond_the_inputs_float_type_is_an_error():
    # A float64 network's result comes back in the input's float32; one beyond
    # float32's range is an error naming float32, never inf.
    from skae import MLPRegressor

    X = np.random.default_rng(0).standard_normal((40, 3))
    est = MLPRegressor(
        hidden_layer_sizes=(), dtype="float64", max_iter=2, random_state=0
    )
    with pytest.warns(ConvergenceWarning):
        est.fit(X, X.sum(axis=1))
    with torch.no_grad():
        est.net_.module_.output.bias.fill_(1e39)
    assert np.all(est.predict(X) == 1e39)
    for n_rows in (1, 40):
        with pytest.raises(FloatingPointError, match="overflowed float32 on this"):
            est.predict(X[:n_rows].astype(np.float32))


@pytest.mark.parametrize("n_rows", [1, 40, 5000])
def test_float64_beyond_float32_is_refused_in_any_batch(n_rows):
    from skae import DenoisingAE

    X = np.random.default_rng(0).standard_normal((n_rows, 4))
    est = DenoisingAE(2, hidden_layer_sizes=(8,), max_iter=1, random_state=0)
    est.fit(X[:40])
    assert est.transform(X).dtype == np.float64
    X[-1, 2] = 1e39
    with pytest.raises(ValueError, match="values too large for float32"):
        est.transform(X)
