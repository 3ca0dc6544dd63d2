"""What a fit prints: the callbacks behind ``verbose``.

``verbose=1`` prints one line per epoch on standard output, scikit-learn's MLP line
with the validation score and the epoch's time added when there are any::

    Iteration 1, loss = 0.30000000
    Iteration 2, loss = 0.25000000, validation score = 0.91250000, time = 0.05s

Plain text, no header and no colour, so that a log file, a pipe and a streaming
loop of ``partial_fit`` calls read the same as a terminal. ``verbose=2`` adds a
progress bar over each epoch's batches (on standard error) only when standard error
is a terminal: a bar redrawn with carriage returns is noise in a file.

skorch's own table (its default ``print_log`` callback) is silenced by setting
``net.verbose = 0``; that also silences skorch's re-initialisation messages, which
are no business of a scikit-learn user.
"""

import sys

from skorch.callbacks import Callback, ProgressBar


def _is_main_process(net):
    """Whether ``net`` prints: all but the non-main processes of Accelerate do."""
    accelerator = getattr(net, "accelerator", None)
    return accelerator is None or getattr(accelerator, "is_main_process", True)


def log_message(net, message):
    """Print a line of training output (a stopping message) as the epoch lines are."""
    if _is_main_process(net):
        print(message, file=sys.stdout, flush=True)


def format_epoch(row):
    """Return the line ``verbose=1`` prints for one row of a skorch history."""
    parts = [f"Iteration {row['epoch']}, loss = {row['train_loss']:.8f}"]
    if row.get("valid_score") is not None:
        parts.append(f"validation score = {row['valid_score']:.8f}")
    if row.get("dur") is not None:
        parts.append(f"time = {row['dur']:.2f}s")
    return ", ".join(parts)


class EpochLog(Callback):
    """Print :func:`format_epoch` of each epoch's history row (skae's ``verbose``).

    It must run after the callbacks that record the row (skorch's timer and loss,
    skae's validation score) and after the progress bar has closed its line.
    """

    def on_epoch_end(self, net, **kwargs):
        log_message(net, format_epoch(net.history[-1]))


def _draws_bar(net):
    """Whether a progress bar (tqdm, on stderr) would land on a terminal."""
    stream = sys.stderr
    return (
        _is_main_process(net)
        and stream is not None
        and hasattr(stream, "isatty")
        and stream.isatty()
    )


def logging_callbacks(estimator, net):
    """Return the skorch callbacks that report progress for ``estimator.verbose``.

    Sets ``net.verbose = 0`` (skorch prints nothing of its own) and returns the
    progress bar (``verbose >= 2``, drawn on a terminal only) and the epoch line
    (``verbose >= 1``), in the order they must run at an epoch's end.
    """
    net.verbose = 0
    callbacks = []
    if estimator.verbose >= 2 and _draws_bar(net):
        callbacks.append(("progress_bar", ProgressBar()))
    if estimator.verbose >= 1:
        callbacks.append(("epoch_log", EpochLog()))
    return callbacks
