"""The reverse sweep runs in compiled code: the number of Python-level calls
made by ``tape.gradient()`` must not grow with the length of the recorded
chain.  fastgrad-only.
"""

import sys

import pytest

import fastgrad as tf
from _fgutil import IS_TF

pytestmark = pytest.mark.skipif(IS_TF, reason="fastgrad-only: compiled reverse sweep")


def _count_calls_in_gradient(n_ops, persistent=False):
    x = tf.constant(1.0, dtype=tf.float64)
    c = tf.constant(0.5, dtype=tf.float64)
    with tf.GradientTape(persistent=persistent) as t:
        t.watch(x)
        z = x
        for i in range(n_ops // 2):
            z = z * c + x if i % 2 else tf.sin(z) + x
    counts = {"call": 0, "c_call": 0}

    def prof(frame, event, arg):
        if event in counts:
            counts[event] += 1

    sys.setprofile(prof)
    try:
        g = t.gradient(z, x)
    finally:
        sys.setprofile(None)
    assert g is not None and float(g) == float(g)  # finite, computed
    return counts


def test_gradient_call_count_independent_of_chain_length():
    _count_calls_in_gradient(100)  # warm-up: first-call imports, caches
    small = _count_calls_in_gradient(1_000)
    large = _count_calls_in_gradient(10_000)
    total_small = small["call"] + small["c_call"]
    total_large = large["call"] + large["c_call"]
    assert abs(total_large - total_small) < 20, (small, large)


def test_gradient_python_frames_independent_of_chain_length():
    _count_calls_in_gradient(100)
    small = _count_calls_in_gradient(1_000)
    large = _count_calls_in_gradient(10_000)
    assert abs(large["call"] - small["call"]) < 20, (small, large)
    assert abs(large["c_call"] - small["c_call"]) < 20, (small, large)


def test_persistent_gradient_call_count_independent_of_chain_length():
    _count_calls_in_gradient(100, persistent=True)
    small = _count_calls_in_gradient(1_000, persistent=True)
    large = _count_calls_in_gradient(10_000, persistent=True)
    assert abs((large["call"] + large["c_call"]) - (small["call"] + small["c_call"])) < 20, (small, large)


def test_chain_gradient_value():
    # the chain used above, checked by hand-rolled forward-mode in Python floats
    import math

    n_ops = 1_000
    x = tf.constant(1.0, dtype=tf.float64)
    c = tf.constant(0.5, dtype=tf.float64)
    with tf.GradientTape() as t:
        t.watch(x)
        z = x
        for i in range(n_ops // 2):
            z = z * c + x if i % 2 else tf.sin(z) + x
    zv, dz = 1.0, 1.0
    for i in range(n_ops // 2):
        if i % 2:
            zv, dz = zv * 0.5 + 1.0, dz * 0.5 + 1.0
        else:
            zv, dz = math.sin(zv) + 1.0, math.cos(zv) * dz + 1.0
    assert float(z) == pytest.approx(zv, rel=1e-12)
    assert float(t.gradient(z, x)) == pytest.approx(dz, rel=1e-12)
