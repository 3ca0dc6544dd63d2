"""Learning quality: the default DenoisingAE's features against PCA's."""

import pytest
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skae import DenoisingAE


@pytest.fixture(scope="module")
def digits_split():
    # The demo's split: raw pixels, 70/30, stratified.
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)


def _accuracy(reducer, split):
    X_train, X_test, y_train, y_test = split
    pipe = make_pipeline(StandardScaler(), reducer, LogisticRegression(max_iter=3000))
    return pipe.fit(X_train, y_train).score(X_test, y_test)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("k", [8, 16, 32])
def test_default_denoising_ae_beats_pca_on_digits(digits_split, k, seed):
    # Everything but the code size at its default (issue: "defaults that work").
    # Two seeds: the earlier squared-error default won with seed 0 and lost at
    # k = 16 with seed 1 (docs/learning_quality.md).
    dae = _accuracy(DenoisingAE(n_components=k, random_state=seed), digits_split)
    pca = _accuracy(PCA(k, random_state=0), digits_split)
    assert dae > pca, (dae, pca)
