"""The type stubs and annotations match the package at run time:
``mypy.stubtest fastgrad`` (the compiled core's ``_core.pyi`` against the
extension module, and mypy's reading of every .py module against the
objects it finds), as NumPy checks its own stubs. Skipped where mypy is not
installed (it is in the ``test`` extra); the allowlist beside this file holds
only what Cython adds to every compiled module."""
import inspect
import os
import site
import subprocess
import sys
from pathlib import Path

import pytest

import fastgrad
from _fgutil import fastgrad_only

pytestmark = fastgrad_only
HERE = Path(__file__).resolve().parent


def test_stubtest_passes(tmp_path):
    pytest.importorskip("mypy")
    env = dict(os.environ)
    # mypy reads the sources of the fastgrad these tests import, not whatever
    # the working directory holds: an installed wheel from site-packages
    # (mypy's own search; it refuses site-packages on MYPYPATH), the
    # checkout's in-place build through MYPYPATH
    where = Path(fastgrad.__file__).resolve().parents[1]
    installed = {Path(p).resolve() for p in site.getsitepackages() + [site.getusersitepackages()]}
    if where not in installed:
        env["MYPYPATH"] = str(where)
    env["MYPY_CACHE_DIR"] = str(tmp_path / "cache")
    proc = subprocess.run([sys.executable, "-m", "mypy.stubtest", "fastgrad",
                           "--allowlist", str(HERE / "stubtest-allowlist.txt")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert "Success: no issues found" in proc.stdout


def test_signatures_of_the_classes_users_construct():
    tape = inspect.signature(fastgrad.GradientTape)
    assert str(tape) == "(persistent=False, watch_accessed_variables=True)"
    var = inspect.signature(fastgrad.Variable)
    assert list(var.parameters)[:4] == ["initial_value", "trainable", "name", "dtype"]
    assert var.parameters["trainable"].default is True


def test_package_is_marked_typed():
    assert (Path(fastgrad.__file__).parent / "py.typed").exists()
    assert (Path(fastgrad.__file__).parent / "_core.pyi").exists()
