"""Losses: reconstruction errors for autoencoders, and the MLPs' losses.

Each loss module has ``per_sample(output, target) -> (batch,)``, which training
with sample weights averages by weight, and a ``forward`` that is its mean.
"""

import torch
from torch import nn
from torch.nn import functional as F


def reconstruction_error(
    reconstruction, target, kind="mse", delta=1.0, *, per_feature=False
):
    """Per-sample reconstruction error, averaged over features.

    ``(batch, n_features), (batch, n_features) -> (batch,)``, or ``(batch,
    n_features)`` (each feature's error, not averaged) with ``per_feature``.
    ``kind`` is ``"mse"`` (squared error), ``"huber"`` (Huber's loss:
    ``0.5 * e**2`` where ``|e| <= delta``, ``delta * (|e| - 0.5 * delta)``
    beyond, so rare large errors count linearly) or ``"bce"`` (binary
    cross-entropy; ``reconstruction`` in (0, 1)).
    """
    if kind == "mse":
        err = (reconstruction - target).square()
    elif kind == "huber":
        err = F.huber_loss(reconstruction, target, reduction="none", delta=delta)
    elif kind == "bce":
        err = F.binary_cross_entropy(reconstruction, target, reduction="none")
    else:
        raise ValueError(f"Unknown reconstruction loss {kind!r}.")
    return err if per_feature else err.mean(dim=1)


def code_consistency(code, other):
    """Per-sample disagreement of two codes of the same samples.

    ``(batch, n_components), (batch, n_components) -> (batch,)``: each unit of each
    code is standardised over the batch, and the squared difference is averaged
    over the units. Its batch mean is ``2 * (1 - r)``, ``r`` the units' mean
    correlation between the two codes, so it cannot be lowered by shrinking the
    code.
    """

    def standardise(z):
        centred = z - z.mean(dim=0)
        return centred / (centred.square().mean(dim=0) + 1e-12).sqrt()

    return (standardise(code) - standardise(other)).square().mean(dim=1)


class ReconstructionLoss(nn.Module):
    """Mean reconstruction error plus an L1 penalty on the code.

    ``loss = mean(error) + l1_code * mean(|code|)``, both means over the batch and
    the units, so the two terms keep their scale whatever the widths. When the
    module returns a second code (two corruptions of the same batch), ``consistency
    * code_consistency(code, other)`` is added, see :func:`code_consistency`.

    Parameters
    ----------
    kind : {"mse", "huber", "bce"}, default="mse"
        Reconstruction error, see :func:`reconstruction_error`.
    l1_code : float, default=0.0
        Weight of the sparsity penalty on the code activations.
    delta : float, default=1.0
        Where Huber's loss turns from quadratic to linear (``kind="huber"``).
    consistency : float, default=0.0
        Weight of the consistency term, when there is a second code.
    """

    def __init__(self, kind="mse", l1_code=0.0, delta=1.0, consistency=0.0):
        super().__init__()
        self.kind = kind
        self.l1_code = l1_code
        self.delta = delta
        self.consistency = consistency

    def reconstruction_error(self, reconstruction, target):
        """Each sample's reconstruction error: ``-> (batch,)``."""
        return reconstruction_error(reconstruction, target, self.kind, self.delta)

    def per_sample(self, output, target):
        """Each sample's loss.

        ``((batch, n_features), (batch, n_components)[, (batch, n_components)]),
        (batch, n_features) -> (batch,)``.
        """
        reconstruction, code, *other = output
        loss = self.reconstruction_error(reconstruction, target)
        if self.l1_code:
            loss = loss + self.l1_code * code.abs().mean(dim=1)
        if self.consistency and other:
            loss = loss + self.consistency * code_consistency(code, other[0])
        return loss

    def forward(self, output, target):
        """Mean loss of a batch.

        ``((batch, n_features), (batch, n_components)), (batch, n_features) -> ()``.
        """
        return self.per_sample(output, target).mean()


class MLPLoss(nn.Module):
    """The losses of scikit-learn's MLPs, on the network's raw outputs.

    ``kind`` and the output activation it implies:

    - ``"log_loss"``: softmax cross-entropy; targets are class indices.
    - ``"binary_log_loss"``: logistic outputs, cross-entropy summed over the
      outputs (binary or multilabel); targets are 0/1 of shape (batch,) or
      (batch, n_outputs).
    - ``"squared_error"``: identity output, half the squared error averaged over
      the outputs.
    - ``"poisson"``: exponential output, the half Poisson deviance
      ``y log(y / mu) - y + mu`` summed over the outputs, with ``mu = exp(output)``.

    Parameters
    ----------
    kind : {"log_loss", "binary_log_loss", "squared_error", "poisson"}
        The loss.
    """

    def __init__(self, kind):
        super().__init__()
        if kind not in ("log_loss", "binary_log_loss", "squared_error", "poisson"):
            raise ValueError(f"Unknown MLP loss {kind!r}.")
        self.kind = kind

    def per_sample(self, output, target):
        """Each sample's loss: ``(batch, n_outputs), target -> (batch,)``."""
        if self.kind == "log_loss":
            return F.cross_entropy(output, target, reduction="none")
        if target.ndim == 1:
            target = target[:, None]
        target = target.to(output.dtype)
        if self.kind == "binary_log_loss":
            loss = F.binary_cross_entropy_with_logits(output, target, reduction="none")
            return loss.sum(dim=1)
        if self.kind == "squared_error":
            return 0.5 * (output - target).square().mean(dim=1)
        deviance = output.exp() - target * output + torch.xlogy(target, target) - target
        return deviance.sum(dim=1)

    def forward(self, output, target):
        """Mean loss of a batch: ``(batch, n_outputs), target -> ()``."""
        return self.per_sample(output, target).mean()
