"""
=========================
A hidden layer solves XOR
=========================

The exclusive or, the label of a point being whether its two coordinates have
the same sign, is the classic problem no linear model can solve (Minsky and
Papert, 1969): no single straight line separates the two classes. One hidden
layer can, by bending the input space so that a line does separate them. This
example fits :class:`~sklearn.linear_model.LogisticRegression` and a small
:class:`~skae.MLPClassifier` to noisy XOR data and draws their decision
boundaries. It is the same in the quick and the full-size modes.
"""

# %%
# Data: four clouds, labels by XOR of the signs
# ---------------------------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.inspection import DecisionBoundaryDisplay
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from skae import MLPClassifier

rng = np.random.default_rng(0)
corners = np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]])
X = np.repeat(corners, 100, axis=0) + 0.35 * rng.standard_normal((400, 2))
y = (np.sign(X[:, 0]) != np.sign(X[:, 1])).astype(int)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

# %%
# A linear model against one hidden layer of eight tanh units
# -----------------------------------------------------------
models = {
    "LogisticRegression": LogisticRegression(),
    "MLPClassifier((8,))": MLPClassifier(
        hidden_layer_sizes=(8,),
        activation="tanh",
        learning_rate_init=0.01,
        max_iter=500,
        random_state=0,
    ),
}
print(f"{'model':<22} {'train accuracy':>14} {'test accuracy':>13}")
for name, model in models.items():
    model.fit(X_train, y_train)
    print(
        f"{name:<22} {model.score(X_train, y_train):>14.3f} "
        f"{model.score(X_test, y_test):>13.3f}"
    )

# %%
# Decision boundaries
# -------------------
# The linear model can only cut the plane in two halves, which gets about half of
# the points right; the hidden layer carves out the four quadrants.
fig, axes = plt.subplots(1, 2, figsize=(9, 4), sharey=True)
for ax, (name, model) in zip(axes, models.items(), strict=True):
    DecisionBoundaryDisplay.from_estimator(
        model, X, response_method="predict_proba", cmap="RdBu", alpha=0.6, ax=ax
    )
    ax.scatter(X_test[:, 0], X_test[:, 1], c=y_test, cmap="RdBu", edgecolor="k", s=20)
    ax.set_title(f"{name}: test accuracy {model.score(X_test, y_test):.2f}")
plt.show()
