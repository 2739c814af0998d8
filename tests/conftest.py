"""Shared pytest configuration for the fastgrad test suite.

The suite normally tests ``fastgrad``.  Setting the environment variable
``FASTGRAD_TEST_BACKEND=tensorflow`` runs the very same tests against
TensorFlow 2 instead (``import fastgrad as tf`` then yields ``tensorflow``),
which is how the expected values hard-coded in these tests were validated
(TensorFlow 2.21.0, tf_keras 2.21.0, NumPy 2.4).  Tests of features that
are fastgrad's own (dense gather gradients, integer-array indexing, thread
control, the C tape's memory and call behaviour, ...) are skipped under that
backend via ``fastgrad_only``.

Helpers shared by the test modules live in ``_fgutil.py`` next to this file.
"""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

if os.environ.get("FASTGRAD_TEST_BACKEND", "fastgrad").lower() in ("tensorflow", "tf"):
    # Keras 2 (tf_keras) is the Keras the seed tutorials were written for.
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as _tensorflow

    sys.modules["fastgrad"] = _tensorflow

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def rng():
    """A fresh, fixed-seed NumPy generator for each test."""
    return np.random.default_rng(20240601)
