"""Command line: ``python -m skae demo``.

The demo fits ``StandardScaler -> DenoisingAE(n_components=k) -> LogisticRegression``,
the autoencoder with its defaults, on scikit-learn's bundled digits, next to the same
pipeline with ``PCA(k)`` and next to plain logistic regression, and prints test
accuracy and the pipeline's fit time.
"""

import argparse
import platform
import sys
import time
import warnings

import sklearn
import torch
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import skae
from skae import DenoisingAE


def _fit_and_score(reducer, X_train, X_test, y_train, y_test):
    steps = [("scale", StandardScaler())]
    if reducer is not None:
        steps.append(("reduce", reducer))
    steps.append(("classify", LogisticRegression(max_iter=3000)))
    pipe = Pipeline(steps)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        start = time.perf_counter()
        pipe.fit(X_train, y_train)
        seconds = time.perf_counter() - start
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return pipe.score(X_test, y_test), seconds, converged


def demo(code_sizes=(8, 16, 32), random_state=0, out=sys.stdout):
    """Print the demo table; return its rows as dicts."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=random_state, stratify=y
    )
    models = [("LogisticRegression on raw pixels", X.shape[1], None)]
    for k in code_sizes:
        models.append((f"PCA({k}) + LogisticRegression", k, PCA(k, random_state=0)))
        dae = DenoisingAE(n_components=k, random_state=random_state)
        models.append((f"DenoisingAE(n_components={k}) + LogisticRegression", k, dae))

    print(
        f"skae {skae.__version__} demo: digits ({len(X_train)} train / {len(X_test)} "
        f"test images, 8x8 pixels); torch {torch.__version__}, scikit-learn "
        f"{sklearn.__version__}, Python {platform.python_version()}, "
        f"{torch.get_num_threads()} torch threads",
        file=out,
    )
    title = "pipeline (after StandardScaler)"
    header = f"{title:<50} {'dims':>4} {'accuracy':>9} {'fit s':>7}"
    print(header, file=out)
    print("-" * len(header), file=out)
    rows = []
    for name, dims, reducer in models:
        accuracy, seconds, converged = _fit_and_score(
            reducer, X_train, X_test, y_train, y_test
        )
        note = "" if converged else "  (stopped at max_iter)"
        print(f"{name:<50} {dims:>4} {accuracy:>9.4f} {seconds:>7.2f}{note}", file=out)
        rows.append(
            {"pipeline": name, "dims": dims, "accuracy": accuracy, "seconds": seconds}
        )
    return rows


def main(argv=None):
    """Entry point of ``python -m skae``."""
    parser = argparse.ArgumentParser(prog="python -m skae", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser("demo", help="digits: DenoisingAE vs PCA vs raw")
    demo_parser.add_argument(
        "--code-sizes", type=int, nargs="+", default=[8, 16, 32], metavar="K"
    )
    demo_parser.add_argument("--random-state", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "demo":
        demo(tuple(args.code_sizes), args.random_state)
    return 0


if __name__ == "__main__":
    sys.exit(main())
