"""The papers' rows on MNIST: one sub-command a paper.

- ``mlp``: ``MLPClassifier`` 784-800-800-10 to at least 98.5 % test accuracy in
  90 s of training;
- ``vae``: a 784-400-20 ``VariationalAE`` to a test loss of at most 102 nats
  (minus the evidence lower bound, Bernoulli on grey levels, as pytorch/examples'
  ``vae/main.py``, 105.6 nats after 10 epochs);
- ``deep_ae``: the 784-1000-500-250-30 autoencoder of Hinton and Salakhutdinov
  (2006) to a test squared error per image of 3.00 in 30 minutes (PCA(30): 13.87);
- ``semisupervised``: 1,000 labels to at least 95 % test accuracy (Lee, 2013:
  96.5 %), a pretrained classifier on ramped pseudo-labels;
- ``pretraining``: with the same 1,000 labels, an MLP trained from scratch
  against one on a pretrained denoising autoencoder's encoder, in three settings.

The first three train one ``partial_fit`` an epoch, with ``learning_rate_init``
on a cosine from ``--lr`` down to 1 % of it (over the epochs, or over the
``--budget`` seconds for ``deep_ae``); only the ``partial_fit`` calls are timed,
the scores of the curve are taken outside the timing.

    python benchmarks/bench_papers.py mlp              # seeds 0 and 1, 60,000 images
    python benchmarks/bench_papers.py vae              # 160 epochs
    python benchmarks/bench_papers.py deep_ae          # 30 minutes
    python benchmarks/bench_papers.py semisupervised   # seed 0
    python benchmarks/bench_papers.py pretraining      # 3 seeds, 3 settings
    python benchmarks/bench_papers.py mlp --quick      # 10,000 images, 2 epochs
"""

import json
import math
import os
import pickle
import statistics
import sys
import time

import _common
import _mnist
import bench_training
import numpy as np
from sklearn.decomposition import PCA
from sklearn.frozen import FrozenEstimator

from skae import Autoencoder, DenoisingAE, MLPClassifier, VariationalAE


def cosine(peak, step, steps=1, floor=0.01):
    """``peak`` at step 0 down to ``floor * peak`` at step ``steps``."""
    return peak * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * step / steps)))


def train(model, fit, rate, score, epochs, every=1, budget=math.inf, label=()):
    """One timed ``fit(model)`` an epoch at ``rate(epoch, seconds)``; the curve.

    A curve row is (epoch, cumulative fit s, cumulative CPU s, rate,
    ``*score(model)``), every ``every`` epochs and at the last. No epoch starts
    that the last epoch's duration says would end past ``budget`` seconds.
    """
    seconds, cpu, last, curve = 0.0, 0.0, 0.0, []
    with _common.quiet():
        for epoch in range(1, epochs + 1):
            if epoch > 1 and seconds + last > budget:
                break
            lr = rate(epoch, seconds)
            model.set_params(learning_rate_init=lr)
            start, start_cpu = time.perf_counter(), time.process_time()
            fit(model)
            last = time.perf_counter() - start
            seconds += last
            cpu += time.process_time() - start_cpu
            if epoch % every == 0 or epoch == epochs or seconds + last > budget:
                curve.append((epoch, seconds, cpu, lr, *score(model)))
                load = os.getloadavg()[0]
                print(*label, "epoch", *curve[-1], load, file=sys.stderr, flush=True)
    return curve


def squared_error(model, X):
    """Squared error summed over the pixels, averaged over the images."""
    return float(((model.inverse_transform(model.transform(X)) - X) ** 2).sum(1).mean())


def held_out(args):
    """MNIST, the last ``--validation`` training images apart: four arrays and two."""
    X, y, X_test, y_test = _mnist.load(10_000 if args.quick else None)
    n = len(X) - args.validation
    return (X[:n], y[:n], X_test, y_test), (X[n:], y[n:])


# --- mlp ------------------------------------------------------------------------

MLP_TARGET = 0.985, 90.0
#: The estimator's parameters, the epochs and the schedule's peak rate.
MLP_RECIPE = {
    "hidden_layer_sizes": (800, 800),
    "dropout": 0.3,
    "batch_size": 128,
    "alpha": 0.0,
    "epochs": 12,
    "learning_rate_init": 1e-3,
}


def run_mlp(args):
    """784-800-800-10 ReLU, dropout 0.3, Adam, batches of 128, 12 epochs.

    With ``--validation N``, scored on the last N training images, not the test set.
    """
    (X, y, X_eval, y_eval), valid = held_out(args)
    if args.validation:
        X_eval, y_eval = valid
    overrides = {
        "hidden_layer_sizes": args.hidden and tuple(args.hidden),
        "dropout": args.dropout,
        "epochs": 2 if args.quick else args.epochs,
        "batch_size": args.batch_size,
        "learning_rate_init": args.lr,
    }
    recipe = {**MLP_RECIPE, **{k: v for k, v in overrides.items() if v is not None}}
    epochs, peak = recipe["epochs"], recipe["learning_rate_init"]
    params = {k: v for k, v in recipe.items() if k != "epochs"}
    load_before, runs = os.getloadavg(), []
    for seed in args.seeds:
        curve = train(
            MLPClassifier(**params, random_state=seed),
            lambda m: m.partial_fit(X, y, classes=np.arange(10)),
            lambda epoch, _: cosine(peak, epoch - 1, epochs),
            lambda m: (float(m.score(X_eval, y_eval)),),
            epochs,
            label=("seed", seed),
        )
        runs.append(
            {
                "seed": seed,
                "fit_seconds": curve[-1][1],
                "fit_cpu_seconds": curve[-1][2],
                "accuracy": curve[-1][4],
                "curve": curve,
            }
        )
    settings = {"quick": args.quick, "validation": args.validation, "n_train": len(X)}
    settings.update(n_eval=len(X_eval), recipe=recipe)
    return _common.stamped(load_before, settings=settings, runs=runs)


def show_mlp(report):
    scored = "validation" if report["settings"]["validation"] else "test"
    accuracy, limit = MLP_TARGET
    for r in report["runs"]:
        print(f"seed {r['seed']}: epoch, fit s, CPU s, rate, {scored} accuracy")
        for epoch, seconds, cpu, rate, score in r["curve"]:
            print(f"  {epoch} {seconds:.1f} {cpu:.1f} {rate:.2e} {score:.4f}")
    rows = [
        [r["seed"], len(r["curve"]), f"{r['fit_seconds']:.1f}"]
        + [f"{r['fit_cpu_seconds']:.1f}", f"{r['accuracy']:.4f}"]
        + [
            "met"
            if r["accuracy"] >= accuracy and r["fit_seconds"] <= limit
            else "missed"
        ]
        for r in report["runs"]
    ]
    columns = ["seed", "epochs", "fit s", "fit CPU s", f"{scored} accuracy"]
    _common.table([*columns, f"target (>= {accuracy:.1%} in <= {limit:.0f} s)"], rows)


# --- vae ------------------------------------------------------------------------

VAE_TARGET, VAE_GOAL = 102.0, 100.0
VAE_REFERENCE = "pytorch/examples vae/main.py: 105.6 nats after 10 epochs"


def run_vae(args):
    """784-400-20, ReLU, sigmoid output, BCE, Adam, batches of 128, no weight decay."""
    X, _, X_test, _ = _mnist.load(10_000 if args.quick else None)
    epochs, every = (2, 1) if args.quick else (args.epochs, args.every)
    vae = VariationalAE(**bench_training.VAE, random_state=args.seed)
    load_before = os.getloadavg()
    curve = train(
        vae,
        lambda m: m.partial_fit(X),
        lambda epoch, _: cosine(args.lr, epoch - 1, epochs),
        lambda m: (m.loss_, -m.score(X_test)),
        epochs,
        every,
    )
    settings = {"quick": args.quick, "n_train": len(X), "epochs": epochs}
    settings.update(
        schedule=f"cosine from {args.lr:g} to {args.lr / 100:g}, one partial_fit "
        "an epoch",
        seed=args.seed,
        params=_common.params(vae, [*bench_training.VAE, "solver"]),
    )
    return _common.stamped(
        load_before,
        settings=settings,
        fit_seconds=curve[-1][1],
        fit_cpu_seconds=curve[-1][2],
        test_loss_nats=curve[-1][5],
        curve=curve,
    )


def show_vae(report):
    columns = ["epoch", "cumulative fit s", "CPU s", "rate", "training loss"]
    _common.table(
        [*columns, "test loss, nats"],
        [
            [epoch, f"{s:.0f}", f"{cpu:.0f}", f"{rate:.2e}", f"{train:.2f}"]
            + [f"{test:.2f}"]
            for epoch, s, cpu, rate, train, test in report["curve"]
        ],
    )
    loss = report["test_loss_nats"]
    met, goal = (
        "met" if loss <= bound else f"missed by {loss - bound:.2f}"
        for bound in (VAE_TARGET, VAE_GOAL)
    )
    columns = ["model", "epochs", "fit s", "fit CPU s", "test loss, nats"]
    _common.table(
        [*columns, "target <= 102", "goal <= 100", "reference"],
        [
            ["skae VariationalAE 784-400-20", report["settings"]["epochs"]]
            + [f"{report['fit_seconds']:.0f}", f"{report['fit_cpu_seconds']:.0f}"]
            + [f"{loss:.2f}", met, goal, VAE_REFERENCE]
        ],
    )


# --- deep_ae --------------------------------------------------------------------

DEEP_TARGET, DEEP_PAPER_PCA = 3.00, 13.87
DEEP_AE = dict(
    n_components=30,
    hidden_layer_sizes=(1000, 500, 250),
    activation="relu",
    code_activation="identity",
    out_activation="logistic",
    loss="bce",
    batch_size=128,
    pretrain_max_iter=5,
)


def run_deep_ae(args):
    """784-1000-500-250-30: ReLU, linear code, logistic output, cross-entropy, Adam,
    batches of 128, ``alpha=1e-4``, 5 epochs of greedy layer-wise pretraining a layer
    (inside the first ``partial_fit``), the rate on a cosine in wall-clock time.

    ``--params JSON`` changes the recipe (a ``noise`` makes it a ``DenoisingAE``,
    with ``consistency=0`` unless given); ``--validation N`` scores the last N
    training images beside the test images. Each point of the curve also scores
    the first 10,000 training images.
    """
    (X, _, X_test, _), (X_valid, _) = held_out(args)
    epochs = 2 if args.quick else 10_000
    budget, every = (
        (min(args.budget, 60.0), 1) if args.quick else (args.budget, args.every)
    )
    pca = PCA(30, random_state=0).fit(X)
    pca_error = squared_error(pca, X_test)
    params = dict(args.params)
    model = DenoisingAE if "noise" in params else Autoencoder
    if model is DenoisingAE:
        params.setdefault("consistency", 0.0)
    ae = model(**DEEP_AE, random_state=args.seed).set_params(**params)
    load_before = os.getloadavg()
    curve = train(
        ae,
        lambda m: m.partial_fit(X),
        lambda _, seconds: cosine(args.lr, min(1.0, seconds / budget)),
        lambda m: (
            m.loss_,
            squared_error(m, X_test),
            squared_error(m, X[:10_000]),
            squared_error(m, X_valid) if args.validation else None,
        ),
        epochs,
        every,
        budget,
    )
    names = [*DEEP_AE, "alpha", "solver", "noise", "noise_level"]
    settings = {"quick": args.quick, "n_train": len(X), "n_validation": args.validation}
    settings.update(
        model=type(ae).__name__,
        budget_s=budget,
        schedule=f"cosine in wall-clock time from {args.lr:g} to {args.lr / 100:g} "
        f"over {budget:g} s, one partial_fit an epoch",
        seed=args.seed,
        params=_common.params(ae, names),
    )
    return _common.stamped(
        load_before,
        settings=settings,
        fit_seconds=curve[-1][1],
        fit_cpu_seconds=curve[-1][2],
        epochs=curve[-1][0],
        test_error=curve[-1][5],
        pca_test_error=pca_error,
        curve=curve,
    )


def show_deep_ae(report):
    columns = ["epoch", "cumulative fit s", "CPU s", "rate", "training loss"]
    columns += ["squared error, first 10,000 training images", "validation", "test"]
    _common.table(
        columns,
        [
            [epoch, f"{s:.0f}", f"{cpu:.0f}", f"{rate:.2e}", f"{loss:.4f}"]
            + [f"{seen:.2f}", "-" if valid is None else f"{valid:.2f}", f"{test:.2f}"]
            for epoch, s, cpu, rate, loss, test, seen, valid in report["curve"]
        ],
    )
    error = report["test_error"]
    met = "met" if error <= DEEP_TARGET else f"missed by {error - DEEP_TARGET:.2f}"
    columns = ["model", "epochs", "fit s", "fit CPU s", "test squared error per image"]
    _common.table(
        [*columns, "target <= 3.00", "PCA(30) here", "PCA(30) in the paper"],
        [
            [f"skae {report['settings']['model']} 784-1000-500-250-30"]
            + [report["epochs"], f"{report['fit_seconds']:.0f}"]
            + [f"{report['fit_cpu_seconds']:.0f}", f"{error:.2f}", met]
            + [f"{report['pca_test_error']:.2f}", DEEP_PAPER_PCA]
        ],
    )


# --- semisupervised -------------------------------------------------------------

SEMI_TARGET, HIDDEN, WARM_UP_EPOCHS, EVERY = 0.95, (500, 500), 100, 5
#: The pseudo-label phase: epochs, the ramp's length and top, the first and last
#: rates, how many times each labelled image appears in an epoch, and the
#: pretraining's consistency weight. The first rate is below the warm-up's 0.1: a
#: batch's loss is the weighted mean ``sum(w * loss) / sum(w)``, so while ``alpha``
#: is small the few labelled images of a batch carry it, and at 0.1 the first
#: epoch diverged to one class.
RECIPE = {
    "epochs": 40,
    "ramp": 15,
    "alpha": 3.0,
    "lr": 0.02,
    "lr_end": 0.001,
    "repeat": 10,
    "consistency": 0.0,
}


def labelled_subset(y, per_class, seed):
    rng = np.random.RandomState(seed)
    return np.sort(
        np.concatenate(
            [rng.permutation(np.flatnonzero(y == c))[:per_class] for c in range(10)]
        )
    )


def pretrained(X, seed, quick, cache, consistency):
    """The masking-noise DAE 784-500-500 and its fit time, or ``cache``'s, if there."""
    if cache and os.path.exists(cache):
        with open(cache, "rb") as f:
            return pickle.load(f), None
    epochs = (1, 1) if quick else (10, 5)
    epochs = dict(zip(("max_iter", "pretrain_max_iter"), epochs, strict=True))
    ae = autoencoder(HIDDEN, {**epochs, "consistency": consistency}, seed)
    start = time.perf_counter()
    _common.quiet_fit(ae, X)
    seconds = time.perf_counter() - start
    if cache:
        with open(cache, "wb") as f:
            pickle.dump(ae, f)
    return ae, seconds


def semi_seed(data, seed, recipe, args, per_class=100):
    """Pretraining, a warm-up on the labelled images, then the pseudo-labels."""
    X, y, X_test, y_test = data
    labelled = labelled_subset(y, per_class, seed)
    unlabelled = np.setdiff1d(np.arange(len(y)), labelled)
    if args.validate:  # the hidden labels of the unlabelled images, not the test set
        X_test, y_test = X[unlabelled], y[unlabelled]
    ae, ae_seconds = pretrained(
        X, seed, args.quick, args.autoencoder, recipe["consistency"]
    )
    repeat, epochs = recipe["repeat"], recipe["epochs"]
    X_epoch = np.concatenate([np.repeat(X[labelled], repeat, axis=0), X[unlabelled]])
    y_labelled = np.repeat(y[labelled], repeat)
    n_labelled = len(y_labelled)
    warm_up = 20 if args.quick else WARM_UP_EPOCHS
    clf = classifier(HIDDEN, SGD, warm_up, seed, FrozenEstimator(ae))
    lr = SGD["learning_rate_init"]
    curve, seconds = [], 0.0
    with _common.quiet():
        start = time.perf_counter()
        clf.fit(X[labelled], y[labelled])
        seconds += time.perf_counter() - start
        curve.append((0, 0.0, lr, None, seconds, float(clf.score(X_test, y_test))))
        for epoch in range(1, epochs + 1):
            alpha = recipe["alpha"] * min(1.0, epoch / recipe["ramp"])
            progress = (epoch - 1) / max(1, epochs - 1)
            lr = recipe["lr_end"] + (recipe["lr"] - recipe["lr_end"]) * 0.5 * (
                1 + math.cos(math.pi * progress)
            )
            start = time.perf_counter()
            pseudo = clf.predict(X[unlabelled])
            weight = alpha * n_labelled / len(unlabelled)
            weights = np.concatenate(
                [np.ones(n_labelled), np.full(len(unlabelled), weight)]
            )
            clf.set_params(learning_rate_init=lr)
            clf.partial_fit(X_epoch, np.concatenate([y_labelled, pseudo]), weights)
            seconds += time.perf_counter() - start
            if epoch % EVERY == 0 or epoch == epochs:
                correct = float((pseudo == y[unlabelled]).mean())
                score = float(clf.score(X_test, y_test))
                curve.append((epoch, alpha, lr, correct, seconds, score))
                print("seed", seed, *curve[-1], file=sys.stderr, flush=True)
    return {
        "seed": seed,
        "autoencoder_seconds": ae_seconds,
        "classifier_seconds": seconds,
        "accuracy": curve[-1][-1],
        "curve": curve,
    }


def run_semisupervised(args):
    """1,000 labels (100 a digit, a seeded draw), the other 59,000 unlabelled.

    A masking-noise ``DenoisingAE`` 784-500-500 pretrained on all the images, a
    frozen-encoder ``MLPClassifier`` warmed up on the labelled ones (SGD 0.1,
    momentum 0.9, dropout 0.25, 100 epochs), then ``--epochs`` epochs on the
    labelled images (``--repeat`` copies) and the unlabelled ones labelled with
    the classifier's prediction at the start of the epoch, weighing ``alpha(t)``
    times the labelled ones, ``alpha(t)`` ramped from 0 to ``--alpha`` over
    ``--ramp`` epochs, the rate on a cosine from ``--lr`` to ``--lr-end``.
    ``--validate`` scores the unlabelled training images instead of the test set.
    """
    data = _mnist.load(10_000 if args.quick else None)
    recipe = {key: getattr(args, key) for key in RECIPE}
    seeds = args.seeds[:1] if args.quick else args.seeds
    if args.quick:
        recipe.update(epochs=4, ramp=2)
    load_before = os.getloadavg()
    runs = [semi_seed(data, seed, recipe, args) for seed in seeds]
    settings = {"quick": args.quick, "n_train": len(data[0]), "labels_per_class": 100}
    settings.update(
        hidden=HIDDEN,
        warm_up_epochs=20 if args.quick else WARM_UP_EPOCHS,
        recipe=recipe,
        scored_on="unlabelled training images" if args.validate else "test images",
        seeds=list(seeds),
    )
    return _common.stamped(load_before, settings=settings, runs=runs)


def show_semisupervised(report):
    scored = report["settings"]["scored_on"]
    columns = ["seed", "epoch", "alpha", "rate", "pseudo-labels correct"]
    _common.table(
        [*columns, "classifier fit s", f"accuracy ({scored})"],
        [
            [run["seed"], epoch, f"{alpha:.2f}", f"{lr:.3g}"]
            + ["-" if correct is None else f"{correct:.4f}"]
            + [f"{seconds:.0f}", f"{score:.4f}"]
            for run in report["runs"]
            for epoch, alpha, lr, correct, seconds, score in run["curve"]
        ],
    )
    rows = []
    for run in report["runs"]:
        gap = SEMI_TARGET - run["accuracy"]
        ae = run["autoencoder_seconds"]
        rows.append(
            [run["seed"], f"{run['accuracy']:.4f}"]
            + ["met" if gap <= 0 else f"missed by {100 * gap:.2f} points"]
            + ["cached" if ae is None else f"{ae:.0f}"]
            + [f"{run['classifier_seconds']:.0f}"]
        )
    columns = ["seed", "accuracy", "target >= 95 %", "autoencoder fit s"]
    _common.table([*columns, "classifier fit s"], rows)


# --- pretraining: from scratch against a pretrained encoder, 1,000 labels -----------

SGD = {"solver": "sgd", "learning_rate_init": 0.1, "momentum": 0.9}
ADAM = {"solver": "adam", "learning_rate_init": 1e-3}
# name: (hidden layers, autoencoder parameters, fine-tuning solver)
PRETRAINING = {
    "300 adam": ((300,), {"max_iter": 10}, ADAM),
    "300 sgd": ((300,), {"max_iter": 30}, SGD),
    "500-500 sgd": ((500, 500), {"max_iter": 10, "pretrain_max_iter": 5}, SGD),
}


def classifier(hidden, solver, epochs, seed, encoder=None):
    """The MLP of every setting: exactly ``epochs`` epochs, no early stop."""
    return MLPClassifier(
        hidden,
        dropout=0.25,
        encoder=encoder,
        batch_size=100,
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=epochs,
        random_state=seed,
        **solver,
    )


def autoencoder(hidden, params, seed):
    """The masking-noise DAE whose hidden layers and code are the MLP's."""
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


def run_pretraining(args, n_labelled=1000):
    """1,000 labels, the MLP from scratch against one on a pretrained encoder.

    The training set keeps 1,000 labels (a seeded draw) and marks the other 59,000
    images unlabelled (-1). In each setting, one MLP (dropout 0.25, batches of
    100, exactly 100 epochs on the labelled images) is trained from scratch on the
    labelled images, and on an encoder pretrained on all the images (handed over
    as ``encoder=FrozenEstimator(ae)``, fitted once a seed and setting, its fit
    time reported apart). ``300 adam``: 784-300-10 ReLU, autoencoder 10 epochs,
    Adam 1e-3; ``300 sgd``: autoencoder 30 epochs, SGD 0.1 (momentum 0.9,
    Nesterov); ``500-500 sgd``: 784-500-500-10, greedy layer-wise pretraining (5
    epochs a layer) then 10 epochs of the stack, SGD 0.1.
    """
    settings, seeds, epochs = PRETRAINING, (0, 1, 2), 100
    if args.quick:
        settings = {"300 sgd": ((300,), {"max_iter": 2}, SGD)}
        seeds, epochs = (0,), 20
    X, y, X_test, y_test = _mnist.load(10_000 if args.quick else None)
    rows = []
    for seed in seeds:
        labelled = np.random.RandomState(seed).permutation(len(X))[:n_labelled]
        y_semi = np.full_like(y, -1)
        y_semi[labelled] = y[labelled]
        for name, (hidden, ae_params, solver) in settings.items():
            ae = autoencoder(hidden, ae_params, seed)
            scratch = classifier(hidden, solver, epochs, seed)
            pretrained = classifier(hidden, solver, epochs, seed, FrozenEstimator(ae))
            ae_s = _common.timed_fit(ae, X)
            scratch_s = _common.timed_fit(scratch, X[labelled], y[labelled])
            fine_tune_s = _common.timed_fit(pretrained, X, y_semi)
            rows.append(
                {
                    "setting": name,
                    "seed": seed,
                    "scratch_accuracy": scratch.score(X_test, y_test),
                    "scratch_s": scratch_s,
                    "pretrained_accuracy": pretrained.score(X_test, y_test),
                    "fine_tune_s": fine_tune_s,
                    "autoencoder_s": ae_s,
                    "autoencoder_loss": ae.loss_curve_[-1],
                }
            )
    settings = {"n_train": len(X), "n_labelled": n_labelled, "epochs": epochs}
    return _common.report(args, {**settings, "seeds": list(seeds)}, rows=rows)


def show_pretraining(report):
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
    parser, command = _common.commands(__doc__)

    def paper(name, run, show, **defaults):
        return command(name, run, show, needs="mnist", threads=2, **defaults)

    mlp = paper("mlp", run_mlp, show_mlp, epochs=None, batch_size=None, validation=0)
    mlp.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    mlp.add_argument("--hidden", type=int, nargs="+", help="override the recipe")
    mlp.add_argument("--dropout", type=float)
    mlp.add_argument("--lr", type=float)
    vae = paper("vae", run_vae, show_vae, epochs=160, every=5, seed=0)
    vae.add_argument("--lr", type=float, default=1e-3, help="the schedule's peak")
    deep = paper("deep_ae", run_deep_ae, show_deep_ae, every=2, seed=0, validation=0)
    deep.add_argument("--budget", type=float, default=1800.0, help="seconds")
    deep.add_argument("--lr", type=float, default=1e-3, help="the schedule's peak")
    deep.add_argument("--params", type=json.loads, default={}, help="JSON")
    ss = paper("semisupervised", run_semisupervised, show_semisupervised)
    ss.add_argument("--seeds", type=int, nargs="+", default=[0])
    for key, value in RECIPE.items():
        ss.add_argument(f"--{key.replace('_', '-')}", type=type(value), default=value)
    ss.add_argument("--validate", action="store_true", help="not the test images")
    ss.add_argument("--autoencoder", help="pickle of the pretrained autoencoder")
    command("pretraining", run_pretraining, show_pretraining, needs="mnist")
    sys.exit(_common.main(parser))
