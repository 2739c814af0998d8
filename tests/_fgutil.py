"""Helpers for the fastgrad tests (imported by the test modules).

Nothing here depends on ``fastgrad.test``; the numeric differentiation is
our own so that it checks the library rather than itself.
"""

import contextlib
import logging
import os
import warnings

import numpy as np
import pytest

BACKEND = os.environ.get("FASTGRAD_TEST_BACKEND", "fastgrad").lower()
IS_TF = BACKEND in ("tensorflow", "tf")

#: the class-name prefix used in repr/str: ``<fastgrad.Tensor: ...>`` and
#: ``fastgrad.Tensor(...)`` for fastgrad, ``tf.`` for TensorFlow.
PREFIX = "tf" if IS_TF else "fastgrad"

fastgrad_only = pytest.mark.skipif(
    IS_TF, reason="fastgrad-only behaviour (TensorFlow differs or lacks it)"
)


def dense(g):
    """A gradient as a NumPy array (TF's IndexedSlices densified); None stays None."""
    if g is None:
        return None
    if IS_TF and hasattr(g, "indices") and hasattr(g, "values"):
        import tensorflow as _tf

        g = _tf.convert_to_tensor(g)
    return np.asarray(g)


def numeric_grad(f, xs, eps=1e-6):
    """Central differences of a scalar function ``f(list_of_arrays) -> float``.

    ``xs`` is a list of float64 arrays; returns a list of arrays of the same
    shapes holding d f / d xs[i].
    """
    xs = [np.array(x, dtype=np.float64) for x in xs]
    grads = []
    for i, x in enumerate(xs):
        g = np.zeros_like(x)
        flat = x.reshape(-1)
        gflat = g.reshape(-1)
        for j in range(flat.size):
            old = flat[j]
            flat[j] = old + eps
            fp = float(f(xs))
            flat[j] = old - eps
            fm = float(f(xs))
            flat[j] = old
            gflat[j] = (fp - fm) / (2.0 * eps)
        grads.append(g)
    return grads


def assert_close(actual, expected, rtol=1e-6, atol=1e-6, err_msg=""):
    np.testing.assert_allclose(
        np.asarray(actual, dtype=np.float64),
        np.asarray(expected, dtype=np.float64),
        rtol=rtol,
        atol=atol,
        err_msg=err_msg,
    )


class _ListHandler(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.records = []

    def emit(self, record):
        # attached to a logger and to its ancestors: count each record once
        if not any(r is record for r in self.records):
            self.records.append(record)


@contextlib.contextmanager
def capture_warnings():
    """Collect messages emitted through ``warnings`` *or* ``logging``.

    TensorFlow reports tape misuse through its logger ("tensorflow"), and
    fastgrad through its own ("fastgrad"); tf_keras uses ``warnings.warn`` for
    some. Tests care that the user is told, once.
    Yields a list that is filled with the message strings.
    """
    messages = []
    handler = _ListHandler()
    loggers = [logging.getLogger(n) for n in ("", "tensorflow", "fastgrad", "absl")]
    old_levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        if lg.level == logging.NOTSET or lg.level > logging.WARNING:
            lg.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            yield messages
            messages.extend(str(w.message) for w in rec)
    finally:
        for lg, lvl in zip(loggers, old_levels):
            lg.removeHandler(handler)
            lg.setLevel(lvl)
        messages.extend(r.getMessage() for r in handler.records)


def has(obj, name):
    """hasattr that also treats an ImportError from a lazy ``__getattr__`` as absent."""
    try:
        getattr(obj, name)
    except (AttributeError, ImportError):
        return False
    return True
