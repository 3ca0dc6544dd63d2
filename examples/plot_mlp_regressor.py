"""
===================================================
MLPRegressor as a drop-in for scikit-learn's
===================================================

:class:`~skae.MLPRegressor` takes the parameters of
:class:`sklearn.neural_network.MLPRegressor`, so switching is the import line. Here
both fit scikit-learn's diabetes data (442 patients, 10 features, a disease
progression score) with the same settings: full-batch L-BFGS, the solver
scikit-learn recommends for small data, and Adam with early stopping. The targets
are standardised, as neural networks want them, with
:class:`~sklearn.compose.TransformedTargetRegressor`.
"""

# %%
# Data and the two estimators
# ---------------------------
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPRegressor as SklearnMLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skae import MLPRegressor

X, y = load_diabetes(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
warnings.filterwarnings("ignore", category=ConvergenceWarning)

settings = {
    "lbfgs": dict(solver="lbfgs", alpha=30.0, max_iter=200),
    "adam, early stopping": dict(
        learning_rate_init=0.01, early_stopping=True, max_iter=500
    ),
}


def model(cls, params):
    regressor = cls(hidden_layer_sizes=(32,), random_state=0, **params)
    return make_pipeline(
        StandardScaler(),
        TransformedTargetRegressor(regressor, transformer=StandardScaler()),
    )


# %%
# The same code for both
# ----------------------
results = {}
for name, params in settings.items():
    for label, cls in (("skae", MLPRegressor), ("scikit-learn", SklearnMLPRegressor)):
        start = time.perf_counter()
        fitted = model(cls, params).fit(X_train, y_train)
        seconds = time.perf_counter() - start
        results[label, name] = fitted
        print(
            f"{label:>12}, {name:<20}: test R² {fitted.score(X_test, y_test):.3f}"
            f" in {seconds:.2f} s"
        )

# %%
# Predictions against the truth
# -----------------------------
fig, axes = plt.subplots(1, 2, figsize=(9, 4), sharey=True)
for ax, name in zip(axes, settings, strict=True):
    for label, marker in (("skae", "o"), ("scikit-learn", "x")):
        pred = results[label, name].predict(X_test)
        ax.scatter(y_test, pred, marker=marker, alpha=0.6, label=label)
    lims = [y_test.min(), y_test.max()]
    ax.plot(lims, lims, color="grey", linewidth=1)
    ax.set(title=name, xlabel="true progression")
axes[0].set_ylabel("predicted progression")
axes[0].legend()
fig.tight_layout()
plt.show()

# The two fitted networks expose the same attributes.
skae_net = results["skae", "lbfgs"][-1].regressor_
print("coefs_ shapes:", [np.shape(c) for c in skae_net.coefs_])
print("n_iter_:", skae_net.n_iter_, "out_activation_:", skae_net.out_activation_)
