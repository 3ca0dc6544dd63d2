"""Sphinx configuration of the skae documentation.

Build with ``python -m sphinx -W --keep-going -b html docs docs/_build/html``
(``make docs``). The gallery executes every ``examples/plot_*.py`` in its quick mode
(scikit-learn's digits); set ``SKAE_MNIST`` to an MNIST ``.npz`` to build
it with the full-size runs instead.
"""

import re
from pathlib import Path

import torch

import skae

HERE = Path(__file__).parent

project = "skae"
author = "the skae developers"
copyright = "2026, the skae developers"  # noqa: A001 (Sphinx's name)
release = skae.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

# STYLE.md asks for intersphinx (python, numpy, scikit-learn, torch, skorch).
# It is left out on purpose: intersphinx downloads each project's objects.inv at
# build time, CI has no network, and the failed fetch is a warning that -W turns
# into a failed build. References to those projects render as plain code instead
# of links; Sphinx does not warn about them unless nitpicky is on.
# extensions.append("sphinx.ext.intersphinx")

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "**.ipynb_checkpoints",
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/*.zip",
    "auto_examples/*.json",
    "auto_examples/*.md5",
    "auto_examples/*.pickle",
]

# -- API reference ---------------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": True}
autodoc_typehints = "none"
# numpydoc renders the Methods table of each class from the autosummary template;
# its own member list would duplicate it (and warn on inherited members).
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False


def _quote_trailing_underscores(app, what, name, obj, options, lines):
    """Quote ``name_`` in type descriptions such as ``(n_features_in_,)``.

    reST reads a bare word ending in an underscore as a link to a target of that
    name, which does not exist: an error. Inside a shape, before a comma or a
    closing parenthesis, such a word is always an attribute's name, so it is set
    as literal text instead.
    """
    lines[:] = [_TRAILING_UNDERSCORE.sub(r"``\1``", line) for line in lines]


_TRAILING_UNDERSCORE = re.compile(r"(?<![`\w])([A-Za-z]\w*_)(?=[,)])")


def _unlink_sklearn_refs(app, what, name, obj, options, lines):
    """Turn scikit-learn's own :ref: and :term: links into plain text.

    The estimators inherit methods from scikit-learn (``set_output``,
    ``get_metadata_routing``, ``set_*_request``, ``ClassifierMixin.score``)
    whose docstrings link to labels of scikit-learn's documentation. Without
    intersphinx (see above) those labels do not exist here and every one of them
    would be a warning, so their text is kept and the link dropped.
    """
    if not (getattr(obj, "__module__", None) or "").startswith("sklearn"):
        return
    text = "\n".join(lines)
    text = _SKLEARN_ROLE.sub(_link_text, text)
    lines[:] = text.split("\n")


_SKLEARN_ROLE = re.compile(
    r":(?:ref|term):`(?:(?P<title>[^`<]*?)\s*<(?P<target>[^`>]*)>|(?P<bare>[^`]*))`"
)


def _link_text(match):
    """Return the text a reader sees of a :ref: or :term: role."""
    if match["bare"] is not None:
        return match["bare"]
    return match["title"] or match["target"]


def setup(app):
    """Connect the docstring hooks."""
    app.connect("autodoc-process-docstring", _quote_trailing_underscores)
    app.connect("autodoc-process-docstring", _unlink_sklearn_refs)


# -- HTML ------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skae {release}"
html_theme_options = {
    "navbar_align": "left",
    "show_prev_next": False,
    "secondary_sidebar_items": ["page-toc"],
}
html_static_path = []
html_show_sourcelink = False

# -- Markdown pages (benchmarks and the other measured reports) ------------------
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3

# -- Gallery ---------------------------------------------------------------------
# The examples are tiny networks on tiny data: PyTorch's intra-op threads cost more
# in synchronisation than they save there, many times over on a loaded shared
# machine (measured: 20 epochs of the digits DAE took 32 s with 2 threads against
# 3.7 s with 1 while other jobs ran). The gallery runs in this process, so one
# thread here keeps the build within a few minutes.
torch.set_num_threads(1)

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("skae",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"skae": None},
    "remove_config_comments": True,
    "show_memory": False,
    "min_reported_time": 1,
    "matplotlib_animations": False,
}
