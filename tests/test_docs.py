"""The API reference in docs/ builds with Sphinx, warnings as errors, and
covers every public name (skipped where Sphinx is not installed:
``pip install ".[docs]"``)."""
import importlib
import os
import posixpath
import subprocess
import sys
from pathlib import Path

import pytest

from _fgutil import fastgrad_only

pytestmark = fastgrad_only
ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def inventory(tmp_path_factory):
    pytest.importorskip("sphinx")
    if not (DOCS / "conf.py").exists():
        pytest.skip("no docs/ here")
    from sphinx.util.inventory import InventoryFile

    out = tmp_path_factory.mktemp("html")
    env = dict(os.environ)
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W", "--keep-going",
                           "-d", str(out / ".doctrees"), str(DOCS), str(out)],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr.strip() == "", proc.stderr
    with open(out / "objects.inv", "rb") as f:
        inv = InventoryFile.load(f, "", posixpath.join)
    return {name for entries in inv.values() for name in entries}


def _public(module_name):
    mod = importlib.import_module(module_name)
    return [n for n in (getattr(mod, "__all__", None) or dir(mod)) if not n.startswith("_")]


def test_every_top_level_name_is_documented(inventory):
    import fastgrad
    missing = [n for n in dir(fastgrad) if not n.startswith("_") and "fastgrad." + n not in inventory]
    assert missing == []


@pytest.mark.parametrize("module", ["fastgrad.nn", "fastgrad.linalg", "fastgrad.random", "fastgrad.nest",
                                    "fastgrad.errors", "fastgrad.datasets", "fastgrad.test",
                                    "fastgrad.keras.layers", "fastgrad.keras.optimizers",
                                    "fastgrad.keras.losses", "fastgrad.keras.metrics",
                                    "fastgrad.keras.models", "fastgrad.keras.callbacks",
                                    "fastgrad.keras.activations", "fastgrad.keras.initializers"])
def test_every_name_of_the_submodules_is_documented(inventory, module):
    missing = [n for n in _public(module) if "%s.%s" % (module, n) not in inventory]
    assert missing == []


PUBLIC_MODULES = ["fastgrad", "fastgrad.nn", "fastgrad.random", "fastgrad.nest", "fastgrad.linalg",
                  "fastgrad.experimental.dlpack", "fastgrad.datasets", "fastgrad.test",
                  "fastgrad.autodiff", "fastgrad.config", "fastgrad.keras.layers",
                  "fastgrad.keras.optimizers", "fastgrad.keras.losses", "fastgrad.keras.metrics",
                  "fastgrad.keras.models", "fastgrad.keras.callbacks", "fastgrad.keras.activations",
                  "fastgrad.keras.initializers", "fastgrad.keras.backend"]


@pytest.mark.parametrize("module", PUBLIC_MODULES)
def test_every_public_callable_has_a_docstring(module):
    # needs no Sphinx: help() and completion show these
    import inspect
    mod = importlib.import_module(module)
    names = dir(mod) if module == "fastgrad" else _public(module)
    missing = [n for n in names if not n.startswith("_") and callable(getattr(mod, n))
               and not (inspect.getdoc(getattr(mod, n)) or "").strip()]
    assert missing == []
