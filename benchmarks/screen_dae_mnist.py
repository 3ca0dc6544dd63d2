"""One DenoisingAE setting on full MNIST, for screening the defaults.

``StandardScaler -> DenoisingAE(n_components=k, **params) -> LogisticRegression``
on the official 60,000 / 10,000 split, as benchmarks/bench_pca.py does, but
trained one ``partial_fit`` epoch at a time so that a learning-rate schedule can
be set before each epoch (``--schedule cosine``: ``--lr`` at the first epoch,
falling on a half cosine over ``--epochs``). Each continued call draws a fresh
seed stream, so a constant-rate row is the same recipe as ``fit`` but not the
same draw. One line of JSON per run, on stdout and appended to ``--out``.

    python benchmarks/screen_dae_mnist.py --k 30 --params '{"noise_level": 0.3}'
"""

import argparse
import json
import math
import sys
import time
import warnings

import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from skae import DenoisingAE

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import _mnist  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--schedule", choices=["constant", "cosine"], default="constant"
    )
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--params", type=json.loads, default={})
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--out", help="append the JSON line here too")
    args = parser.parse_args(argv)
    if _mnist.mnist_path() is None:
        print("skipped: MNIST not found (set SKAE_MNIST to an mnist.npz)")
        return 0
    torch.set_num_threads(args.threads)
    X, y, X_test, y_test = _mnist.load()
    scaler = StandardScaler().fit(X)
    X, X_test = scaler.transform(X), scaler.transform(X_test)
    ae = DenoisingAE(
        n_components=args.k,
        random_state=args.seed,
        learning_rate_init=args.lr,
        max_iter=args.epochs,
        **args.params,
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for epoch in range(args.epochs):
            if args.schedule == "cosine":
                progress = epoch / args.epochs
                ae.set_params(
                    learning_rate_init=args.lr
                    * 0.5
                    * (1 + math.cos(math.pi * progress))
                )
            ae.partial_fit(X)
    fit_seconds = time.perf_counter() - start
    clf = LogisticRegression(max_iter=3000).fit(ae.transform(X), y)
    row = {
        "k": args.k,
        "seed": args.seed,
        "schedule": args.schedule,
        "lr": args.lr,
        "epochs": args.epochs,
        "params": args.params,
        "accuracy": float(clf.score(ae.transform(X_test), y_test)),
        "fit_s": fit_seconds,
        "threads": args.threads,
    }
    print(json.dumps(row), flush=True)
    if args.out:
        with open(args.out, "a") as f:
            f.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
