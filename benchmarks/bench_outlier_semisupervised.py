"""Semi-supervised anomaly detection: how much a few labelled anomalies add.

The protocol follows Deep SAD's (Ruff et al., ICLR 2020) on one-class splits. For
each normal class d, the training set is the training half's images of d, polluted
with unlabelled anomalies (images of the other classes) at 5 % of the normal
count, plus ``ceil(gamma * n_normal)`` labelled anomalies (other classes too),
for gamma in 1 %, 5 % and 10 %. The test set is the other half (digits) or the
official test set (MNIST): images of d are normal, the rest anomalies. The table
gives the mean ROC AUC over the normal classes (anomalies as the positive class)
of:

- unsupervised: ``AutoencoderOutlierDetector(random_state=0).fit(X)``, labels
  unused (the labelled anomalies are in its training data, unmarked);
- semi-supervised: the same detector, ``fit(X, y)`` with y = 1 for the labelled
  anomalies and -1 for every other row;
- supervised: ``LogisticRegression(max_iter=1000)`` on the same rows, labelled
  anomalies as 1 and every other row as 0, scored by ``predict_proba``.

Datasets: scikit-learn's digits (pixels / 16; training half about 90 images per
class), and MNIST (pixels / 255; 1,000 training images of d, skipped with a
message when MNIST is absent: set SKAE_MNIST to an mnist.npz). Seeds are fixed.

    python benchmarks/bench_outlier_semisupervised.py           # digits 0-9, MNIST 0-2
    python benchmarks/bench_outlier_semisupervised.py --quick   # digits 0 and 1
"""

import math
import statistics
import sys
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from skae import AutoencoderOutlierDetector

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import _common  # noqa: E402
import _mnist  # noqa: E402

GAMMAS = (0.01, 0.05, 0.1)
POLLUTION = 0.05


def digits():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16, y, test_size=0.5, random_state=0, stratify=y
    )
    return X_train, y_train, X_test, y_test, None


def mnist(n_normal=1_000):
    X_train, y_train, X_test, y_test = _mnist.load()
    return X_train, y_train, X_test, y_test, n_normal


def one_class_split(X, y, normal, n_normal, gamma, seed):
    """Training rows and labels (1 labelled anomaly, -1 the rest) for class d."""
    rng = np.random.RandomState(seed)
    normal_rows = np.flatnonzero(y == normal)
    if n_normal is not None:
        normal_rows = rng.choice(normal_rows, n_normal, replace=False)
    anomaly_pool = rng.permutation(np.flatnonzero(y != normal))
    n_polluted = math.ceil(POLLUTION * len(normal_rows))
    n_labelled = math.ceil(gamma * len(normal_rows))
    polluted = anomaly_pool[:n_polluted]
    labelled = anomaly_pool[n_polluted : n_polluted + n_labelled]
    rows = np.concatenate([normal_rows, polluted, labelled])
    labels = np.full(len(rows), -1)
    labels[len(rows) - n_labelled :] = 1
    order = rng.permutation(len(rows))
    return X[rows[order]], labels[order]


def run(datasets, classes, quick=False):
    results = {}
    for name, load in datasets.items():
        X, y, X_test, y_test, n_normal = load()
        rows = {}
        for normal in classes[name]:
            is_anomaly = y_test != normal
            for gamma in GAMMAS:
                X_fit, labels = one_class_split(X, y, normal, n_normal, gamma, seed=0)
                scores = {}
                start = time.perf_counter()
                unsup = AutoencoderOutlierDetector(random_state=0).fit(X_fit)
                scores["unsupervised"] = unsup.score_samples(X_test)
                semi = AutoencoderOutlierDetector(random_state=0).fit(X_fit, labels)
                scores["semi-supervised"] = semi.score_samples(X_test)
                clf = LogisticRegression(max_iter=1000).fit(X_fit, labels == 1)
                scores["supervised"] = -clf.predict_proba(X_test)[:, 1]
                for contender, score in scores.items():
                    auc = roc_auc_score(is_anomaly, -score)
                    rows.setdefault((contender, gamma), []).append(auc)
                print(
                    f"{name} {normal} gamma {gamma}: "
                    + ", ".join(f"{c} {rows[(c, gamma)][-1]:.4f}" for c in scores)
                    + f" ({time.perf_counter() - start:.1f} s)",
                    file=sys.stderr,
                    flush=True,
                )
        results[name] = {
            "classes": list(classes[name]),
            "auc": {f"{c} {g}": aucs for (c, g), aucs in rows.items()},
        }
    return {
        "settings": {"quick": quick, "gammas": GAMMAS, "pollution": POLLUTION},
        "machine": _common.machine(),
        "results": results,
    }


def show(report):
    print(f"settings {report['settings']}")
    print(f"machine {report['machine']}")
    columns = ["labelled anomalies (gamma)", "unsupervised", "semi-supervised"]
    columns += ["supervised (LogisticRegression)", "semi - unsupervised"]
    contenders = ("unsupervised", "semi-supervised", "supervised")
    for name, result in report["results"].items():
        print(f"{name} (normal classes {result['classes']}): mean ROC AUC\n")
        rows = []
        for gamma in report["settings"]["gammas"]:
            mean = {
                c: statistics.mean(result["auc"][f"{c} {gamma}"]) for c in contenders
            }
            gain = mean["semi-supervised"] - mean["unsupervised"]
            rows.append([f"{gamma:.0%}", *(f"{mean[c]:.4f}" for c in contenders)])
            rows[-1].append(f"{gain:+.4f}")
        _common.table(columns, rows)
        print()


def _run(args):
    datasets = {"digits": digits}
    classes = {"digits": [0, 1] if args.quick else list(range(10))}
    reason = _common.missing("mnist")
    if reason and not args.quick:
        print(reason.replace("skipped: MNIST", "MNIST skipped:"))
    elif not args.quick:
        datasets["MNIST"] = mnist
        classes["MNIST"] = [0, 1, 2]
    with _common.quiet():
        return run(datasets, classes, args.quick)


if __name__ == "__main__":
    parser = _common.parser(__doc__, threads=1)
    sys.exit(_common.main(parser, _run, show, blas=True))
