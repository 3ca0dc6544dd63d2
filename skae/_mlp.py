"""Multilayer perceptron classifier."""

import numbers

import numpy as np
import torch
from sklearn.base import ClassifierMixin, _fit_context, clone
from sklearn.frozen import FrozenEstimator
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    check_classification_targets,
)
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch import NeuralNetClassifier

from skae._base import FLOAT_DTYPES, BaseNeuralEstimator
from skae._docstrings import DOCS
from skae.nn import AutoencoderModule, MLPModule


class MLPClassifier(ClassifierMixin, BaseNeuralEstimator):
    __doc__ = """Multilayer perceptron classifier, trained through skorch.

    Hidden layers of ``activation`` units with optional dropout, a softmax output
    and the cross-entropy loss; weights start from Xavier (Glorot) uniform
    initialisation, biases from zero. The parameters are those of
    :class:`sklearn.neural_network.MLPClassifier` where the idea is the same.

    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers,) or int, default=(100,)
        Widths of the hidden layers; ``()`` gives softmax regression.

    activation : {{"identity", "logistic", "sigmoid", "tanh", "relu", "softplus"}}, \
default="relu"
        Activation of the hidden layers ("sigmoid" is an alias of "logistic").

    dropout : float, default=0.0
        Probability of zeroing each hidden unit while training (after its
        activation). Prediction never drops units.

    encoder : estimator or None, default=None
        An :class:`Autoencoder` or :class:`DenoisingAE` whose encoder starts the
        hidden layers (unsupervised pretraining, then supervised fine-tuning). It
        must have the same ``hidden_layer_sizes`` and ``activation`` (and no other
        ``code_activation``). As scikit-learn meta-estimators do, ``fit`` clones it
        and fits the clone on all of ``X``, unlabelled rows included (a clone whose
        ``random_state`` is None gets one drawn from this estimator's); to start
        from an autoencoder you fitted already, pass
        ``sklearn.frozen.FrozenEstimator(autoencoder)``. With an encoder, samples
        labelled ``-1`` are unlabelled, as in
        :class:`~sklearn.semi_supervised.SelfTrainingClassifier`: they serve the
        pretraining and are left out of the supervised loss. Without one, ``-1``
        is an ordinary label.

    {training_params}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels (never the ``-1`` of unlabelled samples).

    encoder_ : estimator
        The fitted autoencoder that started the hidden layers, when ``encoder``
        is set.

    {training_attributes}

    See Also
    --------
    sklearn.neural_network.MLPClassifier : scikit-learn's own, in NumPy.

    Notes
    -----
    Computation runs in float32; float64 input gives float64 probabilities. Sparse
    input is refused with a :class:`TypeError`. With ``early_stopping`` the
    validation score is the accuracy on the held-out fraction (a stratified split).

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
    """.format(**DOCS)

    _parameter_constraints = {
        **BaseNeuralEstimator._parameter_constraints,
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "encoder": [None, HasMethods(["fit", "transform"])],
    }
    _net_class = NeuralNetClassifier

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        *,
        activation="relu",
        dropout=0.0,
        encoder=None,
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
        self.dropout = dropout
        self.encoder = encoder
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

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the classifier.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels, of any type scikit-learn accepts.

        Returns
        -------
        self : object
            The fitted classifier.
        """
        return self._fit(X, y, incremental=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None):
        """Run one epoch over ``(X, y)``, continuing from the current weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels.
        classes : array-like of shape (n_classes,), default=None
            All the classes; required on the first call, ignored afterwards.

        Returns
        -------
        self : object
            The classifier.
        """
        return self._fit(X, y, incremental=True, classes=classes)

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities, in the order of ``classes_``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=FLOAT_DTYPES, reset=False)
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
            Log-probabilities, in the order of ``classes_``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=FLOAT_DTYPES, reset=False)
        return self._apply(self._log_proba, X)

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            The predicted classes.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=FLOAT_DTYPES, reset=False)
        return self.classes_[self._apply(self._argmax, X)]

    # --------------------------------------------------------------------- hooks

    def _validate_training_data(self, X, y, *, reset, incremental, classes):
        X, y = validate_data(self, X, y, dtype=FLOAT_DTYPES, reset=reset)
        unlabelled = self._unlabelled(y)
        if unlabelled.all():
            raise ValueError(
                "All samples are unlabelled (-1): the encoder can pretrain on them, "
                "but the classifier needs some labels."
            )
        y_all, y = y, y[~unlabelled]
        check_classification_targets(y)
        if reset:
            if incremental:
                _check_partial_fit_first_call(self, classes)
            else:
                self.classes_ = np.unique(y)
        elif not incremental and not np.array_equal(np.unique(y), self.classes_):
            raise ValueError(
                "warm_start can only be used where `y` has the same classes as in "
                f"the previous call to fit. Previously got {self.classes_}, `y` has "
                f"{np.unique(y)}"
            )
        unseen = np.setdiff1d(y, self.classes_)
        if unseen.size:
            raise ValueError(f"`y` has classes not in `self.classes_`: {unseen}.")
        codes = np.full(len(y_all), -1, dtype=np.int64)
        codes[~unlabelled] = np.searchsorted(self.classes_, y)
        return X, codes

    def _unlabelled(self, y):
        if self.encoder is None or y.dtype.kind in "USb":
            return np.zeros(len(y), dtype=bool)
        return np.asarray(y == -1, dtype=bool)

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
        try:
            self.net_.module_.load_encoder(module.encoder)
        except ValueError as exc:
            raise ValueError(
                f"hidden_layer_sizes={self.hidden_layer_sizes} and "
                f"activation={self.activation!r} must match the encoder's layers: "
                f"{exc}"
            ) from None
        self.encoder_ = encoder

    def _module_spec(self, n_features):
        return MLPModule, {
            "n_features": n_features,
            "hidden_layer_sizes": self._hidden_sizes(allow_empty=True),
            "n_outputs": len(self.classes_),
            "activation": self.activation,
            "dropout": self.dropout,
        }

    def _criterion_spec(self):
        return torch.nn.CrossEntropyLoss, {}

    def _proba(self, Xb):
        return torch.softmax(self.net_.module_(Xb), dim=1)

    def _log_proba(self, Xb):
        return torch.log_softmax(self.net_.module_(Xb), dim=1)

    def _argmax(self, Xb):
        return self.net_.module_(Xb).argmax(dim=1)

    def _score_tensors(self, Xt, yt):
        return (self._infer(self._argmax, Xt) == yt).double().mean().item()
