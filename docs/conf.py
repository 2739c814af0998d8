"""Sphinx configuration: the API reference, from the docstrings (NumPy style).

Build: python -m sphinx -W -b html docs docs/_build/html
(tests/test_docs.py builds it with warnings as errors.)
"""
import os
import sys

# the checkout's fastgrad (built in place) unless another one is importable
sys.path.insert(0, os.path.abspath(".."))
import fastgrad  # noqa: E402

project = "fastgrad"
author = "The fastgrad developers"
copyright = "2026, The fastgrad developers"  # noqa: A001 - Sphinx's name
release = fastgrad.__version__
version = release

extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon"]
napoleon_google_docstring = False
napoleon_numpy_docstring = True
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
autodoc_member_order = "bysource"
# signatures as written; the type hints live in the .pyi stubs
autodoc_typehints = "none"
exclude_patterns = ["_build"]
html_theme = "alabaster"
nitpicky = False
