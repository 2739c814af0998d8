"""The elementwise and special math of issue 13 side by side with TensorFlow:
values, first and second order gradients (reverse mode, the gradient of
the gradient's squared norm) on random float64 inputs, float32 spot
checks, TF's gradient conventions at zeros and kinks, and TF's dtype
errors. Skips without TensorFlow (tests/_tfdiff.py).
"""
import numpy as np
import pytest

import fastgrad as fg
from _fgutil import fastgrad_only
from _tfdiff import grads_both, real_tf

pytestmark = fastgrad_only

R = np.random.default_rng(13)


def U(lo, hi, shape=(3, 4)):
    return R.uniform(lo, hi, shape)


def away(shape=(3, 4)):
    return R.uniform(0.3, 1.5, shape) * R.choice([-1.0, 1.0], shape)


# name -> (inputs, tolerance, orders); inputs in the op's domain, broadcasting where binary
UNARY = {
    "asin": (U(-0.9, 0.9), 1e-12, 2), "acos": (U(-0.9, 0.9), 1e-12, 2), "atan": (U(-3, 3), 1e-12, 2),
    "sinh": (U(-3, 3), 1e-12, 2), "cosh": (U(-3, 3), 1e-12, 2), "asinh": (U(-3, 3), 1e-12, 2),
    "acosh": (U(1.2, 4), 1e-12, 2), "atanh": (U(-0.9, 0.9), 1e-12, 2), "expm1": (U(-2, 2), 1e-12, 2),
    "rsqrt": (U(0.2, 4), 1e-12, 2), "erf": (U(-2, 2), 1e-12, 2), "erfc": (U(-2, 2), 1e-12, 2),
    "erfinv": (U(-0.95, 0.95), 1e-10, 2), "ndtri": (U(0.02, 0.98), 1e-10, 2),
    "lgamma": (U(0.1, 8), 1e-10, 2), "digamma": (U(0.1, 8), 1e-10, 2),
    "bessel_i0e": (U(-6, 6), 1e-12, 2), "bessel_i1e": (U(-6, 6), 1e-12, 2),
    "softsign": (away(), 1e-12, 1), "reciprocal_no_nan": (away(), 1e-12, 2),
}
BINARY = {
    "atan2": ((away(), away((4,))), 1e-12, 2),
    "xlog1py": ((away(), U(-0.5, 2, (4,))), 1e-12, 2),
    "xdivy": ((away(), away((4,))), 1e-12, 2),
    "xlogy": ((away(), U(0.2, 3, (4,))), 1e-12, 2),
    "multiply_no_nan": ((away(), away((4,))), 1e-12, 2),
    "squared_difference": ((U(-2, 2), U(-2, 2, (4,))), 1e-12, 2),
    "nextafter": ((U(-2, 2), U(-2, 2, (4,))), 1e-12, 1),
    "igamma": ((U(0.3, 5), U(0.1, 8)), 1e-9, 1),
    "igammac": ((U(0.3, 5), U(0.1, 8)), 1e-9, 1),
}
# differentiable in the last input only (TF: None for the others); second order in it
LAST_ONLY = {
    "polygamma": ((np.array([0.0, 1.0, 2.0, 3.0]), U(0.3, 6)), 1e-9),
    "zeta": ((U(1.5, 6, (4,)), U(0.3, 6)), 1e-9),
    "igamma": ((U(0.3, 5, (4,)), U(0.1, 8)), 1e-9),
    "igammac": ((U(0.3, 5, (4,)), U(0.1, 8)), 1e-9),
    "betainc": ((U(0.5, 4), U(0.5, 4), U(0.05, 0.95)), 1e-9),
}


def _close(a, b, rtol):
    np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol)


def _check(name, xs, rtol, order, fn=None):
    tf = real_tf()
    f_fg = fn(fg) if fn else getattr(fg.math, name)
    f_tf = fn(tf) if fn else getattr(tf.math, name)
    (y1, g1, h1), (y2, g2, h2) = grads_both(fg, tf, f_fg, f_tf, xs, order=order)
    _close(y1, y2, rtol)
    for a, b in zip(g1, g2):
        assert (a is None) == (b is None)
        if a is not None:
            _close(a, b, rtol)
    if order == 2:
        for a, b in zip(h1, h2):
            assert (a is None) == (b is None)
            if a is not None:
                _close(a, b, rtol * 10)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_values_and_gradients_as_tf(name):
    x, rtol, order = UNARY[name]
    _check(name, [x], rtol, order)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_values_and_gradients_as_tf(name):
    xs, rtol, order = BINARY[name]
    _check(name, list(xs), rtol, order)


@pytest.mark.parametrize("name", sorted(LAST_ONLY))
def test_special_gradients_in_the_last_input_as_tf(name):
    xs, rtol = LAST_ONLY[name]
    *consts, x = xs

    def fn(lib):
        f = getattr(lib.math, name)
        return lambda t: f(*[lib.constant(c) for c in consts], t)

    _check(name, [x], rtol, 2, fn)


def test_truncatemod_and_rint_values_as_tf():
    tf = real_tf()
    a, b = U(-9, 9, (20,)), away((20,)) * 3
    _close(fg.truncatemod(a, b).numpy(), tf.truncatemod(a, b).numpy(), 1e-15)
    ai, bi = R.integers(-50, 50, 20), R.integers(1, 9, 20) * R.choice([-1, 1], 20)
    for dt in ("int32", "int64"):
        np.testing.assert_array_equal(fg.truncatemod(ai.astype(dt), bi.astype(dt)).numpy(),
                                      tf.truncatemod(ai.astype(dt), bi.astype(dt)).numpy())
    x = np.round(U(-5, 5, (40,)) * 2) / 2
    np.testing.assert_array_equal(fg.math.rint(x).numpy(), tf.math.rint(x).numpy())


def test_lbeta_polyval_and_monotonic_as_tf():
    tf = real_tf()
    x = U(0.2, 5, (3, 5))
    (y1, g1, h1), (y2, g2, h2) = grads_both(fg, tf, fg.math.lbeta, tf.math.lbeta, [x], order=2)
    _close(y1, y2, 1e-10)
    _close(g1[0], g2[0], 1e-10)
    _close(h1[0], h2[0], 1e-9)
    c = [np.float64(v) for v in (1.5, -2.0, 0.25, 3.0)]  # Python floats would be float32 (TF errors too)
    t = U(-2, 2, (5,))
    _close(fg.math.polyval(c, fg.constant(t)).numpy(), tf.math.polyval(c, tf.constant(t)).numpy(), 1e-15)
    for v in ([1, 2, 2, 3], [1, 3, 2], [[1.0, 2.0], [2.0, 5.0]], [4.0], []):
        assert bool(fg.math.is_non_decreasing(v)) == bool(tf.math.is_non_decreasing(v))
        assert bool(fg.math.is_strictly_increasing(v)) == bool(tf.math.is_strictly_increasing(v))


@pytest.mark.parametrize("name", ["erf", "lgamma", "digamma", "erfinv", "ndtri", "bessel_i0e", "bessel_i1e",
                                  "asinh", "expm1", "softsign"])
def test_float32_spot_values_as_tf(name):
    tf = real_tf()
    x = {"erfinv": U(-0.9, 0.9, (50,)), "ndtri": U(0.05, 0.95, (50,)),
         "lgamma": U(0.1, 6, (50,)), "digamma": U(0.1, 6, (50,))}.get(name, U(-3, 3, (50,)))
    x = x.astype(np.float32)
    got = getattr(fg.math, name)(fg.constant(x))
    want = getattr(tf.math, name)(tf.constant(x)).numpy()
    assert got.dtype == fg.float32
    np.testing.assert_allclose(got.numpy(), want, rtol=2e-6, atol=2e-6)


def test_gradient_conventions_at_zeros_as_tf():
    tf = real_tf()
    cases = [
        (lambda m: lambda x: m.where(x < 0, x, m.sqrt(x)), [-1.0, 4.0]),
        (lambda m: lambda x: m.where(x < 0, x, m.math.rsqrt(x)), [-1.0, 4.0]),
        (lambda m: lambda x: m.where(x <= 0, x, m.math.reciprocal(x)), [-1.0, 0.0, 4.0]),
        (lambda m: m.math.bessel_i1e, [0.0, 1.0]),
        (lambda m: m.math.bessel_i0e, [0.0, -1.0]),
        (lambda m: lambda x: m.math.xlog1py(x, x - 1.0), [0.0, 2.0]),
        (lambda m: lambda x: m.math.xdivy(x, x), [0.0, 2.0]),
        (lambda m: lambda x: m.math.multiply_no_nan(x, x * 0.0), [1.0]),
        (lambda m: m.math.reciprocal_no_nan, [0.0, 2.0]),
    ]
    for make, x in cases:
        x = np.array(x)

        def g(lib):
            t = lib.constant(x)
            with lib.GradientTape() as tape:
                tape.watch(t)
                y = make(lib)(t)
            return tape.gradient(y, t).numpy()

        np.testing.assert_allclose(g(fg), g(tf), rtol=1e-14, atol=0)


def test_dtype_errors_as_tf():
    tf = real_tf()
    for name in ["asin", "erf", "lgamma", "digamma", "softsign", "rint", "bessel_i0e"]:
        with pytest.raises(tf.errors.InvalidArgumentError, match="Value for attr 'T' of int32"):
            getattr(tf.math, name)(tf.constant([1, 2]))
        with pytest.raises(fg.errors.InvalidArgumentError, match="Value for attr 'T' of int32"):
            getattr(fg.math, name)(fg.constant([1, 2]))
    for name in ["atan2", "xdivy", "nextafter", "igamma", "zeta"]:
        with pytest.raises(fg.errors.InvalidArgumentError, match="Value for attr 'T' of int32"):
            getattr(fg.math, name)(fg.constant([1, 2]), fg.constant([1, 2]))
    assert fg.math.squared_difference(fg.constant([1, 5]), 3).numpy().tolist() == \
        tf.math.squared_difference(tf.constant([1, 5]), 3).numpy().tolist()
