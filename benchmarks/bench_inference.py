"""Inference speed of skae against the bare torch module and PCA, on MNIST, CPU.

The seed's 784-200 softplus ``DenoisingAE`` and the 784-300-10 ``MLPClassifier``
(one short epoch each): ``transform`` and ``predict_proba`` of the training images
against ``PCA(200).transform`` and the bare module under ``torch.no_grad()``
(tensor in and out, and array in and out), skae also on float64 input; ``predict``
latency for 1 and 100 rows (a repeat is the mean of ``--number`` calls), with the
bare module at 64 rows for skae's padded batches. The table gives medians and the
ratio to the bare module, array in and out. The protocol and results:
docs/benchmarks.md, "Inference time".

``--busy N`` runs it all beside N CPU-bound processes; ``--batch-rows R [R ...]``
adds skae's ``transform`` and ``predict_proba`` with R rows per inference batch
(16,384 by default, 4,096 for float64 input) as contenders.

    python benchmarks/bench_inference.py            # 60,000 rows
    python benchmarks/bench_inference.py --quick    # 5,000 rows, fewer repeats
    python benchmarks/bench_inference.py --busy 1 --batch-rows 16384 32768
"""

import sys

import _common
import _mnist
import numpy as np
import torch
from sklearn.decomposition import PCA

import skae._base
from skae import DenoisingAE, MLPClassifier

BARE = "bare module, array in/out"


def fit_models(X, y):
    """A DenoisingAE, an MLPClassifier and a PCA fitted on ``X``."""
    n_fit = min(len(X), 2_000)
    with _common.quiet():
        dae = DenoisingAE(
            **_common.SEED_DAE,
            batch_size=128,
            max_iter=1,
            random_state=0,
        ).fit(X[:n_fit])
        mlp = MLPClassifier(**_common.MNIST_MLP, max_iter=1, random_state=0)
        mlp.fit(X[:n_fit], y[:n_fit])
    pca = PCA(n_components=200, random_state=0).fit(X[:n_fit])
    return dae, mlp, pca


def contenders(dae, mlp, pca, X, X_small):
    """``{case: {contender: zero-argument callable}}``."""
    encode, module = dae.net_.module_.encode, mlp.net_.module_
    X64 = X.astype(np.float64)
    Xt = torch.from_numpy(X)

    def no_grad(fn):
        def wrapped():
            with torch.no_grad():
                return fn()

        return wrapped

    cases = {
        "DenoisingAE.transform 784-200": {
            "skae, float32 in": lambda: dae.transform(X),
            "skae, float64 in": lambda: dae.transform(X64),
            "bare module, tensor in/out": no_grad(lambda: encode(Xt)),
            BARE: no_grad(lambda: encode(torch.from_numpy(X)).numpy()),
            "PCA(200).transform, float32": lambda: pca.transform(X),
        },
        "MLPClassifier.predict_proba 784-300-10": {
            "skae, float32 in": lambda: mlp.predict_proba(X),
            "skae, float64 in": lambda: mlp.predict_proba(X64),
            "bare module, tensor in/out": no_grad(
                lambda: torch.softmax(module(Xt), dim=1)
            ),
            BARE: no_grad(
                lambda: torch.softmax(module(torch.from_numpy(X)), dim=1).numpy()
            ),
        },
    }
    for n_rows in (1, 100):
        Xs = X_small[:n_rows]
        case = {
            "skae predict": lambda Xs=Xs: mlp.predict(Xs),
            BARE: no_grad(lambda Xs=Xs: module(torch.from_numpy(Xs)).argmax(1).numpy()),
        }
        if n_rows == 1:
            # What skae's zero padding of short batches makes the module compute.
            case["bare module, 64 rows"] = no_grad(
                lambda X64rows=X_small[:64]: (
                    module(torch.from_numpy(X64rows)).argmax(1).numpy()
                )
            )
        cases[f"MLPClassifier.predict, {n_rows} row{'s' * (n_rows > 1)}"] = case
    return cases


def in_batches_of(rows, fn):
    """``fn`` with skae's inference batches (float64 input's too) of ``rows`` rows."""

    def wrapped():
        default = skae._base._INFERENCE_BATCH, skae._base._CAST_BATCH
        skae._base._INFERENCE_BATCH = skae._base._CAST_BATCH = rows
        try:
            return fn()
        finally:
            skae._base._INFERENCE_BATCH, skae._base._CAST_BATCH = default

    return wrapped


def run(args):
    n_rows = 5_000 if args.quick else 60_000
    X, y, X_test, _ = _mnist.load(n_rows)
    cases = contenders(*fit_models(X, y), X, X_test[:100])
    for case in list(cases)[:2]:
        for dtype in ("float32", "float64"):
            skae_fn = cases[case][f"skae, {dtype} in"]
            for rows in args.batch_rows:
                cases[case][f"skae, {dtype} in, {rows}-row batches"] = in_batches_of(
                    rows, skae_fn
                )
    results = {}
    with _common.busy(args.busy):
        for case, fns in cases.items():
            calls = args.number if "predict," in case else 1
            results[case] = _common.compare(
                _common.alternate(fns, args.repeats, number=calls), BARE
            )
    settings = {
        "rows": n_rows,
        "calls_per_latency_repeat": args.number,
        "busy": args.busy,
        "batch_rows": args.batch_rows,
    }
    return _common.report(args, settings, results=results)


def show(report):
    _common.header(report)
    rows = []
    for case, contenders in report["results"].items():
        for name, row in contenders.items():
            s = row["median_s"]
            shown = f"{s * 1e6:.1f} us" if s < 0.01 else f"{s:.3f} s"
            rows.append(
                [case, name, shown, f"{row['ratio']:.2f}", f"{row['paired_ratio']:.2f}"]
            )
    columns = ["case", "contender", "median", "ratio to bare module (array in/out)"]
    _common.table([*columns, "median paired ratio"], rows)


if __name__ == "__main__":
    parser = _common.parser(__doc__, repeats=(2, 7), number=(20, 500), busy=0)
    parser.add_argument("--batch-rows", type=int, nargs="*", default=[])
    sys.exit(_common.main(parser, run, show, needs="mnist"))
