"""Outlier detection with any skae autoencoder, as a scikit-learn outlier detector."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import (
    BaseEstimator,
    MetaEstimatorMixin,
    OutlierMixin,
    _fit_context,
    clone,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from skae._autoencoder import DenoisingAE

# Computation keeps float32 input in float32 (the autoencoders compute in float32).
FLOAT_DTYPES = (np.float64, np.float32)

# Tukey's fences: the whisker of a box plot, 1.5 interquartile ranges below the
# lower quartile. Under a normal distribution 0.35 % of the samples lie below it.
_TUKEY_K = 1.5

_DEFAULT_LAYERS = (128, 32)
_PRESENTATIONS = 100_000


def _default_estimator(n_samples):
    """Build the autoencoder that ``estimator=None`` stands for.

    Chosen on the one-class MNIST benchmark (benchmarks/bench_outlier.py). Every
    parameter that matters is spelled out, so that a change of the autoencoders'
    own defaults does not change the detector.
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
    *hidden, code = _DEFAULT_LAYERS
    return DenoisingAE(n_components=code, hidden_layer_sizes=tuple(hidden), **params)


def _default_max_iter(n_samples):
    # A fixed number of epochs is too few steps on a small training set or too
    # slow on a large one: the default trains on about _PRESENTATIONS samples in
    # all, within [10, 200] epochs.
    return int(np.clip(_PRESENTATIONS // max(n_samples, 1), 10, 200))


class AutoencoderOutlierDetector(OutlierMixin, MetaEstimatorMixin, BaseEstimator):
    """Outlier detector from an autoencoder's per-sample scores.

    Fits a clone of ``estimator`` (any skae autoencoder, or any estimator with
    ``fit`` and ``score_samples``) and scores samples with its
    ``score_samples``: minus the reconstruction error for the deterministic
    autoencoders, the evidence lower bound (in nats) for
    :class:`~skae.VariationalAE`. Higher scores are more normal. The threshold
    ``offset_`` is set on the training scores, by ``contamination``, as in
    :class:`~sklearn.ensemble.IsolationForest`.

    Parameters
    ----------
    estimator : estimator object, default=None
        The autoencoder to fit; it is cloned, and the clone is ``estimator_``.
        None is a denoising autoencoder chosen on the one-class MNIST benchmark
        (see the user guide): ``n_features -> 128 -> 32`` (a ReLU hidden layer
        and a 32-unit ReLU code), Gaussian noise of standard deviation 0.1, the
        squared error as the loss (not Huber's, the autoencoders' default), and
        ``max_iter=m``, where ``m`` trains on
        about 100,000 samples in all, ``100_000 // n_samples`` epochs within
        [10, 200]. Scale the data in front of the detector, in a
        :class:`~sklearn.pipeline.Pipeline`, or inside ``estimator``.

    contamination : "auto" or float, default="auto"
        The expected proportion of outliers in the training data; it sets the
        threshold on the scores.

        - If "auto", ``offset_`` is Tukey's lower fence of the training scores,
          ``Q1 - 1.5 * (Q3 - Q1)`` with ``Q1`` and ``Q3`` their quartiles: a
          training sample is an outlier when its score lies that far below the
          bulk of the others. The rule is robust (outliers up to a quarter of the
          training data do not move it) and does not depend on the scores' units,
          so it is the same for reconstruction errors and for the ELBO.
        - If float, in (0, 0.5]: ``offset_`` is that percentile of the training
          scores, so that this proportion of the training samples is flagged.

    random_state : int, RandomState instance or None, default=None
        Seeds the clone: an int is given to every ``random_state`` parameter of
        the clone (also those of a Pipeline's steps), a RandomState instance
        draws one int for each. None leaves the clone's own ``random_state`` as
        it was set on ``estimator``. The caller's global random state is never
        touched.

    Attributes
    ----------
    estimator_ : estimator object
        The fitted clone of ``estimator``.

    offset_ : float
        The threshold on the scores: ``decision_function = score_samples -
        offset_``, and samples with a negative decision are outliers.

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
    reconstructs well scores as normal.

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
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "score_samples"]), None],
        "contamination": [
            StrOptions({"auto"}),
            Interval(Real, 0, 0.5, closed="right"),
        ],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator=None, *, contamination="auto", random_state=None):
        self.estimator = estimator
        self.contamination = contamination
        self.random_state = random_state

    # The inner estimator is validated when it is fitted.
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Fit the autoencoder to ``X`` and set the threshold on its scores.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted detector.
        """
        X = validate_data(self, X, dtype=FLOAT_DTYPES)
        estimator = (
            _default_estimator(X.shape[0])
            if self.estimator is None
            else clone(self.estimator)
        )
        self.estimator_ = self._seed(estimator).fit(X)
        scores = self._inner_scores(X)
        if self.contamination == "auto":
            q1, q3 = np.percentile(scores, [25.0, 75.0])
            self.offset_ = float(q1 - _TUKEY_K * (q3 - q1))
        else:
            self.offset_ = float(np.percentile(scores, 100.0 * self.contamination))
        return self

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
            error, or the ELBO of a :class:`~skae.VariationalAE`.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=FLOAT_DTYPES, reset=False)
        return self._inner_scores(X)

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

    def _inner_scores(self, X):
        return np.asarray(self.estimator_.score_samples(X), dtype=np.float64)

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
