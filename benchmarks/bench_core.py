"""The core's eager workloads (issue 3), fastgrad beside PyTorch CPU.

    pytest benchmarks/bench_core.py --benchmark-only

Each workload is run by fastgrad and, when importable, by torch; the
summary prints medians and ratios. Peers are optional: missing ones skip.
"""
import numpy as np
import pytest

import fastgrad as tf

N_BIG = 4_000_000


# ---------------------------------------------------------------- fastgrad

def fg_gd_step():
    x = tf.Variable(0.0)

    def step():
        with tf.GradientTape() as tape:
            z = x ** 2 - 2 * x + 1
        g = tape.gradient(z, x)
        x.assign_sub(0.1 * g)
    return step


def fg_chain(n_iter=250):
    x1, x2 = tf.Variable(1.0), tf.Variable(2.0)

    def run():
        with tf.GradientTape() as tape:
            z = tf.constant(0.0)
            for _ in range(n_iter):
                z = z + (x1 * x2 + x1) * 0.001
        return tape.gradient(z, [x1, x2])
    return run


def fg_sweep_only(n_iter):
    x1, x2 = tf.Variable(1.0), tf.Variable(2.0)
    tape = tf.GradientTape(persistent=True)
    with tape:
        z = tf.constant(0.0)
        for _ in range(n_iter):
            z = z + (x1 * x2 + x1) * 0.001
    return lambda: tape.gradient(z, [x1, x2])


def fg_nested():
    x1, x2 = tf.Variable(2.0), tf.Variable(3.0)

    def run():
        with tf.GradientTape(persistent=True) as outer:
            with tf.GradientTape(persistent=True) as inner:
                z = (x1 + 5) * x2 ** 2
            grads = inner.gradient(z, [x1, x2])
        return [outer.gradient(g, [x1, x2]) for g in grads]
    return run


def fg_big(threads=None):
    rng = np.random.default_rng(0)
    x = tf.constant(rng.standard_normal(N_BIG).astype(np.float32))
    w, b = tf.Variable(0.5), tf.Variable(0.1)

    def run():
        if threads:
            tf.set_num_threads(threads)
        with tf.GradientTape() as tape:
            y = tf.reduce_sum(tf.square(tf.tanh(x * w + b)))
        return tape.gradient(y, [w, b])
    return run


def fg_dense_step():
    rng = np.random.default_rng(0)
    xb = tf.constant(rng.standard_normal((32, 8)).astype(np.float32))
    yb = tf.constant(rng.standard_normal((32, 1)).astype(np.float32))
    w1 = tf.Variable(rng.standard_normal((8, 128)).astype(np.float32) * 0.1)
    b1 = tf.Variable(np.zeros(128, np.float32))
    w2 = tf.Variable(rng.standard_normal((128, 1)).astype(np.float32) * 0.1)
    b2 = tf.Variable(np.zeros(1, np.float32))
    params = [w1, b1, w2, b2]

    def step():
        with tf.GradientTape() as tape:
            h = tf.nn.relu(tf.matmul(xb, w1) + b1)
            loss = tf.reduce_mean(tf.square(tf.matmul(h, w2) + b2 - yb))
        grads = tape.gradient(loss, params)
        for p, g in zip(params, grads):
            p.assign_sub(0.01 * g)
    return step


# ------------------------------------------------------------------- torch

def torch_impls():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(2)

    def gd():
        x = torch.tensor(0.0, requires_grad=True)

        def step():
            z = x ** 2 - 2 * x + 1
            g, = torch.autograd.grad(z, x)
            with torch.no_grad():
                x.sub_(0.1 * g)
        return step

    def chain():
        x1 = torch.tensor(1.0, requires_grad=True)
        x2 = torch.tensor(2.0, requires_grad=True)

        def run():
            z = torch.tensor(0.0)
            for _ in range(250):
                z = z + (x1 * x2 + x1) * 0.001
            return torch.autograd.grad(z, [x1, x2])
        return run

    def nested():
        x1 = torch.tensor(2.0, requires_grad=True)
        x2 = torch.tensor(3.0, requires_grad=True)

        def run():
            z = (x1 + 5) * x2 ** 2
            g = torch.autograd.grad(z, [x1, x2], create_graph=True)
            return [torch.autograd.grad(gi, [x1, x2], allow_unused=True, retain_graph=True) for gi in g]
        return run

    def big():
        rng = np.random.default_rng(0)
        x = torch.tensor(rng.standard_normal(N_BIG).astype(np.float32))
        w = torch.tensor(0.5, requires_grad=True)
        b = torch.tensor(0.1, requires_grad=True)

        def run():
            y = torch.sum(torch.square(torch.tanh(x * w + b)))
            return torch.autograd.grad(y, [w, b])
        return run

    def dense():
        rng = np.random.default_rng(0)
        xb = torch.tensor(rng.standard_normal((32, 8)).astype(np.float32))
        yb = torch.tensor(rng.standard_normal((32, 1)).astype(np.float32))
        ps = [torch.tensor(a, requires_grad=True) for a in (
            rng.standard_normal((8, 128)).astype(np.float32) * 0.1, np.zeros(128, np.float32),
            rng.standard_normal((128, 1)).astype(np.float32) * 0.1, np.zeros(1, np.float32))]

        def step():
            h = torch.relu(xb @ ps[0] + ps[1])
            loss = torch.mean(torch.square(h @ ps[2] + ps[3] - yb))
            grads = torch.autograd.grad(loss, ps)
            with torch.no_grad():
                for p, g in zip(ps, grads):
                    p.sub_(0.01 * g)
        return step

    return dict(gd=gd, chain=chain, nested=nested, big=big, dense=dense)


FASTGRAD = dict(gd=fg_gd_step, chain=fg_chain, nested=fg_nested, big=fg_big, dense=fg_dense_step)
NAMES = dict(gd="seed GD step", chain="scalar chain 1000 ops", nested="nested 2nd derivative",
             big="tanh 4M float32", dense="Dense128 step b32")


@pytest.mark.parametrize("workload", list(FASTGRAD))
def test_fastgrad(benchmark, record, workload):
    benchmark(FASTGRAD[workload]())
    record(NAMES[workload], "fastgrad")


@pytest.mark.parametrize("workload", list(FASTGRAD))
def test_torch(benchmark, record, workload):
    impls = torch_impls()
    benchmark(impls[workload]())
    record(NAMES[workload], "torch")


@pytest.mark.parametrize("n_iter", [250, 25_000])
def test_fastgrad_sweep_only(benchmark, record, n_iter):
    """The reverse sweep alone, per recorded op (4 ops per iteration)."""
    benchmark(fg_sweep_only(n_iter))
    record("sweep only, %d ops" % (4 * n_iter), "fastgrad")


@pytest.mark.parametrize("threads", [1, 2])
def test_fastgrad_big_threads(benchmark, record, threads):
    """OpenMP scaling of the 4M-element workload."""
    try:
        benchmark(fg_big(threads))
    finally:
        tf.set_num_threads(0)
    record("tanh 4M float32, %d thread(s)" % threads, "fastgrad")
