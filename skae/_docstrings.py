"""Docstring fragments shared by the estimators, inserted with ``str.format``."""

_PARAMS = {
    "solver": """\
solver : {"adam", "adagrad", "sgd"}, default="adam"
    The optimiser: :class:`torch.optim.Adam`, :class:`torch.optim.Adagrad` or
    :class:`torch.optim.SGD`.""",
    "alpha": """\
alpha : float, default=0.0001
    Strength of the L2 penalty on the weights (not the biases). As in
    scikit-learn's MLP, the penalty on a batch of size ``b`` is
    ``alpha / (2 * b) * ||W||^2``; it is applied as the optimiser's weight decay
    ``alpha / batch_size``.""",
    "batch_size": """\
batch_size : int or "auto", default="auto"
    Size of the mini-batches; "auto" is ``min(200, n_samples)``. Larger than
    ``n_samples``, it is clipped with a warning.""",
    "learning_rate_init": """\
learning_rate_init : float, default=0.001
    The optimiser's learning rate.""",
    "max_iter": """\
max_iter : int, default=200
    Maximum number of epochs (passes over the data). ``partial_fit`` runs one
    epoch whatever this is.""",
    "shuffle": """\
shuffle : bool, default=True
    Whether to shuffle the samples at every epoch.""",
    "random_state": """\
random_state : int, RandomState instance or None, default=None
    Seeds weight initialisation, shuffling, the validation split, dropout and
    noise. An int gives repeatable fits. The caller's global NumPy and torch
    random states are left as they were (with None, one number is drawn from
    NumPy's global generator, as in scikit-learn).""",
    "tol": """\
tol : float, default=1e-4
    Training stops when the loss (or, with ``early_stopping``, the validation
    score) has not improved by at least ``tol`` for ``n_iter_no_change``
    consecutive epochs.""",
    "verbose": """\
verbose : int, default=0
    0 is silent. 1 prints one line per epoch on standard output: scikit-learn's
    MLP line, with the validation score (under ``early_stopping``) and the
    epoch's time added, ``Iteration 3, loss = 0.12345678, validation score =
    0.91250000, time = 0.05s``. Plain text, with no header and no colour: a log
    file reads as a terminal does, and ``partial_fit`` calls continue the
    iteration numbers as one sequence. 2 also draws a progress bar over each
    epoch's batches on standard error when that is a terminal; in a pipe or a
    file, 2 prints what 1 does.""",
    "warm_start": """\
warm_start : bool, default=False
    Whether ``fit`` continues from the weights of the previous fit instead of
    starting again. The optimiser's state starts afresh at each ``fit``.""",
    "momentum": """\
momentum : float, default=0.9
    Momentum for ``solver="sgd"``.""",
    "nesterovs_momentum": """\
nesterovs_momentum : bool, default=True
    Whether ``solver="sgd"`` uses Nesterov's momentum (when ``momentum > 0``).""",
    "early_stopping": """\
early_stopping : bool, default=False
    Whether to hold out ``validation_fraction`` of the training data, stop when
    its score stops improving, and keep the weights of the best epoch. Ignored
    by ``partial_fit``.""",
    "validation_fraction": """\
validation_fraction : float, default=0.1
    Fraction of the training data held out for early stopping.""",
    "beta_1": """\
beta_1 : float, default=0.9
    Adam's decay rate of the first moment.""",
    "beta_2": """\
beta_2 : float, default=0.999
    Adam's decay rate of the second moment.""",
    "epsilon": """\
epsilon : float, default=1e-8
    Adam's numerical stabiliser.""",
    "n_iter_no_change": """\
n_iter_no_change : int, default=10
    Number of epochs without an improvement of ``tol`` before training stops.""",
    "device": """\
device : {"auto", "cpu", "cuda", "accelerate"}, default="cpu"
    Where to train and compute: "auto" takes CUDA when available. Inputs and
    outputs stay NumPy arrays in host memory. "accelerate" trains through
    Hugging Face Accelerate (``pip install 'skae[accelerate]'``) on the device
    and processes that ``accelerate launch`` configures: data-parallel over
    several GPUs or nodes, each process training on its share of every epoch's
    batches; see the user guide's "Scaling out" page.""",
}

# Only in the MLPs (and scikit-learn's): full-batch L-BFGS and its budget.
_MLP_PARAMS = {
    "solver": """\
solver : {"adam", "adagrad", "sgd", "lbfgs"}, default="adam"
    The optimiser: :class:`torch.optim.Adam`, :class:`torch.optim.Adagrad`,
    :class:`torch.optim.SGD`, or "lbfgs", scipy's full-batch L-BFGS-B on the
    network's torch gradients, as in scikit-learn (often the best choice for
    small datasets; it ignores ``batch_size``, ``shuffle``, ``early_stopping``
    and the learning rate, needs ``dropout=0`` and has no ``partial_fit``).""",
    "max_fun": """\
max_fun : int, default=15000
    With ``solver="lbfgs"``, the most evaluations of the loss; L-BFGS also stops
    after ``max_iter`` iterations or when the gradient's largest entry is below
    ``tol``.""",
    "dtype": """\
dtype : {"auto", "float32", "float64"}, default="auto"
    The precision the network computes in: its weights, activations, loss and
    gradients. "auto" is float64 for ``solver="lbfgs"`` with float64 ``X``, as
    scikit-learn's MLP computes in its input's dtype (L-BFGS then reaches
    scikit-learn's tolerances), and float32 otherwise: the stochastic solvers'
    mini-batch noise is far above float32's rounding, and a float64 fit takes
    1.2 to 1.75 times as long on a CPU (measured on digits and MNIST at one
    thread). "float32" and "float64" force either, for any solver. Outputs
    (``predict``, ``predict_proba``, ``coefs_``) are in ``X``'s dtype either
    way. Fixed when the network is built: ``partial_fit`` continues in the
    dtype of its first call.""",
}
_PARAMS.update(
    {
        "learning_rate": """\
learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
    The learning-rate schedule, scikit-learn's, for every solver (scikit-learn
    applies it to "sgd" only):

    - "constant": ``learning_rate_init`` throughout;
    - "invscaling": at each epoch, ``learning_rate_init / (t + 1) ** power_t``,
      where ``t`` is the number of training samples seen so far (``t_``);
    - "adaptive": ``learning_rate_init`` until the stopping rule fires (no
      improvement of ``tol`` for ``n_iter_no_change`` epochs); then, instead of
      stopping, the rate is divided by 5, and training stops when the rule
      fires with a rate of 1e-6 or less (so the last division may take it
      below 1e-6 once, as in scikit-learn).""",
        "power_t": """\
power_t : float, default=0.5
    The exponent of ``learning_rate="invscaling"``.""",
    }
)


def _fragment(names, entries=_PARAMS):
    """Join the numpydoc entries ``names``, indented for a class docstring."""
    texts = []
    for name in names:
        first, _, rest = entries[name].partition("\n")
        texts.append(
            first
            + "\n"
            + "\n".join("    " + line if line else line for line in rest.split("\n"))
        )
    return "\n\n    ".join(texts)


_AE_TRAINING = [
    "solver",
    "alpha",
    "batch_size",
    "learning_rate",
    "learning_rate_init",
    "power_t",
    "max_iter",
    "shuffle",
    "random_state",
    "tol",
    "verbose",
    "warm_start",
    "momentum",
    "nesterovs_momentum",
    "early_stopping",
    "validation_fraction",
    "beta_1",
    "beta_2",
    "epsilon",
    "n_iter_no_change",
    "device",
]
_MLP_TRAINING = [
    "solver",
    "alpha",
    "batch_size",
    "learning_rate",
    "learning_rate_init",
    "power_t",
    "max_iter",
    "shuffle",
    "random_state",
    "tol",
    "verbose",
    "warm_start",
    "momentum",
    "nesterovs_momentum",
    "early_stopping",
    "validation_fraction",
    "beta_1",
    "beta_2",
    "epsilon",
    "n_iter_no_change",
    "max_fun",
    "device",
    "dtype",
]
_TRAINING_PARAMS = _fragment(_AE_TRAINING)
_MLP_TRAINING_PARAMS = _fragment(_MLP_TRAINING, {**_PARAMS, **_MLP_PARAMS})

_TRAINING_ATTRIBUTES = """\
net_ : skorch.NeuralNet
        The skorch net that holds the module, the optimiser and the history.

    loss_curve_ : list of float
        The mean training loss of each epoch (over its batches, weighted by
        ``sample_weight`` if given, plus the L2 term of ``alpha`` at the epoch's
        end, as in scikit-learn), over all ``fit`` (with ``warm_start``) and
        ``partial_fit`` calls.

    loss_ : float
        The last training loss.

    n_iter_ : int
        Number of epochs run by the last ``fit`` or ``partial_fit`` call, as in
        scikit-learn (``len(loss_curve_)`` counts them all).

    t_ : int
        Number of training samples seen, over all calls.

    best_loss_ : float or None
        The lowest training loss reached; None with ``early_stopping``.

    validation_scores_ : list of float or None
        The score on the held-out data at each epoch with ``early_stopping``
        (higher is better), else None.

    best_validation_score_ : float or None
        The best of ``validation_scores_``, or None.

    validation_loss_curve_ : list of float or None
        The training loss on the held-out data at each epoch with
        ``early_stopping`` (the L2 term included, as in ``loss_curve_``), else
        None. It is computed as predictions are, in evaluation mode: without a
        ``DenoisingAE``'s corruption and consistency term, so it is not on the
        same footing as ``loss_curve_`` for that estimator.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of features seen during fit, when ``X`` has string column names."""

DOCS = {
    "training_params": _TRAINING_PARAMS,
    "mlp_training_params": _MLP_TRAINING_PARAMS,
    "training_attributes": _TRAINING_ATTRIBUTES,
}
