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

import json
import math
import sys
import time
import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from skae import DenoisingAE

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import _common  # noqa: E402
import _mnist  # noqa: E402


def run(args):
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
                rate = args.lr * 0.5 * (1 + math.cos(math.pi * progress))
                ae.set_params(learning_rate_init=rate)
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
    if args.out:
        with open(args.out, "a") as f:
            f.write(json.dumps(row) + "\n")
    return row


if __name__ == "__main__":
    parser = _common.parser(__doc__, threads=1, seed=0, epochs=20)
    parser.add_argument("--k", type=int, required=True)
    parser.add_argument(
        "--schedule", choices=["constant", "cosine"], default="constant"
    )
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--params", type=json.loads, default={})
    parser.add_argument("--out", help="append the JSON line here too")
    show = lambda row: print(json.dumps(row), flush=True)  # noqa: E731
    sys.exit(_common.main(parser, run, show, needs="mnist"))
