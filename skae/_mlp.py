"""Multilayer perceptrons: a classifier and a regressor on one shared base."""

import numbers

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import (
    ClassifierMixin,
    RegressorMixin,
    _fit_context,
    clone,
    is_classifier,
)
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import r2_score
from sklearn.utils._available_if import available_if
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    check_classification_targets,
    type_of_target,
)
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
from skorch import NeuralNet

from skae import _tabular
from skae._base import _SOLVERS, FLOAT_DTYPES, BaseNeuralEstimator, validate_rows
from skae._docstrings import DOCS
from skae.nn import AutoencoderModule, MLPLoss, MLPModule

_MLP_PARAMS = """\
hidden_layer_sizes : array-like of shape (n_layers,) or int, default=(100,)
        Widths of the hidden layers; ``()`` gives a linear model.

    activation : {{"identity", "logistic", "sigmoid", "tanh", "relu", "softplus"}}, \
default="relu"
        Activation of the hidden layers ("sigmoid" is an alias of "logistic").

    {mlp_training_params}

    dropout : float, default=0.0
        Probability of zeroing each hidden unit while training (after its
        activation). Prediction never drops units.

    encoder : estimator or None, default=None
        An :class:`Autoencoder` or :class:`DenoisingAE` whose encoder starts the
        hidden layers (unsupervised pretraining, then supervised fine-tuning): its
        ``hidden_layer_sizes + (n_components,)`` must equal this estimator's
        ``hidden_layer_sizes``, with the same ``activation`` (its code layer may
        have another, such as the default linear code). A :class:`DenoisingAE`'s
        ``consistency`` term made pretraining worse in the one recipe measured:
        pass ``consistency=0`` to it. As scikit-learn meta-estimators do,
        ``fit`` clones it and fits the clone on all of ``X`` (a clone whose
        ``random_state`` is None gets one drawn from this estimator's); to start
        from an autoencoder you fitted already, pass
        ``sklearn.frozen.FrozenEstimator(autoencoder)``.{encoder_extra}"""

_MLP_ATTRIBUTES = """\
coefs_ : list of ndarray
        ``coefs_[i]`` is the weight matrix of layer ``i``, of shape
        ``(n_units_in, n_units_out)`` (scikit-learn's layout; a copy of the
        module's weights, in the dtype ``X`` was fitted in).

    intercepts_ : list of ndarray
        ``intercepts_[i]`` is the bias vector of layer ``i + 1``.

    n_layers_ : int
        Number of layers, input and output included.

    n_outputs_ : int
        Number of outputs.

    out_activation_ : str
        The output activation: "softmax", "logistic", "identity" or "exp".

    encoder_ : estimator
        The fitted autoencoder that started the hidden layers, when ``encoder``
        is set.

    {training_attributes}"""


# Sparse X is kept sparse (CSR); only a batch at a time is densified.
_SPARSE = ("csr", "csc")

_ENCODER_EXTRA = """ With an encoder,
        samples labelled ``-1`` are unlabelled, as in
        :class:`~sklearn.semi_supervised.SelfTrainingClassifier`: they serve the
        pretraining and are left out of the supervised loss. Without one, ``-1``
        is an ordinary label."""


def _docs(encoder_extra):
    return {
        "params": _MLP_PARAMS.format(encoder_extra=encoder_extra, **DOCS),
        "attributes": _MLP_ATTRIBUTES.format(**DOCS),
    }


class _BaseMLP(BaseNeuralEstimator):
    """What the two MLPs share: the module, solvers, pretraining and weights.

    A subclass validates its targets (setting ``n_outputs_`` and
    ``out_activation_``) and maps the network's outputs back to predictions.
    """

    _parameter_constraints = {
        **BaseNeuralEstimator._parameter_constraints,
        "solver": [StrOptions({*_SOLVERS, "lbfgs"})],
        "max_fun": [Interval(numbers.Integral, 1, None, closed="left")],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "encoder": [None, HasMethods(["fit", "transform"])],
        "dtype": [StrOptions({"auto", "float32", "float64"})],
    }
    _net_class = NeuralNet

    def _check_solver(self):
        if self.solver == "lbfgs":
            raise AttributeError(
                "partial_fit is only available for stochastic optimizers. lbfgs is "
                "not stochastic."
            )
        return True

    # ------------------------------------------------------------ fitted weights

    def _linears(self):
        module = self.net_.module_
        return [m for m in module.hidden if isinstance(m, torch.nn.Linear)] + [
            module.output
        ]

    @property
    def coefs_(self):
        check_is_fitted(self)
        return [
            lin.weight.detach().cpu().numpy().T.astype(self._dtype_)
            for lin in self._linears()
        ]

    @property
    def intercepts_(self):
        check_is_fitted(self)
        return [
            lin.bias.detach().cpu().numpy().astype(self._dtype_)
            for lin in self._linears()
        ]

    @property
    def n_layers_(self):
        check_is_fitted(self)
        return len(self._linears()) + 1

    # --------------------------------------------------------------------- hooks

    def _validate_xy(self, X, y, *, reset, **kwargs):
        """Training ``X`` and ``y``, validated as scikit-learn's MLP does.

        ``X`` holds numbers only: a DataFrame's other columns are named in the error.
        """
        with _tabular.numbers_only(self, X):
            X, y = validate_data(
                self,
                X,
                y,
                dtype=FLOAT_DTYPES,
                accept_sparse=_SPARSE,
                multi_output=True,
                reset=reset,
                **kwargs,
            )
        self._check_training_params(X)
        return X, y

    def _check_training_params(self, X):
        if self.solver == "lbfgs" and self.dropout:
            raise ValueError(
                f"solver='lbfgs' needs a deterministic loss, but dropout="
                f"{self.dropout}: set dropout=0 or use a stochastic solver "
                "('adam', 'sgd', 'adagrad')."
            )
        self._dtype_ = X.dtype

    def _pretrain(self, X, seed):
        if self.encoder is None:
            return
        if isinstance(self.encoder, FrozenEstimator):
            encoder = self.encoder
        else:
            encoder = clone(self.encoder)
            if encoder.get_params().get("random_state", 0) is None:
                encoder.set_params(random_state=seed)
            encoder.fit(X)
        module = getattr(getattr(encoder, "net_", None), "module_", None)
        if not isinstance(module, AutoencoderModule):
            raise ValueError(
                "encoder must be an Autoencoder or DenoisingAE (a fully connected "
                f"autoencoder), got {type(encoder).__name__}."
            )
        encoder_sizes = [
            m.out_features for m in module.encoder if isinstance(m, torch.nn.Linear)
        ]
        if encoder_sizes != self._hidden_sizes(allow_empty=True):
            raise ValueError(
                f"The encoder has layers {tuple(encoder_sizes)}, but "
                f"hidden_layer_sizes is {tuple(self._hidden_sizes(allow_empty=True))}"
                ": make them equal, so that the encoder's layers can start the "
                "hidden layers."
            )
        try:
            self.net_.module_.load_encoder(module.encoder)
        except ValueError as exc:
            raise ValueError(
                f"activation={self.activation!r} must match the encoder's "
                f"activations: {exc}"
            ) from None
        self.encoder_ = encoder

    def _module_spec(self, n_features):
        return MLPModule, {
            "n_features": n_features,
            "hidden_layer_sizes": self._hidden_sizes(allow_empty=True),
            "n_outputs": self.n_outputs_,
            "activation": self.activation,
            "dropout": self.dropout,
        }

    def _criterion_spec(self):
        if not is_classifier(self):
            return MLPLoss, {"kind": self.loss}
        softmax = self.out_activation_ == "softmax"
        return MLPLoss, {"kind": "log_loss" if softmax else "binary_log_loss"}

    def _logits(self, Xb):
        return self.net_.module_(Xb)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


_CLASS_WEIGHT = """

    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss, as in scikit-learn's other
        classifiers (:class:`~sklearn.linear_model.LogisticRegression`):
        ``{{label: weight}}``, or "balanced" for
        ``n_samples / (n_classes * np.bincount(y))``; they multiply
        ``sample_weight``. scikit-learn's MLP has no such parameter. "balanced"
        needs all of ``y`` and is refused by ``partial_fit``; multilabel targets
        take none."""


class MLPClassifier(ClassifierMixin, _BaseMLP):
    __doc__ = """Multilayer perceptron classifier, trained through skorch.

    A drop-in for :class:`sklearn.neural_network.MLPClassifier`: the same
    parameters, fitted attributes and outputs (multiclass with a softmax output,
    binary and multilabel with logistic outputs; the log-loss), trained in
    PyTorch, with dropout, PyTorch's optimisers, a GPU, and pretraining from an
    autoencoder. Weights start from Xavier (Glorot) uniform initialisation,
    biases from zero.

    Parameters
    ----------
    {params}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels (never the ``-1`` of unlabelled samples); for multilabel
        targets, ``arange(n_labels)``.

    {attributes}

    See Also
    --------
    MLPRegressor : The regressor on the same base.
    sklearn.neural_network.MLPClassifier : scikit-learn's own, in NumPy.

    Notes
    -----
    The network computes in float32, or in float64 with ``dtype="float64"``
    or with ``solver="lbfgs"`` on float64 input (``dtype="auto"``); probabilities
    come back in the input's dtype. With
    ``early_stopping`` the validation score is the accuracy on the held-out
    fraction (a stratified split, except for multilabel targets). A binary
    problem has one logistic output (``n_outputs_ == 1``), as in scikit-learn;
    so does a ``y`` of a single class, which scikit-learn also fits without a
    warning: ``predict`` then returns that class and ``predict_proba`` has two
    columns.

    The classic MNIST recipe (784-300-10, ReLU, dropout 0.25, Adagrad at 0.3,
    batches of 100) is ``MLPClassifier((300,), dropout=0.25, solver="adagrad",
    learning_rate_init=0.3, batch_size=100)``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import MLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPClassifier((32,), max_iter=5, random_state=0).fit(X / 16, y)
    >>> clf.predict_proba(X[:2] / 16).shape
    (2, 10)
    """.format(**_docs(_ENCODER_EXTRA + _CLASS_WEIGHT))

    _parameter_constraints = {
        **_BaseMLP._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
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
        max_fun=15000,
        device="cpu",
        dtype="auto",
        dropout=0.0,
        encoder=None,
        class_weight=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
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
        self.max_fun = max_fun
        self.device = device
        self.dtype = dtype
        self.dropout = dropout
        self.encoder = encoder
        self.class_weight = class_weight

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the classifier.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels of any type scikit-learn accepts, or a multilabel
            indicator matrix (dense or sparse; ``predict`` returns it dense).
            With an ``encoder``, ``-1`` marks an unlabelled sample.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the loss (and in the early-stopping score).

        Returns
        -------
        self : object
            The fitted classifier.
        """
        return self._fit(X, y, incremental=False, sample_weight=sample_weight)

    @available_if(_BaseMLP._check_solver)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Run one epoch over ``(X, y)``, continuing from the current weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a multilabel indicator matrix.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the loss.
        classes : array-like of shape (n_classes,), default=None
            All the classes; required on the first call, and if given later, the
            same as on the first call.

        Returns
        -------
        self : object
            The classifier.
        """
        return self._fit(
            X, y, incremental=True, classes=classes, sample_weight=sample_weight
        )

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities, in the order of ``classes_``; for multilabel targets,
            each label's probability, of shape (n_samples, n_labels).
        """
        check_is_fitted(self)
        X = validate_rows(self, X, accept_sparse=_SPARSE)
        return self._apply(self._proba, X)

    def predict_log_proba(self, X):
        """Logarithm of the class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities, in the order of ``classes_``: ``log(predict_proba)``
            as in scikit-learn, and where a probability rounds to 0 in ``X``'s
            dtype, its logarithm computed from the logits (finite, not -inf).
        """
        check_is_fitted(self)
        X = validate_rows(self, X, accept_sparse=_SPARSE)
        proba = self._apply(self._proba, X)
        with np.errstate(divide="ignore"):
            log_proba = np.log(proba)
        underflow = proba == 0
        if underflow.any():
            log_proba[underflow] = self._apply(self._log_proba, X)[underflow]
        return log_proba

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
            The predicted classes, or the multilabel indicator matrix.
        """
        check_is_fitted(self)
        X = validate_rows(self, X, accept_sparse=_SPARSE)
        codes = self._apply(self._codes, X)
        return codes if self._multilabel_ else self.classes_[codes]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    # --------------------------------------------------------------------- hooks

    def _validate_training_data(self, X, y, *, reset, incremental, classes):
        X, y = self._validate_xy(X, y, reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        multilabel = type_of_target(y).startswith("multilabel")
        if sp.issparse(y):
            # A sparse indicator matrix, as scikit-learn's MLP takes: its few
            # labels a row are densified (predict returns a dense matrix).
            y = y.toarray()
        if incremental:
            # Raises when classes differs from the first call's.
            _check_partial_fit_first_call(self, classes)
        if multilabel:
            return X, self._multilabel_targets(y, reset, incremental)
        unlabelled = self._unlabelled(y)
        if unlabelled.all():
            raise ValueError(
                "All samples are unlabelled (-1): the encoder can pretrain on them, "
                "but the classifier needs some labels."
            )
        y_all, y = y, y[~unlabelled]
        check_classification_targets(y)
        if reset and not incremental:
            self.classes_ = np.unique(y)
        elif reset:
            pass  # classes_ set from `classes` by _check_partial_fit_first_call
        elif not incremental and not np.array_equal(np.unique(y), self.classes_):
            raise ValueError(
                "warm_start can only be used where `y` has the same classes as in "
                f"the previous call to fit. Previously got {self.classes_}, `y` has "
                f"{np.unique(y)}"
            )
        if np.setdiff1d(y, self.classes_).size:
            # scikit-learn's MLP words it so.
            raise ValueError(
                "`y` has classes not in `self.classes_`. `self.classes_` has "
                f"{self.classes_}. 'y' has {np.unique(y)}."
            )
        if reset:
            self._multilabel_ = False
            self._set_outputs(len(self.classes_))
        elif self._multilabel_:
            raise ValueError("`y` is not multilabel, but the fitted classifier is.")
        codes = np.full(len(y_all), -1, dtype=np.int64)
        codes[~unlabelled] = np.searchsorted(self.classes_, y)
        return X, codes

    def _multilabel_targets(self, y, reset, incremental):
        n_labels = y.shape[1]
        if reset:
            if not incremental:
                self.classes_ = np.arange(n_labels)
            self._multilabel_ = True
            self.n_outputs_ = n_labels
            self.out_activation_ = "logistic"
        elif not self._multilabel_ or n_labels != self.n_outputs_:
            raise ValueError(
                f"`y` has {n_labels} labels, but the classifier was fitted with "
                f"{self.n_outputs_} outputs"
                f"{'' if self._multilabel_ else ' for single-label classes'}."
            )
        if len(self.classes_) != n_labels:
            raise ValueError(
                f"classes={self.classes_} does not match the {n_labels} columns of "
                "the multilabel `y`."
            )
        return np.asarray(y, dtype=np.float32)

    def _set_outputs(self, n_classes):
        if n_classes <= 2:
            self.n_outputs_, self.out_activation_ = 1, "logistic"
        else:
            self.n_outputs_, self.out_activation_ = n_classes, "softmax"

    def _weigh_classes(self, y, sample_weight, incremental):
        if self.class_weight is None:
            return sample_weight
        if self._multilabel_:
            raise ValueError("class_weight is not supported for multilabel targets.")
        if incremental and self.class_weight == "balanced":
            raise ValueError(
                "class_weight 'balanced' is not supported for partial_fit: it needs "
                "the class frequencies of all the data. Pass a dict computed with "
                "sklearn.utils.class_weight.compute_class_weight instead."
            )
        labelled = y >= 0
        # A dict needs no frequencies; "balanced" needs those of the labelled y.
        seen = self.classes_[y[labelled]] if self.class_weight == "balanced" else None
        per_class = compute_class_weight(
            self.class_weight,
            classes=self.classes_,
            y=self.classes_ if seen is None else seen,
        )
        weights = np.ones(len(y)) if sample_weight is None else sample_weight.copy()
        weights[labelled] *= per_class[y[labelled]]
        return weights

    def _unlabelled(self, y):
        if self.encoder is None or y.dtype.kind in "USb":
            return np.zeros(len(y), dtype=bool)
        return np.asarray(y == -1, dtype=bool)

    # Probabilities in float64 from the float32 logits: a float32 sigmoid rounds
    # confident outputs to exactly 1, which ties predict_proba's argmax and breaks
    # log(predict_proba) == predict_log_proba; float32 input still gets float32.
    def _proba(self, Xb):
        z = self._logits(Xb).double()
        if self.out_activation_ == "softmax":
            return torch.softmax(z, dim=1)
        p = torch.sigmoid(z)
        return p if self._multilabel_ else torch.cat([1 - p, p], dim=1)

    def _log_proba(self, Xb):
        z = self._logits(Xb).double()
        if self.out_activation_ == "softmax":
            return torch.log_softmax(z, dim=1)
        log_p = torch.nn.functional.logsigmoid(z)
        if self._multilabel_:
            return log_p
        return torch.cat([torch.nn.functional.logsigmoid(-z), log_p], dim=1)

    def _codes(self, Xb):
        """Class indices (or, multilabel, the 0/1 matrix) of a batch."""
        z = self._logits(Xb)
        if self.out_activation_ == "softmax":
            return z.argmax(dim=1)
        positive = (z > 0).long()
        if self._multilabel_:
            return positive
        # A single class in y: every prediction is that class.
        return positive[:, 0] if len(self.classes_) == 2 else positive[:, 0] * 0

    def _score_tensors(self, Xt, yt, sample_weight=None):
        hits = self._infer(self._codes, Xt) == yt
        if hits.ndim == 2:  # multilabel: subset accuracy, as scikit-learn's score
            hits = hits.all(dim=1)
        hits = hits.double()
        if sample_weight is None:
            return hits.mean().item()
        weights = sample_weight.double()
        return ((hits * weights).sum() / weights.sum()).item()


class MLPRegressor(RegressorMixin, _BaseMLP):
    __doc__ = """Multilayer perceptron regressor, trained through skorch.

    A drop-in for :class:`sklearn.neural_network.MLPRegressor`: the same
    parameters, fitted attributes and outputs (one or several targets, half the
    squared error with an identity output, or the half Poisson deviance with an
    exponential output), trained in PyTorch, with dropout, PyTorch's optimisers,
    a GPU, and pretraining from an autoencoder.

    Parameters
    ----------
    loss : {{"squared_error", "poisson"}}, default="squared_error"
        "squared_error" (half the squared error, identity output) or "poisson"
        (half the Poisson deviance, exponential output; ``y`` must be
        non-negative).

    {params}

    Attributes
    ----------
    {attributes}

    See Also
    --------
    MLPClassifier : The classifier on the same base.
    sklearn.neural_network.MLPRegressor : scikit-learn's own, in NumPy.

    Notes
    -----
    The network computes in float32, or in float64 with ``dtype="float64"``
    or with ``solver="lbfgs"`` on float64 input (``dtype="auto"``); predictions
    come back in the input's dtype. With
    ``early_stopping`` the validation score is R² on the held-out fraction. The
    network does not scale the targets: standardise ``y`` of large scale (for
    example with :class:`~sklearn.compose.TransformedTargetRegressor`).

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skae import MLPRegressor
    >>> X, y = make_regression(n_samples=200, n_features=5, random_state=0)
    >>> reg = MLPRegressor(hidden_layer_sizes=(32,), max_iter=5, random_state=0)
    >>> reg.fit(X, y / 100).predict(X[:3]).shape
    (3,)
    """.format(**_docs(""))

    _parameter_constraints = {
        **_BaseMLP._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
    }

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
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
        max_fun=15000,
        device="cpu",
        dtype="auto",
        dropout=0.0,
        encoder=None,
    ):
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
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
        self.max_fun = max_fun
        self.device = device
        self.dtype = dtype
        self.dropout = dropout
        self.encoder = encoder

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the regressor.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the loss (and in the early-stopping score).

        Returns
        -------
        self : object
            The fitted regressor.
        """
        return self._fit(X, y, incremental=False, sample_weight=sample_weight)

    @available_if(_BaseMLP._check_solver)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Run one epoch over ``(X, y)``, continuing from the current weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the loss.

        Returns
        -------
        self : object
            The regressor.
        """
        return self._fit(X, y, incremental=True, sample_weight=sample_weight)

    def predict(self, X):
        """Predict the targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predictions; 1-D when there is one output.
        """
        check_is_fitted(self)
        X = validate_rows(self, X, accept_sparse=_SPARSE)
        y = self._apply(self._predict_batch, X)
        return y[:, 0] if self.n_outputs_ == 1 else y

    # --------------------------------------------------------------------- hooks

    def _validate_training_data(self, X, y, *, reset, incremental, classes):
        X, y = self._validate_xy(X, y, reset=reset, y_numeric=True)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and (y < 0).any():
            raise ValueError(
                "loss='poisson' needs non-negative y (counts or rates), got values "
                f"down to {y.min():g}; use loss='squared_error' for such targets."
            )
        y = y.reshape(len(y), -1)
        if reset:
            self.n_outputs_ = y.shape[1]
            self.out_activation_ = "exp" if self.loss == "poisson" else "identity"
        elif y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"`y` has {y.shape[1]} outputs, but the regressor was fitted with "
                f"{self.n_outputs_}."
            )
        # Floats, cast to the dtype the net computes in by training_tensors.
        return X, y if y.dtype.kind == "f" else y.astype(np.float64)

    def _predict_batch(self, Xb):
        z = self._logits(Xb)
        return z.exp() if self.out_activation_ == "exp" else z

    def _score_tensors(self, Xt, yt, sample_weight=None):
        y_pred = self._infer(self._predict_batch, Xt).double().numpy()
        return float(
            r2_score(
                yt.double().numpy(),
                y_pred,
                sample_weight=None if sample_weight is None else sample_weight.numpy(),
            )
        )
