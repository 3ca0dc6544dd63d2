"""The pickled state of a skae estimator: plain data, the skorch net rebuilt on load.

``pickle``, ``joblib``, ``copy.deepcopy`` and ``skops.io`` all go through
``__getstate__`` / ``__setstate__``. The state is the estimator's ``vars`` with
``net_`` replaced by data: the module's and the criterion's ``state_dict`` and
the optimiser's tensors as NumPy arrays, the optimiser's hyper-parameters and
the training history as numbers, strings, lists, tuples and dicts. No skorch
net, callback, optimiser object, function or torch tensor is pickled, so
``skops.io`` needs to trust only skae's own estimator classes, and the net is
rebuilt with the estimator's ``_make_net`` when the state is loaded.

This data (:func:`net_state`) is the one encoding of a fitted net: ``skae.save``
writes the same data (its arrays as safetensors, the rest as JSON), and both
rebuild the net with :func:`build_net`, which checks the arrays against the
parameters first.
"""

import math
import re
import warnings

import numpy as np
import torch
from sklearn.exceptions import InconsistentVersionWarning as _SklearnVersionWarning
from skorch.history import History

from skae._training import _seeded_torch
from skae._version import versions

# The layout of the ``net_`` entry; a later skae reads older layouts by this number.
_NET_STATE_VERSION = 1
_VERSIONS_KEY = "_skae_versions"
_DTYPES_KEY = "_skae_dtypes"
# The libraries whose major.minor version is worth a warning when it differs
# between the environment that saved an estimator and the one that loads it: skae
# (its estimators' code), torch (the modules' numerics) and scikit-learn (the
# estimator contract and validation).
_DRIFT_PACKAGES = ("skae", "torch", "scikit-learn")


class InconsistentVersionWarning(_SklearnVersionWarning):
    """Warning that an estimator was saved with other versions of skae's stack.

    Raised when a skae estimator is unpickled (``pickle``, ``joblib``,
    ``skops.io``) or loaded with :func:`skae.load` in an environment whose skae,
    torch or scikit-learn differs in its major or minor version from the one that
    saved it. It is a subclass of scikit-learn's
    :class:`~sklearn.exceptions.InconsistentVersionWarning`, so that a filter for
    scikit-learn's warning also covers skae's.

    Parameters
    ----------
    estimator_name : str
        The estimator's class name.
    original_versions : dict of str to str
        The versions that saved it.
    current_versions : dict of str to str
        The versions loading it.
    """

    def __init__(self, *, estimator_name, original_versions, current_versions):
        super().__init__(
            estimator_name=estimator_name,
            current_sklearn_version=current_versions.get("scikit-learn"),
            original_sklearn_version=original_versions.get("scikit-learn"),
        )
        self.original_versions = dict(original_versions)
        self.current_versions = dict(current_versions)

    def __str__(self):
        drift = ", ".join(
            f"{name} {self.original_versions.get(name)} (now {version})"
            for name, version in self.current_versions.items()
            if _release(self.original_versions.get(name)) != _release(version)
        )
        return (
            f"This {self.estimator_name} was saved with {drift}. It may load "
            "wrongly or behave differently here: check its outputs, or use the "
            "versions it was saved with (or fit it again)."
        )


def current_versions():
    """Return the versions of skae, torch and scikit-learn in this environment."""
    return versions("skae", "torch", "scikit-learn")


def _release(version):
    """``(major, minor)`` of a version string, or the string itself if unparsable."""
    match = re.match(r"(\d+)\.(\d+)", str(version))
    return (int(match[1]), int(match[2])) if match else version


def warn_on_version_drift(estimator_name, versions, stacklevel=2):
    """Warn when ``versions`` (those that saved an estimator) differ from ours.

    Only a different major or minor version of skae, torch or scikit-learn warns:
    patch releases keep the behaviour, and other libraries' data (NumPy arrays)
    carry their own compatibility.
    """
    if not isinstance(versions, dict):
        return
    current = current_versions()
    if any(
        _release(versions.get(name)) != _release(current[name])
        for name in _DRIFT_PACKAGES
    ):
        warnings.warn(
            InconsistentVersionWarning(
                estimator_name=estimator_name,
                original_versions=versions,
                current_versions=current,
            ),
            stacklevel=stacklevel + 1,
        )


class PlainStateMixin:
    """``__getstate__`` / ``__setstate__`` that keep a fitted net as plain data.

    For :class:`skae._base.BaseNeuralEstimator`: everything in ``vars(self)`` is
    kept as it is, except ``net_``, which becomes a dict of NumPy arrays and plain
    values (see :func:`net_state`), and the versions of skae, torch and
    scikit-learn are added. On load, a different major or minor version of one of
    them warns (:class:`InconsistentVersionWarning`), and ``net_`` is rebuilt with
    ``_make_net`` from the restored parameters and fitted attributes, on the device
    it was on, or on the CPU when that was a GPU and this machine has none.
    """

    def __getstate__(self):
        # BaseEstimator's state is vars(self) itself for classes outside sklearn:
        # copy it before replacing the net.
        state = dict(super().__getstate__())
        if "net_" in state:
            state["net_"] = net_state(state["net_"])
        # skops does not trust NumPy dtype objects (an attribute recording the
        # training data's dtype): they travel as their strings.
        dtypes = {
            key: value.str
            for key, value in state.items()
            if isinstance(value, np.dtype) and value.fields is None
        }
        if dtypes:
            state = {k: v for k, v in state.items() if k not in dtypes}
            state[_DTYPES_KEY] = dtypes
        state[_VERSIONS_KEY] = current_versions()
        return state

    def __setstate__(self, state):
        state = dict(state)
        warn_on_version_drift(type(self).__name__, state.pop(_VERSIONS_KEY, None))
        for key, dtype in state.pop(_DTYPES_KEY, {}).items():
            state[key] = np.dtype(dtype)
        net = state.pop("net_", None)
        super().__setstate__(state)
        if net is not None:
            self.net_ = build_net(self, net)


# ---------------------------------------------------------------------- the net
#
# One codec for a fitted skorch net: net_state gives its data, build_net rebuilds
# it. Pickling keeps the data as it is; skae.save writes its arrays to
# safetensors and the rest to its JSON header. New net state is added here once.


def net_state(net):
    """Return a fitted skorch net as data: arrays, numbers, strings, lists, dicts.

    ``module`` and ``criterion`` are state dicts of arrays; ``optimizer`` is
    the optimiser's ``state_dict`` with its tensors (Adam's moments and step
    counts, Adagrad's sums, SGD's momentum buffers) as arrays and its parameter
    indices as strings; ``history`` is the skorch history as a list of dicts;
    ``device`` is where the weights were. Every dict key is a string, so that
    JSON holds everything but the arrays.
    """
    optimizer = net.optimizer_.state_dict()
    return {
        "version": _NET_STATE_VERSION,
        "device": str(net.device),
        "module": _arrays(net.module_.state_dict()),
        "criterion": _arrays(net.criterion_.state_dict()),
        "optimizer": {
            "state": {
                str(index): _plain(entries)
                for index, entries in optimizer["state"].items()
            },
            "param_groups": _plain(optimizer["param_groups"]),
        },
        "history": _plain(list(net.history)),
    }


def build_net(est, state, device=None, budget=None):
    """Rebuild ``est``'s skorch net from :func:`net_state`'s data; return it.

    The arrays are checked against the network ``est``'s parameters declare
    before it is allocated (:func:`check_net_state`, with ``budget``). ``device``
    defaults to the saved one (the CPU when that was a GPU and there is none
    here). A state without ``criterion`` (a file of format 1) keeps the
    criterion's state as its parameters build it.
    """
    name = type(est).__name__
    if not isinstance(state, dict) or state.get("version") != _NET_STATE_VERSION:
        version = state.get("version") if isinstance(state, dict) else None
        raise ValueError(
            f"This {name} was saved by a skae whose state layout "
            f"({version!r}) this skae ({current_versions()['skae']}) cannot read; "
            "load it with the skae that saved it."
        )
    # The arrays must fit the declared network before it is allocated (a
    # damaged or hostile file or pickle can declare one far larger than itself).
    check_net_state(est, state, budget)
    if device is None:
        device = _load_device(est, state["device"])
    net = rebuild_empty_net(est, device)
    try:
        net.module_.load_state_dict(_tensors(state["module"]), strict=True)
        if "criterion" in state:
            net.criterion_.load_state_dict(_tensors(state["criterion"]), strict=True)
    except RuntimeError as exc:
        raise ValueError(
            f"the state saved for {name} does not fit its architecture: {exc}"
        ) from None
    optimizer = state["optimizer"]
    try:
        net.optimizer_.load_state_dict(
            {
                "state": {
                    int(index): _unplain(entries)
                    for index, entries in optimizer["state"].items()
                },
                "param_groups": optimizer["param_groups"],
            }
        )
    except (ValueError, KeyError, RuntimeError) as exc:
        raise ValueError(
            f"the optimiser state saved for {name} does not fit it: {exc}"
        ) from None
    net.history = History(state["history"])
    net.module_.eval()
    return net


# ------------------------------------------------------------- checked first

# The safetensors dtypes a skae file may hold, with their sizes in bytes.
_DTYPE_SIZES = {"F16": 2, "BF16": 2, "F32": 4, "F64": 8, "I32": 4, "I64": 8}
_FLOAT_DTYPES = {"F16", "BF16", "F32", "F64"}
_TORCH_DTYPES = {
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.float32: "F32",
    torch.float64: "F64",
    torch.int32: "I32",
    torch.int64: "I64",
}


def _expected_state(est):
    """Return the module's and criterion's state that ``est``'s parameters imply.

    ``{"module.<name>" or "criterion.<name>": (shape, is_parameter, dtype)}``.

    Both are built on PyTorch's meta device: shapes without memory, so that a
    declared network of any size costs nothing to describe.
    """
    try:
        with warnings.catch_warnings():
            # Warnings about the architecture were given when it was fitted.
            warnings.simplefilter("ignore", UserWarning)
            # As rebuild_empty_net: a net may see other features than the
            # estimator (the imputer's indicator columns).
            n_features = getattr(est, "_net_n_features", est.n_features_in_)
            specs = {
                "module": est._module_spec(n_features),
                "criterion": est._criterion_spec(),
            }
            with torch.device("meta"):
                built = {part: cls(**kwargs) for part, (cls, kwargs) in specs.items()}
    except (RuntimeError, ValueError, TypeError, OverflowError) as exc:
        raise ValueError(
            f"the parameters saved for {type(est).__name__} describe no network: {exc}"
        ) from None
    expected = {}
    for part, module in built.items():
        params = {name for name, _ in module.named_parameters()}
        for name, value in module.state_dict().items():
            expected[f"{part}.{name}"] = (
                tuple(value.shape),
                name in params,
                _dtype_name(value.dtype),
            )
    return expected


def _dtype_name(dtype):
    """Return the safetensors name of a NumPy or torch dtype (or the name itself)."""
    if isinstance(dtype, str):
        return dtype
    if isinstance(dtype, torch.dtype):
        return _TORCH_DTYPES.get(dtype, str(dtype))
    dtype = np.dtype(dtype)
    kind = {"f": "F", "i": "I", "u": "U"}.get(dtype.kind, dtype.kind)
    return f"{kind}{dtype.itemsize * 8}"


def check_tensors(est, found, budget=None):
    """Check tensors found in a saved estimator against its parameters' network.

    ``found`` maps ``module.<name>`` and ``criterion.<name>`` (the module's and
    the criterion's ``state_dict``) and ``optimizer.<index>.<name>`` (the
    optimiser's tensors) to ``(shape, dtype)``; the dtype is a safetensors name
    (``"F32"``), a NumPy or a torch dtype. The shapes that ``est``'s parameters
    and fitted attributes imply are computed without allocating; the network they
    declare must fit in ``budget`` bytes (the file's size, when given), the
    module's state_dict must be exactly the one found and the criterion's must
    hold what is found (a file of format 1 holds none of it); a ``ValueError``
    says what does not fit. Nothing is built either way.
    """
    name = type(est).__name__
    n_tensors = sum(key.startswith("module.") for key in found)
    for key, value in est.get_params(deep=False).items():
        # One layer has at least one tensor: a longer list of layers cannot be
        # the network in the file (and would take long to describe).
        if isinstance(value, list | tuple) and len(value) > max(n_tensors, 3):
            raise ValueError(
                f"the parameter {key} saved for {name} lists {len(value):,} "
                f"entries, more than the {n_tensors} weight tensors in the file"
            )
    expected = _expected_state(est)
    n_values = sum(
        math.prod(shape)
        for key, (shape, _, _) in expected.items()
        if key.startswith("module.")
    )
    # Two bytes a weight at the least (float16): a file smaller than that cannot
    # hold them, whatever the tensors it lists.
    if budget is not None and 2 * n_values > budget:
        raise ValueError(
            f"the parameters saved for {name} declare a network of {n_values:,} "
            f"weights ({4 * n_values:,} bytes in float32), more than the "
            f"{budget:,} bytes it was saved in can hold; nothing was allocated."
        )
    states = {k: v for k, v in found.items() if k.startswith(("module.", "criterion."))}
    problems = [
        f"missing {key.removeprefix('module.')}"
        for key in expected
        if key.startswith("module.") and key not in states
    ]
    for key, (shape, dtype) in states.items():
        shown = key.removeprefix("module.")
        if key not in expected:
            problems.append(f"unexpected {shown}")
            continue
        wanted_shape, is_parameter, wanted = expected[key]
        if tuple(shape) != wanted_shape:
            problems.append(
                f"size mismatch for {shown}: the file holds {tuple(shape)}, the "
                f"parameters need {wanted_shape}"
            )
        # Floating tensors may be float32 or float64 (L-BFGS on float64 data);
        # others (a module's index columns) have the dtype the module gives them.
        if is_parameter or wanted in _FLOAT_DTYPES:
            if _dtype_name(dtype) not in _FLOAT_DTYPES:
                problems.append(f"{shown} is {_dtype_name(dtype)}, not floating point")
        elif _dtype_name(dtype) != wanted:
            problems.append(f"{shown} is {_dtype_name(dtype)}, not {wanted}")
    if problems:
        raise ValueError(
            f"the weights saved for {name} do not fit its architecture: "
            + "; ".join(problems)
        )
    param_shapes = [
        shape
        for key, (shape, is_param, _) in expected.items()
        if is_param and key.startswith("module.")
    ]
    for key, (shape, dtype) in found.items():
        if key in states:
            continue
        parts = key.split(".", 2)
        if (
            len(parts) != 3
            or parts[0] != "optimizer"
            or not parts[1].isdigit()
            or int(parts[1]) >= len(param_shapes)
            or (tuple(shape) != () and tuple(shape) not in param_shapes)
            or _dtype_name(dtype) not in _DTYPE_SIZES
        ):
            raise ValueError(
                f"the optimiser state saved for {name} does not fit it: {key} "
                f"({_dtype_name(dtype)}, shape {tuple(shape)}) for "
                f"{len(param_shapes)} parameters of shapes {param_shapes}"
            )


def check_net_state(est, state, budget=None):
    """:func:`check_tensors` for :func:`net_state`'s data, before it is rebuilt.

    Arrays that do not fit the parameters give a clear ``ValueError``, and the
    declared network is never allocated. ``budget``: the size in bytes of the
    file the state was read from, if any.
    """
    try:
        found = {}
        for part in ("module", "criterion"):
            for key, value in state.get(part, {}).items():
                if not isinstance(value, np.ndarray):
                    raise TypeError(f"{part}.{key} is a {type(value).__name__}")
                found[f"{part}.{key}"] = (value.shape, value.dtype)
        for index, entries in state["optimizer"]["state"].items():
            for key, value in entries.items():
                if isinstance(value, np.ndarray):
                    found[f"optimizer.{index}.{key}"] = (value.shape, value.dtype)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(
            f"the state saved for {type(est).__name__} is malformed: {exc!r}"
        ) from None
    check_tensors(est, found, budget)


def rebuild_empty_net(est, device):
    """Build ``est``'s net as ``fit`` would, for saved weights to be loaded into.

    Building draws initial weights: the caller's torch RNG is kept as it was.
    What building warns about (a ConvAE whose code collapses to one position) was
    said when the estimator was fitted, and is not said again on every load.
    """
    with _seeded_torch(0, device), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return est._make_net(
            getattr(est, "_net_n_features", est.n_features_in_), device
        )


def _load_device(est, saved):
    """Return the device to rebuild on: the saved one, or the CPU for a lost GPU.

    When a ``device="cuda"`` estimator lands on a machine without CUDA, its
    ``device`` becomes ``"cpu"`` (with a warning), so that ``partial_fit`` and
    ``warm_start`` run where the weights now are, as with :func:`skae.load`.
    """
    if torch.device(saved).type != "cuda" or torch.cuda.is_available():
        return saved
    if est.device == "cuda":
        est.device = "cpu"
    warnings.warn(
        f"This {type(est).__name__} was fitted on {saved}, and CUDA is not "
        "available here: its weights are loaded on the CPU"
        + (" and its device parameter is now 'cpu'." if est.device == "cpu" else "."),
        UserWarning,
        stacklevel=4,
    )
    return "cpu"


def _arrays(state_dict):
    return {key: _array(value) for key, value in state_dict.items()}


def _array(tensor):
    # A copy, never a view of the live weights that later training would change.
    return tensor.detach().to("cpu", copy=True).numpy()


def _tensors(arrays):
    return {key: _tensor(value) for key, value in arrays.items()}


def _tensor(array):
    # torch.tensor copies: read-only arrays (joblib's mmap_mode) are fine.
    return torch.tensor(np.asarray(array))


def _unplain(value):
    """``value`` with arrays as tensors again (an optimiser's state holds no arrays)."""
    if isinstance(value, np.ndarray):
        return _tensor(value)
    if isinstance(value, dict):
        return {key: _unplain(v) for key, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_unplain(v) for v in value)
    return value


def _plain(value):
    """``value`` with tensors as arrays and NumPy scalars as Python numbers."""
    if isinstance(value, torch.Tensor):
        return _array(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {key: _plain(v) for key, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_plain(v) for v in value)
    return value
