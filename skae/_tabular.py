"""Mixed-type tables: which columns are categorical, and their encodings.

An autoencoder fitted on a DataFrame with categorical columns or missing cells (or
on an array with missing cells) keeps a *layout*: for each column, its kind, its
dtype and what its encoding learned (the mean and scale of a number, the levels of
a category). The layout is plain data (dicts, lists, strings and numbers), so it
pickles and saves with the estimator. From it come the network's input (a number
standardised, a category one-hot, and one missing-indicator per column; a missing
cell is zeros with its indicator set), the training target (one value per column:
the standardised number or the level's index, NaN where the cell is missing, so
that the loss can leave it out) and the way back from the network's output to a
table with the original columns, dtypes and levels.

DataFrames are read through narwhals (pandas and polars alike).
"""

import contextlib
import numbers

import narwhals.stable.v2 as nw
import numpy as np
from sklearn.utils._encode import _unique
from sklearn.utils.validation import _check_categorical_features

# A categorical column's levels become that many inputs and outputs of the network:
# beyond this count, a column is more likely an identifier than a category.
MAX_CATEGORIES = 1000


def is_dataframe(X):
    """Whether ``X`` is a DataFrame that narwhals reads (pandas, polars, ...)."""
    return nw.dependencies.is_into_dataframe(X)


def float_dtype(X):
    """Return float32 for a float32 array or frame of float32 columns, else float64.

    The dtype of codes of a table: scikit-learn's transformers keep float32
    input in float32.
    """
    if is_dataframe(X):
        dtypes = list(nw.from_native(X, eager_only=True).schema.dtypes())
        float32 = bool(dtypes) and all(d == nw.Float32 for d in dtypes)
    else:
        float32 = getattr(X, "dtype", None) == np.float32
    return np.float32 if float32 else np.float64


@contextlib.contextmanager
def plain_fit_refuses_missing_cells(estimator):
    """Say why an estimator fitted on plain numbers refuses a missing cell.

    scikit-learn's error says the estimator does not accept NaN, which is
    untrue of one that takes tables: the fit decided, by having no missing cell.
    """
    try:
        yield
    except ValueError as exc:
        if not str(exc).startswith("Input X contains NaN"):
            raise
        raise ValueError(
            f"Input X contains NaN, but this {type(estimator).__name__} was fitted "
            "on data without missing cells, so it takes X as plain numbers: only a "
            "model fitted on a table (data with a missing cell or a categorical "
            "column) encodes missing cells. Fit it on data with missing cells, or "
            "impute them first (for example with skae.AutoencoderImputer)."
        ) from None


@contextlib.contextmanager
def numbers_only(estimator, X):
    """Name the column that made a DataFrame fail an estimator of numbers.

    scikit-learn's error ("could not convert string to float: 'red'", or a
    cast error) names neither the column nor what to do.
    """
    try:
        yield
    except ValueError as exc:
        column = _first_non_numeric(X)
        if column is None:
            raise
        name, dtype = column
        kind = type(estimator).__name__
        raise ValueError(
            f"{exc}. {kind} takes numbers only, and column {name!r} has dtype "
            f"{dtype}. Encode such columns first: with a ColumnTransformer and a "
            "OneHotEncoder, or with an autoencoder that takes the frame as it is, "
            f"as in make_pipeline(skae.DenoisingAE(), {kind}())."
        ) from None


def _first_non_numeric(X):
    """Return the name and dtype of a frame's first column that is no numbers.

    None if every column converts to float (the error was about something else).
    """
    if not is_dataframe(X):
        return None
    for name, s in zip(*_columns(X)[:2], strict=True):
        if _is_numeric(s) or s.dtype == nw.Boolean:
            continue
        values, missing = _values(s)
        try:
            np.asarray(values[~missing], dtype=np.float64)
        except (TypeError, ValueError):
            return name, _dtype_name(s)
    return None


def _columns(X):
    """Return ``X``'s column names (None for an array) and its columns as NumPy."""
    if is_dataframe(X):
        frame = nw.from_native(X, eager_only=True)
        return list(frame.columns), list(frame.iter_columns()), frame
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2D array, got an array of shape {X.shape} instead. Reshape "
            "your data with array.reshape(-1, 1) for a single feature or "
            "array.reshape(1, -1) for a single sample."
        )
    return None, [X[:, j] for j in range(X.shape[1])], None


def _is_categorical_dtype(dtype):
    return dtype in (nw.Categorical, nw.Enum, nw.String, nw.Object, nw.Boolean)


def _is_numeric(s):
    """Whether frame column ``s`` holds numbers (pandas' sparse numbers too)."""
    if s.dtype.is_numeric():
        return True
    dtype = getattr(s.to_native(), "dtype", None)
    return type(dtype).__name__ == "SparseDtype" and dtype.subtype.kind in "biuf"


def needs_layout(X, categorical_features):
    """Whether ``X`` needs a table layout: categorical columns or missing cells.

    A numeric array or DataFrame without missing cells, and any sparse matrix, keep
    the plain path (the array itself is the network's input).
    """
    if hasattr(X, "tocsr") or hasattr(X, "toarray"):  # sparse
        return False
    if is_dataframe(X):
        frame = nw.from_native(X, eager_only=True)
        dtypes = list(frame.schema.dtypes())
        if _from_dtype(categorical_features) and any(
            _is_categorical_dtype(d) for d in dtypes
        ):
            return True
        if any(
            not _is_numeric(s) and not _is_categorical_dtype(s.dtype)
            for s in frame.iter_columns()
        ):
            return True  # dates and the like: fit_layout says what is wrong
        if any(_missing_any(s) for s in frame.iter_columns()):
            return True
    else:
        X = np.asarray(X)
        if X.dtype.kind == "f" and X.ndim == 2 and np.isnan(X).any():
            return True
        if X.dtype.kind == "O" and X.ndim == 2:
            try:
                return bool(np.isnan(X.astype(np.float64)).any())
            except (TypeError, ValueError):
                return True
    return not (categorical_features is None or _from_dtype(categorical_features)) and (
        np.asarray(categorical_features).size > 0
    )


def plain_parameter(categorical_features):
    """Return ``categorical_features`` as plain data, to compare with a later value."""
    if categorical_features is None or isinstance(categorical_features, str):
        return categorical_features
    return np.asarray(categorical_features).tolist()


def _from_dtype(categorical_features):
    # A NumPy array of names, indices or a mask is compared with no string.
    return (
        isinstance(categorical_features, str) and categorical_features == "from_dtype"
    )


def _missing_any(s):
    # polars keeps NaN apart from null; scikit-learn takes both as missing.
    return bool(s.is_null().any()) or bool(s.dtype.is_float() and s.is_nan().any())


def _categorical_mask(X, names, series, categorical_features):
    if _from_dtype(categorical_features):
        if names is None:
            # An object array: a column with strings is categorical.
            return np.array([_has_strings(s) for s in series], dtype=bool)
        return np.array(
            [
                _is_categorical_dtype(s.dtype)
                and not (s.dtype == nw.Object and _holds_numbers(s))
                for s in series
            ]
        )
    mask = _check_categorical_features(X, categorical_features)
    return np.zeros(len(series), dtype=bool) if mask is None else mask


def _holds_numbers(s):
    """Whether object column ``s`` holds numbers only (and missing cells).

    pandas makes numbers with pd.NA an object column: they stay numbers, as in
    an object array.
    """
    values, missing = _values(s)
    observed = values[~missing]
    return observed.size > 0 and all(
        isinstance(v, numbers.Number) and not isinstance(v, bool | np.bool_)
        for v in observed
    )


def _has_strings(column):
    return column.dtype.kind == "U" or (
        column.dtype.kind == "O" and any(isinstance(v, str) for v in column)
    )


def _values(s):
    """Return a column as a NumPy array, and its missing mask."""
    if isinstance(s, np.ndarray):
        if s.dtype.kind == "O":
            missing = np.array([_is_missing(v) for v in s], dtype=bool)
        elif s.dtype.kind == "f":
            missing = np.isnan(s)
        else:
            missing = np.zeros(len(s), dtype=bool)
        return s, missing
    values = s.to_numpy()
    missing = np.asarray(s.is_null().to_numpy(), dtype=bool)
    if values.dtype.kind == "f":
        # polars keeps NaN apart from null; scikit-learn takes both as missing.
        missing = missing | np.isnan(values)
    return values, missing


def _is_missing(v):
    """Whether ``v`` is a missing cell: None, a float NaN or pandas' NA."""
    return (
        v is None
        or (isinstance(v, float | np.floating) and np.isnan(v))
        or type(v).__name__ == "NAType"
    )


def _dtype_name(s):
    """Return the column's dtype as its library spells it (to restore it)."""
    if isinstance(s, np.ndarray):
        return str(s.dtype)
    return str(getattr(s.to_native(), "dtype", s.dtype))


def _restorable_dtype(s):
    """Return a name from which :func:`assemble` rebuilds the column's dtype.

    The dtype's own name, except for pandas' text dtypes, whose names lose the
    storage ("string" for python and pyarrow strings, "string[pyarrow]" for an
    ArrowDtype too): those get a name that :func:`_pandas_dtype` reads.
    """
    name = _dtype_name(s)
    dtype = None if isinstance(s, np.ndarray) else getattr(s.to_native(), "dtype", None)
    if type(dtype).__name__ == "ArrowDtype" and name == "string[pyarrow]":
        return "ArrowDtype[string]"
    if type(dtype).__name__ == "ArrowDtype" and name.startswith("decimal"):
        # pandas reads no parameters from a name: "decimal128(38, 2)[pyarrow]".
        arrow = dtype.pyarrow_dtype
        return f"ArrowDtype[{name.split('(')[0]}, {arrow.precision}, {arrow.scale}]"
    if type(dtype).__name__ == "ArrowDtype" and name.startswith("dictionary<"):
        # What pandas reads from a parquet file's categories with pyarrow dtypes.
        arrow = dtype.pyarrow_dtype
        return (
            f"ArrowDtype[dictionary, {arrow.index_type}, {arrow.value_type}, "
            f"{int(arrow.ordered)}]"
        )
    if type(dtype).__name__ == "StringDtype":
        na = "nan" if name == "str" else "NA"
        return f"StringDtype[{dtype.storage}, {na}]"
    return name


def _name(names, j):
    return f"column {names[j]!r}" if names is not None else f"column {j}"


def fit_layout(X, categorical_features):
    """Learn the layout of table ``X``; see the module docstring.

    Raises ValueError for a column with no observed value, a categorical column of
    mixed Python types or with more than :data:`MAX_CATEGORIES` levels.
    """
    names, series, frame = _columns(X)
    mask = _categorical_mask(X, names, series, categorical_features)
    columns = []
    for j, s in enumerate(series):
        values, missing = _values(s)
        what = _name(names, j)
        if missing.all():
            raise ValueError(
                f"{what} has no observed value (every cell is missing): there is "
                "nothing to learn from it. Drop it before fitting."
            )
        observed = values[~missing]
        column = {"name": None if names is None else _plain_name(names[j])}
        column["dtype"] = _restorable_dtype(s)
        if mask[j]:
            levels = _levels(s, observed, what)
            if len(levels) > MAX_CATEGORIES:
                declared = not isinstance(s, np.ndarray) and s.dtype in (
                    nw.Categorical,
                    nw.Enum,
                )
                raise ValueError(
                    f"{what} is categorical with {len(levels)} "
                    f"{'categories in its dtype' if declared else 'distinct values'}"
                    f", more than the {MAX_CATEGORIES} an autoencoder encodes (each "
                    "level is one input and one output of the network); it looks "
                    "like an identifier. Drop it, or encode it as numbers first "
                    "(for example with sklearn.preprocessing.TargetEncoder)."
                )
            column.update(kind="categorical", categories=levels)
            native = s if isinstance(s, np.ndarray) else s.to_native()
            if getattr(getattr(native, "dtype", None), "ordered", False):
                column["ordered"] = True  # a pandas category with an order
        else:
            if not isinstance(s, np.ndarray) and not (
                _is_numeric(s) or _is_categorical_dtype(s.dtype)
            ):
                raise ValueError(
                    f"{what} has dtype {_dtype_name(s)}, which is neither numeric nor "
                    "categorical: an autoencoder cannot encode it. Convert it to "
                    "numbers first (for example a date to its year, or to days "
                    "since a reference date), or drop it."
                )
            try:
                numbers_ = np.asarray(observed, dtype=np.float64)
            except ValueError:
                raise ValueError(
                    f"{what} holds values that are not numbers, but "
                    f"categorical_features={categorical_features!r} makes it "
                    "numeric; name it in categorical_features, or convert it to "
                    "numbers first."
                ) from None
            numbers_ = _in_float32_range(numbers_, what)
            scale = float(np.std(numbers_))
            column.update(
                kind="numeric",
                mean=float(np.mean(numbers_)),
                # The observed range (VariationalAE.sample keeps draws within it).
                min=float(np.min(numbers_)),
                max=float(np.max(numbers_)),
                # As StandardScaler: a (nearly) constant column is not scaled.
                scale=scale
                if scale > 10 * np.finfo(np.float64).eps and np.isfinite(scale)
                else 1.0,
            )
            if not np.isfinite(column["mean"]):
                raise ValueError(f"{what} has values too large to standardise.")
        columns.append(column)
    backend = None if frame is None else str(frame.implementation)
    return {"columns": columns, "backend": backend}


def _plain_name(name):
    """Return a column name as plain data: an int stays an int, else a string.

    pandas allows integer column names, which must come back as they were, and
    tuples (a MultiIndex), which come back as tuples of such names.
    """
    if isinstance(name, numbers.Integral) and not isinstance(name, bool):
        return int(name)
    if isinstance(name, tuple):
        return tuple(_plain_name(n) for n in name)
    return str(name)


def _levels(s, observed, what):
    """Return the levels of a categorical column, as plain Python values."""
    native_dtype = (
        None if isinstance(s, np.ndarray) else getattr(s.to_native(), "dtype", None)
    )
    if (
        not isinstance(s, np.ndarray)
        and s.dtype in (nw.Categorical, nw.Enum)
        # pandas' pyarrow dictionary: categorical, but without .cat
        and type(native_dtype).__name__ != "ArrowDtype"
    ):
        levels = s.cat.get_categories().to_list()
    else:
        try:
            levels = _unique(np.asarray(observed, dtype=object)).tolist()
        except TypeError as exc:
            raise ValueError(
                f"{what} mixes values of different types ({exc}); convert it to "
                "strings (or to numbers) first."
            ) from None
    return [v.item() if isinstance(v, np.generic) else v for v in levels]


def _as_float(values, what, method):
    # A TypeError (an object that is no number, such as a dict) keeps NumPy's
    # message, as scikit-learn's validation does.
    try:
        return np.asarray(values, dtype=np.float64)
    except ValueError:
        raise ValueError(
            f"{what} was numeric when the estimator was fitted, but {method} got "
            "values that are not numbers in it; pass the columns with the dtypes "
            "they had in fit."
        ) from None


def _in_float32_range(values, what):
    """Return ``values``, or raise for numbers the network's float32 cannot hold."""
    with np.errstate(invalid="ignore"):
        too_large = np.abs(values[np.isfinite(values)]) > np.finfo(np.float32).max
    if np.isinf(values).any():
        raise ValueError(f"Input X contains infinity in {what}.")
    if too_large.any():
        raise ValueError(
            f"Input X contains values too large for float32 in {what} (beyond "
            f"{np.finfo(np.float32).max:.3g} in absolute value), the precision skae "
            "computes in; scale it first."
        )
    return values


def input_width(layout):
    """Return the number of inputs: numbers, one-hot levels and indicators."""
    return sum(_width(c) for c in layout["columns"]) + len(layout["columns"])


def output_width(layout):
    """Return the number of outputs: a number, or a level's logit."""
    return sum(_width(c) for c in layout["columns"])


def _width(column):
    return 1 if column["kind"] == "numeric" else len(column["categories"])


def input_map(layout):
    """Where each column sits in the network's input.

    Returns ``input_columns`` (the column of each input), ``indicators`` (each
    column's missing-indicator input) and ``numeric_inputs`` (the inputs that hold
    numbers), as lists of int: what the table corruptions need.
    """
    columns = layout["columns"]
    input_columns, numeric_inputs = [], []
    for j, column in enumerate(columns):
        if column["kind"] == "numeric":
            numeric_inputs.append(len(input_columns))
        input_columns += [j] * _width(column)
    indicators = list(range(len(input_columns), len(input_columns) + len(columns)))
    return input_columns + list(range(len(columns))), indicators, numeric_inputs


def output_map(layout):
    """Where each column sits in the network's output, for the loss.

    Returns ``numeric`` (pairs of output index and target column) and
    ``categorical`` (triples of output start, output stop and target column).
    """
    numeric, categorical, start = [], [], 0
    for j, column in enumerate(layout["columns"]):
        width = _width(column)
        if column["kind"] == "numeric":
            numeric.append([start, j])
        else:
            categorical.append([start, start + width, j])
        start += width
    return {"numeric": numeric, "categorical": categorical}


def encode(layout, X, *, method="transform"):
    """Return the network's input and the training target of table ``X``.

    Returns ``inputs`` of shape (n_samples, :func:`input_width`) and ``targets`` of
    shape (n_samples, n_columns), both float32, the precision the network
    computes a table in (a one-hot input of 1,000 levels is 4 bytes a cell, not
    8); see the module docstring. A category unseen in fit counts as a missing
    cell. A number beyond float32 after standardising becomes inf, which the
    callers report.
    """
    names, series, _ = _columns(X)
    columns = layout["columns"]
    n_samples = len(series[0]) if series else 0
    inputs = np.zeros((n_samples, input_width(layout)), dtype=np.float32)
    targets = np.full((n_samples, len(columns)), np.nan, dtype=np.float32)
    start, indicator = 0, output_width(layout)
    for j, (column, s) in enumerate(zip(columns, series, strict=True)):
        values, missing = _values(s)
        what = _name(names, j)
        if column["kind"] == "numeric":
            # An object column goes on to the values' check: None for a missing
            # number makes pandas' column object.
            if (
                not isinstance(s, np.ndarray)
                and not (_is_numeric(s) or s.dtype in (nw.Boolean, nw.Object))
                and _restorable_dtype(s) != column["dtype"]
                and not missing.all()
            ):
                raise ValueError(
                    f"{what} was numeric in fit but has dtype {_dtype_name(s)} in "
                    f"{method}; pass the columns with the dtypes they had in fit."
                )
            x = np.zeros(n_samples)
            x[~missing] = _in_float32_range(
                _as_float(values[~missing], what, method), what
            )
            if not np.isfinite(x).all():
                raise ValueError(
                    f"Input X contains infinity or a value too large in {what}."
                )
            z = (x - column["mean"]) / column["scale"]
            z[missing] = np.nan
            with np.errstate(over="ignore"):
                targets[:, j] = z
                inputs[~missing, start] = z[~missing]
        else:
            codes = _category_codes(column["categories"], values, missing)
            _check_level_types(
                column["categories"], values[~missing & (codes < 0)], s, what, method
            )
            missing = codes < 0
            targets[~missing, j] = codes[~missing]
            rows = np.flatnonzero(~missing)
            inputs[rows, start + codes[rows]] = 1.0
        inputs[missing, indicator + j] = 1.0
        start += _width(column)
    return inputs, targets


def _category_codes(categories, values, missing):
    """Each value's index among ``categories``; -1 where missing or unseen."""
    lookup = {_key(v): i for i, v in enumerate(categories)}
    codes = np.full(len(values), -1, dtype=np.int64)
    for i in np.flatnonzero(~missing):
        codes[i] = lookup.get(_key(values[i]), -1)
    return codes


def _check_level_types(categories, unseen, s, what, method):
    """Raise for a value unseen in fit of a type that no level of fit had.

    An unseen level counts as missing, but a value of another type (an integer
    where fit had booleans or text) means the column changed dtype: had it been
    taken as missing, a whole column would be dropped silently.
    """
    known = {_type_family(v) for v in categories}
    for v in unseen:
        family = _type_family(v)
        if family not in known:
            raise ValueError(
                f"{what} held {' and '.join(sorted(known))} in fit but has "
                f"{family} (dtype {_dtype_name(s)}) in {method}; pass the columns "
                "with the dtypes they had in fit."
            )


def _type_family(v):
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, bool):
        return "booleans"
    if isinstance(v, numbers.Number):
        return "numbers"
    if isinstance(v, str):
        return "text"
    return type(v).__name__


def _key(v):
    # 1, 1.0 and True are one key in a dict; np.str_ and str too.
    if isinstance(v, np.generic):
        v = v.item()
    return (type(v) is bool, v)


def targets_from_inputs(layout, inputs):
    """Return the training target that :func:`encode` gave with ``inputs``."""
    columns = layout["columns"]
    targets = np.full((len(inputs), len(columns)), np.nan, dtype=inputs.dtype)
    start, indicator = 0, output_width(layout)
    for j, column in enumerate(columns):
        width = _width(column)
        observed = inputs[:, indicator + j] == 0
        if column["kind"] == "numeric":
            values = inputs[:, start]
        else:
            values = inputs[:, start : start + width].argmax(axis=1)
        targets[observed, j] = values[observed]
        start += width
    return targets


def decode(layout, outputs, *, frame_like=True):
    """Return the table of the network's outputs, each category its likeliest level.

    Returns a DataFrame of the fit's kind (pandas or polars), with the original
    column names, dtypes and levels, when the layout was learnt on one and
    ``frame_like``; otherwise an object array (a float array if every column is
    numeric).
    """
    columns = layout["columns"]
    out, start = [], 0
    for column in columns:
        if column["kind"] == "numeric":
            out.append(outputs[:, start] * column["scale"] + column["mean"])
            start += 1
        else:
            stop = start + len(column["categories"])
            idx = outputs[:, start:stop].argmax(axis=1)
            levels = np.empty(len(column["categories"]), dtype=object)
            levels[:] = column["categories"]
            out.append(levels[idx])
            start = stop
    return assemble(layout, out, frame_like=frame_like)


def assemble(layout, values, *, frame_like=True):
    """Return a table of ``layout``'s kind from one array of values per column."""
    columns = layout["columns"]
    if layout["backend"] is None or not frame_like:
        if all(c["kind"] == "numeric" for c in columns):
            return np.column_stack(values) if values else np.empty((0, 0))
        table = np.empty((len(values[0]), len(values)), dtype=object)
        for j, v in enumerate(values):
            table[:, j] = v
        return table
    values = [
        _fit_to_dtype(c["dtype"], v) if c["kind"] == "numeric" else v
        for c, v in zip(columns, values, strict=True)
    ]
    if layout["backend"] == "pandas":
        return _pandas_frame(columns, values)
    data = {c["name"]: list(v) for c, v in zip(columns, values, strict=True)}
    frame = nw.from_dict(data, backend=layout["backend"])
    casts = []
    for c in columns:
        dtype = c["dtype"]
        if c["kind"] == "categorical" and dtype.startswith(("Enum", "Categorical")):
            target = nw.Categorical() if dtype == "Categorical" else None
            casts.append(nw.col(c["name"]).cast(target or nw.Enum(c["categories"])))
        elif c["kind"] == "numeric" and hasattr(nw, dtype):
            casts.append(nw.col(c["name"]).cast(getattr(nw, dtype)))
        elif c["kind"] == "numeric" and _decimal_digits(dtype) is not None:
            casts.append(nw.col(c["name"]).cast(nw.Decimal(*_decimal_digits(dtype))))
    return frame.with_columns(*casts).to_native()


def _fit_to_dtype(dtype, v):
    """Return the numbers ``v`` as values that a column of ``dtype`` holds.

    An integer column gets them rounded and clipped to its type's range (a
    reconstruction of -0.7 in an uint8 column is 0, not a cast error or 255); a
    boolean one gets those above one half as True.
    """
    decimal = _decimal_digits(dtype)
    if decimal is not None:  # rounded to its scale, within its precision
        precision, scale = decimal
        high = 10.0 ** (precision - scale) - 10.0**-scale
        return np.clip(np.round(np.asarray(v, dtype=np.float64), scale), -high, high)
    name = dtype.lower().removeprefix("sparse[").split("[")[0].split(",")[0]
    if name in ("bool", "boolean"):
        return np.asarray(v, dtype=np.float64) > 0.5
    if not name.startswith(("int", "uint")):
        return v
    try:
        info = np.iinfo(name)
    except (TypeError, ValueError):  # int128 and the like
        return np.round(v)
    low, high = float(info.min), float(info.max)
    if high > info.max:  # 2**63 - 1 rounds up to 2**63 as a float
        high = np.nextafter(high, 0.0)
    return np.clip(np.round(v), low, high)


def _decimal_digits(dtype):
    """Return (precision, scale) of a decimal dtype's name, else None.

    The names are polars' "Decimal(precision=38, scale=2)" and
    :func:`_restorable_dtype`'s "ArrowDtype[decimal128, 38, 2]".
    """
    if dtype.startswith("Decimal(precision="):
        precision, scale = (int(p.split("=")[1]) for p in dtype[8:-1].split(", "))
        return precision, scale
    if dtype.startswith("ArrowDtype[decimal"):
        precision, scale = dtype[11:-1].split(", ")[1:]
        return int(precision), int(scale)
    return None


def _pandas_frame(columns, values):
    import pandas as pd

    data = {}
    for column, v in zip(columns, values, strict=True):
        dtype = column["dtype"]
        if column["kind"] == "numeric":
            data[column["name"]] = pd.Series(v).astype(_pandas_dtype(dtype))
        elif dtype == "category":
            data[column["name"]] = pd.Categorical(
                v, categories=column["categories"], ordered=column.get("ordered", False)
            )
        elif dtype == "object":
            data[column["name"]] = pd.Series(v, dtype=object)
        else:
            data[column["name"]] = pd.Series(list(v)).astype(_pandas_dtype(dtype))
    return pd.DataFrame(data)


def _pandas_dtype(name):
    """Return the pandas dtype of a :func:`_restorable_dtype` name.

    pandas reads most names itself; not "Sparse[float64, 0.0]" (only
    "Sparse[int64, 0]"), nor the names of its text dtypes with their storage.
    """
    import pandas as pd

    if name == "ArrowDtype[string]":
        import pyarrow as pa

        return pd.ArrowDtype(pa.string())
    if name.startswith("ArrowDtype[decimal"):
        import pyarrow as pa

        kind, precision, scale = name[11:-1].split(", ")
        return pd.ArrowDtype(getattr(pa, kind)(int(precision), int(scale)))
    if name.startswith("ArrowDtype[dictionary, "):
        import pyarrow as pa

        index, value, ordered = name.removesuffix("]").split(", ")[1:]
        arrow = pa.dictionary(
            pa.type_for_alias(index), pa.type_for_alias(value), ordered == "1"
        )
        return pd.ArrowDtype(arrow)
    if name.startswith("StringDtype["):
        storage, na = name.removeprefix("StringDtype[").removesuffix("]").split(", ")
        return pd.StringDtype(storage, na_value=pd.NA if na == "NA" else np.nan)
    if not name.startswith("Sparse["):
        return name
    subtype, fill = name.removeprefix("Sparse[").removesuffix("]").split(", ", 1)
    fill = np.nan if fill == "nan" else np.dtype(subtype).type(fill)
    return pd.SparseDtype(subtype, fill)
