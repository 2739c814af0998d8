"""Errors: classes, messages, and tapes staying usable after a failing op.

TF 2.21.0 messages (for reference; fastgrad must name the same shapes/dtypes):

* mixed dtypes: InvalidArgumentError 'cannot compute AddV2 as input
  #1(zero-based) was expected to be a float tensor but is a double tensor
  [Op:AddV2] name: '  (TF says float/double; fastgrad names float32/float64)
* broadcasting: InvalidArgumentError '... Incompatible shapes: [2,3] vs. [4] [Op:AddV2] name: '
* matmul: InvalidArgumentError '... Matrix size-incompatible: In[0]: [2,3], In[1]: [4,5] [Op:MatMul] name: '
* batched matmul: '... In[0] and In[1] must have compatible batch dimensions: [2,2,3] vs. [3,3,5] [Op:BatchMatMulV2]'
* reduce axis: '... Invalid reduction dimension (2 for input with 2 dimension(s) [Op:Sum] name: '
* reshape: '... Input to reshape is a tensor with 6 values, but the requested shape has 8 [Op:Reshape]'
* concat: '... ConcatOp : Dimension 1 in both shapes must be equal: shape[0] = [2,3] vs. shape[1] = [2,4] [Op:ConcatV2] name: concat'
* gather: '... indices[1] = 5 is not in [0, 3) [Op:GatherV2]'

TF's InvalidArgumentError is *not* a ValueError/TypeError; fastgrad's is
(API.md), so those checks are fastgrad_only.
"""

import re

import numpy as np
import pytest

import fastgrad as tf
from _fgutil import fastgrad_only, has

IAE = tf.errors.InvalidArgumentError


def _shape_pattern(*shapes):
    """Regex matching shapes written either as [2,3] (TF) or (2, 3) / [2, 3]."""

    def one(s):
        inner = r",\s*".join(str(d) for d in s)
        if len(s) == 1:
            inner += r",?"
        return r"[\[\(]" + inner + r"[\]\)]"

    return r".*".join(one(s) for s in shapes)


def _dtype_pattern(a, b):
    names = {"float32": "(float32|float)", "float64": "(float64|double)", "int32": "int32", "int64": "int64"}
    return names[a] + r".*" + names[b] + "|" + names[b] + r".*" + names[a]


ERROR_CASES = [
    # id, thunk, regex that the message must match
    ("broadcast-add", lambda: tf.ones((2, 3)) + tf.ones((4,)), _shape_pattern((2, 3), (4,))),
    ("broadcast-tf.add", lambda: tf.add(tf.ones((2, 3)), tf.ones((4,))), _shape_pattern((2, 3), (4,))),
    ("broadcast-mul", lambda: tf.multiply(tf.ones((2, 3)), tf.ones((3, 2))), _shape_pattern((2, 3), (3, 2))),
    ("broadcast-maximum", lambda: tf.maximum(tf.ones((2, 3)), tf.ones((2,))), _shape_pattern((2, 3), (2,))),
    ("broadcast-where", lambda: tf.where(tf.constant([True, False]), tf.ones((3,)), tf.ones((3,))), r"2.*3"),
    ("matmul-inner", lambda: tf.matmul(tf.ones((2, 3)), tf.ones((4, 5))), _shape_pattern((2, 3), (4, 5))),
    ("matmul-operator", lambda: tf.ones((2, 3)) @ tf.ones((2, 3)), _shape_pattern((2, 3), (2, 3))),
    ("matmul-transpose_b", lambda: tf.matmul(tf.ones((2, 3)), tf.ones((3, 4)), transpose_b=True), r"3.*4|4.*3"),
    ("matmul-batch", lambda: tf.matmul(tf.ones((2, 2, 3)), tf.ones((3, 3, 5))), _shape_pattern((2, 2, 3), (3, 3, 5))),
    ("reduce-axis-2", lambda: tf.reduce_sum(tf.ones((2, 3)), axis=2), r"2.*2"),
    ("reduce-axis--3", lambda: tf.reduce_sum(tf.ones((2, 3)), axis=-3), r"-3"),
    ("reduce_max-axis-5", lambda: tf.reduce_max(tf.ones((2, 3)), axis=5), r"5"),
    ("reduce_mean-axis-tuple", lambda: tf.reduce_mean(tf.ones((2, 3)), axis=(0, 3)), r"3"),
    ("mixed-dtype-add", lambda: tf.constant(1.0) + tf.constant(1.0, tf.float64), _dtype_pattern("float32", "float64")),
    ("mixed-dtype-mul-int", lambda: tf.constant(1.0) * tf.constant(1), _dtype_pattern("float32", "int32")),
    ("mixed-dtype-matmul", lambda: tf.matmul(tf.ones((2, 2)), tf.ones((2, 2), tf.float64)), _dtype_pattern("float32", "float64")),
    ("mixed-dtype-sub", lambda: tf.subtract(tf.ones((2,), tf.float64), tf.ones((2,))), _dtype_pattern("float64", "float32")),
    ("reshape-size", lambda: tf.reshape(tf.ones((2, 3)), (4, 2)), r"6.*8"),
    ("reshape-two-minus-one", lambda: tf.reshape(tf.ones((2, 3)), (-1, -1)), r"-1"),
    ("concat-dim", lambda: tf.concat([tf.ones((2, 3)), tf.ones((2, 4))], axis=0), _shape_pattern((2, 3), (2, 4))),
    ("concat-rank", lambda: tf.concat([tf.ones((2, 3)), tf.ones((3,))], axis=0), _shape_pattern((2, 3), (3,))),
    ("concat-axis", lambda: tf.concat([tf.ones((2, 3)), tf.ones((2, 3))], axis=2), r"2"),
    ("stack-shapes", lambda: tf.stack([tf.ones((2, 3)), tf.ones((2, 4))]), _shape_pattern((2, 3), (2, 4))),
    ("gather-oob", lambda: tf.gather(tf.ones((3,)), [0, 5]), r"5.*3"),
    ("gather-negative", lambda: tf.gather(tf.ones((3,)), [-1]), r"-1"),
    ("transpose-perm", lambda: tf.transpose(tf.ones((2, 3)), [0, 2]), r"2"),
    ("split-uneven", lambda: tf.split(tf.ones((5,)), 2), r"5.*2|2.*5"),
    ("squeeze-non-1", lambda: tf.squeeze(tf.ones((2, 3)), axis=0), r"2"),
    ("expand_dims-axis", lambda: tf.expand_dims(tf.ones((2, 3)), axis=4), r"4"),
    ("tile-multiples", lambda: tf.tile(tf.ones((2, 3)), [2]), r"2.*1|1.*2"),
    ("index-oob", lambda: tf.ones((3,))[5], r"5"),
    ("int-pow-negative", lambda: tf.constant(3) ** -1, r"negative"),
    ("int-tensor-plus-python-float", lambda: tf.constant(1) + 1.5, r"int32"),
]


@pytest.mark.parametrize("thunk, pattern", [pytest.param(t, p, id=i) for i, t, p in ERROR_CASES])
def test_invalid_argument(thunk, pattern):
    with pytest.raises(IAE) as ei:
        thunk()
    assert re.search(pattern, str(ei.value)), str(ei.value)
    assert isinstance(ei.value, tf.errors.OpError)


@fastgrad_only
@pytest.mark.parametrize("thunk", [pytest.param(t, id=i) for i, t, _ in ERROR_CASES])
def test_invalid_argument_is_value_and_type_error(thunk):
    with pytest.raises(ValueError):
        thunk()
    with pytest.raises(TypeError):
        thunk()


@fastgrad_only
def test_error_class_hierarchy():
    assert issubclass(IAE, tf.errors.OpError)
    assert issubclass(IAE, ValueError)
    assert issubclass(IAE, TypeError)
    assert issubclass(tf.errors.OpError, Exception)


def test_invalid_argument_error_usable_directly():
    # user code can raise/catch it like TF's: InvalidArgumentError(node_def, op, message)
    try:
        tf.ones((2,)) + tf.ones((3,))
    except tf.errors.OpError as e:
        assert e.message
        assert str(e)
    else:
        pytest.fail("no error")


def test_mixed_dtype_message_names_both_dtypes():
    # TF names them by kernel type ("float"/"double"); API.md asks that the
    # message name both dtypes, so either spelling passes.
    for a, b, pa, pb in [
        (tf.constant([1.0]), tf.constant([1.0], tf.float64), r"float32|float\b", r"float64|double"),
        (tf.constant([1], tf.int64), tf.constant([1.0], tf.float64), r"int64", r"float64|double"),
        (tf.constant([1.0], tf.float64), tf.constant([1]), r"float64|double", r"int32"),
    ]:
        with pytest.raises(IAE) as ei:
            a + b
        msg = str(ei.value)
        assert re.search(pa, msg) and re.search(pb, msg), msg


def test_matmul_message_names_both_shapes():
    with pytest.raises(IAE) as ei:
        tf.matmul(tf.ones((2, 3)), tf.ones((4, 5)))
    assert re.search(_shape_pattern((2, 3)), str(ei.value))
    assert re.search(_shape_pattern((4, 5)), str(ei.value))


# ---------------------------------------------------------------- tapes survive errors


@pytest.mark.parametrize("thunk", [pytest.param(t, id=i) for i, t, _ in ERROR_CASES])
def test_tape_usable_after_failing_op(thunk):
    x = tf.constant([1.0, 2.0, 3.0])
    with tf.GradientTape(persistent=True) as t:
        t.watch(x)
        y = x * x
        with pytest.raises(IAE):
            thunk()
        z = tf.reduce_sum(y * 2.0)
        with pytest.raises(IAE):
            _ = z + tf.ones((2,)) * tf.ones((3,))
        w = tf.reduce_sum(tf.sin(x))
    np.testing.assert_allclose(t.gradient(z, x).numpy(), [4.0, 8.0, 12.0])
    np.testing.assert_allclose(t.gradient(w, x).numpy(), np.cos([1.0, 2.0, 3.0]), rtol=1e-6)
    # a fresh tape after the error works too
    with tf.GradientTape() as t2:
        t2.watch(x)
        q = tf.reduce_prod(x)
    np.testing.assert_allclose(t2.gradient(q, x).numpy(), [6.0, 3.0, 2.0])


def test_failing_op_with_watched_operands_inside_nested_tapes():
    x = tf.constant(2.0)
    with tf.GradientTape() as outer:
        outer.watch(x)
        with tf.GradientTape() as inner:
            inner.watch(x)
            y = x * x * x
            with pytest.raises(IAE):
                tf.reshape(tf.stack([x, x]), (3,))
        g = inner.gradient(y, x)
        with pytest.raises(IAE):
            g + tf.constant(1.0, tf.float64)
    assert float(g) == 12.0
    assert float(outer.gradient(g, x)) == 12.0


def test_gradient_error_output_gradients_shape():
    x = tf.constant([1.0, 2.0, 3.0])
    with tf.GradientTape(persistent=True) as t:
        t.watch(x)
        y = x * x
    with pytest.raises(IAE):
        t.gradient(y, x, output_gradients=tf.constant([1.0, 2.0]))
    # a persistent tape keeps working after the failed gradient call
    np.testing.assert_array_equal(t.gradient(y, x).numpy(), [2.0, 4.0, 6.0])


def test_gradients_eager_raises_runtime_error():
    # TF: RuntimeError('tf.gradients is not supported when eager execution is
    # enabled. Use tf.GradientTape instead.')
    if not has(tf, "gradients"):
        pytest.skip("fastgrad.gradients not built yet")
    with pytest.raises(RuntimeError, match="GradientTape"):
        tf.gradients(tf.constant(1.0), tf.constant(1.0))
