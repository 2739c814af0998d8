"""Array manipulation on large inputs (issue 13): einsum, pad, gather_nd
and tensor_scatter_nd_add, fastgrad beside NumPy (and TF when importable).

    pytest benchmarks/bench_array_ops.py --benchmark-only

Each workload is the forward op on float32 inputs of several MB; the
summary prints medians and ratios. Peers are optional: missing ones skip.
"""
import numpy as np
import pytest

import fastgrad as fg

R = np.random.default_rng(0)
A = R.standard_normal((32, 256, 256)).astype(np.float32)
B = R.standard_normal((32, 256, 256)).astype(np.float32)
IMG = R.standard_normal((16, 256, 256, 3)).astype(np.float32)
PADS = [[0, 0], [8, 8], [8, 8], [0, 0]]
TABLE = R.standard_normal((1 << 20, 4)).astype(np.float32)
IDX = R.integers(0, 1 << 10, size=(1 << 18, 2)).astype(np.int32)  # rows of a [1024, 1024, 4] view
TABLE3 = TABLE.reshape(1024, 1024, 4)

WORKLOADS = {
    "einsum_bij_bjk": (lambda L, a, b: L.einsum("bij,bjk->bik", a, b), lambda: (A, B)),
    "einsum_trace_sum": (lambda L, a, b: L.einsum("bij,bij->b", a, b), lambda: (A, B)),
    "pad_constant": (lambda L, x: L.pad(x, PADS), lambda: (IMG,)),
    "pad_reflect": (lambda L, x: L.pad(x, PADS, "REFLECT"), lambda: (IMG,)),
    "gather_nd": (lambda L, t, i: L.gather_nd(t, i), lambda: (TABLE3, IDX)),
}


def _numpy(name):
    if name.startswith("einsum"):
        eq = {"einsum_bij_bjk": "bij,bjk->bik", "einsum_trace_sum": "bij,bij->b"}[name]
        return lambda a, b: np.einsum(eq, a, b, optimize=True)
    if name == "pad_constant":
        return lambda x: np.pad(x, PADS)
    if name == "pad_reflect":
        return lambda x: np.pad(x, PADS, mode="reflect")
    return lambda t, i: t[i[:, 0], i[:, 1]]


@pytest.mark.parametrize("name", sorted(WORKLOADS))
@pytest.mark.parametrize("framework", ["fastgrad", "numpy", "tensorflow"])
def test_array_op(benchmark, record, name, framework):
    f, inputs = WORKLOADS[name]
    xs = inputs()
    if framework == "fastgrad":
        ts = [fg.constant(x) for x in xs]
        run = lambda: f(fg, *ts)  # noqa: E731
    elif framework == "numpy":
        run = lambda: _numpy(name)(*xs)  # noqa: E731
    else:
        tf = pytest.importorskip("tensorflow")
        ts = [tf.constant(x) for x in xs]
        run = lambda: f(tf, *ts)  # noqa: E731
    benchmark.pedantic(run, rounds=5, iterations=1, warmup_rounds=1)
    record(name, framework)
