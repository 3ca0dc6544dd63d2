"""Reconstruction losses for autoencoders."""

from torch import nn
from torch.nn import functional as F


def reconstruction_error(reconstruction, target, kind="mse"):
    """Per-sample reconstruction error, averaged over features.

    ``(batch, n_features), (batch, n_features) -> (batch,)``. ``kind`` is ``"mse"``
    (squared error) or ``"bce"`` (binary cross-entropy; ``reconstruction`` in (0, 1)).
    """
    if kind == "mse":
        err = (reconstruction - target).square()
    elif kind == "bce":
        err = F.binary_cross_entropy(reconstruction, target, reduction="none")
    else:
        raise ValueError(f"Unknown reconstruction loss {kind!r}.")
    return err.mean(dim=1)


class ReconstructionLoss(nn.Module):
    """Mean reconstruction error plus an L1 penalty on the code.

    ``loss = mean(error) + l1_code * mean(|code|)``, both means over the batch and
    the units, so the two terms keep their scale whatever the widths.

    Parameters
    ----------
    kind : {"mse", "bce"}, default="mse"
        Reconstruction error, see :func:`reconstruction_error`.
    l1_code : float, default=0.0
        Weight of the sparsity penalty on the code activations.
    """

    def __init__(self, kind="mse", l1_code=0.0):
        super().__init__()
        self.kind = kind
        self.l1_code = l1_code

    def forward(self, output, target):
        """Mean loss of a batch.

        ``((batch, n_features), (batch, n_components)), (batch, n_features) -> ()``.
        """
        reconstruction, code = output
        loss = reconstruction_error(reconstruction, target, self.kind).mean()
        if self.l1_code:
            loss = loss + self.l1_code * code.abs().mean()
        return loss
