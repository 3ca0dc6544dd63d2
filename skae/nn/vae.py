"""Variational autoencoder: Gaussian encoder, reparametrised code, decoder, ELBO."""

import math

import torch
from torch import nn
from torch.nn import functional as F

from skae.nn.modules import _dense_stack, _xavier_linear

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
    """

    def __init__(
        self,
        n_features,
        hidden_layer_sizes,
        activation="relu",
        out_activation="identity",
    ):
        super().__init__()
        *hidden, n_components = hidden_layer_sizes
        self.n_components = n_components
        sizes = [n_features, *hidden]
        self.body = _dense_stack(sizes, [activation] * len(hidden))
        self.mean = _xavier_linear(sizes[-1], n_components)
        self.log_var = _xavier_linear(sizes[-1], n_components)
        self.decoder = _dense_stack(
            [n_components, *hidden[::-1], n_features],
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
        """``(batch, n_components) -> (batch, n_features)``."""
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
    """

    def __init__(self, kind="mse", beta=1.0):
        super().__init__()
        self.kind = kind
        self.beta = beta

    def per_sample(self, output, target):
        """Each sample's loss.

        ``((batch, n_features), (batch, k), (batch, k)), (batch, n_features) ->
        (batch,)``.
        """
        reconstruction, mean, log_var = output
        nll = reconstruction_nll(reconstruction, target, self.kind)
        return nll + self.beta * kl_to_standard_normal(mean, log_var)

    def forward(self, output, target):
        """Mean loss of a batch.

        ``((batch, n_features), (batch, k), (batch, k)), (batch, n_features) -> ()``.
        """
        return self.per_sample(output, target).mean()


def elbo(module, x, eps, kind):
    """Per-sample evidence lower bound, in nats: ``(batch, n_features) -> (batch,)``.

    The expectation over the posterior is estimated with the given standard normal
    draws ``eps`` of shape ``(n_draws, n_components)``, the same for every sample, so
    that a sample's estimate does not depend on the rest of the batch.
    """
    mean, log_var = module.posterior(x)
    z = mean + torch.exp(0.5 * log_var) * eps[:, None, :]  # (n_draws, batch, k)
    reconstruction = module.decode(z.reshape(-1, z.shape[-1]))
    target = x.repeat(len(eps), 1)
    nll = reconstruction_nll(reconstruction, target, kind).reshape(len(eps), -1)
    return -(nll.mean(dim=0) + kl_to_standard_normal(mean, log_var))
