"""One CNN train step: batch 64 of 8x8x1 images, Conv2D(16, 3x3, relu,
same) -> MaxPooling2D(2) -> Conv2D(32, 3x3, relu, same) -> Flatten ->
Dense(10), sparse softmax cross-entropy from logits, Adam.

    pytest benchmarks/bench_conv.py --benchmark-autosave

fastgrad eager and as fastgrad.function; TensorFlow (eager and
tf.function), PyTorch (eager) and JAX (jax.jit) twins run when importable
and are skipped otherwise. The last test prints µs per step for each.
"""
import numpy as np
import pytest

import fastgrad as tf
from fastgrad import keras

BATCH = 64
_medians = {}


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(BATCH, 8, 8, 1)).astype(np.float32)
    y = rng.integers(0, 10, BATCH).astype(np.int32)
    return x, y


def _record(benchmark, name):
    stats = getattr(benchmark, "stats", None)
    if stats is not None:
        _medians[name] = stats.stats.median


def _keras_step(k, function):
    model = k.Sequential([
        k.layers.Conv2D(16, 3, activation="relu", padding="same", input_shape=(8, 8, 1)),
        k.layers.MaxPooling2D(),
        k.layers.Conv2D(32, 3, activation="relu", padding="same"),
        k.layers.Flatten(),
        k.layers.Dense(10),
    ])
    loss_fn = k.losses.SparseCategoricalCrossentropy(from_logits=True)
    opt = k.optimizers.Adam(0.001)
    x, y = _data()

    def step(x, y):
        with function.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss
    return step, function.constant(x), function.constant(y)


@pytest.mark.parametrize("traced", [False, True], ids=["eager", "function"])
def test_fastgrad(benchmark, traced):
    tf.random.set_seed(0)
    step, x, y = _keras_step(keras, tf)
    if traced:
        step = tf.function(step)
    step(x, y)
    loss = benchmark(step, x, y)
    assert np.isfinite(float(loss))
    _record(benchmark, "fastgrad " + ("function" if traced else "eager"))


@pytest.mark.parametrize("traced", [False, True], ids=["eager", "function"])
def test_tensorflow(benchmark, traced):
    real = pytest.importorskip("tensorflow")
    step, x, y = _keras_step(real.keras, real)
    if traced:
        step = real.function(step)
    step(x, y)
    benchmark(step, x, y)
    _record(benchmark, "tensorflow " + ("function" if traced else "eager"))


def test_torch(benchmark):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(32 * 16, 10))
    opt = torch.optim.Adam(model.parameters(), 0.001)
    x, y = _data()
    x, y = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(y).long()

    def step():
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    benchmark(step)
    _record(benchmark, "torch eager")


def test_jax(benchmark):
    jax = pytest.importorskip("jax")
    optax = pytest.importorskip("optax")
    jnp = jax.numpy
    rng = np.random.default_rng(1)
    params = {"c1": rng.normal(size=(3, 3, 1, 16)).astype(np.float32) * 0.3, "b1": np.zeros(16, np.float32),
              "c2": rng.normal(size=(3, 3, 16, 32)).astype(np.float32) * 0.1, "b2": np.zeros(32, np.float32),
              "w": rng.normal(size=(512, 10)).astype(np.float32) * 0.05, "b": np.zeros(10, np.float32)}
    dn = ("NHWC", "HWIO", "NHWC")

    def loss_fn(p, x, y):
        h = jax.nn.relu(jax.lax.conv_general_dilated(x, p["c1"], (1, 1), "SAME", dimension_numbers=dn) + p["b1"])
        h = jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
        h = jax.nn.relu(jax.lax.conv_general_dilated(h, p["c2"], (1, 1), "SAME", dimension_numbers=dn) + p["b2"])
        logits = h.reshape(h.shape[0], -1) @ p["w"] + p["b"]
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    opt = optax.adam(0.001)
    state = opt.init(params)

    @jax.jit
    def step(p, s, x, y):
        loss, g = jax.value_and_grad(loss_fn)(p, x, y)
        u, s = opt.update(g, s)
        return optax.apply_updates(p, u), s, loss
    x, y = _data()
    step(params, state, x, y)
    benchmark(lambda: jax.block_until_ready(step(params, state, x, y)))
    _record(benchmark, "jax jit")


def test_report():
    if not _medians:
        pytest.skip("no timings (run with pytest-benchmark enabled)")
    for name, t in sorted(_medians.items()):
        print("%-20s %8.1f us/step" % (name, t * 1e6))
