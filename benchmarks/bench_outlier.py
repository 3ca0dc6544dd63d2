"""One-class anomaly detection on MNIST: skae's detectors against the usual ones.

Ruff et al.'s protocol (ICML 2018): for each digit, every detector is fitted on the
training images of that digit and scores the 10,000 test images, the other nine
digits being the anomalies; the table gives the mean ROC AUC and average precision
over the digits and the total fit time. Contenders: ``AutoencoderOutlierDetector()``,
the same with ``error_scaling=None`` (its raw errors), the same around a Bernoulli
``VariationalAE``, ``PCA(0.9)``, IsolationForest,
``LocalOutlierFactor(novelty=True)`` and PyOD's AutoEncoder and VAE (when
installed); ``--only`` keeps the default and the contenders whose names start
with one of its prefixes. The protocol and results: docs/benchmarks.md,
"One-class anomaly detection on MNIST".

    python benchmarks/bench_outlier.py            # ten digits, full training sets
    python benchmarks/bench_outlier.py --quick    # digits 0 and 1, 10,000 images
    python benchmarks/bench_outlier.py --digits 2,8 --only PCA,Local
"""

import statistics
import sys
import time

import numpy as np
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.neighbors import LocalOutlierFactor

from skae import AutoencoderOutlierDetector, VariationalAE

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import _common  # noqa: E402
import _mnist  # noqa: E402


class PCAReconstruction:
    """Minus the reconstruction error of PCA keeping 90 % of the variance."""

    def fit(self, X):
        self.pca_ = PCA(n_components=0.9, random_state=0).fit(X)
        return self

    def score_samples(self, X):
        reconstruction = self.pca_.inverse_transform(self.pca_.transform(X))
        return -np.mean((reconstruction - X) ** 2, axis=1)


class PyODScores:
    """A PyOD detector, minus its decision_function (PyOD: higher is abnormal)."""

    def __init__(self, detector):
        self.detector = detector

    def fit(self, X):
        self.detector.fit(X)
        return self

    def score_samples(self, X):
        return -self.detector.decision_function(X)


def contenders(quick):
    """Name -> a function building a fresh detector (fit, score_samples)."""
    vae_epochs = 1 if quick else 10
    table = {
        "skae default": lambda: AutoencoderOutlierDetector(random_state=0),
        # The default's network with its raw squared error as the score.
        "skae unscaled errors": lambda: AutoencoderOutlierDetector(
            error_scaling=None, random_state=0
        ),
        "skae VariationalAE": lambda: AutoencoderOutlierDetector(
            VariationalAE(
                16,
                hidden_layer_sizes=(256,),
                loss="bce",
                out_activation="logistic",
                max_iter=vae_epochs,
            ),
            random_state=0,
        ),
        "PCA (90 % variance)": PCAReconstruction,
        "IsolationForest": lambda: IsolationForest(random_state=0),
        "LocalOutlierFactor": lambda: LocalOutlierFactor(novelty=True),
    }
    try:
        from pyod.models.auto_encoder import AutoEncoder
        from pyod.models.vae import VAE
    except ImportError:
        print("PyOD not installed: its rows are skipped (pip install pyod)")
        return table
    pyod_epochs = {"epoch_num": 1} if quick else {}
    table["PyOD AutoEncoder"] = lambda: PyODScores(
        AutoEncoder(verbose=0, **pyod_epochs)
    )
    table["PyOD VAE"] = lambda: PyODScores(VAE(verbose=0, **pyod_epochs))
    return table


def run(quick=False, digits=range(10), json_path=None, only=None):
    n_train = 10_000 if quick else None
    X, y, X_test, y_test = _mnist.load(n_train)
    if quick:
        digits = [0, 1]
    builders = contenders(quick)
    if only:
        # Names that start with one of these prefixes (case-insensitive).
        prefixes = [p.strip().lower() for p in only.split(",")]
        builders = {
            name: build
            for name, build in builders.items()
            if any(name.lower().startswith(p) for p in prefixes)
        }
    names = list(builders)
    rows = {name: {"auc": [], "ap": [], "fit_s": [], "score_s": []} for name in names}
    # Warm-up: the first fit of a library pays its lazy initialisation.
    for name in names:
        with _common.quiet():
            builders[name]().fit(X[:200]).score_samples(X_test[:10])
    done = []
    for i, digit in enumerate(digits):
        X_normal = X[y == digit]
        is_anomaly = y_test != digit
        for name in names[i % len(names) :] + names[: i % len(names)]:
            detector = builders[name]()
            start = time.perf_counter()
            with _common.quiet():
                detector.fit(X_normal)
            fitted = time.perf_counter()
            score = detector.score_samples(X_test)
            row = rows[name]
            row["score_s"].append(time.perf_counter() - fitted)
            row["fit_s"].append(fitted - start)
            row["auc"].append(roc_auc_score(is_anomaly, -score))
            row["ap"].append(average_precision_score(is_anomaly, -score))
            print(
                f"digit {digit} {name}: AUC {row['auc'][-1]:.4f}, "
                f"fit {row['fit_s'][-1]:.1f} s",
                file=sys.stderr,
                flush=True,
            )
        done.append(digit)
        report = _report(rows, quick, done, len(X))
        # After every digit, so that an interrupted run keeps what it measured.
        _common.write_json(report, json_path)
    return report


def _report(rows, quick, digits, n_train):
    return {
        "settings": {"quick": quick, "digits": list(digits), "n_train": n_train},
        "machine": _common.machine(),
        "results": {
            name: {
                **row,
                "mean_auc": statistics.mean(row["auc"]),
                "mean_ap": statistics.mean(row["ap"]),
                "total_fit_s": sum(row["fit_s"]),
                "total_score_s": sum(row["score_s"]),
            }
            for name, row in rows.items()
        },
    }


def show(report):
    """The markdown table, with how far skae's default is from each goal."""
    print(f"settings {report['settings']}")
    print(f"machine {report['machine']}")
    results = report["results"]
    columns = ["detector", "mean ROC AUC", "mean AP", "fit time, all digits (s)"]
    _common.table(
        [*columns, "score time (s)", "AUC per digit"],
        [
            [name, f"{row['mean_auc']:.4f}", f"{row['mean_ap']:.4f}"]
            + [f"{row['total_fit_s']:.1f}", f"{row['total_score_s']:.1f}"]
            + [" ".join(f"{auc:.3f}" for auc in row["auc"])]
            for name, row in results.items()
        ],
    )
    default = results["skae default"]
    others = [(r["mean_auc"], n) for n, r in results.items() if n != "skae default"]
    best, name = max(others)
    gap = default["mean_auc"] - best
    print(f"\nskae default against the best other mean AUC ({name}): {gap:+.4f}.")
    if "PyOD AutoEncoder" in results:
        ratio = default["total_fit_s"] / results["PyOD AutoEncoder"]["total_fit_s"]
        print(f"skae default's fit time / PyOD AutoEncoder's: {ratio:.2f}.")


if __name__ == "__main__":
    parser = _common.parser(__doc__, threads=1)
    parser.add_argument("--digits", default="0,1,2,3,4,5,6,7,8,9", help="digits")
    parser.add_argument(
        "--only",
        default=None,
        help="comma-separated prefixes of the contenders to run (skae default "
        "always runs), e.g. 'PCA,Local'",
    )

    def _run(args):
        digits = [int(d) for d in args.digits.split(",")]
        only = None if args.only is None else "skae default," + args.only
        return run(args.quick, digits, args.json, only)

    # 1 thread, torch and BLAS: on a busy machine, more threads wait.
    sys.exit(_common.main(parser, _run, show, needs="mnist", blas=True))
