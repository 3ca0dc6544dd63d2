"""Docstring fragments shared by the estimators, inserted with ``str.format``."""

_TRAINING_PARAMS = """\
solver : {"adam", "adagrad", "sgd"}, default="adam"
        The optimiser: :class:`torch.optim.Adam`, :class:`torch.optim.Adagrad` or
        :class:`torch.optim.SGD`.

    alpha : float, default=0.0001
        Strength of the L2 penalty on the weights (not the biases). As in
        scikit-learn's MLP, the penalty on a batch of size ``b`` is
        ``alpha / (2 * b) * ||W||^2``; it is applied as the optimiser's weight decay
        ``alpha / batch_size``.

    batch_size : int or "auto", default="auto"
        Size of the mini-batches; "auto" is ``min(200, n_samples)``. Larger than
        ``n_samples``, it is clipped with a warning.

    learning_rate_init : float, default=0.001
        The optimiser's learning rate.

    max_iter : int, default=200
        Maximum number of epochs (passes over the data). ``partial_fit`` runs one
        epoch whatever this is.

    shuffle : bool, default=True
        Whether to shuffle the samples at every epoch.

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, the validation split, dropout and
        noise. An int gives repeatable fits. The caller's global NumPy and torch
        random states are left as they were (with None, one number is drawn from
        NumPy's global generator, as in scikit-learn).

    tol : float, default=1e-4
        Training stops when the loss (or, with ``early_stopping``, the validation
        score) has not improved by at least ``tol`` for ``n_iter_no_change``
        consecutive epochs.

    verbose : int, default=0
        0 is silent. 1 prints one line per epoch on standard output: scikit-learn's
        MLP line, with the validation score (under ``early_stopping``) and the
        epoch's time added, ``Iteration 3, loss = 0.12345678, validation score =
        0.91250000, time = 0.05s``. Plain text, with no header and no colour: a log
        file reads as a terminal does, and ``partial_fit`` calls continue the
        iteration numbers as one sequence. 2 also draws a progress bar over each
        epoch's batches on standard error when that is a terminal; in a pipe or a
        file, 2 prints what 1 does.

    warm_start : bool, default=False
        Whether ``fit`` continues from the weights of the previous fit instead of
        starting again. The optimiser's state starts afresh at each ``fit``.

    momentum : float, default=0.9
        Momentum for ``solver="sgd"``.

    nesterovs_momentum : bool, default=True
        Whether ``solver="sgd"`` uses Nesterov's momentum (when ``momentum > 0``).

    early_stopping : bool, default=False
        Whether to hold out ``validation_fraction`` of the training data, stop when
        its score stops improving, and keep the weights of the best epoch. Ignored
        by ``partial_fit``.

    validation_fraction : float, default=0.1
        Fraction of the training data held out for early stopping.

    beta_1 : float, default=0.9
        Adam's decay rate of the first moment.

    beta_2 : float, default=0.999
        Adam's decay rate of the second moment.

    epsilon : float, default=1e-8
        Adam's numerical stabiliser.

    n_iter_no_change : int, default=10
        Number of epochs without an improvement of ``tol`` before training stops.

    device : {"auto", "cpu", "cuda", "accelerate"}, default="cpu"
        Where to train and compute: "auto" takes CUDA when available. Inputs and
        outputs stay NumPy arrays in host memory. "accelerate" trains through
        Hugging Face Accelerate (``pip install 'skae[accelerate]'``) on the device
        and processes that ``accelerate launch`` configures: data-parallel over
        several GPUs or nodes, each process training on its share of every epoch's
        batches; see the user guide's "Scaling out" page."""

_TRAINING_ATTRIBUTES = """\
net_ : skorch.NeuralNet
        The skorch net that holds the module, the optimiser and the history.

    loss_curve_ : list of float
        The mean training loss of each epoch (over its batches).

    n_iter_ : int
        Number of epochs run, over all ``fit`` (with ``warm_start``) and
        ``partial_fit`` calls.

    best_loss_ : float or None
        The lowest training loss reached; None with ``early_stopping``.

    validation_scores_ : list of float or None
        The score on the held-out data at each epoch with ``early_stopping``
        (higher is better), else None.

    best_validation_score_ : float or None
        The best of ``validation_scores_``, or None.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of features seen during fit, when ``X`` has string column names."""

DOCS = {
    "training_params": _TRAINING_PARAMS,
    "training_attributes": _TRAINING_ATTRIBUTES,
}
