"""Tensor, Variable, dtypes, shapes, conversion, indexing and creation ops.

Expected values and messages were taken from TensorFlow 2.21.0 (NumPy 2.4)
runs; the whole module passes under ``FASTGRAD_TEST_BACKEND=tensorflow``
except the tests marked ``fastgrad_only``.
"""

import numpy as np
import pytest

import fastgrad as tf
from _fgutil import PREFIX, fastgrad_only


# ---------------------------------------------------------------- dtypes


@pytest.mark.parametrize(
    "dt, npdt, name, floating",
    [
        ("float32", np.float32, "float32", True),
        ("float64", np.float64, "float64", True),
        ("int32", np.int32, "int32", False),
        ("int64", np.int64, "int64", False),
        ("bool", np.bool_, "bool", False),
    ],
)
def test_dtype_objects(dt, npdt, name, floating):
    d = getattr(tf, dt)
    assert d == npdt
    assert d == np.dtype(npdt)
    assert d.name == name
    assert bool(d.is_floating) is floating
    assert d.as_numpy_dtype is npdt
    assert tf.zeros((2,), dtype=d).dtype == d


def test_dtypes_differ():
    assert tf.float32 != tf.float64
    assert tf.float32 != np.float64
    assert tf.int32 != tf.int64


def test_dtype_repr():
    # TF: repr(tf.float32) == 'tf.float32', str(tf.float32) == "<dtype: 'float32'>"
    assert repr(tf.float32) in ("tf.float32", PREFIX + ".float32")
    assert repr(tf.float64) in ("tf.float64", PREFIX + ".float64")


# ---------------------------------------------------------------- conversion rules


def test_python_float_is_float32():
    assert tf.constant(1.5).dtype == tf.float32


def test_python_int_is_int32():
    assert tf.constant(1).dtype == tf.int32


def test_python_bool_is_bool():
    assert tf.constant(True).dtype == tf.bool


def test_mixed_list_is_float32():
    # TF: tf.constant([1, 2.5]).dtype -> float32
    assert tf.constant([1, 2.5]).dtype == tf.float32


def test_numpy_keeps_dtype():
    assert tf.constant(np.array([1.0])).dtype == tf.float64
    assert tf.constant(np.array([1.0], dtype=np.float32)).dtype == tf.float32
    # NumPy scalars keep their dtype too (np.float64 subclasses float, but TF
    # treats it as NumPy data)
    assert tf.constant(np.float64(1.0)).dtype == tf.float64
    assert tf.convert_to_tensor(np.float64(2.0)).dtype == tf.float64
    assert tf.constant(np.int64(3)).dtype == tf.int64
    assert tf.constant(np.float32(1.0)).dtype == tf.float32
    assert tf.constant(np.array([1], dtype=np.int64)).dtype == tf.int64
    assert tf.constant(np.array([1.0], dtype=np.float32)).dtype == tf.float32
    assert tf.convert_to_tensor(np.arange(3.0)).dtype == tf.float64


def test_constant_with_dtype():
    t = tf.constant([1, 2], dtype=tf.float64)
    assert t.dtype == tf.float64
    np.testing.assert_array_equal(t.numpy(), [1.0, 2.0])
    assert t.numpy().dtype == np.float64


def test_constant_float_to_int_dtype_raises_typeerror():
    # TF: TypeError('Cannot convert 1.5 to EagerTensor of dtype int32')
    with pytest.raises(TypeError):
        tf.constant(1.5, dtype=tf.int32)


def test_constant_shape_broadcasts_scalar():
    t = tf.constant(2.0, shape=(2, 3))
    assert t.shape == (2, 3)
    np.testing.assert_array_equal(t.numpy(), np.full((2, 3), 2.0, np.float32))


def test_constant_shape_reshapes():
    t = tf.constant([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], shape=(2, 3))
    np.testing.assert_array_equal(t.numpy(), [[1, 2, 3], [4, 5, 6]])


def test_constant_bad_shape():
    # TF: TypeError "Eager execution of tf.constant with unsupported shape ...
    # has 3 elements, but got `shape` (2, 3) with 6 elements)."
    with pytest.raises(TypeError):
        tf.constant([1.0, 2.0, 3.0], shape=(2, 3))


def test_convert_to_tensor_passthrough_and_python():
    t = tf.constant([1.0, 2.0])
    c = tf.convert_to_tensor(t)
    np.testing.assert_array_equal(c.numpy(), [1.0, 2.0])
    assert tf.convert_to_tensor(2.0).dtype == tf.float32
    one = tf.convert_to_tensor(1, dtype=tf.float32)
    assert one.dtype == tf.float32 and float(one) == 1.0


def test_convert_to_tensor_dtype_conflict():
    # TF: ValueError('Tensor conversion requested dtype float64 for Tensor with dtype float32: ...')
    with pytest.raises(ValueError, match="float64.*float32"):
        tf.convert_to_tensor(tf.constant(1.0), dtype=tf.float64)


def test_convert_none_raises_valueerror():
    # TF: ValueError("Attempt to convert a value (None) with an unsupported type (<class 'NoneType'>) to a Tensor.")
    with pytest.raises(ValueError):
        tf.convert_to_tensor(None)


def test_float32_tensor_plus_float64_numpy_is_float32():
    r = tf.constant([1.0]) + np.array([1.0])
    assert r.dtype == tf.float32
    np.testing.assert_array_equal(r.numpy(), [2.0])


def test_float64_numpy_plus_float32_tensor_is_float32_tensor():
    r = np.array([1.0, 2.0]) + tf.constant([1.0, 2.0])
    assert isinstance(r, tf.Tensor)
    assert r.dtype == tf.float32
    np.testing.assert_array_equal(r.numpy(), [2.0, 4.0])


def test_float_tensor_times_int_numpy_is_float():
    r = tf.constant([1.5]) * np.array([2])
    assert r.dtype == tf.float32
    np.testing.assert_array_equal(r.numpy(), [3.0])


def test_python_scalar_takes_tensor_dtype():
    r = tf.constant([1.0], dtype=tf.float64) * 2
    assert r.dtype == tf.float64
    r = 3 * tf.constant(2.0)
    assert r.dtype == tf.float32 and float(r) == 6.0
    r = tf.constant(2) + 3
    assert r.dtype == tf.int32 and int(r) == 5


def test_int_tensor_plus_python_float_raises():
    # TF: InvalidArgumentError 'cannot compute AddV2 as input #1(zero-based) was
    # expected to be a int32 tensor but is a float tensor'
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.constant(1) + 1.5


def test_integer_true_division_gives_float64():
    r = tf.constant(7) / tf.constant(2)
    assert r.dtype == tf.float64
    assert float(r) == 3.5
    r = tf.constant([7, 9]) / 2
    assert r.dtype == tf.float64
    np.testing.assert_array_equal(r.numpy(), [3.5, 4.5])
    r = tf.divide(tf.constant([7]), tf.constant([2]))
    assert r.dtype == tf.float64


def test_integer_pow_stays_int():
    r = tf.constant(3) ** 2
    assert r.dtype == tf.int32 and int(r) == 9


# ---------------------------------------------------------------- shape


def test_tensorshape():
    t = tf.ones((2, 3))
    s = t.shape
    assert s == (2, 3)
    assert s.as_list() == [2, 3]
    assert s.rank == 2
    assert s[0] == 2 and s[-1] == 3
    assert len(s) == 2
    assert tf.constant(1.0).shape == ()
    assert tf.constant(1.0).shape.rank == 0
    assert tf.constant(1.0).shape.as_list() == []


@fastgrad_only
def test_tensorshape_is_tuple():
    s = tf.ones((2, 3)).shape
    assert isinstance(s, tuple)
    assert tuple(s) == (2, 3)
    assert s == tuple([2, 3])


def test_ndim_len():
    t = tf.zeros((4, 3, 2))
    assert t.ndim == 3
    assert len(t) == 4


def test_len_of_scalar_raises_typeerror():
    # TF: TypeError('Scalar tensor has no `len()`')
    with pytest.raises(TypeError):
        len(tf.constant(1.0))


# ---------------------------------------------------------------- repr / str


def test_repr_scalar():
    assert repr(tf.constant(9.0)) == "<%s.Tensor: shape=(), dtype=float32, numpy=9.0>" % PREFIX


def test_str_scalar():
    assert str(tf.constant(9.0)) == "%s.Tensor(9.0, shape=(), dtype=float32)" % PREFIX


def test_repr_int_bool_float64():
    assert repr(tf.constant(3)) == "<%s.Tensor: shape=(), dtype=int32, numpy=3>" % PREFIX
    assert repr(tf.constant(True)) == "<%s.Tensor: shape=(), dtype=bool, numpy=True>" % PREFIX
    assert (
        repr(tf.constant(2.5, tf.float64))
        == "<%s.Tensor: shape=(), dtype=float64, numpy=2.5>" % PREFIX
    )


def test_repr_vector():
    assert (
        repr(tf.constant([1, 2], tf.int64))
        == "<%s.Tensor: shape=(2,), dtype=int64, numpy=array([1, 2])>" % PREFIX
    )


def test_repr_matrix_multiline():
    # TF 2.21 output, verbatim apart from the prefix.
    x = tf.reshape(tf.constant([0.0, 1.0, 2.0, 3.0]), (4, 1))
    expected = (
        "<%s.Tensor: shape=(4, 1), dtype=float32, numpy=\n"
        "array([[0.],\n"
        "       [1.],\n"
        "       [2.],\n"
        "       [3.]], dtype=float32)>" % PREFIX
    )
    assert repr(x) == expected


def test_str_matrix_multiline():
    x = tf.reshape(tf.constant([0.0, 1.0, 2.0, 3.0]), (4, 1))
    expected = "%s.Tensor(\n[[0.]\n [1.]\n [2.]\n [3.]], shape=(4, 1), dtype=float32)" % PREFIX
    assert str(x) == expected


def test_str_scalar_not_exact():
    # str uses NumPy's str of the value: float32 -0.3333333
    assert str(tf.constant(-0.3333333)) == "%s.Tensor(-0.3333333, shape=(), dtype=float32)" % PREFIX


@fastgrad_only
def test_repr_scalar_not_exact():
    # The seed tutorials (TF 2.x with NumPy 1.x) print numpy=-0.3333333.
    # TF 2.21 with NumPy 2 prints numpy=-0.3333333134651184 instead; fastgrad
    # follows the tutorials.
    assert (
        repr(tf.constant(-0.3333333))
        == "<fastgrad.Tensor: shape=(), dtype=float32, numpy=-0.3333333>"
    )


def test_repr_empty():
    assert (
        repr(tf.zeros((0, 3)))
        == "<%s.Tensor: shape=(0, 3), dtype=float32, numpy=array([], shape=(0, 3), dtype=float32)>"
        % PREFIX
    )


def test_variable_repr():
    assert repr(tf.Variable(2.0)) == "<%s.Variable 'Variable:0' shape=() dtype=float32, numpy=2.0>" % PREFIX
    assert (
        repr(tf.Variable([1.0, 2.0]))
        == "<%s.Variable 'Variable:0' shape=(2,) dtype=float32, numpy=array([1., 2.], dtype=float32)>"
        % PREFIX
    )
    assert repr(tf.Variable(2.0, name="w")) == "<%s.Variable 'w:0' shape=() dtype=float32, numpy=2.0>" % PREFIX


@fastgrad_only
def test_variable_repr_not_exact():
    v = tf.Variable(-0.3333333)
    assert repr(v) == "<fastgrad.Variable 'Variable:0' shape=() dtype=float32, numpy=-0.3333333>"
    assert str(v) == repr(v)  # TF: str(variable) == repr(variable)


# ---------------------------------------------------------------- Python protocol


def test_float_int_bool():
    assert float(tf.constant(2.5)) == 2.5
    assert isinstance(float(tf.constant(2.5)), float)
    assert int(tf.constant(2.7)) == 2
    assert int(tf.constant(-2.7)) == -2
    assert bool(tf.constant(0.0)) is False
    assert bool(tf.constant(3)) is True
    assert float(tf.constant(3, tf.int64)) == 3.0


def test_float_of_vector_raises_typeerror():
    # TF: TypeError('only 0-dimensional arrays can be converted to Python scalars')
    with pytest.raises(TypeError):
        float(tf.constant([2.5, 1.0]))


def test_bool_of_vector_raises_valueerror():
    # TF: ValueError('The truth value of an array with more than one element is ambiguous. ...')
    with pytest.raises(ValueError, match="ambiguous"):
        bool(tf.constant([1.0, 2.0]))


def test_numpy_and_asarray():
    t = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    a = t.numpy()
    assert isinstance(a, np.ndarray) and a.dtype == np.float32
    np.testing.assert_array_equal(a, [[1, 2], [3, 4]])
    b = np.asarray(t)
    assert b.dtype == np.float32
    np.testing.assert_array_equal(b, a)
    c = np.asarray(t, dtype=np.float64)
    assert c.dtype == np.float64
    np.testing.assert_array_equal(c, a)


def test_numpy_scalar():
    a = tf.constant(2.5).numpy()
    assert a == 2.5 and a.dtype == np.float32


def test_tensor_unhashable():
    # TF: TypeError('Tensor is unhashable. Instead, use tensor.ref() as the key.')
    with pytest.raises(TypeError):
        hash(tf.constant(1.0))


# ---------------------------------------------------------------- operators


def _t(a):
    return tf.constant(np.asarray(a, dtype=np.float32))


@pytest.mark.parametrize(
    "op",
    ["add", "sub", "mul", "truediv", "pow", "radd", "rsub", "rmul", "rtruediv", "rpow"],
)
def test_operators_with_numpy_and_python(op):
    a = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], np.float32)
    b = np.array([0.5, 1.5, 2.5], np.float32)
    f = {
        "add": lambda x, y: x + y,
        "sub": lambda x, y: x - y,
        "mul": lambda x, y: x * y,
        "truediv": lambda x, y: x / y,
        "pow": lambda x, y: x**y,
        "radd": lambda x, y: y + x,
        "rsub": lambda x, y: y - x,
        "rmul": lambda x, y: y * x,
        "rtruediv": lambda x, y: y / x,
        "rpow": lambda x, y: y**x,
    }[op]
    expected = f(a, b)
    for left, right in [(_t(a), _t(b)), (_t(a), b), (a, _t(b))]:
        r = f(left, right)
        assert isinstance(r, tf.Tensor), (type(left), type(right))
        assert r.dtype == tf.float32
        np.testing.assert_allclose(r.numpy(), expected, rtol=1e-6)
    r = f(_t(a), 2.0)
    np.testing.assert_allclose(r.numpy(), f(a, np.float32(2.0)), rtol=1e-6)


def test_numpy_on_left_gives_tensor():
    r = np.array([1.0, 2.0], np.float32) * tf.constant([3.0, 4.0])
    assert isinstance(r, tf.Tensor)
    np.testing.assert_array_equal(r.numpy(), [3.0, 8.0])
    r = np.array([[1.0, 2.0]], np.float32) @ tf.constant([[3.0], [4.0]])
    assert isinstance(r, tf.Tensor)
    np.testing.assert_array_equal(r.numpy(), [[11.0]])


def test_matmul_operator_and_unary():
    a = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal((a @ a).numpy(), [[7, 10], [15, 22]])
    np.testing.assert_array_equal((-a).numpy(), [[-1, -2], [-3, -4]])
    np.testing.assert_array_equal(abs(-a).numpy(), [[1, 2], [3, 4]])


def test_comparisons():
    a = tf.constant([1.0, 2.0, 3.0])
    r = a < 2.0
    assert r.dtype == tf.bool
    np.testing.assert_array_equal(r.numpy(), [True, False, False])
    np.testing.assert_array_equal((a > 2.0).numpy(), [False, False, True])
    np.testing.assert_array_equal((a <= 2.0).numpy(), [True, True, False])
    np.testing.assert_array_equal((a >= 2.0).numpy(), [False, True, True])
    np.testing.assert_array_equal((a == tf.constant([1.0, 0.0, 3.0])).numpy(), [True, False, True])
    np.testing.assert_array_equal((a != tf.constant([1.0, 0.0, 3.0])).numpy(), [False, True, False])
    np.testing.assert_array_equal(tf.equal(a, 2.0).numpy(), [False, True, False])
    np.testing.assert_array_equal(tf.less(a, 2.0).numpy(), [True, False, False])
    np.testing.assert_array_equal(tf.greater(a, 2.0).numpy(), [False, False, True])


def test_eq_with_incompatible_shapes_is_false():
    # TF: tf.constant([1., 2.]) == tf.constant([1., 3., 3.]) -> scalar False
    r = tf.constant([1.0, 2.0]) == tf.constant([1.0, 3.0, 3.0])
    assert bool(r) is False


# ---------------------------------------------------------------- indexing


M = np.arange(24, dtype=np.float32).reshape(2, 3, 4)


@pytest.mark.parametrize(
    "key",
    [
        (1,),
        (-1,),
        (slice(1, None),),
        (slice(None, None, -1),),
        (slice(None), slice(None, None, 2)),
        (slice(None), slice(None, None, -2), slice(3, 0, -1)),
        (Ellipsis, 0),
        (Ellipsis, slice(1, 3)),
        (0, Ellipsis, -1),
        (None, 1),
        (slice(None), None, 2),
        (Ellipsis, None),
        (1, 2, 3),
        (1, slice(0, 2), slice(None, None, 3)),
        (slice(5, None),),
        (slice(None, 100),),
        (slice(-2, None), slice(-100, 2)),
    ],
    ids=lambda k: repr(k),
)
def test_indexing_matches_numpy(key):
    t = tf.constant(M)
    k = tuple(tf.newaxis if e is None else e for e in key)
    r = t[k if len(k) > 1 else k[0]]
    np.testing.assert_array_equal(r.numpy(), M[key if len(key) > 1 else key[0]])
    assert tuple(r.shape) == M[key].shape


def test_newaxis_is_none():
    assert tf.newaxis is None


def test_python_list_index_is_tuple_index():
    # TF: t[[1, 0]] means t[1, 0]
    t = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    r = t[[1, 0]]
    assert r.shape == ()
    assert float(r) == 3.0


@fastgrad_only
def test_numpy_int_array_index_gathers():
    # fastgrad extension: a NumPy integer array / integer Tensor index gathers
    # along axis 0 (TF raises instead).
    t = tf.constant(M)
    r = t[np.array([1, 0, 1])]
    np.testing.assert_array_equal(r.numpy(), M[[1, 0, 1]])
    r = t[tf.constant([1, 1])]
    np.testing.assert_array_equal(r.numpy(), M[[1, 1]])


@fastgrad_only
def test_numpy_int_array_index_gathers_values():
    v = tf.constant([10.0, 11.0, 12.0, 13.0])
    np.testing.assert_array_equal(v[np.array([3, 0, 3])].numpy(), [13.0, 10.0, 13.0])
    np.testing.assert_array_equal(v[tf.constant([2, 1])].numpy(), [12.0, 11.0])


def test_index_out_of_range():
    # TF: InvalidArgumentError 'slice index 5 of dimension 0 out of bounds.'
    with pytest.raises((tf.errors.InvalidArgumentError, IndexError)):
        tf.ones((3,))[5]


def test_variable_indexing():
    v = tf.Variable([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(v[:, 1].numpy(), [2.0, 4.0])
    assert float(v[1, 0]) == 3.0


# ---------------------------------------------------------------- Variable


def test_variable_basics():
    v = tf.Variable([1.0, 2.0])
    assert isinstance(v, tf.Variable)
    assert v.dtype == tf.float32
    assert v.shape == (2,)
    assert v.name == "Variable:0"
    assert v.trainable is True
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0])
    val = v.value()
    assert isinstance(val, tf.Tensor)
    np.testing.assert_array_equal(val.numpy(), [1.0, 2.0])
    assert tf.Variable(1.0, trainable=False).trainable is False
    assert tf.Variable(1.0, name="w").name == "w:0"


def test_variable_dtypes():
    assert tf.Variable(1).dtype == tf.int32
    assert tf.Variable(np.array([1.0])).dtype == tf.float64
    v = tf.Variable(1, dtype=tf.float32)
    assert v.dtype == tf.float32 and float(v) == 1.0
    v = tf.Variable(tf.constant([1.0, 2.0], tf.float64))
    assert v.dtype == tf.float64
    v = tf.Variable(range(4), dtype=tf.float32)
    np.testing.assert_array_equal(v.numpy(), [0.0, 1.0, 2.0, 3.0])


def test_variable_assign_family():
    v = tf.Variable([1.0, 2.0])
    v.assign([5.0, 6.0])
    np.testing.assert_array_equal(v.numpy(), [5.0, 6.0])
    v.assign_add([1.0, 1.0])
    np.testing.assert_array_equal(v.numpy(), [6.0, 7.0])
    v.assign_sub(tf.constant([2.0, 3.0]))
    np.testing.assert_array_equal(v.numpy(), [4.0, 4.0])
    v.assign([1, 2])  # Python ints convert to the variable's dtype
    assert v.dtype == tf.float32
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0])


def test_variable_assign_returns_value():
    v = tf.Variable([1.0, 2.0])
    r = v.assign_add([1.0, 1.0])
    np.testing.assert_array_equal(np.asarray(r), [2.0, 3.0])


def test_variable_in_place_does_not_change_earlier_reads():
    v = tf.Variable([1.0, 2.0])
    before = v.value()
    y = v * 2.0
    v.assign_add([10.0, 10.0])
    np.testing.assert_array_equal(before.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(y.numpy(), [2.0, 4.0])
    np.testing.assert_array_equal((v * 1.0).numpy(), [11.0, 12.0])


def test_variable_assign_shape_mismatch_is_valueerror():
    # TF: ValueError "Cannot assign value to variable ' Variable:0': Shape
    # mismatch.The variable shape (2,), and the assigned value shape (3,) are incompatible."
    v = tf.Variable([1.0, 2.0])
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)"):
        v.assign([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0])


@pytest.mark.parametrize("method", ["assign_add", "assign_sub"])
def test_variable_assign_add_shape_mismatch(method):
    # TF: InvalidArgumentError 'Cannot update variable with shape [2] using a
    # Tensor with shape [3], shapes must be equal.'
    v = tf.Variable([1.0, 2.0])
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"2.*3"):
        getattr(v, method)([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0])


@pytest.mark.parametrize("method", ["assign", "assign_add", "assign_sub"])
def test_variable_assign_dtype_mismatch(method):
    # TF: ValueError('Tensor conversion requested dtype float32 for Tensor with
    # dtype float64: ...') for all three (fastgrad's InvalidArgumentError is a
    # ValueError).  Either spelling of the dtypes (float32/float or
    # float64/double, TF's kernel names) is accepted.
    v = tf.Variable([1.0, 2.0])
    with pytest.raises(ValueError, match=r"(float32|float\b).*(float64|double)|(float64|double).*(float32|float\b)"):
        getattr(v, method)(tf.constant([1.0, 2.0], tf.float64))
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0])


def test_variable_ops_give_tensors():
    v = tf.Variable([1.0, 2.0])
    r = v + 1
    assert isinstance(r, tf.Tensor) and not isinstance(r, tf.Variable)
    np.testing.assert_array_equal(r.numpy(), [2.0, 3.0])
    np.testing.assert_array_equal((-v).numpy(), [-1.0, -2.0])
    np.testing.assert_array_equal(tf.matmul(tf.Variable([[1.0, 2.0]]), tf.constant([[1.0], [1.0]])).numpy(), [[3.0]])
    np.testing.assert_array_equal(np.asarray(v), [1.0, 2.0])


# ---------------------------------------------------------------- creation ops


def test_zeros_ones():
    z = tf.zeros((2, 3))
    assert z.dtype == tf.float32 and z.shape == (2, 3)
    np.testing.assert_array_equal(z.numpy(), np.zeros((2, 3)))
    o = tf.ones([3], dtype=tf.float64)
    assert o.dtype == tf.float64
    np.testing.assert_array_equal(o.numpy(), [1.0, 1.0, 1.0])
    assert tf.zeros(()).shape == ()
    assert tf.ones((2,), tf.int32).dtype == tf.int32


def test_zeros_like_ones_like():
    i = tf.constant([1, 2])
    z = tf.zeros_like(i)
    assert z.dtype == tf.int32
    np.testing.assert_array_equal(z.numpy(), [0, 0])
    o = tf.ones_like(i, dtype=tf.float32)
    assert o.dtype == tf.float32
    np.testing.assert_array_equal(o.numpy(), [1.0, 1.0])
    o = tf.ones_like(tf.zeros((2, 2), tf.float64))
    assert o.dtype == tf.float64 and o.shape == (2, 2)


def test_fill():
    f = tf.fill((2, 2), 3.0)
    assert f.dtype == tf.float32
    np.testing.assert_array_equal(f.numpy(), [[3.0, 3.0], [3.0, 3.0]])
    f = tf.fill((2,), 3)
    assert f.dtype == tf.int32
    np.testing.assert_array_equal(f.numpy(), [3, 3])


def test_range():
    r = tf.range(5)
    assert r.dtype == tf.int32
    np.testing.assert_array_equal(r.numpy(), [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(tf.range(1, 10, 3).numpy(), [1, 4, 7])
    r = tf.range(0.0, 1.0, 0.25)
    assert r.dtype == tf.float32
    np.testing.assert_array_equal(r.numpy(), [0.0, 0.25, 0.5, 0.75])
    r = tf.range(3, dtype=tf.float64)
    assert r.dtype == tf.float64
    np.testing.assert_array_equal(r.numpy(), [0.0, 1.0, 2.0])


def test_eye():
    e = tf.eye(2, 3)
    assert e.dtype == tf.float32
    np.testing.assert_array_equal(e.numpy(), [[1, 0, 0], [0, 1, 0]])
    e = tf.eye(2, dtype=tf.int32)
    assert e.dtype == tf.int32
    np.testing.assert_array_equal(e.numpy(), [[1, 0], [0, 1]])


def test_linspace():
    s = tf.linspace(0.0, 1.0, 5)
    assert s.dtype == tf.float32
    np.testing.assert_allclose(s.numpy(), [0.0, 0.25, 0.5, 0.75, 1.0])
    # TF: integer endpoints give float64
    s = tf.linspace(0, 1, 5)
    assert s.dtype == tf.float64
    np.testing.assert_allclose(s.numpy(), [0.0, 0.25, 0.5, 0.75, 1.0])


def test_cast():
    c = tf.cast(tf.constant([1.7, -1.7, 2.5]), tf.int32)
    assert c.dtype == tf.int32
    np.testing.assert_array_equal(c.numpy(), [1, -1, 2])  # truncation toward zero
    b = tf.cast(tf.constant([0.0, 2.0]), tf.bool)
    np.testing.assert_array_equal(b.numpy(), [False, True])
    d = tf.cast(tf.constant([1, 2]), tf.float64)
    assert d.dtype == tf.float64
    np.testing.assert_array_equal(d.numpy(), [1.0, 2.0])


def test_identity():
    a = tf.constant([1.0, 2.0])
    i = tf.identity(a)
    assert i.dtype == tf.float32
    np.testing.assert_array_equal(i.numpy(), [1.0, 2.0])


def test_shape_size_rank():
    x = tf.ones((2, 3))
    s = tf.shape(x)
    assert s.dtype == tf.int32
    np.testing.assert_array_equal(s.numpy(), [2, 3])
    assert int(tf.size(x)) == 6 and tf.size(x).dtype == tf.int32
    assert int(tf.rank(x)) == 2 and tf.rank(x).dtype == tf.int32
    assert int(tf.rank(tf.constant(1.0))) == 0


# ---------------------------------------------------------------- random


def test_random_shapes_and_dtypes():
    n = tf.random.normal((2, 3))
    assert n.shape == (2, 3) and n.dtype == tf.float32
    u = tf.random.uniform((4,), dtype=tf.float64)
    assert u.shape == (4,) and u.dtype == tf.float64
    assert tf.random.normal(()).shape == ()
    assert tf.random.normal([2, 2], dtype=tf.float64).dtype == tf.float64


def test_random_uniform_range():
    u = tf.random.uniform((1000,), minval=2.0, maxval=3.0).numpy()
    assert u.min() >= 2.0 and u.max() < 3.0
    assert 2.4 < u.mean() < 2.6
    u = tf.random.uniform((1000,)).numpy()
    assert u.min() >= 0.0 and u.max() < 1.0


def test_random_normal_moments():
    n = tf.random.normal((20000,), mean=3.0, stddev=2.0, dtype=tf.float64).numpy()
    assert abs(n.mean() - 3.0) < 0.1
    assert abs(n.std() - 2.0) < 0.1


def test_random_set_seed_reproducible():
    tf.random.set_seed(1)
    a = tf.random.normal((2, 3)).numpy()
    b = tf.random.uniform((4,), minval=2, maxval=3, dtype=tf.float64).numpy()
    tf.random.set_seed(1)
    a2 = tf.random.normal((2, 3)).numpy()
    b2 = tf.random.uniform((4,), minval=2, maxval=3, dtype=tf.float64).numpy()
    np.testing.assert_array_equal(a, a2)
    np.testing.assert_array_equal(b, b2)
    tf.random.set_seed(2)
    a3 = tf.random.normal((2, 3)).numpy()
    assert not np.array_equal(a, a3)
    # successive draws differ
    tf.random.set_seed(1)
    x1 = tf.random.normal((5,)).numpy()
    x2 = tf.random.normal((5,)).numpy()
    assert not np.array_equal(x1, x2)


def test_random_uniform_int_needs_maxval():
    # TF: ValueError('Must specify maxval for integer dtype tf.int32')
    with pytest.raises(ValueError):
        tf.random.uniform((3,), dtype=tf.int32)
    r = tf.random.uniform((100,), maxval=10, dtype=tf.int32).numpy()
    assert r.dtype == np.int32 and r.min() >= 0 and r.max() < 10
