"""fastgrad.function benchmarks (pytest-benchmark), peers side by side.

Run from the repository root, in an environment with the peers installed
(jax and torch are skipped where missing):

    PYTHONPATH=$PWD python -m pytest benchmarks/bench_function.py \
        --benchmark-group-by=group --benchmark-columns=median,mean,stddev,rounds

Groups:
  gd_step     seed 004's gradient-descent step (x**2 - 2x + 1, lr 0.1) as one
              call: goal <= 0.5 us (JAX jit 4.7 us)
  chain_1k    z = z + (x1*x2 + x1)*0.001 x250 (1,000 ops), value and both
              gradients: goal <= 10 ns/op, i.e. <= 10 us per call
  chain_100k  the same x25,000 (100,000 ops): goal <= 1 ms per call
  mlp_step    Dense(128, relu) -> Dense(1), batch 32, MSE, SGD update: goal <= 15 us
  adam_step   the same MLP as a Keras-style step: Sequential-free Dense
              weights, tape, gradient and keras Adam.apply_gradients in one
              function (JAX: the Adam update written out under jit; torch:
              torch.optim.Adam)
  first_call  trace cost of a fresh function (chain_1k goal < 20 ms), beside
              a fresh jax.jit and tf.function of the same bodies

TensorFlow peers (tf.function) run the very same step bodies with
``tensorflow`` in place of fastgrad; install tensorflow-cpu in its own
virtualenv (its NumPy and ml_dtypes pins differ from JAX's).
"""
import numpy as np
import pytest

import fastgrad as fg

LR = 0.1
CHAIN_SHORT, CHAIN_LONG = 250, 25000


# ------------------------------------------------------------ gradient descent


# The step bodies take the library as an argument: fastgrad by default,
# TensorFlow itself for the tf.function peers (the code is the same).


def _fg_gd_step(x, tf=fg):
    with tf.GradientTape() as tape:
        z = x ** 2 - x * 2 + 1
    x.assign_sub(LR * tape.gradient(z, x))


def _tf():
    tf = pytest.importorskip("tensorflow")
    tf.config.threading.set_inter_op_parallelism_threads(1)  # noqa: ignored once initialised
    return tf


@pytest.mark.benchmark(group="gd_step")
def test_gd_step_tf_function(benchmark):
    tf = _tf()
    x = tf.Variable(0.0)
    step = tf.function(lambda: _fg_gd_step(x, tf))
    step()
    benchmark(step)


@pytest.mark.benchmark(group="gd_step")
def test_gd_step_fastgrad_function(benchmark):
    x = fg.Variable(0.0)
    step = fg.function(lambda: _fg_gd_step(x))
    for _ in range(100):  # converged (0.8**100), however few rounds follow
        step()
    benchmark(step)
    assert abs(float(x) - 1.0) < 1e-5


@pytest.mark.benchmark(group="gd_step")
def test_gd_step_fastgrad_eager(benchmark):
    x = fg.Variable(0.0)
    benchmark(_fg_gd_step, x)


@pytest.mark.benchmark(group="gd_step")
def test_gd_step_jax_jit(benchmark):
    jax = pytest.importorskip("jax")

    @jax.jit
    def step(x):
        return x - LR * jax.grad(lambda x: x ** 2 - x * 2 + 1)(x)

    state = [jax.numpy.float32(0.0)]

    def run():
        state[0] = step(state[0])
        state[0].block_until_ready()

    run()
    benchmark(run)


@pytest.mark.benchmark(group="gd_step")
def test_gd_step_torch_eager(benchmark):
    torch = pytest.importorskip("torch")
    x = torch.tensor(0.0, requires_grad=True)

    def step():
        z = x ** 2 - x * 2 + 1
        (g,) = torch.autograd.grad(z, x)
        with torch.no_grad():
            x.sub_(LR * g)

    benchmark(step)


# ------------------------------------------------------------ scalar chains


def _fg_chain(n, tf=fg):
    def chain(x1, x2):
        with tf.GradientTape() as t:
            t.watch([x1, x2])
            z = tf.constant(0.0)
            for _ in range(n):
                z = z + (x1 * x2 + x1) * 0.001
        return z, t.gradient(z, [x1, x2])
    return chain


@pytest.mark.benchmark(group="chain_1k")
def test_chain_1k_tf_function(benchmark):
    tf = _tf()
    f = tf.function(_fg_chain(CHAIN_SHORT, tf))
    x1, x2 = tf.constant(0.5), tf.constant(1.5)
    f(x1, x2)
    benchmark(f, x1, x2)


def _chain_case(benchmark, n, traced):
    x1, x2 = fg.constant(0.5), fg.constant(1.5)
    f = fg.function(_fg_chain(n)) if traced else _fg_chain(n)
    expect = _fg_chain(n)(x1, x2)
    z, (g1, g2) = f(x1, x2)
    assert float(z) == float(expect[0]) and float(g1) == float(expect[1][0])
    benchmark.extra_info["ops"] = 4 * n
    benchmark(f, x1, x2)


@pytest.mark.benchmark(group="chain_1k")
def test_chain_1k_fastgrad_function(benchmark):
    _chain_case(benchmark, CHAIN_SHORT, True)


@pytest.mark.benchmark(group="chain_1k")
def test_chain_1k_fastgrad_eager(benchmark):
    _chain_case(benchmark, CHAIN_SHORT, False)


def _jax_chain(n):
    jax = pytest.importorskip("jax")

    def chain(x1, x2):
        z = 0.0
        for _ in range(n):
            z = z + (x1 * x2 + x1) * 0.001
        return z

    f = jax.jit(jax.value_and_grad(chain, argnums=(0, 1)))
    x1, x2 = jax.numpy.float32(0.5), jax.numpy.float32(1.5)

    def run():
        jax.block_until_ready(f(x1, x2))

    return run


@pytest.mark.benchmark(group="chain_1k")
def test_chain_1k_jax_jit(benchmark):
    run = _jax_chain(CHAIN_SHORT)
    run()
    benchmark(run)


@pytest.mark.benchmark(group="chain_1k")
def test_chain_1k_torch_eager(benchmark):
    torch = pytest.importorskip("torch")
    x1 = torch.tensor(0.5, requires_grad=True)
    x2 = torch.tensor(1.5, requires_grad=True)

    def run():
        z = torch.tensor(0.0)
        for _ in range(CHAIN_SHORT):
            z = z + (x1 * x2 + x1) * 0.001
        return torch.autograd.grad(z, [x1, x2])

    benchmark(run)


@pytest.mark.benchmark(group="chain_100k")
def test_chain_100k_fastgrad_function(benchmark):
    _chain_case(benchmark, CHAIN_LONG, True)


@pytest.mark.benchmark(group="chain_100k")
def test_chain_100k_fastgrad_eager(benchmark):
    benchmark.pedantic(_fg_chain(CHAIN_LONG), args=(fg.constant(0.5), fg.constant(1.5)), rounds=5)


# ------------------------------------------------------------ MLP step (seed 004)


def _mlp_data(seed=0):
    rng = np.random.default_rng(seed)
    return dict(
        w1=(rng.normal(size=(8, 128)) * 0.1).astype(np.float32), b1=np.zeros(128, np.float32),
        w2=(rng.normal(size=(128, 1)) * 0.1).astype(np.float32), b2=np.zeros(1, np.float32),
        x=rng.normal(size=(32, 8)).astype(np.float32), y=rng.normal(size=(32, 1)).astype(np.float32))


def _fg_mlp_step(optimizer=None, tf=fg):
    """The seed-004 MLP step; the update is plain SGD assigns, or
    ``optimizer.apply_gradients`` (a keras optimizer) when given."""
    d = _mlp_data()
    vs = [tf.Variable(d[k]) for k in ("w1", "b1", "w2", "b2")]

    def step(x, y):
        with tf.GradientTape() as tape:
            h = tf.nn.relu(tf.matmul(x, vs[0]) + vs[1])
            loss = tf.reduce_mean(tf.square(tf.matmul(h, vs[2]) + vs[3] - y))
        grads = tape.gradient(loss, vs)
        if optimizer is not None:
            optimizer.apply_gradients(zip(grads, vs))
        else:
            for v, g in zip(vs, grads):
                v.assign_sub(0.01 * g)
        return loss

    return step, tf.constant(d["x"]), tf.constant(d["y"])


@pytest.mark.benchmark(group="mlp_step")
def test_mlp_step_tf_function(benchmark):
    tf = _tf()
    step, x, y = _fg_mlp_step(tf=tf)
    f = tf.function(step)
    f(x, y)
    benchmark(f, x, y)


@pytest.mark.benchmark(group="mlp_step")
def test_mlp_step_fastgrad_function(benchmark):
    step, x, y = _fg_mlp_step()
    f = fg.function(step)
    f(x, y)
    benchmark(f, x, y)


@pytest.mark.benchmark(group="mlp_step")
def test_mlp_step_fastgrad_eager(benchmark):
    step, x, y = _fg_mlp_step()
    benchmark(step, x, y)


def _jax_mlp():
    """JAX, its MLP loss, the initial parameters and the batch."""
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    d = _mlp_data()

    def loss(p, x, y):
        h = jax.nn.relu(x @ p[0] + p[1])
        return jnp.mean(jnp.square(h @ p[2] + p[3] - y))

    params = [jnp.asarray(d[k]) for k in ("w1", "b1", "w2", "b2")]
    return jax, loss, params, jnp.asarray(d["x"]), jnp.asarray(d["y"])


@pytest.mark.benchmark(group="mlp_step")
def test_mlp_step_jax_jit(benchmark):
    jax, loss, params, x, y = _jax_mlp()

    @jax.jit
    def step(p, x, y):
        value, g = jax.value_and_grad(loss)(p, x, y)
        return [a - 0.01 * b for a, b in zip(p, g)], value

    state = [params]

    def run():
        state[0], value = step(state[0], x, y)
        value.block_until_ready()

    run()
    benchmark(run)


def _torch_mlp():
    """torch, the MLP's parameters (requiring grad) and the batch."""
    torch = pytest.importorskip("torch")
    d = _mlp_data()
    ps = [torch.tensor(d[k], requires_grad=True) for k in ("w1", "b1", "w2", "b2")]
    return torch, ps, torch.tensor(d["x"]), torch.tensor(d["y"])


@pytest.mark.benchmark(group="mlp_step")
def test_mlp_step_torch_eager(benchmark):
    torch, ps, x, y = _torch_mlp()

    def run():
        h = torch.relu(x @ ps[0] + ps[1])
        loss = torch.mean(torch.square(h @ ps[2] + ps[3] - y))
        grads = torch.autograd.grad(loss, ps)
        with torch.no_grad():
            for p, g in zip(ps, grads):
                p.sub_(0.01 * g)
        return loss

    benchmark(run)


# ------------------------------------------------------------ Adam step (keras optimizer)


def _fg_adam_step():
    return _fg_mlp_step(fg.keras.optimizers.Adam(0.001))


@pytest.mark.benchmark(group="adam_step")
def test_adam_step_fastgrad_function(benchmark):
    step, x, y = _fg_adam_step()
    f = fg.function(step)
    f(x, y)
    f(x, y)
    benchmark(f, x, y)
    assert f.experimental_get_tracing_count() == 2  # slots made on the first call


@pytest.mark.benchmark(group="adam_step")
def test_adam_step_fastgrad_eager(benchmark):
    step, x, y = _fg_adam_step()
    benchmark(step, x, y)


@pytest.mark.benchmark(group="adam_step")
def test_adam_step_jax_jit(benchmark):
    jax, loss, p, x, y = _jax_mlp()
    jnp = jax.numpy
    b1, b2, eps, lr = 0.9, 0.999, 1e-7, 0.001

    @jax.jit
    def step(p, m, v, t, x, y):
        value, g = jax.value_and_grad(loss)(p, x, y)
        t = t + 1
        lr_t = lr * jnp.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        m = [a + (gi - a) * (1 - b1) for a, gi in zip(m, g)]
        v = [a + (gi * gi - a) * (1 - b2) for a, gi in zip(v, g)]
        p = [a - lr_t * mi / (jnp.sqrt(vi) + eps) for a, mi, vi in zip(p, m, v)]
        return p, m, v, t, value

    state = [p, [jnp.zeros_like(a) for a in p], [jnp.zeros_like(a) for a in p], jnp.float32(0)]

    def run():
        *state[:], value = step(*state, x, y)
        value.block_until_ready()

    run()
    benchmark(run)


@pytest.mark.benchmark(group="adam_step")
def test_adam_step_torch_eager(benchmark):
    torch, ps, x, y = _torch_mlp()
    opt = torch.optim.Adam(ps, lr=0.001, eps=1e-7)

    def run():
        opt.zero_grad(set_to_none=True)
        h = torch.relu(x @ ps[0] + ps[1])
        loss = torch.mean(torch.square(h @ ps[2] + ps[3] - y))
        loss.backward()
        opt.step()
        return loss

    benchmark(run)


# ------------------------------------------------------------ first call (trace)


@pytest.mark.benchmark(group="first_call")
def test_first_call_chain_1k(benchmark):
    x1, x2 = fg.constant(0.5), fg.constant(1.5)
    body = _fg_chain(CHAIN_SHORT)
    benchmark.pedantic(lambda: fg.function(body)(x1, x2), rounds=30)


@pytest.mark.benchmark(group="first_call")
def test_first_call_chain_100k(benchmark):
    x1, x2 = fg.constant(0.5), fg.constant(1.5)
    body = _fg_chain(CHAIN_LONG)
    benchmark.pedantic(lambda: fg.function(body)(x1, x2), rounds=3)


@pytest.mark.benchmark(group="first_call")
def test_first_call_mlp_step(benchmark):
    step, x, y = _fg_mlp_step()
    benchmark.pedantic(lambda: fg.function(step)(x, y), rounds=30)


@pytest.mark.benchmark(group="first_call")
def test_first_call_gd_step(benchmark):
    x = fg.Variable(0.0)
    benchmark.pedantic(lambda: fg.function(lambda: _fg_gd_step(x))(), rounds=30)


# The peers' first calls: a fresh jax.jit / tf.function of the same body
# each round (trace, compile or graph optimisation, and one run).


@pytest.mark.benchmark(group="first_call")
def test_first_call_chain_1k_jax_jit(benchmark):
    # _jax_chain makes a fresh function and jit each time: its first run compiles
    benchmark.pedantic(lambda: _jax_chain(CHAIN_SHORT)(), rounds=5)


@pytest.mark.benchmark(group="first_call")
def test_first_call_gd_step_jax_jit(benchmark):
    jax = pytest.importorskip("jax")

    def fresh():
        step = jax.jit(lambda x: x - LR * jax.grad(lambda x: x ** 2 - x * 2 + 1)(x))
        step(jax.numpy.float32(0.0)).block_until_ready()

    benchmark.pedantic(fresh, rounds=10)


@pytest.mark.benchmark(group="first_call")
def test_first_call_mlp_step_jax_jit(benchmark):
    jax, loss, params, x, y = _jax_mlp()

    def fresh():
        def step(p, x, y):
            value, g = jax.value_and_grad(lambda p: loss(p, x, y))(p)
            return [a - 0.01 * b for a, b in zip(p, g)], value
        jax.jit(step)(params, x, y)[1].block_until_ready()

    benchmark.pedantic(fresh, rounds=10)


@pytest.mark.benchmark(group="first_call")
def test_first_call_chain_1k_tf_function(benchmark):
    tf = _tf()
    x1, x2 = tf.constant(0.5), tf.constant(1.5)
    body = _fg_chain(CHAIN_SHORT, tf)
    benchmark.pedantic(lambda: tf.function(body)(x1, x2), rounds=5)


@pytest.mark.benchmark(group="first_call")
def test_first_call_gd_step_tf_function(benchmark):
    tf = _tf()
    x = tf.Variable(0.0)
    benchmark.pedantic(lambda: tf.function(lambda: _fg_gd_step(x, tf))(), rounds=10)


@pytest.mark.benchmark(group="first_call")
def test_first_call_mlp_step_tf_function(benchmark):
    tf = _tf()
    step, x, y = _fg_mlp_step(tf=tf)
    benchmark.pedantic(lambda: tf.function(step)(x, y), rounds=10)
