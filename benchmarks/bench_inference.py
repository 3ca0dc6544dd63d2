"""Inference time on MNIST, CPU: skae against the bare torch module, and ONNX Runtime.

- ``torch``: the seed's 784-200 softplus ``DenoisingAE`` and the 784-300-10
  ``MLPClassifier`` (one short epoch each): ``transform`` and ``predict_proba`` of
  the training images against ``PCA(200).transform`` and the bare module under
  ``torch.no_grad()`` (tensor in and out, and array in and out), skae also on
  float64 input; ``predict`` latency for 1 and 100 rows (a repeat is the mean of
  ``--number`` calls), with the bare module at 64 rows for skae's padded batches.
  The table gives medians and the ratio to the bare module, array in and out.
  ``--busy N`` runs it all beside N CPU-bound processes; ``--batch-rows R [R
  ...]`` adds skae's ``transform`` and ``predict_proba`` with R rows per inference
  batch (16,384 by default, 4,096 for float64 input) as contenders.
- ``onnx``: ``MLPClassifier((300,))``, the seed's ``DenoisingAE`` and the design
  card's ``StandardScaler -> DenoisingAE -> LogisticRegression`` pipeline (one
  epoch on 2,000 images each), exported with ``skae.onnx.to_onnx`` and served by
  an ONNX Runtime session with torch's thread count, at 1 and 100 rows and on the
  10,000 test images, float32 in, against skae's own predict / transform. The
  outputs are checked against skae's first.

The protocols and results: docs/benchmarks.md, "Inference time" and "Latency
through ONNX Runtime".

    python benchmarks/bench_inference.py torch            # 60,000 rows
    python benchmarks/bench_inference.py torch --quick    # 5,000 rows, fewer repeats
    python benchmarks/bench_inference.py torch --busy 1 --batch-rows 16384 32768
    python benchmarks/bench_inference.py onnx             # repeats 7, 200 calls
"""

import sys

import _common
import _mnist
import numpy as np
import torch
from sklearn.base import is_classifier
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import skae._base
import skae.onnx
from skae import DenoisingAE, MLPClassifier

BARE = "bare module, array in/out"


def duration(seconds):
    return f"{seconds * 1e6:.1f} us" if seconds < 0.01 else f"{seconds:.3f} s"


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


def torch_contenders(dae, mlp, pca, X, X_small):
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


def run_torch(args):
    """Inference time against the bare torch module and PCA."""
    n_rows = 5_000 if args.quick else 60_000
    X, y, X_test, _ = _mnist.load(n_rows)
    cases = torch_contenders(*fit_models(X, y), X, X_test[:100])
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


def show_torch(report):
    rows = []
    for case, contenders in report["results"].items():
        for name, row in contenders.items():
            rows.append(
                [case, name, duration(row["median_s"]), f"{row['ratio']:.2f}"]
                + [f"{row['paired_ratio']:.2f}"]
            )
    columns = ["case", "contender", "median", "ratio to bare module (array in/out)"]
    _common.table([*columns, "median paired ratio"], rows)


# ---- onnx: ONNX Runtime against skae -----------------------------------------------

SKAE = "skae"
ONNX = "ONNX Runtime"


def onnx_models(X, y):
    """``{name: (fitted model, skae's method, ONNX output name)}``."""
    X, y = X[:2_000], y[:2_000]
    with _common.quiet():
        mlp = MLPClassifier((300,), dropout=0.25, max_iter=1, random_state=0)
        dae = DenoisingAE(
            **_common.SEED_DAE,
            max_iter=1,
            random_state=0,
        )
        pipe = Pipeline(
            [
                ("scale", StandardScaler()),
                (
                    "dae",
                    DenoisingAE(
                        **_common.RELU_DAE,
                        noise="gaussian",
                        noise_level=0.3,
                        max_iter=1,
                        random_state=0,
                    ),
                ),
                ("logreg", LogisticRegression(max_iter=200)),
            ]
        )
        mlp.fit(X, y)
        dae.fit(X)
        pipe.fit(X, y)
    return {
        "MLPClassifier.predict 784-300-10": (mlp, mlp.predict, "label"),
        "DenoisingAE.transform 784-200": (dae, dae.transform, None),
        "Pipeline.predict (scaler, DAE 784-200, logistic)": (
            pipe,
            pipe.predict,
            "label",
        ),
    }


def session_for(model, X):
    import onnxruntime as ort

    options = {"zipmap": False} if is_classifier(model) else None
    onx = skae.onnx.to_onnx(model, X[:1], options=options)
    session_options = ort.SessionOptions()
    session_options.intra_op_num_threads = torch.get_num_threads()
    return ort.InferenceSession(
        onx.SerializeToString(), session_options, providers=["CPUExecutionProvider"]
    )


def check(session, method, output, X):
    """The session answers as skae does: labels equal, floats within 1e-5."""
    expected = method(X)
    [got] = session.run([output] if output else None, {"X": X})[:1]
    if expected.dtype.kind == "f":
        diff = float(np.abs(got - expected).max())
        assert diff <= 1e-5, diff
        return f"max |diff| {diff:.1e}"
    agree = float(np.mean(got == expected))
    assert agree == 1.0, agree
    return "labels equal"


def onnx_contenders(models, X_test):
    """``{case: ({contender: zero-argument callable}, calls per repeat, check)}``."""
    cases = {}
    for name, (model, method, output) in models.items():
        session = session_for(model, X_test)
        outputs = [output] if output else None
        verdict = check(session, method, output, X_test)
        for n_rows in (1, 100, len(X_test)):
            Xs = X_test[:n_rows]
            fns = {
                SKAE: lambda method=method, Xs=Xs: method(Xs),
                ONNX: lambda s=session, o=outputs, Xs=Xs: s.run(o, {"X": Xs}),
            }
            cases[(name, n_rows)] = (fns, n_rows <= 100, verdict)
    return cases


def run_onnx(args):
    """Latency through ONNX Runtime against skae's own predict / transform."""
    import onnxruntime as ort

    X, y, X_test, _ = _mnist.load(2_000)
    cases = onnx_contenders(onnx_models(X, y), X_test)
    results = []
    rng = np.random.RandomState(0)
    for (name, n_rows), (fns, latency, verdict) in cases.items():
        calls = args.number if latency else 1
        times = _common.alternate(fns, args.repeats, number=calls, seed=rng)
        for contender, row in _common.compare(times, SKAE).items():
            row = dict(case=name, rows=n_rows, contender=contender, **row)
            results.append({**row, "check": verdict})
    threads = torch.get_num_threads()
    settings = {
        "calls_per_latency_repeat": args.number,
        "ort_intra_op_threads": threads,
    }
    report = _common.report(args, settings, results=results)
    report["machine"]["onnxruntime"] = ort.__version__
    return report


def show_onnx(report):
    print(f"onnxruntime {report['machine']['onnxruntime']}")
    columns = ["case", "rows", "contender", "median", "ratio to skae"]
    rows = [
        [r["case"], f"{r['rows']:,}", r["contender"], duration(r["median_s"])]
        + [f"{r['ratio']:.3f}", f"{r['paired_ratio']:.3f}", r["check"]]
        for r in report["results"]
    ]
    _common.table([*columns, "median paired ratio", "outputs"], rows)


if __name__ == "__main__":
    parser, command = _common.commands(__doc__)
    opts = dict(needs="mnist", repeats=(2, 7))
    torch_ = command("torch", run_torch, show_torch, **opts, number=(20, 500), busy=0)
    torch_.add_argument("--batch-rows", type=int, nargs="*", default=[])
    command("onnx", run_onnx, show_onnx, **opts, number=(20, 200))
    sys.exit(_common.main(parser))
