"""Variables' and tapes' TF 2 details (issue 16's list), with TF 2.21's values
and messages (checked with FASTGRAD_TEST_BACKEND=tensorflow)."""
import re

import numpy as np
import pytest

import fastgrad as tf
from _fgutil import fastgrad_only


def test_variable_attributes_tf_code_reads():
    clip = lambda x: tf.clip_by_value(x, 0.0, 1.5)  # noqa: E731
    v = tf.Variable([1.0, 2.0], constraint=clip, synchronization=tf.VariableSynchronization.AUTO,
                    aggregation=tf.VariableAggregation.NONE)
    assert v.constraint is clip and v.initializer is None
    assert v.synchronization == tf.VariableSynchronization.AUTO
    assert v.aggregation == tf.VariableAggregation.NONE
    assert repr(tf.Variable(1.0, aggregation=tf.VariableAggregation.MEAN).aggregation) == (
        "<VariableAggregationV2.MEAN: 2>")
    with pytest.raises(RuntimeError, match="This property is not supported when eager execution"):
        v.initial_value
    v.assign([5.0, 6.0])  # the constraint is the optimizer's to apply, not assign's
    assert v.read_value().numpy().tolist() == [5.0, 6.0]
    with pytest.raises(ValueError, match=re.escape("Argument `constraint` must be None or a callable. a callable. Got a "
                                                    "<class 'int'>:  3")):
        tf.Variable(1.0, constraint=3)
    assert float(tf.constant(1.0, name="c")) == 1.0


def test_tape_details():
    x = tf.Variable(3.0)
    with tf.GradientTape() as t:
        x * 1.0
    assert float(t.gradient(x, x)) == 1.0
    with tf.GradientTape() as t:
        y = x.read_value() * 2.0
    assert float(t.gradient(y, x)) == 2.0
    xb = tf.constant([[1.0, 2.0]])
    with tf.GradientTape() as t:
        t.watch(xb)
        yb = xb * xb
    t.gradient(yb, xb)
    with pytest.raises(RuntimeError, match=re.escape(
            "A non-persistent GradientTape can only be used tocompute one set of gradients")):
        t.batch_jacobian(yb, xb)
    tape = tf.GradientTape()
    with pytest.raises(ValueError, match="Tape is still recording, This can happen if you try to "
                                         "re-enter an already-active tape."):
        with tape:
            with tape:
                pass


def test_float_shapes_are_refused():
    with pytest.raises(TypeError, match=re.escape("Cannot convert [4.0, 1.0] to EagerTensor of dtype int32")):
        tf.ones([4.0, 1.0])
    with pytest.raises(TypeError, match=re.escape("Cannot convert [2.5] to EagerTensor of dtype int32")):
        tf.zeros([2.5])
    with pytest.raises(tf.errors.InvalidArgumentError, match="Value for attr 'index_type' of float"):
        tf.ones(tf.constant([2.0]))
    assert tf.ones([np.int64(2), 1]).shape == (2, 1)


def test_static_value_init_scope_and_eager_switch():
    assert tf.get_static_value(tf.constant([1, 2])).tolist() == [1, 2]
    assert tf.get_static_value(3) == 3
    assert tf.get_static_value(tf.Variable(1.0)) is None
    with tf.init_scope() as scope:
        assert scope is None
    calls = []

    @tf.function
    def f(x):
        calls.append(1)
        return x + 1

    tf.config.run_functions_eagerly(True)
    try:
        assert tf.config.functions_run_eagerly() is True
        assert [float(f(tf.constant(1.0))) for _ in range(3)] == [2.0] * 3
        assert len(calls) == 3  # the Python function runs at every call
    finally:
        tf.config.run_functions_eagerly(False)
    assert tf.config.functions_run_eagerly() is False


def test_gradients_and_hessians_in_a_traced_function():
    with pytest.raises(RuntimeError, match="tf.gradients is not supported when eager execution is enabled"):
        tf.hessians(tf.constant(1.0), tf.constant(1.0))

    @tf.function
    def g(x):
        y = x * x * x
        return tf.gradients(y, x), tf.hessians(y, x)

    grads, hess = g(tf.constant(2.0))
    assert [float(v) for v in grads] == [12.0] and [float(v) for v in hess] == [12.0]

    @tf.function
    def h(x):
        return tf.hessians(tf.reduce_sum(x ** 3), x)[0]

    assert h(tf.constant([1.0, 2.0])).numpy().tolist() == [[6.0, 0.0], [0.0, 12.0]]


def test_custom_gradient_with_variables():
    w = tf.Variable(2.0)

    @tf.custom_gradient
    def f(x):
        def grad(dy, variables=None):
            assert variables == [w] or list(variables) == [w]
            return dy * w, [dy * x * 10.0]
        return x * w, grad

    x = tf.constant(3.0)
    with tf.GradientTape() as t:
        t.watch(x)
        y = f(x)
    gx, gw = t.gradient(y, [x, w])
    assert (float(gx), float(gw)) == (2.0, 30.0)

    @tf.custom_gradient
    def f2(x):
        def grad(dy):
            return dy * w
        return x * w, grad

    with pytest.raises(TypeError, match="@tf.custom_gradient grad_fn must accept keyword argument "
                                        "'variables', since function uses variables: "):
        with tf.GradientTape():
            f2(tf.constant(3.0))


@fastgrad_only
def test_hvp_of_one_argument_returns_the_array():
    x, v = tf.constant([1.0, 2.0]), tf.constant([1.0, 0.0])
    hv = tf.hvp(lambda x: tf.reduce_sum(x ** 3), (x,), (v,))
    assert isinstance(hv, tf.Tensor) and hv.numpy().tolist() == [6.0, 0.0]
    two = tf.hvp(lambda a, b: tf.reduce_sum(a * a * b), (x, x + 0.0), (v, v))
    assert isinstance(two, tuple) and len(two) == 2
