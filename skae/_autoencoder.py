"""Fully connected autoencoders as scikit-learn transformers."""

import numbers

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, validate_data
from skorch import NeuralNet

from skae._base import FLOAT_DTYPES, BaseNeuralEstimator, _as_tensor
from skae._docstrings import DOCS
from skae.nn import (
    ACTIVATIONS,
    AutoencoderModule,
    ReconstructionLoss,
    reconstruction_error,
)

_OUT_ACTIVATIONS = {"identity", "logistic", "sigmoid", "tanh"}

_AE_PARAMS = """\
hidden_layer_sizes : array-like of shape (n_layers,) or int, default=(100,)
        Widths of the encoder's layers; the last is the code size
        (``n_components``). The decoder mirrors the encoder back to ``n_features``.

    activation : {{"identity", "logistic", "sigmoid", "tanh", "relu", "softplus"}}, \
default="relu"
        Activation of the hidden layers ("sigmoid" is an alias of "logistic").

    code_activation : str or None, default=None
        Activation of the code layer, one of ``activation``'s options; None uses
        ``activation``. "identity" gives a linear code, as in deep autoencoders
        that are compared with PCA.

    out_activation : {{"identity", "logistic", "sigmoid", "tanh"}}, default="identity"
        Activation of the reconstruction: "identity" for standardised data,
        "logistic" for data in [0, 1].

    loss : {{"mse", "bce"}}, default="mse"
        Reconstruction error: mean squared error, or binary cross-entropy (needs
        ``out_activation="logistic"`` and ``X`` in [0, 1]).

    l1_code : float, default=0.0
        Sparsity penalty: the loss gains ``l1_code * mean(|code|)``, so a positive
        value gives a sparse autoencoder.

    pretrain_max_iter : int, default=0
        Greedy layer-wise pretraining of a deep (stacked) autoencoder: before the
        whole stack is trained, each layer is trained for this many epochs as a
        shallow autoencoder (with this estimator's noise, if any) on the codes of
        the layer below, and its weights start the stack. 0 skips it, as does a
        single hidden layer, for which it would be the training itself. Runs on a
        fresh fit only (not on continued training)."""

_AE_METHODS_NOTES = """\
The reconstruction error of a sample is its squared error (or binary
    cross-entropy) averaged over features. :meth:`score_samples` returns minus that
    error, and :meth:`score` its mean, so that higher is better and
    :class:`~sklearn.model_selection.GridSearchCV` needs no ``scoring``.

    Computation runs in float32; float64 input gives float64 output. Sparse input is
    refused with a :class:`TypeError`: densify it (``X.toarray()``) first."""


class _BaseAutoencoder(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseNeuralEstimator
):
    """What every autoencoder shares: fitting, the code, decoding and scores.

    A subclass supplies ``__init__`` and ``_module_spec`` (a module with ``encode``,
    ``decode``, ``n_components`` and a ``forward`` that the criterion consumes);
    one that is not trained on the reconstruction error also replaces
    ``_criterion_spec`` and ``_score_batch`` (per-sample scores of a batch of
    tensors, higher is better).
    """

    _net_class = NeuralNet

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the autoencoder to ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted autoencoder.
        """
        return self._fit(X, None, incremental=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Run one epoch over ``X``, continuing from the current weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The autoencoder.
        """
        return self._fit(X, None, incremental=True)

    def transform(self, X):
        """Encode ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to encode.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
            The codes.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=FLOAT_DTYPES, reset=False)
        return self._apply(self.net_.module_.encode, X)

    def inverse_transform(self, X):
        """Decode codes back to the input space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Codes, as returned by :meth:`transform`.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            The reconstructions.
        """
        check_is_fitted(self)
        X = check_array(X, dtype=FLOAT_DTYPES)
        if X.shape[1] != self._n_features_out:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__}."
                f"inverse_transform is expecting {self._n_features_out} features "
                "(the code size) as input."
            )
        return self._apply(self.net_.module_.decode, X)

    def score_samples(self, X):
        """Minus the reconstruction error of each sample (higher is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Minus each sample's reconstruction error, averaged over features.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=FLOAT_DTYPES, reset=False)
        self._check_loss_range(X)
        return self._apply(self._score_batch, X)

    def score(self, X, y=None):
        """Minus the mean reconstruction error of ``X`` (higher is better).

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
        return float(np.mean(self.score_samples(X)))

    @property
    def _n_features_out(self):
        return self.net_.module_.n_components

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    # --------------------------------------------------------------------- hooks

    def _validate_training_data(self, X, y, *, reset, incremental, classes):
        X = validate_data(self, X, dtype=FLOAT_DTYPES, reset=reset)
        if self.loss == "bce" and self.out_activation not in ("logistic", "sigmoid"):
            raise ValueError(
                "loss='bce' needs out_activation='logistic' (reconstructions in "
                f"(0, 1)), got out_activation={self.out_activation!r}."
            )
        self._check_loss_range(X)
        return X, None

    def _check_loss_range(self, X):
        if self.loss == "bce" and (X.min() < 0 or X.max() > 1):
            raise ValueError(
                f"loss='bce' needs X in [0, 1], got values in [{X.min():g}, "
                f"{X.max():g}]; scale X (e.g. with MinMaxScaler) or use loss='mse'."
            )

    # Reconstruction loss and scores; VariationalAE replaces both.
    def _criterion_spec(self):
        return ReconstructionLoss, {"kind": self.loss, "l1_code": self.l1_code}

    def _score_batch(self, Xb):
        reconstruction, _ = self.net_.module_(Xb)
        # In float64: the squared error of inputs beyond about 1e19 overflows float32.
        return -reconstruction_error(reconstruction.double(), Xb.double(), self.loss)

    def _score_tensors(self, Xt, yt=None):
        return self._infer(self._score_batch, Xt).mean().item()


class Autoencoder(_BaseAutoencoder):
    __doc__ = """Fully connected autoencoder: undercomplete, deep or sparse.

    The encoder maps ``X`` to a code of ``hidden_layer_sizes[-1]`` features
    (:meth:`transform`); the decoder, its mirror image, maps codes back
    (:meth:`inverse_transform`). Both are trained together to reconstruct the
    input, through a skorch net.

    Parameters
    ----------
    {ae_params}

    {training_params}

    Attributes
    ----------
    {training_attributes}

    pretrain_loss_curves_ : list of list of float
        With layer-wise pretraining, each layer's training loss per epoch.

    See Also
    --------
    DenoisingAE : Trained to reconstruct the input from a corrupted copy.
    sklearn.decomposition.PCA : The linear counterpart.

    Notes
    -----
    {notes}

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import Autoencoder
    >>> X, _ = load_digits(return_X_y=True)
    >>> ae = Autoencoder(hidden_layer_sizes=(32, 8), max_iter=5, random_state=0)
    >>> ae.fit_transform(X / 16).shape
    (1797, 8)
    >>> ae.inverse_transform(ae.transform(X[:3] / 16)).shape
    (3, 64)
    """.format(ae_params=_AE_PARAMS.format(), notes=_AE_METHODS_NOTES, **DOCS)

    _parameter_constraints = {
        **BaseNeuralEstimator._parameter_constraints,
        "code_activation": [None, StrOptions(set(ACTIVATIONS))],
        "out_activation": [StrOptions(_OUT_ACTIVATIONS)],
        "loss": [StrOptions({"mse", "bce"})],
        "l1_code": [Interval(numbers.Real, 0, None, closed="left")],
        "pretrain_max_iter": [Interval(numbers.Integral, 0, None, closed="left")],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        *,
        activation="relu",
        code_activation=None,
        out_activation="identity",
        loss="mse",
        l1_code=0.0,
        pretrain_max_iter=0,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate_init=0.001,
        max_iter=200,
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
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.code_activation = code_activation
        self.out_activation = out_activation
        self.loss = loss
        self.l1_code = l1_code
        self.pretrain_max_iter = pretrain_max_iter
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
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

    def _module_spec(self, n_features):
        return AutoencoderModule, {
            "n_features": n_features,
            "hidden_layer_sizes": self._hidden_sizes(),
            "activation": self.activation,
            "code_activation": self.code_activation or self.activation,
            "out_activation": self.out_activation,
            **self._noise_spec(),
        }

    def _noise_spec(self):
        return {}

    def _pretrain(self, X, seed):
        sizes = self._hidden_sizes()
        if not self.pretrain_max_iter or len(sizes) < 2:
            return
        widths = [X.shape[1], *sizes]
        code_activations = [self.activation] * (len(sizes) - 1)
        code_activations.append(self.code_activation or self.activation)
        curves = []
        H = X
        for i, code_activation in enumerate(code_activations):
            # Layer i learns to reconstruct layer i - 1's codes, through the
            # activation that the stack's decoder applies there.
            shallow = self._make_net(
                widths[i],
                self.net_.device,
                module_spec=(
                    AutoencoderModule,
                    {
                        "n_features": widths[i],
                        "hidden_layer_sizes": (widths[i + 1],),
                        "code_activation": code_activation,
                        "out_activation": self.out_activation
                        if i == 0
                        else self.activation,
                        **self._noise_spec(),
                    },
                ),
                criterion_spec=(
                    ReconstructionLoss,
                    {"kind": self.loss if i == 0 else "mse", "l1_code": 0.0},
                ),
            )
            self._train(
                H,
                None,
                epochs=self.pretrain_max_iter,
                early_stopping=False,
                seed=seed,
                net=shallow,
                warn=False,
            )
            self.net_.module_.load_layer(i, shallow.module_)
            curves.append([float(row["train_loss"]) for row in shallow.history])
            H = self._infer(shallow.module_.encode, _as_tensor(H)).numpy()
        self.pretrain_loss_curves_ = curves


class DenoisingAE(Autoencoder):
    __doc__ = """Denoising autoencoder: reconstructs the input from a corrupted copy.

    While training, every sample of every batch is corrupted afresh, with additive
    Gaussian noise or with masking noise, before it is encoded; the loss compares
    the reconstruction with the clean input. :meth:`transform` and the other
    methods of a fitted model never add noise, so they are deterministic.

    Parameters
    ----------
    {ae_params}

    noise : {{"gaussian", "mask"}}, default="gaussian"
        "gaussian" adds noise of standard deviation ``noise_level``; "mask" sets a
        ``noise_level`` fraction of the inputs to zero (no rescaling of the rest).

    noise_level : float, default=0.1
        Standard deviation of the Gaussian noise, or fraction of inputs masked
        (below 1).

    {training_params}

    Attributes
    ----------
    {training_attributes}

    pretrain_loss_curves_ : list of list of float
        With layer-wise pretraining, each layer's training loss per epoch.

    See Also
    --------
    Autoencoder : The same without corruption.

    Notes
    -----
    {notes}

    References
    ----------
    P. Vincent, H. Larochelle, Y. Bengio and P.-A. Manzagol, "Extracting and
    composing robust features with denoising autoencoders", ICML 2008.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skae import DenoisingAE
    >>> X, y = load_digits(return_X_y=True)
    >>> pipe = make_pipeline(
    ...     StandardScaler(),
    ...     DenoisingAE(hidden_layer_sizes=(16,), max_iter=5, random_state=0),
    ...     LogisticRegression(max_iter=1000),
    ... )
    >>> pipe.fit(X, y).predict(X[:5]).shape
    (5,)
    """.format(ae_params=_AE_PARAMS.format(), notes=_AE_METHODS_NOTES, **DOCS)

    _parameter_constraints = {
        **Autoencoder._parameter_constraints,
        "noise": [StrOptions({"gaussian", "mask"})],
        "noise_level": [Interval(numbers.Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        *,
        noise="gaussian",
        noise_level=0.1,
        activation="relu",
        code_activation=None,
        out_activation="identity",
        loss="mse",
        l1_code=0.0,
        pretrain_max_iter=0,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate_init=0.001,
        max_iter=200,
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
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            code_activation=code_activation,
            out_activation=out_activation,
            loss=loss,
            l1_code=l1_code,
            pretrain_max_iter=pretrain_max_iter,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate_init=learning_rate_init,
            max_iter=max_iter,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            device=device,
        )
        self.noise = noise
        self.noise_level = noise_level

    def _noise_spec(self):
        if self.noise == "mask" and self.noise_level >= 1:
            raise ValueError(
                f"noise='mask' needs noise_level below 1, got {self.noise_level}."
            )
        return {"noise": self.noise, "noise_level": self.noise_level}
