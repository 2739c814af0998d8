"""Memory: tapes do not leak, persistent tapes free their buffers on ``del``.

Linux-only (reads /proc/self/statm); fastgrad-only.
"""

import gc
import os

import numpy as np
import pytest

import fastgrad as tf
from _fgutil import IS_TF

pytestmark = [
    pytest.mark.skipif(IS_TF, reason="fastgrad-only: memory behaviour of the C tape"),
    pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc/self/statm"),
]

PAGE = os.sysconf("SC_PAGE_SIZE")
MB = 1 << 20


def rss():
    gc.collect()
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def _small_tape_loop(n, x, v):
    for _ in range(n):
        with tf.GradientTape() as t:
            t.watch(x)
            y = x * x + tf.sin(x) * v
        g = t.gradient(y, [x, v])
    return g


def test_many_non_persistent_tapes_do_not_grow_memory():
    x = tf.constant(1.5)
    v = tf.Variable(0.5)
    _small_tape_loop(10_000, x, v)  # warm-up: caches, free lists, arenas
    before = rss()
    g = _small_tape_loop(100_000, x, v)
    after = rss()
    assert float(g[0]) == pytest.approx(3.0 + np.cos(1.5) * 0.5, rel=1e-6)
    assert after - before < 8 * MB, f"RSS grew by {(after - before) / MB:.1f} MB over 100,000 tapes"


def test_abandoned_and_persistent_tapes_do_not_grow_memory():
    x = tf.constant([1.0, 2.0, 3.0])

    def loop(n):
        for i in range(n):
            with tf.GradientTape(persistent=(i % 2 == 0)) as t:
                t.watch(x)
                y = tf.reduce_sum(tf.exp(x) * x)
            if i % 3 == 0:
                t.gradient(y, x)
            del t

    loop(5_000)
    before = rss()
    loop(50_000)
    after = rss()
    assert after - before < 8 * MB, f"RSS grew by {(after - before) / MB:.1f} MB over 50,000 tapes"


def test_nested_tapes_do_not_grow_memory():
    x = tf.constant(0.7)

    def loop(n):
        for _ in range(n):
            with tf.GradientTape() as o:
                o.watch(x)
                with tf.GradientTape() as i:
                    i.watch(x)
                    y = x * x * x
                g = i.gradient(y, x)
            h = o.gradient(g, x)
        return h

    loop(2_000)
    before = rss()
    h = loop(30_000)
    after = rss()
    assert float(h) == pytest.approx(6 * 0.7, rel=1e-6)
    assert after - before < 8 * MB, f"RSS grew by {(after - before) / MB:.1f} MB"


def test_persistent_tape_frees_buffers_on_del():
    n = 20_000_000  # 80 MB per float32 buffer
    x = tf.ones((n,)) * 0.5
    # warm-up once so allocator bookkeeping is in place
    with tf.GradientTape(persistent=True) as t:
        t.watch(x)
        y = tf.reduce_sum(tf.exp(x) * x)
    del t, y
    base = rss()

    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        e = tf.exp(x)
        z = e * x
        s = tf.reduce_sum(z * z)
    del e, z
    g = tape.gradient(s, x)
    assert g.shape == (n,)
    expected = float(2 * np.exp(0.5) * 0.5 * (np.exp(0.5) * 0.5 + np.exp(0.5)))
    assert float(g[12345]) == pytest.approx(expected, rel=1e-5)
    del g
    held = rss()
    del tape, s
    after = rss()
    # The tape keeps exp(x) and e*x (2 x 80 MB) alive until it is deleted.
    # (held - base can be smaller than that when earlier tests left free heap
    # memory behind, so the drop on del is what is checked.)
    assert held - after > 60 * MB, f"del tape released only {(held - after) / MB:.0f} MB"
    assert after - base < 40 * MB, f"{(after - base) / MB:.0f} MB still held after del tape"
