"""Differential parity with TensorFlow 2.21: values, dtypes, reprs, errors.

Every expectation here was taken from TF 2.21.0 (CPU, NumPy 2.4, tf_keras
2.21.0) by running the same snippet under both libraries; the file passes
under ``FASTGRAD_TEST_BACKEND=tensorflow`` too.  Messages are matched as TF
prints them after its ``{{function_node ...}}`` prefix; fastgrad-only
behaviour is marked ``fastgrad_only``.
"""

import re

import numpy as np
import pytest

import fastgrad as tf
from _fgutil import PREFIX, capture_warnings, fastgrad_only

IAE = tf.errors.InvalidArgumentError


def _raises(exc, text, thunk):
    """thunk() raises exc whose message contains text (literally)."""
    with pytest.raises(exc) as ei:
        thunk()
    assert text in str(ei.value), str(ei.value)
    return ei.value


# ------------------------------------------------------------ Python scalars and dtypes


@pytest.mark.parametrize(
    "thunk, exc, text",
    [
        (lambda: tf.constant([1, 2]) * 2.0, TypeError, "Cannot convert 2.0 to EagerTensor of dtype int32"),
        (lambda: 2.0 * tf.constant([1, 2]), TypeError, "Cannot convert 2.0 to EagerTensor of dtype int32"),
        (lambda: tf.constant([1, 2]) - 0.5, TypeError, "Cannot convert 0.5 to EagerTensor of dtype int32"),
        (lambda: tf.subtract(tf.constant([1, 2]), 2.0), TypeError, "Cannot convert 2.0 to EagerTensor of dtype int32"),
        (lambda: tf.maximum(tf.constant([1, 2]), 2.0), TypeError, "Cannot convert 2.0 to EagerTensor of dtype int32"),
        (lambda: tf.constant([1, 2]) ** 2.0, TypeError, "Cannot convert 2.0 to EagerTensor of dtype int32"),
        (lambda: tf.constant([1, 2]) // 2.0, TypeError, "Cannot convert 2.0 to EagerTensor of dtype int32"),
        (lambda: tf.constant([1, 2]) < 2.0, TypeError, "Cannot convert 2.0 to EagerTensor of dtype int32"),
        (lambda: tf.constant([1, 2]) == 1.0, TypeError, "Cannot convert 1.0 to EagerTensor of dtype int32"),
        (lambda: tf.constant(1.0, dtype=tf.int32), TypeError, "Cannot convert 1.0 to EagerTensor of dtype int32"),
        (lambda: tf.constant(1.0, dtype=tf.int64), TypeError, "Cannot convert 1.0 to EagerTensor of dtype int64"),
        (lambda: tf.convert_to_tensor(1.0, dtype=tf.int32), TypeError, "Cannot convert 1.0 to EagerTensor of dtype int32"),
        (lambda: tf.constant([1.0, 2.5], dtype=tf.int32), TypeError, "Cannot convert [1.0, 2.5] to EagerTensor of dtype int32"),
        (lambda: tf.constant(1, dtype=tf.bool), TypeError, "Cannot convert 1 to EagerTensor of dtype bool"),
        (lambda: tf.Variable(1.5, dtype=tf.int32), TypeError, "Cannot convert 1.5 to EagerTensor of dtype int32"),
        # tensor + value converts the value alone, so AddV2 itself complains
        (lambda: tf.constant(1) + 1.0, IAE,
         "cannot compute AddV2 as input #1(zero-based) was expected to be a int32 tensor but is a float tensor"),
        (lambda: tf.add(tf.constant(1), 1.5), IAE,
         "cannot compute AddV2 as input #1(zero-based) was expected to be a int32 tensor but is a float tensor"),
        (lambda: tf.constant([1, 2]) + [1.5], IAE,
         "cannot compute AddV2 as input #1(zero-based) was expected to be a int32 tensor but is a float tensor"),
        # true division wants equal dtypes
        (lambda: tf.constant([1, 2]) / 2.0, TypeError, "`x` and `y` must have the same dtype, got tf.int32 != tf.float32."),
        (lambda: tf.constant(7) / tf.constant(2.0), TypeError, "`x` and `y` must have the same dtype, got tf.int32 != tf.float32."),
        (lambda: tf.math.divide(tf.constant([1.0]), tf.constant([1])), TypeError,
         "`x` and `y` must have the same dtype, got tf.float32 != tf.int32."),
    ],
)
def test_python_value_conversion_errors(thunk, exc, text):
    _raises(exc, text, thunk)


@pytest.mark.parametrize(
    "thunk, dtype, value",
    [
        (lambda: tf.divide(1, 2), "float64", 0.5),
        (lambda: tf.math.truediv(1, 2), "float64", 0.5),
        (lambda: tf.constant(7) / 2, "float64", 3.5),
        (lambda: tf.divide(tf.constant([1, 2], tf.int64), 2), "float64", [0.5, 1.0]),
        (lambda: tf.constant([1.0]) + np.array([1], dtype=np.int64), "float32", [2.0]),
        (lambda: tf.constant([1, 2]) + np.array([1.0, 2.0]), "int32", [2, 4]),
        (lambda: tf.constant(True, dtype=tf.int32), "int32", 1),
        (lambda: tf.constant(1, dtype=tf.float32), "float32", 1.0),
    ],
)
def test_python_value_conversion_values(thunk, dtype, value):
    r = thunk()
    assert r.dtype == getattr(tf, dtype)
    np.testing.assert_array_equal(r.numpy(), value)


# ------------------------------------------------------------ floordiv and mod


@pytest.mark.parametrize(
    "thunk, dtype, value",
    [
        (lambda: tf.constant(-7.0) // 2, "float32", -4.0),
        (lambda: tf.constant(-5.5) // tf.constant(2.0), "float32", -3.0),
        (lambda: 7.5 // tf.constant(2.0), "float32", 3.0),
        (lambda: tf.math.floordiv(tf.constant([7.5, -7.5]), 2.0), "float32", [3.0, -4.0]),
        (lambda: tf.constant(-7) // 2, "int32", -4),
        (lambda: tf.math.floordiv(tf.constant([7, -7]), 2), "int32", [3, -4]),
        (lambda: tf.constant(-7) % 3, "int32", 2),
        (lambda: tf.constant(5) % tf.constant(-2), "int32", -1),
        (lambda: 3 % tf.constant(2), "int32", 1),
        (lambda: tf.constant(-7.5) % 2, "float32", 0.5),
        (lambda: tf.math.floormod(tf.constant([7, -7]), 3), "int32", [1, 2]),
        (lambda: tf.math.mod(tf.constant([7.5, -7.5]), 2.0), "float32", [1.5, 0.5]),
        (lambda: tf.constant([5.0, -5.0]) % tf.constant([0.0, 0.0]), "float32", [np.nan, np.nan]),
    ],
)
def test_floordiv_floormod(thunk, dtype, value):
    r = thunk()
    assert r.dtype == getattr(tf, dtype)
    np.testing.assert_array_equal(r.numpy(), value)


def test_integer_division_by_zero():
    _raises(IAE, "Integer division by zero [Op:FloorDiv]", lambda: tf.constant(7) // 0)
    _raises(IAE, "Integer division by zero [Op:FloorMod]", lambda: tf.constant(7) % 0)


def test_floormod_gradient():
    # TF's FloorMod gradient: dx = g, dy = -g * floordiv(x, y)
    x = tf.constant([7.5, -7.5])
    y = tf.constant([2.0, 2.0])
    with tf.GradientTape(persistent=True) as t:
        t.watch([x, y])
        z = x % y
    np.testing.assert_array_equal(t.gradient(z, x).numpy(), [1.0, 1.0])
    np.testing.assert_array_equal(t.gradient(z, y).numpy(), [-3.0, 4.0])


# ------------------------------------------------------------ comparisons


def test_equality_with_incompatible_shapes_is_a_false_tensor():
    r = tf.constant([1.0, 2.0]) == tf.constant([1.0, 3.0, 4.0])
    assert r.dtype == tf.bool and r.shape == () and not bool(r)
    r = tf.constant([1.0, 2.0]) != tf.constant([1.0, 3.0, 4.0])
    assert r.dtype == tf.bool and r.shape == () and bool(r)
    # tf.equal itself raises
    _raises(IAE, "Incompatible shapes: [2] vs. [3] [Op:Equal]",
            lambda: tf.equal(tf.constant([1.0, 2.0]), tf.constant([1.0, 2.0, 3.0])))
    assert (tf.constant(1.0) == None) is False  # noqa: E711
    assert (tf.constant(1.0) != None) is True  # noqa: E711


# ------------------------------------------------------------ matmul errors


@pytest.mark.parametrize(
    "thunk, text",
    [
        (lambda: tf.matmul(tf.ones((2, 3)), tf.ones((4, 5))), "Matrix size-incompatible: In[0]: [2,3], In[1]: [4,5] [Op:MatMul]"),
        (lambda: tf.matmul(tf.ones((2, 2, 3)), tf.ones((2, 4, 5))),
         "Matrix size-incompatible: In[0]: [2,2,3], In[1]: [2,4,5] [Op:BatchMatMulV2]"),
        (lambda: tf.constant([1.0]) @ tf.constant([1.0]), "In[0] and In[1] ndims must be == 2: 1 [Op:MatMul]"),
        (lambda: tf.matmul(tf.constant(1.0), tf.constant(2.0)), "In[0] and In[1] ndims must be == 2: 0 [Op:MatMul]"),
        (lambda: tf.matmul(tf.ones((2, 3)), tf.ones((3,))), "In[0] and In[1] has different ndims: [2,3] vs. [3] [Op:MatMul]"),
        (lambda: tf.matmul(tf.ones((2, 2, 3)), tf.ones((3,))), "In[1] ndims must be >= 2: 1 [Op:BatchMatMulV2]"),
        (lambda: tf.matmul(tf.ones((3,)), tf.ones((2, 3, 2))), "In[0] ndims must be >= 2: 1 [Op:BatchMatMulV2]"),
        (lambda: tf.matmul(tf.ones((2, 3)), tf.ones((3, 4), tf.float64)),
         "cannot compute MatMul as input #1(zero-based) was expected to be a float tensor but is a double tensor [Op:MatMul]"),
        (lambda: tf.matmul(tf.ones((2, 2, 3)), tf.ones((2, 3, 5), tf.float64)),
         "cannot compute BatchMatMulV2 as input #1(zero-based) was expected to be a float tensor but is a double tensor"),
    ],
)
def test_matmul_errors(thunk, text):
    _raises(IAE, text, thunk)


# ------------------------------------------------------------ reductions


def test_reduce_mean_of_ints_truncates_toward_zero():
    r = tf.reduce_mean(tf.constant([-1, -2]))
    assert r.dtype == tf.int32 and int(r) == -1
    np.testing.assert_array_equal(tf.reduce_mean(tf.constant([[1, 2], [3, 5]]), axis=0).numpy(), [2, 3])
    np.testing.assert_array_equal(tf.reduce_mean(tf.constant([[-1, -2], [3, -6]]), axis=1).numpy(), [-1, -1])
    r = tf.reduce_mean(tf.constant([[1, 2], [4, 8]], tf.int64), axis=1, keepdims=True)
    assert r.dtype == tf.int64 and r.shape == (2, 1)
    np.testing.assert_array_equal(r.numpy(), [[1], [6]])


@pytest.mark.parametrize(
    "thunk, text",
    [
        (lambda: tf.reduce_sum(tf.ones((2, 2)), axis=2), "Invalid reduction dimension (2 for input with 2 dimension(s) [Op:Sum]"),
        (lambda: tf.reduce_sum(tf.ones((2, 2)), axis=-3), "Invalid reduction dimension (-3 for input with 2 dimension(s) [Op:Sum]"),
        (lambda: tf.reduce_max(tf.ones((2, 2)), axis=2), "Invalid reduction dimension (2 for input with 2 dimension(s) [Op:Max]"),
        (lambda: tf.reduce_min(tf.ones((2, 2)), axis=2), "Invalid reduction dimension (2 for input with 2 dimension(s) [Op:Min]"),
        (lambda: tf.reduce_mean(tf.ones((2, 2)), axis=2), "Invalid reduction dimension (2 for input with 2 dimension(s) [Op:Mean]"),
        (lambda: tf.reduce_prod(tf.ones((2, 2)), axis=2), "Invalid reduction dimension (2 for input with 2 dimension(s) [Op:Prod]"),
        (lambda: tf.reduce_sum(tf.constant(1.0), axis=0), "Invalid reduction dimension (0 for input with 0 dimension(s) [Op:Sum]"),
        (lambda: tf.reduce_sum(tf.ones((2, 2)), axis=(0, 0)), "Invalid reduction arguments: Axes contains duplicate dimension: 0 [Op:Sum]"),
        (lambda: tf.reduce_sum(tf.ones((2, 2)), axis=(0, -2)), "Invalid reduction arguments: Axes contains duplicate dimension: 0 [Op:Sum]"),
        (lambda: tf.reduce_sum([1.0, 2.0], axis=0.0), "Value for attr 'Tidx' of float is not in the list of allowed values: int32, int64"),
        (lambda: tf.argmax(tf.ones((2, 2)), axis=2), "Expected dimension in the range [-2, 2), but got 2 [Op:ArgMax]"),
        (lambda: tf.add_n([tf.constant([1.0]), tf.constant([1.0, 2.0])]),
         "Inputs to operation AddN of type AddN must have the same size and shape.  Input 0: [1] != input 1: [2] [Op:AddN]"),
    ],
)
def test_reduction_errors(thunk, text):
    _raises(IAE, text, thunk)


def test_reduction_value_errors():
    _raises(TypeError, "Input must be either real or complex. Received integer type <dtype: 'int32'>.",
            lambda: tf.math.reduce_variance(tf.constant([1, 2])))
    _raises(ValueError, "Inputs must be an iterable of at least one Tensor/IndexedSlices with the same dtype and shape.",
            lambda: tf.add_n([]))


# ------------------------------------------------------------ shape ops


@pytest.mark.parametrize(
    "thunk, exc, text",
    [
        (lambda: tf.concat([tf.constant(1.0), tf.constant(2.0)], axis=0), IAE,
         "ConcatOp : Can't concatenate scalars (use tf.stack instead) [Op:ConcatV2]"),
        (lambda: tf.concat([tf.ones((2, 3)), tf.ones((2, 3))], axis=2), IAE,
         "ConcatOp : Expected concatenating dimensions in the range [-2, 2), but got 2 [Op:ConcatV2]"),
        (lambda: tf.stack([tf.ones((2,)), tf.ones((2,))], axis=2), ValueError, "Argument `axis` = 2 not in range [-2, 2)"),
        (lambda: tf.stack([tf.ones((2,)), tf.ones((2,))], axis=-3), ValueError, "Argument `axis` = -3 not in range [-2, 2)"),
        (lambda: tf.stack([tf.ones((2,)), tf.ones((2,), tf.float64)]), IAE,
         "cannot compute Pack as input #1(zero-based) was expected to be a float tensor but is a double tensor [Op:Pack]"),
        (lambda: tf.stack([tf.ones((2,)), tf.ones((3,))]), IAE,
         "Shapes of all inputs must match: values[0].shape = [2] != values[1].shape = [3] [Op:Pack]"),
        (lambda: tf.split(tf.ones((2, 6)), 2, axis=2), IAE, "-input rank(-2) <= split_dim < input rank (2), but got 2 [Op:Split]"),
        (lambda: tf.split(tf.ones((6,)), 0), IAE, "Value for attr 'num_split' of 0 must be at least minimum 1"),
        (lambda: tf.split(tf.ones((5,)), 2), IAE,
         "Number of ways to split should evenly divide the split dimension, but got split_dim 0 (size = 5) and num_split 2 [Op:Split]"),
        (lambda: tf.squeeze(tf.ones((1, 2, 1)), axis=3), IAE, "Tried to squeeze dim index 3 for tensor with 3 dimensions. [Op:Squeeze]"),
        (lambda: tf.squeeze(tf.ones((1, 2, 1)), axis=-4), IAE, "Tried to squeeze dim index -4 for tensor with 3 dimensions. [Op:Squeeze]"),
        (lambda: tf.squeeze(tf.ones((1, 2, 1)), axis=1), IAE, "Can not squeeze dim[1], expected a dimension of 1, got 2 [Op:Squeeze]"),
        (lambda: tf.expand_dims(tf.ones((2, 3)), 3), IAE, "Tried to expand dim index 3 for tensor with 2 dimensions. [Op:ExpandDims]"),
        (lambda: tf.expand_dims(tf.ones((2, 3)), axis=None), ValueError,
         "Attempt to convert a value (None) with an unsupported type (<class 'NoneType'>) to a Tensor."),
        (lambda: tf.transpose(tf.ones((2, 3)), [0, 2]), IAE, "2 is out of range [0 .. 2) [Op:Transpose]"),
        (lambda: tf.transpose(tf.ones((2, 3)), [0, 0]), IAE, "1 is missing from {0,0}. [Op:Transpose]"),
        (lambda: tf.transpose(tf.ones((2, 3)), [1, -1]), IAE, "0 is missing from {1,1}. [Op:Transpose]"),
        (lambda: tf.gather(tf.ones((2, 2)), [1], axis=2), IAE, "Shape must be at least rank 3 but is rank 2 [Op:GatherV2]"),
        (lambda: tf.gather(tf.constant([1.0, 2.0, 3.0]), [0, 5]), IAE, "indices[1] = 5 is not in [0, 3) [Op:GatherV2]"),
        (lambda: tf.reshape(tf.ones((2, 3)), (4, 2)), IAE,
         "Input to reshape is a tensor with 6 values, but the requested shape has 8 [Op:Reshape]"),
    ],
)
def test_shape_op_errors(thunk, exc, text):
    _raises(exc, text, thunk)


@pytest.mark.parametrize("value, text", [
    (2.0, "Passed in object 2.0 of type 'float', not tf.Tensor or tf.Variable or ExtensionType."),
    ("a", "Passed in object a of type 'str', not tf.Tensor or tf.Variable or ExtensionType."),
    ([1.0], "Passed in object 1.0 of type 'float', not tf.Tensor or tf.Variable or ExtensionType."),
])
def test_watching_a_non_tensor_raises_tfs_value_error(value, text):
    # TF 2.21's text, word for word
    with tf.GradientTape() as t:
        _raises(ValueError, text, lambda: t.watch(value))


class _Opaque:
    def __repr__(self):
        return "<opaque>"


@pytest.mark.parametrize(
    "thunk, text",
    [
        (lambda: tf.constant(_Opaque()), "(<opaque>) with an unsupported type (<class 'test_tf_parity._Opaque'>)"),
        (lambda: tf.convert_to_tensor(_Opaque()), "(<opaque>) with an unsupported type"),
        (lambda: tf.constant(1.0) + _Opaque(), "(<opaque>) with an unsupported type"),
        (lambda: tf.constant(1.0) == _Opaque(), "(<opaque>) with an unsupported type"),
        (lambda: tf.exp(_Opaque()), "(<opaque>) with an unsupported type"),
        (lambda: tf.constant([1.0]) + [_Opaque()], "(<opaque>) with an unsupported type"),
        (lambda: tf.constant({"a": 1}), "({'a': 1}) with an unsupported type (<class 'dict'>)"),
        (lambda: tf.Variable(_Opaque()), "(<opaque>) with an unsupported type"),
        (lambda: tf.reduce_sum(_Opaque()), "(<opaque>) with an unsupported type"),
    ],
)
def test_objects_of_unsupported_types_raise_tfs_value_error(thunk, text):
    # TF 2.21: ValueError("Attempt to convert a value (...) with an
    # unsupported type (...) to a Tensor."), the innermost object named
    with pytest.raises(ValueError) as info:
        thunk()
    assert str(info.value).startswith("Attempt to convert a value ") and text in str(info.value)
    assert str(info.value).endswith("to a Tensor.")


def test_shape_op_values():
    assert tf.expand_dims(tf.ones((2, 3)), [0]).shape == (1, 2, 3)
    assert tf.transpose(tf.ones((2, 3)), [-1, 0]).shape == (3, 2)
    r = tf.stack([])
    assert r.shape == (0,) and r.dtype == tf.float32


# ------------------------------------------------------------ Variables and Python conversions


@pytest.mark.parametrize(
    "thunk, exc, text",
    [
        (lambda: tf.Variable([1.0, 2.0]).assign([1.0, 2.0, 3.0]), ValueError,
         "Cannot assign value to variable ' Variable:0': Shape mismatch.The variable shape (2,), and the assigned "
         "value shape (3,) are incompatible."),
        (lambda: tf.Variable([1.0, 2.0], name="w").assign([[1.0, 2.0]]), ValueError,
         "Cannot assign value to variable ' w:0': Shape mismatch.The variable shape (2,), and the assigned "
         "value shape (1, 2) are incompatible."),
        (lambda: tf.Variable([1.0, 2.0]).assign_add([1.0, 2.0, 3.0]), IAE,
         "Cannot update variable with shape [2] using a Tensor with shape [3], shapes must be equal. [Op:AssignAddVariableOp]"),
        (lambda: tf.Variable([1.0, 2.0]).assign_sub([1.0, 2.0, 3.0]), IAE,
         "Cannot update variable with shape [2] using a Tensor with shape [3], shapes must be equal. [Op:AssignSubVariableOp]"),
        (lambda: tf.Variable(1.0).assign(tf.constant(1.0, tf.float64)), ValueError,
         "Tensor conversion requested dtype float32 for Tensor with dtype float64: <%s.Tensor: shape=(), dtype=float64, "
         "numpy=1.0>" % PREFIX),
        (lambda: tf.Variable(1.0).assign_add(tf.constant(1)), ValueError,
         "Tensor conversion requested dtype float32 for Tensor with dtype int32: <%s.Tensor: shape=(), dtype=int32, "
         "numpy=1>" % PREFIX),
        (lambda: tf.Variable(1).assign(2.5), TypeError, "Cannot convert 2.5 to EagerTensor of dtype int32"),
        (lambda: tf.Variable(1).assign_add(2.0), TypeError, "Cannot convert 2.0 to EagerTensor of dtype int32"),
        (lambda: float(tf.constant([1.0, 2.0])), TypeError, "only 0-dimensional arrays can be converted to Python scalars"),
        (lambda: float(tf.constant([[3.0]])), TypeError, "only 0-dimensional arrays can be converted to Python scalars"),
        (lambda: int(tf.constant([2])), TypeError, "only 0-dimensional arrays can be converted to Python scalars"),
        (lambda: f"{tf.Variable(0.25):.1f}", TypeError, "unsupported format string passed to"),
    ],
)
def test_variable_and_scalar_errors(thunk, exc, text):
    _raises(exc, text, thunk)


def test_variable_assign_converts_python_and_numpy_values():
    v = tf.Variable(1.0)
    v.assign(2)
    assert v.dtype == tf.float32 and float(v) == 2.0
    v.assign(np.float64(2.5))
    assert v.dtype == tf.float32 and float(v) == 2.5
    v.assign_add(np.array(2, dtype=np.int64))
    assert float(v) == 4.5
    w = tf.Variable([1.0, 2.0])
    w.assign(tf.Variable([3.0, 4.0]))
    np.testing.assert_array_equal(w.numpy(), [3.0, 4.0])


def test_format_follows_numpy():
    assert f"{tf.constant([1.0, 2.0])}" == "[1. 2.]"
    assert "{}".format(tf.constant([[1, 2]])) == "[[1 2]]"
    assert f"{tf.constant(0.25):.1f}" == "0.2"
    assert f"{tf.Variable(0.25)}" == "<%s.Variable 'Variable:0' shape=() dtype=float32, numpy=0.25>" % PREFIX
    assert bool(tf.constant([2.0])) and not bool(tf.constant([[0.0]]))


# ------------------------------------------------------------ creation ops


@pytest.mark.parametrize(
    "thunk, exc, text",
    [
        (lambda: tf.range(5, 1), IAE, "Requires start <= limit when delta > 0: 5/1 [Op:Range]"),
        (lambda: tf.range(1, 5, -1), IAE, "Requires start >= limit when delta < 0: 1/5 [Op:Range]"),
        (lambda: tf.range(-1), IAE, "Requires start <= limit when delta > 0: 0/-1 [Op:Range]"),
        (lambda: tf.range(0, 5, 0), IAE, "Requires delta != 0: 0 [Op:Range]"),
        (lambda: tf.fill([2, -1], 1.0), IAE, "Dimension -1 must be >= 0 [Op:Fill]"),
        (lambda: tf.zeros([2, -1]), IAE, "Dimension -1 must be >= 0 [Op:Fill]"),
        (lambda: tf.constant([1.0, 2.0], shape=(3,)), TypeError,
         "Eager execution of tf.constant with unsupported shape. Tensor [1. 2.] (converted from [1.0, 2.0]) has 2 "
         "elements, but got `shape` (3,) with 3 elements)."),
        (lambda: tf.constant([[1.0], [2.0, 3.0]]), ValueError, "Can't convert non-rectangular Python sequence to Tensor."),
        (lambda: tf.constant(tf.constant(1.0), dtype=tf.float64), TypeError,
         "Expected tensor 1.0 with dtype tf.float64, but got dtype tf.float32."),
    ],
)
def test_creation_errors(thunk, exc, text):
    _raises(exc, text, thunk)


def test_clip_by_value_takes_the_minimum_first():
    # TF: maximum(minimum(t, max), min), so an inverted range gives min
    np.testing.assert_array_equal(tf.clip_by_value(tf.constant([-1.0, 0.5]), 1.0, 0.0).numpy(), [1.0, 1.0])
    x = tf.constant([-1.0, 0.0, 0.5, 1.0, 2.0])
    lo, hi = tf.constant(0.0), tf.constant(1.0)
    with tf.GradientTape(persistent=True) as t:
        t.watch([x, lo, hi])
        y = tf.clip_by_value(x, lo, hi)
    np.testing.assert_array_equal(t.gradient(y, x).numpy(), [0.0, 1.0, 1.0, 1.0, 0.0])
    assert float(t.gradient(y, lo)) == 1.0
    assert float(t.gradient(y, hi)) == 1.0


# ------------------------------------------------------------ indexing


@pytest.mark.parametrize(
    "key, exc, text",
    [
        (5, IAE, "slice index 5 of dimension 0 out of bounds. [Op:StridedSlice]"),
        (-4, IAE, "slice index -1 of dimension 0 out of bounds. [Op:StridedSlice]"),
        ((0, 0), IAE, "Index out of range using input dim 1; input has only 1 dims [Op:StridedSlice]"),
        (slice(None, None, 0), IAE, "strides[0] must be non-zero [Op:StridedSlice]"),
        ((Ellipsis, Ellipsis), IAE, "Multiple ellipses in slice spec not allowed [Op:StridedSlice]"),
        (1.0, TypeError,
         "Only integers, slices (`:`), ellipsis (`...`), tf.newaxis (`None`) and scalar tf.int32/tf.int64 tensors "
         "are valid indices, got 1.0"),
        ("a", TypeError, "are valid indices, got 'a'"),
    ],
)
def test_indexing_errors(key, exc, text):
    x = tf.constant([1.0, 2.0, 3.0])
    _raises(exc, text, lambda: x[key])


def test_indexing_scalar_and_matrix_errors():
    _raises(IAE, "Attempting to slice scalar input. [Op:StridedSlice]", lambda: tf.constant(1.0)[0])
    m = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    _raises(IAE, "slice index 5 of dimension 1 out of bounds. [Op:StridedSlice]", lambda: m[0, 5])
    _raises(IAE, "Index out of range using input dim 2; input has only 2 dims [Op:StridedSlice]", lambda: m[0, 0, 0])


# ------------------------------------------------------------ tapes


def test_unconnected_gradients_strings():
    x, z = tf.Variable(2.0), tf.Variable(3.0)
    with tf.GradientTape(persistent=True) as t:
        y = x * x
    g = t.gradient(y, [x, z], unconnected_gradients="zero")
    assert float(g[0]) == 4.0 and float(g[1]) == 0.0
    assert t.gradient(y, [x, z], unconnected_gradients="none")[1] is None
    _raises(ValueError, "Unknown value for unconnected_gradients: 'bogus'",
            lambda: t.gradient(y, [x, z], unconnected_gradients="bogus"))


def test_output_gradients_list_pairs_seeds_with_targets():
    # TF flattens output_gradients: for one target the list's first value seeds it
    x = tf.Variable([1.0, 2.0])
    with tf.GradientTape(persistent=True) as t:
        y = x * x
    np.testing.assert_array_equal(t.gradient(y, x, output_gradients=[1.0, 2.0]).numpy(), [2.0, 4.0])
    np.testing.assert_array_equal(t.gradient(y, x, output_gradients=tf.constant(2.0)).numpy(), [4.0, 8.0])
    _raises(IAE, "", lambda: t.gradient(y, x, output_gradients=tf.constant([1.0, 2.0, 3.0])))


def test_integer_sources_are_not_reported_at_warning_level():
    # TF logs the source-dtype message with vlog(1): nothing at the default level
    x = tf.Variable(1)
    with capture_warnings() as msgs:
        with tf.GradientTape() as t:
            y = x * x
        assert t.gradient(y, x) is None
    assert not [m for m in msgs if "source tensor" in m], msgs


def test_watching_an_integer_tensor_is_reported():
    x = tf.constant(1)
    with capture_warnings() as msgs:
        with tf.GradientTape() as t:
            t.watch(x)
            y = x * x
        assert t.gradient(y, x) is None
    assert any("The dtype of the watched tensor must be floating (e.g. tf.float32), got tf.int32" in m
               for m in msgs), msgs


# ------------------------------------------------------------ keras


def _run_optimizer(make, dtype=np.float32, steps=30):
    gs = np.random.default_rng(0).normal(size=(steps, 4)).astype(dtype)
    opt = make()
    v = tf.Variable(np.ones(4, dtype))
    for g in gs:
        opt.apply_gradients([(tf.constant(g), v)])
    return v.numpy()


@pytest.mark.parametrize(
    "make, expected",
    [
        # tf_keras 2.21, float32 (Adam's bias-corrected rate computed in float32)
        (lambda: tf.keras.optimizers.Adam(learning_rate=0.05),
         [1.3246129751205444, 0.9330508708953857, 0.7556764483451843, 0.5058627128601074]),
        (lambda: tf.keras.optimizers.Adam(learning_rate=0.05, amsgrad=True),
         [1.324605941772461, 0.9330508708953857, 0.7556913495063782, 0.5058655738830566]),
        (lambda: tf.keras.optimizers.SGD(learning_rate=0.05, momentum=0.9),
         [2.878159284591675, 0.19019508361816406, -0.5161781907081604, -1.8036572933197021]),
        (lambda: tf.keras.optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
         [2.8914804458618164, 0.14802739024162292, -0.5598405599594116, -1.8932873010635376]),
    ],
    ids=["adam", "adam-amsgrad", "sgd-momentum", "sgd-nesterov"],
)
def test_optimizer_trajectories_match_tf_keras(make, expected):
    v = _run_optimizer(make)
    assert v.dtype == np.float32
    np.testing.assert_allclose(v, expected, rtol=2e-7, atol=2e-7)


def test_adam_three_steps_bitwise():
    # tf_keras 2.21.0 prints these exact float32 values
    o = tf.keras.optimizers.Adam(learning_rate=0.1)
    v = tf.Variable([1.0, -2.0])
    for _ in range(3):
        o.apply_gradients([(tf.constant([1.0, -0.5]), v)])
    np.testing.assert_array_equal(v.numpy(), np.array([0.7000028, -1.7000034], np.float32))
    o = tf.keras.optimizers.Adam(learning_rate=0.1, beta_1=0.5, epsilon=1e-3, amsgrad=True)
    v = tf.Variable([1.0, -2.0])
    for _ in range(3):
        o.apply_gradients([(tf.constant([1.0, -0.5]), v)])
    np.testing.assert_allclose(v.numpy(), np.array([0.70704883, -1.7137566], np.float32), rtol=1e-6)


def test_missing_gradient_warning_text():
    o = tf.keras.optimizers.SGD(learning_rate=0.1)
    v, w = tf.Variable(1.0), tf.Variable(2.0)
    with capture_warnings() as msgs:
        o.apply_gradients([(None, v), (tf.constant(1.0), w)])
    assert any("Gradients do not exist for variables ['Variable:0'] when minimizing the loss. If you're using "
               "`model.compile()`, did you forget to provide a `loss` argument?" in m for m in msgs), msgs
    assert float(v) == 1.0 and float(w) == pytest.approx(1.9)


def test_perfect_binary_crossentropy_is_plus_zero():
    # TF's sums start from +0: the mean of -0.0s prints as 0., not -0.
    r = tf.keras.losses.binary_crossentropy(tf.constant([[1.0, 0.0]]), tf.constant([[1.0, 0.0]]))
    assert not np.signbit(r.numpy()[0])
    assert not np.signbit(tf.reduce_sum(tf.constant([-0.0, -0.0])).numpy())
    assert not np.signbit(tf.reduce_mean(tf.constant([[-0.0, -0.0]] * 3), axis=0).numpy()).any()


def test_loss_reduction_key_message():
    _raises(ValueError, "Invalid Reduction Key: bogus. Expected keys are \"('auto', 'none', 'sum', 'sum_over_batch_size')\"",
            lambda: tf.keras.losses.MeanSquaredError(reduction="bogus"))


# ------------------------------------------------------------ nn and more tf.math names


def test_softmax_axis_out_of_range():
    for f in (tf.nn.softmax, tf.nn.log_softmax):
        _raises(IAE, "`dim` must be in the range [-2, 2) where 2 is the number of dimensions in the input. "
                     "Received: dim=2", lambda: f(tf.ones((2, 2)), axis=2))


@pytest.mark.parametrize(
    "thunk, expected",
    [
        (lambda: tf.math.round(tf.constant([0.5, 1.5, 2.5, -0.5, -1.7])), [0.0, 2.0, 2.0, -0.0, -2.0]),
        (lambda: tf.math.floor(tf.constant([0.5, -1.5, 2.0])), [0.0, -2.0, 2.0]),
        (lambda: tf.math.ceil(tf.constant([0.5, -1.5, 2.0])), [1.0, -1.0, 2.0]),
        (lambda: tf.math.is_nan(tf.constant([0.5, np.nan, np.inf])), [False, True, False]),
        (lambda: tf.math.is_inf(tf.constant([0.5, np.nan, -np.inf])), [False, False, True]),
        (lambda: tf.math.is_finite(tf.constant([0.5, np.nan, np.inf])), [True, False, False]),
        (lambda: tf.math.logical_xor(tf.constant([True, True, False]), tf.constant([False, True, False])),
         [True, False, False]),
        (lambda: tf.math.l2_normalize(tf.constant([[3.0, 4.0], [0.0, 0.0]]), axis=1), [[0.6, 0.8], [0.0, 0.0]]),
        (lambda: tf.norm(tf.constant([[3.0, 4.0], [6.0, 8.0]]), axis=1), [5.0, 10.0]),
        (lambda: tf.linalg.norm(tf.constant([3.0, 4.0])), 5.0),
        (lambda: tf.math.log_sigmoid(tf.constant([0.5, -100.0])), [-0.474077, -100.0]),
    ],
)
def test_more_math_names(thunk, expected):
    np.testing.assert_allclose(thunk().numpy(), expected, rtol=1e-6)


def test_norm_and_floor_gradients():
    x = tf.constant([3.0, 4.0])
    with tf.GradientTape(persistent=True) as t:
        t.watch(x)
        n = tf.norm(x)
        f = tf.math.floor(x * 0.5) * x
    np.testing.assert_allclose(t.gradient(n, x).numpy(), [0.6, 0.8], rtol=1e-6)
    np.testing.assert_array_equal(t.gradient(f, x).numpy(), [1.0, 2.0])  # floor has no gradient


# ------------------------------------------------------------ shapes, dtypes, Variables' odds and ends


def test_shape_compares_with_lists_and_tuples():
    s = tf.constant([[1.0, 2.0]]).shape
    assert s == [1, 2] and s == (1, 2) and not (s != [1, 2]) and s != [2, 1]


def test_as_dtype_error_text():
    _raises(TypeError, "Cannot convert the argument `type_value`: 'bogus' to a TensorFlow DType.",
            lambda: tf.as_dtype("bogus"))


def test_stack_of_python_values_converts_the_list_whole():
    r = tf.stack([1, 2.0])
    assert r.dtype == tf.float32
    np.testing.assert_array_equal(r.numpy(), [1.0, 2.0])
    r = tf.stack([tf.constant(1), 2])
    assert r.dtype == tf.int32


def test_bool_ones():
    r = tf.ones_like(tf.constant([True, False]))
    assert r.dtype == tf.bool and r.numpy().tolist() == [True, True]
    assert tf.ones((2,), tf.bool).numpy().tolist() == [True, True]
    assert tf.zeros_like(tf.constant([True])).numpy().tolist() == [False]


def test_variable_odds_and_ends():
    _raises(ValueError, "The `initial_value` arg to `tf.Variable` must be specified except when you are not "
                        "providing a `variable_def`. You provided neither.", lambda: tf.Variable(None))
    v = tf.Variable(1.0)
    _raises(TypeError, "Variable is unhashable. Instead, use variable.ref() as the key.", lambda: hash(v))
    _raises(TypeError, "Tensor is unhashable. Instead, use tensor.ref() as the key.", lambda: hash(tf.constant(1.0)))
    assert v.assign(3.0, read_value=False) is None
    assert v.assign_add(1.0, read_value=False) is None
    assert v.assign_sub(0.5, read_value=False) is None
    assert float(v) == 3.5
    r = tf.Variable(1.0) == tf.Variable(1.0)
    assert r.dtype == tf.bool and bool(r)


# ------------------------------------------------------------ gradients at kinks and masked branches


def test_xlogy_gradient_is_zero_where_x_is_zero():
    x, y = tf.constant([0.0, 2.0]), tf.constant([0.0, 3.0])
    with tf.GradientTape(persistent=True) as t:
        t.watch([x, y])
        z = tf.math.xlogy(x, y)
    np.testing.assert_allclose(z.numpy(), [0.0, 2.0 * np.log(3.0)], rtol=1e-6)
    np.testing.assert_allclose(t.gradient(z, x).numpy(), [0.0, np.log(3.0)], rtol=1e-6)
    np.testing.assert_allclose(t.gradient(z, y).numpy(), [0.0, 2.0 / 3.0], rtol=1e-6)


def test_leaky_relu_gradient_at_zero_is_alpha():
    x = tf.constant([-1.0, 0.0, 2.0])
    with tf.GradientTape() as t:
        t.watch(x)
        y = tf.nn.leaky_relu(x, alpha=0.1)
    np.testing.assert_allclose(y.numpy(), [-0.1, 0.0, 2.0], rtol=1e-6)
    np.testing.assert_allclose(t.gradient(y, x).numpy(), [0.1, 0.1, 1.0], rtol=1e-6)


@pytest.mark.parametrize(
    "f, x, expected",
    [
        (tf.nn.relu, [-1.0, 0.0, 2.0], [0.0, 0.0, 1.0]),
        (tf.abs, [-1.0, 0.0, 2.0], [-1.0, 0.0, 1.0]),
        (tf.sqrt, [0.0, 4.0], [np.inf, 0.25]),
        (lambda x: x ** 0.5, [0.0, 4.0], [np.inf, 0.25]),
        (lambda x: x ** 2, [0.0, -2.0], [0.0, -4.0]),
        (lambda x: x ** x, [0.0, 2.0], [np.nan, 6.7725887]),
        (tf.math.log, [0.0, 1.0], [np.inf, 1.0]),
        (tf.reduce_max, [1.0, 3.0, 3.0], [0.0, 0.5, 0.5]),
        (tf.reduce_min, [1.0, 1.0, 3.0], [0.5, 0.5, 0.0]),
        (tf.reduce_prod, [0.0, 1.0, 3.0], [3.0, 0.0, 0.0]),
        (tf.reduce_prod, [0.0, 0.0, 3.0], [0.0, 0.0, 0.0]),
        (tf.sign, [0.0, 1.0], [0.0, 0.0]),
        (lambda x: tf.nn.relu(x), [1.0, np.nan], [1.0, 0.0]),
        (lambda x: x / 0.0, [1.0, 2.0], [np.inf, np.inf]),
        (lambda x: x // 2.0, [7.0, -7.0], None),
        (lambda x: tf.norm(x), [0.0, 0.0], [np.nan, np.nan]),
    ],
)
def test_gradients_at_kinks(f, x, expected):
    x = tf.constant(x)
    with tf.GradientTape() as t:
        t.watch(x)
        y = f(x)
    g = t.gradient(y, x)
    if expected is None:
        assert g is None
    else:
        np.testing.assert_allclose(g.numpy(), expected, rtol=1e-6)


def test_maximum_ties_go_to_the_first_argument():
    x, z = tf.constant([1.0, 2.0]), tf.constant([1.0, 3.0])
    with tf.GradientTape(persistent=True) as t:
        t.watch([x, z])
        hi, lo = tf.maximum(x, z), tf.minimum(x, z)
    np.testing.assert_array_equal(t.gradient(hi, x).numpy(), [1.0, 0.0])
    np.testing.assert_array_equal(t.gradient(hi, z).numpy(), [0.0, 1.0])
    np.testing.assert_array_equal(t.gradient(lo, x).numpy(), [1.0, 1.0])
    np.testing.assert_array_equal(t.gradient(lo, z).numpy(), [0.0, 0.0])


# ------------------------------------------------------------ keras models


def test_sequential_checks_its_input_shape_as_a_whole():
    m = tf.keras.Sequential([tf.keras.layers.Dense(2, kernel_initializer="ones", input_shape=(3,))])
    with pytest.raises(ValueError) as ei:
        m(tf.ones((2, 4)))
    assert re.search(r'Input 0 of layer "sequential(_\d+)?" is incompatible with the layer: expected '
                     r"shape=\(None, 3\), found shape=\(2, 4\)", str(ei.value)), str(ei.value)


def test_fit_before_compile_message():
    m = tf.keras.Sequential([tf.keras.layers.Dense(1, kernel_initializer="ones", input_shape=(2,))])
    _raises(RuntimeError, "You must compile your model before training/testing. Use `model.compile(optimizer, loss)`.",
            lambda: m.fit(np.ones((4, 2), np.float32), np.zeros((4, 1), np.float32), epochs=1, verbose=0))


def test_fit_and_evaluate_numbers():
    # tf_keras 2.21.0 with the same deterministic initialisation
    m = tf.keras.Sequential([tf.keras.layers.Dense(1, kernel_initializer="ones", input_shape=(2,))])
    m.compile(optimizer=tf.keras.optimizers.SGD(0.1), loss="mse", metrics=["mae"])
    h = m.fit(np.ones((4, 2), np.float32), np.zeros((4, 1), np.float32), epochs=2, batch_size=2, verbose=0)
    np.testing.assert_allclose(h.history["loss"], [2.32, 0.059392], rtol=1e-5)
    np.testing.assert_allclose(h.history["mae"], [1.4, 0.224], rtol=1e-5)
    r = m.evaluate(np.ones((4, 2), np.float32), np.zeros((4, 1), np.float32), verbose=0)
    np.testing.assert_allclose(r, [0.00262144, 0.0512], rtol=1e-4)


def test_tape_reset_outside_its_context_raises():
    x = tf.Variable(1.0)
    with tf.GradientTape(persistent=True) as t:
        y = x * x
        t.reset()
        z = x * 3
    assert float(t.gradient(z, x)) == 3.0
    assert t.gradient(y, x) is None
    _raises(ValueError, "Tape is not recording.", t.reset)


def test_batch_jacobian_first_dimension_message():
    x = tf.Variable([[1.0, 2.0], [3.0, 4.0]])
    with tf.GradientTape() as t:
        y = tf.reduce_sum(x, axis=0, keepdims=True)[:, :1]
    _raises(ValueError, "Need first dimension of target shape ((1, 1)) and source shape ((2, 2)) to match.",
            lambda: t.batch_jacobian(y, x))


# ------------------------------------------------------------ common training-loop helpers


def test_clip_by_norm_and_global_norm():
    np.testing.assert_allclose(tf.clip_by_norm(tf.constant([3.0, 4.0]), 1.0).numpy(), [0.6, 0.8], rtol=1e-6)
    np.testing.assert_allclose(tf.clip_by_norm(tf.constant([0.3, 0.4]), 1.0).numpy(), [0.3, 0.4], rtol=1e-6)
    np.testing.assert_array_equal(tf.clip_by_norm(tf.constant([0.0, 0.0]), 1.0).numpy(), [0.0, 0.0])
    np.testing.assert_allclose(tf.clip_by_norm(tf.constant([[3.0, 4.0], [0.3, 0.4]]), 1.0, axes=[1]).numpy(),
                               [[0.6, 0.8], [0.3, 0.4]], rtol=1e-6)
    clipped, norm = tf.clip_by_global_norm([tf.constant([3.0, 4.0]), None, tf.constant([12.0])], 6.5)
    assert float(norm) == 13.0 and clipped[1] is None
    np.testing.assert_allclose(clipped[0].numpy(), [1.5, 2.0], rtol=1e-6)
    np.testing.assert_allclose(clipped[2].numpy(), [6.0], rtol=1e-6)


def test_relu6_silu_moments_is_tensor():
    x = tf.constant([-1.0, 0.0, 3.0, 6.0, 7.0])
    with tf.GradientTape() as t:
        t.watch(x)
        y = tf.nn.relu6(x)
    np.testing.assert_array_equal(y.numpy(), [0.0, 0.0, 3.0, 6.0, 6.0])
    np.testing.assert_array_equal(t.gradient(y, x).numpy(), [0.0, 0.0, 1.0, 0.0, 0.0])
    np.testing.assert_allclose(tf.nn.silu(tf.constant([-1.0, 0.0, 2.0])).numpy(), [-0.26894143, 0.0, 1.7615942],
                               rtol=1e-6)
    mean, var = tf.nn.moments(tf.constant([[1.0, 2.0], [3.0, 6.0]]), axes=[0])
    np.testing.assert_allclose(mean.numpy(), [2.0, 4.0])
    np.testing.assert_allclose(var.numpy(), [1.0, 4.0])
    assert tf.is_tensor(tf.constant(1.0)) and tf.is_tensor(tf.Variable(1.0))
    assert not tf.is_tensor(1.0) and not tf.is_tensor(np.ones(1))
    assert tf.executing_eagerly()


def test_string_operand_message():
    _raises(TypeError, "Cannot convert 'a' to EagerTensor of dtype float", lambda: tf.constant([1.0]) == "a")


def test_gradient_of_a_tape_never_entered():
    # TF: the tape object has no recording yet, so it reports it as used up
    x = tf.Variable(1.0)
    t = tf.GradientTape()
    _raises(RuntimeError, "A non-persistent GradientTape can only be used to compute one set of gradients",
            lambda: t.gradient(x, x))
    t = tf.GradientTape(persistent=True)
    _raises(RuntimeError, "A non-persistent GradientTape can only be used to compute one set of gradients",
            lambda: t.gradient(x, x))


def test_adam_float64_uses_float32_hyperparameters():
    # tf_keras keeps lr/beta_1/beta_2 as float32 and casts them to the variable's dtype
    v = _run_optimizer(lambda: tf.keras.optimizers.Adam(learning_rate=0.05), dtype=np.float64)
    np.testing.assert_allclose(v, [1.3246134855760432, 0.9330506566296478, 0.755676461315012, 0.505862473975868],
                               rtol=1e-12)


def test_sgd_float64_uses_a_float32_learning_rate():
    # tf_keras's learning rate is a float32 variable cast to the variable's dtype
    v = tf.Variable(1.0, dtype=tf.float64)
    tf.keras.optimizers.SGD(learning_rate=0.1).apply_gradients([(tf.constant(1.0, tf.float64), v)])
    assert float(v) == 1.0 - float(np.float32(0.1))
