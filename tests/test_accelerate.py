"""device="accelerate": training through skorch's AccelerateMixin.

In one process (the CPU here) Accelerate changes nothing but the batch loader; the
slow test starts two real processes (torch.distributed's launcher, gloo on the CPU)
and checks that they trained one model on halves of the data, in step.
"""

import json
import os
import pickle
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from skae import DenoisingAE, MLPClassifier

pytest.importorskip("accelerate")

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def digits01():
    X, y = load_digits(return_X_y=True)
    return X[:600] / 16.0, y[:600]


def test_accelerate_autoencoder_trains_transforms_and_pickles(digits01):
    X, _ = digits01
    ae = DenoisingAE(
        16,
        hidden_layer_sizes=(),
        # The reconstruction error alone, so that the loss curve must fall; the
        # consistency term (the default) runs in the test below.
        consistency=0,
        max_iter=6,
        batch_size=64,
        random_state=0,
        device="accelerate",
    ).fit(X)
    assert type(ae.net_).__name__ == "_AcceleratedNeuralNet"
    assert ae.net_.device.startswith("cuda" if torch.cuda.is_available() else "cpu")
    assert ae.n_iter_ == 6
    assert ae.loss_curve_[-1] < 0.7 * ae.loss_curve_[0]
    Z = ae.transform(X)
    assert Z.shape == (len(X), 16) and Z.dtype == np.float64
    # Between fits the net holds plain modules and no Accelerator: it pickles.
    assert type(ae.net_.module_).__name__ == "AutoencoderModule"
    restored = pickle.loads(pickle.dumps(ae))
    np.testing.assert_array_equal(restored.transform(X), Z)
    # ... and trains on, with an Accelerator made afresh from the environment.
    restored.partial_fit(X)
    assert restored.n_iter_ == 1 and len(restored.loss_curve_) == 7
    assert restored.loss_curve_[:6] == ae.loss_curve_


def test_accelerate_matches_reconstruction_of_plain_fit(digits01):
    """Same model, other batch order: the two fits end at comparable losses."""
    X, _ = digits01
    params = dict(max_iter=8, batch_size=64, random_state=0)
    plain = DenoisingAE(16, hidden_layer_sizes=(), **params).fit(X)
    accel = DenoisingAE(16, hidden_layer_sizes=(), device="accelerate", **params).fit(X)
    assert accel.score(X) == pytest.approx(plain.score(X), rel=0.25)


def test_accelerate_classifier(digits01):
    X, y = digits01
    clf = MLPClassifier(
        (32,), learning_rate_init=0.01, max_iter=10, random_state=0, device="accelerate"
    ).fit(X, y)
    assert type(clf.net_).__name__ == "_AcceleratedNeuralNet"
    assert clf.score(X, y) > 0.85
    clf.partial_fit(X, y)
    assert clf.n_iter_ == 1 and len(clf.loss_curve_) == 11
    proba = pickle.loads(pickle.dumps(clf)).predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)


def test_accelerate_early_stopping_keeps_the_best_weights(digits01):
    X, _ = digits01
    ae = DenoisingAE(
        16,
        hidden_layer_sizes=(),
        max_iter=8,
        early_stopping=True,
        batch_size=64,
        random_state=0,
        device="accelerate",
    ).fit(X)
    assert len(ae.validation_scores_) == ae.n_iter_
    assert ae.best_validation_score_ == max(ae.validation_scores_)


def test_accelerate_missing_names_the_extra(digits01, monkeypatch):
    X, _ = digits01
    monkeypatch.setitem(sys.modules, "accelerate", None)  # as if not installed
    with pytest.raises(ImportError, match=r"skae\[accelerate\]"):
        DenoisingAE(4, hidden_layer_sizes=(), max_iter=1, device="accelerate").fit(X)


_SCRIPT = """
import json, os, sys, warnings
warnings.simplefilter("ignore")
import numpy as np, torch
from sklearn.datasets import load_digits
from skae import DenoisingAE

X, _ = load_digits(return_X_y=True)
X = X / 16.0
ae = DenoisingAE(
    16, hidden_layer_sizes=(), max_iter=40, tol=0.02, n_iter_no_change=2, batch_size=64,
    early_stopping={early_stopping}, random_state=0, device="accelerate",
).fit(X)
rank = int(os.environ["RANK"])
weights = torch.cat([p.detach().flatten() for p in ae.net_.module_.parameters()])
json.dump(
    dict(
        world=int(os.environ["WORLD_SIZE"]),
        loss=ae.loss_curve_,
        n_iter=ae.n_iter_,
        batches=[row["train_batch_count"] for row in ae.net_.history],
        weights=weights.tolist(),
        code=ae.transform(X[:20]).tolist(),
    ),
    open(os.path.join(sys.argv[1], f"rank{{rank}}.json"), "w"),
)
"""


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.parametrize("early_stopping", [False, True], ids=["tol", "early_stopping"])
def test_accelerate_two_cpu_processes_train_in_step(tmp_path, early_stopping):
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(_SCRIPT.format(early_stopping=early_stopping)))
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        f"--master_port={_free_port()}",
        str(script),
        str(tmp_path),
    ]
    env = {
        **os.environ,
        "ACCELERATE_USE_CPU": "1",
        "OMP_NUM_THREADS": "1",
    }
    # A process that stops at another epoch than its peer would hang: the timeout
    # turns that into a failure.
    subprocess.run(cmd, env=env, check=True, timeout=300, capture_output=True)
    r0, r1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert r0["world"] == r1["world"] == 2
    # One model: the same gathered losses, the same stopping epoch, the same weights.
    assert r0["loss"] == r1["loss"]
    assert r0["n_iter"] == r1["n_iter"] < 40  # stopped by the rule, together
    np.testing.assert_array_equal(r0["weights"], r1["weights"])
    np.testing.assert_array_equal(r0["code"], r1["code"])
    # Data parallel: each process ran half of an epoch's batches.
    n_train = 1797 - (int(np.ceil(0.1 * 1797)) if early_stopping else 0)
    half = int(np.ceil(np.ceil(n_train / 64) / 2))
    assert set(r0["batches"]) == set(r1["batches"]) == {half}
    # It learned. (The loss includes the default consistency term, which falls
    # less than the reconstruction error: by a quarter in the 5 epochs that
    # early stopping runs here.)
    assert r0["loss"][-1] < 0.9 * r0["loss"][0]


@pytest.mark.gpu
def test_accelerate_cuda(digits01):
    X, _ = digits01
    ae = DenoisingAE(
        16,
        hidden_layer_sizes=(),
        max_iter=5,
        batch_size=64,
        random_state=0,
        device="accelerate",
    ).fit(X)
    assert ae.net_.device.startswith("cuda")
    assert next(ae.net_.module_.parameters()).is_cuda
    assert ae.loss_curve_[-1] < ae.loss_curve_[0]
    assert ae.transform(X).shape == (len(X), 16)
