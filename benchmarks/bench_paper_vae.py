"""The VAE paper row: a 784-400-20 VAE on MNIST to a test loss of at most 102 nats.

The convention is pytorch/examples ``vae/main.py``'s (whose 10-epoch run reports
105.6 nats): grey-level pixels in [0, 1] as the targets of a Bernoulli likelihood
(binary cross-entropy on the sigmoid output, summed over the 784 pixels), plus the
KL divergence of the Gaussian posterior to N(0, I); the test loss is minus this
evidence lower bound per test image, in nats. skae's is ``-VariationalAE.score``
(the mean over 8 draws of the code per image, an estimate of the same bound).

The model is that of benchmarks/bench_vae.py: 784-400-20, ReLU, sigmoid output,
Adam, batches of 128, no weight decay. The recipe adds training time and a
schedule: ``--epochs`` epochs (160 by default), one ``partial_fit`` each (Adam's
state carries over), with ``learning_rate_init`` following a cosine from 1e-3
down to 1e-5. Only the ``partial_fit`` calls are timed; the test loss every
``--every`` epochs (the curve) is measured outside the timing. The model and
schedule were fixed before any run; 160 epochs replaced the first run's 80
because that run's training loss was still falling, and was the only longer
schedule run (docs/learning_quality.md).

    python benchmarks/bench_paper_vae.py            # 60,000 images, 160 epochs
    python benchmarks/bench_paper_vae.py --quick    # 10,000 images, 2 epochs
"""

import math
import os
import sys
import time
import warnings

from sklearn.exceptions import ConvergenceWarning

from skae import VariationalAE

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import _common  # noqa: E402
import _mnist  # noqa: E402

TARGET_NATS, GOAL_NATS = 102.0, 100.0
PAPER = "pytorch/examples vae/main.py: 105.6 nats after 10 epochs"


def cosine_rates(peak, epochs, floor=0.01):
    """One rate per epoch: cosine from ``peak`` down to ``floor * peak``."""
    return [
        peak * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * e / epochs)))
        for e in range(epochs)
    ]


def make_vae(seed):
    return VariationalAE(
        20,
        hidden_layer_sizes=(400,),
        activation="relu",
        out_activation="logistic",
        loss="bce",
        batch_size=128,
        alpha=0.0,
        random_state=seed,
    )


def run(quick=False, epochs=160, every=5, peak=1e-3, seed=0, log=sys.stderr):
    X, _, X_test, _ = _mnist.load(10_000 if quick else None)
    if quick:
        epochs, every = 2, 1
    load_before = os.getloadavg()
    vae, seconds, cpu, curve = make_vae(seed), 0.0, 0.0, []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for epoch, rate in enumerate(cosine_rates(peak, epochs), 1):
            vae.set_params(learning_rate_init=rate)
            start, start_cpu = time.perf_counter(), time.process_time()
            vae.partial_fit(X)
            seconds += time.perf_counter() - start
            cpu += time.process_time() - start_cpu
            if epoch % every == 0 or epoch == epochs:
                row = (epoch, seconds, rate, vae.loss_, -vae.score(X_test), cpu)
                curve.append(row)
                print("epoch", *row, os.getloadavg()[0], file=log, flush=True)
    return _common.stamped(
        load_before,
        settings={
            "quick": quick,
            "n_train": len(X),
            "epochs": epochs,
            "schedule": f"cosine from {peak:g} to {peak / 100:g}, one partial_fit an "
            "epoch",
            "seed": seed,
            "params": _common.params(
                vae,
                (
                    "n_components",
                    "hidden_layer_sizes",
                    "activation",
                    "out_activation",
                    "loss",
                    "batch_size",
                    "alpha",
                    "solver",
                ),
            ),
        },
        fit_seconds=seconds,
        fit_cpu_seconds=cpu,
        test_loss_nats=curve[-1][4],
        curve=curve,
    )


def print_report(report, out=sys.stdout):
    _common.header(report, out)
    print(
        "| epoch | cumulative fit s | CPU s | rate | training loss | test loss, nats |",
        file=out,
    )
    print("|---|---|---|---|---|---|", file=out)
    for epoch, seconds, rate, train, test, cpu in report["curve"]:
        print(
            f"| {epoch} | {seconds:.0f} | {cpu:.0f} | {rate:.2e} | {train:.2f} "
            f"| {test:.2f} |",
            file=out,
        )
    loss = report["test_loss_nats"]
    met = "met" if loss <= TARGET_NATS else f"missed by {loss - TARGET_NATS:.2f}"
    goal = "met" if loss <= GOAL_NATS else f"missed by {loss - GOAL_NATS:.2f}"
    print(
        "| model | epochs | fit s | fit CPU s | test loss, nats | target <= 102 "
        "| goal <= 100 "
        "| reference |",
        file=out,
    )
    print("|---|---|---|---|---|---|---|---|", file=out)
    print(
        f"| skae VariationalAE 784-400-20 | {report['settings']['epochs']} "
        f"| {report['fit_seconds']:.0f} | {report['fit_cpu_seconds']:.0f} "
        f"| {loss:.2f} | {met} | {goal} | {PAPER} |",
        file=out,
    )


if __name__ == "__main__":
    parser = _common.parser(__doc__, threads=2)
    parser.add_argument("--epochs", type=int, default=160)
    parser.add_argument("--every", type=int, default=5, help="epochs between scores")
    parser.add_argument("--lr", type=float, default=1e-3, help="the schedule's peak")
    parser.add_argument("--seed", type=int, default=0)

    def _run(a):
        return run(a.quick, a.epochs, a.every, a.lr, a.seed)

    sys.exit(_common.main(parser, _run, print_report, needs="mnist"))
