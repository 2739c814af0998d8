"""tf.linalg benchmarks (pytest-benchmark), peers side by side.

Run from the repository root; peers are skipped where missing (TensorFlow
in its own virtualenv, see README "Benchmarks"):

    PYTHONPATH=$PWD python -m pytest benchmarks/bench_linalg.py --benchmark-only \
        -p no:cacheprovider --benchmark-group-by=group --benchmark-columns=median,iqr,rounds

Groups:
  gp_value_and_grad  a Gaussian process's negative log marginal likelihood
                     and its gradient in 5 log-parameters (3 ARD length
                     scales, amplitude, noise), N = 256 points in 3-D,
                     float64: kernel matrix, Cholesky, triangular solve.
                     fastgrad eager and as one fastgrad.function; TF eager
                     and tf.function; PyTorch eager; jax.jit.
  chol_solve_batch   cholesky + cholesky_solve of 512 SPD 32x32 float64
                     matrices (4 right-hand sides) at 1 and 2 threads:
                     the batch loop is fastgrad's own, one LAPACK call per
                     matrix.
"""
import numpy as np
import pytest

import fastgrad as fg

N, D = 256, 3
_rng = np.random.default_rng(256)
X = _rng.normal(size=(N, D))
Y = np.sin(X.sum(axis=1)) + 0.1 * _rng.normal(size=N)
P0 = np.array([0.1, -0.2, 0.3, 0.0, -1.0])  # log length scales (3), log amplitude, log noise


def gp_nlml(lib, p, x, y):
    """0.5 y^T K^-1 y + sum(log diag L): TF-style code, the library as an argument"""
    ls = lib.exp(p[:3])
    xs = x / ls
    sq = lib.reduce_sum(xs * xs, axis=-1)
    d2 = lib.expand_dims(sq, 1) + lib.expand_dims(sq, 0) - 2.0 * lib.matmul(xs, xs, transpose_b=True)
    k = lib.exp(2.0 * p[3]) * lib.exp(-0.5 * d2) + lib.exp(2.0 * p[4]) * lib.eye(N, dtype=lib.float64)
    chol = lib.linalg.cholesky(k)
    alpha = lib.linalg.triangular_solve(chol, lib.expand_dims(y, -1), lower=True)
    return 0.5 * lib.reduce_sum(alpha * alpha) + lib.reduce_sum(lib.math.log(lib.linalg.diag_part(chol)))


def value_and_grad(lib, p, x, y):
    with lib.GradientTape() as tape:
        tape.watch(p)
        v = gp_nlml(lib, p, x, y)
    return v, tape.gradient(v, p)


def _check(v, g):
    assert np.isfinite(float(v)) and np.all(np.isfinite(np.asarray(g)))


@pytest.mark.benchmark(group="gp_value_and_grad")
def test_gp_fastgrad_eager(benchmark, record):
    p, x, y = fg.constant(P0), fg.constant(X), fg.constant(Y)
    _check(*benchmark(value_and_grad, fg, p, x, y))
    record("gp_value_and_grad", "fastgrad")


@pytest.mark.benchmark(group="gp_value_and_grad")
def test_gp_fastgrad_function(benchmark, record):
    p, x, y = fg.constant(P0), fg.constant(X), fg.constant(Y)
    step = fg.function(lambda p, x, y: value_and_grad(fg, p, x, y))
    step(p, x, y)
    _check(*benchmark(step, p, x, y))
    record("gp_value_and_grad", "fastgrad.function")


def _tf():
    return pytest.importorskip("tensorflow")


@pytest.mark.benchmark(group="gp_value_and_grad")
def test_gp_tf_eager(benchmark, record):
    tf = _tf()
    p, x, y = tf.constant(P0), tf.constant(X), tf.constant(Y)
    _check(*benchmark(value_and_grad, tf, p, x, y))
    record("gp_value_and_grad", "tf eager")


@pytest.mark.benchmark(group="gp_value_and_grad")
def test_gp_tf_function(benchmark, record):
    tf = _tf()
    p, x, y = tf.constant(P0), tf.constant(X), tf.constant(Y)
    step = tf.function(lambda p, x, y: value_and_grad(tf, p, x, y))
    step(p, x, y)
    _check(*benchmark(step, p, x, y))
    record("gp_value_and_grad", "tf.function")


@pytest.mark.benchmark(group="gp_value_and_grad")
def test_gp_torch(benchmark, record):
    torch = pytest.importorskip("torch")
    x, y = torch.tensor(X), torch.tensor(Y)

    def step(p0):
        p = p0.detach().requires_grad_(True)
        ls = torch.exp(p[:3])
        xs = x / ls
        sq = (xs * xs).sum(-1)
        d2 = sq[:, None] + sq[None, :] - 2.0 * xs @ xs.T
        k = torch.exp(2.0 * p[3]) * torch.exp(-0.5 * d2) + torch.exp(2.0 * p[4]) * torch.eye(N, dtype=torch.float64)
        chol = torch.linalg.cholesky(k)
        alpha = torch.linalg.solve_triangular(chol, y[:, None], upper=False)
        v = 0.5 * (alpha * alpha).sum() + torch.log(torch.diagonal(chol)).sum()
        (g,) = torch.autograd.grad(v, p)
        return v.detach(), g

    _check(*benchmark(step, torch.tensor(P0)))
    record("gp_value_and_grad", "torch")


@pytest.mark.benchmark(group="gp_value_and_grad")
def test_gp_jax_jit(benchmark, record):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    jsl = pytest.importorskip("jax.scipy.linalg")
    x, y = jnp.asarray(X), jnp.asarray(Y)

    def nlml(p):
        ls = jnp.exp(p[:3])
        xs = x / ls
        sq = (xs * xs).sum(-1)
        d2 = sq[:, None] + sq[None, :] - 2.0 * xs @ xs.T
        k = jnp.exp(2.0 * p[3]) * jnp.exp(-0.5 * d2) + jnp.exp(2.0 * p[4]) * jnp.eye(N)
        chol = jnp.linalg.cholesky(k)
        alpha = jsl.solve_triangular(chol, y[:, None], lower=True)
        return 0.5 * (alpha * alpha).sum() + jnp.log(jnp.diagonal(chol)).sum()

    step = jax.jit(jax.value_and_grad(nlml))
    p = jnp.asarray(P0)
    jax.block_until_ready(step(p))
    _check(*benchmark(lambda: jax.block_until_ready(step(p))))
    record("gp_value_and_grad", "jax.jit")


# ------------------------------------------------------------ batched solves

B, M, K = 512, 32, 4
_a = _rng.normal(size=(B, M, M))
SPD = _a @ np.swapaxes(_a, -1, -2) + M * np.eye(M)
RHS = _rng.normal(size=(B, M, K))


@pytest.mark.benchmark(group="chol_solve_batch")
@pytest.mark.parametrize("threads", [1, 2])
def test_chol_solve_batch_fastgrad(benchmark, record, threads):
    a, b = fg.constant(SPD), fg.constant(RHS)
    old = fg.get_num_threads()
    fg.set_num_threads(threads)
    try:
        out = benchmark(lambda: fg.linalg.cholesky_solve(fg.linalg.cholesky(a), b))
    finally:
        fg.set_num_threads(old)
    np.testing.assert_allclose(out.numpy(), np.linalg.solve(SPD, RHS), rtol=1e-8)
    record("chol_solve_batch_%dt" % threads, "fastgrad")


@pytest.mark.benchmark(group="chol_solve_batch")
def test_chol_solve_batch_tf(benchmark, record):
    tf = _tf()
    a, b = tf.constant(SPD), tf.constant(RHS)
    benchmark(lambda: tf.linalg.cholesky_solve(tf.linalg.cholesky(a), b))
    record("chol_solve_batch_2t", "tf eager")


@pytest.mark.benchmark(group="chol_solve_batch")
def test_chol_solve_batch_torch(benchmark, record):
    torch = pytest.importorskip("torch")
    a, b = torch.tensor(SPD), torch.tensor(RHS)
    benchmark(lambda: torch.cholesky_solve(b, torch.linalg.cholesky(a)))
    record("chol_solve_batch_2t", "torch")
