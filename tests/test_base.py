"""The contract every skae estimator shares: seeding, dtypes, errors, rollback,
continued training, verbosity and persistence."""

import _thread
import contextlib
import pickle
import random
import signal
import threading
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.utils.validation import check_is_fitted

from skae import Autoencoder, ConvAE, DenoisingAE, MLPClassifier, VariationalAE
from skae._training import FitInterruptedWarning, _deferred_interrupts


def _factory(cls, shape_param="hidden_layer_sizes", **defaults):
    def make(**params):
        return cls(**{**defaults, **params})

    make.shape_param = shape_param  # the parameter that sets the architecture
    return make


FACTORIES = {
    "autoencoder": _factory(Autoencoder, n_components=8, hidden_layer_sizes=()),
    "denoising": _factory(DenoisingAE, n_components=8, hidden_layer_sizes=()),
    "variational": _factory(VariationalAE, n_components=2, hidden_layer_sizes=(8,)),
    "conv": _factory(ConvAE, "channels", channels=(4,)),
    "mlp": _factory(MLPClassifier, hidden_layer_sizes=(8,), dropout=0.2),
}
pytestmark = [
    pytest.mark.parametrize("make", FACTORIES.values(), ids=FACTORIES.keys()),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]


def output(est, X):
    """What the estimator gives back: codes, or class probabilities."""
    return est.predict_proba(X) if hasattr(est, "predict_proba") else est.transform(X)


def test_random_state_repeats_fits_and_leaves_global_rngs_alone(make, small):
    X, y = small
    global_numpy = np.random.get_state()[1].copy()  # noqa: NPY002 (what is checked)
    states = (random.getstate(), global_numpy, torch.get_rng_state())
    a = make(max_iter=3, random_state=0).fit(X, y)
    b = make(max_iter=3, random_state=0).fit(X, y)
    out_a = output(a, X)
    assert random.getstate() == states[0]
    np.testing.assert_array_equal(np.random.get_state()[1], states[1])  # noqa: NPY002
    assert torch.equal(torch.get_rng_state(), states[2])
    np.testing.assert_array_equal(out_a, output(b, X))
    assert a.loss_curve_ == b.loss_curve_
    c = make(max_iter=3, random_state=1).fit(X, y)
    assert not np.array_equal(out_a, output(c, X))


# float32 keeps 24 bits: it rounds a value by up to u = 2**-24 (6e-8) of it. Summed
# in another order, a dot product of K terms moves by at most about 2 K u of the
# sum of its terms' magnitudes (Higham, Accuracy and Stability of Numerical
# Algorithms, 2nd ed., eq. 3.5), and a network of L such layers by about L times
# that, taking each layer's gain as 1. CPU BLAS sums a row in another order when
# it lies at the tail of a register block, whose size is the instruction set's
# (4 or 8 rows with SSE4.2, 6 with AVX2; AVX-512 only in batches under 16 rows,
# which skae pads), so a row's result may move by that much with its neighbours.
# These networks have K <= 64 (the digits' pixels) and L <= 4: 2 * 64 * 4 * u =
# 3e-5 of the magnitudes that flow through, the inputs' (pixels in [0, 1]) and
# the outputs' (a squared error or a log-likelihood sums such terms). Measured
# with AVX-512, AVX2 and SSE4.2 kernels: at most 1.5e-5 on VariationalAE's scores
# of 76 (2e-7 of them, with each), 3e-9 on the MLP's probabilities (SSE4.2), 0
# elsewhere. A row mixed with others by 1e-3 of their mean fails it.
FLOAT32_ORDER_RTOL = 2 * 64 * 4 * 2.0**-24


def methods(est, X):
    """Each float method of ``est`` with the input it takes."""
    found = {"predict_proba": X, "predict_log_proba": X, "score_samples": X}
    if hasattr(est, "transform"):
        found["transform"] = X
        found["inverse_transform"] = est.transform(X)
    return {name: Xm for name, Xm in found.items() if hasattr(est, name)}


@pytest.mark.parametrize("threads", [1, 2])
def test_a_rows_result_does_not_depend_on_its_batch(make, small, threads):
    # Alone, in any short slice or in another order, each row gets what it gets
    # in the whole, to float32's rounding: the estimator never mixes rows.
    X, y = small
    est = make(max_iter=2, random_state=0).fit(X, y)
    order = np.random.RandomState(0).permutation(len(X))
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for name, Xm in methods(est, X).items():
            method = getattr(est, name)
            whole = method(Xm)
            atol = FLOAT32_ORDER_RTOL * max(np.abs(Xm).max(), np.abs(whole).max())
            np.testing.assert_allclose(method(Xm[order]), whole[order], atol=atol)
            for start in (0, 5):
                for n in (1, 2, 3, 5, 7, 11, 13, 16, 17, 40):
                    part = method(Xm[start : start + n])
                    np.testing.assert_allclose(
                        part, whole[start : start + n], atol=atol, err_msg=name
                    )
    finally:
        torch.set_num_threads(before)


def test_short_batches_are_padded_with_zero_rows(make, small):
    # What keeps a short batch's rows bitwise those of a long one with MKL's
    # AVX-512 kernels (BaseNeuralEstimator._infer): the network never sees
    # fewer than 16 rows, the padding zeros, and only the real rows come back.
    X, y = small
    est = make(max_iter=1, random_state=0).fit(X, y)
    seen = []

    def double(Xb):
        seen.append(Xb.clone())
        return 2 * Xb

    for n in (1, 5, 15, 16, 17):
        Xt = torch.as_tensor(X[:n], dtype=torch.float32)
        seen.clear()
        out = est._infer(double, Xt)
        assert len(seen) == 1
        assert len(seen[0]) >= max(n, 16)
        assert torch.equal(seen[0][:n], Xt)
        assert not seen[0][n:].any()
        assert torch.equal(out, 2 * Xt)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64])
def test_dtype_float64_in_float64_out_float32_in_float32_out(make, small, dtype):
    X, y = small
    X = (X * 16).astype(dtype)
    est = make(max_iter=1, random_state=0).fit(X, y)
    expected = np.float32 if dtype == np.float32 else np.float64
    assert output(est, X).dtype == expected
    if hasattr(est, "inverse_transform"):
        assert est.inverse_transform(est.transform(X)).dtype == expected
        assert est.score_samples(X).dtype == expected


def test_pickle_and_clone_round_trip(make, small):
    X, y = small
    est = make(max_iter=2, random_state=0).fit(X, y)
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(output(est, X), output(restored, X))
    assert restored.n_iter_ == est.n_iter_ == 2
    fresh = clone(est)
    assert fresh.get_params() == est.get_params()
    with pytest.raises(NotFittedError):
        output(fresh, X)


def _with_nan(X):
    return np.where(X > 0.5, np.nan, X)


def _as_strings(X):
    return X.astype(str).astype(object) + "px"


@pytest.mark.parametrize(
    "bad, error, match",
    [
        (_with_nan, ValueError, "Input X contains NaN"),
        (
            lambda X: np.where(X > 0.5, np.inf, X),
            ValueError,
            "Input X contains infinity",
        ),
        (lambda X: X[:0], ValueError, "0 sample"),
        (lambda X: X[:, 0], ValueError, "Expected 2D array, got 1D array"),
        (_as_strings, ValueError, "could not convert"),
        (lambda X: X + 1j, ValueError, "Complex data not supported"),
    ],
    ids=["nan", "inf", "empty", "1d", "strings", "complex"],
)
def test_bad_input_clear_error_and_nothing_half_fitted(make, small, bad, error, match):
    X, y = small
    X_bad = bad(X)
    est = make(max_iter=1, random_state=0)
    if getattr(est, "_takes_tables", False) and bad in (_with_nan, _as_strings):
        # Missing cells and text make a table, which these estimators take: the
        # table tests check what they do with it.
        est.fit(X_bad, y[: X_bad.shape[0]])
        assert np.isfinite(output(est, X_bad)).all()
        return
    with pytest.raises(error, match=match):
        est.fit(X_bad, y[: X_bad.shape[0]])
    assert not any(k.endswith("_") for k in vars(est))
    with pytest.raises(NotFittedError):
        check_is_fitted(est)
    # A failed refit leaves the previous fit as it was.
    est.fit(X, y)
    before = output(est, X)
    with pytest.raises(error, match=match):
        est.fit(X_bad, y[: X_bad.shape[0]])
    np.testing.assert_array_equal(output(est, X), before)
    # And so does bad input at prediction time.
    with pytest.raises(error, match=match):
        output(est, X_bad)


def test_wrong_number_of_features_after_fit(make, small):
    X, y = small
    est = make(max_iter=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="X has 63 features, but .* is expecting 64"):
        output(est, X[:, 1:])
    with pytest.raises(ValueError, match="X has 63 features"):
        est.partial_fit(X[:, 1:], y)


def test_one_row_gets_the_checks_of_many(make, small):
    # A plain float array of one row skips scikit-learn's DataFrame checks
    # (skae._base.validate_rows); whatever is not one goes through them.
    pd = pytest.importorskip("pandas")
    X, y = small
    est = make(max_iter=1, random_state=0).fit(X, y)
    row = X[:1].copy()
    if not getattr(est, "_takes_tables", False):
        with pytest.raises(ValueError, match="Input X contains NaN"):
            output(est, np.where(row > 0.5, np.nan, row))
    with pytest.raises(ValueError, match="Input X contains infinity"):
        output(est, np.where(row > 0.5, np.inf, row))
    with pytest.raises(ValueError, match="X has 63 features, but .* is expecting 64"):
        output(est, row[:, 1:])
    counts = (16 * row).astype(np.int64)
    np.testing.assert_array_equal(output(est, counts), output(est, counts / 1.0))
    np.testing.assert_array_equal(output(est, row.tolist()), output(est, row))
    named = make(max_iter=1, random_state=0).fit(pd.DataFrame(X).add_prefix("px"), y)
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        output(named, row)


def test_a_few_dense_rows_skip_the_batched_path(make, small, monkeypatch):
    # Up to 16 rows through a small dense network take the NumPy path, not
    # _infer's padded torch batches; a convolutional network always takes those.
    X, y = small
    est = make(max_iter=1, random_state=0).fit(X, y)
    whole = output(est, X)
    seen = []
    infer = est._infer

    def spy(fn, Xt, *args):
        seen.append(len(Xt))
        return infer(fn, Xt, *args)

    monkeypatch.setattr(est, "_infer", spy)
    threads = torch.get_num_threads()
    atol = FLOAT32_ORDER_RTOL * max(np.abs(X).max(), np.abs(whole).max())
    for n in (1, 16, 17):
        np.testing.assert_allclose(output(est, X[:n]), whole[:n], atol=atol)
    assert seen == ([1, 16, 17] if make is FACTORIES["conv"] else [17])
    assert torch.get_num_threads() == threads


# One feature: the plain Autoencoder's wider code rightly warns.
@pytest.mark.filterwarnings("ignore:.*can learn the identity:UserWarning")
def test_single_sample_and_single_feature(make, small):
    X, y = small
    est = make(max_iter=2, random_state=0)
    assert output(est.fit(X[:1], y[:1]), X[:3]).shape[0] == 3
    assert output(est.fit(X[:, :1], y), X[:3, :1]).shape[0] == 3


def test_diverging_run_stops_with_an_error_and_keeps_nothing_broken(make, small):
    X, y = small
    est = make(solver="sgd", learning_rate_init=1e8, max_iter=20, random_state=0)
    with pytest.raises(
        FloatingPointError, match=r"diverged at epoch \d+.*learning_rate_init"
    ):
        est.fit(X, y)
    with pytest.raises(NotFittedError):
        check_is_fitted(est)
    # Continued training that diverges rolls back to the weights it started from.
    est.set_params(learning_rate_init=1e-3).fit(X, y)
    est.set_params(learning_rate_init=1e8)
    for _ in range(10):
        # Weights, not outputs: an epoch that ends with a finite loss can leave
        # weights so large that the outputs overflow, and those are refused.
        before = {k: v.clone() for k, v in est.net_.module_.state_dict().items()}
        n_epochs = len(est.loss_curve_)
        try:
            est.partial_fit(X, y)
        except FloatingPointError:
            break
    else:
        pytest.fail("training did not diverge")
    after = est.net_.module_.state_dict()
    assert all(torch.equal(after[k], v) for k, v in before.items())
    assert len(est.loss_curve_) == n_epochs
    assert all(torch.isfinite(p).all() for p in est.net_.module_.parameters())


def test_partial_fit_runs_one_epoch_and_keeps_weights(make, small):
    X, y = small
    est = make(random_state=0)
    kwargs = {"classes": np.unique(y)} if hasattr(est, "predict_proba") else {}
    est.partial_fit(X, y, **kwargs)
    first = est.net_.module_.state_dict()
    first = {k: v.clone() for k, v in first.items()}
    for n_epochs in range(2, 6):
        est.partial_fit(X, y)
        # As in scikit-learn: n_iter_ counts this call's epochs, loss_curve_ all.
        assert est.n_iter_ == 1
        assert len(est.loss_curve_) == n_epochs
        assert est.t_ == n_epochs * len(X)
    assert est.loss_curve_[-1] < est.loss_curve_[0]
    assert any(
        not torch.equal(v, est.net_.module_.state_dict()[k]) for k, v in first.items()
    )


def test_warm_start_continues_and_cold_start_restarts(make, small):
    X, y = small
    est = make(max_iter=4, warm_start=True, random_state=0).fit(X, y)
    curve = est.loss_curve_
    est.fit(X, y)
    assert est.n_iter_ == 4
    assert len(est.loss_curve_) == 8
    assert est.loss_curve_[:4] == curve
    assert est.loss_curve_[4] < curve[0]
    est.set_params(warm_start=False).fit(X, y)
    assert est.n_iter_ == 4
    assert est.loss_curve_ == curve
    est.set_params(warm_start=True, **{make.shape_param: (5,)})
    with pytest.raises(ValueError, match="cannot change the architecture"):
        est.fit(X, y)
    assert est.n_iter_ == 4


def test_stopping_rule_and_convergence_warning(make, small):
    X, y = small
    est = make(max_iter=50, tol=1e3, n_iter_no_change=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(X, y)
    # As in scikit-learn: the first epoch improves on an infinite loss, then
    # training stops after n_iter_no_change + 1 epochs without improvement.
    assert est.n_iter_ == 5
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(2\) reached"):
        make(max_iter=2, random_state=0).fit(X, y)


def test_early_stopping_attributes(make, small):
    X, y = small
    est = make(max_iter=6, random_state=0).fit(X, y)
    assert est.validation_scores_ is None and est.best_validation_score_ is None
    assert est.best_loss_ == min(est.loss_curve_)
    est = make(max_iter=6, early_stopping=True, random_state=0).fit(X, y)
    assert len(est.validation_scores_) == est.n_iter_ == 6
    assert est.best_validation_score_ == max(est.validation_scores_)
    assert est.best_loss_ is None
    # The best epoch's weights are kept.
    if hasattr(est, "predict_proba"):
        assert 0 < est.best_validation_score_ <= 1
    else:
        assert est.best_validation_score_ < 0


def test_validation_scores_are_taken_in_evaluation_mode(make, small, monkeypatch):
    # As predict and score: no input corruption, no dropout, no sampled code on
    # the held-out rows (they used to be scored in training mode).
    X, y = small
    est = make(early_stopping=True, max_iter=3, random_state=0)
    modes = []
    score_tensors = type(est)._score_tensors

    def spy(self, *args, **kwargs):
        modes.append(self.net_.module_.training)
        return score_tensors(self, *args, **kwargs)

    monkeypatch.setattr(type(est), "_score_tensors", spy)
    est.fit(X, y)
    assert modes == [False] * 3
    assert len(est.validation_scores_) == 3


def test_verbose_levels(make, small, capsys):
    X, y = small
    make(max_iter=2, random_state=0).fit(X, y)
    captured = capsys.readouterr()
    assert captured.out == captured.err == ""
    make(max_iter=2, random_state=0, verbose=1).fit(X, y)
    captured = capsys.readouterr()
    # scikit-learn's line per epoch, no table (tests/test_verbose.py: terminals,
    # pipes and progress bars).
    lines = captured.out.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("Iteration 1, loss = ")


def test_batch_size_larger_than_data_is_clipped_with_warning(make, small):
    X, y = small
    with pytest.warns(UserWarning, match="batch_size"):
        est = make(batch_size=10_000, max_iter=1, random_state=0).fit(X, y)
    assert est.net_.batch_size == len(X)


def test_invalid_parameters_are_rejected_at_fit(make, small):
    X, y = small
    with pytest.raises(ValueError, match="'solver' parameter"):
        make(solver="newton").fit(X, y)
    with pytest.raises(ValueError, match=f"{make.shape_param} must be"):
        make(**{make.shape_param: (8, 0)}).fit(X, y)


def test_pandas_in_keeps_feature_names(make, small):
    pd = pytest.importorskip("pandas")
    X, y = small
    df = pd.DataFrame(X, columns=[f"px {i}" for i in range(X.shape[1])])
    est = make(max_iter=1, random_state=0).fit(df, y)
    np.testing.assert_array_equal(est.feature_names_in_, df.columns)
    with pytest.warns(UserWarning, match="fitted with feature names"):
        output(est, X)


def test_cuda_requested_without_cuda(make, small):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    X, y = small
    with pytest.raises(ValueError, match="device='cuda' but"):
        make(device="cuda").fit(X, y)
    est = make(device="auto", max_iter=1, random_state=0).fit(X, y)
    assert est.net_.device == "cpu"


@pytest.mark.gpu
def test_cuda_matches_cpu(make, small):
    X, y = small
    cpu = make(max_iter=3, random_state=0).fit(X, y)
    gpu = make(max_iter=3, random_state=0, device="cuda").fit(X, y)
    assert gpu.net_.device == "cuda"
    assert output(gpu, X).dtype == np.float64
    # Different kernels and RNG streams: close, not equal.
    np.testing.assert_allclose(gpu.loss_curve_[0], cpu.loss_curve_[0], rtol=0.2)
    restored = pickle.loads(pickle.dumps(gpu))
    np.testing.assert_array_equal(output(gpu, X), output(restored, X))


@pytest.fixture(autouse=True)
def python_sigint_handler():
    """Python's own SIGINT handler, which the Ctrl-C tests are about.

    A process started in the background by a script (``nohup``, ``&``) inherits
    SIGINT ignored; Python then installs no handler, skae leaves the ignored
    signal alone, and a simulated Ctrl-C is lost (a suite started that way sat in
    the first Ctrl-C test until its fit ran out).
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def ctrl_c_when(condition):
    """Send the main thread one Ctrl-C (SIGINT, through Python's signal machinery)
    as soon as ``condition()`` holds, while the block runs."""
    done = threading.Event()
    sent = threading.Event()

    def interrupt():
        while not done.is_set():
            if condition():
                _thread.interrupt_main()
                sent.set()
                return
            done.wait(0.001)

    thread = threading.Thread(target=interrupt)
    thread.start()
    try:
        yield sent
    finally:
        done.set()
        thread.join()


def epochs_begun(est):
    net = getattr(est, "net_", None)
    return 0 if net is None else len(net.history)


def test_ctrl_c_keeps_the_last_complete_epoch(make, small):
    X, y = small
    # First a short fit: the first fit of a process imports parts of torch lazily.
    make(max_iter=1, random_state=0).fit(X, y)
    # Bounded, so that a lost Ctrl-C fails the test instead of hanging the suite.
    est = make(max_iter=5_000, n_iter_no_change=100_000, random_state=0)
    with ctrl_c_when(lambda: epochs_begun(est) >= 3) as sent:
        with pytest.warns(FitInterruptedWarning, match="interrupted"):
            est.fit(X, y)
    assert sent.is_set()
    assert 2 <= est.n_iter_ < 5_000  # epoch 3 had begun: at least 2 complete
    assert len(est.loss_curve_) == est.n_iter_
    # What it kept is exactly the fit that stops after those epochs.
    same = make(max_iter=est.n_iter_, n_iter_no_change=100_000, random_state=0)
    same.fit(X, y)
    np.testing.assert_array_equal(output(est, X), output(same, X))
    assert est.loss_curve_ == same.loss_curve_
    # And it is a usable fitted estimator: it continues training.
    est.partial_fit(X, y)
    assert len(est.loss_curve_) == len(same.loss_curve_) + 1
    assert np.isfinite(output(est, X)).all()


def test_ctrl_c_in_the_first_epoch_leaves_nothing_half_fitted(make, small):
    X, y = small
    X, y = np.repeat(X, 20, axis=0), np.repeat(y, 20)
    make(max_iter=1, random_state=0).fit(X[:50], y[:50])
    est = make(max_iter=5, batch_size=1, random_state=0)
    with ctrl_c_when(lambda: hasattr(est, "net_")) as sent:
        with pytest.raises(KeyboardInterrupt):
            est.fit(X, y)
    assert sent.is_set()
    with pytest.raises(NotFittedError):
        check_is_fitted(est)


def test_ctrl_c_in_a_continued_fit_keeps_the_previous_epochs(make, small):
    X, y = small
    X2, y2 = np.repeat(X, 20, axis=0), np.repeat(y, 20)
    est = make(max_iter=2, random_state=0).fit(X, y)
    before = output(est, X)
    est.set_params(warm_start=True, batch_size=1, max_iter=5)
    with ctrl_c_when(lambda: epochs_begun(est) == 3) as sent:
        with pytest.warns(FitInterruptedWarning):
            est.fit(X2, y2)
    assert sent.is_set()
    assert len(est.loss_curve_) == 2
    assert est.n_iter_ == 0  # no complete epoch in this call
    np.testing.assert_array_equal(output(est, X), before)


def test_second_ctrl_c_raises_at_once_and_handlers_are_restored(make, small):
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with _deferred_interrupts() as owner:
        assert owner
        signal.raise_signal(signal.SIGINT)  # the first only asks training to stop
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    # A handler of the user's own stays in place during fit: skae leaves it alone.
    X, y = small
    seen = []
    previous = signal.signal(signal.SIGINT, lambda *args: seen.append(args))
    try:
        with _deferred_interrupts() as owner:
            assert not owner
        make(max_iter=1, random_state=0).fit(X, y)
        assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
        signal.raise_signal(signal.SIGINT)
        assert len(seen) == 1
    finally:
        signal.signal(signal.SIGINT, previous)
