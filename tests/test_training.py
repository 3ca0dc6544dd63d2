"""The training loop's listeners: stopping, schedule, rollback, Ctrl-C, events."""

import threading
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from skorch.history import History

import skae._interrupts as interrupts
from skae import MLPClassifier, MLPRegressor
from skae._interrupts import _Interrupted
from skae._listeners import (
    InterruptCheck,
    LearningRateSchedule,
    RollbackCheckpoint,
    StoppingRule,
    TrainingListener,
    training_state,
)
from skae._threads import _flushing_denormals
from skae._training import TrainingLoop
from skae.nn.data import make_dataset


def _est(**params):
    defaults = {
        "tol": 0.1,
        "n_iter_no_change": 2,
        "learning_rate": "constant",
        "learning_rate_init": 0.01,
        "power_t": 0.5,
        "verbose": 0,
    }
    return SimpleNamespace(**{**defaults, **params})


def _loop_with(history_rows):
    history = History()
    for row in history_rows:
        history.new_epoch()
        for key, value in row.items():
            history.record(key, value)
    return SimpleNamespace(net=SimpleNamespace(history=history), stop=False)


def _epochs(rule, loop, rows):
    """Feed ``rows`` to ``rule`` one epoch at a time; return the epoch it stopped."""
    rule.on_fit_begin(loop)
    for i, row in enumerate(rows, 1):
        loop.net.history.new_epoch()
        for key, value in row.items():
            loop.net.history.record(key, value)
        rule.on_epoch_end(loop)
        if loop.stop:
            return i
    return None


def test_stopping_rule_counts_epochs_without_tol_improvement():
    est, state = _est(), training_state()
    rule = StoppingRule(
        est, state, LearningRateSchedule(est, state), early_stopping=False
    )
    loop = _loop_with([])
    # 1.0, then 0.95 and 0.92 (less than tol=0.1 below the best), 0.5 (an
    # improvement resets the count), then three epochs without: stop at the third.
    losses = [1.0, 0.95, 0.92, 0.5, 0.45, 0.44, 0.43, 0.1]
    stopped = _epochs(rule, loop, [{"train_loss": v} for v in losses])
    assert stopped == 7
    assert rule.converged
    assert state["best"] == pytest.approx(0.43)
    assert state["no_improvement"] == 3


def test_stopping_rule_keeps_the_best_validation_weights():
    est, state = _est(), training_state()
    rule = StoppingRule(
        est, state, LearningRateSchedule(est, state), early_stopping=True
    )
    module = torch.nn.Linear(2, 1)
    loop = _loop_with([])
    loop.net.module_ = module
    rule.on_fit_begin(loop)
    for epoch, score in enumerate([0.5, 0.9, 0.7], 1):
        with torch.no_grad():
            module.weight.fill_(epoch)
        loop.net.history.new_epoch()
        loop.net.history.record("valid_score", score)
        rule.on_epoch_end(loop)
    loop.completed = True
    rule.on_fit_end(loop)
    assert torch.all(module.weight == 2)  # the weights of the 0.9 epoch
    assert state["best"] == 0.9


@pytest.mark.parametrize(
    "schedule, t, expected",
    [("constant", 1000, 0.01), ("invscaling", 99, 0.01 / 100**0.5)],
)
def test_learning_rate_schedule_values(schedule, t, expected):
    state = {**training_state(), "t": t}
    lr = LearningRateSchedule(_est(learning_rate=schedule), state).learning_rate()
    assert lr == pytest.approx(expected)


def test_adaptive_schedule_divides_by_five_until_it_is_tiny():
    est, state = (
        _est(learning_rate="adaptive", learning_rate_init=1e-5),
        training_state(),
    )
    schedule = LearningRateSchedule(est, state)
    optimizer = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=1.0)
    loop = SimpleNamespace(net=SimpleNamespace(optimizer_=optimizer), n_samples=10)
    schedule.on_epoch_begin(loop)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(1e-5)
    assert not schedule.trigger_stopping(loop, "no improvement.")
    schedule.on_epoch_end(loop)
    assert state["t"] == 10
    schedule.on_epoch_begin(loop)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(2e-6)
    # As scikit-learn's SGDOptimizer: the rate that ran (2e-6) is above 1e-6,
    # so it is divided once more; at 4e-7 the rule stops.
    assert not schedule.trigger_stopping(loop, "no improvement.")
    schedule.on_epoch_begin(loop)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(4e-7)
    assert schedule.trigger_stopping(loop, "no improvement.")


def _net(small):
    X, y = small
    return MLPClassifier((8,), max_iter=2, random_state=0).fit(X, y).net_


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_rollback_checkpoint_restores_weights_optimizer_history_and_state(small):
    net = _net(small)
    state = training_state()
    checkpoint = RollbackCheckpoint(net, state)
    checkpoint.on_fit_begin(None)
    weights = {k: v.clone() for k, v in net.module_.state_dict().items()}
    step = net.optimizer_.state_dict()["state"][0]["step"].clone()
    n_epochs = len(net.history)
    # One more epoch's changes, then Ctrl-C.
    with torch.no_grad():
        for p in net.module_.parameters():
            p.add_(1.0)
    for s in net.optimizer_.state.values():
        s["step"] += 1
    net.history.new_epoch()
    state.update(best=0.1, no_improvement=3, t=999)
    assert checkpoint.restore()
    for key, value in net.module_.state_dict().items():
        assert torch.equal(value, weights[key])
    assert torch.equal(net.optimizer_.state_dict()["state"][0]["step"], step)
    assert len(net.history) == n_epochs
    assert state == training_state()


def test_rollback_checkpoint_without_a_complete_epoch_restores_nothing():
    net = SimpleNamespace(
        module_=torch.nn.Linear(2, 1),
        optimizer_=torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1),
        history=History(),
    )
    checkpoint = RollbackCheckpoint(net, training_state())
    checkpoint.on_fit_begin(None)
    assert not checkpoint.restore()


class _Recorder(TrainingListener):
    """Logs the events it hears; presses Ctrl-C at a given batch."""

    def __init__(self, ctrl_c_at=None):
        self.events, self.batches, self.ctrl_c_at = [], 0, ctrl_c_at

    def on_fit_begin(self, loop):
        self.events.append("fit_begin")

    def on_epoch_begin(self, loop):
        self.events.append("epoch_begin")

    def on_batch_end(self, loop, batch, loss):
        self.batches += 1
        assert torch.isfinite(loss)
        if self.batches == self.ctrl_c_at:
            interrupts._interrupt.set()

    def on_epoch_end(self, loop):
        self.events.append("epoch_end")

    def on_fit_end(self, loop):
        self.events.append(f"fit_end completed={loop.completed}")


@pytest.fixture
def ctrl_c_flag(monkeypatch):
    """The flag a Ctrl-C sets while a fit owns SIGINT, without touching SIGINT."""
    assert threading.current_thread() is threading.main_thread()
    monkeypatch.setattr(interrupts, "_interrupt", threading.Event())


def _loop(net, X, listeners, **kwargs):
    net.batch_size = 50
    return TrainingLoop(
        net, make_dataset(torch.as_tensor(X, dtype=torch.float32)), listeners, **kwargs
    )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_loop_tells_listeners_of_each_event_in_order(small):
    X, _ = small
    net = _net(small)
    recorder = _Recorder()

    def loss(net, Xb, yb, wb):
        return net.module_(Xb).square().mean()

    loop = _loop(net, X, [recorder], batch_loss=loss).run(2)
    assert recorder.events == [
        "fit_begin",
        *["epoch_begin", "epoch_end"] * 2,
        "fit_end completed=True",
    ]
    assert recorder.batches == 2 * 6  # 300 rows in batches of 50
    assert loop.completed and not loop.interrupted
    assert not net.module_.training


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_interrupt_check_stops_between_batches_and_rolls_back(small, ctrl_c_flag):
    X, _ = small
    net = _net(small)
    recorder = _Recorder(ctrl_c_at=8)  # the second batch of the second epoch

    def loss(net, Xb, yb, wb):
        return net.module_(Xb).square().mean()

    checkpoint = RollbackCheckpoint(net, training_state())
    n_epochs = len(net.history)
    loop = _loop(
        net,
        X,
        [recorder, InterruptCheck(), checkpoint],
        checkpoint=checkpoint,
        batch_loss=loss,
    )
    # The first epoch's end (6 batches) has no history row to save: record one.
    loop.listeners.insert(0, _NewEpochRow())
    loop.run(5)
    assert loop.interrupted and loop.completed
    assert recorder.batches == 8  # stopped right after the batch that saw Ctrl-C
    assert recorder.events.count("epoch_end") == 1
    assert len(net.history) == n_epochs + 1  # the complete epoch is kept


class _NewEpochRow(TrainingListener):
    def on_epoch_begin(self, loop):
        loop.net.history.new_epoch()


def test_interrupt_check_without_checkpoint_raises_keyboard_interrupt(ctrl_c_flag):
    interrupts._interrupt.set()
    with pytest.raises(_Interrupted):
        InterruptCheck().on_batch_end(None, None, None)
    net = SimpleNamespace(
        module_=torch.nn.Linear(4, 4),
        criterion_=torch.nn.MSELoss(),
        batch_size=2,
        device="cpu",
        history=History(),
    )
    net.optimizer_ = torch.optim.SGD(net.module_.parameters(), lr=0.1)

    def get_iterator(dataset, training):
        return iter([(torch.zeros(2, 4),)] * 3)

    net.get_iterator = get_iterator
    loop = TrainingLoop(
        net,
        make_dataset(torch.zeros(6, 4)),
        [InterruptCheck()],
        batch_loss=lambda net, Xb, yb, wb: net.module_(Xb).square().mean(),
    )
    with pytest.raises(KeyboardInterrupt):
        loop.run(3)
    assert not loop.completed
    np.testing.assert_equal(net.module_.training, False)


@pytest.mark.parametrize("caller_flushes", [False, True], ids=["caller-off", "on"])
def test_fit_and_predict_restore_the_callers_denormal_setting(small, caller_flushes):
    X, y = small
    torch.set_flush_denormal(caller_flushes)
    try:
        est = MLPClassifier((8,), max_iter=2, random_state=0)
        with pytest.warns(ConvergenceWarning):
            est.fit(X, y)
        assert _flushing_denormals() == caller_flushes
        est.predict(X)
        assert _flushing_denormals() == caller_flushes
    finally:
        torch.set_flush_denormal(False)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_training_flushes_weights_that_decay_into_denormals():
    # Column 0 is always zero: weight decay alone moves its weights, halving
    # them at each step (SGD, lr * alpha / batch_size = 0.5), from twice
    # float32's smallest normal into the denormal range, where they are flushed.
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(200, 4))
    X[:, 0] = 0.0
    y = X[:, 1] - X[:, 2]
    est = MLPRegressor(
        hidden_layer_sizes=(8,),
        solver="sgd",
        momentum=0.0,
        learning_rate_init=0.5,
        alpha=200.0,
        batch_size=200,
        max_iter=4,
        tol=0.0,
        warm_start=True,
        random_state=0,
    ).fit(X, y)
    with torch.no_grad():
        est.net_.module_.hidden[0].weight[:, 0] = 2 * torch.finfo(torch.float32).tiny
    est.fit(X, y)
    assert np.all(np.isfinite(est.coefs_[0]))
    # Decayed and never denormal: flushed to zero, or held at the smallest normal
    # where the kernel computes w - lr * alpha' * w and flushes the product (torch's
    # scalar kernels, ATEN_CPU_CAPABILITY=default) instead of w * (1 - lr * alpha').
    w = np.abs(est.coefs_[0][0])
    tiny = np.finfo(np.float32).tiny
    assert np.all((w == 0.0) | (w >= tiny)), w
    assert np.all(w < 2 * tiny)
    assert np.all(np.isfinite(est.predict(X)))
