"""Variational autoencoder: Gaussian encoder, reparametrised code, decoder, ELBO."""

import math

import torch
from torch import nn
from torch.nn import functional as F

from skae.nn.modules import _dense_stack, _xavier_linear
from skae.nn.tabular import TableReconstructionLoss

_LOG_2PI = math.log(2 * math.pi)


class VAEModule(nn.Module):
    """A fully connected variational autoencoder (Kingma & Welling, 2014).

    The encoder maps ``x`` to the mean and log-variance of a diagonal Gaussian
    posterior over the code; the decoder maps a code back to the input space.

    Parameters
    ----------
    n_features : int
        Width of the input and of the reconstruction.
    hidden_layer_sizes : sequence of int
        Encoder widths; the last one is the code size. The decoder mirrors them.
    activation : str, default="relu"
        Activation of the hidden layers.
    out_activation : str, default="identity"
        Activation of the reconstruction ("logistic" for Bernoulli pixels).
    n_outputs : int or None, default=None
        Width of the reconstruction; None means ``n_features``. A table's encoded
        input (one-hot levels and missing-indicators) is wider than its output
        (a number or the levels' logits per column).
    """

    def __init__(
        self,
        n_features,
        hidden_layer_sizes,
        activation="relu",
        out_activation="identity",
        n_outputs=None,
    ):
        super().__init__()
        *hidden, n_components = hidden_layer_sizes
        self.n_components = n_components
        sizes = [n_features, *hidden]
        self.body = _dense_stack(sizes, [activation] * len(hidden))
        self.mean = _xavier_linear(sizes[-1], n_components)
        self.log_var = _xavier_linear(sizes[-1], n_components)
        self.decoder = _dense_stack(
            [n_components, *hidden[::-1], n_outputs or n_features],
            [activation] * len(hidden) + [out_activation],
        )

    def posterior(self, x):
        """``(batch, n_features) -> ((batch, n_components), (batch, n_components))``.

        Mean and log-variance of the posterior.
        """
        h = self.body(x)
        return self.mean(h), self.log_var(h)

    def encode(self, x):
        """``(batch, n_features) -> (batch, n_components)``: the posterior mean."""
        return self.posterior(x)[0]

    def decode(self, z):
        """``(batch, n_components) -> (batch, n_outputs)``."""
        return self.decoder(z)

    def forward(self, x):
        """``(batch, n_features) -> (reconstruction, mean, log_var)``.

        In training mode the code is sampled with the reparametrisation trick; in
        evaluation mode it is the posterior mean.
        """
        mean, log_var = self.posterior(x)
        z = mean
        if self.training:
            z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
        return self.decode(z), mean, log_var


def reconstruction_nll(reconstruction, target, kind):
    """Per-sample negative log-likelihood of ``target``, in nats.

    ``(batch, n_features), (batch, n_features) -> (batch,)``. ``kind="bce"`` is a
    Bernoulli likelihood (``reconstruction`` in (0, 1)); ``kind="mse"`` a Gaussian of
    unit variance, constant included, so that the result is a true log-density.
    """
    if kind == "bce":
        nll = F.binary_cross_entropy(reconstruction, target, reduction="none")
    elif kind == "mse":
        nll = 0.5 * ((reconstruction - target).square() + _LOG_2PI)
    else:
        raise ValueError(f"Unknown reconstruction loss {kind!r}.")
    return nll.sum(dim=1)


def table_nll(table_loss, reconstruction, target):
    """Per-sample negative log-likelihood of a table's observed cells, in nats.

    ``(batch, n_outputs), (batch, n_columns) -> (batch,)``. ``table_loss`` is a
    :class:`~skae.nn.TableReconstructionLoss` with ``kind="mse"``: a category's
    term is its cross-entropy (the log-probability of its level), a number's the
    Gaussian of unit variance of :func:`reconstruction_nll` on its standardised
    value. Missing cells add nothing: the bound is that of the observed cells.
    """
    errors, observed = table_loss.per_column(reconstruction, target)
    numeric = table_loss.numeric_targets
    # per_column gives a number's squared error (0 where missing); the Gaussian's
    # negative log-density is half of it plus half log(2 pi) per observed cell.
    squared = errors[:, numeric].sum(dim=1)
    n_numbers = observed[:, numeric].sum(dim=1).to(errors.dtype)
    return errors.sum(dim=1) - 0.5 * squared + 0.5 * _LOG_2PI * n_numbers


def kl_to_standard_normal(mean, log_var):
    """Per-sample ``KL(N(mean, exp(log_var)) || N(0, I))``.

    ``(batch, k), (batch, k) -> (batch,)``.
    """
    return -0.5 * (1 + log_var - mean.square() - log_var.exp()).sum(dim=1)


class VAELoss(nn.Module):
    """Reconstruction negative log-likelihood plus ``beta`` times the KL divergence.

    Summed over features and code units, averaged over the batch: nats per sample.

    Parameters
    ----------
    kind : {"bce", "mse"}, default="mse"
        The likelihood, see :func:`reconstruction_nll`.
    beta : float, default=1.0
        Weight of the KL term (1 gives the negative ELBO).
    table : dict or None, default=None
        The output map of a table (``numeric`` and ``categorical``, as
        :class:`~skae.nn.TableReconstructionLoss` takes them): the reconstruction
        term is then :func:`table_nll`, the target one value per column, and
        ``kind`` must be "mse".
    """

    def __init__(self, kind="mse", beta=1.0, table=None):
        super().__init__()
        self.kind = kind
        self.beta = beta
        self.table = None
        if table is not None:
            if kind != "mse":
                raise ValueError(
                    f"A table's likelihood needs kind='mse', got {kind!r}."
                )
            self.table = TableReconstructionLoss(**table, kind="mse")

    def reconstruction_nll(self, reconstruction, target):
        """Per-sample negative log-likelihood: ``-> (batch,)``."""
        if self.table is not None:
            return table_nll(self.table, reconstruction, target)
        return reconstruction_nll(reconstruction, target, self.kind)

    def per_sample(self, output, target):
        """Each sample's loss.

        ``((batch, n_features), (batch, k), (batch, k)), (batch, n_features) ->
        (batch,)``.
        """
        reconstruction, mean, log_var = output
        nll = self.reconstruction_nll(reconstruction, target)
        return nll + self.beta * kl_to_standard_normal(mean, log_var)

    def forward(self, output, target):
        """Mean loss of a batch.

        ``((batch, n_features), (batch, k), (batch, k)), (batch, n_features) -> ()``.
        """
        return self.per_sample(output, target).mean()


def elbo(module, x, eps, criterion, target=None):
    """Per-sample evidence lower bound, in nats: ``(batch, n_features) -> (batch,)``.

    The expectation over the posterior is estimated with the given standard normal
    draws ``eps`` of shape ``(n_draws, n_components)``, the same for every sample, so
    that a sample's estimate does not depend on the rest of the batch. The
    likelihood is ``criterion``'s (a :class:`VAELoss`; its ``beta`` is not used:
    the bound has the plain KL term). ``target`` is what the decoder reconstructs,
    ``x`` itself when None (a table's is one value per column).
    """
    mean, log_var = module.posterior(x)
    z = mean + torch.exp(0.5 * log_var) * eps[:, None, :]  # (n_draws, batch, k)
    reconstruction = module.decode(z.reshape(-1, z.shape[-1]))
    target = (x if target is None else target).repeat(len(eps), 1)
    nll = criterion.reconstruction_nll(reconstruction, target)
    nll = nll.reshape(len(eps), -1)
    return -(nll.mean(dim=0) + kl_to_standard_normal(mean, log_var))
