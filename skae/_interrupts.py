"""Ctrl-C during a fit: a flag read between batches instead of an exception anywhere.

The outermost fit of the main thread owns SIGINT while it trains: a first Ctrl-C
only sets a flag, which :class:`skae._listeners.InterruptCheck` turns into
:class:`_Interrupted` between two batches; the loop then rolls back to the last
complete epoch (:class:`skae._listeners.RollbackCheckpoint`) and ``fit`` warns
with :class:`FitInterruptedWarning`. A second Ctrl-C raises at once.
"""

import signal
import threading
from contextlib import contextmanager


class _Interrupted(Exception):
    """Ctrl-C was pressed during training; raised between two batches."""


class FitInterruptedWarning(UserWarning):
    """Warning that ``fit`` stopped at Ctrl-C and kept its last complete epoch.

    Pressing Ctrl-C while a skae estimator trains ends training after the current
    batch. The estimator keeps the weights, optimiser state and history of the last
    complete epoch (as if ``max_iter`` had been that number of epochs), ``fit``
    returns normally and this warning says so. A second Ctrl-C raises
    ``KeyboardInterrupt`` at once; the estimator is then put back as it was before
    ``fit``. Without a complete epoch in a first fit there is nothing to keep: the
    estimator stays unfitted and ``KeyboardInterrupt`` propagates.

    Examples
    --------
    >>> import warnings
    >>> from skae import FitInterruptedWarning
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", FitInterruptedWarning)  # Ctrl-C: an error
    """


# The flag a Ctrl-C sets while a skae fit owns SIGINT (main thread only).
_interrupt = None


def _interrupt_requested():
    return (
        _interrupt is not None
        and _interrupt.is_set()
        and threading.current_thread() is threading.main_thread()
    )


@contextmanager
def _deferred_interrupts():
    """Turn Ctrl-C into a flag that training reads between batches.

    Yields True when this call installed the handler: the outermost fit of the main
    thread, where Python's default SIGINT handler is in place (a handler the user
    installed, or an ignored SIGINT, is left alone). A second Ctrl-C raises
    KeyboardInterrupt at once.
    """
    global _interrupt
    if (
        _interrupt is not None
        or threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield False
        return
    flag = threading.Event()

    def handler(signum, frame):
        if flag.is_set():
            raise KeyboardInterrupt
        flag.set()

    signal.signal(signal.SIGINT, handler)
    _interrupt = flag
    try:
        yield True
    finally:
        _interrupt = None
        signal.signal(signal.SIGINT, signal.default_int_handler)
