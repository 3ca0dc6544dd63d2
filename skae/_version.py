"""skae's version, and the versions of the libraries it runs on: one source for both."""

import importlib

__version__ = "0.1.0"

# The modules of the distributions whose import name differs.
_MODULES = {"scikit-learn": "sklearn"}


def versions(*names):
    """Return ``{name: version}`` of skae or of the installed distributions ``names``.

    Versions are plain strings (``torch.__version__`` is a ``TorchVersion``, which
    would pickle as a torch type).
    """
    return {
        name: __version__
        if name == "skae"
        else str(importlib.import_module(_MODULES.get(name, name)).__version__)
        for name in names
    }
