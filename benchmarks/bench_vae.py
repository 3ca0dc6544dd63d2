"""VariationalAE on MNIST against the reference PyTorch example's plain loop.

The classic recipe: 784-400-20, ReLU, sigmoid output, Bernoulli likelihood (BCE on
pixels in [0, 1]), Adam at 1e-3, batches of 128, 10 epochs. The reference
(pytorch/examples, vae/main.py) reports a test loss of 105.6 nats per sample.

Both contenders train the same model on the same data, alternately, ``--repeats``
times. The test loss is the negative ELBO per test image, in nats: for skae,
``-VariationalAE.score(X_test)`` (the mean over 8 draws of the code per image);
for the plain loop, as the reference computes it (one draw per image).

    python benchmarks/bench_vae.py            # 60,000 images, 10 epochs
    python benchmarks/bench_vae.py --quick    # 10,000 images, 1 epoch
"""

import statistics
import sys
import time

import _common
import _mnist
import torch
from torch import nn
from torch.nn import functional as F

from skae import VariationalAE


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
MODEL = dict(
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


def plain_loop(X, X_test, epochs):
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
    vae = VariationalAE(
        **MODEL, learning_rate_init=1e-3, max_iter=epochs, random_state=0
    )
    _common.quiet_fit(vae, X)
    fitted = time.perf_counter()
    return fitted, -vae.score(X_test)


def run(args):
    quick, repeats = args.quick, args.repeats
    n_train, epochs = (10_000, 1) if quick else (None, 10)
    X, _, X_test, _ = _mnist.load(n_train)
    contenders = {"plain loop": plain_loop, "skae": skae_vae}
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
    return {
        "settings": {"quick": quick, "repeats": repeats, "epochs": epochs},
        "torch_threads": torch.get_num_threads(),
        "results": {
            name: {
                "fit_seconds": fit_times[name],
                "median_fit_s": statistics.median(fit_times[name]),
                "fit_ratio_to_plain": statistics.median(fit_times[name]) / base,
                "median_test_loss_s": statistics.median(score_times[name]),
                "test_loss_nats": losses[name],
            }
            for name in names
        },
    }


def show(report):
    print(f"settings {report['settings']}, {report['torch_threads']} torch threads")
    columns = ["contender", "median fit s", "fit ratio to plain loop"]
    rows = [
        [name, f"{r['median_fit_s']:.2f}", f"{r['fit_ratio_to_plain']:.3f}"]
        + [f"{r['test_loss_nats']:.2f}", f"{r['median_test_loss_s']:.2f}"]
        for name, r in report["results"].items()
    ]
    _common.table([*columns, "test loss, nats", "median s to compute it"], rows)


if __name__ == "__main__":
    parser = _common.parser(__doc__, repeats=3)
    sys.exit(_common.main(parser, run, show, needs="mnist"))
