"""skae.save / skae.load, pickle and joblib: round trips, continued training, and a
clear error for every kind of damaged or foreign file."""

import copyreg
import errno
import hashlib
import io
import json
import os
import pickle
import subprocess
import sys
import time
import warnings
import zipfile

import joblib
import numpy as np
import pandas as pd
import pytest
import skops.io
import torch
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.utils.validation import check_is_fitted

import skae
from skae import (
    Autoencoder,
    ConvAE,
    DenoisingAE,
    MLPClassifier,
    VariationalAE,
    load,
    save,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _labels(y):
    return np.array(["zero", "one", "two", "three", "four", "five", "six", "seven",
                     "eight", "nine"])[y]  # fmt: skip


CASES = {
    "autoencoder": (
        lambda: Autoencoder(
            4, hidden_layer_sizes=(8,), code_activation="relu", pretrain_max_iter=1
        ),
        "int",
    ),
    "denoising": (
        lambda: DenoisingAE(
            8,
            hidden_layer_sizes=(),
            code_activation="relu",
            noise="mask",
            noise_level=0.3,
        ),
        "int",
    ),
    "variational": (lambda: VariationalAE(2, hidden_layer_sizes=(8,)), "int"),
    "conv": (lambda: ConvAE(channels=(4,)), "int"),
    "mlp": (lambda: MLPClassifier((8,), dropout=0.2), "int"),
    "mlp-encoder-str-labels": (
        lambda: MLPClassifier(
            (8,),
            encoder=DenoisingAE(
                8, hidden_layer_sizes=(), code_activation="relu", max_iter=2
            ),
        ),
        "str",
    ),
    "mlp-object-str-labels": (lambda: MLPClassifier((8,)), "object"),
    "mlp-frozen-encoder": (
        lambda: MLPClassifier(
            (8,),
            encoder=FrozenEstimator(
                Autoencoder(
                    8, hidden_layer_sizes=(), code_activation="relu", max_iter=2
                ).fit(_X())
            ),
        ),
        "int",
    ),
    "autoencoder-sgd-no-momentum": (
        lambda: Autoencoder(
            8, hidden_layer_sizes=(), code_activation="relu", solver="sgd", momentum=0.0
        ),
        "int",
    ),
    "denoising-adagrad": (
        lambda: DenoisingAE(
            8, hidden_layer_sizes=(), code_activation="relu", solver="adagrad"
        ),
        "int",
    ),
    "mlp-early-stopping": (
        lambda: MLPClassifier((8,), early_stopping=True, n_iter_no_change=1),
        "int",
    ),
    "autoencoder-pandas-set-output": (
        lambda: Autoencoder(8, hidden_layer_sizes=(), code_activation="relu"),
        "pandas",
    ),
    "mlp-pandas": (lambda: MLPClassifier((8,)), "pandas"),
    "mlp-float64": (lambda: MLPClassifier((8,), dtype="float64"), "int"),
}


def _X():
    from sklearn.datasets import load_digits

    return load_digits().data[:200] / 16


def _fit(name, small, max_iter=3):
    make, kind = CASES[name]
    X, y = small
    est = make().set_params(max_iter=max_iter, random_state=0)
    if kind == "str":
        y = _labels(y)
    elif kind == "object":
        y = _labels(y).astype(object)
    elif kind == "pandas":
        X = pd.DataFrame(X, columns=[f"pixel {i}" for i in range(X.shape[1])])
    if name == "autoencoder-pandas-set-output":
        est.set_output(transform="pandas")
    return est.fit(X, y), X, y


def outputs(est, X):
    """Every output a fitted estimator gives, as NumPy arrays."""
    if hasattr(est, "predict_proba"):
        out = {
            "predict": est.predict(X),
            "predict_proba": est.predict_proba(X),
            "predict_log_proba": est.predict_log_proba(X),
        }
    else:
        Z = est.transform(X)
        out = {
            "transform": np.asarray(Z),
            "inverse_transform": est.inverse_transform(np.asarray(Z)),
            "score_samples": est.score_samples(X),
        }
        if hasattr(est, "sample"):
            out["sample"] = est.sample(5, random_state=0)
    return out


def assert_same_outputs(a, b, X):
    out_a, out_b = outputs(a, X), outputs(b, X)
    assert out_a.keys() == out_b.keys()
    for key in out_a:
        assert out_a[key].dtype == out_b[key].dtype, key
        assert_array_equal(out_a[key], out_b[key], err_msg=key)


def assert_same_fitted_state(a, b):
    assert type(a) is type(b)
    assert repr(a.get_params()) == repr(b.get_params())
    assert a.loss_curve_ == b.loss_curve_
    assert a.n_iter_ == b.n_iter_
    assert a.best_loss_ == b.best_loss_
    assert a.validation_scores_ == b.validation_scores_
    assert a.n_features_in_ == b.n_features_in_
    for attr in ("classes_", "feature_names_in_"):
        if hasattr(a, attr):
            assert_array_equal(getattr(a, attr), getattr(b, attr))
            assert getattr(a, attr).dtype == getattr(b, attr).dtype
    assert a.net_.module_.training is False and b.net_.module_.training is False


def _round_trip_skae(est, tmp_path):
    path = tmp_path / "model.skae"
    save(est, path)
    return load(path)


def _round_trip_skops(est, tmp_path):
    path = tmp_path / "model.skops"
    skops.io.dump(est, path)
    types = skops.io.get_untrusted_types(file=path)
    # Only skae's estimators (FrozenEstimator is scikit-learn's, which skops trusts).
    assert types and all(t.startswith("skae.") for t in types), types
    return skops.io.load(path, trusted=types)


ROUND_TRIPS = {
    "skae": _round_trip_skae,
    "skops": _round_trip_skops,
    "pickle": lambda est, tmp_path: pickle.loads(pickle.dumps(est)),
    "joblib": lambda est, tmp_path: (
        joblib.dump(est, tmp_path / "model.joblib"),
        joblib.load(tmp_path / "model.joblib"),
    )[1],
}


@pytest.mark.parametrize("how", ROUND_TRIPS, ids=ROUND_TRIPS.keys())
@pytest.mark.parametrize("name", CASES, ids=CASES.keys())
def test_round_trip_gives_identical_outputs(name, how, small, tmp_path):
    est, X, _ = _fit(name, small)
    restored = ROUND_TRIPS[how](est, tmp_path)
    assert_same_fitted_state(est, restored)
    assert_same_outputs(est, restored, X)
    if name == "autoencoder-pandas-set-output":
        # set_output's configuration travels with the estimator.
        Z = restored.transform(X)
        assert isinstance(Z, pd.DataFrame)
        assert list(Z.columns) == list(est.transform(X).columns)
    if name == "mlp-encoder-str-labels":
        assert_same_outputs(est.encoder_, restored.encoder_, X)


DTYPE_CASES = {
    "lbfgs-float64-input": ({"solver": "lbfgs"}, np.float64, torch.float64),
    "lbfgs-float32-input": ({"solver": "lbfgs"}, np.float32, torch.float32),
    "adam-dtype-float64": ({"dtype": "float64"}, np.float64, torch.float64),
    "adam-float64-input": ({}, np.float64, torch.float32),
}


@pytest.mark.parametrize("how", ROUND_TRIPS, ids=ROUND_TRIPS.keys())
@pytest.mark.parametrize("case", DTYPE_CASES, ids=DTYPE_CASES.keys())
def test_round_trip_keeps_the_model_dtype(case, how, small, tmp_path):
    params, x_dtype, net_dtype = DTYPE_CASES[case]
    X, y = small
    X = X.astype(x_dtype)
    est = MLPClassifier((8,), max_iter=3, random_state=0, **params).fit(X, y)
    restored = ROUND_TRIPS[how](est, tmp_path)
    for model in (est, restored):
        assert {p.dtype for p in model.net_.module_.parameters()} == {net_dtype}
        assert model.coefs_[0].dtype == x_dtype
    assert_same_outputs(est, restored, X)


@pytest.mark.parametrize("name", CASES, ids=CASES.keys())
def test_partial_fit_after_load_continues_exactly(name, small, tmp_path):
    est, X, y = _fit(name, small)
    restored = _round_trip_skae(est, tmp_path)
    if est.early_stopping:  # partial_fit refuses it, as scikit-learn's does
        est.set_params(early_stopping=False)
        restored.set_params(early_stopping=False)
    # The optimiser state travels too, so one more epoch gives the same weights.
    est.partial_fit(X, y)
    restored.partial_fit(X, y)
    assert restored.n_iter_ == est.n_iter_
    assert len(restored.loss_curve_) == 4
    assert restored.loss_curve_ == est.loss_curve_
    assert_same_outputs(est, restored, X)


def test_unfitted_estimator_round_trip(tmp_path):
    est = MLPClassifier(
        (3, 2),
        encoder=DenoisingAE(2, hidden_layer_sizes=(3,), code_activation="relu"),
        batch_size=7,
    )
    restored = _round_trip_skae(est, tmp_path)
    assert repr(restored.get_params()) == repr(est.get_params())
    assert isinstance(restored.get_params()["hidden_layer_sizes"], tuple)
    with pytest.raises(NotFittedError):
        check_is_fitted(restored)
    assert repr(clone(restored)) == repr(est)


def test_save_to_file_object_and_loading_leaves_global_rng_alone(small):
    est, X, _ = _fit("mlp", small)
    buffer = io.BytesIO()
    save(est, buffer)
    state = torch.get_rng_state()
    restored = load(io.BytesIO(buffer.getvalue()))
    assert torch.equal(torch.get_rng_state(), state)
    assert_same_outputs(est, restored, X)


def test_save_overwrites_atomically(small, tmp_path):
    est, X, _ = _fit("autoencoder", small)
    path = tmp_path / "model.skae"
    path.write_bytes(b"old")
    save(est, path)
    assert os.listdir(tmp_path) == ["model.skae"]  # no temporary file left
    assert_same_outputs(est, load(path), X)


@pytest.fixture
def tiny_filesystem(tmp_path):
    """A 64 KiB tmpfs; skipped where mounting one is not allowed (not root)."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount_point)],
        capture_output=True,
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)


def test_save_on_a_full_disk_leaves_the_old_file_whole(small, tiny_filesystem):
    est, X, _ = _fit("mlp", small)
    path = tiny_filesystem / "model.skae"
    save(est, path)
    big = Autoencoder(8, hidden_layer_sizes=(512,), max_iter=1, random_state=0)
    big.fit(X)  # about 1 MB of weights and Adam state: more than the disk holds
    with pytest.raises(OSError) as info:
        save(big, path)
    assert info.value.errno == errno.ENOSPC
    assert os.listdir(tiny_filesystem) == ["model.skae"]  # no temporary file left
    assert_same_outputs(est, load(path), X)


@pytest.mark.parametrize(
    "est, match",
    [
        (
            Autoencoder(random_state=np.random.RandomState(0)),
            "random_state.*RandomState",
        ),
        (MLPClassifier(encoder=object.__new__(type("Foo", (), {}))), "encoder: a Foo"),
    ],
    ids=["randomstate", "foreign-object"],
)
def test_save_refuses_what_json_cannot_hold(est, match, tmp_path):
    with pytest.raises(TypeError, match=match):
        save(est, tmp_path / "x.skae")
    assert not os.listdir(tmp_path)


def test_save_refuses_foreign_estimators_and_object_labels(small, tmp_path):
    from sklearn.decomposition import PCA

    with pytest.raises(TypeError, match="skae's estimators only.*PCA"):
        save(PCA(), tmp_path / "x.skae")
    X, y = small
    # scikit-learn itself accepts object labels only when they are strings; an
    # object array of anything else (set here by hand) cannot be stored as JSON.
    est = MLPClassifier((4,), max_iter=1, random_state=0).fit(X, y)
    est.classes_ = est.classes_.astype(object)
    with pytest.raises(TypeError, match="classes_: an object array"):
        save(est, tmp_path / "x.skae")


# --------------------------------------------------------------- damaged files


@pytest.fixture
def saved(small, tmp_path):
    est, X, _ = _fit("mlp", small)
    path = tmp_path / "model.skae"
    save(est, path)
    return path


def _rewrite(path, change, compression=zipfile.ZIP_STORED):
    """Rewrite the zip with ``change(members)`` applied, CRCs recomputed."""
    with zipfile.ZipFile(path) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    change(members)
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def _nest_header(members):
    """Give the header a value nested 100,000 lists deep (json.dumps cannot)."""
    header = json.loads(members["header.json"])
    header["estimator"]["params"]["verbose"] = "NESTED"
    text = json.dumps(header).replace('"NESTED"', "[" * 100_000 + "]" * 100_000)
    members["header.json"] = text.encode()
    digest = hashlib.sha256(members["header.json"]).hexdigest()
    members["header.json.sha256"] = digest.encode()


def _edit_header(members, edit, rehash=True):
    header = json.loads(members["header.json"])
    edit(header)
    members["header.json"] = json.dumps(header).encode()
    if rehash:
        digest = hashlib.sha256(members["header.json"]).hexdigest()
        members["header.json.sha256"] = digest.encode()


def _flip_weight_byte(members):
    data = bytearray(members["weights.safetensors"])
    data[-3] ^= 0xFF
    members["weights.safetensors"] = bytes(data)


def _set(header, keys, value):
    node = header
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value


def _rehash_weights(members):
    _edit_header(
        members,
        lambda h: _set(
            h,
            ["sha256", "weights.safetensors"],
            hashlib.sha256(members["weights.safetensors"]).hexdigest(),
        ),
    )


def _lying_safetensors(members):
    # A safetensors header that declares a 10^12-value tensor in a few bytes.
    header = json.dumps(
        {"module.hidden.0.weight": {"dtype": "F32", "shape": [10**6, 10**6],
                                    "data_offsets": [0, 4 * 10**12]}}
    ).encode()  # fmt: skip
    members["weights.safetensors"] = len(header).to_bytes(8, "little") + header
    _rehash_weights(members)


def _extra_tensor(members, name="optimizer.state.99.exp_avg", where=None):
    """Add a tensor to the weights; name it in the net's state at ``where``."""
    import safetensors.torch

    tensors = safetensors.torch.load(members["weights.safetensors"])
    tensors[name] = torch.zeros(8)
    members["weights.safetensors"] = safetensors.torch.save(tensors)
    if where is not None:
        _edit_header(
            members,
            lambda h: _set(
                h, ["estimator", "fitted", "net", *where], {"__tensor__": name}
            ),
        )
    _rehash_weights(members)


def _net_path(*keys):
    """The path to ``keys`` in the header's net state (each dict is tagged)."""
    return [step for key in keys for step in ("__dict__", key)]


def _swap_weights(members):
    import safetensors.torch

    tensors = safetensors.torch.load(members["weights.safetensors"])
    tensors["module.hidden.0.weight"] = torch.zeros(3, 3)
    members["weights.safetensors"] = safetensors.torch.save(tensors)


DAMAGE = {
    "not-a-zip": (
        lambda p: p.write_bytes(b"\x80\x04 not a skae file"),
        "not a skae file .*not a zip",
    ),
    "other-zip": (
        lambda p: zipfile.ZipFile(p, "w").writestr("a.txt", "hi"),
        "not a skae file: it has no header.json",
    ),
    "truncated": (
        lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),
        "not a skae file .*truncated",
    ),
    "flipped-byte": (
        lambda p: p.write_bytes(
            (lambda b: b[:200] + bytes([b[200] ^ 0xFF]) + b[201:])(p.read_bytes())
        ),
        "corrupted|SHA-256|not a skae file",
    ),
    "tampered-weights": (
        lambda p: _rewrite(p, _flip_weight_byte),
        "weights.safetensors fails its SHA-256 check",
    ),
    "tampered-header": (
        lambda p: _rewrite(
            p,
            lambda m: _edit_header(
                m, lambda h: _set(h, ["estimator", "params", "max_iter"], 5), False
            ),
        ),
        "header.json fails its SHA-256 check",
    ),
    "newer-version": (
        lambda p: _rewrite(
            p, lambda m: _edit_header(m, lambda h: _set(h, ["format_version"], 3))
        ),
        "format version 3; .* reads versions 1 to 2. Upgrade skae",
    ),
    "other-format": (
        lambda p: _rewrite(
            p, lambda m: _edit_header(m, lambda h: _set(h, ["format"], "pickle"))
        ),
        "not a skae file",
    ),
    "unknown-class": (
        lambda p: _rewrite(
            p,
            lambda m: _edit_header(
                m, lambda h: _set(h, ["estimator", "class"], "os.system")
            ),
        ),
        "names the class 'os.system', which is not one of skae's",
    ),
    "shape-mismatch": (
        lambda p: _rewrite(
            p,
            lambda m: (
                _swap_weights(m),
                _edit_header(
                    m,
                    lambda h: _set(
                        h,
                        ["sha256", "weights.safetensors"],
                        hashlib.sha256(m["weights.safetensors"]).hexdigest(),
                    ),
                ),
            ),
        ),
        "(?s)weights saved for MLPClassifier do not fit its architecture"
        ".*size mismatch",
    ),
    "invalid-parameter": (
        lambda p: _rewrite(
            p,
            lambda m: _edit_header(
                m, lambda h: _set(h, ["estimator", "params", "activation"], "os.system")
            ),
        ),
        "The 'activation' parameter of MLPClassifier must be",
    ),
    "lying-safetensors-header": (
        lambda p: _rewrite(p, _lying_safetensors),
        "the entry for 'module.hidden.0.weight' .* does not fit the data",
    ),
    "stray-optimizer-tensor": (
        lambda p: _rewrite(
            p,
            lambda m: _extra_tensor(
                m, where=_net_path("optimizer", "state", "99", "exp_avg")
            ),
        ),
        "optimiser state saved for MLPClassifier does not fit it: optimizer.99",
    ),
    "stray-criterion-tensor": (
        lambda p: _rewrite(
            p,
            lambda m: _extra_tensor(
                m, "criterion.evil", where=_net_path("criterion", "evil")
            ),
        ),
        "weights saved for MLPClassifier do not fit its architecture: "
        "unexpected criterion.evil",
    ),
    "unnamed-tensor": (
        lambda p: _rewrite(p, _extra_tensor),
        "holds tensors the header does not name: optimizer.state.99.exp_avg",
    ),
    "tensor-named-outside-the-net": (
        lambda p: _rewrite(
            p,
            lambda m: _edit_header(
                m,
                lambda h: _set(
                    h,
                    ["estimator", "fitted", "attributes", "n_iter_"],
                    {"__tensor__": "module.output.bias"},
                ),
            ),
        ),
        "names a tensor 'module.output.bias' that no weights hold",
    ),
    "compressed-member": (
        lambda p: _rewrite(p, lambda m: None, zipfile.ZIP_DEFLATED),
        "members are compressed",
    ),
    "header-nested-too-deeply": (
        lambda p: _rewrite(p, _nest_header),
        "nests too deeply|not valid JSON",
    ),
    "unknown-parameter": (
        lambda p: _rewrite(
            p,
            lambda m: _edit_header(
                m, lambda h: _set(h, ["estimator", "params", "evil"], 1)
            ),
        ),
        "parameters saved for MLPClassifier do not fit it",
    ),
}


@pytest.mark.parametrize("damage", DAMAGE, ids=DAMAGE.keys())
def test_damaged_file_gives_a_clear_error(saved, damage):
    spoil, match = DAMAGE[damage]
    spoil(saved)
    with pytest.raises(ValueError, match=match):
        load(saved)


# Parameters and fitted attributes that make the saved 64 -> 8 -> 10 MLP declare a
# network of about 10^12 weights (4 TB in float32) in a file of a few kilobytes.
HUGE = {
    "wide": {"hidden_layer_sizes": {"__tuple__": [10**6]}, "n_features_in_": 10**6},
    "deep": {"hidden_layer_sizes": {"__tuple__": [10**4] * 10**5}},
    "many-features": {"n_features_in_": 10**11},
}


def _declare(header, changes):
    node = header["estimator"]
    for key, value in changes.items():
        where = node["fitted"]["attributes"] if key.endswith("_") else node["params"]
        where[key] = value


@pytest.mark.parametrize("how", HUGE)
def test_load_refuses_a_huge_declared_network_quickly(saved, how):
    _rewrite(saved, lambda m: _edit_header(m, lambda h: _declare(h, HUGE[how])))
    assert saved.stat().st_size < 2_000_000
    start = time.perf_counter()
    with pytest.raises(ValueError, match="declare a network of|lists 100,000 entries"):
        load(saved)
    # Described on PyTorch's meta device, never allocated: milliseconds.
    assert time.perf_counter() - start < 1


def test_check_tensors_accepts_what_save_wrote_and_refuses_the_rest(small):
    from skae._state import check_net_state, check_tensors

    est, _, _ = _fit("mlp", small)
    state = est.__getstate__()["net_"]
    check_net_state(est, state)  # what pickle wrote fits
    found = {
        f"module.{k}": (tuple(v.shape), v.dtype)
        for k, v in est.net_.module_.state_dict().items()
    }
    check_tensors(est, found, budget=10**6)
    with pytest.raises(ValueError, match="more than the 100 bytes"):
        check_tensors(est, found, budget=100)
    for key, change, match in [
        ("module.output.bias", ((11,), torch.float32), "size mismatch for output"),
        ("module.output.bias", ((10,), torch.int64), "is I64, not floating"),
        ("module.extra", ((1,), torch.float32), "unexpected extra"),
        ("optimizer.4.exp_avg", ((10,), torch.float32), "optimizer.4.exp_avg"),
        ("optimizer.0.exp_avg", ((7, 7), torch.float32), "optimizer.0.exp_avg"),
    ]:
        with pytest.raises(ValueError, match=match):
            check_tensors(est, {**found, key: change}, budget=10**6)
    with pytest.raises(ValueError, match="missing output.bias"):
        check_tensors(est, {k: v for k, v in found.items() if "output.bias" not in k})


# ----------------------------------------------------- damaged pickled states


class _Tampered:
    """Pickles as ``est`` whose state went through ``change`` first."""

    def __init__(self, est, change):
        self.est, self.change = est, change

    def __reduce_ex__(self, protocol):
        state = dict(self.est.__getstate__())
        state["net_"] = dict(state["net_"])
        self.change(state)
        # How pickle rebuilds any object: object.__new__, then __setstate__.
        return (copyreg._reconstructor, (type(self.est), object, None), state)


def _set_net(key, value):
    return lambda state: state["net_"].__setitem__(key, value)


def _swap_array(state):
    state["net_"]["module"] = {
        **state["net_"]["module"],
        "hidden.0.weight": np.zeros((3, 3), np.float32),
    }


PICKLE_DAMAGE = {
    "wrong-version": (_set_net("version", 99), ValueError, "state layout \\(99\\)"),
    "not-a-state": (_set_net("version", None), ValueError, "state layout \\(None\\)"),
    "swapped-tensors": (_swap_array, ValueError, "size mismatch for hidden.0"),
}


@pytest.mark.parametrize("damage", PICKLE_DAMAGE, ids=PICKLE_DAMAGE.keys())
def test_damaged_pickled_state_gives_a_clear_error(damage, small):
    from skae._state import check_net_state

    change, error, match = PICKLE_DAMAGE[damage]
    est, _, _ = _fit("mlp", small)
    payload = pickle.dumps(_Tampered(est, change))
    with pytest.raises(error, match=match):
        pickle.loads(payload)
    if damage == "swapped-tensors":
        state = est.__getstate__()
        _swap_array(state)
        with pytest.raises(ValueError, match="size mismatch for hidden.0.weight"):
            check_net_state(est, state["net_"])


def test_check_net_state_refuses_a_huge_declared_network_quickly(small):
    from skae._state import check_net_state

    est, _, _ = _fit("mlp", small)
    state = est.__getstate__()["net_"]
    est.set_params(hidden_layer_sizes=(10**6,))
    est.n_features_in_ = 10**6
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"need \(1000000, 1000000\)"):
        check_net_state(est, state)
    assert time.perf_counter() - start < 1


def test_damaged_pickle_bytes_give_an_error_or_an_estimator(small):
    # A pickle carries no checksum: a truncated one fails in pickle itself, and a
    # flipped byte fails to load or, inside the weights' bytes, silently loads
    # other weights. skae.save's SHA-256 sums catch both (test above).
    est, X, _ = _fit("mlp", small)
    payload = pickle.dumps(est)
    for cut in (1, len(payload) // 3, len(payload) // 2, len(payload) - 1):
        with pytest.raises((pickle.UnpicklingError, EOFError, ValueError)):
            pickle.loads(payload[:cut])
    expected = est.predict_proba(X)
    rng = np.random.default_rng(0)
    outcomes = {"error": 0, "same": 0, "changed": 0}
    for position in rng.choice(len(payload), size=40, replace=False):
        damaged = bytearray(payload)
        damaged[position] ^= 0xFF
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                loaded = pickle.loads(bytes(damaged))
            proba = loaded.predict_proba(X)
        except Exception:  # any error is a refusal; nothing crashed or hung
            outcomes["error"] += 1
            continue
        same = proba.shape == expected.shape and np.array_equal(proba, expected)
        outcomes["same" if same else "changed"] += 1
    assert sum(outcomes.values()) == 40 and outcomes["error"] > 0, outcomes


def test_load_on_missing_cuda_is_a_clear_error(saved):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ValueError, match="device='cuda' but"):
        load(saved, device="cuda")
    with pytest.raises(ValueError, match="device must be"):
        load(saved, device="tpu")


def test_file_claiming_cuda_loads_on_cpu(small, tmp_path):
    # A model whose device parameter is "cuda", as one fitted on a GPU has: the
    # default load puts it on the CPU and points the parameter there, so that
    # partial_fit runs on a machine without CUDA.
    est, X, y = _fit("mlp", small)
    expected = outputs(est, X)
    est.set_params(device="cuda")
    path = tmp_path / "gpu.skae"
    save(est, path)
    restored = load(path)
    assert restored.net_.device == "cpu"
    assert restored.get_params()["device"] == "cpu"
    for key, value in outputs(restored, X).items():
        assert_array_equal(value, expected[key])
    restored.partial_fit(X, y)
    assert len(restored.loss_curve_) == 4


_CPU_ONLY_LOAD = """
import pickle, sys
import numpy as np, torch
import skae
assert not torch.cuda.is_available()
X = np.load(sys.argv[1])
for est in (skae.load(sys.argv[2]), pickle.load(open(sys.argv[3], "rb"))):
    assert est.net_.device == "cpu", est.net_.device
    np.save(sys.argv[4], est.predict_proba(X))
"""


@pytest.mark.gpu
def test_model_fitted_on_gpu_loads_on_a_cpu_only_machine(small, tmp_path):
    X, y = small
    gpu = MLPClassifier((8,), max_iter=3, random_state=0, device="cuda").fit(X, y)
    assert gpu.net_.device == "cuda"
    path = tmp_path / "gpu.skae"
    save(gpu, path)
    # On the GPU machine itself: bit-identical on the device it was fitted on.
    assert_array_equal(load(path, device="cuda").predict_proba(X), gpu.predict_proba(X))
    with open(tmp_path / "gpu.pkl", "wb") as f:
        pickle.dump(gpu, f)
    np.save(tmp_path / "X.npy", X)
    subprocess.run(
        [sys.executable, "-c", _CPU_ONLY_LOAD, str(tmp_path / "X.npy"), str(path),
         str(tmp_path / "gpu.pkl"), str(tmp_path / "out.npy")],
        env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},
        check=True,
    )  # fmt: skip
    # Other kernels on the CPU: close, not equal.
    np.testing.assert_allclose(
        np.load(tmp_path / "out.npy"), gpu.predict_proba(X), atol=1e-5
    )


def _with_versions(path, **versions):
    _rewrite(
        path,
        lambda m: _edit_header(m, lambda h: h["versions"].update(versions)),
    )


@pytest.mark.parametrize(
    "package, version",
    [("skae", "0.99.0"), ("torch", "1.13.1"), ("scikit-learn", "2.0.0")],
)
def test_load_warns_on_version_drift(package, version, small, tmp_path):
    from skae._state import InconsistentVersionWarning

    est, X, _ = _fit("mlp", small)
    path = tmp_path / "model.skae"
    save(est, path)
    _with_versions(path, **{package: version})
    with pytest.warns(InconsistentVersionWarning, match=f"{package} {version}"):
        restored = load(path)
    assert_same_outputs(est, restored, X)


def test_load_is_silent_on_patch_drift_and_other_libraries(saved):
    torch_patch = ".".join(torch.__version__.split(".")[:2]) + ".99"
    _with_versions(saved, torch=torch_patch, numpy="0.1.0", skorch="0.1.0")
    load(saved)  # pytest turns any warning into an error


def test_header_records_versions(saved):
    with zipfile.ZipFile(saved) as zf:
        header = json.loads(zf.read("header.json"))
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())
    assert header["format"] == "skae" and header["format_version"] == 2
    assert header["versions"]["skae"] == skae.__version__
    assert header["versions"]["torch"] == torch.__version__
    assert header["estimator"]["class"] == "MLPClassifier"
    assert header["estimator"]["params"]["hidden_layer_sizes"] == {"__tuple__": [8]}


# ------------------------------------------------ one codec, and format 1 still read

DATA = os.path.join(os.path.dirname(__file__), "data")


def _table():
    """A small table with a categorical column, and its data for the file tests."""
    rng = np.random.RandomState(0)
    X = rng.rand(30, 5)
    y = np.array(["a", "b", "c"])[np.arange(30) % 3]
    frame = pd.DataFrame({"x": X[:, 0], "z": X[:, 1], "c": pd.Categorical(y)})
    return X, y, frame


def _flat_arrays(value, path=""):
    """The arrays in a net's state by their place in it, as a skae file names them."""
    if isinstance(value, np.ndarray):
        return {path: value}
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list | tuple):
        items = ((f"[{i}]", v) for i, v in enumerate(value))
    else:
        return {}
    out = {}
    for key, item in items:
        sep = "" if key.startswith("[") or not path else "."
        out.update(_flat_arrays(item, f"{path}{sep}{key}"))
    return out


def test_file_holds_the_state_pickle_holds(tmp_path):
    # One codec: skae.save writes skae._state.net_state's data, the criterion's
    # state (a table's column map) included; the arrays go to safetensors.
    import safetensors.numpy

    from skae._state import net_state

    _, _, frame = _table()
    est = Autoencoder(2, hidden_layer_sizes=(), max_iter=2, random_state=0)
    est.fit(frame)
    state = net_state(est.net_)
    assert state["criterion"]  # a table's criterion has buffers
    path = tmp_path / "table.skae"
    save(est, path)
    with zipfile.ZipFile(path) as zf:
        stored = safetensors.numpy.load(zf.read("weights.safetensors"))
        header = json.loads(zf.read("header.json"))
    expected = _flat_arrays(state)
    assert stored.keys() == expected.keys()
    assert {k for k in stored if k.startswith("criterion.")} == {
        f"criterion.{k}" for k in state["criterion"]
    }
    for key, value in expected.items():
        assert stored[key].dtype == value.dtype, key
        assert_array_equal(stored[key], value, err_msg=key)
    assert header["estimator"]["fitted"]["net"]["__dict__"]["version"] == 1
    restored = load(path)
    for key, value in restored.net_.criterion_.state_dict().items():
        assert_array_equal(value.numpy(), state["criterion"][key])
    assert_array_equal(restored.transform(frame), est.transform(frame))
    assert_array_equal(restored.score_samples(frame), est.score_samples(frame))


def test_damaged_criterion_state_gives_a_clear_error(tmp_path):
    import safetensors.numpy

    _, _, frame = _table()
    est = Autoencoder(2, hidden_layer_sizes=(), max_iter=1, random_state=0)
    path = tmp_path / "table.skae"
    save(est.fit(frame), path)

    def swap(members):
        tensors = safetensors.numpy.load(members["weights.safetensors"])
        tensors["criterion.numeric_outputs"] = np.zeros(7, np.int64)
        members["weights.safetensors"] = safetensors.numpy.save(tensors)
        _rehash_weights(members)

    _rewrite(path, swap)
    with pytest.raises(ValueError, match="size mismatch for criterion.numeric_out"):
        load(path)


@pytest.mark.parametrize("name", ["mlp", "table"])
def test_file_of_format_1_loads(name, tmp_path):
    """Files written by skae's format 1, before the net's state was one codec.

    ``tests/data/format_v1_*.skae`` were written by skae 0.1.0 (commit 9412bf5)
    with ``save`` on the estimators below, and ``format_v1.npz`` holds their
    outputs then.
    """
    import safetensors.numpy

    X, y, frame = _table()
    path = os.path.join(DATA, f"format_v1_{name}.skae")
    with zipfile.ZipFile(path) as zf:
        assert json.loads(zf.read("header.json"))["format_version"] == 1
        stored = safetensors.numpy.load(zf.read("weights.safetensors"))
    expected = np.load(os.path.join(DATA, "format_v1.npz"))
    est = load(path)
    # The weights and optimiser state come back exactly; the outputs within
    # rounding (this machine's kernels may differ from those that wrote them).
    for key, value in est.net_.module_.state_dict().items():
        assert_array_equal(value.numpy(), stored[f"module.{key}"])
    for index, entries in est.net_.optimizer_.state_dict()["state"].items():
        for key, value in entries.items():
            assert_array_equal(value.numpy(), stored[f"optimizer.{index}.{key}"])
    if name == "mlp":
        # MLPClassifier((3,), encoder=DenoisingAE(3, hidden_layer_sizes=(),
        # code_activation="relu", max_iter=2), max_iter=2, random_state=0)
        np.testing.assert_allclose(est.predict_proba(X), expected["mlp_proba"],
                                   rtol=1e-6, atol=1e-7)  # fmt: skip
        np.testing.assert_allclose(est.encoder_.transform(X), expected["mlp_code"],
                                   rtol=1e-6, atol=1e-7)  # fmt: skip
        data = (X, y)
        assert_same_outputs(est, _round_trip_skae(est, tmp_path), X)
    else:
        # Autoencoder(2, hidden_layer_sizes=(), max_iter=2, random_state=0) on a
        # table: format 1 held no criterion state, which the parameters rebuild.
        fresh = Autoencoder(2, hidden_layer_sizes=(), max_iter=2, random_state=0)
        fresh.fit(frame)
        for key, value in fresh.net_.criterion_.state_dict().items():
            assert_array_equal(est.net_.criterion_.state_dict()[key], value)
        np.testing.assert_allclose(est.transform(frame), expected["table_code"],
                                   rtol=1e-6, atol=1e-7)  # fmt: skip
        np.testing.assert_allclose(est.score_samples(frame), expected["table_score"],
                                   rtol=1e-6, atol=1e-7)  # fmt: skip
        data = (frame,)
        again = _round_trip_skae(est, tmp_path)
        assert_array_equal(again.transform(frame), est.transform(frame))
    # Saved again (above), it is a file of the current format that loads the
    # same; and training goes on from the loaded optimiser state.
    est.partial_fit(*data)
    assert len(est.loss_curve_) == 3
