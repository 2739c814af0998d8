"""The JAX-style transforms (API.md "Beyond TensorFlow"): grad,
value_and_grad, jacobian, hessian, hvp, vjp, jvp.

Values are checked against closed forms, central differences and nested
tapes; structure (argnums, nests, has_aux) and errors against JAX's
conventions and API.md.
"""

import numpy as np
import pytest

import fastgrad as tf
from _fgutil import fastgrad_only

pytestmark = fastgrad_only


def rosen(x):
    return tf.reduce_sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosen_hessian_np(x):
    n = x.size
    h = np.zeros((n, n))
    for i in range(n - 1):
        h[i, i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
        h[i + 1, i + 1] += 200
        h[i, i + 1] += -400 * x[i]
        h[i + 1, i] += -400 * x[i]
    return h


# ------------------------------------------------------------------ grad


def test_grad_python_float_and_higher_orders():
    f = lambda x: 3.0 * x ** 3 + 2.0 * x  # noqa: E731
    assert float(tf.grad(f)(2.0)) == 38.0
    assert float(tf.grad(tf.grad(f))(2.0)) == 36.0
    assert float(tf.grad(tf.grad(tf.grad(f)))(2.0)) == 18.0


def test_grad_numpy_keeps_float64():
    g = tf.grad(lambda x: tf.reduce_sum(tf.sin(x)))(np.array([0.0, 1.0]))
    assert g.dtype == tf.float64
    np.testing.assert_array_equal(g, np.cos([0.0, 1.0]))


def test_grad_argnums_and_passthrough():
    def f(x, y, scale, name):
        assert name == "label" and scale == 3  # passed through unchanged
        return x * y * scale

    assert float(tf.grad(f)(2.0, 5.0, 3, "label")) == 15.0
    assert float(tf.grad(f, argnums=1)(2.0, 5.0, 3, "label")) == 6.0
    gx, gy = tf.grad(f, argnums=(0, 1))(2.0, 5.0, 3, "label")
    assert (float(gx), float(gy)) == (15.0, 6.0)
    assert float(tf.grad(f, argnums=-3)(2.0, 5.0, 3, "label")) == 6.0


def test_grad_nests_of_arguments():
    def f(params, x):
        return tf.reduce_sum(params["w"] * x + params["b"][0] * params["b"][1])

    params = {"w": tf.constant([1.0, 2.0]), "b": [3.0, np.float32(4.0)]}
    g = tf.grad(f)(params, tf.constant([5.0, 6.0]))
    assert set(g) == {"w", "b"} and isinstance(g["b"], list)
    np.testing.assert_array_equal(g["w"], [5.0, 6.0])
    assert float(g["b"][0]) == 8.0 and float(g["b"][1]) == 6.0


def test_grad_unconnected_input_gets_zeros():
    gx, gy = tf.grad(lambda x, y: x * 2.0, argnums=(0, 1))(1.0, tf.constant([1.0, 2.0]))
    assert float(gx) == 2.0
    np.testing.assert_array_equal(gy, [0.0, 0.0])


def test_grad_python_control_flow():
    def f(x, n):
        y = x
        for _ in range(n):
            if float(y) > 1.0:
                y = y * x
            else:
                y = y + x
        while float(y) < 100.0:
            y = y * 2.0
        return y

    # x = 3, n = 2: y = x^3 = 27, doubled twice: 4 x^3 -> 12 x^2 = 108
    assert float(tf.grad(f)(3.0, 2)) == 108.0
    # x = 0.5: y = 2x = 1, then 1 <= 1 so 3x = 1.5, doubled 7 times
    assert float(tf.grad(f)(0.5, 2)) == 3.0 * 2 ** 7


def test_grad_recursion():
    def power(x, n):
        return x if n == 1 else x * power(x, n - 1)

    assert float(tf.grad(power)(2.0, 5)) == 5 * 2.0 ** 4


def test_grad_has_aux():
    g, aux = tf.grad(lambda x: (x * x, {"note": x + 1.0}), has_aux=True)(3.0)
    assert float(g) == 6.0 and float(aux["note"]) == 4.0
    (v, aux), g = tf.value_and_grad(lambda x: (x * x, "aux"), has_aux=True)(3.0)
    assert (float(v), aux, float(g)) == (9.0, "aux", 6.0)


def test_value_and_grad():
    v, (gx, gy) = tf.value_and_grad(lambda x, y: x * y, argnums=(0, 1))(2.0, 3.0)
    assert (float(v), float(gx), float(gy)) == (6.0, 3.0, 2.0)


def test_grad_of_non_scalar_output_is_a_value_error_saying_scalar():
    with pytest.raises(ValueError, match="scalar"):
        tf.grad(lambda x: x * 2.0)(tf.constant([1.0, 2.0]))


def test_grad_of_integer_input_is_a_type_error_naming_the_argument():
    def f(weights, count):
        return weights * count

    with pytest.raises(TypeError, match="argument 1 .*'count'.*int32"):
        tf.grad(f, argnums=1)(2.0, 3)
    with pytest.raises(TypeError, match="'weights'"):
        tf.grad(f)(np.array([1, 2]), 3.0)


def test_grad_argnums_out_of_range():
    with pytest.raises(ValueError, match="argnums"):
        tf.grad(lambda x: x, argnums=2)(1.0)


def test_grad_composes_with_tapes_both_ways():
    x = tf.constant(2.0)
    # a tape around grad: d/dx (d/dx x^3) = 6x
    with tf.GradientTape() as tape:
        tape.watch(x)
        g = tf.grad(lambda x: x ** 3)(x)
    assert float(tape.gradient(g, x)) == 12.0

    # grad around a tape: d/dx (tape's dy/dx of x^3) = 6x
    def inner(x):
        with tf.GradientTape() as t:
            t.watch(x)
            y = x ** 3
        return t.gradient(y, x)

    assert float(tf.grad(inner)(x)) == 12.0


def test_grad_with_variables():
    v = tf.Variable(3.0)
    g = tf.grad(lambda x: x * v * v)(2.0)
    assert float(g) == 9.0


# ------------------------------------------------------- jacobian & hessian


@pytest.mark.parametrize("mode", [None, "rev", "fwd"])
def test_jacobian_modes_agree(mode):
    rng = np.random.default_rng(0)
    w = tf.constant(rng.normal(size=(4, 3)))

    def f(x, b):
        return tf.tanh(tf.matmul(x, w) + b) * tf.reduce_sum(x)

    x = rng.normal(size=(2, 4))
    b = rng.normal(size=(3,))
    jx, jb = tf.jacobian(f, argnums=(0, 1), mode=mode)(x, b)
    assert tuple(jx.shape) == (2, 3, 2, 4) and tuple(jb.shape) == (2, 3, 3)
    # central differences with TF's step 1/1024: accurate to about 1e-5
    ref_x, ref_b = tf.test.compute_gradient(lambda x, b: f(x, b), [x, b])[1]
    np.testing.assert_allclose(np.reshape(jx, (6, 8)), ref_x, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.reshape(jb, (6, 3)), ref_b, rtol=1e-4, atol=1e-5)
    # and the modes agree to rounding
    rx, rb = tf.jacobian(f, argnums=(0, 1), mode="rev")(x, b)
    np.testing.assert_allclose(jx, rx, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(jb, rb, rtol=1e-13, atol=1e-15)


def test_jacobian_of_nested_outputs():
    out = tf.jacobian(lambda x: {"sq": x * x, "sum": [tf.reduce_sum(x)]})(tf.constant([1.0, 2.0]))
    np.testing.assert_array_equal(out["sq"], [[2.0, 0.0], [0.0, 4.0]])
    np.testing.assert_array_equal(out["sum"][0], [1.0, 1.0])


def test_jacobian_bad_mode():
    with pytest.raises(ValueError, match="mode"):
        tf.jacobian(lambda x: x, mode="sideways")


def test_hessian_rosenbrock_symmetric_and_exact():
    x = np.linspace(-1.0, 1.0, 30)
    h = np.asarray(tf.hessian(rosen)(x))
    np.testing.assert_array_equal(h, h.T)
    np.testing.assert_allclose(h, rosen_hessian_np(x), rtol=1e-12, atol=1e-9)


def test_hessian_equals_nested_tapes():
    rng = np.random.default_rng(1)
    w = tf.constant(rng.normal(size=(3, 3)))

    def f(x):
        return tf.reduce_sum(tf.nn.softplus(tf.matmul(x[None, :], w)) * tf.sin(x))

    x = tf.constant(rng.normal(size=(3,)))
    h = np.asarray(tf.hessian(f)(x))
    rows = []
    for i in range(3):
        with tf.GradientTape() as outer:
            outer.watch(x)
            with tf.GradientTape() as inner:
                inner.watch(x)
                y = f(x)
            g = inner.gradient(y, x)
            gi = g[i]
        rows.append(np.asarray(outer.gradient(gi, x)))
    np.testing.assert_allclose(h, np.stack(rows), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(h, h.T, rtol=1e-12, atol=1e-14)


def test_hessian_equals_central_differences_of_grad():
    def f(x):
        return tf.reduce_prod(x) * tf.exp(-tf.reduce_sum(x * x) / 4.0)

    x = np.array([0.3, -0.7, 1.1])
    h = np.asarray(tf.hessian(f)(x))
    g = tf.grad(f)
    eps = 1e-6
    num = np.stack([(np.asarray(g(x + eps * e)) - np.asarray(g(x - eps * e))) / (2 * eps)
                    for e in np.eye(3)], axis=1)
    np.testing.assert_allclose(h, num, rtol=1e-7, atol=1e-8)


def test_hessian_argnums_tuple_nests():
    h = tf.hessian(lambda x, y: x * x * y, argnums=(0, 1))(3.0, 2.0)
    assert [[float(v) for v in row] for row in h] == [[4.0, 6.0], [6.0, 0.0]]


def test_hessian_seed_function_matches_nested_tapes():
    # the seed tutorials' g(x1, x2) = (x1 + 5) * x2 ** 2 second derivatives
    h = tf.hessian(lambda x1, x2: (x1 + 5.0) * x2 ** 2, argnums=(0, 1))(2.0, 3.0)
    assert [[float(v) for v in row] for row in h] == [[0.0, 6.0], [6.0, 14.0]]


def test_hessian_through_custom_gradient():
    @tf.custom_gradient
    def cube(x):
        def g(dy):
            return dy * 3.0 * x * x
        return x * x * x, g

    h = tf.hessian(lambda x: tf.reduce_sum(cube(x)))(tf.constant([1.0, 2.0], tf.float64))
    np.testing.assert_allclose(h, [[6.0, 0.0], [0.0, 12.0]])


# ------------------------------------------------------------- hvp, jvp, vjp


def test_hvp_equals_hessian_times_v():
    x = np.linspace(-1.0, 1.0, 10)
    v = np.cos(np.arange(10.0))
    hv = tf.hvp(rosen, x, v)
    np.testing.assert_allclose(hv, rosen_hessian_np(x) @ v, rtol=1e-12, atol=1e-9)
    # JAX's recipe jvp(grad(f), (x,), (v,))[1] gives the array, not a 1-tuple (issue 16)
    hv2 = tf.hvp(rosen, (x,), (v,))
    assert isinstance(hv2, tf.Tensor)
    np.testing.assert_array_equal(hv, hv2)


def test_jvp_equals_jacobian_times_v():
    rng = np.random.default_rng(2)
    x, v = rng.normal(size=4), rng.normal(size=4)
    f = lambda x: tf.nn.softmax(x) * tf.reduce_max(x)  # noqa: E731
    y, t = tf.jvp(f, (x,), (v,))
    np.testing.assert_allclose(y, f(tf.constant(x)))
    np.testing.assert_allclose(t, np.asarray(tf.jacobian(f)(x)) @ v, rtol=1e-13, atol=1e-15)


def test_jvp_unconnected_output_and_several_args():
    y, t = tf.jvp(lambda a, b: (a * b, tf.constant(1.0)), (2.0, 3.0), (1.0, 0.0))
    assert float(t[0]) == 3.0 and float(t[1]) == 0.0


def test_jvp_mismatched_arity():
    with pytest.raises(ValueError):
        tf.jvp(lambda a, b: a * b, (1.0, 2.0), (1.0,))


def test_vjp_called_twice_and_tuple_result():
    y, back = tf.vjp(lambda a, b: a * b, tf.constant([1.0, 2.0]), 3.0)
    np.testing.assert_array_equal(y, [3.0, 6.0])
    ga, gb = back(tf.constant([1.0, 1.0]))
    np.testing.assert_array_equal(ga, [3.0, 3.0])
    assert float(gb) == 3.0
    ga2, gb2 = back(tf.constant([2.0, 0.0]))
    np.testing.assert_array_equal(ga2, [6.0, 0.0])
    assert float(gb2) == 2.0


def test_vjp_inside_a_tape_is_differentiable():
    x = tf.constant(3.0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        _, back = tf.vjp(lambda x: x ** 3, x)
        (g,) = back(tf.constant(1.0))
    assert float(g) == 27.0 and float(tape.gradient(g, x)) == 18.0
