"""Variational autoencoder: Gaussian encoder, reparametrised code, decoder, ELBO."""

import math

import torch
from torch import nn
from torch.nn import functional as F

from skae.nn.modules import _dense_stack, _xavier_linear
from skae.nn.tabular import TableReconstructionLoss

_LOG_2PI = math.log(2 * math.pi)

# The smallest standard deviation a table's number may learn (in standardised
# units): a column the decoder predicts exactly (a constant, or a count with few
# values) would otherwise drive its likelihood, and the loss, to minus infinity.
MIN_SCALE = 1e-3


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
    n_scales : int, default=0
        Number of learnt standard deviations, one per numeric column of a
        table (see :meth:`scale`); 0 for plain numbers, whose likelihood has
        unit variance.

    Attributes
    ----------
    log_scale : torch.nn.Parameter of shape (n_scales,) or None
        The log standard deviation of each table number's Gaussian likelihood,
        shared by all rows (as in TVAE), zero (unit variance) at
        initialisation.
    """

    def __init__(
        self,
        n_features,
        hidden_layer_sizes,
        activation="relu",
        out_activation="identity",
        n_outputs=None,
        n_scales=0,
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
        self.log_scale = nn.Parameter(torch.zeros(n_scales)) if n_scales else None

    def scale(self):
        """``() -> (n_scales,)``: the learnt standard deviations, or None.

        At least :data:`MIN_SCALE` each.
        """
        if self.log_scale is None:
            return None
        return self.log_scale.clamp(min=math.log(MIN_SCALE)).exp()

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
        evaluation mode it is the posterior mean. With learnt scales, a fourth
        element follows: :meth:`scale`, of shape ``(n_scales,)``.
        """
        mean, log_var = self.posterior(x)
        z = mean
        if self.training:
            z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
        if self.log_scale is None:
            return self.decode(z), mean, log_var
        return self.decode(z), mean, log_var, self.scale()


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


def table_nll(table_loss, reconstruction, target, scale=None):
    """Per-sample negative log-likelihood of a table's observed cells, in nats.

    ``(batch, n_outputs), (batch, n_columns), (n_numeric,) -> (batch,)``.
    ``table_loss`` is a :class:`~skae.nn.TableReconstructionLoss` with
    ``kind="mse"``: a category's term is its cross-entropy (the log-probability
    of its level), a number's a Gaussian on its standardised value, centred on
    the reconstruction, of standard deviation ``scale`` (one per numeric
    column, in the order of the loss's numeric outputs; unit variance when
    None). Missing cells add nothing: the bound is that of the observed cells.
    """
    errors, observed = table_loss.per_column(reconstruction, target)
    numeric = table_loss.numeric_targets
    # per_column gives a number's squared error (0 where missing); the Gaussian's
    # negative log-density is half of it over the variance, plus log(scale) and
    # half log(2 pi) per observed cell.
    squared = errors[:, numeric]
    seen = observed[:, numeric].to(errors.dtype)
    if scale is None:
        numbers = 0.5 * squared + 0.5 * _LOG_2PI * seen
    else:
        scale = scale.to(errors.dtype)
        numbers = 0.5 * squared / scale.square() + (scale.log() + 0.5 * _LOG_2PI) * seen
    return errors.sum(dim=1) - squared.sum(dim=1) + numbers.sum(dim=1)


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

    def reconstruction_nll(self, reconstruction, target, scale=None):
        """Per-sample negative log-likelihood: ``-> (batch,)``.

        ``scale`` is a table's numbers' standard deviations (see
        :func:`table_nll`); it must be None for plain numbers.
        """
        if self.table is not None:
            return table_nll(self.table, reconstruction, target, scale)
        if scale is not None:
            raise ValueError("Learnt scales need a table's likelihood.")
        return reconstruction_nll(reconstruction, target, self.kind)

    def per_sample(self, output, target):
        """Each sample's loss.

        ``((batch, n_features), (batch, k), (batch, k)[, (n_numeric,)]),
        (batch, n_features) -> (batch,)``: the module's output, with its learnt
        scales when it has them.
        """
        reconstruction, mean, log_var, *scale = output
        nll = self.reconstruction_nll(reconstruction, target, *scale)
        return nll + self.beta * kl_to_standard_normal(mean, log_var)

    def forward(self, output, target):
        """Mean loss of a batch.

        ``((batch, n_features), (batch, k), (batch, k)[, (n_numeric,)]),
        (batch, n_features) -> ()``.
        """
        return self.per_sample(output, target).mean()


def elbo(module, x, eps, criterion, target=None):
    """Per-sample evidence lower bound, in nats: ``(batch, n_features) -> (batch,)``.

    The expectation over the posterior is estimated with the given standard normal
    draws ``eps`` of shape ``(n_draws, n_components)``, the same for every sample, so
    that a sample's estimate does not depend on the rest of the batch. The
    likelihood is ``criterion``'s (a :class:`VAELoss`; its ``beta`` is not used:
    the bound has the plain KL term), with the module's learnt scales if any.
    ``target`` is what the decoder reconstructs, ``x`` itself when None (a
    table's is one value per column).
    """
    mean, log_var = module.posterior(x)
    z = mean + torch.exp(0.5 * log_var) * eps[:, None, :]  # (n_draws, batch, k)
    reconstruction = module.decode(z.reshape(-1, z.shape[-1]))
    target = (x if target is None else target).repeat(len(eps), 1)
    nll = criterion.reconstruction_nll(reconstruction, target, module.scale())
    nll = nll.reshape(len(eps), -1)
    return -(nll.mean(dim=0) + kl_to_standard_normal(mean, log_var))
