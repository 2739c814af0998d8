"""Functional transforms, Jacobians and Hessians, side by side with peers.

Run in one environment that has fastgrad and the peers (torch, jax), so
the numbers come from the same run on the same machine:

    PYTHONPATH=$PWD python -m pytest benchmarks/bench_functional.py \
        --benchmark-columns=median,iqr,rounds --benchmark-sort=name

Targets (issue 6): ``tape.jacobian`` of a 10-element elementwise function
<= 50 us (TF eager: 55 ms); the full Hessian of the 100-variable
Rosenbrock function ahead of ``torch.autograd.functional.hessian`` and
within 2x of ``jax.jit(jax.hessian)`` after compilation; the seeds'
scalar nested Hessian <= 10 us. Peers missing from the environment are
skipped (pytest.importorskip).
"""

import numpy as np
import pytest

import fastgrad as fg

N_ROSEN = 100
X_ROSEN = np.linspace(-1.0, 1.0, N_ROSEN).astype(np.float32)
X10 = np.linspace(0.1, 1.0, 10).astype(np.float32)


def rosen_fg(x):
    return fg.reduce_sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosen_hessian_np(x):
    x = x.astype(np.float64)
    h = np.zeros((x.size, x.size))
    for i in range(x.size - 1):
        h[i, i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
        h[i + 1, i + 1] += 200
        h[i, i + 1] += -400 * x[i]
        h[i + 1, i] += -400 * x[i]
    return h


# ------------------------------------------------ tape.jacobian, elementwise


def test_jacobian_elementwise10_fastgrad(benchmark):
    x = fg.constant(X10)

    def run():
        with fg.GradientTape() as tape:
            tape.watch(x)
            y = fg.sin(x) * x + fg.exp(-x)
        return tape.jacobian(y, x)

    j = benchmark(run)
    ref = np.diag(np.cos(X10) * X10 + np.sin(X10) - np.exp(-X10))
    np.testing.assert_allclose(j, ref, rtol=1e-6, atol=1e-7)


def test_jacobian_elementwise10_tf_eager(benchmark):
    tf = pytest.importorskip("tensorflow")
    x = tf.constant(X10)

    def run():
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.sin(x) * x + tf.exp(-x)
        return tape.jacobian(y, x)

    benchmark.pedantic(run, rounds=5, iterations=1, warmup_rounds=1)


def test_jacobian_elementwise10_torch(benchmark):
    torch = pytest.importorskip("torch")
    x = torch.tensor(X10)
    f = lambda x: torch.sin(x) * x + torch.exp(-x)  # noqa: E731
    benchmark(lambda: torch.autograd.functional.jacobian(f, x))


def test_jacobian_elementwise10_jax_jit(benchmark):
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    jac = jax.jit(jax.jacrev(lambda x: jnp.sin(x) * x + jnp.exp(-x)))
    x = jnp.asarray(X10)
    jac(x).block_until_ready()
    benchmark(lambda: jac(x).block_until_ready())


# --------------------------------------------------- Rosenbrock Hessian (100)


def test_hessian_rosenbrock100_fastgrad(benchmark):
    h = fg.hessian(rosen_fg)
    x = fg.constant(X_ROSEN)
    out = benchmark(h, x)
    np.testing.assert_allclose(out, rosen_hessian_np(X_ROSEN), rtol=1e-4, atol=1e-3)


def test_hessian_rosenbrock100_torch(benchmark):
    torch = pytest.importorskip("torch")

    def rosen(x):
        return torch.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)

    x = torch.tensor(X_ROSEN)
    benchmark.pedantic(lambda: torch.autograd.functional.hessian(rosen, x),
                       rounds=20, iterations=1, warmup_rounds=1)


def test_hessian_rosenbrock100_torch_vectorized(benchmark):
    torch = pytest.importorskip("torch")

    def rosen(x):
        return torch.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)

    x = torch.tensor(X_ROSEN)
    benchmark(lambda: torch.autograd.functional.hessian(rosen, x, vectorize=True))


def test_hessian_rosenbrock100_jax_jit(benchmark):
    jax = pytest.importorskip("jax")
    jnp = jax.numpy

    def rosen(x):
        return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)

    h = jax.jit(jax.hessian(rosen))
    x = jnp.asarray(X_ROSEN)
    h(x).block_until_ready()  # compile outside the timing
    benchmark(lambda: h(x).block_until_ready())


# ------------------------------------------- the seeds' scalar nested Hessian


def _seed_g(x1, x2):
    return (x1 + 5) * (x2 ** 2)


def test_nested_hessian_seed_fastgrad(benchmark):
    x1, x2 = fg.Variable(2.0), fg.Variable(3.0)

    def run():
        with fg.GradientTape(persistent=True) as outer:
            with fg.GradientTape(persistent=True) as inner:
                z = _seed_g(x1, x2)
            inner_grads = inner.gradient(z, [x1, x2])
        return [outer.gradient(g, [x1, x2]) for g in inner_grads]

    out = benchmark(run)
    assert out[0][0] is None and [float(v) for v in out[0][1:]] + [float(v) for v in out[1]] == [6.0, 6.0, 14.0]


def test_nested_hessian_seed_fastgrad_hessian(benchmark):
    h = fg.hessian(_seed_g, argnums=(0, 1))
    out = benchmark(h, 2.0, 3.0)
    assert [[float(v) for v in row] for row in out] == [[0.0, 6.0], [6.0, 14.0]]


def test_nested_hessian_seed_torch(benchmark):
    torch = pytest.importorskip("torch")
    x = (torch.tensor(2.0), torch.tensor(3.0))
    benchmark(lambda: torch.autograd.functional.hessian(_seed_g, x))


def test_nested_hessian_seed_jax_jit(benchmark):
    jax = pytest.importorskip("jax")
    h = jax.jit(jax.hessian(_seed_g, argnums=(0, 1)))
    h(2.0, 3.0)[0][0].block_until_ready()
    benchmark(lambda: jax.block_until_ready(h(2.0, 3.0)))


# ---------------------------------------------------------------- hvp / jvp


def test_hvp_rosenbrock100_fastgrad(benchmark):
    x = fg.constant(X_ROSEN)
    v = fg.constant(np.cos(np.arange(N_ROSEN)).astype(np.float32))
    out = benchmark(fg.hvp, rosen_fg, x, v)
    np.testing.assert_allclose(out, rosen_hessian_np(X_ROSEN) @ np.asarray(v, np.float64),
                               rtol=1e-3, atol=1e-2)


def test_jvp_elementwise10_fastgrad(benchmark):
    f = lambda x: fg.sin(x) * x + fg.exp(-x)  # noqa: E731
    x = fg.constant(X10)
    v = fg.ones_like(x)
    benchmark(fg.jvp, f, (x,), (v,))
