"""Fully connected autoencoders as scikit-learn transformers."""

import contextlib
import numbers
import warnings

import numpy as np
import torch
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import (
    _check_feature_names,
    _check_n_features,
    check_array,
    check_is_fitted,
    validate_data,
)
from skorch import NeuralNet

from skae import _tabular
from skae._base import FLOAT_DTYPES, BaseNeuralEstimator, validate_rows
from skae._docstrings import DOCS
from skae.nn import (
    ACTIVATIONS,
    AutoencoderModule,
    ReconstructionLoss,
    TableReconstructionLoss,
    reconstruction_error,
)
from skae.nn.data import as_tensor

_OUT_ACTIVATIONS = {"identity", "logistic", "sigmoid", "tanh"}

# max_iter="auto": about this many sample presentations, within [_MIN_EPOCHS,
# _MAX_EPOCHS] epochs. Measured in benchmarks/bench_pca.py (docs/learning_quality.md):
# enough steps for digits (1,257 images: 150 epochs, 200 before DenoisingAE's
# consistency term made an epoch dearer) and a bounded time on MNIST (60,000
# images: 20 epochs). A small set gets at most one epoch per _ROWS_PER_EPOCH rows,
# and never fewer than _SMALL_EPOCHS: breast_cancer (455 rows) and wine (142) give
# the same pipeline accuracy at 60 epochs as at 150 (wine loses at 20 and 30), in
# 40 % less time (docs/learning_quality.md, "Small tables").
_PRESENTATIONS = 1_200_000
_MIN_EPOCHS = 10
_MAX_EPOCHS = 150
_ROWS_PER_EPOCH = 8
_SMALL_EPOCHS = 60

_MAX_ITER_CONSTRAINT = [
    Interval(numbers.Integral, 1, None, closed="left"),
    StrOptions({"auto"}),
]


def _auto_max_iter(n_samples):
    """Return the number of epochs that ``max_iter="auto"`` stands for."""
    n_samples = max(n_samples, 1)
    most = np.clip(n_samples // _ROWS_PER_EPOCH, _SMALL_EPOCHS, _MAX_EPOCHS)
    return int(np.clip(-(-_PRESENTATIONS // n_samples), _MIN_EPOCHS, most))


def _training_params():
    """Return the shared training parameters' text, with the autoencoders' max_iter."""
    text = DOCS["training_params"]
    start = text.index("max_iter : ")
    end = text.index("\n\n", start)
    max_iter = _MAX_ITER.format(
        presentations=_PRESENTATIONS,
        min_epochs=_MIN_EPOCHS,
        max_epochs=_MAX_EPOCHS,
        rows_per_epoch=_ROWS_PER_EPOCH,
        small_epochs=_SMALL_EPOCHS,
    )
    return text[:start] + max_iter + text[end:]


_N_COMPONENTS = """\
n_components : int, default={n_components}
        Size of the code: the number of features :meth:`transform` returns."""

_HIDDEN = """\
hidden_layer_sizes : array-like of shape (n_layers,) or int, default={hidden}
        Widths of the hidden layers in front of the code, which may be empty
        (``()``): the encoder is ``n_features -> *hidden_layer_sizes ->
        n_components``, the decoder its mirror image back to
        ``n_features``.{hidden_why}"""

_ACTIVATION = """\
activation : {"identity", "logistic", "sigmoid", "tanh", "relu", "softplus"}, \
default="relu"
        Activation of the hidden layers ("sigmoid" is an alias of "logistic")."""

_AE_PARAMS = """\
code_activation : str or None, default="identity"
        Activation of the code layer, one of ``activation``'s options; None uses
        ``activation``. The default linear code is what beat PCA as features for
        a linear classifier (a ReLU code tied or lost at some code sizes: the
        documentation's "Learning quality" page), as in deep autoencoders
        compared with PCA.
        To start an :class:`MLPClassifier` from this encoder (``encoder=``),
        whose hidden layers all have ``activation``, set ``code_activation=None``
        or equal to ``activation``.

    out_activation : {"identity", "logistic", "sigmoid", "tanh"}, default="identity"
        Activation of the reconstruction: "identity" for standardised data,
        "logistic" for data in [0, 1].

    loss : {"huber", "mse", "bce"}, default="huber"
        Reconstruction error of each feature, averaged over the features: Huber's
        loss (``0.5 * e**2`` where ``|e| <= huber_delta``, then linear), the
        squared error ("mse"), or binary cross-entropy (needs
        ``out_activation="logistic"`` and ``X`` in [0, 1]). Huber is the default:
        after a :class:`~sklearn.preprocessing.StandardScaler`, a feature that is
        almost always constant (an image's border pixel) turns its rare other
        values into outliers of tens of units, whose squared errors dominate the
        mean squared error; Huber's loss counts them linearly, and its features
        beat the squared error's as inputs to a linear classifier (the
        documentation's "Learning quality" page). For errors within
        ``huber_delta`` it is half the squared error.

    huber_delta : float, default=0.5
        Where Huber's loss turns from quadratic to linear, in the units of ``X``
        (of standard deviations after a ``StandardScaler``); ignored by the other
        losses. On MNIST and digits 0.5 did better than 1 and 2, and as well
        as 0.25 (the documentation's "Learning quality" page).

    l1_code : float, default=0.0
        Sparsity penalty: the loss gains ``l1_code * mean(|code|)``, so a positive
        value gives a sparse autoencoder.

    pretrain_max_iter : int, default=0
        Greedy layer-wise pretraining of a deep (stacked) autoencoder: before the
        whole stack is trained, each layer (the hidden layers, then the code) is
        trained for this many epochs as a shallow autoencoder (with this
        estimator's noise, if any) on the codes of the layer below, and its
        weights start the stack. 0 skips it, as does an encoder of one layer
        (``hidden_layer_sizes=()``), for which it would be the training itself.
        Runs on a fresh fit only (not on continued training)."""

# The training budget of the autoencoders; the rest of the training parameters are
# the shared ones (skae._docstrings).
_MAX_ITER = """\
max_iter : int or "auto", default="auto"
        Maximum number of epochs (passes over the data). "auto" gives a budget
        that follows the size of the training set: ``{presentations} /
        n_samples`` epochs (about {presentations:,} sample presentations in
        all), within [{min_epochs}, {max_epochs}] epochs, so that a small set
        gets enough optimiser steps and a large one a bounded time; and at most
        ``max({small_epochs}, n_samples / {rows_per_epoch})`` epochs, so that a
        table of a few hundred rows fits in about a second (such tables give
        codes as good after {small_epochs} epochs as after {max_epochs}).
        Reaching the "auto" budget is the intended end of training and gives
        no :class:`~sklearn.exceptions.ConvergenceWarning`; the ``tol`` rule can
        still stop earlier. ``partial_fit`` runs one epoch whatever this is."""

_CATEGORICAL = """\
categorical_features : "from_dtype", array-like of bool, int or str, or None, \
default="from_dtype"
        Which columns of a table are categorical. "from_dtype": a DataFrame's
        columns of dtype ``category`` (or Enum), string, object (unless it
        holds numbers only) and bool. A
        boolean mask, indices, or column names pick them instead; None makes
        none categorical. Data with a categorical column or a missing cell
        (NaN or None) are a table: numbers are standardised, each category is
        one-hot encoded with an output of its own (a softmax over its levels,
        scored by cross-entropy), each column gets a missing-indicator input,
        and missing cells are left out of the loss. A numeric array or
        DataFrame without missing cells, and sparse input, are taken as they
        are. On a table, :meth:`inverse_transform` returns the frame's columns
        with their dtypes and categories, a category unseen in ``fit`` counts as
        a missing cell (a value of another type than its levels is an error),
        and a categorical column of more than 1,000 levels is refused (it is
        likely an identifier), as is a column neither numeric nor categorical
        (dates: convert them to numbers)."""

_AE_METHODS_NOTES = """\
The reconstruction error of a sample is its ``loss`` (Huber's loss, the squared
    error or the binary cross-entropy) averaged over features.
    :meth:`score_samples` returns minus that error, and :meth:`score` its mean,
    so that higher is better and
    :class:`~sklearn.model_selection.GridSearchCV` needs no ``scoring``.

    Computation runs in float32; float64 input gives float64 output. Sparse input
    (CSR or CSC) is kept sparse: each batch is densified on its own, so memory
    grows by one batch (at inference, at most about 64 MB), not by the dense
    matrix."""


def _splits_by_feature(estimator):
    if not estimator._splits_by_feature:
        raise AttributeError(
            f"{type(estimator).__name__} has no score_samples_per_feature: its "
            "score holds a term of the code that does not split by feature."
        )
    return True


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
    # Sparse X (CSR or CSC) is kept sparse and densified a batch at a time.
    _accept_sparse = ("csr", "csc")

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Fit the autoencoder to ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the reconstruction loss (and in the
            early-stopping score).

        Returns
        -------
        self : object
            The fitted autoencoder.
        """
        return self._fit(X, None, incremental=False, sample_weight=sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, sample_weight=None):
        """Run one epoch over ``X``, continuing from the current weights.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the reconstruction loss.

        Returns
        -------
        self : object
            The autoencoder.
        """
        return self._fit(X, None, incremental=True, sample_weight=sample_weight)

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
        table = self._validate_table(X, reset=False, method="transform")
        if table is not None:
            # float32 numbers (with missing cells) give float32 codes, as an
            # array without missing cells does.
            Z = self._apply(self.net_.module_.encode, table[0])
            return Z.astype(_tabular.float_dtype(X), copy=False)
        X = self._validate_plain_rows(X)
        return self._apply(self.net_.module_.encode, X)

    def inverse_transform(self, X):
        """Decode codes back to the input space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Codes, as returned by :meth:`transform`.

        Returns
        -------
        X_original : ndarray or DataFrame of shape (n_samples, n_features)
            The reconstructions. After a fit on a table (categorical columns or
            missing cells), a table of the same kind: a DataFrame with the
            training frame's columns, dtypes and categories (each category
            column holding its likeliest level), or an array for an array.
        """
        check_is_fitted(self)
        X = check_array(X, dtype=FLOAT_DTYPES, input_name="X")
        if X.shape[1] != self._n_features_out:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__}."
                f"inverse_transform is expecting {self._n_features_out} features "
                "(the code size) as input."
            )
        out = self._apply(self.net_.module_.decode, X)
        layout = self._layout()
        return out if layout is None else _tabular.decode(layout, out)

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
        table = self._validate_table(X, reset=False, method="score_samples")
        if table is not None:
            return self._apply_table(self._score_table_batch, table)
        X = self._validate_plain_rows(X)
        self._check_loss_range(X)
        return self._apply(self._score_batch, X)

    @available_if(_splits_by_feature)
    def score_samples_per_feature(self, X):
        """Each sample's score split by input feature (by column for a table).

        The scores of a row add up to its :meth:`score_samples`: each is minus
        that feature's reconstruction error divided by the number of features
        the row's error averages over (its observed cells, for a table with
        missing cells, whose missing cells score 0). The most negative entries
        say which features made a row hard to reconstruct, that is unusual.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Data.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_features)
            Each sample's score per feature; rows sum to :meth:`score_samples`.
        """
        check_is_fitted(self)
        table = self._validate_table(X, reset=False, method="score_samples")
        if table is not None:
            return self._apply_table(self._feature_table_batch, table)
        X = self._validate_plain_rows(X)
        self._check_loss_range(X)
        return self._apply(self._feature_batch, X)

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
        tags.input_tags.sparse = bool(self._accept_sparse)
        tags.input_tags.allow_nan = self._takes_tables
        return tags

    # -------------------------------------------------------------------- tables

    # Whether score_samples is a reconstruction error that splits by feature.
    _splits_by_feature = True

    # Whether the estimator takes tables (categorical columns, missing cells);
    # such a subclass has a ``categorical_features`` parameter.
    _takes_tables = False

    # Whether every fit takes the table path, even a numeric array with no missing
    # cell (an imputer needs the layout to fill cells later).
    _always_table = False

    def _layout(self):
        return getattr(self, "_table_", None)

    @property
    def _net_n_features(self):
        """The network's input width: ``n_features_in_``, or a table's encoding's."""
        layout = self._layout()
        return self.n_features_in_ if layout is None else _tabular.input_width(layout)

    def _validate_table(self, X, *, reset, method):
        """Encode table ``X`` as ``(inputs, targets)``; None for plain data.

        With ``reset`` (a fresh fit), decide whether ``X`` is a table and learn
        its layout (``_table_``, None for plain data).
        """
        if not (_tabular.is_dataframe(X) or hasattr(X, "shape")):
            X = np.asarray(X)  # a list of rows, as scikit-learn takes
        if reset:
            layout = None
            if self._takes_tables and (
                self._always_table
                or _tabular.needs_layout(X, self.categorical_features)
            ):
                # Before the layout, whose first complaint would be a column
                # with no observed value.
                self._check_some_rows(X)
                layout = _tabular.fit_layout(X, self.categorical_features)
            self._table_ = layout
            if self._takes_tables:
                self._fit_categorical_features_ = _tabular.plain_parameter(
                    self.categorical_features
                )
        layout = self._layout()
        if layout is None:
            return None
        _check_feature_names(self, X, reset=reset)
        _check_n_features(self, X, reset=reset)
        self._check_some_rows(X)
        return _tabular.encode(layout, X, method=method)

    def _check_categorical_features_kept(self, incremental):
        """Refuse a continued fit whose categorical_features changed since fit.

        They decide the network's inputs and outputs, which a continued fit
        keeps: the new value would be ignored.
        """
        fitted = getattr(self, "_fit_categorical_features_", None)
        current = _tabular.plain_parameter(self.categorical_features)
        if "_fit_categorical_features_" in vars(self) and fitted != current:
            how, anew = (
                ("partial_fit", "call fit")
                if incremental
                else ("warm_start=True", "set warm_start=False")
            )
            raise ValueError(
                f"{how} cannot change categorical_features of a fitted "
                f"{type(self).__name__} (from {fitted!r} to {current!r}): they "
                f"decide the network's inputs and outputs. Set them back, or {anew} "
                "to fit a new one."
            )

    def _check_some_rows(self, X):
        if X.shape[0] < 1:
            raise ValueError(
                f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of "
                f"1 is required by {type(self).__name__}."
            )

    def _validate_plain_rows(self, X):
        if not self._takes_tables:
            return validate_rows(self, X, accept_sparse=self._accept_sparse)
        with _tabular.plain_fit_refuses_missing_cells(self):
            return validate_rows(self, X, accept_sparse=self._accept_sparse)

    def _apply_table(self, fn, table):
        # float32 already (the NaN of missing targets would fail the float64
        # input's range check); the result comes back in float64, as for a frame.
        inputs, targets = table
        # Numbers far beyond the training data's scale overflowed float32 in
        # encode; the result is then not finite, which _apply reports clearly.
        XT = np.hstack([inputs, targets])
        return self._apply(fn, XT).astype(np.float64)

    def _table_criterion_spec(self, layout):
        if self.loss == "bce":
            raise ValueError(
                "loss='bce' is for data in [0, 1]; a table's numbers are "
                "standardised and its categories get a cross-entropy of their "
                "own: use loss='huber' or 'mse'."
            )
        if getattr(self, "out_activation", "identity") != "identity":
            raise ValueError(
                f"out_activation={self.out_activation!r} bounds the reconstruction, "
                "but a table's outputs are standardised numbers and the logits of "
                "its categories: use out_activation='identity'."
            )
        return TableReconstructionLoss, {
            **_tabular.output_map(layout),
            "kind": self.loss,
            "l1_code": self.l1_code,
            "delta": self.huber_delta,
        }

    def _score_table_batch(self, XTb):
        n_inputs = self._net_n_features
        reconstruction, _ = self.net_.module_(XTb[:, :n_inputs])
        return -self.net_.criterion_.reconstruction_error(
            reconstruction.double(), XTb[:, n_inputs:].double()
        )

    def _feature_table_batch(self, XTb):
        n_inputs = self._net_n_features
        reconstruction, _ = self.net_.module_(XTb[:, :n_inputs])
        errors, observed = self.net_.criterion_.per_column(
            reconstruction.double(), XTb[:, n_inputs:].double()
        )
        return -errors / observed.sum(dim=1, keepdim=True).clamp(min=1)

    def _feature_batch(self, Xb):
        reconstruction, _ = self.net_.module_(Xb)
        errors = reconstruction_error(
            reconstruction.double(),
            Xb.double(),
            self.loss,
            self.huber_delta,
            per_feature=True,
        )
        return -errors / Xb.shape[1]

    # --------------------------------------------------------------------- hooks

    def _validate_training_data(self, X, y, *, reset, incremental, classes):
        if self._takes_tables and not reset:
            self._check_categorical_features_kept(incremental)
        table = self._validate_table(
            X, reset=reset, method="partial_fit" if incremental else "fit"
        )
        if table is not None:
            self._table_criterion_spec(self._table_)  # checks the loss
            inputs, targets = table
            return inputs, targets  # float32; the training tensors check the range
        with (
            _tabular.plain_fit_refuses_missing_cells(self)
            if self._takes_tables and not reset
            else contextlib.nullcontext()
        ):
            X = validate_data(
                self,
                X,
                dtype=FLOAT_DTYPES,
                accept_sparse=self._accept_sparse,
                reset=reset,
            )
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
                f"{X.max():g}]; scale X (e.g. with MinMaxScaler) or use "
                "loss='huber' or 'mse'."
            )

    # Reconstruction loss and scores; VariationalAE replaces both.
    def _criterion_spec(self):
        layout = self._layout()
        if layout is not None:
            return self._table_criterion_spec(layout)
        return ReconstructionLoss, {
            "kind": self.loss,
            "l1_code": self.l1_code,
            "delta": self.huber_delta,
        }

    def _score_batch(self, Xb):
        reconstruction, _ = self.net_.module_(Xb)
        # In float64: the squared error of inputs beyond about 1e19 overflows float32.
        return -reconstruction_error(
            reconstruction.double(), Xb.double(), self.loss, self.huber_delta
        )

    def _train(self, X, y, *, epochs, **kwargs):
        if epochs == "auto":
            # The budget is the intended end of training, not a failure to converge.
            epochs = _auto_max_iter(X.shape[0])
            kwargs["warn"] = False
        return super()._train(X, y, epochs=epochs, **kwargs)

    def _score_tensors(self, Xt, yt=None, sample_weight=None):
        if yt is not None:  # a table: the targets come with the inputs
            scores = self._infer(self._score_table_batch, torch.cat([Xt, yt], dim=1))
        else:
            scores = self._infer(self._score_batch, Xt)
        if sample_weight is None:
            return scores.mean().item()
        weights = sample_weight.double()
        return ((scores * weights).sum() / weights.sum()).item()


def _ae_docs(n_components, hidden, hidden_why=""):
    return {
        "n_components": _N_COMPONENTS.format(n_components=n_components),
        "hidden": _HIDDEN.format(hidden=hidden, hidden_why=hidden_why),
        "activation": _ACTIVATION,
        "ae_params": _AE_PARAMS,
        "training_params": _training_params(),
        "categorical": _CATEGORICAL,
        "training_attributes": DOCS["training_attributes"],
        "notes": _AE_METHODS_NOTES,
    }


_HIDDEN_WHY = """ The
        default, two layers of 512 and 256, gave features that beat PCA's at
        every code size measured on MNIST and on digits, and did better than one
        layer of 256 on average (the documentation's "Learning quality" page)."""


class Autoencoder(_BaseAutoencoder):
    __doc__ = """Fully connected autoencoder: undercomplete, deep or sparse.

    The encoder maps ``X`` through ``hidden_layer_sizes`` to a code of
    ``n_components`` features (:meth:`transform`); the decoder, its mirror image,
    maps codes back (:meth:`inverse_transform`). Both are trained together to
    reconstruct the input, through a skorch net.

    Parameters
    ----------
    {n_components}

    {hidden}

    {activation}

    {ae_params}

    {training_params}

    {categorical}

    Attributes
    ----------
    {training_attributes}

    pretrain_loss_curves_ : list of list of float
        With layer-wise pretraining, each layer's training loss per epoch.

    See Also
    --------
    DenoisingAE : Trained to reconstruct the input from a corrupted copy; its
        features beat PCA's by default.
    sklearn.decomposition.PCA : The linear counterpart.

    Notes
    -----
    {notes}

    A plain autoencoder (no ``l1_code``) whose code is at least as wide as its
    input can learn the identity: ``fit`` warns. Make ``n_components`` smaller than
    ``n_features``, or add a sparsity penalty (``l1_code``) or noise
    (:class:`DenoisingAE`).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import Autoencoder
    >>> X, _ = load_digits(return_X_y=True)
    >>> ae = Autoencoder(n_components=8, hidden_layer_sizes=(32,), max_iter=5,
    ...                  random_state=0)
    >>> ae.fit_transform(X / 16).shape
    (1797, 8)
    >>> ae.inverse_transform(ae.transform(X[:3] / 16)).shape
    (3, 64)
    """.format(**_ae_docs(32, "(512, 256)", _HIDDEN_WHY))

    _parameter_constraints = {
        **BaseNeuralEstimator._parameter_constraints,
        "n_components": [Interval(numbers.Integral, 1, None, closed="left")],
        "code_activation": [None, StrOptions(set(ACTIVATIONS))],
        "out_activation": [StrOptions(_OUT_ACTIVATIONS)],
        "loss": [StrOptions({"huber", "mse", "bce"})],
        "huber_delta": [Interval(numbers.Real, 0, None, closed="neither")],
        "l1_code": [Interval(numbers.Real, 0, None, closed="left")],
        "pretrain_max_iter": [Interval(numbers.Integral, 0, None, closed="left")],
        "max_iter": _MAX_ITER_CONSTRAINT,
        "categorical_features": ["array-like", StrOptions({"from_dtype"}), None],
    }

    def __init__(
        self,
        n_components=32,
        *,
        hidden_layer_sizes=(512, 256),
        activation="relu",
        code_activation="identity",
        out_activation="identity",
        loss="huber",
        huber_delta=0.5,
        l1_code=0.0,
        pretrain_max_iter=0,
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
        categorical_features="from_dtype",
    ):
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.code_activation = code_activation
        self.out_activation = out_activation
        self.loss = loss
        self.huber_delta = huber_delta
        self.l1_code = l1_code
        self.pretrain_max_iter = pretrain_max_iter
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
        self.categorical_features = categorical_features

    _takes_tables = True

    def _layer_sizes(self):
        """Return the encoder's widths: the hidden layers, then the code."""
        return [*self._hidden_sizes(allow_empty=True), int(self.n_components)]

    def _validate_training_data(self, X, y, *, reset, incremental, classes):
        X, y = super()._validate_training_data(
            X, y, reset=reset, incremental=incremental, classes=classes
        )
        if reset and self._learns_identity(X.shape[1]):
            warnings.warn(
                f"{type(self).__name__} has a code of n_components="
                f"{self.n_components} features for {X.shape[1]} input features: "
                "with no noise and no sparsity penalty it can learn the identity "
                "and nothing useful. Set n_components below the number of "
                "features, or use l1_code > 0 or DenoisingAE.",
                UserWarning,
                stacklevel=4,
            )
        return X, y

    def _learns_identity(self, n_features):
        return self.n_components >= n_features and self.l1_code == 0

    def _module_spec(self, n_features):
        return AutoencoderModule, {
            "n_features": n_features,
            "hidden_layer_sizes": self._layer_sizes(),
            "activation": self.activation,
            "code_activation": self.code_activation or self.activation,
            "out_activation": self.out_activation,
            **self._noise_spec(),
            **self._table_spec(),
        }

    def _noise_spec(self):
        return {}

    def _table_spec(self):
        layout = self._layout()
        if layout is None:
            return {}
        input_columns, indicators, numeric_inputs = _tabular.input_map(layout)
        return {
            "n_outputs": _tabular.output_width(layout),
            "table": {
                "input_columns": input_columns,
                "indicators": indicators,
                "numeric_inputs": numeric_inputs,
            },
        }

    def _pretrain(self, X, seed):
        sizes = self._layer_sizes()
        if not self.pretrain_max_iter or len(sizes) < 2:
            return
        widths = [X.shape[1], *sizes]
        code_activations = [self.activation] * (len(sizes) - 1)
        code_activations.append(self.code_activation or self.activation)
        curves = []
        H = X
        layout = self._layout()
        for i, code_activation in enumerate(code_activations):
            # Layer i learns to reconstruct layer i - 1's codes, through the
            # activation that the stack's decoder applies there; the first layer
            # of a table, its columns (the stack's loss).
            table = i == 0 and layout is not None
            if table:
                criterion, criterion_kwargs = self._table_criterion_spec(layout)
                criterion_kwargs["l1_code"] = 0.0
            else:
                criterion, criterion_kwargs = (
                    ReconstructionLoss,
                    {
                        "kind": self.loss if i == 0 else "mse",
                        "l1_code": 0.0,
                        "delta": self.huber_delta,
                    },
                )
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
                        **(self._table_spec() if table else {}),
                    },
                ),
                criterion_spec=(criterion, criterion_kwargs),
            )
            result = self._train(
                H,
                _tabular.targets_from_inputs(layout, H) if table else None,
                epochs=self.pretrain_max_iter,
                early_stopping=False,
                seed=seed,
                net=shallow,
                warn=False,
            )
            self.net_.module_.load_layer(i, shallow.module_)
            curves.append(
                list(result["losses"])
                if result
                else [float(row["train_loss"]) for row in shallow.history]
            )
            H = self._infer(shallow.module_.encode, as_tensor(H)).numpy()
        self.pretrain_loss_curves_ = curves


class DenoisingAE(Autoencoder):
    __doc__ = """Denoising autoencoder: reconstructs the input from a corrupted copy.

    While training, every sample of every batch is corrupted afresh, with masking
    noise or with additive Gaussian noise, before it is encoded; the loss compares
    the reconstruction with the clean input. :meth:`transform` and the other
    methods of a fitted model never add noise, so they are deterministic.

    With its defaults, ``DenoisingAE(n_components=k)`` between a
    :class:`~sklearn.preprocessing.StandardScaler` and a linear classifier beats
    ``PCA(k)`` on digits and MNIST at every code size measured; the measurements,
    and what was tried, are in the documentation's "Learning quality" page.

    Parameters
    ----------
    {n_components}

    noise : {{"auto", "mask", "swap", "gaussian"}}, default="auto"
        "mask" sets a ``noise_level`` fraction of the inputs to zero (no rescaling
        of the rest: the masking noise of Vincent et al., 2008; on a table, a
        masked cell becomes a missing one); "swap" replaces a ``noise_level``
        fraction of the inputs (of a table, its cells) with the same column's
        value in another row of the batch (swap noise, which keeps each column's
        distribution); "gaussian" adds noise of standard deviation
        ``noise_level`` (on a table, to its numbers only). "auto" is "mask" for
        an array and "swap" for a table (categorical columns or missing cells),
        the noises whose features did best on each.

    noise_level : float, default=0.2
        Fraction of inputs masked or swapped (below 1), or standard deviation of
        the Gaussian noise.

    consistency : float, default=1.0
        Weight of a consistency term in the loss. Each batch is corrupted a
        second time, independently, and encoded without a gradient; each code
        unit is standardised over the batch in both codes, and the mean squared
        difference between them (twice one minus their correlation) is added to
        the reconstruction error. The code then keeps what the corruption does
        not change, which a linear model on the code can use: on MNIST at 64
        components it lifted the pipeline above by 0.5 to 0.9 points (the
        "Learning quality" page). As pretraining for
        ``MLPClassifier(encoder=...)`` it did worse in the one recipe measured
        (1,000 MNIST labels): pass 0 there. It costs one more forward pass
        through the encoder; 0 turns it off. Has no effect with
        ``noise_level=0``. Sample weights weight each sample's term; the batch
        means and deviations are unweighted.

    {hidden}

    {activation}

    {ae_params}

    {training_params}

    {categorical}

    Attributes
    ----------
    {training_attributes}

    pretrain_loss_curves_ : list of list of float
        With layer-wise pretraining, each layer's training loss per epoch.

    See Also
    --------
    Autoencoder : The same without corruption.
    sklearn.decomposition.PCA : The linear counterpart.

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
    ...     DenoisingAE(n_components=16, max_iter=5, random_state=0),
    ...     LogisticRegression(max_iter=1000),
    ... )
    >>> pipe.fit(X, y).predict(X[:5]).shape
    (5,)
    """.format(**_ae_docs(32, "(512, 256)", _HIDDEN_WHY))

    _parameter_constraints = {
        **Autoencoder._parameter_constraints,
        "noise": [StrOptions({"auto", "gaussian", "mask", "swap"})],
        "noise_level": [Interval(numbers.Real, 0, None, closed="left")],
        "consistency": [Interval(numbers.Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        n_components=32,
        *,
        noise="auto",
        noise_level=0.2,
        consistency=1.0,
        hidden_layer_sizes=(512, 256),
        activation="relu",
        code_activation="identity",
        out_activation="identity",
        loss="huber",
        huber_delta=0.5,
        l1_code=0.0,
        pretrain_max_iter=0,
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
        categorical_features="from_dtype",
    ):
        super().__init__(
            n_components=n_components,
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            code_activation=code_activation,
            out_activation=out_activation,
            loss=loss,
            huber_delta=huber_delta,
            l1_code=l1_code,
            pretrain_max_iter=pretrain_max_iter,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
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
            categorical_features=categorical_features,
        )
        self.noise = noise
        self.noise_level = noise_level
        self.consistency = consistency

    def _learns_identity(self, n_features):
        # Corruption keeps a wide code from copying its input.
        return super()._learns_identity(n_features) and self.noise_level == 0

    def _noise_spec(self):
        noise = self.noise
        if noise == "auto":
            noise = "mask" if self._layout() is None else "swap"
        if noise in ("mask", "swap") and self.noise_level >= 1:
            raise ValueError(
                f"noise={self.noise!r} needs noise_level below 1, got "
                f"{self.noise_level}."
            )
        return {"noise": noise, "noise_level": self.noise_level}

    def _uses_consistency(self):
        return self.consistency > 0 and self.noise_level > 0

    def _module_spec(self, n_features):
        module, kwargs = super()._module_spec(n_features)
        return module, {**kwargs, "two_views": self._uses_consistency()}

    def _criterion_spec(self):
        criterion, kwargs = super()._criterion_spec()
        consistency = self.consistency if self._uses_consistency() else 0.0
        return criterion, {**kwargs, "consistency": consistency}
