"""tf.random draws of 4M elements: fastgrad's Philox in C beside TF's
(same bits) and NumPy's PCG64 (other bits; a speed reference only).

    pytest benchmarks/bench_random.py --benchmark-only
"""
import numpy as np
import pytest

import fastgrad as fg

N = 1 << 22
SEED = [1, 2]

WORKLOADS = {
    "stateless_uniform": lambda L: L.random.stateless_uniform([N], SEED),
    "stateless_normal": lambda L: L.random.stateless_normal([N], SEED),
    "stateless_truncated_normal": lambda L: L.random.stateless_truncated_normal([N], SEED),
}
NUMPY = {
    "stateless_uniform": lambda g: g.random(N, dtype=np.float32),
    "stateless_normal": lambda g: g.standard_normal(N, dtype=np.float32),
    "stateless_truncated_normal": lambda g: g.standard_normal(N, dtype=np.float32),
}


@pytest.mark.parametrize("name", sorted(WORKLOADS))
@pytest.mark.parametrize("framework", ["fastgrad", "numpy", "tensorflow"])
def test_random_draw(benchmark, record, name, framework):
    if framework == "fastgrad":
        run = lambda: WORKLOADS[name](fg)  # noqa: E731
    elif framework == "numpy":
        g = np.random.default_rng(0)
        run = lambda: NUMPY[name](g)  # noqa: E731
    else:
        tf = pytest.importorskip("tensorflow")
        run = lambda: WORKLOADS[name](tf)  # noqa: E731
    benchmark.pedantic(run, rounds=5, iterations=1, warmup_rounds=1)
    record(name, framework)
