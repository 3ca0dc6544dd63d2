"""Outlier detection with any skae autoencoder, as a scikit-learn outlier detector."""

import math
from numbers import Integral, Real

import numpy as np
from sklearn.base import (
    BaseEstimator,
    MetaEstimatorMixin,
    OutlierMixin,
    _fit_context,
    clone,
)
from sklearn.callback import CallbackSupportMixin
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
    has_fit_parameter,
    validate_data,
)

from skae._autoencoder import Autoencoder, DenoisingAE
from skae._base import FLOAT_DTYPES, restored_on_error, validate_rows
from skae._tabular import (
    is_dataframe,
    needs_layout,
    plain_fit_refuses_missing_cells,
)
from skae.nn.outlier import SemiSupervisedReconstructionLoss

# Tukey's fences: the whisker of a box plot, 1.5 interquartile ranges below the
# lower quartile. Under a normal distribution 0.35 % of the samples lie below it.
_TUKEY_K = 1.5

# The default network, n_features -> hidden -> code: the hidden layer is wider for
# a numeric array than for a table (see _default_estimator).
_DEFAULT_HIDDEN_ARRAY = 256
_DEFAULT_HIDDEN_TABLE = 128
_DEFAULT_CODE = 32
_PRESENTATIONS = 100_000

# novelty=True: the share of the training rows held out to set the threshold on.
_CALIBRATION_FRACTION = 0.2

# error_scaling="rms": a row's RMS is floored at this share of the training rows'
# median RMS, so that a blank row scores a large, finite error.
_RMS_FLOOR = 0.01

# The labels of fit's y.
_UNLABELLED, _NORMAL, _ANOMALY = -1, 0, 1


def _default_estimator(n_samples, semi_supervised=False, table=False):
    """Build the autoencoder that ``estimator=None`` stands for.

    Chosen on the one-class MNIST benchmark, its hidden width on several data
    sets: a 256-unit hidden layer for a numeric array, which ranks anomalies
    better than the 128-unit one on one-class MNIST, scikit-learn's digits and,
    on the whole, breast_cancer and wine; a 128-unit one for a table
    (categorical columns or missing cells), where over ten real mixed-type
    tables and five seeds the wider layer did not gain (a mean ROC AUC 0.006
    lower, within the seeds' spread). Every parameter that matters is spelled
    out, so that a change of the autoencoders' own defaults does not change the
    detector.
    """
    params = {
        "code_activation": "relu",
        "noise": "gaussian",
        # The squared error it was chosen with: Huber's loss, the autoencoders'
        # default, caps the large errors that set anomalies apart.
        "loss": "mse",
        "noise_level": 0.1,
        # Its benchmark's network, chosen before DenoisingAE's consistency term.
        "consistency": 0.0,
        "max_iter": _default_max_iter(n_samples),
    }
    hidden = _DEFAULT_HIDDEN_TABLE if table else _DEFAULT_HIDDEN_ARRAY
    cls = _SemiSupervisedDenoisingAE if semi_supervised else DenoisingAE
    return cls(n_components=_DEFAULT_CODE, hidden_layer_sizes=(hidden,), **params)


def _default_max_iter(n_samples):
    # A fixed number of epochs is too few steps on a small training set or too
    # slow on a large one: the default trains on about _PRESENTATIONS samples in
    # all, within [10, 200] epochs.
    return int(np.clip(_PRESENTATIONS // max(n_samples, 1), 10, 200))


class _SemiSupervisedMixin:
    """Trains an autoencoder on Deep SAD's loss, from the labels in ``fit``'s y.

    The labels reach the loss as a last column of the target, after the input
    that the reconstruction is compared with; y None trains as the autoencoder
    does.
    """

    def fit(self, X, y=None, sample_weight=None):
        self._validate_params()
        return self._fit(X, y, incremental=False, sample_weight=sample_weight)

    def _validate_training_data(self, X, y, *, reset, incremental, classes):
        X, target = super()._validate_training_data(
            X, None, reset=reset, incremental=incremental, classes=classes
        )
        if y is None:
            return X, target
        if target is None:  # an array: the input is its own target
            target = X if isinstance(X, np.ndarray) else X.toarray()
        target = np.hstack([target, np.asarray(y, dtype=target.dtype)[:, None]])
        # Values beyond float32 are refused with the input, as the training
        # tensors are made.
        with np.errstate(over="ignore"):
            return X, target.astype(np.float32, copy=False)

    def _criterion_spec(self):
        _, kwargs = super()._criterion_spec()
        return SemiSupervisedReconstructionLoss, kwargs


class _SemiSupervisedAutoencoder(_SemiSupervisedMixin, Autoencoder):
    """An :class:`Autoencoder` trained on Deep SAD's loss; see the detector."""


class _SemiSupervisedDenoisingAE(_SemiSupervisedMixin, DenoisingAE):
    """A :class:`DenoisingAE` trained on Deep SAD's loss; see the detector."""


_SEMI_SUPERVISED = {
    Autoencoder: _SemiSupervisedAutoencoder,
    DenoisingAE: _SemiSupervisedDenoisingAE,
}


def _semi_supervised(estimator):
    """Return the same autoencoder trained on Deep SAD's loss, or raise."""
    cls = _SEMI_SUPERVISED.get(type(estimator))
    if cls is None:
        if type(estimator) in _SEMI_SUPERVISED.values():
            return estimator
        raise ValueError(
            "fit with labelled rows in y (0 normal, 1 anomaly) trains the "
            "autoencoder on a semi-supervised loss, which needs estimator=None, "
            f"an Autoencoder or a DenoisingAE; got {type(estimator).__name__}. "
            "Pass y=None (or all -1) to fit it unsupervised."
        )
    return cls(**estimator.get_params(deep=False))


def _percentile(scores, q, weights=None):
    """``np.percentile(scores, q)``, or the weighted quantiles with ``weights``.

    Weighted, a row of weight 2 counts as two rows: the quantile interpolates
    linearly between the sorted scores, each at the middle of its weight's share
    of the total (the unweighted rule when every weight is the same).
    """
    if weights is None:
        return np.percentile(scores, q)
    order = np.argsort(scores, kind="stable")
    scores, weights = scores[order], np.asarray(weights, dtype=np.float64)[order]
    keep = weights > 0
    scores, weights = scores[keep], weights[keep]
    if len(scores) == 1:
        return np.full(len(q), scores[0])
    cumulative = np.cumsum(weights)
    # At weight 1 each, the i-th of n rows sits at i / (n - 1): numpy's linear rule.
    positions = (cumulative - weights / 2 - weights[0] / 2) / (
        cumulative[-1] - weights[0] / 2 - weights[-1] / 2
    )
    return np.interp(np.asarray(q) / 100.0, positions, scores)


def _rms(X):
    """Each row's root mean square, in float64.

    Squares overflow float64 only beyond 1e154, far beyond the float32 the
    autoencoders compute in, which refuse such rows with a clear error: the
    overflow is left silent here, for that error to be the one the user sees.
    """
    X = np.asarray(X, dtype=np.float64)
    with np.errstate(over="ignore"):
        return np.sqrt(np.mean(X * X, axis=1))


def _explainable(estimator):
    return estimator is None or hasattr(estimator, "score_samples_per_feature")


class AutoencoderOutlierDetector(
    CallbackSupportMixin, OutlierMixin, MetaEstimatorMixin, BaseEstimator
):
    """Outlier detector from an autoencoder's per-sample scores.

    Fits a clone of ``estimator`` (any skae autoencoder, or any estimator with
    ``fit`` and ``score_samples``) and scores samples with its
    ``score_samples``: minus the reconstruction error for the deterministic
    autoencoders, the evidence lower bound (in nats) for
    :class:`~skae.VariationalAE`. Higher scores are more normal. The threshold
    ``offset_`` is set by ``contamination``, on the training scores as in
    :class:`~sklearn.ensemble.IsolationForest` or, with ``novelty=True``, on
    held-out training rows so that it holds on new data, as
    :class:`~sklearn.neighbors.LocalOutlierFactor` does with ``novelty=True``.

    ``fit(X, y)`` with ``y`` marking some rows as known anomalies (1) or known
    normal rows (0), the rest unknown (-1), trains the autoencoder to reconstruct
    the normal and unknown rows and to fail on the known anomalies (Deep SAD's
    loss), and :meth:`score_samples_per_feature` tells which features make a
    sample's score.

    Parameters
    ----------
    estimator : estimator object, default=None
        The autoencoder to fit; it is cloned, and the clone is ``estimator_``.
        None is a denoising autoencoder chosen on the one-class MNIST benchmark
        (see the user guide): ``n_features -> h -> 32`` (a ReLU hidden layer of
        ``h`` units and a 32-unit ReLU code), Gaussian noise of standard
        deviation 0.1, the squared error as the loss (not Huber's, the
        autoencoders' default), and ``max_iter=m``, where ``m`` trains on
        about 100,000 samples in all, ``100_000 // n_samples`` epochs within
        [10, 200]; with non-negative input its errors are scaled by each row's
        size (``error_scaling``). ``h`` is 256 for a numeric array and 128 for
        a table (a DataFrame with categorical columns, or missing cells), as
        measured: the wider layer ranks anomalies better on images and numeric
        data (one-class MNIST, scikit-learn's digits, breast_cancer, wine) and
        did not on real mixed-type tables (see the user guide). Scale the data in
        front of the detector, in a :class:`~sklearn.pipeline.Pipeline`, or
        inside ``estimator``.

    contamination : "auto" or float, default="auto"
        The expected proportion of outliers in the training data; it sets the
        threshold on the scores (of the training rows, or with ``novelty=True``
        of the held-out rows).

        - If "auto", ``offset_`` is Tukey's lower fence of those scores,
          ``Q1 - 1.5 * (Q3 - Q1)`` with ``Q1`` and ``Q3`` their quartiles: a
          sample is an outlier when its score lies that far below the
          bulk of the others. The rule is robust (outliers up to a quarter of the
          training data do not move it) and does not depend on the scores' units,
          so it is the same for reconstruction errors and for the ELBO.
        - If float, in (0, 0.5]: ``offset_`` is that percentile of those
          scores, so that this proportion of them is flagged.

    novelty : bool, default=False
        Whether the detector is for new data, as
        :class:`~sklearn.neighbors.LocalOutlierFactor`'s ``novelty``. False:
        ``offset_`` is set on the scores of the training rows, so that
        ``fit_predict`` flags ``contamination`` of them. An autoencoder fits its
        training rows better than new ones, so that threshold flags more than
        ``contamination`` of new data from the same distribution (on small
        training sets, several times more). True: 20 % of the training rows
        (none of the known anomalies of ``y``) are held out, the autoencoder is
        fitted on the others and ``offset_`` is set on the held-out rows'
        scores, so that ``predict`` flags about ``contamination`` of new data
        from the training distribution; ``fit_predict`` is then not available
        (fit, then ``predict`` on new data).

    error_scaling : {"auto", "rms"} or None, default="auto"
        How a sample's reconstruction error is scaled into its score.

        - If "rms", the score is minus the error divided by the sample's root
          mean square ``sqrt(mean(x ** 2))`` (floored at 1 % of the training
          rows' median, ``rms_floor_``). For non-negative data such as pixel
          intensities, a row's error grows with its size (the ink of a digit),
          so that without it a thin, simple shape of another class scores as
          normal; on one-class MNIST it raises the default's mean ROC AUC from
          0.959 to 0.977 (see the user guide).
        - If None, the score is ``estimator_.score_samples`` as it is.
        - If "auto", "rms" when every training value is at least 0, the input
          is numeric (not a table with categories or missing cells) and the
          autoencoder scores a reconstruction error (``estimator=None``, an
          :class:`~skae.Autoencoder`, a :class:`~skae.DenoisingAE` or a
          :class:`~skae.ConvAE`); None otherwise (around the mean of centred
          data every row's norm is near 0, and an ELBO is not an error).

    random_state : int, RandomState instance or None, default=None
        Seeds the clone: an int is given to every ``random_state`` parameter of
        the clone (also those of a Pipeline's steps), a RandomState instance
        draws one int for each. None leaves the clone's own ``random_state`` as
        it was set on ``estimator``. It also draws the held-out rows of
        ``novelty=True``. An int or a RandomState instance leaves the caller's
        global random state untouched; with None, a clone whose own
        ``random_state`` is None (as the default ``estimator=None``'s is) draws
        its seed from NumPy's global generator, as scikit-learn's estimators do.

    Attributes
    ----------
    estimator_ : estimator object
        The fitted clone of ``estimator``. With labelled rows in ``y`` it is of a
        private subclass of the autoencoder's class that trains on Deep SAD's
        loss.

    offset_ : float
        The threshold on the scores: ``decision_function = score_samples -
        offset_``, and samples with a negative decision are outliers.

    error_scaling_ : {"rms"} or None
        What ``error_scaling`` resolved to for this fit.

    rms_floor_ : float
        The least root mean square a row's error is divided by; set only when
        ``error_scaling_`` is "rms".

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    sklearn.ensemble.IsolationForest : Outlier detection with random trees.
    sklearn.neighbors.LocalOutlierFactor : Outlier detection by local density.
    VariationalAE : Its ``score_samples`` is the evidence lower bound.

    Notes
    -----
    The autoencoders stay transformers: a transformer with ``predict`` would
    become a Pipeline's final predictor and confuse scikit-learn's tags, so the
    detector contract lives in this meta-estimator, as a classifier's does in
    :class:`~sklearn.semi_supervised.SelfTrainingClassifier`.

    Reconstruction error flags what the autoencoder cannot reconstruct, which is
    not always what it has not seen: a simple shape that a model of richer data
    reconstructs well scores as normal. A few labelled anomalies in ``y`` teach
    it what not to reconstruct.

    Semi-supervised training (labelled rows in ``y``) needs ``estimator=None``,
    an :class:`~skae.Autoencoder` or a :class:`~skae.DenoisingAE`. Its loss is,
    per row with reconstruction error ``e``: ``e`` for an unlabelled row, ``e``
    for a known normal row, and ``1 / (e + 1e-6)`` for a known anomaly (Deep
    SAD's, with ``eta=1``), so it depends on the errors' scale: scale the data
    (pixels in [0, 1], or a ``StandardScaler``) as for the unsupervised default.

    References
    ----------
    L. Ruff, R. A. Vandermeulen, N. Görnitz, A. Binder, E. Müller, K.-R. Müller
    and M. Kloft, "Deep semi-supervised anomaly detection", ICLR 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from skae import AutoencoderOutlierDetector
    >>> rng = np.random.RandomState(0)
    >>> X = np.vstack([rng.normal(size=(95, 4)), rng.normal(6, 1, size=(5, 4))])
    >>> detector = AutoencoderOutlierDetector(contamination=0.05, random_state=0)
    >>> detector.fit(X).estimator_.max_iter
    200
    >>> detector.predict(X).shape
    (100,)
    >>> int((detector.predict(X) == -1).sum())
    5
    >>> detector.score_samples_per_feature(X).shape
    (100, 4)
    >>> y = np.full(100, -1)
    >>> y[-2:] = 1  # two of the anomalies are known
    >>> detector.fit(X, y).predict(X[-2:]).tolist()
    [-1, -1]
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "score_samples"]), None],
        "contamination": [
            StrOptions({"auto"}),
            Interval(Real, 0, 0.5, closed="right"),
        ],
        "novelty": ["boolean"],
        "error_scaling": [StrOptions({"auto", "rms"}), None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator=None,
        *,
        contamination="auto",
        novelty=False,
        error_scaling="auto",
        random_state=None,
    ):
        self.estimator = estimator
        self.contamination = contamination
        self.novelty = novelty
        self.error_scaling = error_scaling
        self.random_state = random_state

    # The inner estimator is validated when it is fitted.
    @_fit_context(prefer_skip_nested_validation=False)
    @restored_on_error
    def fit(self, X, y=None, sample_weight=None):
        """Fit the autoencoder to ``X`` and set the threshold on its scores.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,), default=None
            Known labels, for semi-supervised training: 1 for a known anomaly, 0
            for a known normal row, -1 for an unknown row. None, or all -1, is
            unsupervised training. These are not the labels that ``predict``
            returns (+1 inlier, -1 outlier): a ``y`` that marks more than half
            the samples as known anomalies is refused. See the Notes.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the training rows, passed to the autoencoder's ``fit``
            (each row's loss is weighted); the threshold is the weighted
            ``contamination`` quantile of the scores. None weighs every row 1.

        Returns
        -------
        self : object
            The fitted detector.
        """
        # A table (categorical columns, missing cells) goes to the autoencoder
        # as it is; the autoencoder checks and encodes it. Its own
        # categorical_features say which columns are categorical: names need
        # the frame's columns.
        if not (is_dataframe(X) or hasattr(X, "shape")):
            X = np.asarray(X)  # a list of rows, as scikit-learn takes
        table = needs_layout(
            X, getattr(self.estimator, "categorical_features", "from_dtype")
        )
        if y is None:
            X = validate_data(self, X, dtype=FLOAT_DTYPES, skip_check_array=table)
            labels = None
        else:
            X, y = validate_data(self, X, y, dtype=FLOAT_DTYPES, skip_check_array=table)
            labels = self._check_labels(y)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, ensure_non_negative=True
            )
        X_fit, y_fit = X, y
        train, calibration = self._split(X.shape[0], labels)
        weights = sample_weight
        if train is not None:
            X, X_calibration = _safe_indexing(X, train), _safe_indexing(X, calibration)
            labels = None if labels is None else labels[train]
            if sample_weight is not None:
                sample_weight, weights = sample_weight[train], weights[calibration]
            if labels is not None and (labels == _UNLABELLED).all():
                labels = None
        # Before the fit, which a refused error_scaling would waste.
        self.error_scaling_ = self._resolve_error_scaling(X, table)
        if self.error_scaling_ == "rms":
            # All-zero training rows leave no scale to compare with: 1.
            self.rms_floor_ = _RMS_FLOOR * float(np.median(_rms(X))) or 1.0
        if self.estimator is None:
            estimator = _default_estimator(X.shape[0], labels is not None, table)
        else:
            estimator = clone(self.estimator)
            if labels is not None:
                estimator = _semi_supervised(estimator)
        estimator = self._seed(estimator)
        fit_params = {}
        if sample_weight is not None:
            if not has_fit_parameter(estimator, "sample_weight"):
                raise ValueError(
                    f"{type(estimator).__name__} does not support sample_weight; "
                    "fit the detector without it, or use an estimator whose fit "
                    "takes it (estimator=None does)."
                )
            fit_params["sample_weight"] = sample_weight
        # scikit-learn's callbacks: the detector's fit is a task whose one
        # sub-task, fitting the autoencoder, is the autoencoder's own fit task.
        callback_ctx = self._init_callback_context(max_subtasks=1)
        callback_ctx.call_on_fit_task_begin(estimator=self, X=X_fit, y=y_fit)
        subcontext = callback_ctx.subcontext(task_name="fit-estimator")
        with subcontext.propagate_callback_context(estimator):
            subcontext.call_on_fit_task_begin(estimator=self, X=X, y=labels)
            if labels is None:
                self.estimator_ = estimator.fit(X, **fit_params)
            else:
                self.estimator_ = estimator.fit(X, labels, **fit_params)
            subcontext.call_on_fit_task_end(estimator=self, X=X, y=labels)
        scores = self._inner_scores(X if train is None else X_calibration)
        if self.contamination == "auto":
            q1, q3 = _percentile(scores, [25.0, 75.0], weights)
            self.offset_ = float(q1 - _TUKEY_K * (q3 - q1))
        else:
            (offset,) = _percentile(scores, [100.0 * self.contamination], weights)
            self.offset_ = float(offset)
        callback_ctx.call_on_fit_task_end(
            estimator=self, X=X_fit, y=y_fit, reconstruction_attributes={}
        )
        return self

    def _check_novelty_fit_predict(self):
        if self.novelty:
            raise AttributeError(
                "fit_predict is not available when novelty=True: the threshold "
                "is set for new data. Use novelty=False to flag the training set."
            )
        return True

    @available_if(_check_novelty_fit_predict)
    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit the detector to ``X`` and tell which of its rows are outliers.

        **Not available with novelty=True.**

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,), default=None
            Known labels, as in :meth:`fit`.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the training rows, as in :meth:`fit`.

        Returns
        -------
        is_inlier : ndarray of shape (n_samples,)
            +1 for inliers, -1 for outliers.
        """
        return self.fit(X, y, sample_weight=sample_weight).predict(X)

    def score_samples(self, X):
        """Score each sample with the autoencoder (higher is more normal).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            ``estimator_.score_samples(X)``, as float64: minus the reconstruction
            error, or the ELBO of a :class:`~skae.VariationalAE`; divided by each
            row's root mean square when ``error_scaling_`` is "rms".
        """
        check_is_fitted(self)
        return self._inner_scores(self._validate_new(X))

    def _check_explainable(self):
        estimator = getattr(self, "estimator_", self.estimator)
        if not _explainable(estimator):
            raise AttributeError(
                "score_samples_per_feature needs a reconstruction error per "
                "feature: estimator=None, an Autoencoder, a DenoisingAE or a "
                f"ConvAE, not {type(estimator).__name__}."
            )
        return True

    @available_if(_check_explainable)
    def score_samples_per_feature(self, X):
        """Split each sample's score into the contributions of its features.

        The score of a sample is minus its reconstruction error averaged over the
        features; feature ``j`` contributes minus its own error divided by the
        number of features (and, as the score, by the row's root mean square
        when ``error_scaling_`` is "rms"). The contributions of a row add up to its
        :meth:`score_samples` (within float64 rounding), and the most negative
        ones are the features that make it anomalous.

        Available when the autoencoder is ``estimator=None``, an
        :class:`~skae.Autoencoder`, a :class:`~skae.DenoisingAE` or a
        :class:`~skae.ConvAE` (not a :class:`~skae.VariationalAE`, whose ELBO
        holds a term of the code, nor a Pipeline).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_features)
            Each feature's contribution to the row's score, at most 0; the
            rows sum to ``score_samples(X)``.
        """
        check_is_fitted(self)
        X = self._validate_new(X)
        scores = np.asarray(
            self.estimator_.score_samples_per_feature(X), dtype=np.float64
        )
        scales = self._row_scales(X)
        return scores if scales is None else scores / scales[:, None]

    def decision_function(self, X):
        """Shifted scores: negative for outliers, positive for inliers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            ``score_samples(X) - offset_``.
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """Tell whether each sample is an inlier (+1) or an outlier (-1).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        is_inlier : ndarray of shape (n_samples,)
            +1 where ``decision_function(X) >= 0``, -1 elsewhere.
        """
        decision = self.decision_function(X)
        is_inlier = np.ones(decision.shape, dtype=int)
        is_inlier[decision < 0] = -1
        return is_inlier

    def _check_labels(self, y):
        """Return ``y`` as int labels in {-1, 0, 1}, None if none is labelled."""
        y = column_or_1d(y, warn=True)
        values = np.unique(y)
        if not np.isin(values, [_UNLABELLED, _NORMAL, _ANOMALY]).all():
            raise ValueError(
                "y must hold 1 (known anomaly), 0 (known normal) or -1 (unknown) "
                f"for each sample, got the values {values.tolist()}."
            )
        y = y.astype(np.int64)
        n_anomalies = int((y == _ANOMALY).sum())
        if n_anomalies > len(y) / 2:
            # Most likely scikit-learn's outlier labels (+1 inlier, -1 outlier,
            # what predict returns), which read here as the inverse: trained on,
            # they would teach the autoencoder not to reconstruct the normal rows.
            raise ValueError(
                f"y marks {n_anomalies} of the {len(y)} samples as known anomalies "
                "(1), more than half; an outlier detector's training data is "
                "mostly normal (contamination is at most 0.5). In fit's y, 1 is a "
                "known anomaly, 0 a known normal row and -1 an unknown row, not "
                "the +1 (inlier) and -1 (outlier) that predict returns. Pass "
                "y=None to train unsupervised."
            )
        return None if (y == _UNLABELLED).all() else y

    def _split(self, n_samples, labels):
        """Return the training and held-out rows of ``novelty=True``, or Nones."""
        if not self.novelty:
            return None, None
        # Known anomalies all train: the held-out rows stand for new normal data.
        candidates = np.arange(n_samples)
        if labels is not None:
            candidates = candidates[labels != _ANOMALY]
        n_held_out = math.ceil(_CALIBRATION_FRACTION * len(candidates))
        if len(candidates) < 2:
            raise ValueError(
                "novelty=True holds out 20 % of the training samples to set the "
                f"threshold, but there are {len(candidates)} samples that are "
                "not known anomalies; at least 2 are needed."
            )
        # A seeded generator of its own: None must not draw from the global one.
        rng = (
            np.random.default_rng()
            if self.random_state is None
            else check_random_state(self.random_state)
        )
        held_out = np.sort(rng.permutation(candidates)[:n_held_out])
        train = np.setdiff1d(np.arange(n_samples), held_out)
        return train, held_out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Missing cells make a table, which the autoencoders take.
        estimator = self.estimator
        tags.input_tags.allow_nan = estimator is None or getattr(
            estimator, "_takes_tables", False
        )
        return tags

    def _validate_new(self, X):
        """Validate new data as ``fit`` did: a table goes on as it is."""
        if getattr(self.estimator_, "_table_", None) is None:
            if not getattr(self.estimator_, "_takes_tables", False):
                return validate_rows(self, X)
            with plain_fit_refuses_missing_cells(self):
                return validate_rows(self, X)
        return validate_data(
            self, X, dtype=FLOAT_DTYPES, reset=False, skip_check_array=True
        )

    def _resolve_error_scaling(self, X, table):
        """Return "rms" or None: what ``error_scaling`` means for this fit."""
        if self.error_scaling != "auto":
            if self.error_scaling == "rms" and (
                table or not _explainable(self.estimator)
            ):
                raise ValueError(
                    'error_scaling="rms" divides a reconstruction error by each '
                    "row's root mean square: it needs numeric input and "
                    "estimator=None, an Autoencoder, a DenoisingAE or a ConvAE, "
                    f"not {type(self.estimator).__name__} on this input."
                )
            return self.error_scaling
        # A row's size is its magnitude only for non-negative data (intensities,
        # counts); around a centred data set's mean every norm is near 0.
        if table or not _explainable(self.estimator) or np.min(X) < 0:
            return None
        return "rms"

    def _row_scales(self, X):
        """Return the divisor of each row's score, its RMS floored, or None."""
        if self.error_scaling_ is None:
            return None
        return np.maximum(_rms(X), self.rms_floor_)

    def _inner_scores(self, X):
        scores = np.asarray(self.estimator_.score_samples(X), dtype=np.float64)
        scales = self._row_scales(X)
        return scores if scales is None else scores / scales

    def _seed(self, estimator):
        if self.random_state is None:
            return estimator
        keys = sorted(
            key
            for key in estimator.get_params(deep=True)
            if key == "random_state" or key.endswith("__random_state")
        )
        if isinstance(self.random_state, Integral):
            seeds = [int(self.random_state)] * len(keys)
        else:
            rng = check_random_state(self.random_state)
            seeds = [
                int(s) for s in rng.randint(np.iinfo(np.int32).max, size=len(keys))
            ]
        return estimator.set_params(**dict(zip(keys, seeds, strict=True)))
