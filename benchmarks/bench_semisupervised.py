"""Unsupervised pretraining with few labels: MNIST, 1,000 labelled images.

The training set keeps 1,000 labels (a random, seeded subset) and marks the other
59,000 images unlabelled (-1). Two classifiers, the same 784-300-10 ReLU MLP
(dropout 0.25, Adam at 1e-3, batches of 100, exactly ``--epochs`` epochs on the
labelled images):

* ``from scratch``: Xavier initialisation, trained on the 1,000 labelled images;
* ``pretrained``: its hidden layer starts from a 784-300 masking-noise denoising
  autoencoder (noise 0.25, logistic output, cross-entropy, Adam at 1e-3, batches
  of 128) fitted on all 60,000 training images for ``--ae-epochs`` epochs, through
  ``MLPClassifier(encoder=DenoisingAE(...))``, then fine-tuned the same way.

Test accuracy on the 10,000 test images, for several labelled subsets (seeds).

    python benchmarks/bench_semisupervised.py           # 3 seeds, full size
    python benchmarks/bench_semisupervised.py --quick   # 10,000 images, 1 seed
"""

import argparse
import json
import statistics
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skae import DenoisingAE, MLPClassifier

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import _mnist  # noqa: E402


def classifier(epochs, seed, encoder=None):
    return MLPClassifier(
        (300,),
        dropout=0.25,
        encoder=encoder,
        learning_rate_init=1e-3,
        batch_size=100,
        max_iter=epochs,
        # The same budget for both: exactly `epochs` epochs, no early stop.
        tol=0.0,
        n_iter_no_change=epochs,
        random_state=seed,
    )


def encoder(epochs, seed):
    return DenoisingAE(
        (300,),
        noise="mask",
        noise_level=0.25,
        out_activation="logistic",
        loss="bce",
        batch_size=128,
        max_iter=epochs,
        random_state=seed,
    )


def run(quick=False, seeds=(0, 1, 2), n_labelled=1000, epochs=100, ae_epochs=10):
    n_train = 10_000 if quick else None
    X, y, X_test, y_test = _mnist.load(n_train)
    rows = []
    for seed in seeds:
        labelled = np.random.RandomState(seed).permutation(len(X))[:n_labelled]
        y_semi = np.full_like(y, -1)
        y_semi[labelled] = y[labelled]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start = time.perf_counter()
            scratch = classifier(epochs, seed).fit(X[labelled], y[labelled])
            scratch_s = time.perf_counter() - start
            start = time.perf_counter()
            pretrained = classifier(epochs, seed, encoder(ae_epochs, seed))
            pretrained.fit(X, y_semi)
            pretrained_s = time.perf_counter() - start
        rows.append(
            {
                "seed": seed,
                "scratch_accuracy": scratch.score(X_test, y_test),
                "scratch_s": scratch_s,
                "pretrained_accuracy": pretrained.score(X_test, y_test),
                "pretrained_s": pretrained_s,
                "encoder_final_loss": pretrained.encoder_.loss_curve_[-1],
            }
        )
    return {
        "settings": {
            "quick": quick,
            "n_train": len(X),
            "n_labelled": n_labelled,
            "epochs": epochs,
            "ae_epochs": ae_epochs,
        },
        "rows": rows,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", help="also write the full report here")
    args = parser.parse_args(argv)
    if _mnist.mnist_path() is None:
        print("skipped: MNIST not found (set SKAE_MNIST to an mnist.npz)")
        return 0
    if args.quick:
        report = run(True, seeds=(0,), epochs=20, ae_epochs=2)
    else:
        report = run()
    print(f"settings {report['settings']}")
    print("| seed | from scratch: accuracy | fit s | pretrained: accuracy | fit s |")
    print("|---|---|---|---|---|")
    for row in report["rows"]:
        print(
            f"| {row['seed']} | {row['scratch_accuracy']:.4f} | {row['scratch_s']:.1f} "
            f"| {row['pretrained_accuracy']:.4f} | {row['pretrained_s']:.1f} |"
        )
    for key in ("scratch_accuracy", "pretrained_accuracy"):
        values = [row[key] for row in report["rows"]]
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        print(f"mean {key}: {statistics.mean(values):.4f} (sd {spread:.4f})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
