"""The big-tensor workload: reduce_sum(square(tanh(x*w + b))) over 4M float32.

One training-style step: the forward under a GradientTape and the gradients
for w and b. Two layouts: x [4_000_000] with scalar w, b; x [2000, 2000]
with w, b [2000] broadcast along rows (their gradients are column sums).
fastgrad runs at 1 and 2 threads; PyTorch (eager, autograd) and JAX (jit of
value_and_grad) are twins for comparison and are skipped when not
installed. Run, with the peers installed:

    python -m pytest benchmarks/bench_big.py --benchmark-columns=min,median,max

(`testpaths` keeps this out of the default test run.)
"""

import numpy as np
import pytest

import fastgrad as tf

CASES = ["scalar", "vector"]
THREADS = [1, 2]


def _data(case):
    rng = np.random.default_rng(0)
    if case == "scalar":
        x = rng.standard_normal(4_000_000).astype(np.float32)
        w, b = np.float32(0.5), np.float32(0.1)
    else:
        x = rng.standard_normal((2000, 2000)).astype(np.float32)
        w = (0.5 * rng.standard_normal(2000)).astype(np.float32)
        b = (0.1 * rng.standard_normal(2000)).astype(np.float32)
    return x, w, b


def _reference(x, w, b):
    """float64 loss and gradients, to check every library's step."""
    x64, w64, b64 = (np.asarray(v, np.float64) for v in (x, w, b))
    t = np.tanh(x64 * w64 + b64)
    d = 2 * t * (1 - t * t)
    axes = tuple(range(x64.ndim - np.ndim(w64)))
    gw = (d * x64).sum(axis=axes) if axes else d * x64
    gb = d.sum(axis=axes) if axes else d
    if np.ndim(w64) == 0:
        gw, gb = gw.sum(), gb.sum()
    return (t * t).sum(), gw, gb


def _check(case, loss, gw, gb):
    ref_loss, ref_gw, ref_gb = _reference(*_data(case))
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-4)
    # float32 sums over 4M (or 2000) terms: compare at the sums' scale
    np.testing.assert_allclose(gw, ref_gw, rtol=1e-3, atol=1e-3 * np.abs(ref_gw).max())
    np.testing.assert_allclose(gb, ref_gb, rtol=1e-3, atol=1e-3 * np.abs(ref_gb).max())


@pytest.fixture
def threads(request):
    old = tf.get_num_threads()
    tf.set_num_threads(request.param)
    yield request.param
    tf.set_num_threads(old)


@pytest.mark.parametrize("traced", [False, True], ids=["eager", "function"])
@pytest.mark.parametrize("threads", THREADS, indirect=True)
@pytest.mark.parametrize("case", CASES)
def test_fastgrad(benchmark, case, threads, traced):
    """Eager, and as a fastgrad.function (buffers planned once; the
    elementwise runs replayed block by block, see fg_program_plan.c)."""
    benchmark.group = f"big-{case}"
    x_np, w_np, b_np = _data(case)
    x, w, b = tf.constant(x_np), tf.Variable(w_np), tf.Variable(b_np)

    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(tf.tanh(x * w + b)))
        gw, gb = tape.gradient(loss, [w, b])
        return loss, gw, gb

    if traced:
        step = tf.function(step)
        step()
    loss, gw, gb = benchmark(step)
    _check(case, loss.numpy(), gw.numpy(), gb.numpy())


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("case", CASES)
def test_torch(benchmark, case, threads):
    torch = pytest.importorskip("torch")
    benchmark.group = f"big-{case}"
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    x_np, w_np, b_np = _data(case)
    x = torch.from_numpy(x_np)
    w = torch.tensor(w_np, requires_grad=True)
    b = torch.tensor(b_np, requires_grad=True)

    def step():
        w.grad = b.grad = None
        loss = torch.sum(torch.square(torch.tanh(x * w + b)))
        loss.backward()
        return loss, w.grad, b.grad

    try:
        loss, gw, gb = benchmark(step)
    finally:
        torch.set_num_threads(old)
    _check(case, loss.item(), gw.numpy(), gb.numpy())


@pytest.mark.parametrize("case", CASES)
def test_jax_jit(benchmark, case):
    # XLA's CPU thread pool is sized at start-up: this runs on all cores
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    benchmark.group = f"big-{case}"
    x_np, w_np, b_np = _data(case)
    x, w, b = jnp.asarray(x_np), jnp.asarray(w_np), jnp.asarray(b_np)

    def loss_fn(w, b, x):
        return jnp.sum(jnp.square(jnp.tanh(x * w + b)))

    vg = jax.jit(jax.value_and_grad(loss_fn, argnums=(0, 1)))

    def step():
        loss, (gw, gb) = vg(w, b, x)
        return jax.block_until_ready((loss, gw, gb))

    step()  # compile outside the timing
    loss, gw, gb = benchmark(step)
    _check(case, float(loss), np.asarray(gw), np.asarray(gb))
