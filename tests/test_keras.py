"""fastgrad.keras: optimizers against hand-computed formulas, metrics,
losses, Dense, Sequential (build, summary, fit/evaluate/predict and its
output) and the seed-004 custom training loop.

The reference is TF 2's ``tf.keras`` (Keras 2, as the seed tutorials used
it): with ``FASTGRAD_TEST_BACKEND=tensorflow`` and tf_keras installed these
tests run against it, bar the ``fastgrad_only`` ones.
"""
import io
import math
import re
import sys

import numpy as np
import pytest

import fastgrad as tf
from fastgrad import keras
from _fgutil import IS_TF, capture_warnings, fastgrad_only

if not IS_TF:
    from fastgrad.datasets import StandardScaler, load_diabetes, train_test_split


@pytest.fixture(autouse=True)
def _fresh_names():
    keras.backend.clear_session()
    yield


def grads_for(step, shape, dtype=np.float64):
    """A different, deterministic gradient for each step."""
    rng = np.random.default_rng(100 + step)
    return rng.normal(size=shape).astype(dtype)


# tf.keras keeps some hyperparameters in float32; fastgrad computes in the
# variable's dtype
RTOL64 = 1e-6 if IS_TF else 1e-12


def built_dense(units, in_dim, **kwargs):
    """A Dense layer built for inputs of width in_dim."""
    layer = keras.layers.Dense(units, **kwargs)
    layer(np.zeros((1, in_dim), dtype=np.float32))
    return layer


def run_steps(opt, w0, steps, dtype=np.float64):
    var = tf.Variable(np.array(w0, dtype=dtype))
    for t in range(steps):
        opt.apply_gradients([(tf.constant(grads_for(t, var.shape, dtype)), var)])
    return var.numpy()


W0 = [[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]]


# optimizers -----------------------------------------------------------------

def test_sgd_plain_matches_formula():
    w = np.array(W0)
    for t in range(4):
        w = w - 0.125 * grads_for(t, w.shape)
    # learning rates exact in float32, which is how tf.keras stores them
    got = run_steps(keras.optimizers.SGD(learning_rate=0.125), W0, 4)
    np.testing.assert_allclose(got, w, rtol=RTOL64)


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_matches_formula(nesterov):
    lr, mom = 0.0625, 0.9
    w, v = np.array(W0), np.zeros((2, 3))
    for t in range(5):
        g = grads_for(t, w.shape)
        v = mom * v - lr * g
        w = w + (mom * v - lr * g if nesterov else v)
    opt = keras.optimizers.SGD(learning_rate=lr, momentum=mom, nesterov=nesterov)
    np.testing.assert_allclose(run_steps(opt, W0, 5), w, rtol=RTOL64)


def test_adam_bias_correction_matches_formula():
    lr, b1, b2, eps = 0.015625, 0.9, 0.999, 1e-7
    w, m, v = np.array(W0), np.zeros((2, 3)), np.zeros((2, 3))
    for t in range(1, 6):
        g = grads_for(t - 1, w.shape)
        m = m + (g - m) * (1 - b1)
        v = v + (g * g - v) * (1 - b2)
        # tf_keras keeps lr, beta_1, beta_2 as float32 and casts them to the
        # variable's dtype for the bias correction (TF 2.21 matches this bitwise)
        f32 = lambda h: float(np.float32(h))  # noqa: E731
        lr_t = f32(lr) * math.sqrt(1 - f32(b2) ** t) / (1 - f32(b1) ** t)
        w = w - lr_t * m / (np.sqrt(v) + eps)
    got = run_steps(keras.optimizers.Adam(learning_rate=lr), W0, 5)
    np.testing.assert_allclose(got, w, rtol=100 * RTOL64)


def test_adam_first_step_moves_by_learning_rate():
    # with bias correction the first step is lr * g/|g| (up to epsilon)
    g = grads_for(0, (2, 3))
    got = run_steps(keras.optimizers.Adam(learning_rate=0.01), W0, 1)
    np.testing.assert_allclose(got, np.array(W0) - 0.01 * np.sign(g), rtol=1e-6)


@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_rmsprop_matches_formula(momentum):
    lr, rho, eps = 0.0078125, 0.9, 1e-7
    w, ms, mom = np.array(W0), np.zeros((2, 3)), np.zeros((2, 3))
    for t in range(5):
        g = grads_for(t, w.shape)
        ms = rho * ms + (1 - rho) * g * g
        inc = lr * g / np.sqrt(ms + eps)
        if momentum:
            mom = momentum * mom + inc
            w = w - mom
        else:
            w = w - inc
    opt = keras.optimizers.RMSprop(learning_rate=lr, momentum=momentum)
    np.testing.assert_allclose(run_steps(opt, W0, 5), w, rtol=100 * RTOL64)


def test_float32_updates():
    w = np.array(W0, dtype=np.float32)
    for t in range(3):
        w = w - np.float32(0.1) * grads_for(t, w.shape, np.float32)
    got = run_steps(keras.optimizers.SGD(0.1), W0, 3, dtype=np.float32)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, w, rtol=1e-6)


def test_optimizer_defaults_and_attributes():
    sgd = keras.optimizers.SGD()
    assert float(sgd.learning_rate) == pytest.approx(0.01)
    assert sgd.momentum == 0.0 and sgd.nesterov is False
    adam = keras.optimizers.Adam()
    assert (float(adam.learning_rate), adam.beta_1, adam.beta_2, adam.epsilon) == \
        pytest.approx((0.001, 0.9, 0.999, 1e-7))
    rms = keras.optimizers.RMSprop()
    assert (float(rms.learning_rate), rms.rho, rms.momentum, rms.epsilon) == \
        pytest.approx((0.001, 0.9, 0.0, 1e-7))
    with pytest.raises(ValueError):
        keras.optimizers.SGD(momentum=1.5)
    with pytest.raises(ValueError):
        keras.optimizers.get("nope")
    assert isinstance(keras.optimizers.get("adam"), keras.optimizers.Adam)


@fastgrad_only  # tf_keras 2.11+ ignores the legacy `lr=`; TF 2.0, the seeds' TF, did not
def test_legacy_lr_argument():
    assert float(keras.optimizers.SGD(lr=0.5).learning_rate) == pytest.approx(0.5)
    assert float(keras.optimizers.Adam(lr=0.2).learning_rate) == pytest.approx(0.2)


def test_learning_rate_is_settable_and_iterations_count():
    x = tf.Variable(1.0)
    opt = keras.optimizers.SGD(learning_rate=0.1)
    assert int(opt.iterations) == 0
    opt.apply_gradients([(tf.constant(1.0), x)])
    assert x.numpy() == pytest.approx(0.9)
    opt.learning_rate = 0.5
    assert float(opt.learning_rate) == pytest.approx(0.5)
    opt.apply_gradients([(tf.constant(1.0), x)])
    assert x.numpy() == pytest.approx(0.4)
    assert int(opt.iterations) == 2


def test_apply_gradients_takes_zip_and_skips_none():
    a, b, c = tf.Variable(1.0), tf.Variable(2.0), tf.Variable([3.0, 4.0])
    grads = [tf.constant(1.0), None, np.array([1.0, 2.0], dtype=np.float32)]
    opt = keras.optimizers.SGD(learning_rate=0.1)
    with capture_warnings() as msgs:
        opt.apply_gradients(zip(grads, [a, b, c]))
    assert len([m for m in msgs if "Gradients do not exist for variables" in m]) == 1
    assert a.numpy() == pytest.approx(0.9)
    assert b.numpy() == 2.0
    np.testing.assert_allclose(c.numpy(), [2.9, 3.8], rtol=1e-6)
    # a generator works too, and the step counted once
    opt.apply_gradients((g, v) for g, v in [(tf.constant(1.0), a)])
    assert int(opt.iterations) == 2


def test_apply_gradients_all_none_raises_tf_message():
    opt = keras.optimizers.Adam()
    v = tf.Variable(1.0)
    with pytest.raises(ValueError) as info:
        opt.apply_gradients(zip([None, None], [v, tf.Variable(2.0)]))
    assert str(info.value).startswith("No gradients provided for any variable")
    if not IS_TF:
        assert str(info.value) == "No gradients provided for any variable."
    assert v.numpy() == 1.0


@fastgrad_only
def test_slots_are_non_trainable_variables_per_variable():
    a, b = tf.Variable([1.0, 2.0]), tf.Variable(3.0)
    opt = keras.optimizers.Adam()
    for _ in range(2):
        opt.apply_gradients([(tf.constant([1.0, 1.0]), a), (tf.constant(1.0), b)])
    slots = opt.variables[1:]
    assert len(slots) == 4
    assert all(not s.trainable for s in slots)
    assert sorted(tuple(s.shape) for s in slots) == [(), (), (2,), (2,)]


@fastgrad_only
def test_gradient_shape_mismatch_is_an_error():
    v = tf.Variable([1.0, 2.0])
    with pytest.raises(ValueError, match=r"\(3,\)"):
        keras.optimizers.SGD().apply_gradients([(tf.constant([1.0, 2.0, 3.0]), v)])


def test_seed004_gradient_descent_with_sgd():
    def f(x):
        return x ** 2 - x * 2 + 1
    x = tf.Variable(0.0)
    optimizer = keras.optimizers.SGD(learning_rate=0.1)
    for _ in range(100):
        with tf.GradientTape() as tape:
            z = f(x)
        grad = tape.gradient(z, x)
        optimizer.apply_gradients([(grad, x)])
    assert x.numpy() == pytest.approx(0.9999999, abs=2e-7)


# metrics --------------------------------------------------------------------

def test_seed004_metric_running_values_and_reset():
    metric = keras.metrics.MeanSquaredError()
    r1 = metric([5.0], [6])
    assert isinstance(r1, tf.Tensor)
    assert r1.dtype == tf.float32 and float(r1) == 1.0
    assert float(metric([4.0], [6])) == 2.5
    assert float(metric.result()) == 2.5
    metric.reset_states()
    assert float(metric.result()) == 0.0
    assert float(metric([1.0, 2.0], [1.0, 4.0])) == 2.0
    metric.reset_state()
    assert float(metric.result()) == 0.0


def test_mean_and_mae_metrics():
    m = keras.metrics.Mean()
    assert float(m([1.0, 3.0, 5.0, 7.0])) == 4.0
    assert float(m(10.0)) == pytest.approx(26.0 / 5)
    m.reset_state()
    m.update_state([1.0, 3.0, 5.0, 7.0], sample_weight=[1, 1, 0, 0])
    assert float(m.result()) == 2.0
    mae = keras.metrics.MeanAbsoluteError()
    assert float(mae([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]])) == 0.5
    assert float(mae([[1.0, 1.0]], [[1.0, 1.0]])) == pytest.approx(1.0 / 3)


def test_accuracy_metrics():
    acc = keras.metrics.SparseCategoricalAccuracy()
    r = acc([2, 1], [[0.1, 0.6, 0.3], [0.05, 0.95, 0.0]])
    assert float(r) == 0.5
    assert float(keras.metrics.Accuracy()([1, 2, 3, 4], [0, 2, 3, 4])) == 0.75
    assert float(keras.metrics.BinaryAccuracy()([[1.0], [0.0]], [[0.7], [0.6]])) == 0.5


def test_metric_inside_tape_leaves_gradient_alone():
    w = tf.Variable(2.0)
    metric = keras.metrics.MeanSquaredError()
    with tf.GradientTape() as tape:
        y = w * 3.0
        metric([1.0], tf.reshape(y, [1]))
        loss = y * y
    assert float(tape.gradient(loss, w)) == pytest.approx(36.0)


# losses ---------------------------------------------------------------------

def test_mse_function_broadcasts_like_tf_keras():
    y_hat = tf.constant(np.arange(4, dtype=np.float32).reshape(4, 1))
    y = np.array([1.0, 2.0, 3.0, 5.0])
    # seed 004's call: predictions [4, 1] first, float64 labels [4] second.
    # The difference broadcasts to [4, 4]; each row is averaged.
    out = keras.losses.mean_squared_error(y_hat, y)
    assert tuple(out.shape) == (4,)
    assert out.dtype == tf.float64          # y_pred's dtype, as Keras
    np.testing.assert_allclose(out.numpy(), [9.75, 5.25, 2.75, 2.25])
    out = keras.losses.mean_squared_error(y, y_hat)
    assert out.dtype == tf.float32 and tuple(out.shape) == (4,)
    np.testing.assert_allclose(out.numpy(), [9.75, 5.25, 2.75, 2.25])
    # labels of the predictions' shape: one to one
    out = keras.losses.mean_squared_error(y[:, None], y_hat)
    np.testing.assert_allclose(out.numpy(), [1.0, 1.0, 1.0, 4.0])
    assert keras.losses.mse is keras.losses.MSE is keras.losses.mean_squared_error
    out = keras.losses.mean_squared_error(np.ones((4, 3)), np.zeros((4, 3)))
    np.testing.assert_allclose(out.numpy(), np.ones(4))
    out = keras.losses.mean_absolute_error(y_hat, y)
    np.testing.assert_allclose(out.numpy(), [2.75, 1.75, 1.25, 1.25])


def test_loss_class_and_metric_squeeze_a_trailing_one():
    y_hat = tf.constant(np.arange(4, dtype=np.float32).reshape(4, 1))
    y = tf.constant([1.0, 2.0, 3.0, 5.0])
    assert float(keras.losses.MeanSquaredError()(y, y_hat)) == pytest.approx(1.75)
    assert float(keras.metrics.MeanSquaredError()(y, y_hat)) == pytest.approx(1.75)


def test_loss_classes_reduce_to_mean():
    yt = np.array([[0.0, 1.0], [0.0, 0.0]], dtype=np.float32)
    yp = np.array([[1.0, 1.0], [1.0, 0.0]], dtype=np.float32)
    assert float(keras.losses.MeanSquaredError()(yt, yp)) == 0.5
    assert float(keras.losses.mean_absolute_error(yt, yp)[0]) == 0.5
    assert float(keras.losses.MeanSquaredError(reduction="sum")(yt, yp)) == 1.0
    none = keras.losses.MeanSquaredError(reduction="none")(yt, yp)
    np.testing.assert_allclose(none.numpy(), [0.5, 0.5])
    w = keras.losses.MeanSquaredError()(yt, yp, sample_weight=[1.0, 0.0])
    assert float(w) == 0.25


def test_crossentropies_against_numpy():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(6, 4)).astype(np.float64)
    labels = rng.integers(0, 4, size=6)
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    expected = -logp[np.arange(6), labels]
    sc = keras.losses.sparse_categorical_crossentropy
    np.testing.assert_allclose(sc(labels, logits, from_logits=True).numpy(),
                               expected, rtol=1e-10)
    np.testing.assert_allclose(sc(labels[:, None], np.exp(logp)).numpy(),
                               expected, rtol=1e-6)
    cls = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    assert float(cls(labels, logits)) == pytest.approx(expected.mean())
    onehot = np.eye(4)[labels]
    cc = keras.losses.categorical_crossentropy(onehot, logits, from_logits=True)
    np.testing.assert_allclose(cc.numpy(), expected, rtol=1e-10)
    p = 1 / (1 + np.exp(-logits))
    z = (logits > 0).astype(np.float64)
    bce = -(z * np.log(p) + (1 - z) * np.log(1 - p)).mean(-1)
    np.testing.assert_allclose(
        keras.losses.binary_crossentropy(z, logits, from_logits=True).numpy(),
        bce, rtol=1e-10)
    eps = 1e-7  # tf.keras clips to [eps, 1 - eps] and adds eps in the logs
    pc = np.clip(p, eps, 1 - eps)
    bce_p = -(z * np.log(pc + eps) + (1 - z) * np.log(1 - pc + eps)).mean(-1)
    np.testing.assert_allclose(keras.losses.binary_crossentropy(z, p).numpy(),
                               bce_p, rtol=1e-12)


def test_crossentropy_of_a_softmax_output_uses_its_logits():
    # as tf.keras: exact even where the probabilities underflow
    logits = tf.constant([[0.0, 200.0], [3.0, -1.0]])
    probs = keras.activations.softmax(logits)
    got = keras.losses.sparse_categorical_crossentropy([0, 0], probs)
    np.testing.assert_allclose(got.numpy(), [200.0, np.log1p(np.exp(-4.0))],
                               rtol=1e-5)
    layer = keras.layers.Dense(2, activation="softmax", kernel_initializer="ones",
                               bias_initializer="zeros")
    x = tf.constant([[1.0, 1.0]])
    with tf.GradientTape() as tape:
        loss = keras.losses.categorical_crossentropy([[1.0, 0.0]], layer(x))
    grads = tape.gradient(loss, layer.trainable_variables)
    np.testing.assert_allclose(grads[1].numpy(), [-0.5, 0.5], rtol=1e-6)


def test_loss_bad_inputs():
    with pytest.raises(ValueError, match="Unknown loss function"):
        keras.losses.get("no_such_loss")
    bad_labels = (ValueError, tf.errors.InvalidArgumentError)
    with pytest.raises(bad_labels, match="labels"):
        keras.losses.sparse_categorical_crossentropy(
            np.eye(3)[[0, 1]], np.ones((2, 3)) / 3)      # one-hot, not sparse
    with pytest.raises(bad_labels, match="outside the valid range"):
        keras.losses.sparse_categorical_crossentropy([0, 3], np.ones((2, 3)) / 3)
    with pytest.raises(ValueError, match="incompatible"):
        keras.losses.categorical_crossentropy(np.ones((2, 3)), np.ones((2, 2)) / 2)


# layers ---------------------------------------------------------------------

def test_dense_shapes_names_and_call():
    layer = keras.layers.Dense(3, activation="relu")
    assert not layer.built
    out = layer(np.ones((2, 5), dtype=np.float32))
    assert layer.built and tuple(out.shape) == (2, 3)
    assert tuple(layer.kernel.shape) == (5, 3) and tuple(layer.bias.shape) == (3,)
    assert layer.kernel.name.startswith("dense/kernel")
    assert layer.bias.name.startswith("dense/bias")
    assert layer.kernel.dtype == tf.float32
    assert [v is w for v, w in zip(layer.trainable_variables, [layer.kernel, layer.bias])] == [True, True]
    second = keras.layers.Dense(1, use_bias=False)
    second(out)
    assert second.name == "dense_1" and len(second.variables) == 1
    # float64 input is cast to the layer's float32
    assert layer(np.ones((1, 5))).dtype == tf.float32


def test_dense_value_and_activations():
    x = np.array([[1.0, -2.0]], dtype=np.float32)
    for name, fn in [("linear", lambda z: z), (None, lambda z: z),
                     ("relu", lambda z: np.maximum(z, 0)),
                     ("sigmoid", lambda z: 1 / (1 + np.exp(-z))),
                     ("tanh", np.tanh), ("softplus", lambda z: np.log1p(np.exp(z))),
                     ("elu", lambda z: np.where(z > 0, z, np.exp(z) - 1)),
                     ("softmax", lambda z: np.exp(z) / np.exp(z).sum(-1, keepdims=True))]:
        layer = keras.layers.Dense(3, activation=name, kernel_initializer="ones",
                                   bias_initializer="ones")
        z = x @ np.ones((2, 3)) + 1
        np.testing.assert_allclose(layer(x).numpy(), fn(z), rtol=1e-6, atol=1e-7)


def test_initializers():
    tf.random.set_seed(1)
    zeros = built_dense(4, 3, kernel_initializer="zeros")
    assert not zeros.kernel.numpy().any() and not zeros.bias.numpy().any()
    ones = built_dense(4, 3, kernel_initializer="ones")
    assert (ones.kernel.numpy() == 1).all()
    fan_in, fan_out = 400, 300
    limit = math.sqrt(6 / (fan_in + fan_out))
    k = built_dense(fan_out, fan_in).kernel.numpy()
    assert np.abs(k).max() <= limit and np.abs(k).max() > 0.9 * limit
    assert k.std() == pytest.approx(limit / math.sqrt(3), rel=0.05)
    cases = {"glorot_normal": math.sqrt(2 / (fan_in + fan_out)),
             "he_normal": math.sqrt(2 / fan_in),
             "he_uniform": math.sqrt(2 / fan_in),
             "random_normal": 0.05,
             "random_uniform": 0.1 / math.sqrt(12)}
    for name, std in cases.items():
        k = built_dense(fan_out, fan_in, kernel_initializer=name).kernel.numpy()
        assert k.std() == pytest.approx(std, rel=0.05), name
        assert abs(k.mean()) < 0.1 * std, name
    k = built_dense(fan_out, fan_in, kernel_initializer="he_normal").kernel.numpy()
    assert np.abs(k).max() <= 2 * math.sqrt(2 / fan_in) / 0.87962566103423978 + 1e-6


@fastgrad_only  # tf_keras's unseeded initializers ignore tf.random.set_seed
def test_seeded_initialisation_is_reproducible():
    tf.random.set_seed(7)
    a = built_dense(5, 4).kernel.numpy()
    tf.random.set_seed(7)
    b = built_dense(5, 4).kernel.numpy()
    np.testing.assert_array_equal(a, b)


def test_dense_gradients_match_central_differences_float64():
    rng = np.random.default_rng(3)
    layer = keras.layers.Dense(3, activation="tanh", dtype="float64",
                               kernel_initializer="glorot_uniform",
                               bias_initializer="random_normal")
    x = rng.normal(size=(4, 5))
    layer(x)
    assert layer.kernel.dtype == tf.float64
    target = rng.normal(size=(4, 3))

    def loss_value():
        return tf.reduce_sum(tf.square(layer(x) - target))

    with tf.GradientTape() as tape:
        loss = loss_value()
    grads = tape.gradient(loss, [layer.kernel, layer.bias])
    eps = 1e-6
    for var, grad in zip([layer.kernel, layer.bias], grads):
        base = var.numpy()
        numeric = np.zeros_like(base)
        for idx in np.ndindex(base.shape):
            plus, minus = base.copy(), base.copy()
            plus[idx] += eps
            minus[idx] -= eps
            var.assign(plus)
            fp = float(loss_value())
            var.assign(minus)
            fm = float(loss_value())
            numeric[idx] = (fp - fm) / (2 * eps)
        var.assign(base)
        np.testing.assert_allclose(grad.numpy(), numeric, rtol=1e-6, atol=1e-8)


def test_dense_bad_inputs():
    layer = built_dense(2, 3)
    with pytest.raises(ValueError) as info:
        layer(np.ones((2, 4), dtype=np.float32))
    assert "3" in str(info.value) and "(2, 4)" in str(info.value)
    with pytest.raises(ValueError, match="Unknown activation function"):
        keras.layers.Dense(2, activation="no_such_activation")
    with pytest.raises(ValueError, match="Unknown initializer"):
        keras.layers.Dense(2, kernel_initializer="no_such_init")
    with pytest.raises(ValueError, match="units"):
        keras.layers.Dense(-1)
    with pytest.raises(ValueError, match="min_ndim=2"):
        keras.layers.Dense(2)(np.ones(3, dtype=np.float32))


# Sequential -----------------------------------------------------------------

def seed004_model(n_features=8):
    model = keras.models.Sequential()
    model.add(keras.layers.Dense(128, activation="relu", input_shape=(n_features,)))
    model.add(keras.layers.Dense(1, activation="relu"))
    return model


def test_sequential_builds_eagerly_with_input_shape():
    model = seed004_model()
    assert model.built
    assert [tuple(v.shape) for v in model.variables] == [(8, 128), (128,), (128, 1), (1,)]
    assert len(model.trainable_variables) == 4
    assert model.count_params() == 8 * 128 + 128 + 128 + 1


def test_sequential_builds_lazily_on_first_call():
    model = keras.models.Sequential([keras.layers.Dense(4), keras.layers.Dense(2)])
    assert not model.built
    with pytest.raises(ValueError, match="not yet been"):
        model.variables
    with pytest.raises(ValueError, match="not yet been built"):
        model.summary()
    out = model(np.ones((3, 5), dtype=np.float32))
    assert tuple(out.shape) == (3, 2) and model.built
    assert [tuple(v.shape) for v in model.variables] == [(5, 4), (4,), (4, 2), (2,)]
    model2 = keras.Sequential([keras.Input(shape=(6,)), keras.layers.Dense(3)])
    assert model2.built and model2.count_params() == 21


def test_summary_table(capsys):
    model = seed004_model(10)
    model.summary()
    out = capsys.readouterr().out
    assert 'Model: "sequential"' in out
    assert re.search(r"dense \(Dense\)\s+\(None, 128\)\s+1408", out)
    assert re.search(r"dense_1 \(Dense\)\s+\(None, 1\)\s+129", out)
    assert " Layer (type)                Output Shape              Param #   " in out
    assert "Total params: 1537 (6.00 KB)" in out
    assert "Trainable params: 1537 (6.00 KB)" in out
    assert "Non-trainable params: 0 (0.00 Byte)" in out


def toy_regression(n=96, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)).astype(np.float32)
    y = X @ np.array([1.0, -2.0, 0.5], dtype=np.float32) + 0.3
    return X, y


def test_fit_history_and_evaluate():
    X, y = toy_regression()
    tf.random.set_seed(0)
    model = keras.Sequential([keras.layers.Dense(1, input_shape=(3,))])
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", metrics=["mse", "mae"])
    hist = model.fit(X, y, epochs=5, batch_size=16, verbose=0,
                     validation_data=(X[:32], y[:32]))
    h = hist.history
    assert set(h) == {"loss", "mse", "mae", "val_loss", "val_mse", "val_mae"}
    assert all(len(v) == 5 for v in h.values())
    assert h["loss"][-1] < h["loss"][0] / 5
    np.testing.assert_allclose(h["loss"], h["mse"], rtol=1e-5)
    assert hist.epoch == [0, 1, 2, 3, 4]
    # the last val_ values are those of the final weights
    loss, mse, mae = model.evaluate(X[:32], y[:32], verbose=0)
    assert loss == pytest.approx(h["val_loss"][-1], rel=1e-5)
    assert mae == pytest.approx(h["val_mae"][-1], rel=1e-5)
    pred = model.predict(X[:5], verbose=0)
    assert isinstance(pred, np.ndarray) and pred.shape == (5, 1)
    np.testing.assert_allclose(pred, model(X[:5]).numpy(), rtol=1e-6)


def test_fit_one_full_batch_step_logs_loss_before_update():
    X, y = toy_regression(40)
    model = keras.Sequential([keras.layers.Dense(1, input_shape=(3,))])
    model.compile(optimizer="sgd", loss="mean_squared_error")
    before = float(np.mean((model.predict(X, verbose=0)[:, 0] - y) ** 2))
    hist = model.fit(X, y, epochs=1, batch_size=40, shuffle=False, verbose=0)
    assert hist.history["loss"][0] == pytest.approx(before, rel=1e-5)
    assert int(model.optimizer.iterations) == 1


def test_fit_classifier_with_accuracy():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 2)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    model = keras.Sequential([keras.layers.Dense(2, activation="softmax", input_shape=(2,))])
    model.compile(optimizer=keras.optimizers.Adam(0.05),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    hist = model.fit(X, y, epochs=15, verbose=0)
    assert hist.history["accuracy"][-1] > 0.9
    loss, acc = model.evaluate(X, y, verbose=0)
    assert acc > 0.9


def fit_output(capsys, verbose, stream=None, epochs=2):
    X, y = toy_regression(64)
    model = keras.Sequential([keras.layers.Dense(1, input_shape=(3,))])
    model.compile(optimizer="sgd", loss="mse", metrics=["mse"])
    if stream is not None:
        old, sys.stdout = sys.stdout, stream
        try:
            model.fit(X, y, epochs=epochs, verbose=verbose, validation_data=(X, y))
        finally:
            sys.stdout = old
        return stream.getvalue()
    model.fit(X, y, epochs=epochs, verbose=verbose, validation_data=(X, y))
    return capsys.readouterr().out


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_fit_verbose_0_prints_nothing(capsys):
    assert fit_output(capsys, 0) == ""


@pytest.mark.parametrize("verbose", [
    2, pytest.param(1, marks=fastgrad_only), pytest.param("auto", marks=fastgrad_only)])
def test_fit_plain_line_per_epoch_off_terminal(capsys, verbose):
    out = fit_output(capsys, verbose)     # captured stdout is not a terminal
    lines = out.strip().splitlines()
    assert len(lines) == 4
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2"
    assert re.match(r"2/2 - \d+s - loss: \d+\.\d{4} - mse: \d+\.\d{4} - "
                    r"val_loss: \d+\.\d{4} - val_mse: \d+\.\d{4} - \d+(us|ms|s)/epoch", lines[1])
    assert "[" not in out and "\r" not in out


def test_fit_progress_bar_on_terminal(capsys):
    out = fit_output(capsys, 1, stream=FakeTerminal())
    assert out.startswith("Epoch 1/2\n")
    assert "\r" in out
    final = [seg for seg in out.split("\r") if seg.startswith("2/2 [")]
    assert final, out
    assert re.match(r"2/2 \[=+\] - \d+s \d+(us|ms|s)/step - loss: \d+\.\d{4} - "
                    r"mse: \d+\.\d{4} - val_loss: \d+\.\d{4} - val_mse: \d+\.\d{4}",
                    final[0])


@fastgrad_only
def test_progbar_bar_shapes():
    from fastgrad.keras._progbar import Progbar
    stream = FakeTerminal()
    bar = Progbar(10, verbose=1, stream=stream, interval=0)
    bar.update(3, [("loss", 0.5)])
    bar.update(10, [("loss", 0.25)])
    parts = stream.getvalue().split("\r")
    assert parts[1].startswith(" 3/10 [========>.....................] - ETA:")
    assert parts[1].rstrip().endswith("- loss: 0.5000")
    assert parts[2].startswith("10/10 [==============================] - ")
    assert parts[2].endswith("- loss: 0.2500\n")


def test_compile_and_fit_bad_inputs():
    X, y = toy_regression(10)
    model = keras.Sequential([keras.layers.Dense(1, input_shape=(3,))])
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(X, y, verbose=0)
    if not IS_TF:  # tf.keras only complains once fit starts
        with pytest.raises(ValueError, match="Unknown loss function"):
            model.compile(optimizer="sgd", loss="no_such_loss")
    with pytest.raises(ValueError, match="Unknown optimizer"):
        model.compile(optimizer="no_such_optimizer", loss="mse")
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="cardinality"):
        model.fit(X, y[:7], verbose=0)
    with pytest.raises(ValueError, match=r", 4\)"):
        model.fit(np.ones((10, 4), dtype=np.float32), y, verbose=0)
    clf = keras.Sequential([keras.layers.Dense(3, activation="softmax", input_shape=(3,))])
    clf.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    with pytest.raises((ValueError, tf.errors.InvalidArgumentError)):
        clf.fit(X, np.ones((10, 2)), verbose=0)


# the seed-004 custom training loop -------------------------------------------

def seed004_loop(loss_of, epochs):
    """Seed 004's loop on the diabetes data (target in hundreds, the scale of
    the tutorial's housing prices); returns (valid mse, var(y_val), last
    train metric, var(y_train))."""
    np.random.seed(42)
    tf.random.set_seed(42)
    X, y = load_diabetes()
    y = y / 100.0
    X_train_all, X_test, y_train_all, y_test = train_test_split(X, y, random_state=1)
    X_train, X_val, y_train, y_val = train_test_split(X_train_all, y_train_all,
                                                      random_state=1)
    scaler = StandardScaler()
    X_train_scaled = scaler.fit_transform(X_train)
    X_val_scaled = scaler.transform(X_val)
    model = seed004_model(X_train.shape[1])
    optimizer = keras.optimizers.SGD()
    metric = keras.metrics.MeanSquaredError()
    steps = len(X_train) // 32
    for epoch in range(epochs):
        metric.reset_states()
        for step in range(steps):
            idx = np.random.randint(0, len(X_train), size=32)
            x_batch, y_batch = X_train_scaled[idx], y_train[idx]
            with tf.GradientTape() as tape:
                y_hat = model(x_batch)
                loss = tf.reduce_mean(loss_of(y_hat, y_batch))
                metric(y_batch, y_hat)
            grads = tape.gradient(loss, model.variables)
            assert all(g is not None and g.dtype == tf.float32 for g in grads)
            optimizer.apply_gradients(zip(grads, model.variables))
    y_valid_hat = model(X_val_scaled)
    valid = tf.reduce_mean(keras.losses.mean_squared_error(y_val[:, None], y_valid_hat))
    return float(valid), np.var(y_val), float(metric.result()), np.var(y_train)


@fastgrad_only
def test_seed004_custom_loop_lowers_validation_mse():
    # labels shaped like the predictions: the model learns
    valid, var_val, train, var_train = seed004_loop(
        lambda y_hat, y: keras.losses.mean_squared_error(y_hat, y[:, None]), 40)
    assert valid < 0.6 * var_val
    assert train < 0.6 * var_train


@fastgrad_only
def test_seed004_literal_loop_reproduces_tf_plateau():
    # the tutorial's own call broadcasts [32, 1] against [32], as TF 2 does,
    # so the model learns the mean and the MSE stays near the variance
    valid, var_val, _, _ = seed004_loop(keras.losses.mean_squared_error, 15)
    assert 0.8 * var_val < valid < 1.5 * var_val
