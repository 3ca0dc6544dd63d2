"""
==========================================
Serving a pipeline with ONNX Runtime
==========================================

A model is useful once it leaves the notebook. Where Python is unwelcome, in a
service written in another language, a browser or a phone, ONNX Runtime serves
models saved as ONNX. ``import skae.onnx`` teaches skl2onnx to convert skae's
estimators, so the whole fitted pipeline, scikit-learn's steps and skae's alike,
becomes one ONNX file: here the design card's ``StandardScaler -> DenoisingAE ->
LogisticRegression``. The example exports it, serves it with ONNX Runtime alone,
checks that it answers as the pipeline does, and reads back the provenance the
file carries.
"""

# %%
# Data and the fitted pipeline
# ----------------------------
import json
import os
import tempfile
import time
import warnings

import numpy as np
import onnxruntime as ort
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import skae.onnx
from skae import DenoisingAE
from skae.datasets import load_mnist

MNIST = os.environ.get("SKAE_MNIST")
if MNIST:
    X_train, y_train = load_mnist(path=MNIST, subset="train", return_X_y=True)
    X_test, y_test = load_mnist(path=MNIST, subset="test", return_X_y=True)
    n_components, hidden, max_iter, batch_size = 30, (256,), 10, 128
else:
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y
    )
    n_components, hidden, max_iter, batch_size = 8, (128,), 30, 64
# ONNX models take a fixed input type; float32 is what skae computes in.
X_train, X_test = X_train.astype(np.float32), X_test.astype(np.float32)

# The autoencoder trains for a fixed number of epochs: the warning is expected.
warnings.filterwarnings("ignore", category=ConvergenceWarning)
pipe = Pipeline(
    [
        ("scale", StandardScaler()),
        (
            "dae",
            DenoisingAE(
                n_components,
                hidden_layer_sizes=hidden,
                noise_level=0.3,
                batch_size=batch_size,
                max_iter=max_iter,
                random_state=0,
            ),
        ),
        ("classify", LogisticRegression(max_iter=3000)),
    ]
).fit(X_train, y_train)
print(f"pipeline test accuracy: {pipe.score(X_test, y_test):.4f}")

# %%
# Export
# ------
# ``skae.onnx.to_onnx`` is :func:`skl2onnx.to_onnx` (which would convert the
# pipeline as well, once ``skae.onnx`` is imported) plus the provenance in the
# model's metadata. One row of ``X`` gives the input's type and width; the batch
# dimension stays dynamic. ``zipmap=False`` gives the probabilities as one
# matrix instead of a list of dictionaries.
onx = skae.onnx.to_onnx(pipe, X_train[:1], options={"zipmap": False})
path = os.path.join(tempfile.mkdtemp(), "pipeline.onnx")
with open(path, "wb") as f:
    f.write(onx.SerializeToString())
print(f"{os.path.basename(path)}: {os.path.getsize(path) / 1024:.0f} KiB")

# %%
# Serve it with ONNX Runtime
# --------------------------
# From here on nothing of scikit-learn, torch or skae is needed: the session
# reads the file.
session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
print("inputs: ", [(i.name, i.type, i.shape) for i in session.get_inputs()])
print("outputs:", [(o.name, o.type, o.shape) for o in session.get_outputs()])
label, proba = session.run(None, {"X": X_test})

# %%
# Does it answer as the pipeline does? The labels should agree everywhere and
# the probabilities to float32's rounding.
print(f"labels agree:        {np.mean(label == pipe.predict(X_test)):.4f}")
diff = np.abs(proba - pipe.predict_proba(X_test)).max()
print(f"max |proba - proba|: {diff:.2e}")
print(f"ONNX test accuracy:  {np.mean(label == y_test):.4f}")

# %%
# One row at a time, the way a service is called: the median over 200 calls.


def median_ms(fn, n=200):
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


row = X_test[:1]
print(f"{'one row':<28} {'median ms':>9}")
print(f"{'pipe.predict (Python)':<28} {median_ms(lambda: pipe.predict(row)):>9.3f}")
print(
    f"{'ONNX Runtime session.run':<28} "
    f"{median_ms(lambda: session.run(None, {'X': row})):>9.3f}"
)

# %%
# Provenance
# ----------
# The file says what made it: the versions of skae, torch and scikit-learn, and
# the parameters of every skae estimator in the pipeline.
meta = session.get_modelmeta().custom_metadata_map
print(json.dumps(json.loads(meta["skae.versions"]), indent=1))
for entry in json.loads(meta["skae.estimators"]):
    params = entry["params"]
    print(
        f"{entry['path']}: {entry['class']}(n_components={params['n_components']}, "
        f"hidden_layer_sizes={params['hidden_layer_sizes']}, "
        f"noise_level={params['noise_level']}, "
        f"max_iter={params['max_iter']}, ...)"
    )
