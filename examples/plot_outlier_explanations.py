"""
=====================================================
Which pixels make a digit anomalous, with few labels
=====================================================

A detector that flags a sample is more useful when it also says why. An
autoencoder's score is minus the reconstruction error averaged over the features
(on pixels, divided by the image's root mean square: ``error_scaling``), so it
splits exactly into one contribution per feature:
:meth:`~skae.AutoencoderOutlierDetector.score_samples_per_feature` returns them,
and they add up to :meth:`~skae.AutoencoderOutlierDetector.score_samples`. On
images, drawn as a heat map, they show the strokes the model of normal digits
could not reconstruct. The detector here also learns from a handful of
labelled anomalies (``fit(X, y)`` with ``y`` = 1 for a known anomaly, -1 for
an unknown row, as in Deep SAD), and sets its threshold on held-out rows
(``novelty=True``) so that it holds on new images.
"""

# %%
# Training data: the 0s, a few unlabelled anomalies, five labelled ones
# ---------------------------------------------------------------------
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from skae import AutoencoderOutlierDetector
from skae.plotting import plot_feature_scores

# The default detector trains for a fixed budget of epochs.
warnings.simplefilter("ignore", ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X / 16, y, test_size=0.5, random_state=0, stratify=y
)
rng = np.random.RandomState(0)
anomalies = rng.choice(np.flatnonzero(y_train != 0), 10, replace=False)
rows = np.concatenate([np.flatnonzero(y_train == 0), anomalies])
labels = np.full(len(rows), -1)
labels[-5:] = 1  # five of the ten anomalies are known
print(f"{len(rows)} training images, {np.sum(labels == 1)} labelled anomalies")

# %%
# Unsupervised and semi-supervised detectors
# ------------------------------------------
is_anomaly = y_test != 0
results = {}
for name, fit_labels in [("unsupervised", None), ("semi-supervised", labels)]:
    detector = AutoencoderOutlierDetector(contamination=0.05, novelty=True)
    detector.set_params(random_state=0).fit(X_train[rows], fit_labels)
    flagged = detector.predict(X_test) == -1
    auc = roc_auc_score(is_anomaly, -detector.score_samples(X_test))
    results[name] = detector
    print(
        f"{name:>15}: ROC AUC {auc:.3f}, flags {flagged[~is_anomaly].mean():.0%} "
        f"of the new 0s and {flagged[is_anomaly].mean():.0%} of the other digits"
    )

# %%
# The contributions add up to the score
# -------------------------------------
detector = results["semi-supervised"]
per_feature = detector.score_samples_per_feature(X_test)
print(
    "largest gap between the sum of the contributions and the score:",
    f"{np.abs(per_feature.sum(axis=1) - detector.score_samples(X_test)).max():.1e}",
)

# %%
# Heat maps of the most anomalous test digits
# -------------------------------------------
# Each pair is a flagged test image and the share of its reconstruction error
# that each pixel brings: the strokes a 0 does not have.
order = np.argsort(detector.score_samples(X_test))[:4]
fig, axes = plt.subplots(2, 4, figsize=(8, 4.4), layout="constrained")
for top, bottom, i in zip(axes[0], axes[1], order, strict=True):
    top.imshow(X_test[i].reshape(8, 8), cmap="gray_r")
    top.set_title(f"a {y_test[i]}, flagged")
    top.set_axis_off()
    plot_feature_scores(detector, X_test[i], image_shape=(8, 8), ax=bottom)
plt.show()
