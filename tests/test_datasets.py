import gzip
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import sklearn.datasets._openml
from sklearn.utils import Bunch

import skae.datasets
from skae.datasets import load_mnist

# The shared MNIST .npz, or SKAE_MNIST pointing at one (as benchmarks/_mnist.py).
REAL_MNIST = Path(
    os.environ.get(
        "SKAE_MNIST",
        Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist.npz",
    )
)
IDX_NAMES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


# ----------------------------------------------------------------- test data


def make_split(n_train=7, n_test=4, seed=0):
    """Random MNIST-shaped uint8 images and labels, with distinct train and test."""
    rng = np.random.RandomState(seed)
    return {
        "x_train": rng.randint(0, 256, (n_train, 28, 28)).astype(np.uint8),
        "y_train": rng.randint(0, 10, n_train).astype(np.uint8),
        "x_test": rng.randint(0, 256, (n_test, 28, 28)).astype(np.uint8),
        "y_test": rng.randint(0, 10, n_test).astype(np.uint8),
    }


def idx_bytes(array):
    """Encode a uint8 array in the IDX format: magic, big-endian dims, data."""
    header = bytes([0, 0, 0x08, array.ndim])
    header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write_idx_dir(directory, split, compress=False):
    directory.mkdir(parents=True, exist_ok=True)
    for part, (images_name, labels_name) in IDX_NAMES.items():
        for name, array in (
            (images_name, split[f"x_{part}"]),
            (labels_name, split[f"y_{part}"]),
        ):
            if compress:
                with gzip.open(directory / (name + ".gz"), "wb") as f:
                    f.write(idx_bytes(array))
            else:
                (directory / name).write_bytes(idx_bytes(array))
    return directory


def expected(split, subset):
    parts = {"train": ["train"], "test": ["test"], "all": ["train", "test"]}[subset]
    X = np.concatenate([split[f"x_{p}"].reshape(-1, 784) for p in parts])
    y = np.concatenate([split[f"y_{p}"] for p in parts]).astype(np.int64)
    return X, y


@pytest.fixture
def split():
    return make_split()


@pytest.fixture
def no_network(monkeypatch):
    """Fail any attempt of scikit-learn's OpenML code to reach the network."""

    def refuse(request, *args, **kwargs):
        url = getattr(request, "full_url", request)
        raise AssertionError(f"the test tried to download {url}")

    monkeypatch.setattr(sklearn.datasets._openml, "urlopen", refuse)


# ------------------------------------------------------------ local sources


@pytest.mark.parametrize("subset", ["train", "test", "all"])
def test_load_mnist_npz_subsets(tmp_path, split, subset):
    path = tmp_path / "digits.npz"
    np.savez(path, **split)
    X, y = expected(split, subset)

    bunch = load_mnist(path=path, subset=subset)
    assert isinstance(bunch, Bunch)
    assert bunch.data.shape == (len(X), 784) and bunch.data.dtype == np.float32
    np.testing.assert_array_equal(bunch.data, (X / 255).astype(np.float32))
    assert bunch.target.dtype == np.int64
    np.testing.assert_array_equal(bunch.target, y)
    assert bunch.images.shape == (len(X), 28, 28)
    assert np.shares_memory(bunch.images, bunch.data)
    np.testing.assert_array_equal(bunch.images[:, 3, 5], bunch.data[:, 3 * 28 + 5])
    assert len(bunch.feature_names) == 784
    assert bunch.feature_names[:2] == ["pixel_0_0", "pixel_0_1"]
    assert bunch.feature_names[28] == "pixel_1_0"
    assert bunch.feature_names[-1] == "pixel_27_27"
    np.testing.assert_array_equal(bunch.target_names, np.arange(10))
    assert "MNIST" in bunch.DESCR


def test_load_mnist_scale_false_and_return_X_y(tmp_path, split):
    path = tmp_path / "digits.npz"
    np.savez(path, **split)
    X, y = load_mnist(path=path, subset="all", scale=False, return_X_y=True)
    assert X.dtype == np.uint8 and y.dtype == np.int64
    np.testing.assert_array_equal(X, expected(split, "all")[0])
    np.testing.assert_array_equal(y, expected(split, "all")[1])
    X[0, 0] = 1  # a writable array of its own, not a read-only buffer

    Xs, _ = load_mnist(path=path, subset="all", return_X_y=True)
    assert Xs.min() >= 0 and Xs.max() <= 1
    np.testing.assert_allclose(Xs * 255, expected(split, "all")[0], atol=1e-4)


def test_load_mnist_npz_flat_images(tmp_path, split):
    flat = {
        k: v.reshape(len(v), -1) if k.startswith("x") else v for k, v in split.items()
    }
    np.savez(tmp_path / "flat.npz", **flat)
    X, y = load_mnist(path=tmp_path / "flat.npz", scale=False, return_X_y=True)
    np.testing.assert_array_equal(X, expected(split, "train")[0])


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("subset", ["train", "test", "all"])
def test_load_mnist_idx_directory(tmp_path, split, compress, subset):
    directory = write_idx_dir(tmp_path / "idx", split, compress=compress)
    X, y = load_mnist(path=directory, subset=subset, scale=False, return_X_y=True)
    np.testing.assert_array_equal(X, expected(split, subset)[0])
    np.testing.assert_array_equal(y, expected(split, subset)[1])
    X[0, 0] = 1  # writable


def test_load_mnist_idx_needs_only_the_subset_files(tmp_path, split):
    directory = write_idx_dir(tmp_path / "idx", split)
    for name in IDX_NAMES["train"]:
        (directory / name).unlink()
    X, _ = load_mnist(path=directory, subset="test", scale=False, return_X_y=True)
    np.testing.assert_array_equal(X, expected(split, "test")[0])
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load_mnist(path=directory, subset="train")


@pytest.mark.parametrize(
    "layout", ["mnist.npz", "mnist/mnist.npz", "mnist/idx", "mnist/idx.gz"]
)
def test_load_mnist_data_home_search(tmp_path, split, layout, no_network):
    home = tmp_path / "home"
    if layout.endswith(".npz"):
        (home / layout).parent.mkdir(parents=True, exist_ok=True)
        np.savez(home / layout, **split)
    else:
        write_idx_dir(home / "mnist", split, compress=layout.endswith(".gz"))
    X, y = load_mnist(
        data_home=home, subset="all", scale=False, return_X_y=True,
        download_if_missing=False,
    )  # fmt: skip
    np.testing.assert_array_equal(X, expected(split, "all")[0])
    np.testing.assert_array_equal(y, expected(split, "all")[1])


def test_load_mnist_data_home_from_environment(tmp_path, split, monkeypatch):
    # data_home=None is scikit-learn's data home, which SCIKIT_LEARN_DATA moves.
    np.savez(tmp_path / "mnist.npz", **split)
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path))
    X, _ = load_mnist(scale=False, return_X_y=True, download_if_missing=False)
    np.testing.assert_array_equal(X, expected(split, "train")[0])


def test_load_mnist_nothing_local_no_download(tmp_path, no_network):
    with pytest.raises(OSError, match="download_if_missing=False") as info:
        load_mnist(data_home=tmp_path, download_if_missing=False)
    message = str(info.value)
    assert str(tmp_path / "mnist.npz") in message
    assert str(tmp_path / "mnist" / "mnist.npz") in message
    assert "t10k-images-idx3-ubyte" in message and "path=" in message


def test_load_mnist_missing_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_mnist(path=tmp_path / "nowhere.npz")


# ------------------------------------------------------------------ bad files


def test_load_mnist_idx_bad_magic(tmp_path, split):
    directory = write_idx_dir(tmp_path / "idx", split)
    name = directory / "train-images-idx3-ubyte"
    name.write_bytes(b"\x12\x34" + name.read_bytes()[2:])
    with pytest.raises(ValueError, match="bad magic number 0x12340803"):
        load_mnist(path=directory)


def test_load_mnist_idx_truncated(tmp_path, split):
    directory = write_idx_dir(tmp_path / "idx", split)
    name = directory / "train-images-idx3-ubyte"
    name.write_bytes(name.read_bytes()[:-10])
    with pytest.raises(ValueError, match="truncated"):
        load_mnist(path=directory)
    name.write_bytes(name.read_bytes()[:9])  # not even the whole header
    with pytest.raises(ValueError, match="truncated: its header"):
        load_mnist(path=directory)


def test_load_mnist_idx_truncated_gzip(tmp_path, split):
    directory = write_idx_dir(tmp_path / "idx", split, compress=True)
    name = directory / "t10k-labels-idx1-ubyte.gz"
    name.write_bytes(name.read_bytes()[:-12])  # a cut gzip stream
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte.gz"):
        load_mnist(path=directory, subset="test")


def test_load_mnist_idx_wrong_image_size(tmp_path, split):
    directory = write_idx_dir(tmp_path / "idx", split)
    (directory / "train-images-idx3-ubyte").write_bytes(
        idx_bytes(np.zeros((7, 8, 8), np.uint8))
    )
    with pytest.raises(ValueError, match=r"28 x 28 images.*\(7, 8, 8\)"):
        load_mnist(path=directory)


def test_load_mnist_labels_mismatch(tmp_path, split):
    directory = write_idx_dir(tmp_path / "idx", split)
    (directory / "train-labels-idx1-ubyte").write_bytes(
        idx_bytes(np.zeros(3, np.uint8))
    )
    with pytest.raises(ValueError, match="one label per image"):
        load_mnist(path=directory)


def test_load_mnist_npz_missing_keys(tmp_path, split):
    np.savez(tmp_path / "part.npz", x_train=split["x_train"], y_train=split["y_train"])
    load_mnist(path=tmp_path / "part.npz", subset="train")  # enough for train
    with pytest.raises(ValueError, match="lacks the key.*x_test, y_test"):
        load_mnist(path=tmp_path / "part.npz", subset="all")


def test_load_mnist_npz_bad_labels(tmp_path, split):
    split["y_train"][0] = 10
    np.savez(tmp_path / "bad.npz", **split)
    with pytest.raises(ValueError, match="digits 0-9"):
        load_mnist(path=tmp_path / "bad.npz")


def test_load_mnist_not_an_npz(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="Cannot read .* as an .npz"):
        load_mnist(path=tmp_path / "junk.npz")


def test_load_mnist_npy_is_not_npz(tmp_path, split):
    with open(tmp_path / "x.npz", "wb") as f:
        np.save(f, split["x_train"])
    with pytest.raises(ValueError, match=r"single array \(.npy\)"):
        load_mnist(path=tmp_path / "x.npz")


def test_load_mnist_bad_subset(tmp_path):
    with pytest.raises(ValueError, match="subset must be"):
        load_mnist(subset="validation", data_home=tmp_path)


# ---------------------------------------------- OpenML, offline from the cache

DATA_ID, FILE_ID = 554, 52667
ARFF_URL = f"https://api.openml.org/data/v1/download/{FILE_ID}/mnist_784.arff"


def write_gz(path, data):
    """Write ``data`` gzipped to ``path`` + ".gz", as scikit-learn's cache does."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path.with_name(path.name + ".gz"), "wb") as f:
        f.write(data if isinstance(data, bytes) else json.dumps(data).encode())


def populate_openml_cache(data_home, X, y):
    """Write the files fetch_openml("mnist_784", version=1) reads from its cache.

    The same layout (``<data_home>/openml/openml.org/<url path>.gz``) and JSON
    documents as OpenML's API, for a small stand-in with mnist_784's columns.
    """
    lines = ["@RELATION mnist_784", ""]
    lines += [f"@ATTRIBUTE pixel{i} NUMERIC" for i in range(1, 785)]
    lines += ["@ATTRIBUTE class {0,1,2,3,4,5,6,7,8,9}", "", "@DATA"]
    lines += [
        ",".join(map(str, row)) + f",{label}" for row, label in zip(X, y, strict=True)
    ]
    arff = ("\n".join(lines) + "\n").encode()

    root = data_home / "openml" / "openml.org"
    api = root / "api" / "v1" / "json" / "data"
    write_gz(
        api / "list" / "data_name" / "mnist_784" / "limit" / "2" / "data_version" / "1",
        {
            "data": {
                "dataset": [
                    {"did": DATA_ID, "name": "mnist_784", "version": 1,
                     "status": "active", "format": "ARFF", "file_id": FILE_ID}
                ]
            }
        },
    )  # fmt: skip
    write_gz(
        api / str(DATA_ID),
        {
            "data_set_description": {
                "id": str(DATA_ID), "name": "mnist_784", "version": "1",
                "description": "A stand-in for MNIST", "format": "ARFF",
                "url": ARFF_URL, "file_id": str(FILE_ID),
                "default_target_attribute": "class", "status": "active",
                "md5_checksum": hashlib.md5(arff).hexdigest(),
            }
        },
    )  # fmt: skip
    features = [
        {"index": str(i), "name": f"pixel{i + 1}", "data_type": "numeric",
         "is_target": "false", "is_ignore": "false", "is_row_identifier": "false",
         "number_of_missing_values": "0"}
        for i in range(784)
    ]  # fmt: skip
    features.append(
        {"index": "784", "name": "class", "data_type": "nominal",
         "nominal_value": [str(d) for d in range(10)], "is_target": "true",
         "is_ignore": "false", "is_row_identifier": "false",
         "number_of_missing_values": "0"}
    )  # fmt: skip
    write_gz(api / "features" / str(DATA_ID), {"data_features": {"feature": features}})
    write_gz(
        api / "qualities" / str(DATA_ID),
        {"data_qualities": {"quality": [
            {"name": "NumberOfInstances", "value": f"{len(X)}.0"}
        ]}},
    )  # fmt: skip
    write_gz(root / "data" / "v1" / "download" / str(FILE_ID) / "mnist_784.arff", arff)


@pytest.fixture
def small_openml(tmp_path, monkeypatch, split):
    """A data home whose OpenML cache holds a 7 + 4 row mnist_784 stand-in."""
    # The split sizes are MNIST's 60,000 and 10,000; a stand-in that small needs
    # these two constants lowered. Everything else runs as on the real data.
    monkeypatch.setattr(skae.datasets, "_N_TRAIN", len(split["y_train"]))
    monkeypatch.setattr(skae.datasets, "_N_TEST", len(split["y_test"]))
    X, y = expected(split, "all")
    populate_openml_cache(tmp_path, X, y)
    return tmp_path


@pytest.mark.parametrize("parser", ["pandas", "liac-arff"])
def test_load_mnist_fetch_openml_from_cache(
    small_openml, split, no_network, monkeypatch, parser
):
    if parser == "liac-arff":
        # Without pandas, load_mnist falls back to scikit-learn's own ARFF parser.
        monkeypatch.setitem(sys.modules, "pandas", None)
    home = small_openml
    for subset in ("train", "test", "all"):
        (home / "mnist" / "mnist.npz").unlink(missing_ok=True)
        bunch = load_mnist(data_home=home, subset=subset, scale=False)
        X, y = expected(split, subset)
        assert bunch.data.dtype == np.uint8 and bunch.target.dtype == np.int64
        np.testing.assert_array_equal(bunch.data, X)
        np.testing.assert_array_equal(bunch.target, y)
        np.testing.assert_array_equal(bunch.images, X.reshape(-1, 28, 28))

    # The fetched data is kept as mnist.npz, read by later calls even without the
    # OpenML cache and with downloads forbidden.
    kept = home / "mnist" / "mnist.npz"
    with np.load(kept, allow_pickle=False) as npz:
        np.testing.assert_array_equal(npz["x_test"], split["x_test"])
    shutil.rmtree(home / "openml")
    X, y = load_mnist(
        data_home=home, subset="all", return_X_y=True, download_if_missing=False
    )
    np.testing.assert_array_equal(X, (expected(split, "all")[0] / 255).astype("f4"))


def test_load_mnist_fetch_openml_wrong_size(small_openml, monkeypatch, no_network):
    # A cached mnist_784 that is not 70,000 rows (here 11 rows for an expected 12)
    # must not be split silently at the wrong place.
    monkeypatch.setattr(skae.datasets, "_N_TRAIN", 8)
    with pytest.raises(ValueError, match="should have 12 rows"):
        load_mnist(data_home=small_openml)
    assert not (small_openml / "mnist" / "mnist.npz").exists()


# ------------------------------------------------------------ the real file


@pytest.mark.skipif(not REAL_MNIST.is_file(), reason=f"{REAL_MNIST} is absent")
def test_load_mnist_real_file():
    train = load_mnist(path=REAL_MNIST)
    assert train.data.shape == (60000, 784) and train.data.dtype == np.float32
    assert train.images.shape == (60000, 28, 28)
    assert train.data.min() == 0 and train.data.max() == 1
    np.testing.assert_array_equal(np.unique(train.target), np.arange(10))
    # Every digit is common: the smallest class has more than 5,000 images.
    assert np.bincount(train.target).min() > 5000
    np.testing.assert_array_equal(train.target[:5], [5, 0, 4, 1, 9])

    X_test, y_test = load_mnist(
        path=REAL_MNIST, subset="test", scale=False, return_X_y=True
    )
    assert X_test.shape == (10000, 784) and X_test.dtype == np.uint8
    assert X_test.max() == 255 and y_test.shape == (10000,)
    np.testing.assert_array_equal(y_test[:5], [7, 2, 1, 0, 4])
