"""Table corruption and the per-column loss: shapes, masks and gradients."""

import math

import torch

from skae.nn import SwapNoiseModule, TableNoiseModule, TableReconstructionLoss

# Two columns: a number (input 0) and a category of three levels (inputs 1-3),
# then their indicators (inputs 4 and 5).
MAP = {"input_columns": [0, 1, 1, 1, 0, 1], "indicators": [4, 5], "numeric_inputs": [0]}


def _rows(n=64):
    x = torch.zeros(n, 6)
    x[:, 0] = torch.arange(n, dtype=torch.float32)
    x[torch.arange(n), 1 + torch.arange(n) % 3] = 1.0
    return x


def test_swap_noise_takes_values_from_the_same_feature():
    torch.manual_seed(0)
    x = torch.arange(12.0).reshape(4, 3)
    noise = SwapNoiseModule(0.5).train()
    out = noise(x)
    for j in range(3):
        assert set(out[:, j].tolist()) <= set(x[:, j].tolist())
    assert torch.equal(noise.eval()(x), x)


def test_table_swap_noise_moves_whole_cells():
    torch.manual_seed(0)
    x = _rows()
    out = TableNoiseModule("swap", 0.5, **MAP).train()(x)
    # A category's block stays one-hot; numbers come from the same column.
    assert torch.equal(out[:, 1:4].sum(dim=1), torch.ones(len(x)))
    assert set(out[:, 0].tolist()) <= set(x[:, 0].tolist())
    assert not torch.equal(out, x)


def test_table_mask_noise_hides_cells():
    torch.manual_seed(0)
    out = TableNoiseModule("mask", 0.5, **MAP).train()(_rows())
    hidden = out[:, 5] == 1
    assert hidden.any() and (~hidden).any()
    assert torch.equal(out[hidden, 1:4], torch.zeros(int(hidden.sum()), 3))


def test_table_noise_is_off_in_evaluation_mode():
    x = _rows()
    for kind in ("swap", "mask", "gaussian"):
        assert torch.equal(TableNoiseModule(kind, 0.5, **MAP).eval()(x), x)


def test_table_loss_leaves_missing_cells_out():
    loss = TableReconstructionLoss(
        numeric=[[0, 0]], categorical=[[1, 4, 1]], kind="mse"
    )
    reconstruction = torch.tensor([[1.0, 0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]])
    target = torch.tensor([[3.0, 2.0], [math.nan, 2.0]])
    errors, observed = loss.per_column(reconstruction, target)
    assert observed.tolist() == [[True, True], [False, True]]
    assert errors[0, 0].item() == 4.0 and errors[1, 0].item() == 0.0
    assert torch.allclose(errors[:, 1], torch.full((2,), math.log(3.0)))
    rows = loss.reconstruction_error(reconstruction, target)
    assert torch.allclose(rows, torch.tensor([(4 + math.log(3)) / 2, math.log(3)]))


def test_table_loss_has_finite_gradients_with_missing_cells():
    loss = TableReconstructionLoss(numeric=[[0, 0]], categorical=[[1, 4, 1]])
    reconstruction = torch.zeros(3, 4, requires_grad=True)
    code = torch.zeros(3, 2)
    target = torch.tensor([[1.0, 0.0], [math.nan, math.nan], [0.5, 1.0]])
    loss((reconstruction, code), target).backward()
    assert torch.isfinite(reconstruction.grad).all()
    assert torch.equal(reconstruction.grad[1], torch.zeros(4))
