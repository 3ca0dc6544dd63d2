"""Losses: per-sample values, their means, and the per-feature split."""

import math

import pytest
import torch

from skae.nn import MLPLoss, ReconstructionLoss, reconstruction_error


@pytest.mark.parametrize("kind", ["mse", "huber"])
def test_reconstruction_error_per_feature_averages_to_the_row_error(kind):
    torch.manual_seed(0)
    a, b = torch.randn(5, 3), torch.randn(5, 3)
    per_feature = reconstruction_error(a, b, kind, 0.5, per_feature=True)
    assert per_feature.shape == (5, 3)
    assert torch.allclose(
        per_feature.mean(dim=1), reconstruction_error(a, b, kind, 0.5)
    )


def test_huber_is_half_the_squared_error_within_delta_and_linear_beyond():
    zero = torch.zeros(1, 2)
    errors = torch.tensor([[0.2, 3.0]])
    per_feature = reconstruction_error(errors, zero, "huber", 1.0, per_feature=True)
    assert torch.allclose(per_feature, torch.tensor([[0.5 * 0.04, 3.0 - 0.5]]))


def test_reconstruction_loss_adds_the_code_penalty():
    loss = ReconstructionLoss(kind="mse", l1_code=0.5)
    reconstruction, code = torch.ones(2, 3), torch.full((2, 4), -2.0)
    value = loss((reconstruction, code), torch.zeros(2, 3))
    assert math.isclose(value.item(), 1.0 + 0.5 * 2.0)


def test_mlp_losses_per_sample():
    logits = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    ce = MLPLoss("log_loss").per_sample(logits, torch.tensor([0, 0]))
    assert ce[0] < ce[1]
    half_se = MLPLoss("squared_error").per_sample(torch.tensor([[1.0]]), torch.zeros(1))
    assert half_se.item() == 0.5
    with pytest.raises(ValueError, match="Unknown MLP loss"):
        MLPLoss("hinge")
