"""Batches and tensors: what the training loop and inference are fed."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from skae.nn import TensorBatchIterator
from skae.nn.data import (
    SparseRows,
    all_finite,
    as_tensor,
    batch_rows,
    cast_rows,
    make_dataset,
)


def test_as_tensor_wraps_without_copy_and_casts_when_needed():
    X = np.arange(6, dtype=np.float32).reshape(3, 2)
    Xt = as_tensor(X)
    assert Xt.dtype == torch.float32 and Xt.data_ptr() == X.ctypes.data
    X64 = as_tensor(X.astype(np.float64), torch.float64)
    assert X64.dtype == torch.float64
    read_only = X.copy()
    read_only.flags.writeable = False
    assert torch.equal(as_tensor(read_only), Xt)


def test_as_tensor_refuses_float64_beyond_float32():
    with pytest.raises(ValueError, match="too large for float32"):
        as_tensor(np.array([[1e300, 0.0]]))


def test_sparse_rows_give_dense_batches_and_sparse_subsets():
    X = sp.random(10, 4, density=0.3, format="csr", random_state=0)
    rows = as_tensor(X)
    assert isinstance(rows, SparseRows) and len(rows) == 10
    assert torch.allclose(rows[2:5], torch.from_numpy(X[2:5].toarray()).float())
    picked = rows.index_select(0, torch.tensor([7, 1]))
    assert torch.allclose(picked, torch.from_numpy(X[[7, 1]].toarray()).float())
    subset = rows[torch.tensor([True] * 5 + [False] * 5)]
    assert isinstance(subset, SparseRows) and len(subset) == 5


def test_batch_rows_caps_wide_sparse_batches():
    wide = as_tensor(sp.csr_matrix((5, 2**22), dtype=np.float32))
    assert batch_rows(wide, 4096) == 4
    assert batch_rows(torch.zeros(5, 3), 4096) == 4096


def test_batch_iterator_covers_every_row_once_per_pass():
    X = torch.arange(10.0)[:, None]
    torch.manual_seed(0)
    batches = list(TensorBatchIterator(make_dataset(X), batch_size=4, shuffle=True))
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    seen = torch.cat([b[0] for b in batches]).flatten()
    assert sorted(seen.tolist()) == list(range(10))
    # One tensor: the input is its own target.
    assert all(b[0] is b[1] for b in batches)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, ">f8"])
@pytest.mark.parametrize("layout", ["contiguous", "read-only", "fortran", "reversed"])
def test_all_finite_finds_every_bad_cell_of_a_large_array(dtype, layout):
    # Large arrays are summed by torch when it can view them, else by NumPy; a
    # single NaN or inf anywhere is found either way, and huge finite values
    # (whose sum overflows) are a false alarm the caller then checks closer.
    X = np.random.default_rng(0).standard_normal((300, 40)).astype(dtype)

    def laid_out(A):
        A = {"fortran": np.asfortranarray, "reversed": lambda B: B[::-1]}.get(
            layout, np.array
        )(A)
        A.flags.writeable = layout != "read-only"
        return A

    assert all_finite(laid_out(X))
    for cell in [(0, 0), (123, 17), (299, 39)]:
        for bad in (np.nan, np.inf, -np.inf):
            Y = X.copy()
            Y[cell] = bad
            assert not all_finite(laid_out(Y))
    Y = X.copy()
    Y[:2] = np.finfo(Y.dtype).max
    with np.errstate(over="ignore"):
        assert not np.isfinite(Y.sum())  # what makes the first pass say False
    assert not all_finite(laid_out(Y))


def test_cast_rows_refuses_what_float32_cannot_hold():
    X = torch.from_numpy(np.random.default_rng(0).standard_normal((5000, 3)))
    assert cast_rows(X, torch.float64) is X
    np.testing.assert_array_equal(cast_rows(X, torch.float32), X.numpy().astype("f4"))
    X[4321, 1] = -1e39
    with pytest.raises(ValueError, match="values too large for float32"):
        cast_rows(X, torch.float32)
    X[4321, 1] = float(np.finfo(np.float32).max)  # finite, though the sum overflows
    assert torch.isfinite(cast_rows(X, torch.float32)).all()
