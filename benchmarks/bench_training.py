"""Training time of skae against plain PyTorch loops, on MNIST, CPU.

- ``seed``: the seed's models, the same model, batches and optimiser in every
  contender. ``mlp``: the 784-300-10 MLP (dropout 0.25, Adagrad at 0.3, batches
  of 100) as a plain loop, ``skae.MLPClassifier``, skorch's
  ``NeuralNetClassifier`` the default way and scikit-learn's ``MLPClassifier``
  (Adam); ``dae``: the 784-200 softplus DAE as a plain loop and
  ``skae.DenoisingAE``. A new random order each round; the table gives medians,
  ratios to the plain loop and the test quality, and the MLP's training FLOP rate
  against torch's own matmul rate.
- ``vae``: ``VariationalAE`` against the reference PyTorch example's loop
  (pytorch/examples, vae/main.py: 784-400-20, ReLU, sigmoid output, Bernoulli
  likelihood, Adam at 1e-3, batches of 128, 10 epochs; it reports a test loss of
  105.6 nats per sample), alternately. The test loss is the negative ELBO per
  test image, in nats: for skae, ``-VariationalAE.score(X_test)`` (the mean over 8
  draws of the code per image); for the plain loop, as the reference computes it
  (one draw per image).

- ``accuracy``: time to accuracy, skae's ``MLPClassifier`` against scikit-learn's,
  the 60,000 training images scored on the 10,000 test images. skae:
  ``ACCURACY_PARAMS`` for the epochs of ``ACCURACY_PHASES`` (Adam at 1e-3, then
  ``warm_start`` at 1e-4). scikit-learn: its defaults but
  ``hidden_layer_sizes=(300,)`` and ``batch_size=100``, one epoch a ``fit``,
  until its own stopping rule or ``--sklearn-max-iter`` epochs, timed up to its
  best test accuracy (a generous reading). ``--curve`` also records skae's
  accuracy after each epoch.

The protocols and results: docs/benchmarks.md, "Training time against a plain
PyTorch loop", "VariationalAE on MNIST" and "Time to a test accuracy".

    python benchmarks/bench_training.py seed            # 60,000 images, 5 epochs
    python benchmarks/bench_training.py seed --quick    # 10,000 images, 1 epoch
    python benchmarks/bench_training.py vae             # 60,000 images, 10 epochs
    python benchmarks/bench_training.py accuracy --quick  # 5,000 images, 2 epochs
"""

import statistics
import sys
import time

import _common
import _mnist
import numpy as np
import skorch
import torch
import torch.nn.functional as F
from sklearn.neural_network import MLPClassifier as SklearnMLP
from torch import nn

from skae import DenoisingAE, MLPClassifier, VariationalAE


def _xavier(*layers):
    # skae's initialisation, so that all contenders train the same model.
    for layer in layers:
        nn.init.xavier_uniform_(layer.weight)
        nn.init.zeros_(layer.bias)
    return layers


def _mlp_module():
    torch.manual_seed(0)
    hidden, output = _xavier(nn.Linear(784, 300), nn.Linear(300, 10))
    return nn.Sequential(hidden, nn.ReLU(), nn.Dropout(0.25), output)


def plain_mlp(X, y, epochs):
    """The hand-written loop every user could write."""
    torch.manual_seed(0)
    model = _mlp_module()
    optimizer = torch.optim.Adagrad(model.parameters(), lr=0.3)
    loss_fn = nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(Xt))
        for start in range(0, len(Xt), 100):
            idx = order[start : start + 100]
            optimizer.zero_grad()
            loss = loss_fn(model(Xt[idx]), yt[idx])
            loss.backward()
            optimizer.step()
    model.eval()
    return lambda Xq: model(torch.from_numpy(Xq)).argmax(1).numpy()


def skae_mlp(X, y, epochs):
    clf = MLPClassifier(**_common.MNIST_MLP, alpha=0.0, max_iter=epochs, random_state=0)
    _common.quiet_fit(clf, X, y)
    return clf.predict


def skorch_mlp(X, y, epochs):
    net = skorch.NeuralNetClassifier(
        _mlp_module(),
        criterion=nn.CrossEntropyLoss,
        optimizer=torch.optim.Adagrad,
        lr=0.3,
        batch_size=100,
        max_epochs=epochs,
        train_split=None,
        iterator_train__shuffle=True,
        verbose=0,
    )
    net.fit(X, y)
    return net.predict


def sklearn_mlp(X, y, epochs):
    clf = SklearnMLP(
        (300,),
        solver="adam",
        batch_size=100,
        max_iter=epochs,
        n_iter_no_change=epochs + 1,
        random_state=0,
    )
    _common.quiet_fit(clf, X, y)
    return clf.predict


# Training FLOPs per sample of the 784-300-10 MLP: forward 2*(784*300 + 300*10),
# weight gradients as much again, and the input gradient of the output layer only.
MLP_TRAIN_FLOPS = 4 * 784 * 300 + 6 * 300 * 10


def matmul_rates(repeats=20):
    """torch's float32 matmul rate (FLOP/s): a large square and the model's shape."""
    rates = {}
    for name, (m, k, n) in {
        "square 2048": (2048, 2048, 2048),
        "model shape 100x784x300": (100, 784, 300),
    }.items():
        a, b = torch.randn(m, k), torch.randn(k, n)
        number = max(1, int(2e9 // (2 * m * k * n)))
        for _ in range(3):
            a @ b
        best = []
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(number):
                a @ b
            best.append((time.perf_counter() - start) / number)
        rates[name] = 2 * m * k * n / statistics.median(best)
    return rates


def plain_dae(X, epochs):
    torch.manual_seed(0)
    hidden, decoder = _xavier(nn.Linear(784, 200), nn.Linear(200, 784))
    encoder = nn.Sequential(hidden, nn.Softplus())
    params = [*encoder.parameters(), *decoder.parameters()]
    optimizer = torch.optim.Adam(params, lr=1e-3)
    Xt = torch.from_numpy(X)
    for _ in range(epochs):
        order = torch.randperm(len(Xt))
        for start in range(0, len(Xt), 128):
            xb = Xt[order[start : start + 128]]
            optimizer.zero_grad()
            loss = (decoder(encoder(xb + 0.01 * torch.randn_like(xb))) - xb).square()
            loss.mean().backward()
            optimizer.step()
    return lambda Xq: decoder(encoder(torch.from_numpy(Xq))) - torch.from_numpy(Xq)


def skae_dae(X, epochs):
    dae = DenoisingAE(
        **_common.SEED_DAE,
        loss="mse",  # the plain loop's loss
        batch_size=128,
        alpha=0.0,
        max_iter=epochs,
        random_state=0,
    )
    _common.quiet_fit(dae, X)
    return dae


def _time(fn, *args):
    """Wall seconds, CPU seconds of this process (all threads), and the result."""
    start, cpu = time.perf_counter(), time.process_time()
    result = fn(*args)
    return time.perf_counter() - start, time.process_time() - cpu, result


def run_seed(args):
    """The seed's MLP and DAE against a plain loop, skorch and scikit-learn."""
    quick, repeats = args.quick, args.repeats
    n_train, epochs = (10_000, 1) if quick else (None, 5)
    X, y, X_test, y_test = _mnist.load(n_train)
    mean, std = X.mean(0), X.std(0) + 1e-2
    Xs, Xs_test = (X - mean) / std, (X_test - mean) / std

    def mlp_quality(predict):
        with torch.no_grad():
            return float(np.mean(predict(X_test) == y_test))

    def dae_quality(model):
        with torch.no_grad():
            if isinstance(model, DenoisingAE):
                return float(-model.score(Xs_test))
            return float(model(Xs_test).square().mean())

    cases = {
        "mlp": (
            {
                "plain loop": plain_mlp,
                "skae": skae_mlp,
                "skorch default": skorch_mlp,
                "scikit-learn (adam)": sklearn_mlp,
            },
            (X, y),
            mlp_quality,
            "test accuracy",
        ),
        "dae": (
            {"plain loop": plain_dae, "skae": skae_dae},
            (Xs,),
            dae_quality,
            "test MSE",
        ),
    }
    results = {}
    rates = matmul_rates()
    for case, (contenders, data, quality, quality_name) in cases.items():
        names = list(contenders)
        for name in names:  # warm-up: first calls pay for lazy initialisation
            contenders[name](*(d[:1000] for d in data), 1)
        times = {name: [] for name in names}
        cpu_times = {name: [] for name in names}
        scores = {}
        for rep in range(repeats):
            # A new random order each repeat: no contender always runs first, last,
            # or after the same other one (whose leftovers, such as a heap or a
            # thread pool in another state, could tax it).
            order = np.random.RandomState(rep).permutation(len(names))
            for name in [names[i] for i in order]:
                seconds, cpu_seconds, model = _time(contenders[name], *data, epochs)
                times[name].append(seconds)
                cpu_times[name].append(cpu_seconds)
                scores[name] = quality(model)
        base = statistics.median(times["plain loop"])
        results[case] = {
            name: {
                "seconds": times[name],
                "cpu_seconds": cpu_times[name],
                # CPU time counts what the process did, not what other tenants of
                # a shared machine took from it.
                "cpu_ratio_to_plain": statistics.median(cpu_times[name])
                / statistics.median(cpu_times["plain loop"]),
                "median_s": statistics.median(times[name]),
                "ratio_to_plain": statistics.median(times[name]) / base,
                # Each repeat's time over the plain loop's in the same repeat: less
                # sensitive to the load of a shared machine drifting during the run.
                "paired_ratio": statistics.median(
                    t / p for t, p in zip(times[name], times["plain loop"], strict=True)
                ),
                quality_name: scores[name],
            }
            for name in names
        }
        if case == "mlp":
            flops = MLP_TRAIN_FLOPS * len(data[0]) * epochs
            for name in names:
                results[case][name]["gflops"] = (
                    flops / statistics.median(times[name]) / 1e9
                )
    # Measured before and after the cases; the faster of the two is the limit.
    rates = {k: max(v, rates[k]) for k, v in matmul_rates().items()}
    gflops = {k: v / 1e9 for k, v in rates.items()}
    return _common.report(
        args, {"epochs": epochs}, matmul_gflops=gflops, results=results
    )


def show_seed(report):
    rows = []
    for case, contenders in report["results"].items():
        for name, row in contenders.items():
            ((quality, value),) = (
                (k, v) for k, v in row.items() if k.startswith("test")
            )
            rows.append(
                [case, name, f"{row['median_s']:.2f}", f"{row['ratio_to_plain']:.3f}"]
                + [f"{row['paired_ratio']:.3f}", f"{row['cpu_ratio_to_plain']:.3f}"]
                + [f"{quality} {value:.4f}"]
            )
    columns = ["case", "contender", "median fit s", "ratio of medians"]
    columns += ["median paired ratio", "CPU-time ratio", "quality"]
    _common.table(columns, rows)
    rates = report["matmul_gflops"]
    square, shaped = rates["square 2048"], rates["model shape 100x784x300"]
    print()
    _common.table(
        ["MLP contender", "training GFLOP/s", "share of the square matmul rate"]
        + ["share of the model-shape matmul rate"],
        [
            [name, f"{r['gflops']:.1f}", f"{r['gflops'] / square:.1%}"]
            + [f"{r['gflops'] / shaped:.1%}"]
            for name, r in report["results"]["mlp"].items()
        ],
    )
    print(
        f"torch matmul, float32: square 2048 {square:.1f} GFLOP/s, model shape "
        f"100x784x300 {shaped:.1f} GFLOP/s"
    )


# ---- vae: VariationalAE against the reference example's loop ---------------------


class ReferenceVAE(nn.Module):
    """The VAE class of pytorch/examples vae/main.py."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def forward(self, x):
        h = F.relu(self.fc1(x))
        mu, logvar = self.fc21(h), self.fc22(h)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z)))), mu, logvar


# The 784-400-20 VAE of pytorch/examples' vae/main.py.
VAE = dict(
    n_components=20,
    hidden_layer_sizes=(400,),
    activation="relu",
    out_activation="logistic",
    loss="bce",
    batch_size=128,
    alpha=0.0,
)


def reference_loss(recon, x, mu, logvar):
    bce = F.binary_cross_entropy(recon, x, reduction="sum")
    return bce - 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())


def plain_vae(X, X_test, epochs):
    torch.manual_seed(0)
    model = ReferenceVAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    Xt = torch.from_numpy(X)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(Xt))
        for start in range(0, len(Xt), 128):
            xb = Xt[order[start : start + 128]]
            optimizer.zero_grad()
            recon, mu, logvar = model(xb)
            # Summed over the batch, as the reference does; Adam is insensitive to
            # the gradient's scale, so this matches skae's mean per sample.
            reference_loss(recon, xb, mu, logvar).backward()
            optimizer.step()
    fitted = time.perf_counter()
    model.eval()
    total = 0.0
    with torch.no_grad():
        for xb in torch.from_numpy(X_test).split(1000):
            recon, mu, logvar = model(xb)
            total += reference_loss(recon, xb, mu, logvar).item()
    return fitted, total / len(X_test)


def skae_vae(X, X_test, epochs):
    vae = VariationalAE(**VAE, learning_rate_init=1e-3, max_iter=epochs, random_state=0)
    _common.quiet_fit(vae, X)
    fitted = time.perf_counter()
    return fitted, -vae.score(X_test)


def run_vae(args):
    """VariationalAE against the reference PyTorch example's plain loop."""
    quick, repeats = args.quick, args.repeats
    n_train, epochs = (10_000, 1) if quick else (None, 10)
    X, _, X_test, _ = _mnist.load(n_train)
    contenders = {"plain loop": plain_vae, "skae": skae_vae}
    for fn in contenders.values():  # warm-up
        fn(X[:1000], X_test[:1000], 1)
    fit_times = {name: [] for name in contenders}
    score_times = {name: [] for name in contenders}
    losses = {}
    names = list(contenders)
    for rep in range(repeats):
        for name in names[rep % 2 :] + names[: rep % 2]:
            start = time.perf_counter()
            fitted, losses[name] = contenders[name](X, X_test, epochs)
            fit_times[name].append(fitted - start)
            score_times[name].append(time.perf_counter() - fitted)
    base = statistics.median(fit_times["plain loop"])
    results = {
        name: {
            "fit_seconds": fit_times[name],
            "median_fit_s": statistics.median(fit_times[name]),
            "fit_ratio_to_plain": statistics.median(fit_times[name]) / base,
            "median_test_loss_s": statistics.median(score_times[name]),
            "test_loss_nats": losses[name],
        }
        for name in names
    }
    return _common.report(args, {"epochs": epochs}, results=results)


def show_vae(report):
    columns = ["contender", "median fit s", "fit ratio to plain loop"]
    rows = [
        [name, f"{r['median_fit_s']:.2f}", f"{r['fit_ratio_to_plain']:.3f}"]
        + [f"{r['test_loss_nats']:.2f}", f"{r['median_test_loss_s']:.2f}"]
        for name, r in report["results"].items()
    ]
    _common.table([*columns, "test loss, nats", "median s to compute it"], rows)


# ---- accuracy: time to a test accuracy against scikit-learn --------------------------

#: skae's settings.
ACCURACY_PARAMS = {
    "hidden_layer_sizes": (512,),
    "dropout": 0.25,
    "solver": "adam",
    "batch_size": 128,
    "alpha": 0.0,
    "random_state": 0,
}
#: (learning_rate_init, epochs) of each phase: a ``fit``, then ``fit`` again with
#: ``warm_start=True`` (which keeps the weights and, as in scikit-learn, starts the
#: optimiser afresh) at the next rate: a step schedule through the public API.
ACCURACY_PHASES = [(1e-3, 6), (1e-4, 3)]
SKLEARN_PARAMS = {"hidden_layer_sizes": (300,), "batch_size": 100, "random_state": 0}


def accuracy_skae(X, y, X_test, y_test, phases):
    clf = MLPClassifier(**ACCURACY_PARAMS)
    start = time.perf_counter()
    with _common.quiet():
        for i, (rate, epochs) in enumerate(phases):
            clf.set_params(learning_rate_init=rate, max_iter=epochs, warm_start=i > 0)
            clf.fit(X, y)
    seconds = time.perf_counter() - start
    print("skae fit", seconds, file=sys.stderr, flush=True)
    return {
        "seconds": seconds,
        "epochs": clf.n_iter_,
        "accuracy": float(clf.score(X_test, y_test)),
    }


def skae_curve(X, y, X_test, y_test, phases):
    """(epoch, cumulative fit seconds, test accuracy) with one partial_fit an epoch.

    The same settings and phases as the timed run, but the shuffling differs (each
    ``partial_fit`` call draws a new stream) and the optimiser's state carries
    over the change of rate, so the curve is close to the timed run, not equal.
    """
    clf, classes, seconds, curve = (
        MLPClassifier(**ACCURACY_PARAMS),
        np.unique(y),
        0.0,
        [],
    )
    rates = [rate for rate, epochs in phases for _ in range(epochs)]
    for epoch, rate in enumerate(rates, 1):
        clf.set_params(learning_rate_init=rate)
        start = time.perf_counter()
        clf.partial_fit(X, y, classes=classes)
        seconds += time.perf_counter() - start
        curve.append((epoch, seconds, float(clf.score(X_test, y_test))))
        print("skae epoch", *curve[-1], file=sys.stderr, flush=True)
    return curve


def accuracy_sklearn(X, y, X_test, y_test, max_epochs):
    """Epochs until scikit-learn's stopping rule; the time to its best accuracy."""
    clf = SklearnMLP(**SKLEARN_PARAMS, warm_start=True, max_iter=1)
    seconds, curve = 0.0, []
    best_loss, no_improvement, converged = np.inf, 0, False
    with _common.quiet():
        for epoch in range(1, max_epochs + 1):
            start = time.perf_counter()
            clf.fit(X, y)
            seconds += time.perf_counter() - start
            loss = clf.loss_curve_[-1]
            curve.append((epoch, seconds, float(clf.score(X_test, y_test)), loss))
            print("scikit-learn epoch", *curve[-1], file=sys.stderr, flush=True)
            # scikit-learn's rule (_update_no_improvement_count), across the calls.
            no_improvement = no_improvement + 1 if loss > best_loss - clf.tol else 0
            best_loss = min(best_loss, loss)
            if no_improvement > clf.n_iter_no_change:
                converged = True
                break
    best = max(curve, key=lambda row: row[2])
    return {
        "seconds": best[1],
        "epochs": best[0],
        "accuracy": best[2],
        "epochs_run": len(curve),
        "seconds_all_epochs": seconds,
        "converged": converged,
        "curve": curve,
    }


def run_accuracy(args):
    """Time to a test accuracy: skae's MLPClassifier against scikit-learn's."""
    quick, repeats, sklearn_max_iter = args.quick, args.repeats, args.sklearn_max_iter
    curve = args.curve
    n_train = 5_000 if quick else None
    X, y, X_test, y_test = _mnist.load(n_train)
    phases = [(rate, 1) for rate, _ in ACCURACY_PHASES] if quick else ACCURACY_PHASES
    max_epochs = 2 if quick else sklearn_max_iter
    contenders = {
        "skae": lambda: accuracy_skae(X, y, X_test, y_test, phases),
        "scikit-learn": lambda: accuracy_sklearn(X, y, X_test, y_test, max_epochs),
    }
    runs = {name: [] for name in contenders}
    names = list(contenders)
    for rep in range(repeats):
        for name in names[rep % len(names) :] + names[: rep % len(names)]:
            runs[name].append(contenders[name]())
    results = {
        name: {
            "runs": rows,
            "median_s": statistics.median(r["seconds"] for r in rows),
            "median_accuracy": statistics.median(r["accuracy"] for r in rows),
        }
        for name, rows in runs.items()
    }
    base = results["skae"]["median_s"]
    for row in results.values():
        row["ratio_to_skae"] = row["median_s"] / base
    settings = {"skae": dict(ACCURACY_PARAMS, phases=phases)}
    settings["sklearn"] = dict(SKLEARN_PARAMS, max_epochs=max_epochs)
    report = _common.report(args, settings, results=results)
    if curve:
        report["skae_curve"] = skae_curve(X, y, X_test, y_test, phases)
    return report


def show_accuracy(report):
    sk = report["results"]["scikit-learn"]["runs"][-1]
    print("scikit-learn, last repeat: epoch, cumulative fit s, test accuracy, loss")
    for epoch, seconds, accuracy, loss in sk["curve"]:
        print(f"  {epoch} {seconds:.2f} {accuracy:.4f} {loss:.5f}")
    if "skae_curve" in report:
        print("skae (partial_fit): epoch, cumulative fit s, test accuracy")
        for epoch, seconds, accuracy in report["skae_curve"]:
            print(f"  {epoch} {seconds:.2f} {accuracy:.4f}")
    rows = []
    for name, row in report["results"].items():
        run = row["runs"][-1]
        epochs = str(run["epochs"])
        if name == "scikit-learn":
            stop = "converged" if run["converged"] else "max epochs"
            epochs += f" (best of {run['epochs_run']}, {stop})"
        rows.append(
            [name, epochs, f"{row['median_s']:.2f}", f"{row['ratio_to_skae']:.2f}"]
            + [f"{row['median_accuracy']:.4f}"]
        )
    columns = ["contender", "epochs", "median fit s", "ratio to skae"]
    _common.table([*columns, "test accuracy"], rows)


if __name__ == "__main__":
    parser, command = _common.commands(__doc__)
    command("seed", run_seed, show_seed, needs="mnist", repeats=(3, 5))
    command("vae", run_vae, show_vae, needs="mnist", repeats=3)
    # scikit-learn's matrix products run in NumPy's BLAS: --threads limits it too.
    accuracy = command(
        "accuracy", run_accuracy, show_accuracy, needs="mnist", blas=True, repeats=1
    )
    accuracy.add_argument("--sklearn-max-iter", type=int, default=50, help="epochs")
    accuracy.add_argument("--curve", action="store_true", help="skae's epoch accuracy")
    sys.exit(_common.main(parser))
