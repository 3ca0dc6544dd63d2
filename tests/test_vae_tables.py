"""VariationalAE on mixed-type tables: the ELBO of the cells, and synthetic rows."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV

import skae._vae
from skae import VariationalAE
from skae.nn.tabular import TableReconstructionLoss
from skae.nn.vae import VAELoss, reconstruction_nll, table_nll

pd = pytest.importorskip("pandas")
# Short fits stop at max_iter on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

FAST = {"hidden_layer_sizes": (32,), "max_iter": 40, "random_state": 0}


def _frame(n=600, seed=0, missing=0.1):
    """A table with structure (colour and size follow a, b = 2a) and a coin."""
    rng = np.random.RandomState(seed)
    a = rng.randn(n)
    b = 2 * a + 0.3 * rng.randn(n)
    colour = np.where(a > 0.5, "red", np.where(a < -0.5, "blue", "green"))
    df = pd.DataFrame(
        {
            "a": a,
            "b": b,
            "colour": colour.astype(object),
            # "XL" is declared but never seen.
            "size": pd.Categorical(
                np.where(b > 0, "L", "S"), categories=["S", "L", "XL"]
            ),
            "coin": pd.Categorical(np.where(rng.rand(n) < 0.7, "head", "tail")),
            "flag": a > 0,
            "count": rng.randint(0, 5, n),
        }
    )
    df.loc[rng.rand(n) < missing, "a"] = np.nan
    df.loc[rng.rand(n) < missing, "colour"] = None
    return df


@pytest.fixture(scope="module")
def df():
    return _frame()


@pytest.fixture(scope="module")
def vae(df):
    return VariationalAE(3, **FAST).fit(df)


# ------------------------------------------------------------------ the likelihood


def test_vae_table_nll_is_gaussian_for_numbers_and_cross_entropy_for_levels():
    torch.manual_seed(0)
    # Outputs: a number (column 0), three logits (column 1), a number (column 2).
    loss = TableReconstructionLoss([[0, 0], [4, 2]], [[1, 4, 1]], kind="mse")
    out = torch.randn(5, 5, dtype=torch.float64)
    target = torch.tensor(
        [[0.5, 2, -1.0], [1.0, 0, 0.0], [np.nan, 1, 2.0], [0.0, np.nan, 1.0]]
        + [[np.nan, np.nan, np.nan]],
        dtype=torch.float64,
    )
    got = table_nll(loss, out, target)
    log_p = torch.log_softmax(out[:, 1:4], dim=1)
    expected = []
    for i in range(5):
        total = 0.0
        for j, col in ((0, 0), (2, 4)):
            if not torch.isnan(target[i, j]):
                total += reconstruction_nll(
                    out[i : i + 1, col : col + 1], target[i : i + 1, j : j + 1], "mse"
                ).item()
        if not torch.isnan(target[i, 1]):
            total -= log_p[i, int(target[i, 1])].item()
        expected.append(total)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)
    assert got[4] == 0  # a row with no observed cell adds nothing


def test_vae_table_loss_needs_the_gaussian_likelihood():
    with pytest.raises(ValueError, match="kind='mse'"):
        VAELoss("bce", table={"numeric": [[0, 0]], "categorical": []})


# ----------------------------------------------------------------- the estimator


def test_vae_table_fit_learns_and_scores_the_elbo(vae, df):
    assert np.isfinite(vae.loss_curve_).all()
    assert vae.loss_curve_[-1] < 0.9 * vae.loss_curve_[0]
    assert list(vae.feature_names_in_) == list(df.columns)
    held_out = _frame(200, seed=1)
    scores = vae.score_samples(held_out)
    assert scores.shape == (200,) and np.isfinite(scores).all()
    assert vae.score(held_out) == pytest.approx(scores.mean())
    # Repeatable, and a row's score does not depend on the others (up to float32
    # rounding: other batch sizes take other BLAS kernels).
    np.testing.assert_array_equal(vae.score_samples(held_out), scores)
    np.testing.assert_allclose(vae.score_samples(held_out[:7]), scores[:7], rtol=1e-5)
    # A bound on the log-likelihood: below a model of independent columns that
    # knows each column's frequencies it may not be much worse, and the loss
    # (nats per row) is near the held-out bound.
    assert -vae.score(held_out) < 1.3 * vae.loss_curve_[-1]
    # Garbage rows (categories swapped across rows, numbers shuffled) score worse.
    rng = np.random.RandomState(0)
    shuffled = held_out.copy()
    for name in shuffled:
        shuffled[name] = shuffled[name].to_numpy()[rng.permutation(len(shuffled))]
    assert vae.score(shuffled) < vae.score(held_out) - 0.5


def test_vae_table_transform_is_the_deterministic_code_mean(vae, df):
    Z = vae.transform(df)
    assert Z.shape == (len(df), 3) and Z.dtype == np.float64
    np.testing.assert_array_equal(vae.transform(df), Z)
    back = vae.inverse_transform(Z[:5])
    assert list(back.columns) == list(df.columns)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"loss": "bce", "out_activation": "logistic"}, "use loss='mse'"),
        ({"out_activation": "logistic"}, "out_activation='identity'"),
    ],
    ids=["bce", "logistic-output"],
)
def test_vae_table_rejects_array_only_likelihoods(df, kwargs, match):
    with pytest.raises(ValueError, match=match):
        VariationalAE(2, hidden_layer_sizes=(4,), max_iter=1, **kwargs).fit(df)


def test_vae_table_beta_weights_the_kl_term(df):
    # The user guide's synthesis setting (beta=0.5, as TVAE's loss_factor=2)
    # works through the table criterion: a lighter KL term lets the posterior
    # means stray farther from the prior's 0 (measured, seeds 0 to 2: 0.75,
    # 0.63, 0.74 against 0.55, 0.46, 0.42). Were beta not passed on, the two
    # fits would be the same.
    half = VariationalAE(3, beta=0.5, **FAST).fit(df)
    full = VariationalAE(3, beta=1.0, **FAST).fit(df)
    assert np.abs(half.transform(df)).mean() > 1.2 * np.abs(full.transform(df)).mean()


def test_vae_table_grid_search_chooses_by_held_out_elbo(df):
    search = GridSearchCV(
        VariationalAE(3, **FAST), {"beta": [1.0, 50.0]}, cv=2, error_score="raise"
    ).fit(df)
    scores = search.cv_results_["mean_test_score"]
    assert np.isfinite(scores).all()
    # The plain ELBO: an over-regularised code (beta = 50) has the worse bound.
    assert search.best_params_ == {"beta": 1.0}


# --------------------------------------------------------------------- sampling


def test_vae_table_sample_has_the_training_columns_dtypes_and_categories(vae, df):
    rows = vae.sample(50, random_state=0)
    assert isinstance(rows, pd.DataFrame)
    assert list(rows.columns) == list(df.columns)
    assert (rows.dtypes == df.dtypes).all()
    assert list(rows["size"].cat.categories) == ["S", "L", "XL"]
    assert not rows.isna().any().any()  # complete rows: missingness is not modelled
    pd.testing.assert_frame_equal(rows, vae.sample(50, random_state=0))
    assert not rows.equals(vae.sample(50, random_state=1))


def test_vae_table_sample_draws_levels_from_the_softmax(vae, df):
    rows = vae.sample(2000, random_state=0)
    # The coin is independent of the rest: its likeliest level is always "head",
    # so an argmax would give 100 % heads; drawn levels keep about 70/30.
    share = (rows["coin"] == "tail").mean()
    assert 0.2 < share < 0.4
    # Every column's level frequencies are near the data's (total variation).
    for name in ["colour", "size", "coin", "flag"]:
        p = df[name].value_counts(normalize=True)
        q = rows[name].value_counts(normalize=True)
        tv = 0.5 * p.subtract(q, fill_value=0).abs().sum()
        assert tv < 0.1, name
    # Numbers come back in the column's units.
    assert abs(rows["b"].mean() - df["b"].mean()) < 0.3 * df["b"].std()


def test_vae_table_sample_numbers_have_the_datas_spread():
    # "noise" is independent of every other column: no code can reconstruct it,
    # so the decoder's mean is about constant. Drawn with the column's learnt
    # spread, the samples' standard deviation is near the data's; the mean alone
    # would give a column of nearly one value.
    df = _frame(missing=0.0)
    df["noise"] = np.random.RandomState(1).randn(len(df)) * 5 + 10
    vae = VariationalAE(
        3, hidden_layer_sizes=(64, 64), max_iter=100, random_state=0
    ).fit(df)
    rows = vae.sample(2000, random_state=0)
    decoded_means = vae.inverse_transform(vae.transform(df))["noise"]
    assert decoded_means.std() < 0.5 * df["noise"].std()
    assert 0.7 < rows["noise"].std() / df["noise"].std() < 1.3
    assert abs(rows["noise"].mean() - 10) < 0.5
    # Draws stay within each number's range in fit, its bounds included.
    for name in ["a", "b", "noise", "count"]:
        assert rows[name].min() >= df[name].min()
        assert rows[name].max() <= df[name].max()
    # Structure is kept (b = 2a, a correlation of 0.96 in the data): a column the
    # decoder reconstructs well learns a smaller deviation than the noise. On
    # 600 rows training stops before the deviations reach the residuals' (about
    # 0.7 against 0.3 for a and b), so the samples' correlation is lower.
    scale = vae.net_.module_.scale().detach().numpy()
    names = [c["name"] for c in vae._layout()["columns"] if c["kind"] == "numeric"]
    noise_scale = scale[names.index("noise")]
    assert scale[names.index("a")] < 0.9 * noise_scale
    assert scale[names.index("b")] < 0.9 * noise_scale
    assert np.corrcoef(rows["a"], rows["b"])[0, 1] > 0.4


def test_vae_table_sample_of_zero_rows_is_an_empty_frame(vae, df):
    rows = vae.sample(0, random_state=0)
    assert rows.shape == (0, df.shape[1])
    assert (rows.dtypes == df.dtypes).all()
    assert vae.sample(0, conditions={"colour": "red"}).shape == (0, df.shape[1])
    with pytest.raises(ValueError, match="n_samples == -1, must be >= 0"):
        vae.sample(-1)


def test_vae_table_sample_survives_pickling(vae):
    clone = pickle.loads(pickle.dumps(vae))
    pd.testing.assert_frame_equal(
        clone.sample(20, random_state=3, conditions={"coin": "tail"}),
        vae.sample(20, random_state=3, conditions={"coin": "tail"}),
    )


def test_vae_array_sample_is_the_decoded_prior_draw(digits):
    X, _ = digits
    vae = VariationalAE(
        2,
        hidden_layer_sizes=(16,),
        loss="bce",
        out_activation="logistic",
        max_iter=2,
        random_state=0,
    ).fit(X[:200])
    Z = np.random.RandomState(0).standard_normal((5, 2))
    np.testing.assert_array_equal(
        vae.sample(5, random_state=0), vae.inverse_transform(Z)
    )
    empty = vae.sample(0)
    assert empty.shape == (0, 64) and empty.dtype == np.float64
    with pytest.raises(ValueError, match="fitted on plain numbers"):
        vae.sample(5, conditions={0: 1.0})


def test_vae_table_sample_from_an_array_with_missing_cells():
    rng = np.random.RandomState(0)
    X = rng.randn(200, 3)
    X[rng.rand(200, 3) < 0.1] = np.nan
    vae = VariationalAE(2, hidden_layer_sizes=(8,), max_iter=5, random_state=0).fit(X)
    rows = vae.sample(10, random_state=0)
    assert rows.shape == (10, 3) and rows.dtype == np.float64
    assert np.isfinite(rows).all()


# ---------------------------------------------------------- conditional sampling


def test_vae_table_sample_conditions_fix_levels_and_follow_the_structure(vae, df):
    rows = vae.sample(100, conditions={"colour": "red", "flag": True}, random_state=0)
    assert len(rows) == 100
    assert (rows["colour"] == "red").all() and rows["flag"].all()
    assert (rows.dtypes == df.dtypes).all()
    # "red" rows have a > 0.5 in the data: the conditioned rows' a is high too.
    free = vae.sample(500, random_state=0)
    assert rows["a"].mean() > free["a"].mean() + 0.2


def test_vae_table_sample_conditions_on_an_object_array():
    rng = np.random.RandomState(0)
    X = np.empty((200, 2), dtype=object)
    X[:, 0] = rng.randn(200)
    X[:, 1] = np.where(rng.rand(200) < 0.5, "x", "y")
    vae = VariationalAE(2, hidden_layer_sizes=(8,), max_iter=5, random_state=0).fit(X)
    rows = vae.sample(10, conditions={1: "y"}, random_state=0)
    assert rows.shape == (10, 2) and (rows[:, 1] == "y").all()
    with pytest.raises(ValueError, match="a column is its index"):
        vae.sample(10, conditions={"1": "y"})


@pytest.mark.parametrize(
    "conditions, error, match",
    [
        ({"colour": "purple"}, ValueError, "a value the training data never had"),
        ({"shape": "round"}, ValueError, "was not in the data seen in fit"),
        ({"a": 0.0}, ValueError, "which is numeric"),
        ([("colour", "red")], TypeError, "must be a dict"),
    ],
    ids=["unseen-value", "unknown-column", "numeric-column", "not-a-dict"],
)
def test_vae_table_sample_conditions_errors(vae, conditions, error, match):
    with pytest.raises(error, match=match):
        vae.sample(5, conditions=conditions)


def test_vae_table_sample_conditions_on_a_declared_but_unseen_level(vae):
    # "XL" is in the column's categories, but no training row had it.
    with pytest.raises(
        ValueError, match=r"never had in that column; it had \['S', 'L'\]"
    ):
        vae.sample(5, conditions={"size": "XL"}, random_state=0)


def test_vae_table_sample_conditions_too_rare_is_a_clear_error(vae, monkeypatch):
    # With a tight bound (2 draws per row), red (about 30 % of rows) is too rare.
    monkeypatch.setattr(skae._vae, "_MAX_DRAWS_PER_ROW", 2)
    monkeypatch.setattr(skae._vae, "_MIN_DRAWS_FACTOR", 1)
    with pytest.raises(ValueError, match=r"drew 200 rows and only \d+ met"):
        vae.sample(100, conditions={"colour": "red"}, random_state=0)
