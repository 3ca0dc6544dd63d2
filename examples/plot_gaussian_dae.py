"""
==================================================
Denoising autoencoder with additive Gaussian noise
==================================================

The classic additive-Gaussian-noise autoencoder (the TensorFlow models
repository's ``AdditiveGaussianNoiseAutoencoder``): one hidden layer of 200
softplus units, inputs corrupted by Gaussian noise of standard deviation 0.01,
Adam at a learning rate of 1e-3, batches of 128, 20 epochs, on standardised pixels.
The per-epoch cost log is the estimator's ``loss_curve_``; the total test cost is
the reference's: half the squared error summed over every pixel of every test
image. Here it is a :class:`~skae.DenoisingAE` behind a
:class:`~sklearn.preprocessing.StandardScaler` in a pipeline, so that
reconstructions come back in pixel space through ``inverse_transform``.
"""

# %%
# Data
# ----
# scikit-learn's digits (8x8 images) by default; the full MNIST when
# ``SKAE_MNIST`` points at an ``.npz`` file.
import os
import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skae import DenoisingAE
from skae.datasets import load_mnist
from skae.plotting import plot_loss_curve, plot_reconstructions

MNIST = os.environ.get("SKAE_MNIST")
if MNIST:
    X_train, y_train = load_mnist(path=MNIST, subset="train", return_X_y=True)
    X_test, y_test = load_mnist(path=MNIST, subset="test", return_X_y=True)
    image_shape = (28, 28)
else:
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16, y, test_size=0.25, random_state=0, stratify=y
    )
    image_shape = (8, 8)
print(f"{len(X_train)} training and {len(X_test)} test images of {image_shape}")

# %%
# The model
# ---------
# The recipe trains for a fixed 20 epochs; scikit-learn's
# :class:`~sklearn.exceptions.ConvergenceWarning` says that the loss was still
# falling when ``max_iter`` ran out, which is what the recipe intends. The
# reference has no weight penalty, hence ``alpha=0``.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

dae = DenoisingAE(
    n_components=200,
    hidden_layer_sizes=(),
    consistency=0,  # the classic objective: no consistency term
    activation="softplus",
    code_activation="softplus",
    noise="gaussian",
    noise_level=0.01,
    loss="mse",
    solver="adam",
    learning_rate_init=1e-3,
    batch_size=128,
    max_iter=20,
    alpha=0.0,
    random_state=0,
)
pipe = make_pipeline(StandardScaler(), dae).fit(X_train)

# %%
# The cost log and the total test cost
# ------------------------------------
# ``loss_curve_`` holds each epoch's mean squared error per pixel, averaged over
# the batches. The reference's total cost is half the squared error summed over
# all pixels of all test images, on the standardised scale.
for epoch, cost in enumerate(dae.loss_curve_, start=1):
    print(f"epoch {epoch:2d}  cost {cost:.6f}")

Z_test = pipe[0].transform(X_test)
squared_error = (dae.inverse_transform(dae.transform(Z_test)) - Z_test) ** 2
print(f"mean squared error per pixel on the test images: {squared_error.mean():.4f}")
print(f"total test cost (0.5 * sum of squared errors): {0.5 * squared_error.sum():.1f}")

# %%
# Measured on the full MNIST on 2026-12-04 (784-200, 60,000 training and 10,000
# test images; :doc:`/examples_results` has the command): the cost fell from
# 0.5065 in the first epoch to 0.1554 in the twentieth, the test images'
# squared error was 0.1726 per pixel, and the total test cost 676,429.
#
# Loss curve and reconstructions
# ------------------------------
# The originals above, their reconstructions below (decoded, then mapped back
# from standardised to pixel values by the scaler).
plot_loss_curve(dae)
fig, axes = plot_reconstructions(pipe, X_test, n_images=5, image_shape=image_shape)
fig.suptitle("Gaussian-noise denoising autoencoder")
plt.show()
