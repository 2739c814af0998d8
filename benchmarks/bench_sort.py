"""Sorting, top_k, segment_sum and cumsum on large inputs: fastgrad against
NumPy (and TensorFlow when installed).

- sort: 4M float32 in one row (fixed-chunk parallel merge sort) and as
  2000 rows of 2000 (a row a thread); NumPy: np.sort(kind="stable").
- top_k: k=10 of 1000 rows of 4000 (a heap per row); NumPy:
  argpartition + sort of the k.
- segment_sum: 1M x 16 float32 rows into 10K unsorted segments; NumPy:
  np.add.at.
- cumsum: 4M float32; NumPy: np.cumsum.

Each result is checked against NumPy before it is timed. Run:

    python -m pytest benchmarks/bench_sort.py --benchmark-columns=min,median,max
"""
import numpy as np
import pytest

import fastgrad as fg

R = np.random.default_rng(0)
X1 = R.standard_normal(4_000_000).astype(np.float32)
X2 = R.standard_normal((2000, 2000)).astype(np.float32)
XK = R.standard_normal((1000, 4000)).astype(np.float32)
DATA = R.standard_normal((1_000_000, 16)).astype(np.float32)
IDS = R.integers(0, 10_000, 1_000_000).astype(np.int32)


def _np_top_k(x, k):
    part = np.argpartition(-x, k, axis=-1)[:, :k]
    vals = np.take_along_axis(x, part, -1)
    order = np.argsort(-vals, axis=-1, kind="stable")
    return np.take_along_axis(vals, order, -1)


def _np_segment_sum(d, ids, n):
    out = np.zeros((n,) + d.shape[1:], d.dtype)
    np.add.at(out, ids, d)
    return out


WORK = {
    "sort_1row": (lambda lib, x: lib.sort(x), lambda x: np.sort(x, kind="stable"), X1),
    "sort_rows": (lambda lib, x: lib.sort(x, axis=-1), lambda x: np.sort(x, axis=-1, kind="stable"), X2),
    "top_k": (lambda lib, x: lib.math.top_k(x, 10).values, lambda x: _np_top_k(x, 10), XK),
    "segment_sum": (lambda lib, x: lib.math.unsorted_segment_sum(x, IDS, 10_000),
                    lambda x: _np_segment_sum(x, IDS, 10_000), DATA),
    "cumsum": (lambda lib, x: lib.cumsum(x), lambda x: np.cumsum(x), X1),
}


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("work", sorted(WORK))
def test_fastgrad(benchmark, record, work, threads):
    f, ref, x = WORK[work]
    prev = fg.get_num_threads()
    fg.set_num_threads(threads)
    try:
        t = fg.constant(x)
        np.testing.assert_allclose(f(fg, t).numpy(), ref(x), rtol=1e-4, atol=1e-3)
        benchmark(lambda: f(fg, t))
        record("%s@%d" % (work, threads), "fastgrad")
    finally:
        fg.set_num_threads(prev)


@pytest.mark.parametrize("work", sorted(WORK))
def test_numpy(benchmark, record, work):
    _, ref, x = WORK[work]
    benchmark(lambda: ref(x))
    for threads in (1, 2):
        record("%s@%d" % (work, threads), "numpy")


@pytest.mark.parametrize("work", sorted(WORK))
def test_tensorflow(benchmark, record, work):
    tf = pytest.importorskip("tensorflow")
    f, _, x = WORK[work]
    t = tf.constant(x)
    benchmark(lambda: f(tf, t).numpy())
    for threads in (1, 2):
        record("%s@%d" % (work, threads), "tensorflow")
