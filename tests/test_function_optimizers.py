"""Keras optimizers inside fastgrad.function: a whole training step
(forward, tape, gradient, apply_gradients) replays in C.

The oracle is the eager step: the replayed trajectory must equal it bit
for bit, for every optimizer and dtype, with the learning rate and the
step count read at each call (Adam's bias correction changes every step;
a learning rate assigned between calls is seen). The C bias correction is
checked bitwise against NumPy's float32/float64 arithmetic, the formula
the eager optimizer used before it moved to C.
"""

import numpy as np
import pytest

import fastgrad as tf
from fastgrad import keras
from _fgutil import capture_warnings, fastgrad_only

pytestmark = fastgrad_only  # replay internals: program statistics, warnings

OPTIMIZERS = {
    "sgd": lambda: keras.optimizers.SGD(0.05),
    "sgd_momentum": lambda: keras.optimizers.SGD(0.05, momentum=0.9),
    "sgd_nesterov": lambda: keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    "adam": lambda: keras.optimizers.Adam(0.01),
    "adam_amsgrad": lambda: keras.optimizers.Adam(0.01, amsgrad=True),
    "rmsprop": lambda: keras.optimizers.RMSprop(0.01),
    "rmsprop_momentum": lambda: keras.optimizers.RMSprop(0.01, momentum=0.5),
}


def _problem(dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = tf.constant(rng.normal(size=(16, 4)).astype(dtype))
    y = tf.constant(rng.normal(size=(16, 1)).astype(dtype))
    w1 = tf.Variable(rng.normal(size=(4, 8)).astype(dtype) * 0.5)
    b1 = tf.Variable(np.zeros(8, dtype))
    w2 = tf.Variable(rng.normal(size=(8, 1)).astype(dtype) * 0.5)
    b2 = tf.Variable(np.zeros(1, dtype))
    return x, y, [w1, b1, w2, b2]


def _step_fn(opt, vs):
    def step(x, y):
        with tf.GradientTape() as tape:
            h = tf.nn.relu(tf.matmul(x, vs[0]) + vs[1])
            loss = tf.reduce_mean(tf.square(tf.matmul(h, vs[2]) + vs[3] - y))
        opt.apply_gradients(zip(tape.gradient(loss, vs), vs))
        return loss
    return step


def _trajectory(name, dtype, traced, steps=12):
    x, y, vs = _problem(dtype)
    opt = OPTIMIZERS[name]()
    step = _step_fn(opt, vs)
    f = tf.function(step) if traced else step
    losses = []
    with capture_warnings() as msgs:
        for _ in range(steps):
            losses.append(f(x, y).numpy())
    assert msgs == []  # no "runs eagerly" fallback
    slots = [s.numpy() for s in opt.variables[1:]]
    return losses, [v.numpy() for v in vs], slots, int(opt.iterations), f


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_training_step_replays_bitwise_as_eager(name, dtype):
    eager = _trajectory(name, dtype, traced=False)
    traced = _trajectory(name, dtype, traced=True)
    for a, b in zip(eager[0] + eager[1] + eager[2], traced[0] + traced[1] + traced[2]):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    assert eager[3] == traced[3] == 12
    f = traced[4]
    # the first call creates the slots (run eagerly, as TF's first trace),
    # the second traces a replayable program, the rest replay it
    assert f.experimental_get_tracing_count() == (1 if name == "sgd" else 2)


def test_adam_step_in_a_function_is_a_single_c_update_per_variable():
    x, y, vs = _problem(np.float32)
    opt = keras.optimizers.Adam(0.01)
    f = tf.function(_step_fn(opt, vs))
    f(x, y)
    f(x, y)
    prog = f._cache[next(iter(f._cache))].programs[0]
    # four optimizer updates plus iterations.assign_add(1)
    assert prog.stats()["assigns"] == 5
    f(x, y)
    assert int(opt.iterations) == 3
    assert f.experimental_get_tracing_count() == 2


@pytest.mark.parametrize("name", ["sgd_momentum", "adam", "rmsprop"])
def test_learning_rate_assigned_between_calls_reaches_the_replay(name):
    def run(traced):
        x, y, vs = _problem(np.float32, seed=3)
        opt = OPTIMIZERS[name]()
        step = _step_fn(opt, vs)
        f = tf.function(step) if traced else step
        out = []
        for i in range(8):
            if i == 4:
                opt.learning_rate = 0.001        # Keras: a number, assigned
            if i == 6:
                opt.learning_rate.assign(0.02)   # TF: the variable itself
            out.append(f(x, y).numpy())
        return out + [v.numpy() for v in vs], f

    eager, _ = run(False)
    traced, f = run(True)
    for a, b in zip(eager, traced):
        assert a.tobytes() == b.tobytes()
    assert f.experimental_get_tracing_count() == 2  # no retrace for a new rate


def test_learning_rate_is_a_float32_variable_as_tf_keras():
    opt = keras.optimizers.SGD(0.1)
    lr = opt.learning_rate
    assert isinstance(lr, tf.Variable) and lr.dtype == tf.float32
    assert float(lr) == pytest.approx(0.1)
    lr.assign(0.25)
    assert float(opt.learning_rate) == 0.25
    config_lr = opt.get_config()["learning_rate"]
    assert config_lr == 0.25 and isinstance(config_lr, np.float32)  # tf_keras 2.21's type


def test_schedule_learning_rate_in_a_function_matches_eager():
    def schedule(step):  # tensor ops on the iterations variable: no guard
        return 0.1 / (1.0 + tf.cast(step, tf.float32))

    def run(traced):
        x, y, vs = _problem(np.float32, seed=5)
        opt = keras.optimizers.SGD(schedule)
        step = _step_fn(opt, vs)
        f = tf.function(step) if traced else step
        return [f(x, y).numpy() for _ in range(6)] + [v.numpy() for v in vs]

    for a, b in zip(run(False), run(True)):
        assert a.tobytes() == b.tobytes()


def _numpy_adam_rate(dtype, lr, b1, b2, step):
    # the eager optimizer's formula before the C step computed it
    T = dtype
    one = T(1)
    lr32, b1, b2 = (T(np.float32(h)) for h in (lr, b1, b2))
    return float(lr32 * np.sqrt(one - b2 ** T(step)) / (one - b1 ** T(step)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adam_bias_correction_in_c_matches_numpy_bitwise(dtype):
    # one element, m = v = 0 and g = 1: after the update
    # w = -lr_t * (1 - b1) / (sqrt(1 - b2) + eps) exactly as the kernel rounds
    lr, b1, b2, eps = 0.003, 0.9, 0.999, 1e-7
    for step in [1, 2, 3, 10, 57, 1000, 54321]:
        w = tf.Variable(np.zeros(1, dtype))
        opt = keras.optimizers.Adam(lr, beta_1=b1, beta_2=b2, epsilon=eps)
        opt.iterations.assign(step - 1)
        opt.apply_gradients([(tf.constant(np.ones(1, dtype)), w)])
        T = dtype
        m, v = T(1) * T(1.0 - b1), T(1) * T(1.0 - b2)
        expect = T(0) - T(_numpy_adam_rate(dtype, lr, b1, b2, step)) * m / (np.sqrt(v) + T(eps))
        assert w.numpy()[0].tobytes() == expect.tobytes(), step


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_amsgrad_kernel_matches_its_formula_in_table_ops(dtype):
    rng = np.random.default_rng(7)
    w0 = rng.normal(size=(3, 5)).astype(dtype)
    w = tf.Variable(w0)
    opt = keras.optimizers.Adam(0.01, amsgrad=True)
    b1, b2, eps = 0.9, 0.999, 1e-7
    rw, m, v, vhat = (tf.Variable(a) for a in (w0, np.zeros_like(w0), np.zeros_like(w0),
                                                np.zeros_like(w0)))
    for step in range(1, 7):
        g = tf.constant(rng.normal(size=w0.shape).astype(dtype) * (3.0 if step % 2 else 0.1))
        opt.apply_gradients([(g, w)])
        lr_t = _numpy_adam_rate(dtype, 0.01, b1, b2, step)
        m.assign_add((g - m) * (1 - b1))
        v.assign_add((g * g - v) * (1 - b2))
        vhat.assign(tf.maximum(vhat, v))
        rw.assign_sub((m * lr_t) / (tf.sqrt(vhat) + eps))
        assert w.numpy().tobytes() == rw.numpy().tobytes(), step
    assert opt.variables[3].numpy().tobytes() == vhat.numpy().tobytes()


def test_optimizer_replay_keeps_snapshots_of_old_values():
    x, y, vs = _problem(np.float64, seed=11)
    opt = keras.optimizers.Adam(0.01)

    @tf.function
    def step(x, y):
        before = vs[0].value()       # read before the update: the old value
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(tf.matmul(x, vs[0])))
        opt.apply_gradients([(tape.gradient(loss, vs[0]), vs[0])])
        return before, vs[0].value()

    for _ in range(4):
        held = vs[0].numpy().copy()
        before, after = step(x, y)
        np.testing.assert_array_equal(before.numpy(), held)
        np.testing.assert_array_equal(after.numpy(), vs[0].numpy())
        assert not np.array_equal(before.numpy(), after.numpy())


def test_guard_after_an_optimizer_update_rolls_it_back():
    # a Python branch on a value computed after the update: when it flips,
    # the replay undoes the update (variable and slots) and retraces
    w = tf.Variable(np.array([2.0, -1.0]))
    opt = keras.optimizers.SGD(0.5, momentum=0.5)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(w * w)
        opt.apply_gradients([(tape.gradient(loss, w), w)])
        if float(tf.reduce_sum(w)) > 0:
            return tf.constant(1.0)
        return tf.constant(-1.0)

    w_e = tf.Variable(np.array([2.0, -1.0]))
    opt_e = keras.optimizers.SGD(0.5, momentum=0.5)

    def eager():
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(w_e * w_e)
        opt_e.apply_gradients([(tape.gradient(loss, w_e), w_e)])
        return 1.0 if float(tf.reduce_sum(w_e)) > 0 else -1.0

    for _ in range(8):
        assert float(step()) == eager()
        assert w.numpy().tobytes() == w_e.numpy().tobytes()
        assert opt.variables[1].numpy().tobytes() == opt_e.variables[1].numpy().tobytes()
    assert int(opt.iterations) == int(opt_e.iterations) == 8


def test_optimizer_step_rejects_a_gradient_of_another_shape_in_a_replay():
    w = tf.Variable(np.ones(3, np.float32))
    opt = keras.optimizers.SGD(0.1)

    @tf.function
    def step(g):
        opt.apply_gradients([(g, w)])

    step(tf.constant(np.ones(3, np.float32)))
    step(tf.constant(np.ones(3, np.float32)))
    with pytest.raises(ValueError, match="shape"):
        step(tf.constant(np.ones(4, np.float32)))
    step(tf.constant(np.ones(3, np.float32)))  # still usable
    np.testing.assert_allclose(w.numpy(), 0.7, rtol=1e-6)


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop"])
def test_fit_traces_its_step_and_matches_run_eagerly_bitwise(optimizer):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(70, 5)).astype(np.float32)
    y = (x @ rng.normal(size=(5, 1))).astype(np.float32)

    def train(run_eagerly):
        keras.backend.clear_session()
        tf.random.set_seed(4)
        model = keras.Sequential([keras.layers.Dense(8, activation="relu", input_shape=(5,)),
                                  keras.layers.Dense(1)])
        model.compile(optimizer=optimizer, loss="mse", metrics=["mae"], run_eagerly=run_eagerly)
        with capture_warnings() as msgs:
            hist = model.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False)
        assert msgs == []
        return model, hist.history

    traced_model, traced = train(False)
    eager_model, eager = train(True)
    assert traced == eager
    for a, b in zip(traced_model.trainable_variables, eager_model.trainable_variables):
        assert a.numpy().tobytes() == b.numpy().tobytes()
    step = traced_model._train_function
    # batches of 16 and the last of 6: one trace each, plus the first
    # call that made the optimizer's slots (SGD has none)
    assert step.experimental_get_tracing_count() == (2 if optimizer == "sgd" else 3)
    assert eager_model._train_function is None
    # evaluate and predict trace their steps too, with the eager numbers
    assert traced_model.evaluate(x, y, batch_size=16, verbose=0) == \
        eager_model.evaluate(x, y, batch_size=16, verbose=0)
    assert traced_model.predict(x, batch_size=16, verbose=0).tobytes() == \
        eager_model.predict(x, batch_size=16, verbose=0).tobytes()
    assert traced_model._test_function.experimental_get_tracing_count() == 2
    assert traced_model._predict_function.experimental_get_tracing_count() == 2
    assert eager_model._test_function is None and eager_model._predict_function is None


def test_fit_after_adding_a_layer_trains_the_new_layer_too():
    # the same batch shapes before and after: only a fresh trace sees the layer
    rng = np.random.default_rng(2)
    x = rng.normal(size=(32, 3)).astype(np.float32)
    y = rng.normal(size=(32, 2)).astype(np.float32)
    model = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    model.add(keras.layers.Dense(2))  # no compile again: fit must see the new layer
    model(x[:1])
    before = [v.numpy().copy() for v in model.trainable_variables]
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    after = [v.numpy() for v in model.trainable_variables]
    assert len(before) == 4 and all(not np.array_equal(a, b) for a, b in zip(before, after))
