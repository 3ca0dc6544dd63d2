"""
================================================
Multilayer perceptron against softmax regression
================================================

One hidden layer makes the difference on MNIST between softmax regression (a
linear model, about 92% test accuracy in the classic TensorFlow tutorial) and the
classic 784-300-10 multilayer perceptron: ReLU units, dropout of 0.25, Adagrad at
a learning rate of 0.3, batches of 100 (about 97.8%). Here the perceptron is
:class:`~skae.MLPClassifier` with exactly those parameters, next to scikit-learn's
:class:`~sklearn.linear_model.LogisticRegression` (multinomial, i.e. softmax
regression) on the same pixels in [0, 1].
"""

# %%
# Data
# ----
import os
import time
import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from skae import MLPClassifier
from skae.datasets import load_mnist
from skae.plotting import plot_loss_curve

MNIST = os.environ.get("SKAE_MNIST")
if MNIST:
    X_train, y_train = load_mnist(path=MNIST, subset="train", return_X_y=True)
    X_test, y_test = load_mnist(path=MNIST, subset="test", return_X_y=True)
else:
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16, y, test_size=0.25, random_state=0, stratify=y
    )

# %%
# Two classifiers
# ---------------
# The perceptron trains for a fixed 20 epochs; the warning that ``max_iter`` ran
# out is expected and silenced (for the logistic regression's solver too).
warnings.filterwarnings("ignore", category=ConvergenceWarning)

models = {
    "softmax regression (LogisticRegression)": LogisticRegression(max_iter=200),
    "784-300-10 MLP" if MNIST else "64-300-10 MLP": MLPClassifier(
        hidden_layer_sizes=(300,),
        activation="relu",
        dropout=0.25,
        solver="adagrad",
        learning_rate_init=0.3,
        batch_size=100,
        max_iter=20,
        random_state=0,
    ),
}
print(f"{'model':<40} {'test accuracy':>13} {'fit s':>6}")
for name, model in models.items():
    start = time.perf_counter()
    model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    print(f"{name:<40} {model.score(X_test, y_test):>13.4f} {seconds:>6.1f}")

# %%
# On the 8x8 digits of the quick mode, 1,347 training images with 64 pixels, a
# linear model is already strong and the perceptron has little to add; the gap
# the recipe is known for appears on MNIST. Measured on the full MNIST on
# 2026-12-04 (:doc:`/examples_results` has the command): 0.9735 test accuracy for
# the 784-300-10 perceptron after 20 epochs, 0.9266 for softmax regression.
#
# The perceptron's training loss per epoch (the cross-entropy, dropout on).
ax = plot_loss_curve(models[list(models)[1]])
ax.set_title("MLPClassifier training loss")
plt.show()
