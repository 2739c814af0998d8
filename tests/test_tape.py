"""GradientTape behaviour (API.md "Tapes").

Expected values, messages and quirks were taken from TensorFlow 2.21.0 runs;
the module passes under ``FASTGRAD_TEST_BACKEND=tensorflow`` apart from the
tests marked ``fastgrad_only``.
"""

import logging
import sys
import threading
import warnings

import numpy as np
import pytest

import fastgrad as tf
from _fgutil import assert_close, capture_warnings, dense, fastgrad_only, numeric_grad

NON_PERSISTENT_MSG = (
    "A non-persistent GradientTape can only be used to compute one set of gradients (or jacobians)"
)
PERSISTENT_INSIDE_MSG = "Calling GradientTape.gradient on a persistent tape inside its context is significantly less efficient"


def f32(x):
    return tf.constant(np.asarray(x, dtype=np.float32))


def f64(x):
    return tf.constant(np.asarray(x, dtype=np.float64))


# ---------------------------------------------------------------- basics


def test_watch_constant_gradient():
    x = tf.constant(3.0)
    with tf.GradientTape() as t:
        t.watch(x)
        y = x * x
    g = t.gradient(y, x)
    assert isinstance(g, tf.Tensor)
    assert g.dtype == tf.float32 and g.shape == ()
    assert float(g) == 6.0


def test_unwatched_constant_gives_none():
    x = tf.constant(3.0)
    with tf.GradientTape() as t:
        y = x * x
    assert t.gradient(y, x) is None


def test_variable_watched_automatically():
    v = tf.Variable([1.0, 2.0])
    with tf.GradientTape() as t:
        y = tf.reduce_sum(v * v)
    np.testing.assert_array_equal(t.gradient(y, v).numpy(), [2.0, 4.0])


def test_non_trainable_variable_not_watched():
    v1 = tf.Variable(2.0)
    vnt = tf.Variable(2.0, trainable=False)
    with tf.GradientTape() as t:
        y = vnt * v1
    g = t.gradient(y, [vnt, v1])
    assert g[0] is None
    assert float(g[1]) == 2.0
    assert len(t.watched_variables()) == 1


def test_non_trainable_variable_watched_explicitly():
    v1 = tf.Variable(2.0)
    vnt = tf.Variable(3.0, trainable=False)
    with tf.GradientTape() as t:
        t.watch(vnt)
        y = vnt * v1
    g = t.gradient(y, [vnt, v1])
    assert float(g[0]) == 2.0 and float(g[1]) == 3.0


def test_watch_accessed_variables_false():
    v1 = tf.Variable(2.0)
    v2 = tf.Variable(3.0)
    with tf.GradientTape(watch_accessed_variables=False) as t:
        t.watch(v1)
        y = v1 * v2
    g = t.gradient(y, [v1, v2])
    assert float(g[0]) == 3.0
    assert g[1] is None
    wv = t.watched_variables()
    assert len(wv) == 1 and wv[0] is v1


def test_watched_variables_order_and_type():
    v1 = tf.Variable(2.0)
    v2 = tf.Variable(3.0)
    with tf.GradientTape() as t:
        _ = v2 * v1 * v2
    wv = t.watched_variables()
    assert isinstance(wv, tuple)
    assert len(wv) == 2
    # TF: "Returns variables watched by this tape in order of construction."
    assert wv[0] is v1 and wv[1] is v2
    with tf.GradientTape() as t2:
        t2.watch(tf.constant(1.0))
    assert t2.watched_variables() == ()


def test_watch_nest():
    a = tf.constant(1.0)
    b = tf.constant(2.0)
    with tf.GradientTape() as t:
        t.watch({"a": a, "b": [b]})
        y = a * b
    g = t.gradient(y, [a, b])
    assert float(g[0]) == 2.0 and float(g[1]) == 1.0


def test_watch_list():
    a = tf.constant(1.0)
    b = tf.constant(2.0)
    with tf.GradientTape() as t:
        t.watch([a, b])
        y = a * a * b
    g = t.gradient(y, (a, b))
    assert isinstance(g, tuple)
    assert float(g[0]) == 4.0 and float(g[1]) == 1.0


# ---------------------------------------------------------------- nests of sources/targets


@pytest.fixture
def ab_tape():
    a = tf.constant(1.0)
    b = tf.constant(2.0)
    with tf.GradientTape(persistent=True) as t:
        t.watch([a, b])
        y = a * b
        y2 = a + b
    return t, a, b, y, y2


def test_dict_sources(ab_tape):
    t, a, b, y, _ = ab_tape
    g = t.gradient(y, {"a": a, "b": b})
    assert isinstance(g, dict) and set(g) == {"a", "b"}
    assert float(g["a"]) == 2.0 and float(g["b"]) == 1.0


def test_tuple_sources(ab_tape):
    t, a, b, y, _ = ab_tape
    g = t.gradient(y, (a, b))
    assert isinstance(g, tuple) and len(g) == 2
    assert float(g[0]) == 2.0 and float(g[1]) == 1.0


def test_list_sources(ab_tape):
    t, a, b, y, _ = ab_tape
    g = t.gradient(y, [a, b])
    assert isinstance(g, list) and len(g) == 2
    assert float(g[0]) == 2.0 and float(g[1]) == 1.0


def test_nested_sources(ab_tape):
    t, a, b, y, _ = ab_tape
    g = t.gradient(y, [a, (b, {"k": a})])
    assert isinstance(g, list) and isinstance(g[1], tuple) and isinstance(g[1][1], dict)
    assert float(g[0]) == 2.0 and float(g[1][0]) == 1.0 and float(g[1][1]["k"]) == 2.0


def test_list_target_sums(ab_tape):
    t, a, b, y, y2 = ab_tape
    g = t.gradient([y, y2], a)
    assert float(g) == 3.0  # 2 + 1


def test_tuple_and_dict_targets_sum(ab_tape):
    t, a, b, y, y2 = ab_tape
    g = t.gradient((y, y2), [a, b])
    assert float(g[0]) == 3.0 and float(g[1]) == 2.0
    g = t.gradient({"y": y, "y2": y2}, a)
    assert float(g) == 3.0


def test_seed_list_target():
    x = tf.Variable(5.0)
    with tf.GradientTape() as tape:
        z1 = 3 * x
        z2 = x**2
    assert float(tape.gradient([z1, z2], x)) == 13.0


def test_target_none_raises_typeerror():
    # TF: TypeError('Argument `target` should be a list or nested structure of
    # Tensors, Variables or CompositeTensors to be differentiated, but received None.')
    a = tf.constant(1.0)
    with tf.GradientTape() as t:
        t.watch(a)
    with pytest.raises(TypeError):
        t.gradient(None, a)


def test_gradient_of_source_itself_is_one():
    a = tf.constant(2.0)
    with tf.GradientTape() as t:
        t.watch(a)
    assert float(t.gradient(a, a)) == 1.0


def test_constant_target_gives_none():
    a = tf.constant(2.0)
    with tf.GradientTape() as t:
        t.watch(a)
    assert t.gradient(tf.constant(1.0), a) is None


# ---------------------------------------------------------------- unconnected / output_gradients


def test_unconnected_none_and_zero():
    x = tf.constant(2.0)
    z = tf.constant([1.0, 2.0])
    with tf.GradientTape(persistent=True) as t:
        t.watch([x, z])
        y = x * x
    g = t.gradient(y, [x, z])
    assert float(g[0]) == 4.0 and g[1] is None
    g = t.gradient(y, [x, z], unconnected_gradients=tf.UnconnectedGradients.NONE)
    assert g[1] is None
    g = t.gradient(y, [x, z], unconnected_gradients=tf.UnconnectedGradients.ZERO)
    assert float(g[0]) == 4.0
    assert isinstance(g[1], tf.Tensor)
    assert g[1].shape == (2,) and g[1].dtype == tf.float32
    np.testing.assert_array_equal(g[1].numpy(), [0.0, 0.0])


def test_unconnected_zero_by_string():
    # TF accepts the enum's value 'zero' too
    x = tf.constant(2.0)
    z = tf.constant([1.0, 2.0], tf.float64)
    with tf.GradientTape() as t:
        t.watch([x, z])
        y = x * x
    g = t.gradient(y, z, unconnected_gradients="zero")
    assert g.dtype == tf.float64
    np.testing.assert_array_equal(g.numpy(), [0.0, 0.0])


def test_unconnected_enum_values():
    assert tf.UnconnectedGradients.ZERO.value == "zero"
    assert tf.UnconnectedGradients.NONE.value == "none"


def test_unconnected_variable_zero():
    v = tf.Variable([[1.0, 2.0]])
    w = tf.Variable(3.0)
    with tf.GradientTape() as t:
        y = w * 2.0
    g = t.gradient(y, [v, w], unconnected_gradients=tf.UnconnectedGradients.ZERO)
    np.testing.assert_array_equal(g[0].numpy(), [[0.0, 0.0]])
    assert float(g[1]) == 2.0


def test_output_gradients():
    x = tf.constant([1.0, 2.0, 3.0])
    with tf.GradientTape() as t:
        t.watch(x)
        y = x * x
    g = t.gradient(y, x, output_gradients=tf.constant([1.0, 10.0, 100.0]))
    np.testing.assert_array_equal(g.numpy(), [2.0, 40.0, 600.0])


def test_output_gradients_list_targets():
    x = tf.constant([1.0, 2.0, 3.0])
    with tf.GradientTape() as t:
        t.watch(x)
        y = x * x
        y2 = 2 * y
    g = t.gradient([y, y2], x, output_gradients=[tf.constant([1.0, 1.0, 1.0]), tf.constant([1.0, 0.0, 0.0])])
    # TF 2.21: [2*1 + 4*1, 4, 6]
    np.testing.assert_array_equal(g.numpy(), [6.0, 4.0, 6.0])


def test_output_gradients_bad_shape():
    # TF: InvalidArgumentError 'Incompatible shapes: [2] vs. [3]'
    x = tf.constant([1.0, 2.0, 3.0])
    with tf.GradientTape() as t:
        t.watch(x)
        y = x * x
    with pytest.raises(tf.errors.InvalidArgumentError):
        t.gradient(y, x, output_gradients=tf.constant([1.0, 10.0]))


def test_non_scalar_target_gives_gradient_of_sum():
    x = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    with tf.GradientTape() as t:
        t.watch(x)
        y = x * x * x
    np.testing.assert_array_equal(t.gradient(y, x).numpy(), 3 * np.array([[1, 4], [9, 16]]))


def test_gradient_wrt_intermediate():
    x = tf.ones((2, 2))
    with tf.GradientTape(persistent=True) as t:
        t.watch(x)
        y = tf.reduce_sum(x)
        z = tf.multiply(y, y)
    assert float(t.gradient(z, y)) == 8.0
    np.testing.assert_array_equal(t.gradient(z, x).numpy(), np.full((2, 2), 8.0))


def test_gradient_wrt_unwatched_intermediate_of_watched():
    a = tf.constant(2.0)
    with tf.GradientTape() as t:
        t.watch(a)
        b = a * 3.0
        c = b * b
    assert float(t.gradient(c, b)) == 12.0


# ---------------------------------------------------------------- persistence


def test_non_persistent_second_call_raises():
    x = tf.constant(3.0)
    with tf.GradientTape() as t:
        t.watch(x)
        y = x * x
    t.gradient(y, x)
    with pytest.raises(RuntimeError) as ei:
        t.gradient(y, x)
    assert str(ei.value) == NON_PERSISTENT_MSG


def test_non_persistent_jacobian_then_gradient_raises():
    x = tf.constant([3.0])
    with tf.GradientTape() as t:
        t.watch(x)
        y = x * x
    t.jacobian(y, x)
    with pytest.raises(RuntimeError) as ei:
        t.gradient(y, x)
    assert str(ei.value) == NON_PERSISTENT_MSG


def test_persistent_many_calls():
    x = tf.constant(3.0)
    with tf.GradientTape(persistent=True) as t:
        t.watch(x)
        y = x * x
        z = y * y
    assert float(t.gradient(z, x)) == 108.0
    assert float(t.gradient(y, x)) == 6.0
    assert float(t.gradient(z, x)) == 108.0
    del t


def test_gradient_inside_context_non_persistent():
    x = tf.constant(3.0)
    with capture_warnings() as msgs:
        with tf.GradientTape() as t:
            t.watch(x)
            y = x * x
            g = t.gradient(y, x)
    assert float(g) == 6.0
    assert not any(PERSISTENT_INSIDE_MSG in m for m in msgs)
    with pytest.raises(RuntimeError, match="non-persistent"):
        t.gradient(y, x)


def test_gradient_inside_context_persistent_warns_and_records():
    # TF logs (logger 'tensorflow', WARNING):
    # "Calling GradientTape.gradient on a persistent tape inside its context is
    # significantly less efficient than calling it outside the context (it
    # causes the gradient ops to be recorded on the tape, leading to increased
    # CPU and memory usage). Only call GradientTape.gradient inside the context
    # if you actually want to trace the gradient in order to compute higher
    # order derivatives."  fastgrad may use warnings.warn or logging.
    x = tf.constant(3.0)
    with capture_warnings() as msgs:
        with tf.GradientTape(persistent=True) as t:
            t.watch(x)
            y = x * x
            g = t.gradient(y, x)
    assert float(g) == 6.0
    assert any(PERSISTENT_INSIDE_MSG in m for m in msgs), msgs
    # the gradient computation was recorded on the same tape: d(2x)/dx = 2
    assert float(t.gradient(g, x)) == 2.0


@fastgrad_only
def test_gradient_inside_context_persistent_logs_once(caplog):
    # one channel, as TF: the "fastgrad" logger (TF's is "tensorflow"), no
    # Python warning besides it
    x = tf.constant(3.0)
    with caplog.at_level(logging.WARNING, logger="fastgrad"), \
            warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        with tf.GradientTape(persistent=True) as t:
            t.watch(x)
            y = x * x
            t.gradient(y, x)
    assert [r.getMessage() for r in caplog.records] == [
        "Calling GradientTape.gradient on a persistent tape inside its context is significantly "
        "less efficient than calling it outside the context (it causes the gradient ops to be "
        "recorded on the tape, leading to increased CPU and memory usage). Only call "
        "GradientTape.gradient inside the context if you actually want to trace the gradient in "
        "order to compute higher order derivatives."]
    assert caplog.records[0].name == "fastgrad" and caplog.records[0].levelname == "WARNING"
    assert [str(m.message) for m in w] == []


@fastgrad_only
def test_watch_int_logs_tf_text(caplog):
    with caplog.at_level(logging.WARNING, logger="fastgrad"):
        with tf.GradientTape() as t:
            t.watch(tf.constant([1, 2]))
    assert [r.getMessage() for r in caplog.records] == [
        "The dtype of the watched tensor must be floating (e.g. tf.float32), got tf.int32"]


# ---------------------------------------------------------------- higher order


def test_second_derivative_seed():
    x = tf.Variable(1.0)
    with tf.GradientTape() as t:
        with tf.GradientTape() as t2:
            y = x * x * x
        dy_dx = t2.gradient(y, x)
    d2y_dx2 = t.gradient(dy_dx, x)
    assert float(dy_dx) == 3.0
    assert float(d2y_dx2) == 6.0


def test_third_order():
    x = tf.Variable(2.0)
    with tf.GradientTape() as t3:
        with tf.GradientTape() as t2:
            with tf.GradientTape() as t1:
                y = x**4
            g1 = t1.gradient(y, x)
        g2 = t2.gradient(g1, x)
    g3 = t3.gradient(g2, x)
    assert float(g1) == 32.0 and float(g2) == 48.0 and float(g3) == 48.0


def test_fourth_order_float64_sin():
    x = f64(0.7)
    with tf.GradientTape() as t4:
        t4.watch(x)
        with tf.GradientTape() as t3:
            t3.watch(x)
            with tf.GradientTape() as t2:
                t2.watch(x)
                with tf.GradientTape() as t1:
                    t1.watch(x)
                    y = tf.sin(x)
                g1 = t1.gradient(y, x)
            g2 = t2.gradient(g1, x)
        g3 = t3.gradient(g2, x)
    g4 = t4.gradient(g3, x)
    assert_close(
        [g1, g2, g3, g4],
        [np.cos(0.7), -np.sin(0.7), -np.cos(0.7), np.sin(0.7)],
        rtol=1e-12,
        atol=1e-12,
    )


def test_mixed_partial():
    a = tf.Variable(2.0)
    b = tf.Variable(3.0)
    with tf.GradientTape() as o:
        with tf.GradientTape() as i:
            y = a * a * b + tf.sin(a * b)
        ga = i.gradient(y, a)
    gab = o.gradient(ga, b)
    assert_close(ga, 2 * 2.0 * 3.0 + 3.0 * np.cos(6.0), rtol=1e-6)
    # d2y/da db = 2a + cos(ab) - ab sin(ab) = 6.6366632758...
    assert_close(gab, 2 * 2.0 + np.cos(6.0) - 6.0 * np.sin(6.0), rtol=1e-6)


def test_hessian_via_nested_tapes():
    x = tf.Variable([1.0, 2.0])
    with tf.GradientTape() as o:
        with tf.GradientTape() as i:
            y = x[0] ** 2 * x[1] + x[1] ** 3
        g = i.gradient(y, x)
    h = o.jacobian(g, x)
    np.testing.assert_allclose(g.numpy(), [4.0, 13.0])
    np.testing.assert_allclose(h.numpy(), [[4.0, 2.0], [2.0, 12.0]])


def test_hessian_rows_float64(rng):
    A = rng.normal(size=(3, 3))
    A = A + A.T
    x0 = rng.normal(size=3)
    x = f64(x0)
    with tf.GradientTape(persistent=True) as o:
        o.watch(x)
        with tf.GradientTape() as i:
            i.watch(x)
            Ax = tf.reshape(tf.matmul(f64(A), tf.reshape(x, (3, 1))), (3,))
            y = 0.5 * tf.reduce_sum(x * Ax) + tf.reduce_sum(tf.exp(x))
        g = i.gradient(y, x)
        rows = [g[k] for k in range(3)]
    H = np.stack([o.gradient(r, x).numpy() for r in rows])
    np.testing.assert_allclose(H, A + np.diag(np.exp(x0)), rtol=1e-12, atol=1e-12)


def test_seed_hessian_with_none():
    def g(x1, x2):
        return (x1 + 5) * (x2**2)

    x1 = tf.Variable(2.0)
    x2 = tf.Variable(3.0)
    with tf.GradientTape(persistent=True) as outer_tape:
        with tf.GradientTape(persistent=True) as inner_tape:
            z = g(x1, x2)
        inner_grads = inner_tape.gradient(z, [x1, x2])
    outer = [outer_tape.gradient(ig, [x1, x2]) for ig in inner_grads]
    assert outer[0][0] is None
    assert float(outer[0][1]) == 6.0
    assert float(outer[1][0]) == 6.0
    assert float(outer[1][1]) == 14.0


# ---------------------------------------------------------------- stop_recording / reset / stop_gradient


def test_stop_recording():
    x = tf.constant(3.0)
    with tf.GradientTape() as t:
        t.watch(x)
        with t.stop_recording():
            y = x * x
        z = x * y
    assert float(t.gradient(z, x)) == 9.0


def test_stop_recording_outside_context_raises():
    # TF: after a non-persistent tape has been used, RuntimeError('Trying to
    # stop recording a tape which is not recording.'); on an exited, unused
    # tape TF raises ValueError('Tape is not recording.').
    x = tf.constant(1.0)
    t = tf.GradientTape()
    with t:
        t.watch(x)
        y = x * x
    t.gradient(y, x)
    with pytest.raises(RuntimeError, match="not recording"):
        with t.stop_recording():
            pass
    t2 = tf.GradientTape()
    with t2:
        pass
    with pytest.raises((RuntimeError, ValueError), match="not recording"):
        with t2.stop_recording():
            pass


def test_reset():
    x = tf.constant(3.0)
    with tf.GradientTape() as t:
        t.watch(x)
        _ = x * x  # recorded, then dropped by reset()
        t.reset()
        t.watch(x)
        z = x * x * x
    assert float(t.gradient(z, x)) == 27.0


def test_reset_forgets_watches():
    x = tf.constant(3.0)
    with tf.GradientTape() as t:
        t.watch(x)
        _ = x * x  # recorded, then dropped by reset()
        t.reset()
        z = x * x * x
    assert t.gradient(z, x) is None


def test_reset_keeps_variable_autowatch():
    v = tf.Variable(2.0)
    with tf.GradientTape() as t:
        _ = v * v  # recorded, then dropped by reset()
        t.reset()
        z = v * v * v
    assert float(t.gradient(z, v)) == 12.0


def test_stop_gradient():
    x = tf.constant(3.0)
    with tf.GradientTape() as t:
        t.watch(x)
        y = x * tf.stop_gradient(x * x)
    assert float(t.gradient(y, x)) == 9.0


def test_stop_gradient_values():
    x = tf.constant([1.0, -2.0])
    np.testing.assert_array_equal(tf.stop_gradient(x).numpy(), [1.0, -2.0])


# ---------------------------------------------------------------- jacobian / batch_jacobian


def test_jacobian_vector():
    x = tf.constant([1.0, 2.0, 3.0])
    u = tf.constant([5.0, 6.0])
    with tf.GradientTape(persistent=True) as t:
        t.watch([x, u])
        y = x * x
        s = tf.reduce_sum(x)
        m = tf.reshape(x, (3, 1)) * tf.constant([[1.0, 2.0]])
    np.testing.assert_array_equal(t.jacobian(y, x).numpy(), np.diag([2.0, 4.0, 6.0]))
    np.testing.assert_array_equal(t.jacobian(s, x).numpy(), [1.0, 1.0, 1.0])
    jm = t.jacobian(m, x)
    assert jm.shape == (3, 2, 3)
    exp = np.zeros((3, 2, 3))
    for i in range(3):
        exp[i, 0, i] = 1.0
        exp[i, 1, i] = 2.0
    np.testing.assert_array_equal(jm.numpy(), exp)
    # unconnected: None by default, zeros of shape target+source with ZERO
    assert t.jacobian(y, u) is None
    jz = t.jacobian(y, u, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    assert jz.shape == (3, 2)
    np.testing.assert_array_equal(jz.numpy(), np.zeros((3, 2)))
    jl = t.jacobian(y, [x, u])
    assert isinstance(jl, list) and jl[1] is None
    np.testing.assert_array_equal(jl[0].numpy(), np.diag([2.0, 4.0, 6.0]))
    jd = t.jacobian(y, {"x": x})
    assert set(jd) == {"x"}


def test_jacobian_matches_finite_differences(rng):
    W = rng.normal(size=(4, 3))
    x0 = rng.normal(size=(3,))

    def fn(x):
        return tf.tanh(tf.reshape(tf.matmul(f64(W), tf.reshape(x, (3, 1))), (4,))) * tf.reduce_sum(x * x)

    x = f64(x0)
    with tf.GradientTape() as t:
        t.watch(x)
        y = fn(x)
    J = t.jacobian(y, x).numpy()
    assert J.shape == (4, 3)
    Jn = np.zeros((4, 3))
    for k in range(4):
        Jn[k] = numeric_grad(lambda xs: fn(f64(xs[0])).numpy()[k], [x0])[0]
    np.testing.assert_allclose(J, Jn, rtol=1e-6, atol=1e-8)


def test_batch_jacobian():
    xb = tf.constant([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    ub = tf.constant([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    with tf.GradientTape(persistent=True) as t:
        t.watch([xb, ub])
        yb = xb * xb
        yb3 = tf.stack([xb[:, 0] * xb[:, 1], xb[:, 0], xb[:, 1] ** 2, xb[:, 0] + xb[:, 1]], axis=1)
    bj = t.batch_jacobian(yb, xb)
    assert bj.shape == (3, 2, 2)
    np.testing.assert_array_equal(
        bj.numpy(), [[[2, 0], [0, 4]], [[6, 0], [0, 8]], [[10, 0], [0, 12]]]
    )
    bj3 = t.batch_jacobian(yb3, xb)
    assert bj3.shape == (3, 4, 2)
    np.testing.assert_array_equal(
        bj3.numpy()[1], [[4.0, 3.0], [1.0, 0.0], [0.0, 8.0], [1.0, 1.0]]
    )
    # TF's quirk: an unconnected source gives zeros (not None) from batch_jacobian
    bu = t.batch_jacobian(yb, ub)
    assert bu is not None
    assert bu.shape == (3, 2, 2)
    np.testing.assert_array_equal(bu.numpy(), np.zeros((3, 2, 2)))


def test_batch_jacobian_matches_finite_differences(rng):
    x0 = rng.normal(size=(4, 3))
    W = rng.normal(size=(3, 2))

    def fn(x):
        return tf.sin(tf.matmul(x, f64(W))) * tf.reduce_sum(x, axis=1, keepdims=True)

    x = f64(x0)
    with tf.GradientTape() as t:
        t.watch(x)
        y = fn(x)
    bj = t.batch_jacobian(y, x).numpy()
    assert bj.shape == (4, 2, 3)
    for b in range(4):
        for k in range(2):
            num = numeric_grad(lambda xs: fn(f64(xs[0])).numpy()[b, k], [x0])[0]
            np.testing.assert_allclose(bj[b, k], num[b], rtol=1e-6, atol=1e-8)


def test_batch_jacobian_mismatched_batch_raises():
    # TF: ValueError('Need first dimension of target shape ((3, 2)) and source shape ((1, 1)) to match.')
    x = tf.constant([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    other = tf.constant([[1.0]])
    with tf.GradientTape() as t:
        t.watch([x, other])
        y = x * x
    with pytest.raises(ValueError):
        t.batch_jacobian(y, other)


def test_batch_jacobian_rank1_raises():
    # TF: ValueError('Shape (2,) must have rank at least 2')
    x = tf.constant([1.0, 2.0])
    with tf.GradientTape() as t:
        t.watch(x)
        y = x * 2.0
    with pytest.raises(ValueError):
        t.batch_jacobian(y, x)


# ---------------------------------------------------------------- custom_gradient


def test_custom_gradient_log1pexp():
    @tf.custom_gradient
    def log1pexp(x):
        e = tf.exp(x)

        def grad(upstream):
            return upstream * (1 - 1 / (1 + e))

        return tf.math.log(1 + e), grad

    x = tf.constant(100.0)
    with tf.GradientTape() as t:
        t.watch(x)
        y = log1pexp(x)
    assert np.isinf(float(y))
    assert float(t.gradient(y, x)) == 1.0


def test_custom_gradient_replaces_rule():
    @tf.custom_gradient
    def clip_grad(x):
        def grad(dy):
            return tf.clip_by_value(dy, -0.1, 0.1)

        return tf.identity(x), grad

    x = tf.constant(2.0)
    with tf.GradientTape() as t:
        t.watch(x)
        y = clip_grad(x) * 5.0
    assert float(y) == 10.0
    assert_close(t.gradient(y, x), 0.1)


def test_custom_gradient_two_inputs():
    @tf.custom_gradient
    def two_in(a, b):
        def grad(dy):
            return dy * 2.0, dy * 3.0

        return a + b, grad

    a = tf.constant(1.0)
    b = tf.constant(2.0)
    with tf.GradientTape() as t:
        t.watch([a, b])
        y = two_in(a, b)
    g = t.gradient(y, [a, b])
    assert float(g[0]) == 2.0 and float(g[1]) == 3.0


def test_custom_gradient_second_order():
    @tf.custom_gradient
    def cube(x):
        def grad(dy):
            return dy * 3.0 * x * x

        return x * x * x, grad

    x = tf.constant(2.0)
    with tf.GradientTape() as t2:
        t2.watch(x)
        with tf.GradientTape() as t1:
            t1.watch(x)
            y = cube(x)
        g = t1.gradient(y, x)
    assert float(g) == 12.0
    assert float(t2.gradient(g, x)) == 12.0


# ---------------------------------------------------------------- control flow


def test_control_flow_seed():
    def f(x, y):
        output = 1.0
        for i in range(y):
            if i > 1 and i < 5:
                output = tf.multiply(output, x)
        return output

    def grad(x, y):
        with tf.GradientTape() as t:
            t.watch(x)
            out = f(x, y)
        return t.gradient(out, x)

    x = tf.convert_to_tensor(2.0)
    assert float(grad(x, 6)) == 12.0
    assert float(grad(x, 5)) == 12.0
    assert float(grad(x, 4)) == 4.0


def test_while_and_value_dependent_branch():
    x = tf.constant(1.5)
    with tf.GradientTape() as t:
        t.watch(x)
        y = x
        n = 0
        while float(y) < 10.0:
            y = y * x
            n += 1
        if float(y) > 0:
            y = y * 2.0
        else:
            y = -y
    # 1.5**k >= 10 first at k=6 -> y = 2 x^6 ; dy/dx = 12 x^5
    assert n == 5
    assert_close(t.gradient(y, x), 12 * 1.5**5, rtol=1e-6)


def test_recursion():
    def power(x, n):
        if n == 0:
            return tf.ones_like(x)
        return x * power(x, n - 1)

    x = f64(1.3)
    with tf.GradientTape() as t:
        t.watch(x)
        y = power(x, 7)
    assert_close(t.gradient(y, x), 7 * 1.3**6, rtol=1e-12)


# ---------------------------------------------------------------- threads


def test_tapes_are_per_thread():
    x = tf.constant(3.0)
    result = {}

    with tf.GradientTape() as t:
        t.watch(x)
        y = x * x

        def other():
            # runs while t is active on the main thread; must not be recorded
            result["z"] = x * x * x

        th = threading.Thread(target=other)
        th.start()
        th.join()
        z = result["z"]
    g = t.gradient([y, z], x)
    assert float(g) == 6.0  # only y contributes


def test_tape_in_thread_independent():
    out = {}

    def work():
        x = tf.constant(2.0)
        with tf.GradientTape() as t:
            t.watch(x)
            y = x * x * x
        out["g"] = float(t.gradient(y, x))

    x = tf.constant(5.0)
    with tf.GradientTape() as t:
        t.watch(x)
        th = threading.Thread(target=work)
        th.start()
        th.join()
        y = x * x
    assert out["g"] == 12.0
    assert float(t.gradient(y, x)) == 10.0


# ---------------------------------------------------------------- integer sources


def test_watch_int_tensor_warns_and_gives_none():
    # TF logs: "The dtype of the watched tensor must be floating (e.g. tf.float32), got tf.int32"
    xi = tf.constant(3)
    with capture_warnings() as msgs:
        with tf.GradientTape() as t:
            t.watch(xi)
            y = xi * xi
    assert any("must be floating" in m for m in msgs), msgs
    assert t.gradient(y, xi) is None


def test_int_variable_gradient_none():
    vi = tf.Variable(3)
    with capture_warnings():
        with tf.GradientTape() as t:
            y = vi * 2
    assert t.gradient(y, vi) is None


def test_int_source_among_float_sources():
    a = tf.constant([1, 2])
    b = tf.constant(2.0)
    with capture_warnings():
        with tf.GradientTape() as t:
            t.watch([a, b])
            y = b * tf.cast(a, tf.float32)
    g = t.gradient(y, [a, b])
    assert g[0] is None
    assert float(g[1]) == 3.0


def test_cast_and_comparison_not_differentiable_paths():
    x = tf.constant(1.5)
    with tf.GradientTape(persistent=True) as t:
        t.watch(x)
        yi = tf.cast(x, tf.int32)
        yb = tf.cast(x > 1.0, tf.float32)
        y64 = tf.cast(x, tf.float64) * 2
    assert t.gradient(yi, x) is None
    assert t.gradient(yb, x) is None
    g = t.gradient(y64, x)
    assert g.dtype == tf.float32 and float(g) == 2.0


# ---------------------------------------------------------------- long chains, failures, special values


@fastgrad_only
def test_million_op_chain():
    # TF eager would take minutes here; fastgrad must not recurse or crash.
    x = tf.constant(1.0, dtype=tf.float64)
    n = 1_000_000
    with tf.GradientTape() as t:
        t.watch(x)
        z = x
        for _ in range(n - 1):
            z = z + x
    assert float(z) == float(n)
    assert float(t.gradient(z, x)) == float(n)


def test_deep_chain_no_recursion_error():
    # deeper than Python's recursion limit even under TF
    x = tf.constant(1.0, dtype=tf.float64)
    n = 3 * sys.getrecursionlimit()
    with tf.GradientTape() as t:
        t.watch(x)
        z = x
        for _ in range(n):
            z = z * 1.0 + x
    assert float(t.gradient(z, x)) == float(n + 1)


def test_gradient_after_failed_op():
    x = tf.constant([1.0, 2.0])
    with tf.GradientTape() as t:
        t.watch(x)
        y = x * 3.0
        with pytest.raises(tf.errors.InvalidArgumentError):
            _ = x + tf.constant([1.0, 2.0, 3.0])
        with pytest.raises(tf.errors.InvalidArgumentError):
            _ = x + tf.constant([1.0, 2.0], tf.float64)
        z = y * x
    np.testing.assert_array_equal(t.gradient(z, x).numpy(), [6.0, 12.0])


def test_nan_and_inf_propagate():
    x = tf.constant([np.nan, np.inf, 1.0])
    with tf.GradientTape() as t:
        t.watch(x)
        y = x * 2 + tf.sin(x)
    g = t.gradient(y, x).numpy()
    assert np.isnan(g[0]) and np.isnan(g[1])
    assert_close(g[2], 2 + np.cos(1.0), rtol=1e-6)


def test_inf_times_zero_gradient():
    # TF 2.21: d(x * 0)/dx at x=inf is 0 (value is nan)
    x = tf.constant([np.inf])
    with tf.GradientTape() as t:
        t.watch(x)
        y = x * 0.0
    assert np.isnan(y.numpy()[0])
    np.testing.assert_array_equal(t.gradient(y, x).numpy(), [0.0])


def test_division_by_zero_gradients():
    # TF 2.21: a/b at b=0: d/da = [inf, inf, inf], d/db = [-inf, nan, inf]
    a = tf.constant([1.0, 0.0, -1.0])
    b = tf.constant([0.0, 0.0, 0.0])
    with tf.GradientTape() as t:
        t.watch([a, b])
        y = a / b
    ga, gb = t.gradient(y, [a, b])
    np.testing.assert_array_equal(ga.numpy(), [np.inf, np.inf, np.inf])
    gb = gb.numpy()
    assert gb[0] == -np.inf and np.isnan(gb[1]) and gb[2] == np.inf


def test_empty_tensor_gradients():
    x = tf.zeros((0, 3))
    w = tf.ones((3, 2))
    with tf.GradientTape(persistent=True) as t:
        t.watch([x, w])
        y = tf.matmul(x, w) * 2.0
        s = tf.reduce_sum(y)
        s0 = tf.reduce_sum(x * x, axis=0)
    gx, gw = t.gradient(s, [x, w])
    assert gx.shape == (0, 3)
    assert gw.shape == (3, 2)
    np.testing.assert_array_equal(gw.numpy(), np.zeros((3, 2)))
    assert float(s) == 0.0
    np.testing.assert_array_equal(s0.numpy(), [0.0, 0.0, 0.0])
    assert t.gradient(s0, x).shape == (0, 3)


def test_empty_reductions_values():
    e = tf.zeros((0, 3))
    assert float(tf.reduce_sum(e)) == 0.0
    assert float(tf.reduce_prod(e)) == 1.0
    assert np.isnan(float(tf.reduce_mean(e)))
    np.testing.assert_array_equal(tf.reduce_max(e, axis=0).numpy(), [-np.inf] * 3)
    np.testing.assert_array_equal(tf.reduce_min(e, axis=0).numpy(), [np.inf] * 3)


def test_float64_gradients_stay_float64():
    x = f64([1.0, 2.0])
    with tf.GradientTape() as t:
        t.watch(x)
        y = tf.reduce_sum(tf.exp(x) * 0.5)
    g = t.gradient(y, x)
    assert g.dtype == tf.float64
    np.testing.assert_allclose(g.numpy(), 0.5 * np.exp([1.0, 2.0]), rtol=1e-15)


def test_gather_gradient_dense():
    x = tf.constant([1.0, 2.0, 3.0])
    with tf.GradientTape() as t:
        t.watch(x)
        y = tf.gather(x, [0, 2, 0])
    g = t.gradient(y, x)
    np.testing.assert_array_equal(dense(g), [2.0, 0.0, 1.0])


@fastgrad_only
def test_gather_gradient_is_tensor():
    x = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    with tf.GradientTape() as t:
        t.watch(x)
        y = tf.gather(x, [1, 1], axis=1)
    g = t.gradient(y, x)
    assert isinstance(g, tf.Tensor)
    np.testing.assert_array_equal(g.numpy(), [[0.0, 2.0], [0.0, 2.0]])


def test_variable_gradient_through_value_and_indexing():
    v = tf.Variable([[1.0, 2.0], [3.0, 4.0]])
    with tf.GradientTape() as t:
        y = v[1, 0] * v.value()[0, 1] + tf.reduce_sum(v[:, 1])
    np.testing.assert_array_equal(dense(t.gradient(y, v)), [[0.0, 4.0], [2.0, 1.0]])


# ---------------------------------------------------------------- compact gradients
# reduce_sum's rule and the seeds of non-scalar targets hand the sweep a
# gradient in a compact (broadcastable) shape; unary rules consume it as
# is, everything else gets it expanded. These check the values on the paths
# that differ: a unary op right under a reduction, partial axes, non-scalar
# targets, gradients of intermediates, repeated and nested use.

COMPACT_UNARY = [
    ("square", lambda x: tf.square(x), lambda x: 2 * x),
    ("tanh", lambda x: tf.tanh(x), lambda x: 1 - np.tanh(x) ** 2),
    ("exp", lambda x: tf.exp(x), np.exp),
    ("sigmoid", lambda x: tf.sigmoid(x), lambda x: np.exp(-x) / (1 + np.exp(-x)) ** 2),
    ("abs", lambda x: tf.abs(x), np.sign),
    ("negative", lambda x: -x, lambda x: -np.ones_like(x)),
    ("identity", lambda x: tf.identity(x), np.ones_like),
]


@pytest.mark.parametrize("name, fn, dfn", COMPACT_UNARY, ids=[c[0] for c in COMPACT_UNARY])
@pytest.mark.parametrize("axis, keepdims", [(None, False), (0, False), (1, True), ((0, 1), True)])
def test_reduce_sum_of_unary_gradient(name, fn, dfn, axis, keepdims):
    x0 = np.random.default_rng(3).uniform(-1.5, 1.5, size=(3, 4))
    x = f64(x0)
    with tf.GradientTape() as t:
        t.watch(x)
        y = tf.reduce_sum(fn(x), axis=axis, keepdims=keepdims)
    g = t.gradient(y, x)
    assert tuple(g.shape) == (3, 4)
    assert_close(g, dfn(x0), rtol=1e-12, atol=1e-12)


def test_non_scalar_target_gradients():
    x0 = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
    x = f64(x0)
    with tf.GradientTape(persistent=True) as t:
        t.watch(x)
        h = tf.tanh(x)
        y = h * 3.0
        r = tf.reduce_sum(h, axis=0)
    # the target itself, an intermediate, and a source: all full-shape
    assert_close(t.gradient(y, y), np.ones((2, 3)))
    assert_close(t.gradient(y, h), np.full((2, 3), 3.0))
    assert_close(t.gradient(y, x), 3.0 * (1 - np.tanh(x0) ** 2), rtol=1e-12)
    assert_close(t.gradient([y, y], x), 6.0 * (1 - np.tanh(x0) ** 2), rtol=1e-12)
    assert_close(t.gradient(r, h), np.ones((2, 3)))
    assert_close(t.gradient(r, x), 1 - np.tanh(x0) ** 2, rtol=1e-12)
    del t


def test_big_workload_gradients_match_float64_reference():
    # the benchmark's step (benchmarks/bench_big.py), broadcast w and b,
    # against the closed form, first and second order
    rng = np.random.default_rng(5)
    x0 = rng.standard_normal((40, 30))
    w0, b0 = rng.standard_normal(30), rng.standard_normal(30)
    x, w, b = f64(x0), tf.Variable(w0), tf.Variable(b0)
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            loss = tf.reduce_sum(tf.square(tf.tanh(x * w + b)))
        gw, gb = inner.gradient(loss, [w, b])
        s = tf.reduce_sum(gb)
    t0 = np.tanh(x0 * w0 + b0)
    d = 2 * t0 * (1 - t0**2)
    assert_close(gw, (d * x0).sum(0), rtol=1e-12)
    assert_close(gb, d.sum(0), rtol=1e-12)
    # d/db of sum(gb) = sum over rows of d'(z), d(z) = 2 t (1 - t^2)
    hb = outer.gradient(s, b)
    assert_close(hb, (2 * (1 - t0**2) * (1 - 3 * t0**2)).sum(0), rtol=1e-10)
