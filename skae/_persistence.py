"""Save and load fitted estimators without pickle: JSON and safetensors in a zip.

A skae file is a zip archive (stored, not compressed) with these members:

``header.json``
    The format name and version, the versions of skae, torch, skorch,
    scikit-learn and NumPy that wrote it, the estimator as a tree of JSON
    (class name, ``get_params(deep=False)``, fitted attributes, and the net's
    state as ``skae._state.net_state`` gives it: the skorch history, the
    optimiser's hyper-parameters, its tensors named) and the SHA-256 of every
    other member.
``header.json.sha256``
    The SHA-256 of ``header.json``.
``<node>weights.safetensors``
    For each fitted estimator in the tree (the root is ``""``, an MLP's encoder
    ``encoder_/`` and so on): the tensors of the net's state, named by their
    place in it (``module.<name>``, ``criterion.<name>``,
    ``optimizer.state.<index>.<name>``).

Format 1 (still read) had no criterion state and kept the history and the
optimiser beside the fitted attributes.

Loading reads JSON and safetensors only and instantiates classes from a fixed
allow-list, so no code from the file is ever run (the "Reliability" page of the docs).
"""

import hashlib
import json
import math
import os
import tempfile
import zipfile

import numpy as np
import safetensors.numpy
from sklearn.base import BaseEstimator
from sklearn.frozen import FrozenEstimator

from skae._autoencoder import Autoencoder, DenoisingAE
from skae._base import BaseNeuralEstimator, resolve_device
from skae._conv import ConvAE
from skae._impute import AutoencoderImputer, _ImputationAE
from skae._mlp import MLPClassifier, MLPRegressor
from skae._state import _DTYPE_SIZES, build_net, net_state, warn_on_version_drift
from skae._vae import VariationalAE
from skae._version import __version__, versions

FORMAT_NAME = "skae"
# 2: the net's state as skae._state.net_state gives it (the criterion's too);
# 1: no criterion state, the history and optimiser beside the attributes.
FORMAT_VERSION = 2
_HEADER = "header.json"
_HEADER_HASH = "header.json.sha256"
_WEIGHTS = "weights.safetensors"
# A header is a few kilobytes; refuse to read a member claiming far more.
_MAX_HEADER_BYTES = 64 * 2**20

# The only classes a file may name. Nothing else is ever looked up or imported.
_CLASSES = {
    cls.__name__: cls
    for cls in (
        Autoencoder,
        AutoencoderImputer,
        _ImputationAE,
        ConvAE,
        DenoisingAE,
        MLPClassifier,
        MLPRegressor,
        VariationalAE,
        FrozenEstimator,
    )
}


# ------------------------------------------------------------------------ encoding


def _encode(value, path, tensors, arrays=None):
    """``value`` as JSON; estimators become nodes, their tensors go to ``tensors``.

    ``path`` names the value in error messages and prefixes nested members. With
    ``arrays`` (a dict), NumPy arrays go there under their path instead, and the
    JSON names them: a net's state, whose arrays go to safetensors.
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        value = float(value)
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, tuple):
        return {
            "__tuple__": [
                _encode(v, f"{path}[{i}]", tensors, arrays) for i, v in enumerate(value)
            ]
        }
    if isinstance(value, list):
        return [
            _encode(v, f"{path}[{i}]", tensors, arrays) for i, v in enumerate(value)
        ]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError(f"{path}: a dict with non-string keys cannot be saved.")
        return {
            "__dict__": {
                k: _encode(v, f"{path}.{k}" if path else k, tensors, arrays)
                for k, v in value.items()
            }
        }
    if isinstance(value, np.ndarray) and arrays is not None:
        arrays[path] = value
        return {"__tensor__": path}
    if isinstance(value, np.ndarray):
        return {"__ndarray__": _encode_array(value, path)}
    if isinstance(value, np.dtype) and value.kind in "biufU":
        return {"__dtype__": value.str}
    if isinstance(value, BaseEstimator):
        return {"__estimator__": _encode_estimator(value, f"{path}/", tensors)}
    raise TypeError(
        f"{path}: a {type(value).__name__} cannot be saved by skae.save, which "
        "stores JSON values (numbers, strings, lists, tuples, NumPy arrays of "
        "numbers or strings) and skae estimators only. Replace it (for example an "
        "int instead of a RandomState as random_state) or use pickle."
    )


def _encode_array(array, path):
    kind = array.dtype.kind
    if kind == "O":
        if not all(isinstance(v, str) for v in array.flat):
            raise TypeError(
                f"{path}: an object array holding other things than strings cannot "
                "be saved by skae.save; use numeric or string labels, or pickle."
            )
        values = array.tolist()
    elif kind in "biufU":
        values = array.tolist()
        if kind == "f":
            values = _floats_to_json(values)
    else:
        raise TypeError(
            f"{path}: an array of dtype {array.dtype} cannot be saved by skae.save "
            "(numbers and strings only)."
        )
    return {"dtype": array.dtype.str, "shape": list(array.shape), "values": values}


def _floats_to_json(values):
    if isinstance(values, list):
        return [_floats_to_json(v) for v in values]
    return values if math.isfinite(values) else repr(values)


def _encode_estimator(est, prefix, tensors):
    name = type(est).__name__
    if _CLASSES.get(name) is not type(est):
        raise TypeError(
            f"{prefix or 'estimator'}: skae.save stores skae's estimators only "
            f"({', '.join(sorted(_CLASSES))}), got {type(est).__module__}.{name}. "
            "To save a Pipeline, a search or any other scikit-learn object that "
            "holds skae estimators, use skops: skops.io.dump(obj, path), then "
            "skops.io.load(path, trusted=types) once skops.io.get_untrusted_types("
            "file=path) has listed only skae's estimator classes (see the "
            "Persistence section of the Reliability page of skae's documentation)."
        )
    node = {
        "class": name,
        "params": {
            k: _encode(v, f"{prefix}{k}", tensors)
            for k, v in est.get_params(deep=False).items()
        },
    }
    config = vars(est).get("_sklearn_output_config")
    if config:
        node["output_config"] = _encode(config, f"{prefix}set_output", tensors)
    if isinstance(est, BaseNeuralEstimator) and hasattr(est, "net_"):
        node["fitted"] = _encode_fitted(est, prefix, tensors)
    elif any(_is_fitted_attribute(k) for k in vars(est)):  # a composite: no net
        node["fitted"] = {
            "attributes": {
                k: _encode(v, f"{prefix}{k}", tensors)
                for k, v in vars(est).items()
                if _is_fitted_attribute(k)
            }
        }
    return node


def _is_fitted_attribute(key):
    """Whether ``key`` names fitted state: ends in ``_``, not ``net_``, no dunder.

    Private state (``_training_state_``, which continued training reads) is
    fitted state too; parameters never end in ``_``.
    """
    return (
        key.isidentifier()
        and key.endswith("_")
        and not key.startswith("__")
        and key != "net_"
    )


def _encode_fitted(est, prefix, tensors):
    attributes = {
        k: _encode(v, f"{prefix}{k}", tensors)
        for k, v in vars(est).items()
        if _is_fitted_attribute(k)
    }
    member = f"{prefix}{_WEIGHTS}"
    arrays = {}
    net = _encode(net_state(est.net_), "", tensors, arrays)
    tensors[member] = safetensors.numpy.save(arrays)
    return {"attributes": attributes, "net": net, "weights": member}


# ------------------------------------------------------------------------ decoding


def _decode(value, ctx):
    if isinstance(value, list):
        return [_decode(v, ctx) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) != 1:
        raise ValueError(f"malformed value in the header: {str(value)[:80]}")
    ((tag, content),) = value.items()
    if tag == "__float__":
        return float(content)
    if tag == "__tuple__":
        return tuple(_decode(v, ctx) for v in content)
    if tag == "__dict__":
        return {k: _decode(v, ctx) for k, v in content.items()}
    if tag == "__ndarray__":
        return _decode_array(content)
    if tag == "__dtype__":
        dtype = np.dtype(content)
        if dtype.kind not in "biufU":
            raise ValueError(f"a dtype {dtype} in the header")
        return dtype
    if tag == "__estimator__":
        return _decode_estimator(content, ctx)
    if tag == "__tensor__":
        arrays = ctx.get("arrays")
        if arrays is None or content not in arrays:
            raise ValueError(
                f"the header names a tensor {content!r} that no weights hold"
            )
        return arrays.pop(content)
    raise ValueError(f"unknown value tag {tag!r} in the header")


def _decode_array(content):
    dtype = np.dtype(content["dtype"])
    if dtype.kind not in "biufUO":
        raise ValueError(f"an array of dtype {dtype} in the header")
    values = content["values"]
    if dtype.kind == "f":
        values = _floats_from_json(values)
    array = np.array(values, dtype=dtype).reshape(content["shape"])
    if dtype.kind == "O" and not all(isinstance(v, str) for v in array.flat):
        raise ValueError("an object array in the header holds other than strings")
    return array


def _floats_from_json(values):
    if isinstance(values, list):
        return [_floats_from_json(v) for v in values]
    return float(values)


def _decode_estimator(node, ctx):
    name = node["class"]
    if name not in _CLASSES:
        raise ValueError(
            f"the file names the class {name!r}, which is not one of skae's "
            f"estimators ({', '.join(sorted(_CLASSES))}); nothing was loaded."
        )
    cls = _CLASSES[name]
    params = {k: _decode(v, ctx) for k, v in node["params"].items()}
    try:
        est = cls(**params)
    except TypeError as exc:
        raise ValueError(
            f"the parameters saved for {name} do not fit it: {exc}"
        ) from None
    if "output_config" in node:
        est._sklearn_output_config = _decode(node["output_config"], ctx)
    if "fitted" in node:
        _decode_fitted(est, node["fitted"], ctx)
    return est


def _decode_fitted(est, fitted, ctx):
    for key, value in fitted["attributes"].items():
        if not _is_fitted_attribute(key):
            raise ValueError(
                f"the header sets {key!r}, which is not a fitted attribute"
            )
        setattr(est, key, _decode(value, ctx))
    if "weights" not in fitted:  # a composite: its parts carry the weights
        return
    # The parameters shape the net about to be built: check them as fit does;
    # build_net checks the shapes they imply against the file's tensors before
    # anything is allocated (a small file may declare a huge network).
    est._validate_params()
    member = fitted["weights"]
    data = ctx["member"](member)
    _check_safetensors(data, member)
    try:
        arrays = safetensors.numpy.load(data)
    except Exception as exc:  # safetensors raises its own error types
        raise ValueError(f"{member} is not valid safetensors: {exc}") from None
    if ctx["format_version"] == 1:
        state = _format_1_net(fitted, arrays, ctx)
    else:
        state = _decode(fitted["net"], {**ctx, "arrays": arrays})
        if arrays:  # what _decode took is gone
            raise ValueError(
                f"{member} holds tensors the header does not name: "
                + ", ".join(sorted(arrays))
            )
    device = _load_device(est, ctx["device"])
    est.net_ = build_net(est, state, device, budget=ctx["size"])


def _format_1_net(fitted, arrays, ctx):
    """:func:`skae._state.net_state`'s data from a file of format 1.

    Format 1 kept the history and the optimiser's hyper-parameters beside the
    attributes, and named the tensors ``module.<name>`` and
    ``optimizer.<index>.<name>``; it held no criterion state (the parameters
    rebuild it).
    """
    optimizer = fitted["optimizer"]
    state = {
        index: {k: _decode(v, ctx) for k, v in entries.items()}
        for index, entries in optimizer["state"].items()
    }
    module = {}
    for key, array in arrays.items():
        part, _, name = key.partition(".")
        index, _, entry = name.partition(".")
        if part == "module":
            module[name] = array
        elif part == "optimizer" and entry:
            state.setdefault(index, {})[entry] = array
        else:
            raise ValueError(f"{fitted['weights']} holds a tensor {key!r}")
    return {
        "version": 1,
        "module": module,
        "optimizer": {
            "state": state,
            "param_groups": _decode(optimizer["param_groups"], ctx),
        },
        "history": [_decode(row, ctx) for row in fitted["history"]],
    }


def _load_device(est, device):
    if device is None:
        return est._resolve_device()
    device = resolve_device(device, remedy="load with device='cpu'")
    saved = resolve_device("auto") if est.device == "auto" else est.device
    if saved in ("cpu", "cuda") and saved != device:
        # Further training must run where the weights now are.
        est.device = device
    return device


# ---------------------------------------------------------------------- validation


def _check_safetensors(data, name):
    """Check a safetensors buffer's header before the tensors are read.

    Every entry is checked against the buffer: a known dtype, a shape of
    non-negative ints and a byte range inside the data that fits the shape, so
    that loading the tensors allocates at most the buffer's size.
    """
    if len(data) < 8:
        raise ValueError(f"{name} is not valid safetensors: {len(data)} bytes")
    size = int.from_bytes(data[:8], "little")
    if size > len(data) - 8:
        raise ValueError(f"{name} is not valid safetensors: its header overruns it")
    try:
        header = json.loads(data[8 : 8 + size])
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"{name} is not valid safetensors: {exc}") from None
    if not isinstance(header, dict):
        raise ValueError(f"{name} is not valid safetensors: its header is no dict")
    n_bytes = len(data) - 8 - size
    for key, info in header.items():
        if key == "__metadata__":
            continue
        try:
            dtype, shape, (begin, end) = (
                info["dtype"],
                info["shape"],
                info["data_offsets"],
            )
        except (TypeError, KeyError, ValueError):
            raise ValueError(f"{name}: a malformed entry for {key!r}") from None
        if dtype not in _DTYPE_SIZES or not (
            isinstance(shape, list)
            and all(isinstance(n, int) and n >= 0 for n in shape)
            and isinstance(begin, int)
            and isinstance(end, int)
            and 0 <= begin <= end <= n_bytes
            and end - begin == math.prod(shape) * _DTYPE_SIZES[dtype]
        ):
            raise ValueError(
                f"{name}: the entry for {key!r} ({dtype}, shape {shape}, bytes "
                f"{begin} to {end} of {n_bytes}) does not fit the data"
            )


# ------------------------------------------------------------------------ public


def save(estimator, path):
    """Save a skae estimator, fitted or not, without pickle.

    Parameters are stored as JSON, fitted attributes and the training history as
    JSON, weights and optimiser state as safetensors, all in one zip file with a
    SHA-256 of each part. :func:`load` reads it back without running any code from
    the file, so a file from an untrusted source is safe to load (unlike pickle,
    joblib or ``torch.load(weights_only=False)``).

    Parameters
    ----------
    estimator : estimator
        An :class:`Autoencoder`, :class:`DenoisingAE`, :class:`VariationalAE`,
        :class:`ConvAE`, :class:`MLPClassifier` or :class:`MLPRegressor`.
    path : str, path-like or binary file object
        Where to write. A path is written atomically: the new file is written
        beside it and synced to disk, then replaces it, so a full disk, a crash
        or Ctrl-C leaves the old file or the new one, never a partial one.

    Raises
    ------
    TypeError
        If the estimator is not one of skae's (a Pipeline, for example: save
        those with ``skops.io``, see Notes), or a parameter or attribute is not
        representable as JSON (for example a ``RandomState`` as
        ``random_state``, or an object array of labels that are not strings).

    See Also
    --------
    load : Read the file back.

    Notes
    -----
    A whole pipeline, search or other scikit-learn composite that holds skae
    estimators is saved with skops, scikit-learn's safe format: a skae
    estimator's state is plain data (parameters, fitted attributes, weights as
    arrays), so ``skops.io.get_untrusted_types`` lists only skae's estimator
    classes::

        import skops.io as sio
        sio.dump(pipeline, "pipeline.skops")
        types = sio.get_untrusted_types(file="pipeline.skops")  # check them
        pipeline = sio.load("pipeline.skops", trusted=types)

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.datasets import load_digits
    >>> from skae import Autoencoder, load, save
    >>> X, _ = load_digits(return_X_y=True)
    >>> ae = Autoencoder(8, hidden_layer_sizes=(), max_iter=2, random_state=0)
    >>> ae = ae.fit(X / 16)
    >>> path = os.path.join(tempfile.mkdtemp(), "ae.skae")
    >>> save(ae, path)
    >>> load(path).transform(X[:3] / 16).shape
    (3, 8)
    """
    tensors = {}
    tree = _encode_estimator(estimator, "", tensors)
    header = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "versions": versions(
            "skae", "torch", "skorch", "scikit-learn", "numpy", "safetensors"
        ),
        "estimator": tree,
        "sha256": {
            name: hashlib.sha256(data).hexdigest() for name, data in tensors.items()
        },
    }
    header_bytes = json.dumps(header, indent=1, allow_nan=False).encode()
    members = {
        _HEADER: header_bytes,
        _HEADER_HASH: hashlib.sha256(header_bytes).hexdigest().encode(),
        **tensors,
    }
    if hasattr(path, "write"):
        _write_zip(path, members)
        return
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    # A temporary file beside the target, on disk (fsync) before it replaces the
    # target: a full disk, a crash or Ctrl-C leaves the old file or the new one,
    # never a partial one.
    fd, tmp = tempfile.mkstemp(prefix=".skae-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            _write_zip(f, members)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory):
    """Make a rename in ``directory`` durable, where the platform allows it."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # Windows opens no directories
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _size(f):
    """Return the size in bytes of the open file ``f``; keep its position."""
    position = f.tell()
    try:
        return f.seek(0, os.SEEK_END)
    finally:
        f.seek(position)


def _write_zip(f, members):
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)


def load(path, device="cpu"):
    """Load an estimator written by :func:`save`; no code from the file is run.

    Parameters
    ----------
    path : str, path-like or binary file object
        The file.
    device : {"cpu", "cuda", "auto"} or None, default="cpu"
        Where to put the weights. The default loads a model fitted on a GPU on a
        machine without one. None uses the estimator's own ``device`` parameter.
        When the saved ``device`` parameter points elsewhere, it is set to
        ``device``, so that further training runs where the weights are.

    Returns
    -------
    estimator : estimator
        The estimator, fitted as it was saved (weights, fitted attributes,
        training history and optimiser state, so that ``partial_fit`` continues
        exactly as it would have).

    Raises
    ------
    ValueError
        If the file is not a skae file, is truncated or corrupted, fails its
        SHA-256 checks, was written by a newer format version, names a class that
        is not one of skae's, holds weights of the wrong shapes, or declares a
        network larger than the file can hold (checked before anything is
        allocated).

    Warns
    -----
    InconsistentVersionWarning
        If the file was written with another major or minor version of skae,
        torch or scikit-learn than this environment's (the header records them);
        a subclass of scikit-learn's
        :class:`~sklearn.exceptions.InconsistentVersionWarning`.

    See Also
    --------
    save : Write the file.
    """
    if device not in (None, "cpu", "cuda", "auto"):
        raise ValueError(
            f"device must be 'cpu', 'cuda', 'auto' or None, got {device!r}."
        )
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, EOFError) as exc:
        raise ValueError(
            f"{path} is not a skae file (not a zip archive, or truncated): {exc}"
        ) from None
    with zf:
        names = set(zf.namelist())
        if _HEADER not in names or _HEADER_HASH not in names:
            raise ValueError(f"{path} is not a skae file: it has no {_HEADER}.")
        # What loading allocates is bounded by the file's size: skae stores its
        # members uncompressed, so none can expand beyond the archive (no zip
        # bomb), and the weights must fit in their member (see check_tensors).
        size = _size(zf.fp)
        infos = zf.infolist()
        if (
            any(i.compress_type != zipfile.ZIP_STORED for i in infos)
            or sum(i.file_size for i in infos) > size
        ):
            raise ValueError(
                f"{path} is not a skae file: its members are compressed or "
                f"declare more than the file's {size:,} bytes."
            )

        def read(name):
            try:
                return zf.read(name)
            except (zipfile.BadZipFile, EOFError, OSError) as exc:
                raise ValueError(
                    f"corrupted or truncated: cannot read {name}: {exc}"
                ) from None

        if zf.getinfo(_HEADER).file_size > _MAX_HEADER_BYTES:
            raise ValueError(f"{path} is not a skae file: its header is too large.")
        try:
            header_bytes, header_hash = read(_HEADER), read(_HEADER_HASH)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
        if hashlib.sha256(header_bytes).hexdigest().encode() != header_hash:
            raise ValueError(
                f"{path}: {_HEADER} fails its SHA-256 check (tampered or corrupted)."
            )
        try:
            header = json.loads(header_bytes)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise ValueError(f"{path}: {_HEADER} is not valid JSON: {exc}") from None
        if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
            raise ValueError(
                f"{path} is not a skae file (format is not {FORMAT_NAME!r})."
            )
        version = header.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
            raise ValueError(
                f"{path} has format version {version!r}; this skae "
                f"({__version__}) reads versions 1 to {FORMAT_VERSION}. "
                "Upgrade skae to load it."
            )
        hashes = header["sha256"]

        def member(name):
            if not isinstance(hashes, dict) or name not in hashes or name not in names:
                raise ValueError(f"the member {name} is missing")
            data = read(name)
            if hashlib.sha256(data).hexdigest() != hashes[name]:
                raise ValueError(
                    f"{name} fails its SHA-256 check (tampered or corrupted)"
                )
            return data

        ctx = {
            "member": member,
            "device": device,
            "size": size,
            "format_version": version,
        }
        try:
            estimator = header["estimator"]
            warn_on_version_drift(estimator["class"], header.get("versions"), 2)
            return _decode_estimator(estimator, ctx)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
        except RecursionError:
            raise ValueError(f"{path}: the header nests too deeply.") from None
        except (KeyError, TypeError, AttributeError, IndexError) as exc:
            raise ValueError(
                f"{path}: malformed header ({type(exc).__name__}: {exc})."
            ) from None


__all__ = ["load", "save"]
