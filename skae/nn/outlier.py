"""Losses and errors for outlier detection with autoencoders.

Deep SAD's semi-supervised objective on the reconstruction error of an array or
of a table.
"""

import torch
from torch import nn

from skae.nn.losses import ReconstructionLoss
from skae.nn.tabular import TableReconstructionLoss


class SemiSupervisedReconstructionLoss(nn.Module):
    """Deep SAD's loss on the reconstruction error of labelled and unlabelled rows.

    The target is the input with each row's label appended as a last column:
    ``-1`` unlabelled, ``0`` a known normal row, ``1`` a known anomaly. With ``e``
    a row's reconstruction error (plus the code penalties of
    :class:`~skae.nn.ReconstructionLoss`), an unlabelled row costs ``e``, a known
    normal row ``eta * e``, and a known anomaly ``eta / (e + eps)``: its error is
    pushed up, ever more gently as it grows, as Deep SAD pushes an anomaly's
    distance to the centre.

    Parameters
    ----------
    kind, l1_code, delta, consistency
        As in :class:`~skae.nn.ReconstructionLoss`.
    numeric, categorical : list or None, default=None
        A table's output map, as in :class:`~skae.nn.TableReconstructionLoss`,
        whose error then stands for the reconstruction error; None for an
        array.
    eta : float, default=1.0
        Weight of the labelled rows.
    eps : float, default=1e-6
        Keeps the anomalies' term finite at a zero error.

    References
    ----------
    L. Ruff, R. A. Vandermeulen, N. Görnitz, A. Binder, E. Müller, K.-R. Müller
    and M. Kloft, "Deep semi-supervised anomaly detection", ICLR 2020.
    """

    def __init__(
        self,
        kind="mse",
        l1_code=0.0,
        delta=1.0,
        consistency=0.0,
        eta=1.0,
        eps=1e-6,
        numeric=None,
        categorical=None,
    ):
        super().__init__()
        kwargs = {
            "kind": kind,
            "l1_code": l1_code,
            "delta": delta,
            "consistency": consistency,
        }
        if numeric is None:
            self.base = ReconstructionLoss(**kwargs)
        else:
            self.base = TableReconstructionLoss(numeric, categorical, **kwargs)
        self.eta = eta
        self.eps = eps

    def reconstruction_error(self, reconstruction, target):
        """Each row's reconstruction error: ``-> (batch,)``."""
        return self.base.reconstruction_error(reconstruction, target)

    def per_column(self, reconstruction, target):
        """Each cell's error of a table, as the table's loss gives it."""
        return self.base.per_column(reconstruction, target)

    def per_sample(self, output, target):
        """Each row's loss.

        ``((batch, n_outputs), (batch, n_components)[, ...]), (batch, n_targets
        + 1) -> (batch,)``: the target's last column holds the labels.
        """
        X, label = target[:, :-1], target[:, -1]
        loss = self.base.per_sample(output, X)
        anomaly = self.eta / (self.reconstruction_error(output[0], X) + self.eps)
        weight = torch.where(label == 0, self.eta, 1.0).to(loss.dtype)
        return torch.where(label == 1, anomaly, weight * loss)

    def forward(self, output, target):
        """Mean loss of a batch."""
        return self.per_sample(output, target).mean()
