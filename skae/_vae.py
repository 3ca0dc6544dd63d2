"""Variational autoencoder as a scikit-learn transformer."""

import numbers

import torch
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from skae._autoencoder import (
    _MAX_ITER_CONSTRAINT,
    _OUT_ACTIVATIONS,
    _ae_docs,
    _BaseAutoencoder,
)
from skae._base import BaseNeuralEstimator
from skae._docstrings import DOCS
from skae.nn.vae import VAELoss, VAEModule, elbo

# Monte Carlo draws of the code per sample in score_samples: the same draws for
# every sample (see skae.nn.vae.elbo), from a fixed stream, so scores repeat.
_ELBO_DRAWS = 8

_VAE_HIDDEN_WHY = """ The
        default is the classic 784-400-20 model's (Kingma and Welling, 2014)."""


class VariationalAE(_BaseAutoencoder):
    __doc__ = """Variational autoencoder: a generative model with a Gaussian code.

    The encoder gives the mean and log-variance of a diagonal Gaussian posterior over
    the code; training samples a code with the reparametrisation trick and
    minimises the reconstruction negative log-likelihood plus ``beta`` times the KL
    divergence to N(0, I), summed over features and averaged over the batch, so that
    ``loss_curve_`` is in nats per sample.

    :meth:`transform` returns the posterior mean (deterministic),
    :meth:`inverse_transform` decodes codes, :meth:`sample` draws new data from the
    prior, and :meth:`score_samples` estimates each sample's evidence lower bound.

    Parameters
    ----------
    {n_components}

    {hidden}

    {activation}

    out_activation : {{"identity", "logistic", "sigmoid", "tanh"}}, default="identity"
        Activation of the reconstruction; "logistic" with ``loss="bce"``.

    loss : {{"mse", "bce"}}, default="mse"
        The likelihood: "mse" is a Gaussian of unit variance (for standardised
        data), "bce" a Bernoulli (for data in [0, 1], with
        ``out_activation="logistic"``; other data gives a clear error).

    beta : float, default=1.0
        Weight of the KL term in the training loss (beta-VAE). Scores are always
        the plain ELBO (beta = 1), so that searches over ``beta`` compare models by
        their bound on the log-likelihood.

    {training_params}

    Attributes
    ----------
    {training_attributes}

    See Also
    --------
    Autoencoder : A deterministic autoencoder.

    Notes
    -----
    :meth:`score_samples` averages the bound over {draws} draws of the code per sample,
    the same standard normal draws for every sample and every call, so scores are
    repeatable and a sample's score does not depend on the others.

    Computation runs in float32; float64 input gives float64 output. Sparse input
    (CSR or CSC) is densified one batch at a time.

    References
    ----------
    D. P. Kingma and M. Welling, "Auto-Encoding Variational Bayes", ICLR 2014.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import VariationalAE
    >>> X, _ = load_digits(return_X_y=True)
    >>> vae = VariationalAE(2, hidden_layer_sizes=(64,), loss="bce",
    ...                     out_activation="logistic", max_iter=5,
    ...                     random_state=0).fit(X / 16)
    >>> vae.transform(X[:3] / 16).shape
    (3, 2)
    >>> vae.sample(4, random_state=0).shape
    (4, 64)
    """.format(
        draws=_ELBO_DRAWS,
        **{
            **_ae_docs(20, "(400,)", _VAE_HIDDEN_WHY),
            "training_attributes": DOCS["training_attributes"],
        },
    )

    _parameter_constraints = {
        **BaseNeuralEstimator._parameter_constraints,
        "out_activation": [StrOptions(_OUT_ACTIVATIONS)],
        "loss": [StrOptions({"mse", "bce"})],
        "beta": [Interval(numbers.Real, 0, None, closed="left")],
        "n_components": [Interval(numbers.Integral, 1, None, closed="left")],
        "max_iter": _MAX_ITER_CONSTRAINT,
    }

    # The ELBO's KL term belongs to the code, not to a feature.
    _splits_by_feature = False

    def __init__(
        self,
        n_components=20,
        *,
        hidden_layer_sizes=(400,),
        activation="relu",
        out_activation="identity",
        loss="mse",
        beta=1.0,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter="auto",
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=0,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        device="cpu",
    ):
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.out_activation = out_activation
        self.loss = loss
        self.beta = beta
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.device = device

    def transform(self, X):
        """Encode ``X`` as the posterior mean of each sample's code.

        Deterministic: no code is sampled (training samples one with the
        reparametrisation trick).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to encode.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
            The posterior means.
        """
        return super().transform(X)

    def score_samples(self, X):
        """Estimate each sample's evidence lower bound (ELBO; higher is better).

        Unlike the deterministic autoencoders' score (minus a reconstruction
        error averaged over features), the ELBO is a bound on the log-likelihood
        of the sample, in nats, summed over features: the reconstruction
        log-likelihood minus the KL divergence of the posterior from the prior,
        with ``beta`` = 1 whatever the training used.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Each sample's ELBO in nats, averaged over the same 8 draws of
            the code for every sample.
        """
        return super().score_samples(X)

    def score(self, X, y=None):
        """Mean evidence lower bound of ``X`` in nats per sample (higher is better).

        Minus this is the test loss that VAE papers report (for ``loss="bce"``,
        the Bernoulli likelihood).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.
        y : None
            Ignored.

        Returns
        -------
        score : float
            The mean of :meth:`score_samples`.
        """
        return super().score(X, y)

    def sample(self, n_samples=1, random_state=None):
        """Draw codes from the prior N(0, I) and decode them.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.
        random_state : int, RandomState instance or None, default=None
            Seeds the draws (NumPy's global generator when None, as in
            scikit-learn).

        Returns
        -------
        X : ndarray of shape (n_samples, n_features_in_)
            The decoded samples, float64.
        """
        check_is_fitted(self)
        rng = check_random_state(random_state)
        Z = rng.standard_normal((n_samples, self._n_features_out))
        return self._apply(self.net_.module_.decode, Z)

    def _module_spec(self, n_features):
        return VAEModule, {
            "n_features": n_features,
            "hidden_layer_sizes": [
                *self._hidden_sizes(allow_empty=True),
                int(self.n_components),
            ],
            "activation": self.activation,
            "out_activation": self.out_activation,
        }

    def _criterion_spec(self):
        return VAELoss, {"kind": self.loss, "beta": self.beta}

    def _score_batch(self, Xb):
        generator = torch.Generator().manual_seed(0)
        eps = torch.randn(_ELBO_DRAWS, self._n_features_out, generator=generator)
        return elbo(self.net_.module_, Xb, eps.to(Xb.device), self.loss)
