"""Losses and errors for outlier detection with autoencoders.

Deep SAD's semi-supervised objective on the reconstruction error, and the
per-feature reconstruction error that explains a sample's score.
"""

import torch
from torch.nn import functional as F

from skae.nn.losses import ReconstructionLoss, reconstruction_error


def reconstruction_error_per_feature(reconstruction, target, kind="mse", delta=1.0):
    """Each feature's reconstruction error.

    ``(batch, n_features), (batch, n_features) -> (batch, n_features)``; its mean
    over the features is :func:`~skae.nn.reconstruction_error`. ``kind`` and
    ``delta`` are as there.
    """
    if kind == "mse":
        return (reconstruction - target).square()
    if kind == "huber":
        return F.huber_loss(reconstruction, target, reduction="none", delta=delta)
    if kind == "bce":
        return F.binary_cross_entropy(reconstruction, target, reduction="none")
    raise ValueError(f"Unknown reconstruction loss {kind!r}.")


class SemiSupervisedReconstructionLoss(ReconstructionLoss):
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
        self, kind="mse", l1_code=0.0, delta=1.0, consistency=0.0, eta=1.0, eps=1e-6
    ):
        super().__init__(
            kind=kind, l1_code=l1_code, delta=delta, consistency=consistency
        )
        self.eta = eta
        self.eps = eps

    def per_sample(self, output, target):
        """Each row's loss.

        ``((batch, n_features), (batch, n_components)[, ...]), (batch, n_features
        + 1) -> (batch,)``: the target's last column holds the labels.
        """
        X, label = target[:, :-1], target[:, -1]
        loss = super().per_sample(output, X)
        anomaly = self.eta / (
            reconstruction_error(output[0], X, self.kind, self.delta) + self.eps
        )
        weight = torch.where(label == 0, self.eta, 1.0).to(loss.dtype)
        return torch.where(label == 1, anomaly, weight * loss)
