"""AutoencoderImputer: fills only the missing cells, of arrays and mixed-type frames."""

import os
import pickle
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skae
from skae import AutoencoderImputer
from skae._impute import _auto_epochs

pd = pytest.importorskip("pandas")
# Short fits stop at max_iter on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

FAST = {"hidden_layer_sizes": (32,), "n_components": 8, "max_iter": 30}


def _numbers(n=300, seed=0, missing=0.2):
    """Six columns from two factors (so that a cell follows from the others)."""
    rng = np.random.RandomState(seed)
    Z = rng.randn(n, 2)
    X = Z @ rng.randn(2, 6) + 0.2 * rng.randn(n, 6) + 2 * np.tanh(Z[:, :1])
    X_missing = X.copy()
    X_missing[rng.rand(*X.shape) < missing] = np.nan
    return X, X_missing


def _frame(n=300, seed=0, missing=0.15):
    rng = np.random.RandomState(seed)
    a = rng.randn(n)
    b = 2 * a + 0.3 * rng.randn(n)
    df = pd.DataFrame(
        {
            "a": a,
            "b": b,
            "colour": np.where(a > 0.5, "red", np.where(a < -0.5, "blue", "green")),
            "size": pd.Categorical(np.where(b > 0, "L", "S"), categories=["S", "L"]),
            "flag": pd.array(a > 0, dtype="boolean"),
            "count": pd.array(rng.randint(0, 5, n), dtype="Int64"),
        }
    )
    df["colour"] = df["colour"].astype(object)
    full = df.copy()
    for column in ["a", "colour", "size", "count"]:
        df.loc[rng.rand(n) < missing, column] = None
    return full, df


def test_autoencoder_imputer_array_fills_only_missing_cells():
    _, X = _numbers()
    Xt = AutoencoderImputer(random_state=0, **FAST).fit_transform(X)
    observed = ~np.isnan(X)
    assert Xt.shape == X.shape
    assert Xt.dtype == np.float64
    assert np.isfinite(Xt).all()
    # Bitwise: the observed cells are X's own.
    assert Xt[observed].tobytes() == X[observed].tobytes()


def test_autoencoder_imputer_keeps_float32():
    _, X = _numbers()
    Xt = AutoencoderImputer(random_state=0, **FAST).fit_transform(X.astype(np.float32))
    assert Xt.dtype == np.float32


def test_autoencoder_imputer_beats_simple_imputer():
    X, X_missing = _numbers(n=500)
    missing = np.isnan(X_missing)
    scale = X.std(axis=0)

    def rmse(Xt):
        return np.sqrt(np.mean(((Xt - X) / scale)[missing] ** 2))

    ae = AutoencoderImputer(random_state=0).fit_transform(X_missing)
    mean = SimpleImputer().fit_transform(X_missing)
    # Measured: about 0.27 against the mean's 0.98 standard deviations.
    assert rmse(ae) < 0.6 * rmse(mean)


def test_autoencoder_imputer_frame_keeps_dtypes_and_observed_cells():
    _, df = _frame()
    out = AutoencoderImputer(random_state=0, **FAST).fit(df).transform(df)
    assert list(out.columns) == list(df.columns)
    assert out.index.equals(df.index)
    assert (out.dtypes == df.dtypes).all()
    assert not out.isna().any().any()
    for column in df.columns:
        observed = df[column].notna().to_numpy()
        pd.testing.assert_series_equal(out[column][observed], df[column][observed])
    assert set(out["colour"]) <= {"red", "green", "blue"}
    assert out["size"].dtype == df["size"].dtype  # same categories, same order
    assert set(out["count"]) <= set(range(-5, 10))


def test_autoencoder_imputer_frame_learns_categories():
    # The colour follows from a, and the size from b: the fills get the
    # category right more often than the majority level.
    full, df = _frame(n=500)
    out = AutoencoderImputer(random_state=0).fit_transform(df)
    filled = df["colour"].isna().to_numpy()
    accuracy = (out["colour"][filled] == full["colour"][filled]).mean()
    majority = full["colour"].value_counts(normalize=True).max()
    assert accuracy > majority + 0.1


@pytest.mark.parametrize(
    "categorical",
    [
        [False, False, True, True, False, True],
        [2, 3, 5],
        ["colour", "size", "count"],
    ],
)
def test_autoencoder_imputer_categorical_features_given(categorical):
    # The imputer passed its mask on as a NumPy array, which the autoencoder
    # compared with "from_dtype": any list failed with "The truth value of an
    # array with more than one element is ambiguous".
    _, df = _frame()
    imputer = AutoencoderImputer(categorical_features=categorical, **FAST)
    filled = imputer.fit_transform(df)
    kinds = [c["kind"][0] for c in imputer.autoencoder_._table_["columns"]]
    assert kinds == ["n", "n", "c", "c", "n", "c"]
    assert not filled.isna().any().any()
    assert set(filled["count"]) <= set(df["count"].dropna())


def test_autoencoder_imputer_without_missing_cells_in_fit_still_imputes():
    X, X_missing = _numbers()
    imputer = AutoencoderImputer(random_state=0, **FAST).fit(X)
    Xt = imputer.transform(X_missing)
    assert np.isfinite(Xt).all()
    # Nothing missing: X comes back as it is.
    assert imputer.transform(X).tobytes() == X.tobytes()


def test_autoencoder_imputer_row_missing_every_cell():
    _, X = _numbers()
    X[0] = np.nan
    Xt = AutoencoderImputer(random_state=0, **FAST).fit_transform(X)
    assert np.isfinite(Xt[0]).all()
    _, df = _frame()
    df.iloc[0] = None
    out = AutoencoderImputer(random_state=0, **FAST).fit_transform(df)
    assert not out.iloc[0].isna().any()
    assert out.loc[0, "colour"] in {"red", "green", "blue"}


@pytest.mark.parametrize("missing_values", [-1, -1.0], ids=["int", "float"])
def test_autoencoder_imputer_missing_values_number(missing_values):
    X, X_missing = _numbers()
    X_coded = np.where(np.isnan(X_missing), -1, X_missing)
    imputer = AutoencoderImputer(missing_values=missing_values, random_state=0, **FAST)
    Xt = imputer.fit_transform(X_coded)
    assert not (Xt == -1).any()
    observed = ~np.isnan(X_missing)
    assert Xt[observed].tobytes() == X_coded[observed].tobytes()
    # NaN is no missing value then: an error, as in scikit-learn's imputers.
    with pytest.raises(ValueError, match="NaN"):
        imputer.transform(X_missing)


def test_autoencoder_imputer_missing_values_in_frame():
    _, df = _frame(missing=0.0)
    coded = df.copy()
    coded["colour"] = coded["colour"].where(np.arange(len(df)) % 5 != 0, "?")
    coded["size"] = coded["size"].cat.add_categories(["?"])
    coded.loc[np.arange(len(df)) % 7 == 0, "size"] = "?"
    out = AutoencoderImputer(missing_values="?", random_state=0, **FAST).fit_transform(
        coded
    )
    assert "?" not in set(out["colour"])
    assert "?" not in set(out["size"])
    assert set(out["size"]) <= {"S", "L"}
    assert (out.dtypes == coded.dtypes).all()


def test_autoencoder_imputer_missing_values_never_occur():
    X, _ = _numbers()
    imputer = AutoencoderImputer(missing_values=-999, random_state=0, **FAST)
    assert imputer.fit_transform(X).tobytes() == X.tobytes()


def test_autoencoder_imputer_empty_column_dropped_with_warning():
    _, X = _numbers()
    X[:, 2] = np.nan
    imputer = AutoencoderImputer(random_state=0, **FAST).fit(X)
    with pytest.warns(UserWarning, match="Skipping features without any observed"):
        Xt = imputer.transform(X)
    assert Xt.shape == (X.shape[0], X.shape[1] - 1)
    assert np.isfinite(Xt).all()
    assert list(imputer.get_feature_names_out()) == ["x0", "x1", "x3", "x4", "x5"]


def test_autoencoder_imputer_empty_column_kept_as_zeros():
    _, df = _frame()
    df["empty"] = np.nan
    df["empty_text"] = pd.Series([None] * len(df), dtype=object)
    imputer = AutoencoderImputer(keep_empty_features=True, random_state=0, **FAST)
    out = imputer.fit_transform(df)
    assert list(out.columns) == list(df.columns)
    assert (out["empty"] == 0).all()
    assert (out["empty_text"] == 0).all()
    assert not out.isna().any().any()
    assert list(imputer.get_feature_names_out()) == list(df.columns)


def test_autoencoder_imputer_every_column_empty_is_an_error():
    X = np.full((10, 3), np.nan)
    with pytest.raises(ValueError, match="nothing to learn"):
        AutoencoderImputer(**FAST).fit(X)


def test_autoencoder_imputer_columns_unseen_in_fit():
    _, df = _frame()
    imputer = AutoencoderImputer(random_state=0, **FAST).fit(df)
    with pytest.raises(ValueError, match="Feature names unseen at fit time"):
        imputer.transform(df.rename(columns={"a": "z"}))
    with pytest.raises(ValueError, match="Feature names seen at fit time, yet now"):
        imputer.transform(df.drop(columns="b"))


def test_autoencoder_imputer_add_indicator():
    _, df = _frame()
    imputer = AutoencoderImputer(add_indicator=True, random_state=0, **FAST)
    out = imputer.fit_transform(df)
    indicators = [f"missingindicator_{c}" for c in ["a", "colour", "size", "count"]]
    assert list(out.columns) == [*df.columns, *indicators]
    assert list(imputer.get_feature_names_out()) == list(out.columns)
    np.testing.assert_array_equal(out["missingindicator_a"], df["a"].isna())
    _, X = _numbers()
    Xt = imputer.fit_transform(X)
    assert Xt.shape == (X.shape[0], 2 * X.shape[1])
    np.testing.assert_array_equal(Xt[:, X.shape[1] :], np.isnan(X))


def test_autoencoder_imputer_add_indicator_integer_column_labels():
    # Labels mixing integers and strings would be refused downstream.
    _, df = _frame()
    df = df.set_axis(range(3, 3 + 2 * df.shape[1], 2), axis=1)
    imputer = AutoencoderImputer(add_indicator=True, random_state=0, **FAST)
    out = imputer.fit_transform(df)
    n_missing = int(df.isna().any().sum())
    start = df.columns[-1] + 1
    assert list(out.columns) == [*df.columns, *range(start, start + n_missing)]
    StandardScaler().fit(out.select_dtypes("number"))


def test_autoencoder_imputer_set_output_pandas():
    _, X = _numbers()
    imputer = AutoencoderImputer(random_state=0, **FAST).set_output(transform="pandas")
    out = imputer.fit_transform(X)
    assert list(out.columns) == [f"x{i}" for i in range(X.shape[1])]


def test_autoencoder_imputer_object_array():
    _, df = _frame()
    X = df[["a", "b", "colour"]].to_numpy(dtype=object)
    Xt = AutoencoderImputer(random_state=0, **FAST).fit_transform(X)
    assert Xt.dtype == object
    assert set(Xt[:, 2]) <= {"red", "green", "blue"}
    assert np.isfinite(Xt[:, :2].astype(float)).all()


def test_autoencoder_imputer_pipeline_and_grid_search():
    X, X_missing = _numbers()
    y = X[:, 0] + X[:, 1]
    pipe = make_pipeline(AutoencoderImputer(random_state=0, **FAST), Ridge())
    search = GridSearchCV(
        pipe, {"autoencoderimputer__noise_level": [0.1, 0.3]}, cv=2
    ).fit(X_missing, y)
    assert search.best_score_ > 0.5
    assert search.predict(X_missing).shape == y.shape


def test_autoencoder_imputer_pickle_and_save_round_trip(tmp_path):
    _, df = _frame()
    imputer = AutoencoderImputer(random_state=0, **FAST).fit(df)
    expected = imputer.transform(df)
    again = pickle.loads(pickle.dumps(imputer))
    pd.testing.assert_frame_equal(again.transform(df), expected)
    path = os.fspath(tmp_path / "imputer.skae")
    skae.save(imputer, path)
    pd.testing.assert_frame_equal(skae.load(path).transform(df), expected)


def test_autoencoder_imputer_random_state_repeats():
    _, X = _numbers()
    a = AutoencoderImputer(random_state=0, **FAST).fit_transform(X)
    b = AutoencoderImputer(random_state=0, **FAST).fit_transform(X)
    np.testing.assert_array_equal(a, b)


def test_autoencoder_imputer_non_pandas_frame_is_an_error():
    pl = pytest.importorskip("polars")
    with pytest.raises(TypeError, match="pandas"):
        AutoencoderImputer(**FAST).fit(pl.DataFrame({"a": [1.0, None, 2.0]}))


def test_autoencoder_imputer_save_with_indicator_says_what_to_use(tmp_path):
    _, X = _numbers()
    imputer = AutoencoderImputer(add_indicator=True, random_state=0, **FAST).fit(X)
    with pytest.raises(TypeError, match="skops"):
        skae.save(imputer, os.fspath(tmp_path / "imputer.skae"))


def test_autoencoder_imputer_default_budget():
    # What the docstring says: on 1,000 rows, 500-row batches and 20 epochs at
    # a learning rate of 0.01 (about 40 steps), and reaching them is no
    # ConvergenceWarning; the network and loss are the imputer's.
    _, X = _numbers(n=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        imputer = AutoencoderImputer(random_state=0).fit(X)
    ae = imputer.autoencoder_
    assert imputer.n_iter_ == ae.n_iter_ == 20
    assert ae.batch_size == 500
    assert ae.learning_rate_init == 0.01
    assert tuple(ae.hidden_layer_sizes) == (128,) and ae.n_components == 32
    assert ae.consistency == 0.0 and ae.loss == "mse"


def test_autoencoder_imputer_small_table_gets_40_steps():
    # 300 rows are one batch: 40 epochs, so that training still takes 40 steps.
    _, X = _numbers(n=300)
    imputer = AutoencoderImputer(random_state=0).fit(X)
    assert imputer.autoencoder_.batch_size == 300
    assert imputer.n_iter_ == 40


@pytest.mark.parametrize(
    "n_samples, batch_size, epochs",
    [
        (1000, 500, 20),
        (1001, 500, 20),
        (500, 500, 40),
        (10, 10, 40),
        (1000, 200, 20),
        (1000, 1000, 40),
        (60_000, 500, 20),
        (100_000, 500, 12),  # the DAE's "auto": 1,200,000 / n
        (10_000_000, 500, 10),
    ],
)
def test_autoencoder_imputer_auto_epochs(n_samples, batch_size, epochs):
    assert _auto_epochs(n_samples, batch_size) == epochs


def test_autoencoder_imputer_explicit_budget_is_kept():
    _, X = _numbers(n=1000)
    imputer = AutoencoderImputer(
        max_iter=3, batch_size=100, learning_rate_init=0.001, random_state=0
    ).fit(X)
    ae = imputer.autoencoder_
    assert imputer.n_iter_ == 3
    assert ae.batch_size == 100 and ae.learning_rate_init == 0.001


def test_autoencoder_imputer_column_of_levels_with_no_observed_cell():
    # A frame built with NaN (or a CSV chunk with an empty column) gives a
    # column of text or booleans the float dtype: its cells still get levels.
    _, df = _frame()
    imputer = AutoencoderImputer(random_state=0, **FAST).fit(df)
    row = df.iloc[[1]].astype({"colour": float, "flag": float})
    row[["colour", "flag"]] = np.nan
    out = imputer.transform(row)
    assert out.loc[1, "colour"] in {"red", "green", "blue"}
    assert isinstance(out.loc[1, "flag"], bool | np.bool_)


def test_autoencoder_imputer_nullable_boolean_and_small_integers_keep_their_dtype():
    _, df = _frame()
    df = df.astype({"count": "UInt8"})
    df.loc[df.index[:30], "flag"] = pd.NA
    out = AutoencoderImputer(random_state=0, **FAST).fit(df).transform(df)
    assert out.dtypes.to_dict() == df.dtypes.to_dict()
    assert not out[["flag", "count"]].isna().any().any()
