"""The pickled state of skae estimators is plain data: skops trusts only skae's
classes, whole pipelines round-trip through pickle, joblib and skops (also into a
second process), continued training, copies and rollback keep working, and a
version drift or a lost GPU warns."""

import copy
import io
import os
import pickle
import subprocess
import sys
import time
import warnings

import joblib
import numpy as np
import pytest
import skops.io as sio
import torch
from numpy.testing import assert_array_equal
from sklearn.base import BaseEstimator, clone
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import InconsistentVersionWarning as SklearnVersionWarning
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

import skae
from skae import Autoencoder, ConvAE, DenoisingAE, MLPClassifier, VariationalAE
from skae._state import InconsistentVersionWarning

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _ae(cls, sizes, **params):
    """An autoencoder whose encoder layers are ``sizes``, the last one the code.

    Bridges the autoencoders' signature change (the code size ``n_components``
    apart from ``hidden_layer_sizes``, and a linear code by default, under way);
    either works here. A ReLU code, so that an MLP's encoder= can take it.
    """
    defaults = cls().get_params()
    if "code_activation" in defaults:
        params = {"code_activation": "relu", **params}
    if "n_components" in defaults:
        return cls(sizes[-1], hidden_layer_sizes=sizes[:-1], **params)
    return cls(sizes, **params)


ESTIMATORS = {
    "denoising": lambda X: _ae(DenoisingAE, (8,), noise="mask", noise_level=0.3),
    "autoencoder-sgd": lambda X: _ae(Autoencoder, (8, 4), solver="sgd"),
    "conv": lambda X: ConvAE(channels=(4,)),
    "variational": lambda X: _ae(VariationalAE, (8, 2)),
    "mlp": lambda X: MLPClassifier((8,), solver="adagrad"),
    "mlp-encoder": lambda X: MLPClassifier(
        (8,), encoder=_ae(DenoisingAE, (8,), max_iter=2)
    ),
    "mlp-frozen-encoder": lambda X: MLPClassifier(
        (8,),
        encoder=FrozenEstimator(
            _ae(Autoencoder, (8,), max_iter=2, random_state=0).fit(X)
        ),
    ),
}
# What skops.io.get_untrusted_types lists for each: skae's public classes only.
SKAE_TYPES = {
    "denoising": ["skae._autoencoder.DenoisingAE"],
    "autoencoder-sgd": ["skae._autoencoder.Autoencoder"],
    "conv": ["skae._conv.ConvAE"],
    "variational": ["skae._vae.VariationalAE"],
    "mlp": ["skae._mlp.MLPClassifier"],
    "mlp-encoder": ["skae._autoencoder.DenoisingAE", "skae._mlp.MLPClassifier"],
    "mlp-frozen-encoder": ["skae._autoencoder.Autoencoder", "skae._mlp.MLPClassifier"],
}


def _fitted(name, small, max_iter=2):
    X, y = small
    est = ESTIMATORS[name](X).set_params(max_iter=max_iter, random_state=0)
    return est.fit(X, y)


def _outputs(est, X):
    """Every output of a fitted estimator or pipeline, as NumPy arrays."""
    out = {}
    for method in ("predict", "predict_proba", "transform", "score_samples"):
        if hasattr(est, method):
            out[method] = np.asarray(getattr(est, method)(X))
    if hasattr(est, "inverse_transform") and "transform" in out:
        out["inverse_transform"] = est.inverse_transform(out["transform"])
    if hasattr(est, "sample"):
        out["sample"] = est.sample(3, random_state=0)
    assert out
    return out


def _assert_same_outputs(a, b, X):
    out_a, out_b = _outputs(a, X), _outputs(b, X)
    assert out_a.keys() == out_b.keys()
    for key, value in out_a.items():
        assert value.dtype == out_b[key].dtype, key
        assert_array_equal(value, out_b[key], err_msg=key)


def _skops_round_trip(obj, path, expected_types, sklearn_types=()):
    """Dump and load with skops, checking the types it asks to trust."""
    sio.dump(obj, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert untrusted == sorted([*expected_types, *sklearn_types])
    return sio.load(path, trusted=untrusted)


# ------------------------------------------------------------- the state is data

_PLAIN = (str, int, float, bool, type(None))


def _assert_plain(value, where):
    """``value`` holds only plain data, NumPy arrays and skae/sklearn estimators."""
    if isinstance(value, _PLAIN):
        return
    if isinstance(value, np.ndarray):
        assert value.dtype != object or all(isinstance(v, str) for v in value.flat)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            assert isinstance(key, str | int), f"{where}: key {key!r}"
            _assert_plain(item, f"{where}.{key}")
        return
    if isinstance(value, list | tuple):
        assert type(value) in (list, tuple), f"{where}: a {type(value)}"
        for i, item in enumerate(value):
            _assert_plain(item, f"{where}[{i}]")
        return
    assert isinstance(value, BaseEstimator), f"{where}: a {type(value).__name__}"
    assert type(value).__module__.split(".")[0] in ("skae", "sklearn"), where
    _assert_plain(value.__getstate__(), f"{where}/")


@pytest.mark.parametrize("name", ESTIMATORS)
def test_state_is_plain_data(name, small):
    est = _fitted(name, small)
    state = est.__getstate__()
    _assert_plain(state, type(est).__name__)
    # vars(self), net_ replaced by its data, plus the versions; nothing else.
    dtypes = {k for k, v in vars(est).items() if isinstance(v, np.dtype)}
    assert state.keys() == {*vars(est), "_skae_versions"} - dtypes | (
        {"_skae_dtypes"} if dtypes else set()
    )
    assert set(state["net_"]) == {
        "version",
        "device",
        "module",
        "criterion",
        "optimizer",
        "history",
    }
    weights = est.net_.module_.state_dict()
    assert state["net_"]["module"].keys() == weights.keys()
    for key, value in weights.items():
        assert_array_equal(state["net_"]["module"][key], value.numpy())
    # A copy: later training does not change a state taken before it.
    before = {k: v.copy() for k, v in state["net_"]["module"].items()}
    est.partial_fit(*small)
    for key, value in before.items():
        assert_array_equal(state["net_"]["module"][key], value)
    # The estimator itself still holds its live net.
    assert type(est.net_).__module__.startswith("skorch")


class _RecordingUnpickler(pickle.Unpickler):
    """Unpickle, recording every global (class or function) the pickle names."""

    def __init__(self, data):
        super().__init__(io.BytesIO(data))
        self.names = set()

    def find_class(self, module, name):
        self.names.add(f"{module}.{name}")
        return super().find_class(module, name)


def test_pickle_names_no_torch_skorch_or_function(small):
    X, y = small
    mlp = ESTIMATORS["mlp-encoder"](X).set_params(max_iter=2, random_state=0)
    pipe = make_pipeline(StandardScaler(), mlp).fit(X, y)
    unpickler = _RecordingUnpickler(pickle.dumps(pipe))
    _assert_same_outputs(pipe, unpickler.load(), X)
    names = unpickler.names
    assert {n for n in names if n.startswith("skae.")} == {
        "skae._autoencoder.DenoisingAE",
        "skae._mlp.MLPClassifier",
    }
    others = {n for n in names if not n.startswith(("skae.", "sklearn."))}
    # NumPy's array reconstruction and copyreg's plain-object constructor only.
    assert others <= {
        "copyreg._reconstructor",
        "builtins.object",
        "numpy.ndarray",
        "numpy.dtype",
        "numpy._core.multiarray._reconstruct",
        "numpy._core.multiarray.scalar",
        "numpy.core.multiarray._reconstruct",
        "_codecs.encode",
    }, others


@pytest.mark.parametrize("name", ESTIMATORS)
def test_skops_lists_only_skae_classes_and_round_trips(name, small, tmp_path):
    est = _fitted(name, small)
    restored = _skops_round_trip(est, tmp_path / "m.skops", SKAE_TYPES[name])
    _assert_same_outputs(est, restored, small[0])
    assert restored.loss_curve_ == est.loss_curve_
    assert restored.n_iter_ == est.n_iter_


# --------------------------------------------------------------- whole pipelines


def _design_card_pipeline(small):
    X, y = small
    return Pipeline(
        [
            ("scale", StandardScaler()),
            ("dae", _ae(DenoisingAE, (16,), max_iter=3, random_state=0)),
            ("clf", LogisticRegression(max_iter=200)),
        ]
    ).fit(X, y)


def test_design_card_pipeline_through_skops_pickle_and_joblib(small, tmp_path):
    X, _ = small
    pipe = _design_card_pipeline(small)
    restored = _skops_round_trip(
        pipe, tmp_path / "p.skops", ["skae._autoencoder.DenoisingAE"]
    )
    _assert_same_outputs(pipe, restored, X)
    _assert_same_outputs(pipe, pickle.loads(pickle.dumps(pipe)), X)
    joblib.dump(pipe, tmp_path / "p.joblib")
    _assert_same_outputs(pipe, joblib.load(tmp_path / "p.joblib"), X)
    # Read-only memory-mapped arrays (joblib's mmap_mode) load as well.
    _assert_same_outputs(pipe, joblib.load(tmp_path / "p.joblib", mmap_mode="r"), X)


def test_composites_mixing_skae_and_sklearn_through_skops(small, tmp_path):
    X, y = small
    union = FeatureUnion(
        [
            (
                "code",
                _ae(VariationalAE, (8, 2), max_iter=2, random_state=0),
            ),
            ("conv", ConvAE(channels=(2,), max_iter=2, random_state=0)),
        ]
    )
    columns = ColumnTransformer(
        [("pixels", make_pipeline(StandardScaler(), union), slice(0, 64))]
    )
    search = GridSearchCV(
        make_pipeline(
            columns, MLPClassifier((4,), max_iter=2, random_state=0, encoder=None)
        ),
        {"mlpclassifier__hidden_layer_sizes": [(4,), (6,)]},
        cv=2,
    ).fit(X, y)
    restored = _skops_round_trip(
        search,
        tmp_path / "search.skops",
        ["skae._conv.ConvAE", "skae._mlp.MLPClassifier", "skae._vae.VariationalAE"],
        # A search result holds two of scikit-learn's own types that skops does
        # not trust by default, with or without skae in it.
        [
            "sklearn.metrics._scorer._PassthroughScorer",
            "sklearn.model_selection._split.StratifiedKFold",
        ],
    )
    _assert_same_outputs(search, restored, X)
    assert_array_equal(search.cv_results_["mean_test_score"],
                       restored.cv_results_["mean_test_score"])  # fmt: skip


_SECOND_PROCESS = """
import sys
import joblib, numpy as np, skops.io as sio
X = np.load(sys.argv[1])
skops = sio.load(sys.argv[2], trusted=sio.get_untrusted_types(file=sys.argv[2]))
pickled = joblib.load(sys.argv[3])
np.save(sys.argv[4], skops.predict_proba(X))
np.save(sys.argv[5], pickled.predict_proba(X))
np.save(sys.argv[6], skops[:-1].transform(X))
"""


def test_pipeline_loads_in_a_second_process(small, tmp_path):
    X, _ = small
    pipe = _design_card_pipeline(small)
    sio.dump(pipe, tmp_path / "p.skops")
    joblib.dump(pipe, tmp_path / "p.joblib")
    np.save(tmp_path / "X.npy", X)
    out = [tmp_path / f"{name}.npy" for name in ("skops", "joblib", "codes")]
    subprocess.run(
        [sys.executable, "-c", _SECOND_PROCESS, tmp_path / "X.npy",
         tmp_path / "p.skops", tmp_path / "p.joblib", *out],
        check=True,
    )  # fmt: skip
    assert_array_equal(np.load(out[0]), pipe.predict_proba(X))
    assert_array_equal(np.load(out[1]), pipe.predict_proba(X))
    assert_array_equal(np.load(out[2]), pipe[:-1].transform(X))


def test_skae_save_points_pipelines_to_skops(small, tmp_path):
    with pytest.raises(TypeError, match=r"Pipeline.*use skops: skops\.io\.dump"):
        skae.save(_design_card_pipeline(small), tmp_path / "p.skae")
    assert not os.listdir(tmp_path)


# ----------------------------------------------------- continued training, copies

ROUND_TRIPS = {
    "pickle": lambda est, path: pickle.loads(pickle.dumps(est)),
    "joblib": lambda est, path: (joblib.dump(est, path), joblib.load(path))[1],
    "skops": lambda est, path: sio.load(
        (sio.dump(est, path), path)[1], trusted=sio.get_untrusted_types(file=path)
    ),
}


@pytest.mark.parametrize("how", ROUND_TRIPS)
@pytest.mark.parametrize("name", ["mlp-encoder", "autoencoder-sgd", "variational"])
def test_training_continues_exactly_after_load(name, how, small, tmp_path):
    # The optimiser state travels: partial_fit and a warm-started fit after the
    # load give the bits of the estimator that was never saved.
    X, y = small
    est = _fitted(name, small)
    restored = ROUND_TRIPS[how](est, tmp_path / "m")
    est.partial_fit(X, y)
    restored.partial_fit(X, y)
    assert restored.loss_curve_ == est.loss_curve_
    _assert_same_outputs(est, restored, X)
    warm = ROUND_TRIPS[how](est, tmp_path / "m")
    for e in (est, warm):
        e.set_params(warm_start=True, max_iter=2).fit(X, y)
    assert warm.loss_curve_ == est.loss_curve_
    _assert_same_outputs(est, warm, X)


def test_state_saved_before_dtype_loads_in_float32(small):
    """A state without _compute_dtype_ (skae before the dtype parameter)."""
    X, y = small
    est = MLPClassifier((8,), max_iter=2, random_state=0).fit(X, y)
    state = est.__getstate__()
    del state["_compute_dtype_"]
    restored = MLPClassifier.__new__(MLPClassifier)
    restored.__setstate__(state)
    assert restored.net_.module_.output.weight.dtype == torch.float32
    np.testing.assert_array_equal(restored.predict_proba(X), est.predict_proba(X))


def test_state_pickled_with_integer_optimizer_keys_loads(small):
    """A state from skae before its net state was shared with ``skae.save``.

    Its optimiser state was keyed by integers (now strings, as JSON needs).
    """
    X, y = small
    est = _fitted("mlp", small)
    state = est.__getstate__()
    optimizer = state["net_"]["optimizer"]
    assert optimizer["state"] and all(isinstance(k, str) for k in optimizer["state"])
    optimizer["state"] = {int(k): v for k, v in optimizer["state"].items()}
    restored = object.__new__(MLPClassifier)
    restored.__setstate__(pickle.loads(pickle.dumps(state)))
    _assert_same_outputs(est, restored, X)
    est.partial_fit(X, y)
    restored.partial_fit(X, y)
    assert restored.loss_curve_ == est.loss_curve_
    _assert_same_outputs(est, restored, X)


def test_deepcopy_and_clone(small):
    X, y = small
    est = _fitted("mlp-encoder", small)
    copied = copy.deepcopy(est)
    _assert_same_outputs(est, copied, X)
    assert copied.net_ is not est.net_
    assert copied.encoder_.net_ is not est.encoder_.net_
    before = _outputs(est, X)
    copied.partial_fit(X, y)  # the copy trains alone
    for key, value in _outputs(est, X).items():
        assert_array_equal(value, before[key])
    cloned = clone(est)
    assert not hasattr(cloned, "net_")
    assert repr(cloned.get_params()) == repr(est.get_params())


def test_failed_fit_after_load_rolls_back(small):
    X, y = small
    restored = pickle.loads(pickle.dumps(_fitted("mlp", small)))
    before = _outputs(restored, X)
    n_iter, curve = restored.n_iter_, list(restored.loss_curve_)
    with pytest.raises(ValueError, match="features"):
        restored.partial_fit(X[:, :10], y)
    with pytest.raises(ValueError, match="classes"):
        restored.partial_fit(X, y + 20)
    assert restored.n_iter_ == n_iter and restored.loss_curve_ == curve
    for key, value in _outputs(restored, X).items():
        assert_array_equal(value, before[key])


def test_unfitted_estimator_pickles(tmp_path):
    est = MLPClassifier((3,), encoder=_ae(DenoisingAE, (3,)))
    state = est.__getstate__()
    assert "net_" not in state
    restored = _skops_round_trip(
        est,
        tmp_path / "u.skops",
        ["skae._autoencoder.DenoisingAE", "skae._mlp.MLPClassifier"],
    )
    assert repr(restored) == repr(est)
    assert not hasattr(restored, "net_")


# ---------------------------------------------------------- versions and devices


def _with_versions(est, **versions):
    state = est.__getstate__()
    state["_skae_versions"] = {**state["_skae_versions"], **versions}
    restored = object.__new__(type(est))
    return state, restored


@pytest.mark.parametrize(
    "package, version",
    [("skae", "0.99.0"), ("torch", "1.13.1"), ("scikit-learn", "1.2.0")],
)
def test_unpickling_with_another_minor_version_warns(package, version, small):
    est = _fitted("mlp", small)
    state, restored = _with_versions(est, **{package: version})
    with pytest.warns(InconsistentVersionWarning, match=f"{package} {version}"):
        restored.__setstate__(state)
    _assert_same_outputs(est, restored, small[0])
    # A filter on scikit-learn's own warning covers skae's.
    state, restored = _with_versions(est, **{package: version})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SklearnVersionWarning)
        restored.__setstate__(state)


def test_unpickling_with_another_patch_version_is_silent(small):
    est = _fitted("mlp", small)
    skae_version = skae.__version__.rsplit(".", 1)[0] + ".999"
    state, restored = _with_versions(est, skae=skae_version)
    restored.__setstate__(state)  # pytest turns any warning into an error
    _assert_same_outputs(est, restored, small[0])


def test_model_fitted_on_cuda_unpickles_on_the_cpu(small):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    X, y = small
    est = _fitted("mlp", small)
    expected = _outputs(est, X)
    # The state a model fitted with device="cuda" pickles, as data.
    est.set_params(device="cuda")
    state = est.__getstate__()
    state["net_"]["device"] = "cuda"
    restored = object.__new__(MLPClassifier)
    with pytest.warns(UserWarning, match="fitted on cuda.*now 'cpu'"):
        restored.__setstate__(state)
    assert restored.net_.device == "cpu" and restored.device == "cpu"
    for key, value in _outputs(restored, X).items():
        assert_array_equal(value, expected[key])
    restored.partial_fit(X, y)


def test_fit_time_warnings_are_not_repeated_on_load(small, tmp_path):
    # Three poolings take 8x8 digits to a 1x1 code: fit warns, loading does not.
    X, _ = small
    with pytest.warns(UserWarning, match="one position"):
        est = ConvAE(channels=(2, 2, 2), max_iter=1, random_state=0).fit(X)
    _assert_same_outputs(est, pickle.loads(pickle.dumps(est)), X)
    _assert_same_outputs(est, copy.deepcopy(est), X)
    skae.save(est, tmp_path / "conv.skae")
    _assert_same_outputs(est, skae.load(tmp_path / "conv.skae"), X)


def test_state_from_an_unknown_layout_is_a_clear_error(small):
    state = _fitted("mlp", small).__getstate__()
    state["net_"]["version"] = 99
    with pytest.raises(ValueError, match=r"state layout \(99\)"):
        object.__new__(MLPClassifier).__setstate__(state)


def test_unpickling_a_state_that_declares_a_huge_network_is_refused_quickly():
    X = np.random.RandomState(0).rand(20, 4)
    y = np.arange(20) % 2
    est = MLPClassifier((3,), max_iter=2, random_state=0).fit(X, y)
    state = est.__getstate__()
    state["hidden_layer_sizes"] = (10**9,)
    fresh = MLPClassifier.__new__(MLPClassifier)
    start = time.perf_counter()
    with pytest.raises(ValueError):
        fresh.__setstate__(state)
    assert time.perf_counter() - start < 5
