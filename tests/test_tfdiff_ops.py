"""fastgrad against TensorFlow, side by side, for the ops of the op
table's second version: values, first and second order gradients and
JVPs on random float64 inputs, float32 spot checks, and the errors.
Skipped unless TensorFlow is installed (tests/_tfdiff.py)."""
import numpy as np
import pytest

import fastgrad as fg
from _tfdiff import grads_both, real_tf

R = np.random.default_rng(11)


def close(a, b, rtol=1e-10, atol=1e-12):
    if a is None or b is None:
        assert a is None and b is None, (a, b)
        return
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


SCANS = [
    (dict(axis=0), (4, 3)), (dict(axis=1), (4, 3)), (dict(axis=-1, exclusive=True), (2, 5)),
    (dict(axis=0, reverse=True), (5,)), (dict(axis=1, exclusive=True, reverse=True), (2, 3, 4)),
]


@pytest.mark.parametrize("kw,shape", SCANS)
@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
@pytest.mark.parametrize("order", [1, 2])
def test_scans_values_and_gradients(name, kw, shape, order):
    tf = real_tf()
    x = R.uniform(0.5, 1.5, shape) * R.choice([-1, 1], shape)
    a, b = grads_both(fg, tf, lambda t: getattr(fg.math, name)(t, **kw),
                      lambda t: getattr(tf.math, name)(t, **kw), [x], order)
    close(a[0], b[0])
    for u, v in zip(a[1], b[1]):
        close(u, v)
    if order == 2:
        for u, v in zip(a[2], b[2]):
            close(u, v, rtol=1e-9)


@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
def test_scan_jvps(name):
    tf = real_tf()
    x = R.uniform(0.5, 1.5, (3, 4))
    t = R.normal(size=(3, 4))
    out = []
    for lib in (fg, tf):
        xt = lib.constant(x)
        with lib.autodiff.ForwardAccumulator(xt, lib.constant(t)) as acc:
            y = getattr(lib.math, name)(xt, axis=1, exclusive=True)
        out.append(acc.jvp(y).numpy())
    close(*out)


def test_cumprod_zero_gradient_float32_as_tf():
    tf = real_tf()
    x = np.array([2.0, 0.0, 3.0, 0.5, 0.0], np.float32)
    got = []
    for lib in (fg, tf):
        xt = lib.constant(x)
        with lib.GradientTape() as tape:
            tape.watch(xt)
            y = lib.math.cumprod(xt, reverse=True)
        got.append(tape.gradient(y, xt).numpy())
    np.testing.assert_array_equal(*got)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64"])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_arg_reductions(dtype, axis):
    tf = real_tf()
    x = R.integers(-3, 4, (5, 6)).astype(dtype)
    for name in ("argmax", "argmin"):
        for out in ("int32", "int64"):
            a = getattr(fg, name)(fg.constant(x), axis=axis, output_type=out)
            b = getattr(tf, name)(tf.constant(x), axis=axis, output_type=out)
            assert a.dtype.name == b.dtype.name
            np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_rounding_and_integer_mean():
    tf = real_tf()
    x = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.49999997, -3.7, 3.7], np.float32)
    for name in ("floor", "ceil", "round"):
        np.testing.assert_array_equal(getattr(fg.math, name)(x).numpy(), getattr(tf.math, name)(x).numpy())
    v = R.integers(-50, 50, (4, 7)).astype(np.int32)
    for axis in (None, 0, 1):
        np.testing.assert_array_equal(fg.reduce_mean(v, axis=axis).numpy(), tf.reduce_mean(v, axis=axis).numpy())


@pytest.mark.parametrize("axis", [-1, 0, 1, 2])
def test_one_hot(axis):
    tf = real_tf()
    idx = R.integers(-1, 5, (3, 4)).astype(np.int64)
    for kw in (dict(), dict(on_value=3.0, off_value=-1.0, dtype="float64"), dict(on_value=7, off_value=0)):
        a = fg.one_hot(idx, 4, axis=axis, **kw)
        b = tf.one_hot(idx, 4, axis=axis, **kw)
        assert a.dtype.name == b.dtype.name and a.shape == tuple(b.shape)
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_where_condition():
    tf = real_tf()
    c = R.random((3, 4, 2)) > 0.5
    np.testing.assert_array_equal(fg.where(c).numpy(), tf.where(c).numpy())


def test_errors_have_tfs_types():
    tf = real_tf()
    for f in (lambda lib: lib.math.cumsum(lib.zeros((2, 3)), axis=3),
              lambda lib: lib.argmax(lib.zeros((2, 3)), axis=2),
              lambda lib: lib.math.floor(lib.constant([1, 2]))):
        with pytest.raises(tf.errors.InvalidArgumentError):
            f(tf)
        with pytest.raises(fg.errors.InvalidArgumentError):
            f(fg)
