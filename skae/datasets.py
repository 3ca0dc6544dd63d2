"""Data sets for autoencoder examples: MNIST, from a local file or OpenML.

:func:`load_mnist` reads the MNIST digits from a ``.npz`` file or the four
official IDX files when you have them, and otherwise fetches OpenML's
``mnist_784`` through :func:`sklearn.datasets.fetch_openml`, with scikit-learn's
cache. Nothing is downloaded at import.
"""

import gzip
import os
from pathlib import Path

import numpy as np
from sklearn.datasets import fetch_openml, get_data_home
from sklearn.utils import Bunch

__all__ = ["load_mnist"]

_SIDE = 28
# Sizes of the official split: OpenML's mnist_784 has the 60,000 training images
# first and the 10,000 test images last.
_N_TRAIN = 60_000
_N_TEST = 10_000

_IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_SUBSETS = {"train": ("train",), "test": ("test",), "all": ("train", "test")}

# IDX type codes (third byte of the magic number) and their big-endian dtypes.
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_DESCR = """\
MNIST handwritten digits
------------------------

70,000 greyscale images of handwritten digits 0-9, 28 x 28 pixels, split into the
official 60,000 training and 10,000 test images (Y. LeCun, C. Cortes and C. J. C.
Burges). Each image is a row of 784 pixels in row-major order (``images`` holds the
same values as 28 x 28 arrays); ``target`` is the digit.

================= ================================================
Samples total     70,000 (``subset="train"``: 60,000, ``"test"``: 10,000)
Dimensionality    784 (28 x 28)
Features          pixels, uint8 0-255, or float32 in [0, 1] with ``scale=True``
Classes           10 (the digits 0-9)
================= ================================================

References
----------
Y. LeCun, L. Bottou, Y. Bengio and P. Haffner, "Gradient-based learning applied to
document recognition", Proceedings of the IEEE, 86(11), 1998.
"""


def _read_idx(path):
    """Read one IDX file (optionally gzip-compressed) into a NumPy array.

    The format: a 4-byte magic number (two zero bytes, a type code and the number
    of dimensions), one big-endian uint32 per dimension, then the data, big-endian,
    in row-major order. Raises ValueError for a bad magic number or a file whose
    data is shorter or longer than its dimensions say.
    """
    path = Path(path)
    with open(path, "rb") as f:
        compressed = f.read(2) == b"\x1f\x8b"
    opener = gzip.open if compressed else open
    try:
        with opener(path, "rb") as f:
            # A bytearray, so that the arrays built on it are writable.
            raw = bytearray(f.read())
    except (OSError, EOFError) as exc:  # a damaged gzip stream
        raise ValueError(f"Cannot read the IDX file {path}: {exc}") from exc
    if len(raw) < 4:
        raise ValueError(
            f"{path} is not an IDX file: {len(raw)} bytes, too short for the "
            "4-byte magic number."
        )
    magic = int.from_bytes(raw[:4], "big")
    zeros, type_code, ndim = bytes(raw[:2]), raw[2], raw[3]
    if zeros != b"\x00\x00" or type_code not in _IDX_DTYPES or ndim == 0:
        raise ValueError(
            f"{path} is not an IDX file: bad magic number {magic:#010x} (expected "
            "two zero bytes, a type code among "
            f"{', '.join(f'{c:#04x}' for c in _IDX_DTYPES)} and a number of "
            "dimensions, e.g. 0x00000803 for MNIST images)."
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(
            f"The IDX file {path} is truncated: its header needs {header} bytes for "
            f"{ndim} dimensions, found {len(raw)}."
        )
    shape = tuple(
        int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)
    )
    dtype = _IDX_DTYPES[type_code]
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        what = "truncated" if len(raw) < expected else "longer than its header says"
        raise ValueError(
            f"The IDX file {path} is {what}: shape {shape} of {dtype.name} needs "
            f"{expected} bytes, found {len(raw)}."
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="), copy=False)


def _find_idx(directory, name):
    """Return the path of IDX file ``name`` (or ``name.gz``) in ``directory``."""
    for candidate in (name, name + ".gz"):
        if (directory / candidate).is_file():
            return directory / candidate
    return None


def _load_idx_dir(directory, parts):
    """Read the IDX files of ``parts`` ("train", "test") from ``directory``."""
    paths = {}
    missing = []
    for part in parts:
        for name in _IDX_FILES[part]:
            found = _find_idx(directory, name)
            if found is None:
                missing.append(name)
            paths[name] = found
    if missing:
        raise FileNotFoundError(
            f"{directory} lacks the MNIST IDX file(s) {', '.join(missing)} "
            "(each may also be gzip-compressed, with a .gz suffix)."
        )
    arrays = []
    for part in parts:
        images_name, labels_name = _IDX_FILES[part]
        images = _read_idx(paths[images_name])
        labels = _read_idx(paths[labels_name])
        arrays.append(
            _check_part(images, labels, paths[images_name], paths[labels_name])
        )
    return arrays


def _load_npz(path, parts):
    """Read ``x_<part>`` and ``y_<part>`` of each part from an ``.npz`` file."""
    keys = {"train": ("x_train", "y_train"), "test": ("x_test", "y_test")}
    try:
        npz = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise ValueError(f"Cannot read {path} as an .npz file: {exc}") from exc
    if not hasattr(npz, "files"):
        raise ValueError(
            f"{path} holds a single array (.npy), not an .npz archive of x_train, "
            "y_train, x_test and y_test."
        )
    with npz:
        needed = [k for part in parts for k in keys[part]]
        missing = [k for k in needed if k not in npz.files]
        if missing:
            raise ValueError(
                f"{path} lacks the key(s) {', '.join(missing)}; an MNIST .npz file "
                f"has x_train, y_train, x_test and y_test, found {npz.files}."
            )
        return [
            _check_part(npz[x_key], npz[y_key], f"{path}[{x_key}]", f"{path}[{y_key}]")
            for x_key, y_key in (keys[part] for part in parts)
        ]


def _check_part(images, labels, images_source, labels_source):
    """Check one part's images and labels; return them as (n, 784) uint8, int64."""
    images = np.asarray(images)
    labels = np.asarray(labels)
    if images.ndim == 2 and images.shape[1] == _SIDE * _SIDE:
        images = images.reshape(-1, _SIDE, _SIDE)
    if images.ndim != 3 or images.shape[1:] != (_SIDE, _SIDE):
        raise ValueError(
            f"{images_source} should hold 28 x 28 images, an array of shape "
            f"(n_samples, 28, 28) or (n_samples, 784); got shape {images.shape}."
        )
    if labels.ndim != 1 or len(labels) != len(images):
        raise ValueError(
            f"{labels_source} should hold one label per image, shape "
            f"({len(images)},); got shape {labels.shape}."
        )
    if images.dtype != np.uint8:
        if not (
            np.issubdtype(images.dtype, np.number)
            and np.all((images >= 0) & (images <= 255) & (images == np.round(images)))
        ):
            raise ValueError(
                f"{images_source} should hold pixel values 0-255 (uint8); got "
                f"dtype {images.dtype} with other values."
            )
        images = images.astype(np.uint8)
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"{labels_source} should hold integer labels; got dtype {labels.dtype}."
        )
    if len(labels) and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(
            f"{labels_source} should hold the digits 0-9; got labels from "
            f"{labels.min()} to {labels.max()}."
        )
    return images.reshape(len(images), -1), labels.astype(np.int64)


def _load_path(path, parts):
    path = Path(path)
    if path.is_dir():
        return _load_idx_dir(path, parts)
    if path.is_file():
        return _load_npz(path, parts)
    raise FileNotFoundError(
        f"path={str(path)!r} does not exist: give an .npz file with x_train, "
        "y_train, x_test and y_test, or a directory holding the four MNIST IDX files."
    )


def _local_candidates(data_home):
    """Return the places looked at, in order, when ``path`` is None."""
    return [
        data_home / "mnist.npz",
        data_home / "mnist" / "mnist.npz",
        data_home / "mnist",
    ]


def _has_idx_files(directory, parts):
    return directory.is_dir() and all(
        _find_idx(directory, name) is not None
        for part in parts
        for name in _IDX_FILES[part]
    )


def _fetch_openml_mnist(data_home):
    """Fetch OpenML's mnist_784 (cached by scikit-learn); return train and test."""
    try:
        import pandas  # noqa: F401
    except ImportError:
        kwargs = {"parser": "liac-arff"}
    else:
        # pandas parses 70,000 x 784 values in seconds, liac-arff in minutes. The
        # label column (the 785th) is read as strings: scikit-learn up to 1.9.1
        # reads it as a category and then strips quotes assuming string categories,
        # which pandas 3.1 no longer gives for digits (scikit-learn issue #34892).
        kwargs = {"parser": "pandas", "read_csv_kwargs": {"dtype": {784: "str"}}}
    X, y = fetch_openml(
        "mnist_784",
        version=1,
        data_home=data_home,
        as_frame=False,
        return_X_y=True,
        **kwargs,
    )
    n_samples = _N_TRAIN + _N_TEST
    if X.shape != (n_samples, _SIDE * _SIDE) or y.shape != (n_samples,):
        raise ValueError(
            f"OpenML's mnist_784 should have {n_samples} rows of 784 pixels and one "
            f"label each; got data of shape {X.shape} and target of shape {y.shape}. "
            "Clear scikit-learn's OpenML cache (under data_home/openml) and retry."
        )
    # OpenML stores the labels as the strings "0".."9".
    y = np.asarray(y).astype(np.int64)
    return [
        _check_part(X[:_N_TRAIN], y[:_N_TRAIN], "OpenML mnist_784", "its target"),
        _check_part(X[_N_TRAIN:], y[_N_TRAIN:], "OpenML mnist_784", "its target"),
    ]


def _save_npz(path, parts):
    """Keep the fetched data as ``mnist.npz`` so that later loads parse no ARFF."""
    (x_train, y_train), (x_test, y_test) = parts
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
    try:
        np.savez_compressed(
            tmp,
            x_train=x_train.reshape(-1, _SIDE, _SIDE),
            y_train=y_train.astype(np.uint8),
            x_test=x_test.reshape(-1, _SIDE, _SIDE),
            y_test=y_test.astype(np.uint8),
        )
        os.replace(tmp, path)  # atomic: a reader never sees half a file
    except OSError:
        # A read-only data home: the data is loaded all the same, just not kept.
        tmp.unlink(missing_ok=True)


def load_mnist(
    *,
    subset="train",
    path=None,
    data_home=None,
    scale=True,
    return_X_y=False,
    download_if_missing=True,
):
    """Load the MNIST handwritten digits (classification, 28 x 28 images).

    ================= ============================
    Classes           10 (the digits 0-9)
    Samples           60,000 train, 10,000 test
    Dimensionality    784 (28 x 28 pixels)
    Features          pixels, float32 in [0, 1]
    ================= ============================

    The data comes from the first of these that exists:

    1. ``path``, when given: an ``.npz`` file with the arrays ``x_train``,
       ``y_train``, ``x_test`` and ``y_test`` (images of shape (n, 28, 28) or
       (n, 784), uint8), or a directory holding the four official IDX files
       ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
       ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each possibly
       gzip-compressed with a ``.gz`` suffix (only the files of ``subset`` are
       needed). A missing ``path`` is an error, never a download.
    2. In scikit-learn's data home (``data_home``, see
       :func:`sklearn.datasets.get_data_home`): ``<data_home>/mnist.npz``, then
       ``<data_home>/mnist/mnist.npz``, then the IDX files in ``<data_home>/mnist/``.
    3. OpenML's ``mnist_784``, through :func:`sklearn.datasets.fetch_openml` with
       scikit-learn's cache in ``<data_home>/openml``; its first 60,000 rows are the
       official training set and the last 10,000 the test set. The result is then
       kept as ``<data_home>/mnist/mnist.npz`` (about 11 MB), so that later calls
       read that file instead of parsing OpenML's ARFF file again.

    Parameters
    ----------
    subset : {"train", "test", "all"}, default="train"
        The 60,000 training images, the 10,000 test images, or all 70,000 with the
        training images first.

    path : str, path-like or None, default=None
        An ``.npz`` file or a directory of IDX files, as above. None searches
        ``data_home`` and then OpenML.

    data_home : str, path-like or None, default=None
        scikit-learn's data home, searched and used as the download cache; None
        is ``~/scikit_learn_data`` or the ``SCIKIT_LEARN_DATA`` environment
        variable.

    scale : bool, default=True
        If True, pixels are float32 in [0, 1] (divided by 255). float32 is
        deliberate: half the memory of float64, and what skae computes in
        anyway. If False, pixels are the raw uint8 values 0-255.

    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    download_if_missing : bool, default=True
        If False and no local copy is found, raise an :class:`OSError` instead of
        downloading from OpenML.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object, with the following attributes.

        data : ndarray of shape (n_samples, 784)
            The images as rows of pixels, in row-major order; float32 in [0, 1]
            or uint8 (``scale=False``).
        target : ndarray of shape (n_samples,)
            The digits, int64 from 0 to 9.
        images : ndarray of shape (n_samples, 28, 28)
            The same pixels as images: a view of ``data``.
        feature_names : list of str
            ``"pixel_<row>_<column>"``, from ``"pixel_0_0"`` to ``"pixel_27_27"``.
        target_names : ndarray of shape (10,)
            The digits 0 to 9.
        DESCR : str
            A description of the data set.

    (data, target) : tuple if ``return_X_y`` is True
        The ``data`` and ``target`` arrays above.

    Raises
    ------
    OSError
        If ``path`` does not exist (:class:`FileNotFoundError`), or if
        ``download_if_missing=False`` and no local copy is found.
    ValueError
        If a file is not what it should be: a bad IDX magic number, a truncated
        file, missing keys, wrong shapes or labels outside 0-9.

    See Also
    --------
    sklearn.datasets.load_digits : 8 x 8 digits, bundled with scikit-learn.

    Examples
    --------
    >>> from skae.datasets import load_mnist
    >>> X, y = load_mnist(return_X_y=True)  # doctest: +SKIP
    >>> X.shape, X.dtype, y[:5]  # doctest: +SKIP
    ((60000, 784), dtype('float32'), array([5, 0, 4, 1, 9]))
    """
    if subset not in _SUBSETS:
        raise ValueError(f"subset must be 'train', 'test' or 'all', got {subset!r}.")
    parts = _SUBSETS[subset]
    if path is not None:
        arrays = _load_path(path, parts)
    else:
        home = Path(get_data_home(data_home))
        candidates = _local_candidates(home)
        arrays = None
        for candidate in candidates:
            if candidate.suffix == ".npz" and candidate.is_file():
                arrays = _load_npz(candidate, parts)
                break
            if candidate.suffix != ".npz" and _has_idx_files(candidate, parts):
                arrays = _load_idx_dir(candidate, parts)
                break
        if arrays is None:
            if not download_if_missing:
                raise OSError(
                    "MNIST was not found locally and download_if_missing=False. "
                    "Looked for "
                    + ", ".join(str(c) for c in candidates[:2])
                    + f" and the IDX files {', '.join(_IDX_FILES['train'])}, "
                    f"{', '.join(_IDX_FILES['test'])} (or .gz) in {candidates[2]}. "
                    "Put one there, pass path= to an .npz file or a directory of "
                    "IDX files, or set download_if_missing=True to fetch OpenML's "
                    "mnist_784."
                )
            fetched = _fetch_openml_mnist(home)
            _save_npz(home / "mnist" / "mnist.npz", fetched)
            arrays = [fetched[0 if part == "train" else 1] for part in parts]

    if len(arrays) == 1:
        data, target = arrays[0]
    else:
        data = np.concatenate([x for x, _ in arrays])
        target = np.concatenate([y for _, y in arrays])
    if scale:
        data = data.astype(np.float32)
        data /= 255
    data = np.ascontiguousarray(data)
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        images=data.reshape(len(data), _SIDE, _SIDE),
        feature_names=[f"pixel_{r}_{c}" for r in range(_SIDE) for c in range(_SIDE)],
        target_names=np.arange(10),
        DESCR=_DESCR,
    )
