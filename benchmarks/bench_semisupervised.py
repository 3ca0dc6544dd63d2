"""Unsupervised pretraining with few labels: MNIST, 1,000 labelled images.

The training set keeps 1,000 labels (a random, seeded subset) and marks the other
59,000 images unlabelled (-1). In each setting, one MLP (dropout 0.25, batches of
100, exactly ``epochs`` epochs on the labelled images) is trained twice with the
same budget: from scratch (Xavier initialisation, on the 1,000 labelled images),
and with its hidden layers started from a masking-noise denoising autoencoder
(noise 0.25, logistic output, cross-entropy, Adam at 1e-3, batches of 128) fitted
on all 60,000 training images. The autoencoder is fitted once per seed and handed
over as ``MLPClassifier(encoder=FrozenEstimator(ae))``, so that two fine-tuning
recipes can share it; its fit time is reported apart.

Settings:

* ``300 adam``: 784-300-10 ReLU, autoencoder 10 epochs, fine-tuning with Adam 1e-3;
* ``300 sgd``: the same net, autoencoder 30 epochs, SGD 0.1 (momentum 0.9, Nesterov);
* ``500-500 sgd``: 784-500-500-10, a stacked autoencoder with greedy layer-wise
  pretraining (5 epochs a layer) then 10 epochs of the whole stack, SGD 0.1.

    python benchmarks/bench_semisupervised.py           # 3 seeds, full size
    python benchmarks/bench_semisupervised.py --quick   # 10,000 images, 1 seed
"""

import statistics
import sys
import time

import _common
import _mnist
import numpy as np
from sklearn.frozen import FrozenEstimator

from skae import DenoisingAE, MLPClassifier

SGD = {"solver": "sgd", "learning_rate_init": 0.1, "momentum": 0.9}
ADAM = {"solver": "adam", "learning_rate_init": 1e-3}
# name: (hidden layers, autoencoder parameters, fine-tuning solver)
SETTINGS = {
    "300 adam": ((300,), {"max_iter": 10}, ADAM),
    "300 sgd": ((300,), {"max_iter": 30}, SGD),
    "500-500 sgd": ((500, 500), {"max_iter": 10, "pretrain_max_iter": 5}, SGD),
}


def classifier(hidden, solver, epochs, seed, encoder=None):
    return MLPClassifier(
        hidden,
        dropout=0.25,
        encoder=encoder,
        batch_size=100,
        max_iter=epochs,
        # The same budget for both: exactly `epochs` epochs, no early stop.
        tol=0.0,
        n_iter_no_change=epochs,
        random_state=seed,
        **solver,
    )


def autoencoder(hidden, params, seed):
    # The MLP's hidden layers are the encoder's hidden layers and its code.
    return DenoisingAE(
        hidden[-1],
        hidden_layer_sizes=hidden[:-1],
        code_activation="relu",
        noise="mask",
        noise_level=0.25,
        out_activation="logistic",
        loss="bce",
        batch_size=128,
        random_state=seed,
        # The objective of the documented runs, unless ``params`` says otherwise.
        **{"consistency": 0, **params},
    )


def _timed(fit, *data):
    start = time.perf_counter()
    model = fit(*data)
    return model, time.perf_counter() - start


def run(args):
    if args.quick:
        settings = {"300 sgd": ((300,), {"max_iter": 2}, SGD)}
        return _run(settings, seeds=(0,), quick=True, epochs=20)
    return _run(SETTINGS)


def _run(settings, seeds=(0, 1, 2), quick=False, n_labelled=1000, epochs=100):
    X, y, X_test, y_test = _mnist.load(10_000 if quick else None)
    rows = []
    for seed in seeds:
        labelled = np.random.RandomState(seed).permutation(len(X))[:n_labelled]
        y_semi = np.full_like(y, -1)
        y_semi[labelled] = y[labelled]
        for name, (hidden, ae_params, solver) in settings.items():
            with _common.quiet():
                ae, ae_s = _timed(autoencoder(hidden, ae_params, seed).fit, X)
                scratch, scratch_s = _timed(
                    classifier(hidden, solver, epochs, seed).fit,
                    X[labelled],
                    y[labelled],
                )
                pretrained, pretrained_s = _timed(
                    classifier(hidden, solver, epochs, seed, FrozenEstimator(ae)).fit,
                    X,
                    y_semi,
                )
            rows.append(
                {
                    "setting": name,
                    "seed": seed,
                    "scratch_accuracy": scratch.score(X_test, y_test),
                    "scratch_s": scratch_s,
                    "pretrained_accuracy": pretrained.score(X_test, y_test),
                    "fine_tune_s": pretrained_s,
                    "autoencoder_s": ae_s,
                    "autoencoder_loss": ae.loss_curve_[-1],
                }
            )
    return {
        "settings": {
            "quick": quick,
            "n_train": len(X),
            "n_labelled": n_labelled,
            "epochs": epochs,
            "seeds": list(seeds),
        },
        "rows": rows,
    }


def print_report(report):
    print(f"settings {report['settings']}")
    columns = ["setting", "seed", "from scratch", "pretrained", "gain"]
    rows = [
        [r["setting"], r["seed"], f"{r['scratch_accuracy']:.4f}"]
        + [f"{r['pretrained_accuracy']:.4f}"]
        + [f"{r['pretrained_accuracy'] - r['scratch_accuracy']:+.4f}"]
        + [f"{r['autoencoder_s']:.1f}", f"{r['fine_tune_s']:.1f}"]
        for r in report["rows"]
    ]
    _common.table([*columns, "autoencoder fit s", "fine-tune s"], rows)
    for name in dict.fromkeys(r["setting"] for r in report["rows"]):
        rows = [r for r in report["rows"] if r["setting"] == name]
        for key in ("scratch_accuracy", "pretrained_accuracy"):
            values = [r[key] for r in rows]
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            print(f"{name}: mean {key} {statistics.mean(values):.4f} (sd {spread:.4f})")


if __name__ == "__main__":
    parser = _common.parser(__doc__)
    sys.exit(_common.main(parser, run, print_report, needs="mnist"))
