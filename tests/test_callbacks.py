"""scikit-learn's callbacks (``set_callbacks``) on every skae estimator."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.callback import ScoringMonitor
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skae import (
    Autoencoder,
    AutoencoderOutlierDetector,
    ConvAE,
    DenoisingAE,
    MLPClassifier,
    MLPRegressor,
    VariationalAE,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

FAST = {"max_iter": 4, "random_state": 0}
ESTIMATORS = {
    "MLPClassifier": MLPClassifier(hidden_layer_sizes=(16,), **FAST),
    "MLPClassifier-lbfgs": MLPClassifier(
        hidden_layer_sizes=(16,), solver="lbfgs", **FAST
    ),
    "MLPRegressor": MLPRegressor(hidden_layer_sizes=(16,), **FAST),
    "Autoencoder": Autoencoder(n_components=4, hidden_layer_sizes=(16,), **FAST),
    "DenoisingAE": DenoisingAE(n_components=4, hidden_layer_sizes=(16,), **FAST),
    "ConvAE": ConvAE((8, 8), channels=(4, 2), **FAST),
    "VariationalAE": VariationalAE(n_components=2, hidden_layer_sizes=(16,), **FAST),
}


class Recorder:
    """A callback that records the task tree: ``(event, task_name, depth)``.

    Auto-propagated (``max_propagation_depth``), as scikit-learn's ProgressBar,
    so that meta-estimators hand it to the estimators they fit. ``stop_after``
    epochs, its end hook asks to stop.
    """

    max_propagation_depth = None

    def __init__(self, stop_after=None):
        self.stop_after = stop_after
        self.events = []
        self.contexts = []
        self.fitted = []

    def setup(self, estimator, context):
        self.events.append(("setup", type(estimator).__name__, None))

    def teardown(self, estimator, context):
        self.events.append(("teardown", type(estimator).__name__, None))

    def on_fit_task_begin(self, estimator, context):
        self.events.append(("begin", context.task_name, _depth(context)))
        self.contexts.append(context)

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        self.events.append(("end", context.task_name, _depth(context)))
        if context.task_name == "epoch" and fitted_estimator is not None:
            self.fitted.append(fitted_estimator)
            n_epochs = len(self.fitted)
            return self.stop_after is not None and n_epochs >= self.stop_after
        return False

    def epochs(self, event="end"):
        return [e for e in self.events if e[0] == event and e[1] == "epoch"]


def _depth(context):
    depth = 0
    while context.parent is not None:
        context, depth = context.parent, depth + 1
    return depth


def _data(name, small):
    X, y = small
    if name.startswith("MLPRegressor"):
        return X, y.astype(float)
    if name.startswith("MLP"):
        return X, y
    return X, None


def _weights(est):
    return [p.detach().clone() for p in est.net_.module_.parameters()]


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_estimator_set_callbacks_one_task_per_epoch(name, small):
    X, y = _data(name, small)
    recorder = Recorder()
    est = clone(ESTIMATORS[name]).set_callbacks(recorder)
    assert est.fit(X, y) is est

    events = recorder.events
    assert events[0] == ("setup", type(est).__name__, None)
    assert events[1] == ("begin", "fit", 0)
    assert events[-2] == ("end", "fit", 0)
    assert events[-1] == ("teardown", type(est).__name__, None)
    # One sub-task per epoch (L-BFGS: per iteration, and an empty one after the
    # last, as LogisticRegression's), every begin with its end.
    assert len(recorder.epochs()) == len(recorder.epochs("begin"))
    assert all(depth == 1 for _, _, depth in recorder.epochs())
    assert len(recorder.fitted) == est.n_iter_ >= 1
    # No callback state is left on the fitted estimator.
    assert not hasattr(est, "_callback_fit_ctx")


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_estimator_callbacks_do_not_change_the_fit(name, small):
    X, y = _data(name, small)
    plain = clone(ESTIMATORS[name]).fit(X, y)
    watched = clone(ESTIMATORS[name]).set_callbacks(Recorder())
    if y is not None:
        scoring = "r2" if name.startswith("MLPRegressor") else "accuracy"
        watched.set_callbacks(Recorder(), ScoringMonitor(scoring=scoring))
    watched.fit(X, y)
    for a, b in zip(_weights(plain), _weights(watched), strict=True):
        assert torch.equal(a, b)
    assert plain.loss_curve_ == watched.loss_curve_


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_estimator_fitted_estimator_is_the_model_at_that_epoch(name, small):
    X, y = _data(name, small)
    recorder = Recorder()
    est = clone(ESTIMATORS[name]).set_callbacks(recorder).fit(X, y)
    first, last = recorder.fitted[0], recorder.fitted[-1]
    method = "predict" if y is not None else "transform"
    # The last epoch's model is the fitted one; the first one's was kept as it
    # was then, not changed by the epochs after it.
    np.testing.assert_array_equal(getattr(last, method)(X), getattr(est, method)(X))
    assert first.net_ is not est.net_
    assert not first.net_.module_.training
    if est.n_iter_ > 1:
        assert any(
            not torch.equal(a, b)
            for a, b in zip(_weights(first), _weights(est), strict=True)
        )


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_mlp_scoring_monitor_records_one_score_per_epoch(cls, solver, small):
    X, y = small
    scoring = "accuracy" if cls is MLPClassifier else "r2"
    monitor = ScoringMonitor(scoring=scoring)
    est = cls(hidden_layer_sizes=(16,), solver=solver, max_iter=5, random_state=0)
    est.set_callbacks(monitor).fit(X, y)
    log = monitor.get_logs().data_as_pandas
    epochs = log[log["task_name"] == "epoch"]
    assert len(epochs) == est.n_iter_
    assert epochs[scoring].notna().all()
    # The fit task's row scores the fitted estimator.
    (fit_score,) = log.loc[log["task_name"] == "fit", scoring]
    assert fit_score == pytest.approx(est.score(X, y))
    if cls is MLPClassifier:
        assert epochs[scoring].between(0, 1).all()


def test_autoencoder_scoring_monitor_has_no_target_to_score(small):
    # scikit-learn's ScoringMonitor scores only fits given a y: it logs the
    # epochs of an autoencoder, without a score.
    X, _ = small
    monitor = ScoringMonitor(scoring="r2")
    ae = Autoencoder(n_components=4, hidden_layer_sizes=(16,), **FAST)
    ae.set_callbacks(monitor).fit(X)
    log = monitor.get_logs().data_as_pandas
    assert (log["task_name"] == "epoch").sum() == ae.n_iter_
    assert "r2" not in log


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_mlp_callback_stops_training(solver, small):
    X, y = small
    clf = MLPClassifier(hidden_layer_sizes=(16,), solver=solver, max_iter=50)
    clf.set_params(random_state=0).set_callbacks(Recorder(stop_after=3))
    with warnings.catch_warnings():
        # A callback's stop is no failure to converge.
        warnings.simplefilter("error", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.n_iter_ == len(clf.loss_curve_) == 3


def test_mlp_partial_fit_is_one_task_of_one_epoch(small):
    X, y = small
    recorder = Recorder()
    clf = MLPClassifier(hidden_layer_sizes=(16,), random_state=0)
    clf.set_callbacks(recorder).partial_fit(X, y, classes=np.unique(y))
    clf.partial_fit(X, y)
    assert [e[:2] for e in recorder.events if e[0] in ("begin", "end")] == [
        ("begin", "fit"),
        ("begin", "epoch"),
        ("end", "epoch"),
        ("end", "fit"),
    ] * 2


def test_estimator_set_callbacks_refuses_a_non_callback():
    with pytest.raises(TypeError, match="FitCallback"):
        MLPClassifier().set_callbacks(object())
    with pytest.raises(TypeError, match="FitCallback"):
        Autoencoder().set_callbacks(Recorder)


def test_mlp_callbacks_in_pipeline(small):
    X, y = small
    recorder = Recorder()
    monitor = ScoringMonitor(scoring="accuracy")
    clf = MLPClassifier(hidden_layer_sizes=(16,), **FAST).set_callbacks(monitor)
    pipe = make_pipeline(StandardScaler(), clf).set_callbacks(recorder)
    pipe.fit(X, y)
    # The pipeline's final-estimator task is the classifier's fit task.
    assert len(recorder.epochs()) == clf.n_iter_
    assert all(depth == 2 for _, _, depth in recorder.epochs())
    assert ("setup", "Pipeline", None) in recorder.events
    assert ("setup", "MLPClassifier", None) not in recorder.events
    log = monitor.get_logs().data_as_pandas
    assert (log["task_name"] == "epoch").sum() == clf.n_iter_
    # The propagated callback is taken back from the classifier.
    assert getattr(clf, "_skl_callbacks", []) == [monitor]


def test_autoencoder_callbacks_in_grid_search(small):
    X, y = small
    recorder = Recorder()
    ae = Autoencoder(n_components=4, hidden_layer_sizes=(16,), **FAST)
    search = GridSearchCV(
        ae, {"max_iter": [2, 3]}, cv=2, n_jobs=1, error_score="raise"
    ).set_callbacks(recorder)
    search.fit(X)
    # 2 candidates x 2 folds, then the refit of the best.
    n_epochs = 2 * (2 + 3) + search.best_params_["max_iter"]
    assert len(recorder.epochs()) == n_epochs
    assert len(recorder.fitted) == n_epochs
    assert recorder.events[0] == ("setup", "GridSearchCV", None)
    assert [e for e in recorder.events if e[0] == "setup"] == [recorder.events[0]]


def test_mlp_scoring_monitor_in_grid_search(small):
    X, y = small
    monitor = ScoringMonitor(scoring="accuracy")
    clf = MLPClassifier(hidden_layer_sizes=(16,), **FAST).set_callbacks(monitor)
    search = GridSearchCV(clf, {"alpha": [1e-4, 1e-2]}, cv=2, n_jobs=1)
    search.fit(X, y)
    log = monitor.get_logs().data_as_pandas
    # Each of the 2 x 2 fits and the refit: FAST's 4 epochs, a score for each.
    epochs = log[log["task_name"] == "epoch"]
    assert len(epochs) == 5 * 4
    assert epochs["accuracy"].notna().all()


def test_outlier_detector_propagates_callbacks(small):
    X, _ = small
    recorder = Recorder()
    detector = AutoencoderOutlierDetector(
        Autoencoder(n_components=4, hidden_layer_sizes=(16,), max_iter=3),
        random_state=0,
    ).set_callbacks(recorder)
    detector.fit(X)
    # The detector's "fit-estimator" task is the autoencoder's fit task.
    root, inner = recorder.contexts[:2]
    assert (root.estimator_name, root.task_name) == (
        "AutoencoderOutlierDetector",
        "fit",
    )
    assert (inner.estimator_name, inner.task_name) == ("Autoencoder", "fit")
    assert inner.source_task_name == "fit-estimator" and inner.parent is root
    assert len(recorder.epochs()) == detector.estimator_.n_iter_ == 3
    assert all(depth == 2 for _, _, depth in recorder.epochs())
    assert [e for e in recorder.events if e[0] == "setup"] == [
        ("setup", "AutoencoderOutlierDetector", None)
    ]
    assert not hasattr(detector.estimator_, "_skl_callbacks")
    # The semi-supervised path fits another class of autoencoder.
    recorder = Recorder()
    labels = np.full(len(X), -1)
    labels[:5] = 1
    detector.set_callbacks(recorder).fit(X, labels)
    assert len(recorder.epochs()) == 3


def test_estimators_progress_bar_runs(small):
    pytest.importorskip("rich")
    from sklearn.callback import ProgressBar

    X, y = small
    clf = MLPClassifier(hidden_layer_sizes=(16,), **FAST)
    plain = clone(clf).fit(X, y)
    clf.set_callbacks(ProgressBar()).fit(X, y)
    for a, b in zip(_weights(plain), _weights(clf), strict=True):
        assert torch.equal(a, b)
    ae = Autoencoder(n_components=4, hidden_layer_sizes=(16,), max_iter="auto")
    make_pipeline(StandardScaler(), ae).set_callbacks(ProgressBar()).fit(X)
    GridSearchCV(
        MLPClassifier(hidden_layer_sizes=(16,), solver="lbfgs", **FAST),
        {"alpha": [1e-4, 1e-2]},
        cv=2,
    ).set_callbacks(ProgressBar(max_propagation_depth=None)).fit(X, y)
    AutoencoderOutlierDetector(
        DenoisingAE(n_components=4, hidden_layer_sizes=(16,), max_iter=2),
        random_state=0,
    ).set_callbacks(ProgressBar()).fit(X)


@pytest.mark.parametrize("cls", [MLPClassifier, Autoencoder])
def test_estimator_validation_loss_curve(cls, small):
    X, y = small
    y = y if cls is MLPClassifier else None
    params = {"hidden_layer_sizes": (16,), "max_iter": 6, "random_state": 0}
    if cls is Autoencoder:
        params["n_components"] = 4
    est = cls(**params, early_stopping=True, n_iter_no_change=50).fit(X, y)
    curve = est.validation_loss_curve_
    assert len(curve) == len(est.validation_scores_) == est.n_iter_ == 6
    assert np.isfinite(curve).all() and min(curve) > 0
    # Training loss on held-out rows: it falls as the training loss does.
    assert curve[-1] < curve[0]
    est.set_params(warm_start=True, max_iter=2).fit(X, y)
    assert len(est.validation_loss_curve_) == len(est.loss_curve_) == 8
    assert est.validation_loss_curve_[:6] == curve
    est = cls(**params).fit(X, y)
    assert est.validation_loss_curve_ is None
