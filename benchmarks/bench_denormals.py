"""Denormal floats: skae's seed MNIST recipe against a plain PyTorch loop.

``MLPClassifier((300,), dropout=0.25, solver="adagrad", learning_rate_init=0.3,
batch_size=100)`` for 2 epochs on 20,000 MNIST images. Weight decay drives the
weights of always-zero pixels into the denormal range, where x86 arithmetic is
slow; skae flushes denormals to zero while it trains and predicts. Contenders,
alternated, median of ``--repeats`` rounds:

- skae (flushes denormals), and skae with the flush disabled (as before);
- the same model and steps in a plain PyTorch loop, without and with
  ``torch.set_flush_denormal(True)``.

Run: ``python benchmarks/bench_denormals.py [--repeats 3]``.
"""

import argparse
import contextlib
import json
import statistics
import time
import warnings

import torch
from _common import machine
from _mnist import load, mnist_path
from sklearn.exceptions import ConvergenceWarning

import skae._threads
from skae import MLPClassifier

N_TRAIN, EPOCHS, BATCH = 20_000, 2, 100


def skae_fit(X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        MLPClassifier(
            (300,),
            dropout=0.25,
            solver="adagrad",
            learning_rate_init=0.3,
            batch_size=BATCH,
            max_iter=EPOCHS,
            random_state=0,
        ).fit(X, y)


def skae_fit_unflushed(X, y):
    original = skae._threads._flushed_denormals
    skae._threads._flushed_denormals = contextlib.nullcontext
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if mnist_path() is None:
        raise SystemExit("MNIST is not on this machine (see benchmarks/_mnist.py)")
    X, y, _, _ = load(N_TRAIN)
    times = {name: [] for name in CONTENDERS}
    names = list(CONTENDERS)
    for r in range(args.repeats):
        for name in names if r % 2 == 0 else names[::-1]:
            start = time.perf_counter()
            CONTENDERS[name](X, y)
            times[name].append(time.perf_counter() - start)
    print(json.dumps(machine()))
    print("| contender | median s | runs |")
    print("|---|---|---|")
    for name, runs in times.items():
        cells = ", ".join(f"{t:.2f}" for t in runs)
        print(f"| {name} | {statistics.median(runs):.2f} | {cells} |")


if __name__ == "__main__":
    main()
