"""Every docstring example in the package runs and prints what it says.

Each module of fastgrad (subpackages included) is a case, so a new module's
examples are checked without being listed anywhere.
"""
import doctest
import importlib
import pkgutil

import pytest

import fastgrad
from _fgutil import fastgrad_only

pytestmark = fastgrad_only

# run as programs, not imported for their docstrings
SKIP = {"fastgrad.__main__"}
MODULES = sorted(
    ["fastgrad"] + [m.name for m in pkgutil.walk_packages(fastgrad.__path__, "fastgrad.") if m.name not in SKIP]
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert res.failed == 0, "%d of %d examples failed in %s" % (res.failed, res.attempted, name)
