"""Autoencoders on mixed-type tables: DataFrames with categories and missing cells."""

import pickle

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

import skae
from skae import Autoencoder, DenoisingAE

pd = pytest.importorskip("pandas")
# Short fits stop at max_iter on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

FAST = {"hidden_layer_sizes": (16,), "max_iter": 20, "random_state": 0}


def _frame(n=240, seed=0, missing=0.1):
    """A table whose category and bool follow its numbers (so there is structure)."""
    rng = np.random.RandomState(seed)
    a = rng.randn(n)
    b = 2 * a + 0.3 * rng.randn(n)
    colour = np.where(a > 0.5, "red", np.where(a < -0.5, "blue", "green"))
    df = pd.DataFrame(
        {
            "a": a,
            "b": b,
            "colour": colour.astype(object),
            "size": pd.Categorical(np.where(b > 0, "L", "S"), categories=["S", "L"]),
            "flag": a > 0,
            "count": rng.randint(0, 5, n),
        }
    )
    df.loc[rng.rand(n) < missing, "a"] = np.nan
    df.loc[rng.rand(n) < missing, "colour"] = None
    return df


def test_autoencoder_table_fit_transform_shapes_and_dtype():
    df = _frame()
    ae = DenoisingAE(n_components=3, **FAST).fit(df)
    Z = ae.transform(df)
    assert Z.shape == (len(df), 3)
    assert Z.dtype == np.float64
    assert np.isfinite(Z).all()
    assert list(ae.feature_names_in_) == list(df.columns)
    assert ae.n_features_in_ == df.shape[1]
    assert np.isfinite(ae.loss_curve_).all()
    assert ae.loss_curve_[-1] < ae.loss_curve_[0]


def test_autoencoder_table_inverse_transform_restores_columns_and_dtypes():
    df = _frame()
    ae = Autoencoder(n_components=3, **FAST).fit(df)
    back = ae.inverse_transform(ae.transform(df))
    assert list(back.columns) == list(df.columns)
    assert back["size"].dtype == df["size"].dtype  # same categories, same order
    assert back["flag"].dtype == bool
    assert back["count"].dtype == df["count"].dtype
    assert set(back["colour"]) <= {"red", "green", "blue"}
    assert not back.isna().any().any()


def test_autoencoder_table_learns_categories():
    # The category is a function of a number: the reconstruction gets it right
    # far more often than the majority level would.
    df = _frame(n=400, missing=0.0)
    ae = Autoencoder(n_components=2, hidden_layer_sizes=(32,), random_state=0)
    back = ae.fit(df).inverse_transform(ae.transform(df))
    majority = df["colour"].value_counts(normalize=True).max()
    accuracy = (back["colour"] == df["colour"]).mean()
    assert accuracy > majority + 0.15


def test_autoencoder_table_score_samples_per_feature_adds_up():
    df = _frame()
    ae = DenoisingAE(n_components=3, **FAST).fit(df)
    per_feature = ae.score_samples_per_feature(df)
    assert per_feature.shape == df.shape
    assert (per_feature <= 0).all()
    np.testing.assert_allclose(
        per_feature.sum(axis=1), ae.score_samples(df), rtol=1e-5, atol=1e-7
    )
    # A missing cell scores 0: it is left out of the row's error.
    assert (per_feature[df["a"].isna().to_numpy(), 0] == 0).all()


def test_autoencoder_array_score_samples_per_feature_adds_up():
    X = np.random.RandomState(0).randn(60, 5)
    ae = Autoencoder(n_components=2, **FAST).fit(X)
    per_feature = ae.score_samples_per_feature(X)
    assert per_feature.shape == X.shape
    np.testing.assert_allclose(
        per_feature.sum(axis=1), ae.score_samples(X), rtol=1e-5, atol=1e-7
    )


def test_autoencoder_table_unusual_cell_has_the_worst_feature_score():
    df = _frame(n=400, missing=0.0)
    ae = Autoencoder(n_components=2, hidden_layer_sizes=(32,), random_state=0).fit(df)
    odd = df.iloc[:20].copy()
    odd["count"] = 50  # counts run from 0 to 4
    worst = ae.score_samples_per_feature(odd).argmin(axis=1)
    assert (worst == df.columns.get_loc("count")).all()
    assert ae.score_samples(odd).mean() < ae.score_samples(df.iloc[:20]).mean()


def test_autoencoder_table_missing_cells_are_left_out_of_the_loss():
    df = _frame()
    ae = DenoisingAE(n_components=3, **FAST).fit(df)
    a_missing = df.copy()
    a_missing.loc[:, "a"] = np.nan
    per_feature = ae.score_samples_per_feature(a_missing)
    assert (per_feature[:, 0] == 0).all()
    assert np.isfinite(ae.score_samples(a_missing)).all()
    # A row missing every cell: a code, and a zero error.
    empty = df.iloc[:2].where(np.zeros((2, df.shape[1]), dtype=bool))
    assert np.isfinite(ae.transform(empty)).all()
    assert (ae.score_samples(empty) == 0).all()


@pytest.mark.parametrize("noise", ["swap", "mask", "gaussian"])
def test_denoisingae_table_noises_train(noise):
    df = _frame()
    ae = DenoisingAE(n_components=3, noise=noise, **FAST).fit(df)
    assert np.isfinite(ae.transform(df)).all()


def test_autoencoder_array_with_missing_values_is_a_table():
    rng = np.random.RandomState(0)
    X = rng.randn(80, 4)
    X[rng.rand(80, 4) < 0.1] = np.nan
    ae = Autoencoder(n_components=2, **FAST).fit(X)
    assert np.isfinite(ae.transform(X)).all()
    back = ae.inverse_transform(ae.transform(X))
    assert back.shape == X.shape and back.dtype == np.float64
    assert np.isfinite(back).all()


def test_autoencoder_plain_array_path_is_unchanged():
    # No categories, no missing cells: no table layout, the array is the input.
    X = np.random.RandomState(0).randn(50, 4)
    ae = Autoencoder(n_components=2, **FAST).fit(X)
    assert ae._table_ is None
    assert ae.net_.module_.encoder[0].in_features == 4


def test_autoencoder_table_categorical_features_override():
    df = _frame(missing=0.0)
    categorical = ["colour", "size", "flag", "count"]
    ae = Autoencoder(n_components=2, categorical_features=categorical, **FAST)
    ae.fit(df)
    kinds = {c["name"]: c["kind"] for c in ae._table_["columns"]}
    assert kinds == {
        "a": "numeric",
        "b": "numeric",
        **dict.fromkeys(categorical, "categorical"),
    }
    # Only the columns named are categorical: text elsewhere is an error.
    with pytest.raises(ValueError, match="column 'colour' holds values that are no"):
        Autoencoder(categorical_features=["count"], **FAST).fit(df)
    back = ae.inverse_transform(ae.transform(df))
    assert set(back["count"]) <= set(df["count"])


@pytest.mark.parametrize(
    "categorical",
    [
        np.array([False, False, True, True, False, True]),
        np.array([2, 3, 5]),
        np.array(["colour", "size", "count"]),
    ],
)
def test_autoencoder_table_categorical_features_as_a_numpy_array(categorical):
    # A NumPy mask or indices were compared with "from_dtype" as a whole:
    # "The truth value of an array with more than one element is ambiguous".
    df = _frame(missing=0.0)
    ae = Autoencoder(n_components=2, categorical_features=categorical, **FAST)
    kinds = [c["kind"][0] for c in ae.fit(df)._table_["columns"]]
    assert kinds == ["n", "n", "c", "c", "n", "c"]
    detector = skae.AutoencoderOutlierDetector(ae).fit(df)
    assert detector.predict(df).shape == (len(df),)


@pytest.mark.parametrize(
    "estimator",
    [
        Autoencoder(n_components=1, **FAST),
        skae.VariationalAE(n_components=1, **FAST),
        skae.AutoencoderOutlierDetector(Autoencoder(n_components=1, **FAST)),
    ],
    ids=type,
)
def test_autoencoder_table_list_of_rows_with_missing_cells(estimator):
    # A list of rows is array-like, as for any scikit-learn estimator; with a
    # missing cell it failed with "'list' object has no attribute 'shape'".
    rows = [[1.0, np.nan], [2.0, 3.0], [0.5, 1.0], [1.5, 2.0]]
    estimator.fit(rows)
    expected = estimator.score_samples(np.array(rows))
    np.testing.assert_allclose(estimator.score_samples(rows), expected)


@pytest.mark.parametrize("kind", ["pandas", "polars"])
def test_autoencoder_table_frame_without_rows_is_scikit_learns_error(kind):
    # It said "column 'a' has no observed value (every cell is missing)".
    df = _frame().iloc[:0]
    if kind == "polars":
        df = pytest.importorskip("polars").from_pandas(df)
    message = r"Found array with 0 sample\(s\) \(shape=\(0, 6\)\) while a minimum of 1"
    with pytest.raises(ValueError, match=message):
        Autoencoder(**FAST).fit(df)


def test_autoencoder_table_unseen_category_counts_as_missing():
    df = _frame()
    ae = Autoencoder(n_components=2, **FAST).fit(df)
    new = df.iloc[:5].copy()
    new["colour"] = "purple"
    missing = df.iloc[:5].copy()
    missing["colour"] = None
    np.testing.assert_allclose(ae.transform(new), ae.transform(missing))


def test_autoencoder_table_bad_input_errors():
    df = _frame()
    ae = Autoencoder(n_components=2, **FAST)
    all_missing = df.assign(a=np.nan)
    with pytest.raises(ValueError, match="column 'a' has no observed value"):
        ae.fit(all_missing)
    mixed = df.assign(colour=["x", 1] * (len(df) // 2))
    with pytest.raises(ValueError, match="column 'colour' mixes values"):
        ae.fit(mixed)
    many = df.assign(colour=[f"id{i}" for i in range(len(df))])
    many = pd.concat([many] * 5, ignore_index=True)
    many["colour"] = [f"id{i}" for i in range(len(many))]
    with pytest.raises(ValueError, match="column 'colour' is categorical with 1200"):
        ae.fit(many)
    ae.fit(df)
    with pytest.raises(ValueError, match="column 'b' was numeric in fit"):
        ae.transform(df.assign(b="text"))
    with pytest.raises(ValueError, match="column 'colour' held text in fit"):
        ae.transform(df.assign(colour=1))
    with pytest.raises(ValueError, match="feature names"):
        ae.transform(df[df.columns[::-1]])
    with pytest.raises(ValueError, match="feature names"):
        ae.transform(df.drop(columns="b"))


def test_autoencoder_table_failed_fit_keeps_the_fitted_model():
    df = _frame()
    ae = Autoencoder(n_components=2, **FAST).fit(df)
    before = ae.transform(df)
    with pytest.raises(ValueError):
        ae.fit(df.assign(a=np.nan))
    np.testing.assert_array_equal(ae.transform(df), before)


def test_autoencoder_table_rejects_bounded_outputs():
    with pytest.raises(ValueError, match="loss='bce' is for data in"):
        Autoencoder(loss="bce", out_activation="logistic", **FAST).fit(_frame())
    with pytest.raises(ValueError, match="use out_activation='identity'"):
        Autoencoder(out_activation="tanh", **FAST).fit(_frame())


def test_autoencoder_table_partial_fit_sample_weight_early_stopping():
    df = _frame()
    ae = DenoisingAE(n_components=2, **FAST)
    ae.partial_fit(df.iloc[:120]).partial_fit(df.iloc[120:])
    assert len(ae.loss_curve_) == 2
    weights = np.random.RandomState(0).rand(len(df))
    DenoisingAE(n_components=2, **FAST).fit(df, sample_weight=weights)
    es = DenoisingAE(n_components=2, early_stopping=True, **FAST).fit(df)
    assert len(es.validation_scores_) == es.n_iter_
    assert np.isfinite(es.validation_scores_).all()


def test_autoencoder_table_layerwise_pretraining():
    ae = Autoencoder(n_components=2, hidden_layer_sizes=(8,), pretrain_max_iter=3)
    ae.set_params(max_iter=5, random_state=0).fit(_frame())
    assert len(ae.pretrain_loss_curves_) == 2


def test_autoencoder_table_pipeline_and_grid_search():
    df = _frame()
    y = (df["b"] > 0).to_numpy().astype(int)
    pipe = make_pipeline(DenoisingAE(**FAST), LogisticRegression())
    search = GridSearchCV(pipe, {"denoisingae__n_components": [2, 3]}, cv=2)
    search.fit(df, y)
    assert search.score(df, y) > 0.7


def test_autoencoder_table_set_output_pandas():
    df = _frame()
    ae = DenoisingAE(n_components=3, **FAST).set_output(transform="pandas")
    Z = ae.fit_transform(df)
    assert list(Z.columns) == ["denoisingae0", "denoisingae1", "denoisingae2"]
    assert list(Z.index) == list(df.index)


def test_autoencoder_table_persistence(tmp_path):
    df = _frame()
    ae = DenoisingAE(n_components=3, **FAST).fit(df)
    expected = ae.transform(df)
    again = pickle.loads(pickle.dumps(ae))
    np.testing.assert_array_equal(again.transform(df), expected)
    path = tmp_path / "table.skae"
    skae.save(ae, path)
    loaded = skae.load(path)
    np.testing.assert_array_equal(loaded.transform(df), expected)
    pd.testing.assert_frame_equal(
        loaded.inverse_transform(expected), ae.inverse_transform(expected)
    )


def test_autoencoder_table_skops_round_trip(tmp_path):
    sio = pytest.importorskip("skops.io")
    df = _frame()
    ae = DenoisingAE(n_components=3, **FAST).fit(df)
    path = tmp_path / "table.skops"
    sio.dump(ae, path)
    loaded = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    np.testing.assert_array_equal(loaded.transform(df), ae.transform(df))


def test_autoencoder_table_onnx_export_refused():
    pytest.importorskip("skl2onnx")
    from skae.onnx import to_onnx

    ae = Autoencoder(n_components=2, **FAST).fit(_frame())
    with pytest.raises(NotImplementedError, match="fitted on a table"):
        to_onnx(ae, np.zeros((1, 6), dtype=np.float32))


def test_outlier_detector_table_fit_predict_and_explain():
    df = _frame()
    detector = skae.AutoencoderOutlierDetector(random_state=0).fit(df)
    assert detector.predict(df).shape == (len(df),)
    per_feature = detector.score_samples_per_feature(df)
    assert per_feature.shape == df.shape
    np.testing.assert_allclose(
        per_feature.sum(axis=1), detector.score_samples(df), rtol=1e-5, atol=1e-7
    )
    with pytest.raises(ValueError, match="feature names"):
        detector.score_samples(df[df.columns[::-1]])


def test_outlier_detector_table_semi_supervised():
    df = _frame()
    y = np.full(len(df), -1)
    y[:5] = 1
    detector = skae.AutoencoderOutlierDetector(random_state=0).fit(df, y)
    assert np.isfinite(detector.score_samples(df)).all()


def test_autoencoder_table_polars_round_trip():
    pl = pytest.importorskip("polars")
    df = pl.from_pandas(_frame().astype({"colour": "str"}))
    ae = DenoisingAE(n_components=2, **FAST).fit(df)
    assert list(ae.feature_names_in_) == df.columns
    back = ae.inverse_transform(ae.transform(df))
    assert isinstance(back, pl.DataFrame)
    assert back.schema == df.schema
    np.testing.assert_allclose(
        ae.score_samples_per_feature(df).sum(axis=1),
        ae.score_samples(df),
        rtol=1e-5,
        atol=1e-7,
    )


# --------------------------------------------------------- edge cases of real tables


def test_autoencoder_table_integer_column_names_come_back_as_integers():
    df = _frame(missing=0.0)
    df.columns = range(df.shape[1])
    ae = Autoencoder(n_components=2, **FAST).fit(df)
    back = ae.inverse_transform(ae.transform(df))
    assert list(back.columns) == list(df.columns)
    loaded = pickle.loads(pickle.dumps(ae))
    assert list(loaded.inverse_transform(ae.transform(df)).columns) == list(range(6))


def test_autoencoder_table_inverse_transform_fits_numbers_to_their_dtype():
    # A reconstruction beyond an integer dtype's range is clipped to it (not a
    # cast error, not wrapped around), and a bool taken as a number is True
    # above one half (not wherever it is non-zero).
    from skae import _tabular

    df = pd.DataFrame(
        {
            "u8": np.array([0, 1, 2, 3], dtype=np.uint8),
            "i8": np.array([120, 122, 125, 127], dtype=np.int8),
            "U16": pd.array([0, 1, 2, None], dtype="UInt16"),
            "flag": [True, False, True, False],
        }
    )
    layout = _tabular.fit_layout(df, None)
    # Standardised outputs: far below, then far above each column's values.
    outputs = np.array([[-1e6] * 4, [1e6] * 4, [-0.2] * 4])
    back = _tabular.decode(layout, outputs)
    assert back.dtypes.to_dict() == df.dtypes.to_dict()
    assert back["u8"].tolist()[:2] == [0, 255]
    assert back["i8"].tolist()[:2] == [-128, 127]
    assert back["U16"].tolist()[:2] == [0, 65535]
    assert back["flag"].tolist() == [False, True, False]


def test_autoencoder_table_polars_small_integers_are_clipped():
    pl = pytest.importorskip("polars")
    from skae import _tabular

    df = pl.DataFrame(
        {"i8": pl.Series([120, 127, 125], dtype=pl.Int8), "s": list("aba")}
    )
    layout = _tabular.fit_layout(df, "from_dtype")
    back = _tabular.decode(layout, np.array([[1e4, 1.0, 0.0], [-1e4, 0.0, 1.0]]))
    assert back.schema == df.schema
    assert back["i8"].to_list() == [127, -128]


def test_autoencoder_table_polars_nan_is_a_missing_cell():
    # polars keeps NaN apart from null; scikit-learn takes both as missing.
    pl = pytest.importorskip("polars")
    rng = np.random.RandomState(0)
    a = rng.randn(60)
    with_null = pl.DataFrame({"a": [None if v > 1 else v for v in a], "b": 2 * a})
    with_nan = with_null.with_columns(pl.col("a").fill_null(float("nan")))
    ae = Autoencoder(n_components=1, **FAST).fit(with_nan)
    np.testing.assert_allclose(ae.transform(with_nan), ae.transform(with_null))
    text = with_nan.with_columns(s=pl.Series(["x", "y"] * 30))
    ae = Autoencoder(n_components=1, **FAST).fit(text)
    np.testing.assert_allclose(
        ae.transform(text),
        ae.transform(text.with_columns(pl.col("a").fill_nan(None))),
    )


def test_autoencoder_table_column_changing_type_is_an_error():
    df = _frame(missing=0.0)
    ae = Autoencoder(n_components=2, **FAST).fit(df)
    # Booleans in fit, integers now: not a column of unseen levels.
    with pytest.raises(ValueError, match="'flag' held booleans in fit but has numb"):
        ae.transform(df.assign(flag=df["flag"].astype(int)))
    levels = df.assign(count=pd.Categorical(df["count"]))
    ae = Autoencoder(n_components=2, **FAST).fit(levels)
    with pytest.raises(ValueError, match="'count' held numbers in fit but has text"):
        ae.transform(levels.assign(count=levels["count"].astype(str)))
    # An unseen level of the same type is still a missing cell.
    assert np.isfinite(ae.transform(levels.assign(count=7))).all()
    with pytest.raises(ValueError, match="dtype str in partial_fit"):
        ae.partial_fit(df.assign(b="text"))


@pytest.mark.parametrize("with_text", [True, False], ids=["mixed", "numeric"])
def test_autoencoder_table_datetime_column_is_a_clear_error(with_text):
    df = pd.DataFrame({"a": np.arange(10.0), "when": pd.date_range("2020", periods=10)})
    if with_text:
        df["s"] = list("ab") * 5
    with pytest.raises(ValueError, match="column 'when' has dtype datetime64.*numbers"):
        Autoencoder(n_components=1, **FAST).fit(df)


def test_autoencoder_table_text_na_is_a_level_not_a_missing_cell():
    X = np.array([["<NA>", 1.0], ["a", 2.0], [None, 3.0]] * 10, dtype=object)
    ae = Autoencoder(n_components=1, **FAST).fit(X)
    assert ae._table_["columns"][0]["categories"] == ["<NA>", "a"]


def test_autoencoder_table_declared_categories_in_the_error():
    df = pd.DataFrame(
        {
            "a": np.arange(4.0),
            "c": pd.Categorical(
                list("pqpq"), categories=["p", "q", *(f"l{i}" for i in range(999))]
            ),
        }
    )
    with pytest.raises(ValueError, match="'c' is categorical with 1001 categories in"):
        Autoencoder(n_components=1, **FAST).fit(df)


@pytest.mark.parametrize("kind", ["array", "frame"])
def test_autoencoder_table_float32_numbers_give_float32_codes(kind):
    # As StandardScaler or SimpleImputer: float32 with missing cells stays float32.
    rng = np.random.RandomState(0)
    X = rng.randn(40, 3).astype(np.float32)
    X[rng.rand(40, 3) < 0.1] = np.nan
    if kind == "frame":
        X = pd.DataFrame(X, columns=list("abc"))
    ae = Autoencoder(n_components=2, **FAST).fit(X)
    assert ae._table_ is not None
    assert ae.transform(X).dtype == np.float32
    assert ae.transform(X.astype(np.float64)).dtype == np.float64
    text = pd.DataFrame({"a": np.asarray(X)[:, 0], "s": ["x", "y"] * 20})
    assert Autoencoder(n_components=1, **FAST).fit(text).transform(text).dtype == (
        np.float64
    )


def test_autoencoder_table_ordered_category_keeps_its_order():
    df = _frame(missing=0.0)
    df["size"] = df["size"].cat.as_ordered()
    ae = Autoencoder(n_components=2, **FAST).fit(df)
    back = ae.inverse_transform(ae.transform(df))
    assert back["size"].dtype == df["size"].dtype
    assert back["size"].cat.ordered


def test_autoencoder_table_pandas_sparse_columns():
    rng = np.random.RandomState(0)
    dense = pd.DataFrame({"a": rng.randn(40), "b": rng.randint(0, 2, 40)})
    sparse = dense.astype({"a": pd.SparseDtype(float, 0.0), "b": pd.SparseDtype(int)})
    # Numbers only, nothing missing: the plain path, as before.
    ae = Autoencoder(n_components=1, **FAST).fit(sparse)
    assert ae._table_ is None
    # With text or a missing cell: a table whose sparse columns come back sparse.
    for table in [
        sparse.assign(s=["x", "y"] * 20),
        sparse.assign(a=pd.arrays.SparseArray(np.where(dense["a"] > 1, np.nan, 1))),
    ]:
        ae = Autoencoder(n_components=1, **FAST).fit(table)
        back = ae.inverse_transform(ae.transform(table))
        assert back.dtypes.to_dict() == table.dtypes.to_dict()
        assert set(back["b"]) <= set(range(-1, 3))


@pytest.mark.parametrize(
    "column",
    [
        pd.period_range("2020", periods=40, freq="D"),
        pd.interval_range(0, 40),
        pd.date_range("2020", periods=40, tz="UTC"),
    ],
    ids=["period", "interval", "datetime_tz"],
)
def test_autoencoder_table_other_dtypes_are_a_clear_error(column):
    df = pd.DataFrame({"a": np.arange(40.0), "c": column})
    with pytest.raises(ValueError, match="column 'c' has dtype .* neither numeric"):
        Autoencoder(n_components=1, **FAST).fit(df)


def test_autoencoder_plain_fit_says_why_it_refuses_a_missing_cell():
    # scikit-learn's message says the estimator takes no NaN, untrue of skae's.
    X = np.random.RandomState(0).randn(40, 3)
    X_missing = X.copy()
    X_missing[0, 0] = np.nan
    ae = Autoencoder(n_components=2, **FAST).fit(X)
    detector = skae.AutoencoderOutlierDetector(random_state=0).fit(X)
    for method in [ae.transform, ae.score_samples, ae.partial_fit, detector.predict]:
        with pytest.raises(ValueError, match="fitted on data without missing cells"):
            method(X_missing)


def test_autoencoder_table_none_for_a_missing_number_in_a_one_row_frame():
    # pandas makes a column of None (or of numbers and None) object.
    df = _frame()
    ae = Autoencoder(n_components=2, **FAST).fit(df)
    row = df.iloc[[0]].astype({"a": object, "count": object})
    row.loc[0, "a"] = None
    expected = df.iloc[[0]].assign(a=np.nan)
    np.testing.assert_allclose(ae.transform(row), ae.transform(expected))
    with pytest.raises(ValueError, match="column 'a' was numeric in fit"):
        ae.transform(row.assign(a=pd.Series(["1.5"], dtype="string")))


def test_outlier_detector_estimator_naming_categorical_columns():
    # The estimator's categorical_features name columns of a numeric frame:
    # the detector hands it the frame, not an array without names.
    df = _frame(missing=0.0)[["a", "b", "count"]]
    estimator = Autoencoder(n_components=2, categorical_features=["count"], **FAST)
    detector = skae.AutoencoderOutlierDetector(estimator, random_state=0).fit(df)
    kinds = [c["kind"] for c in detector.estimator_._table_["columns"]]
    assert kinds == ["numeric", "numeric", "categorical"]
    assert detector.predict(df).shape == (len(df),)


def test_autoencoder_table_encoding_is_float32():
    # A one-hot input of up to 1,000 levels a column: 4 bytes a cell, what the
    # network computes in, not 8 (this halved the peak memory of a transform).
    from skae import _tabular

    df = _frame()
    layout = _tabular.fit_layout(df, "from_dtype")
    inputs, targets = _tabular.encode(layout, df)
    assert inputs.dtype == targets.dtype == np.float32
    assert inputs.shape == (len(df), _tabular.input_width(layout))


@pytest.mark.parametrize(
    "dtype",
    [
        "string[python]",
        "string[pyarrow]",
        "str",
        "object",
        "large_string[pyarrow]",
        "arrow_string",
        "python_str",
    ],
)
def test_autoencoder_table_text_dtypes_come_back_as_they_were(dtype):
    # pandas names python and pyarrow strings alike ("string"), and an
    # ArrowDtype string like a pyarrow StringDtype ("string[pyarrow]").
    if "pyarrow" in dtype or dtype == "arrow_string":
        pa = pytest.importorskip("pyarrow")
    if dtype == "arrow_string":
        dtype = pd.ArrowDtype(pa.string())
    elif dtype == "python_str":
        dtype = pd.StringDtype("python", na_value=np.nan)
    df = pd.DataFrame(
        {"a": np.arange(20.0), "s": pd.Series(list("ab") * 10, dtype=dtype)}
    )
    ae = Autoencoder(n_components=1, **FAST).fit(df)
    assert ae.inverse_transform(ae.transform(df))["s"].dtype == df["s"].dtype


def test_autoencoder_table_pyarrow_dictionary_columns_from_parquet():
    # pandas reads a parquet file's categories with dtype_backend="pyarrow" as
    # pyarrow dictionaries: fit failed with "Can only use .cat accessor with a
    # 'category' dtype".
    pytest.importorskip("pyarrow")
    import pyarrow as pa

    df = _frame()[["a", "b", "colour", "size"]]
    df = df.astype(
        {
            "a": pd.ArrowDtype(pa.float64()),
            "b": pd.ArrowDtype(pa.float64()),
            "colour": pd.ArrowDtype(pa.dictionary(pa.int8(), pa.string())),
            "size": pd.ArrowDtype(pa.dictionary(pa.int32(), pa.string())),
        }
    )
    ae = Autoencoder(n_components=2, **FAST).fit(df)
    kinds = [c["kind"] for c in ae._table_["columns"]]
    assert kinds == ["numeric", "numeric", "categorical", "categorical"]
    assert ae._table_["columns"][2]["categories"] == ["blue", "green", "red"]
    back = pickle.loads(pickle.dumps(ae)).inverse_transform(ae.transform(df))
    assert back.dtypes.equals(df.dtypes)
    assert set(back["colour"]) <= {"red", "green", "blue"}


@pytest.mark.parametrize("continued", ["warm_start", "partial_fit"])
def test_autoencoder_table_continued_fit_refuses_new_categorical_features(continued):
    # The layout learnt in the first fit was kept and the new
    # categorical_features silently ignored: "count" stayed a number.
    df = _frame(missing=0.0)
    ae = Autoencoder(n_components=2, warm_start=continued == "warm_start", **FAST)
    ae.fit(df)
    layout = ae._table_
    ae.set_params(categorical_features=["colour", "size", "flag", "count"])
    refit = ae.fit if continued == "warm_start" else ae.partial_fit
    match = f"{continued}.* cannot change categorical_features of a fitted"
    with pytest.raises(ValueError, match=match):
        refit(df)
    assert ae._table_ is layout
    # The same value, in another form, is no change.
    ae.set_params(categorical_features="from_dtype")
    refit(df)
    mask = [False, False, True, True, True, False]
    ae = Autoencoder(n_components=2, categorical_features=mask, **FAST).fit(df)
    ae.partial_fit(df.iloc[:50])
    ae.set_params(categorical_features=np.array(mask)).partial_fit(df.iloc[:50])
    # A fresh fit learns the new layout.
    ae.set_params(categorical_features=None, warm_start=False)
    ae.fit(df.drop(columns=["colour", "size"]))
    assert ae._table_ is None  # numbers only, no missing cell: plain input


def test_autoencoder_table_pyarrow_table_round_trip():
    # narwhals reads pyarrow Tables too; their columns have no .dtype.
    pa = pytest.importorskip("pyarrow")
    df = _frame()[["a", "b", "colour", "count"]]
    table = pa.Table.from_pandas(df, preserve_index=False)
    ae = Autoencoder(n_components=2, **FAST).fit(table)
    kinds = [c["kind"] for c in ae._table_["columns"]]
    assert kinds == ["numeric", "numeric", "categorical", "numeric"]
    back = ae.inverse_transform(ae.transform(table))
    assert isinstance(back, pa.Table)
    assert back.column_names == table.column_names
    assert set(back.column("colour").to_pylist()) <= {"red", "green", "blue"}


def test_autoencoder_table_multiindex_columns_come_back_as_tuples(tmp_path):
    # scikit-learn keeps no feature names for a MultiIndex; the reconstruction
    # had columns "('x', 'a')" (strings) in place of the tuples.
    df = _frame()[["a", "colour", "count"]]
    df.columns = pd.MultiIndex.from_tuples([("x", "a"), ("x", 1), ("y", "count")])
    ae = Autoencoder(n_components=2, **FAST).fit(df)
    back = ae.inverse_transform(ae.transform(df))
    assert back.columns.equals(df.columns)
    skae.save(ae, tmp_path / "model.skae")
    loaded = skae.load(tmp_path / "model.skae")
    assert loaded.inverse_transform(ae.transform(df)).columns.equals(df.columns)


@pytest.mark.parametrize("kind", ["pandas", "polars"])
def test_autoencoder_table_decimal_columns_come_back_as_decimals(kind):
    # pandas' pyarrow decimals made inverse_transform fail ("Passing pyarrow
    # type specific parameters ((5, 2)) in the string is not supported");
    # polars' came back as Float64. A decimal is rounded to its scale and
    # kept within its precision.
    import decimal

    pa = pytest.importorskip("pyarrow")
    cells = [decimal.Decimal("1.50"), None, decimal.Decimal("2.25")] * 20
    numbers = np.arange(60.0)
    if kind == "pandas":
        dtype = pd.ArrowDtype(pa.decimal128(5, 2))
        df = pd.DataFrame({"d": pd.array(cells, dtype=dtype), "a": numbers})
    else:
        pl = pytest.importorskip("polars")
        dtype = pl.Decimal(5, 2)
        df = pl.DataFrame({"d": pl.Series(cells, dtype=dtype), "a": numbers})
    ae = Autoencoder(n_components=1, **FAST).fit(df)
    back = ae.inverse_transform(np.array([[0.0], [1e6], [-1e6]]))
    assert back["d"].dtype == dtype
    values = [float(v) for v in back["d"].to_list()]
    assert all(-999.99 <= v <= 999.99 and round(v, 2) == v for v in values)


def test_autoencoder_table_object_column_of_numbers_is_numeric():
    # pandas makes numbers with pd.NA an object column; "from_dtype" took it for
    # a category (of 1,500 levels here: "looks like an identifier"), where an
    # object array's column of numbers is numeric.
    rng = np.random.RandomState(0)
    numbers = [*rng.randn(1500), pd.NA]
    df = pd.DataFrame({"x": numbers, "level": ["a", "b", "c"] * 500 + ["a"]})
    assert df["x"].dtype == object
    ae = Autoencoder(n_components=1, **FAST).fit(df)
    kinds = [c["kind"] for c in ae._table_["columns"]]
    assert kinds == ["numeric", "categorical"]
    back = ae.inverse_transform(ae.transform(df))
    assert back["x"].dtype == object
    assert np.isfinite(back["x"].astype(float)).all()
