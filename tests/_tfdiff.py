"""Side-by-side checks against TensorFlow itself (differential tests).

A test module that compares fastgrad with TensorFlow calls ``real_tf()``:
it returns the ``tensorflow`` module when it is installed, and skips the
test otherwise. TensorFlow is never needed to install or test fastgrad;
``.ci/run`` runs these modules in a virtualenv of their own with
``tensorflow-cpu`` installed beside fastgrad.
"""
import os

import numpy as np
import pytest


def real_tf():
    """The tensorflow module, or skip (not installed, or the suite already runs on TF)."""
    if os.environ.get("FASTGRAD_TEST_BACKEND", "fastgrad").lower() in ("tensorflow", "tf"):
        pytest.skip("differential tests compare fastgrad with TF: not under the TF backend")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import tensorflow
    except ImportError:
        pytest.skip("TensorFlow is not installed (CI runs these in its TF virtualenv)")
    return tensorflow


def grads_both(fg, tf, f_fg, f_tf, xs, order=1):
    """Value and gradients (order 1 or 2, of the sum of the output) of f
    in fastgrad and in TF on the same float64 inputs, as NumPy arrays."""
    def run(lib, f):
        ts = [lib.constant(x) for x in xs]
        with lib.GradientTape(persistent=True) as outer:
            for t in ts:
                outer.watch(t)
            with lib.GradientTape(persistent=True) as inner:
                for t in ts:
                    inner.watch(t)
                y = f(*ts)
                s = lib.reduce_sum(y * y)
            g = inner.gradient(s, ts)
            gs = lib.add_n([lib.reduce_sum(gi * gi) for gi in g if gi is not None]) if order == 2 else None
        g2 = outer.gradient(gs, ts) if order == 2 else None
        conv = lambda v: None if v is None else np.asarray(v.numpy())  # noqa: E731
        return conv(y), [conv(v) for v in g], None if g2 is None else [conv(v) for v in g2]
    return run(fg, f_fg), run(tf, f_tf)
