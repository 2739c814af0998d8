"""``tape.jacobian`` / ``batch_jacobian`` on the C loops of fg_jacobian.c.

Every path (diagonal, per-row reverse sweeps, one batched forward sweep;
the differentiable one used inside an outer tape) against TF-style
row-by-row results: one ``tape.gradient`` per output element with a
one-hot ``output_gradients``.
"""

import numpy as np
import pytest

import fastgrad as tf
from _fgutil import fastgrad_only
from fastgrad._jacobian import tape_batch_jacobian, tape_jacobian

pytestmark = fastgrad_only

RNG = np.random.default_rng(7)
W = RNG.normal(size=(4, 3))

FUNCTIONS = {
    # elementwise, same shapes: the diagonal path
    "elementwise": (lambda x: tf.sin(x) * x + tf.exp(-x * x) / (1.0 + x * x), [(10,)]),
    "elementwise-2d-const-bcast": (lambda x: tf.tanh(x) * tf.constant(W[0]) + 2.0, [(4, 3)]),
    # elementwise but the source broadcasts: not diagonal
    "broadcast-source": (lambda x, y: x * y + tf.sin(y), [(3,), (2, 3)]),
    "matmul": (lambda x: tf.nn.softplus(tf.matmul(x, tf.constant(W))), [(2, 4)]),
    "reduce-wide-out": (lambda x: tf.reshape(x, [-1])[:, None] * tf.reduce_sum(x ** 2), [(2, 2)]),
    "slices-concat": (lambda x: tf.concat([x[1:] - x[:-1] ** 2, x[:1]], 0), [(6,)]),
    "two-sources": (lambda a, b: tf.matmul(a, b) ** 2, [(2, 3), (3, 2)]),
    "scalar-out": (lambda x: tf.reduce_max(x) * tf.reduce_prod(x), [(5,)]),
}


def _inputs(shapes):
    return [tf.constant(RNG.uniform(0.5, 1.5, size=s)) for s in shapes]


def _row_by_row(f, xs):
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(xs)
        y = f(*xs)
    out = [np.zeros(tuple(y.shape) + tuple(x.shape)) for x in xs]
    for i in range(int(np.prod(y.shape))):
        seed = np.zeros(int(np.prod(y.shape)))
        seed[i] = 1.0
        gs = tape.gradient(y, xs, output_gradients=tf.constant(seed.reshape(y.shape)),
                           unconnected_gradients=tf.UnconnectedGradients.ZERO)
        for o, g in zip(out, gs):
            o.reshape((-1,) + tuple(g.shape))[i] = np.asarray(g)
    return out


@pytest.mark.parametrize("mode", [None, "rev", "fwd"])
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_jacobian_equals_row_by_row(name, mode):
    f, shapes = FUNCTIONS[name]
    xs = _inputs(shapes)
    ref = _row_by_row(f, xs)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(xs)
        y = f(*xs)
    jac = tape_jacobian(tape, y, xs, mode=mode)
    for j, r in zip(jac, ref):
        assert tuple(j.shape) == r.shape and j.dtype == tf.float64
        np.testing.assert_allclose(j, r, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_public_jacobian_equals_row_by_row(name):
    f, shapes = FUNCTIONS[name]
    xs = _inputs(shapes)
    ref = _row_by_row(f, xs)
    with tf.GradientTape() as tape:
        tape.watch(xs)
        y = f(*xs)
    for j, r in zip(tape.jacobian(y, xs), ref):
        np.testing.assert_allclose(j, r, rtol=1e-14, atol=1e-15)


def test_float32_jacobian_both_modes():
    x = tf.constant(RNG.normal(size=(3,)).astype(np.float32))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = tf.concat([x * x, tf.reduce_sum(x)[None]], 0)
    a = tape_jacobian(tape, y, [x], mode="rev")[0]
    b = tape_jacobian(tape, y, [x], mode="fwd")[0]
    assert a.dtype == tf.float32 and b.dtype == tf.float32
    np.testing.assert_array_equal(a, b)


def test_unconnected_none_or_zeros_and_variables():
    x, z = tf.constant([1.0, 2.0]), tf.constant([3.0])
    v = tf.Variable([[1.0, 2.0]])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([x, z])
        y = x * v
    jx, jz, jv = tape.jacobian(y, [x, z, v])
    assert jz is None
    assert tuple(jx.shape) == (1, 2, 2) and tuple(jv.shape) == (1, 2, 1, 2)
    np.testing.assert_array_equal(np.asarray(jx)[0], [[1.0, 0.0], [0.0, 2.0]])
    np.testing.assert_array_equal(np.asarray(jv)[0, :, 0], [[1.0, 0.0], [0.0, 2.0]])
    jz0 = tape.jacobian(y, z, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    np.testing.assert_array_equal(jz0, np.zeros((1, 2, 1)))


def test_jacobian_with_respect_to_an_intermediate():
    x = tf.constant([1.0, 2.0])
    for mode in ("rev", "fwd"):
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x)
            u = x * 3.0
            y = tf.concat([u * u, x], 0)
        ju, jx = tape_jacobian(tape, y, [u, x], mode=mode)
        np.testing.assert_array_equal(ju, [[6.0, 0.0], [0.0, 12.0], [0.0, 0.0], [0.0, 0.0]])
        np.testing.assert_array_equal(jx, [[18.0, 0.0], [0.0, 36.0], [1.0, 0.0], [0.0, 1.0]])


def test_jacobian_of_a_watched_source_itself():
    x = tf.constant([1.0, 2.0, 3.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
    np.testing.assert_array_equal(tape.jacobian(x, x), np.eye(3))


def test_non_persistent_tape_one_jacobian():
    x = tf.constant([1.0, 2.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    tape.jacobian(y, x)
    with pytest.raises(RuntimeError, match="non-persistent"):
        tape.jacobian(y, x)


def test_jacobian_inside_outer_tape_is_differentiable():
    # d/dx of the (diagonal and non-diagonal) Jacobians, through the C loops'
    # table-op path, against closed forms
    x = tf.constant([0.5, 1.5])
    with tf.GradientTape() as outer:
        outer.watch(x)
        with tf.GradientTape(persistent=True) as inner:
            inner.watch(x)
            d = x ** 3                      # diagonal: J = diag(3x^2)
            m = x * tf.reduce_sum(x)        # dense
        jd = inner.jacobian(d, x)
        jm = inner.jacobian(m, x)
        total = tf.reduce_sum(jd) + tf.reduce_sum(jm * jm)
    g = outer.gradient(total, x)
    xs = np.array([0.5, 1.5])
    s = xs.sum()
    # jm[i, j] = delta_ij * s + x_i, so sum(jm^2) = sum_ij (delta_ij s + x_i)^2
    ref_jm = lambda x: np.sum((np.eye(2) * x.sum() + x[:, None]) ** 2)  # noqa: E731
    eps = 1e-6
    num = [(ref_jm(xs + eps * e) - ref_jm(xs - eps * e)) / (2 * eps) for e in np.eye(2)]
    np.testing.assert_allclose(g, 6 * xs + np.array(num), rtol=1e-6)
    assert s > 0


def test_custom_gradient_in_forward_mode_uses_its_rule():
    @tf.custom_gradient
    def scaled(x):
        def g(dy):
            return dy * 3.0  # deliberately not the true derivative (2)
        return x * 2.0, g

    x = tf.constant([1.0, 2.0, 3.0])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = tf.concat([scaled(x), scaled(x)[:1]], 0)
    rev = tape_jacobian(tape, y, [x], mode="rev")[0]
    fwd = tape_jacobian(tape, y, [x], mode="fwd")[0]
    np.testing.assert_array_equal(rev, fwd)
    assert float(np.asarray(rev)[0, 0]) == 3.0


# -------------------------------------------------------- batch_jacobian


def _batch_row_by_row(f, x):
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = f(x)
    b = y.shape[0]
    m = int(np.prod(y.shape[1:]))
    out = np.zeros((b, m) + tuple(x.shape[1:]))
    for j in range(m):
        seed = np.zeros((b, m))
        seed[:, j] = 1.0
        g = tape.gradient(y, x, output_gradients=tf.constant(seed.reshape(y.shape)))
        out[:, j] = np.asarray(g)
    return out.reshape(tuple(y.shape) + tuple(x.shape[1:]))


BATCH = {
    "elementwise": (lambda x: tf.sigmoid(x) * x, (4, 3)),
    "dense-wide": (lambda x: tf.tanh(tf.matmul(x, tf.constant(W.T))), (5, 3)),
    "dense-narrow": (lambda x: tf.reduce_sum(x * x, axis=1, keepdims=True) * x[:, :2], (3, 4)),
    "3d": (lambda x: tf.nn.softmax(x) * 2.0, (2, 2, 3)),
}


@pytest.mark.parametrize("mode", [None, "rev", "fwd"])
@pytest.mark.parametrize("name", sorted(BATCH))
def test_batch_jacobian_equals_row_by_row(name, mode):
    f, shape = BATCH[name]
    x = tf.constant(RNG.normal(size=shape))
    ref = _batch_row_by_row(f, x)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = f(x)
    j = tape_batch_jacobian(tape, y, x, mode=mode)
    assert tuple(j.shape) == ref.shape
    np.testing.assert_allclose(j, ref, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(tape.batch_jacobian(y, x), ref, rtol=1e-14, atol=1e-15)


def test_batch_jacobian_inside_outer_tape():
    x = tf.constant([[0.5, 1.0], [1.5, 2.0]])
    with tf.GradientTape() as outer:
        outer.watch(x)
        with tf.GradientTape() as inner:
            inner.watch(x)
            y = x ** 3
        bj = inner.batch_jacobian(y, x)   # [b, 2, 2], diag 3x^2
        s = tf.reduce_sum(bj)
    np.testing.assert_allclose(outer.gradient(s, x), 6 * np.asarray(x))


def test_batch_jacobian_unconnected_zeros():
    x, z = tf.constant([[1.0, 2.0]]), tf.constant([[1.0]])
    with tf.GradientTape() as tape:
        tape.watch([x, z])
        y = x * 2.0
    np.testing.assert_array_equal(tape.batch_jacobian(y, z), np.zeros((1, 2, 1)))
