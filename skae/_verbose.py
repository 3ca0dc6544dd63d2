"""What a fit prints: the callbacks behind ``verbose``."""

from skorch.callbacks import ProgressBar


def logging_callbacks(estimator, net):
    """Return the skorch callbacks that report progress for ``estimator.verbose``.

    ``verbose=1`` prints skorch's table (its default ``PrintLog``, which prints when
    ``net.verbose`` is set); ``verbose=2`` adds a progress bar over the batches.
    """
    net.verbose = int(estimator.verbose >= 1)
    return [("progress_bar", ProgressBar())] if estimator.verbose >= 2 else []
