"""
=============================================
Deep autoencoder against PCA at 30 dimensions
=============================================

Hinton and Salakhutdinov ("Reducing the dimensionality of data with neural
networks", Science, 2006) compressed MNIST to 30 numbers per image with a deep
784-1000-500-250-30 autoencoder and with PCA, and reported the mean squared
reconstruction error per test image, summed over its pixels in [0, 1]: 3.00 for
the autoencoder and 13.87 for PCA. PCA is the best *linear* code; the deep
autoencoder's nonlinear layers are what let it do better. This example measures
both errors the same way. Their autoencoder was pretrained layer by layer as
restricted Boltzmann machines and fine-tuned for 200 epochs; here the same
architecture trains with Adam, without pretraining, for far fewer epochs, so its
error need not match 3.00: the numbers printed below are what this run measures.
"""

# %%
# Data
# ----
# On the 8x8 digits a 30-number code would keep almost half of the 64 pixels, so
# the quick mode compares both methods at 8 dimensions, with a smaller network.
import os
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skae import Autoencoder
from skae.datasets import load_mnist

MNIST = os.environ.get("SKAE_MNIST")
if MNIST:
    X_train, _ = load_mnist(path=MNIST, subset="train", return_X_y=True)
    X_test, _ = load_mnist(path=MNIST, subset="test", return_X_y=True)
    image_shape, layers, max_iter, batch_size = (28, 28), (1000, 500, 250), 20, 128
    n_components = 30
else:
    X, _ = load_digits(return_X_y=True)
    X_train, X_test = train_test_split(X / 16, test_size=0.25, random_state=0)
    image_shape, layers, max_iter, batch_size = (8, 8), (128, 64), 60, 64
    n_components = 8

# %%
# The two codes
# -------------
# The autoencoder: ReLU hidden layers, a linear code (as in the paper), logistic
# outputs and the cross-entropy loss for pixels in [0, 1]. It trains for a fixed
# number of epochs (the warning that ``max_iter`` ran out is expected and
# silenced).
warnings.filterwarnings("ignore", category=ConvergenceWarning)

start = time.perf_counter()
ae = Autoencoder(
    n_components=n_components,
    hidden_layer_sizes=layers,
    activation="relu",
    code_activation="identity",
    out_activation="logistic",
    loss="bce",
    batch_size=batch_size,
    max_iter=max_iter,
    random_state=0,
).fit(X_train)
ae_seconds = time.perf_counter() - start
pca = PCA(n_components=n_components, random_state=0).fit(X_train)


def squared_error_per_image(X, X_reconstructed):
    """Mean over images of the squared error summed over pixels."""
    return np.mean(np.sum((X - X_reconstructed) ** 2, axis=1))


reconstructions = {
    f"autoencoder {X_train.shape[1]}-{'-'.join(map(str, layers))}-{n_components}": (
        ae.inverse_transform(ae.transform(X_test))
    ),
    f"PCA, {n_components} components": pca.inverse_transform(pca.transform(X_test)),
}
print(f"{'code':<40} {'squared error per test image':>28}")
for name, X_rec in reconstructions.items():
    print(f"{name:<40} {squared_error_per_image(X_test, X_rec):>28.2f}")
print(f"(autoencoder fit: {ae.n_iter_} epochs in {ae_seconds:.0f} s)")

# %%
# Measured on the full MNIST on 2026-11-26 (784-1000-500-250-30, 20 epochs, 801 s
# on 2 shared CPU cores; :doc:`/examples_results` has the command): 4.01 for the
# autoencoder and 13.87 for PCA, against the paper's 3.00 and 13.87. PCA's number
# is reproduced exactly; the autoencoder, with neither the pretraining nor the
# 200 epochs of the paper, gets within about one unit of it.
#
# Test images (top), the autoencoder's reconstructions (middle) and PCA's
# (bottom).
fig, axes = plt.subplots(3, 8, figsize=(8, 3.3))
rows = [("original", X_test), *reconstructions.items()]
for ax_row, (name, images) in zip(axes, rows, strict=True):
    for ax, image in zip(ax_row, images[:8], strict=True):
        ax.imshow(image.reshape(image_shape), cmap="gray", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
    ax_row[0].set_ylabel(name.split(",")[0].split(" ")[0], fontsize=8)
plt.show()
