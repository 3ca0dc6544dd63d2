"""Denormal floats: skae's seed MNIST recipe against a plain PyTorch loop.

``MLPClassifier((300,), dropout=0.25, solver="adagrad", learning_rate_init=0.3,
batch_size=100)`` for 2 epochs on 20,000 MNIST images. Weight decay drives the
weights of always-zero pixels into the denormal range, where x86 arithmetic is
slow; skae flushes denormals to zero while it trains and predicts. Contenders,
alternated, median of ``--repeats`` rounds:

- skae (flushes denormals), and skae with the flush disabled (as before);
- the same model and steps in a plain PyTorch loop, without and with
  ``torch.set_flush_denormal(True)``.

Each contender runs once untimed first (imports, thread pools, first kernels).

    python benchmarks/bench_denormals.py [--repeats 3]
"""

import contextlib
import statistics
import sys

import _common
import torch
from _mnist import load

import skae._threads
from skae import MLPClassifier

N_TRAIN, EPOCHS, BATCH = 20_000, 2, 100


def skae_fit(X, y):
    _common.quiet_fit(
        MLPClassifier(**_common.MNIST_MLP, max_iter=EPOCHS, random_state=0), X, y
    )


@contextlib.contextmanager
def _not_flushed():
    yield lambda: None


def skae_fit_unflushed(X, y):
    original = skae._threads._flushed_denormals
    skae._threads._flushed_denormals = _not_flushed
    try:
        skae_fit(X, y)
    finally:
        skae._threads._flushed_denormals = original


def plain_loop(X, y, flush=False):
    torch.manual_seed(0)
    if flush:
        torch.set_flush_denormal(True)
    try:
        model = torch.nn.Sequential(
            torch.nn.Linear(784, 300),
            torch.nn.ReLU(),
            torch.nn.Dropout(0.25),
            torch.nn.Linear(300, 10),
        )
        decay = [p for p in model.parameters() if p.ndim > 1]
        rest = [p for p in model.parameters() if p.ndim == 1]
        optimizer = torch.optim.Adagrad(
            [{"params": decay, "weight_decay": 1e-4 / BATCH}, {"params": rest}],
            lr=0.3,
        )
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
        loss_fn = torch.nn.CrossEntropyLoss()
        for _ in range(EPOCHS):
            order = torch.randperm(len(Xt))
            for start in range(0, len(Xt), BATCH):
                idx = order[start : start + BATCH]
                optimizer.zero_grad()
                loss = loss_fn(model(Xt[idx]), yt[idx])
                loss.backward()
                optimizer.step()
    finally:
        if flush:
            torch.set_flush_denormal(False)


CONTENDERS = {
    "skae (flush)": skae_fit,
    "skae, no flush": skae_fit_unflushed,
    "plain loop": plain_loop,
    "plain loop, flush": lambda X, y: plain_loop(X, y, flush=True),
}


def run(args):
    X, y, _, _ = load(N_TRAIN)
    for fit in CONTENDERS.values():  # imports, thread pools, first kernels
        fit(X[:1000], y[:1000])
    loads = {name: [] for name in CONTENDERS}

    def measure(name):
        loads[name].append(_common.loadavg())
        return _common.seconds(lambda: CONTENDERS[name](X, y))

    names = {name: name for name in CONTENDERS}
    times = _common.alternate(names, args.repeats, warmup=False, measure=measure)
    results = {
        name: {
            "seconds": runs,
            "median_s": statistics.median(runs),
            "loads": loads[name],
        }
        for name, runs in times.items()
    }
    return _common.report(args, results=results)


def show(report):
    _common.header(report)
    _common.table(
        ["contender", "median s", "runs", "1-min load before each run"],
        [
            [name, f"{r['median_s']:.2f}", ", ".join(f"{t:.2f}" for t in r["seconds"])]
            + [", ".join(r["loads"])]
            for name, r in report["results"].items()
        ],
    )


if __name__ == "__main__":
    parser = _common.parser(__doc__, repeats=(1, 3))
    sys.exit(_common.main(parser, run, show, needs="mnist"))
