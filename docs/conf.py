"""Sphinx configuration of the workbench's documentation (``sphinx-build -W docs docs/_build/html``)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

import numerics  # noqa: E402  (the installed package: pip install -e ".[docs]")

# the notebooks are executed during the build at their small size; their kernels draw figures inline into the
# page (not with the Agg backend that CI and the tests set, which would leave the pages without figures)
os.environ["ANISO_SMALL"] = "1"
os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"

project = "anisotropy workbench"
author = "anisotropy workbench developers"
copyright = "2026, " + author
version = release = numerics.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",      # numpydoc-style docstrings
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "myst_nb",                  # Markdown pages and the jupytext notebooks
    "aniso_docs",               # the generated pages: derivations, errata, API, notebook copies (_ext/aniso_docs.py)
]

source_suffix = {".md": "myst-nb", ".py": "myst-nb", ".ipynb": "myst-nb"}
nb_custom_formats = {".py": ["jupytext.reads", {"fmt": "py:percent"}]}
exclude_patterns = ["_build", "_ext", "conf.py", "**/__pycache__", "**/.ipynb_checkpoints"]

# the notebooks: a jupytext source (no outputs) is executed during the build, an error fails it; a notebook the test
# suite executed from this very source is rendered as it is (aniso_docs.notebook_copies)
nb_execution_mode = os.environ.get("ANISO_DOCS_EXECUTE", "force")  # "off": a fast build without outputs
nb_execution_excludepatterns = ["generated/notebooks/*.ipynb"]
nb_execution_timeout = 900
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
default_role = "literal"  # `x` in a docstring is code, not a cross-reference

autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_typehints = "description"
autodoc_member_order = "bysource"
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_rtype = False

html_theme = "pydata_sphinx_theme"
html_title = f"anisotropy workbench {release}"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
