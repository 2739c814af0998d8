"""Forward mode: every op's JVP, and ``ForwardAccumulator`` as TF has it.

* Every case of the systematic op checker (test_ops_grad.CASES): the
  accumulator's JVP against central differences of f along the tangent,
  and against the reverse sweep through the inner-product identity
  <u, J v> = <J^T u, v>; ``fastgrad.test.check_gradients`` in both modes,
  first and second order (the batched forward sweep over a recording).
* ``ForwardAccumulator`` behaviour (nesting with tapes both ways, with
  itself, variables, custom gradients, unconnected values, errors). The
  TF-behaviour tests pass under ``FASTGRAD_TEST_BACKEND=tensorflow`` too.
"""

import zlib

import numpy as np
import pytest

import fastgrad as tf
from _fgutil import IS_TF, dense, fastgrad_only
from test_ops_grad import CASES, _as_list

GRAD_CASES = [pytest.param(c, id=c.id) for c in CASES if c.grad and not c.fastgrad_only]


def _tangents(case, xs):
    rng = np.random.default_rng(zlib.crc32(("v" + case.id).encode()))
    return [rng.normal(size=np.shape(x)) for x in xs]


def _jvp(case, xs, vs):
    ts = [tf.constant(np.asarray(x, np.float64)) for x in xs]
    with tf.autodiff.ForwardAccumulator(ts, [tf.constant(v) for v in vs]) as acc:
        outs = _as_list(case.fn(*ts))
    return outs, [acc.jvp(o, unconnected_gradients=tf.UnconnectedGradients.ZERO) for o in outs]


@pytest.mark.parametrize("case", GRAD_CASES)
def test_jvp_matches_central_differences(case):
    xs = case.inputs()
    vs = _tangents(case, xs)
    _, jvps = _jvp(case, xs, vs)
    h = 1e-6

    def f_at(s):
        return [np.asarray(o, np.float64) for o in _as_list(case.fn(
            *[tf.constant(np.asarray(x, np.float64) + s * v) for x, v in zip(xs, vs)]))]

    plus, minus = f_at(h), f_at(-h)
    for j, p, m in zip(jvps, plus, minus):
        np.testing.assert_allclose(np.asarray(j), (p - m) / (2 * h), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", GRAD_CASES)
def test_jvp_vjp_inner_product_identity(case):
    xs = case.inputs()
    vs = _tangents(case, xs)
    outs, jvps = _jvp(case, xs, vs)
    rng = np.random.default_rng(zlib.crc32(("u" + case.id).encode()))
    us = [rng.normal(size=np.shape(o)) for o in outs]
    ts = [tf.constant(np.asarray(x, np.float64)) for x in xs]
    with tf.GradientTape() as tape:
        tape.watch(ts)
        outs2 = _as_list(case.fn(*ts))
    vjps = tape.gradient(outs2, ts, output_gradients=[tf.constant(u) for u in us],
                         unconnected_gradients=tf.UnconnectedGradients.ZERO)
    lhs = sum(float(np.sum(u * np.asarray(j))) for u, j in zip(us, jvps))
    rhs = sum(float(np.sum(dense(g) * v)) for g, v in zip(vjps, vs))
    assert lhs == pytest.approx(rhs, rel=1e-12, abs=1e-12)


SINGLE_OUTPUT = [c for c in GRAD_CASES
                 if not isinstance(c.values[0].fn(*[tf.constant(np.asarray(x, np.float64))
                                                    for x in c.values[0].inputs()]), (list, tuple))]


@fastgrad_only
@pytest.mark.parametrize("case", SINGLE_OUTPUT)
def test_check_gradients_both_modes(case):
    xs = [np.asarray(x, np.float64) for x in case.inputs()]
    tf.test.check_gradients(case.fn, xs, order=1, modes=("rev", "fwd"))
    tf.test.check_gradients(case.fn, xs, order=2, modes=("rev", "fwd"), rtol=1e-5, atol=1e-6)


# ------------------------------------------------------ TF's behaviour


def test_forward_over_backward_is_tf_doc_example():
    x = tf.constant([1.0, 2.0])
    with tf.autodiff.ForwardAccumulator(x, tf.constant([1.0, 0.0])) as acc:
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.reduce_sum(x ** 3.0)
        back = tape.gradient(y, x)
    np.testing.assert_array_equal(acc.jvp(back), [6.0, 0.0])
    np.testing.assert_array_equal(acc.jvp(x), [1.0, 0.0])
    assert float(acc.jvp(y)) == 3.0


def test_backward_over_forward():
    x = tf.constant([1.0, 2.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        with tf.autodiff.ForwardAccumulator(x, tf.constant([1.0, 0.0])) as acc:
            y = tf.sin(x) * x
        j = acc.jvp(y)
    g = tape.gradient(j, x)
    # d/dx (cos x * x + sin x) * v = (2 cos x - x sin x) v
    np.testing.assert_allclose(g, [2 * np.cos(1.0) - np.sin(1.0), 0.0], rtol=1e-6)


def test_nested_accumulators_give_second_derivative():
    x = tf.constant([1.0, 2.0])
    v = tf.constant([1.0, 0.0])
    with tf.autodiff.ForwardAccumulator(x, v) as outer:
        with tf.autodiff.ForwardAccumulator(x, v) as inner:
            y = x ** 3.0
        d = inner.jvp(y)
    np.testing.assert_array_equal(d, [3.0, 0.0])
    np.testing.assert_array_equal(outer.jvp(d), [6.0, 0.0])
    np.testing.assert_array_equal(outer.jvp(y), [3.0, 0.0])


def test_unconnected_none_or_zero():
    x = tf.constant([1.0, 2.0])
    z = tf.constant(3.0)
    with tf.autodiff.ForwardAccumulator(x, tf.constant([1.0, 0.0])) as acc:
        y = x * 2.0
        w = z * 2.0
    assert acc.jvp(w) is None
    assert acc.jvp(z) is None
    assert float(acc.jvp(z, unconnected_gradients=tf.UnconnectedGradients.ZERO)) == 0.0
    out = acc.jvp({"a": y, "b": [x]})
    np.testing.assert_array_equal(out["a"], [2.0, 0.0])
    np.testing.assert_array_equal(out["b"][0], [1.0, 0.0])


def test_variable_primal():
    var = tf.Variable([1.0, 2.0])
    with tf.autodiff.ForwardAccumulator(var, tf.constant([1.0, 0.0])) as acc:
        y = var * var
    np.testing.assert_array_equal(acc.jvp(y), [2.0, 0.0])


def test_jvp_inside_the_context():
    x = tf.constant([1.0, 2.0])
    with tf.autodiff.ForwardAccumulator(x, tf.constant([1.0, 0.0])) as acc:
        y = x * 2.0
        np.testing.assert_array_equal(acc.jvp(y), [2.0, 0.0])


def test_no_tangent_through_sign_cast_and_stop_gradient():
    x = tf.constant([1.0, 2.0])
    with tf.autodiff.ForwardAccumulator(x, tf.constant([1.0, 0.0])) as acc:
        a = tf.sign(x)
        b = tf.cast(x, tf.int32)
        c = tf.stop_gradient(x)
    assert acc.jvp(a) is None and acc.jvp(b) is None and acc.jvp(c) is None


def test_custom_gradient_output_carries_the_inner_tangent():
    # TF eager: the forward ops inside the function give the tangent
    @tf.custom_gradient
    def f(x):
        def g(dy):
            return dy * 3.0
        return x * 2.0, g

    x = tf.constant([1.0, 2.0])
    with tf.autodiff.ForwardAccumulator(x, tf.constant([1.0, 0.0])) as acc:
        y = f(x)
    np.testing.assert_array_equal(acc.jvp(y), [2.0, 0.0])


@fastgrad_only
def test_custom_gradient_without_inner_tangent_uses_double_vjp():
    @tf.custom_gradient
    def f(x):
        def g(dy):
            return dy * 3.0
        return tf.constant(x.numpy() * 2.0), g  # computed outside fastgrad

    x = tf.constant([1.0, 2.0])
    with tf.autodiff.ForwardAccumulator(x, tf.constant([1.0, 0.5])) as acc:
        y = f(x)
    np.testing.assert_array_equal(acc.jvp(y), [3.0, 1.5])


def test_duplicate_primal_error():
    x = tf.constant([1.0, 2.0])
    with pytest.raises(ValueError, match="specified as a primal multiple times"):
        tf.autodiff.ForwardAccumulator([x, x], [x, x])


def test_reenter_error():
    x = tf.constant(1.0)
    acc = tf.autodiff.ForwardAccumulator(x, 1.0)
    with acc:
        with pytest.raises(ValueError, match="Accumulator is already recording"):
            with acc:
                pass


def test_integer_tangent_for_float_primal_error():
    with pytest.raises((ValueError, TypeError)):
        tf.autodiff.ForwardAccumulator(tf.constant([1.0, 2.0]), tf.constant([1, 2]))


def test_python_float_tangent():
    x = tf.constant(2.0)
    with tf.autodiff.ForwardAccumulator(x, 1.0) as acc:
        y = x * x
    assert float(acc.jvp(y)) == 4.0


@fastgrad_only
def test_tangent_shape_mismatch_is_an_error():
    # TF silently accepts it; fastgrad refuses a tangent that is not the primal's shape
    with pytest.raises(ValueError, match="shape"):
        tf.autodiff.ForwardAccumulator(tf.constant([1.0, 2.0]), tf.constant([1.0, 2.0, 3.0]))


def test_forward_mode_in_threads_is_per_thread():
    import threading

    x = tf.constant(2.0)
    seen = []

    def other():
        seen.append(float(x * x))  # computed while the main thread's accumulator is active

    with tf.autodiff.ForwardAccumulator(x, 1.0) as acc:
        th = threading.Thread(target=other)
        th.start()
        th.join()
        y = x * x
    assert seen == [4.0] and float(acc.jvp(y)) == 4.0


@pytest.mark.skipif(IS_TF, reason="fastgrad-only")
def test_accumulator_freed_with_its_tangents():
    import gc
    import weakref

    x = tf.constant([1.0, 2.0])
    acc = tf.autodiff.ForwardAccumulator(x, tf.constant([1.0, 0.0]))
    with acc:
        y = x * 3.0
    t = acc.jvp(y)
    ref = weakref.ref(acc)
    del acc
    gc.collect()
    assert ref() is None
    np.testing.assert_array_equal(t, [3.0, 0.0])
