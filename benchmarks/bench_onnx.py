"""Latency through ONNX Runtime against skae's own predict / transform, on MNIST, CPU.

``MLPClassifier((300,))``, the seed's ``DenoisingAE`` and the design card's
``StandardScaler -> DenoisingAE -> LogisticRegression`` pipeline (one epoch on
2,000 images each), exported with ``skae.onnx.to_onnx`` and served by an ONNX
Runtime session with torch's thread count, at 1 and 100 rows (a repeat is the mean
of ``--number`` calls) and on the 10,000 test images, float32 in. The outputs are
checked against skae's first. The protocol and results: docs/benchmarks.md,
"Latency through ONNX Runtime".

    python benchmarks/bench_onnx.py            # repeats 7, 200 calls per latency
    python benchmarks/bench_onnx.py --quick    # repeats 2, 20 calls
"""

import sys

import _common
import _mnist
import numpy as np
import onnxruntime as ort
import torch
from sklearn.base import is_classifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import skae.onnx
from skae import DenoisingAE, MLPClassifier

SKAE = "skae"
ONNX = "ONNX Runtime"


def fit_models(X, y):
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


def contenders(models, X_test):
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


def run(args):
    X, y, X_test, _ = _mnist.load(2_000)
    cases = contenders(fit_models(X, y), X_test)
    results = []
    rng = np.random.RandomState(0)
    for (name, n_rows), (fns, latency, verdict) in cases.items():
        calls = args.number if latency else 1
        times = _common.alternate(fns, args.repeats, number=calls, seed=rng)
        for contender, row in _common.compare(times, SKAE).items():
            row = dict(case=name, rows=n_rows, contender=contender, **row)
            results.append({**row, "check": verdict})
    return {
        "machine": {**_common.machine(), "onnxruntime": ort.__version__},
        "settings": {
            "quick": args.quick,
            "repeats": args.repeats,
            "calls_per_latency_repeat": args.number,
            "ort_intra_op_threads": torch.get_num_threads(),
        },
        "results": results,
    }


def _shown(seconds):
    return f"{seconds * 1e6:.1f} us" if seconds < 0.01 else f"{seconds:.3f} s"


def show(report):
    _common.header(report)
    print(f"onnxruntime {report['machine']['onnxruntime']}")
    columns = ["case", "rows", "contender", "median", "ratio to skae"]
    rows = [
        [r["case"], f"{r['rows']:,}", r["contender"], _shown(r["median_s"])]
        + [f"{r['ratio']:.3f}", f"{r['paired_ratio']:.3f}", r["check"]]
        for r in report["results"]
    ]
    _common.table([*columns, "median paired ratio", "outputs"], rows)


if __name__ == "__main__":
    parser = _common.parser(__doc__, repeats=(2, 7), number=(20, 200))
    sys.exit(_common.main(parser, run, show, needs="mnist"))
