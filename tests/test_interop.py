"""fastgrad among the array libraries, as TF 2.21's EagerTensor behaves:
NumPy functions on tensors compute in NumPy and return NumPy values,
operators with a NumPy array (or scalar) on the left return Tensors, and
DLPack exchanges memory without copies (tf.experimental.dlpack, plus
fastgrad.from_dlpack)."""
import gc
import weakref

import numpy as np
import pytest

import fastgrad as tf
from _fgutil import IS_TF, fastgrad_only

T = [1.0, 2.0]
A = np.array([3.0, 4.0], np.float32)


@pytest.mark.parametrize("fn, expected, kind", [
    (lambda t: np.sin(t), np.sin(np.float32(T)), np.ndarray),
    (lambda t: np.add(t, 1), np.float32([2.0, 3.0]), np.ndarray),
    (lambda t: np.add(A, t), np.float32([4.0, 6.0]), np.ndarray),
    (lambda t: np.exp(t, out=np.empty(2, np.float32)), np.exp(np.float32(T)), np.ndarray),
    (lambda t: np.concatenate([t, t]), np.float32(T + T), np.ndarray),
    (lambda t: np.sum(t), np.float32(3.0), np.float32),
    (lambda t: np.max(t), np.float32(2.0), np.float32),
    (lambda t: np.mean(t), np.float32(1.5), np.float32),
    (lambda t: np.argmax(t), 1, np.int64),
])
@pytest.mark.parametrize("make", [tf.constant, tf.Variable], ids=["Tensor", "Variable"])
def test_numpy_functions_return_numpy_values(fn, expected, kind, make):
    r = fn(make(T))
    assert type(r) is kind
    np.testing.assert_array_equal(r, expected)
    assert np.asarray(r).dtype == np.asarray(expected).dtype


@pytest.mark.parametrize("fn, expected", [
    (lambda t: A + t, [4.0, 6.0]),
    (lambda t: A - t, [2.0, 2.0]),
    (lambda t: A * t, [3.0, 8.0]),
    (lambda t: A / t, [3.0, 2.0]),
    (lambda t: A ** t, [3.0, 16.0]),
    (lambda t: A // t, [3.0, 2.0]),
    (lambda t: A % t, [0.0, 0.0]),
    (lambda t: A > t, [True, True]),
    (lambda t: A == t, [False, False]),
    (lambda t: np.float32(2) * t, [2.0, 4.0]),
    (lambda t: np.float64(2) * t, [2.0, 4.0]),
    (lambda t: np.int32(2) * t, [2.0, 4.0]),
    (lambda t: t + A, [4.0, 6.0]),
])
@pytest.mark.parametrize("make", [tf.constant, tf.Variable], ids=["Tensor", "Variable"])
def test_operators_with_numpy_on_the_left_return_tensors(fn, expected, make):
    r = fn(make(T))
    assert tf.is_tensor(r) and not isinstance(r, tf.Variable)
    assert r.numpy().tolist() == expected
    assert r.dtype == (tf.bool if isinstance(expected[0], bool) else tf.float32)


def test_numpy_left_operand_is_recorded_on_the_tape():
    x = tf.Variable([1.0, 2.0])
    with tf.GradientTape() as g:
        y = tf.reduce_sum(np.array([3.0, 5.0], np.float32) * x)
    assert g.gradient(y, x).numpy().tolist() == [3.0, 5.0]


# ------------------------------------------------------------------- DLPack

def test_tf_names():
    assert callable(tf.experimental.dlpack.from_dlpack)
    assert callable(tf.experimental.dlpack.to_dlpack)


def test_round_trip_through_a_capsule_keeps_values_and_dtype():
    for value in (np.arange(6, dtype=np.float32).reshape(2, 3), np.arange(4, dtype=np.int64),
                  np.array([True, False]), np.float64(2.5) * np.ones((2, 2, 2))):
        t = tf.constant(value)
        back = tf.experimental.dlpack.from_dlpack(tf.experimental.dlpack.to_dlpack(t))
        assert back.dtype == t.dtype and back.shape == t.shape
        np.testing.assert_array_equal(back.numpy(), value)


@fastgrad_only
def test_from_numpy_is_zero_copy_and_keeps_the_array_alive():
    a = np.arange(1000, dtype=np.float32)
    t = tf.from_dlpack(a)
    assert t.numpy().__array_interface__["data"][0] == a.__array_interface__["data"][0]
    a[0] = 42.0  # shared memory
    assert float(t[0]) == 42.0
    ref = weakref.ref(a)
    del a
    gc.collect()
    assert ref() is not None  # the Tensor holds the producer
    assert t.numpy()[:3].tolist() == [42.0, 1.0, 2.0]
    del t
    gc.collect()
    assert ref() is None  # and lets it go with its last reference


@fastgrad_only
def test_borrowed_memory_is_never_written_by_fastgrad():
    a = np.arange(4, dtype=np.float32)
    v = tf.Variable(tf.from_dlpack(a))  # a Variable copies
    v.assign_add([1.0, 1.0, 1.0, 1.0])
    assert a.tolist() == [0.0, 1.0, 2.0, 3.0]
    t = tf.from_dlpack(a)
    with tf.GradientTape() as g:
        g.watch(t)
        y = t * t
    jac = g.jacobian(y, t)
    assert np.diag(jac.numpy()).tolist() == [0.0, 2.0, 4.0, 6.0]
    assert a.tolist() == [0.0, 1.0, 2.0, 3.0]


@fastgrad_only
def test_ops_and_gradients_on_borrowed_tensors():
    a = np.linspace(-1.0, 1.0, 7)
    x = tf.from_dlpack(a)
    with tf.GradientTape() as g:
        g.watch(x)
        y = tf.reduce_sum(tf.tanh(x) * x)
    np.testing.assert_allclose(g.gradient(y, x).numpy(),
                               np.tanh(a) + a * (1 - np.tanh(a) ** 2), rtol=1e-12)
    f = tf.function(lambda u: tf.reduce_sum(u * 2.0))
    assert float(f(x)) == pytest.approx(0.0, abs=1e-12)
    assert float(f(tf.from_dlpack(np.ones(7)))) == 14.0


@fastgrad_only
def test_strided_or_foreign_dtypes_are_copied_with_tf_constants_conversion():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    t = tf.from_dlpack(a.T)  # NumPy exports the transposed strides
    np.testing.assert_array_equal(t.numpy(), a.T)
    h = tf.from_dlpack(np.array([1.5, 2.5], np.float16))
    np.testing.assert_array_equal(h.numpy(), tf.constant(np.array([1.5, 2.5], np.float16)).numpy())


def test_numpy_consumes_fastgrad_tensors():
    t = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    a = np.from_dlpack(t)
    np.testing.assert_array_equal(a, [[1.0, 2.0], [3.0, 4.0]])


@fastgrad_only
def test_torch_when_installed():
    torch = pytest.importorskip("torch")
    x = torch.arange(5, dtype=torch.float32)
    t = tf.from_dlpack(x)
    x[1] = 9.0
    assert t.numpy().tolist() == [0.0, 9.0, 2.0, 3.0, 4.0]
    back = torch.from_dlpack(tf.constant([1.0, 2.0]))
    assert back.tolist() == [1.0, 2.0]


def test_non_dlpack_objects_raise_type_error():
    with pytest.raises(TypeError):
        tf.experimental.dlpack.from_dlpack([1.0, 2.0])
