"""Reproducers of issue 12 (hardening): each was a crash, a hang or a
wrong number on the main branch before its fix.

The oracles: eager fastgrad (a replay must equal it), NumPy, and TF 2.21
for error types and messages (probed with tensorflow-cpu 2.21).
"""
import numpy as np
import pytest

import fastgrad as tf
from _fgutil import fastgrad_only
from fastgrad._jacobian import tape_jacobian


# ------------------------------------------- compiled replay of transforms


def _rosen(x):
    return tf.reduce_sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def _cube(x):
    return x ** 3


def _mix(x):
    # not elementwise: every output reads every input
    return tf.sin(x) * tf.reduce_sum(x * x)


def _tape_jacobian(f, mode=None, persistent=False):
    def run(x):
        with tf.GradientTape(persistent=persistent) as t:
            t.watch(x)
            y = f(x)
        if mode is None:
            return t.jacobian(y, x)
        return tape_jacobian(t, y, x, mode=mode)
    return run


def _tape_batch_jacobian(f):
    def run(x):
        xb = tf.reshape(x, [2, -1])
        with tf.GradientTape() as t:
            t.watch(xb)
            y = f(xb)
        return t.batch_jacobian(y, xb)
    return run


def _nested_gradient(x):
    with tf.GradientTape() as t2:
        t2.watch(x)
        with tf.GradientTape() as t1:
            t1.watch(x)
            y = tf.reduce_sum(x ** 4)
        g = t1.gradient(y, x)
        z = tf.reduce_sum(g * g)
    return t2.gradient(z, x)


def _gradient(x):
    with tf.GradientTape() as t:
        t.watch(x)
        y = _rosen(x)
    return t.gradient(y, x)


def _accumulator(x):
    with tf.autodiff.ForwardAccumulator(x, tf.ones_like(x)) as acc:
        y = _mix(x)
    return acc.jvp(y)


def _vjp(x):
    y, back = tf.vjp(_mix, x)
    return back(tf.ones_like(y))[0]


def _jacobian_of_jacobian(x):
    with tf.GradientTape() as outer:
        outer.watch(x)
        with tf.GradientTape() as inner:
            inner.watch(x)
            y = _mix(x)
        j = inner.jacobian(y, x)
        s = tf.reduce_sum(j * j)
    return outer.gradient(s, x)


ENTRY_POINTS = {
    "tape.gradient": _gradient,
    "nested gradient": _nested_gradient,
    "tape.jacobian diagonal": _tape_jacobian(_cube),
    "tape.jacobian rev": _tape_jacobian(_mix, "rev"),
    "tape.jacobian fwd": _tape_jacobian(_mix, "fwd"),
    "tape.jacobian persistent": _tape_jacobian(_mix, persistent=True),
    "tape.batch_jacobian diagonal": _tape_batch_jacobian(_cube),
    "tape.batch_jacobian": _tape_batch_jacobian(lambda x: tf.matmul(x, tf.transpose(x))),
    "tape.batch_jacobian fwd": _tape_batch_jacobian(lambda x: tf.concat([x, x * x, tf.sin(x)], 1)),
    "jacobian of jacobian": _jacobian_of_jacobian,
    "fastgrad.grad": tf.grad(_rosen),
    "fastgrad.value_and_grad": tf.value_and_grad(_rosen),
    "fastgrad.jacobian": tf.jacobian(_mix),
    "fastgrad.jacobian rev": tf.jacobian(_mix, mode="rev"),
    "fastgrad.jacobian fwd": tf.jacobian(_mix, mode="fwd"),
    "fastgrad.hessian": tf.hessian(_rosen),
    "fastgrad.hvp": lambda x: tf.hvp(_rosen, x, tf.ones_like(x)),
    "fastgrad.jvp": lambda x: tf.jvp(_mix, (x,), (tf.ones_like(x),)),
    "fastgrad.vjp": _vjp,
    "ForwardAccumulator": _accumulator,
}


def _assert_same(a, b):
    fa, fb = tf.nest.flatten(a), tf.nest.flatten(b)
    assert len(fa) == len(fb)
    for x, y in zip(fa, fb):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-12, atol=1e-12)


@fastgrad_only
@pytest.mark.parametrize("name", list(ENTRY_POINTS))
def test_every_transform_replays_on_new_inputs(name):
    """A traced transform, called on an input it was not traced with,
    equals the eager transform (Jacobians replayed their trace-time value)."""
    fn = ENTRY_POINTS[name]
    f = tf.function(fn)
    rng = np.random.default_rng(12)
    for k in range(3):
        x = tf.constant(rng.uniform(-1.5, 1.5, size=4))
        _assert_same(f(x), fn(x))
    assert f.experimental_get_tracing_count() == 1


@fastgrad_only
def test_traced_jacobian_of_cube_follows_the_input():
    # the reproducer: [[3, 0], [0, 12]] came back for every input
    f = tf.function(_tape_jacobian(_cube))
    np.testing.assert_array_equal(f(tf.constant([1.0, 2.0])).numpy(), [[3, 0], [0, 12]])
    np.testing.assert_array_equal(f(tf.constant([3.0, 4.0])).numpy(), [[27, 0], [0, 48]])


@fastgrad_only
def test_traced_rosenbrock_hessian_follows_the_input():
    h = tf.function(tf.hessian(_rosen))
    h(tf.constant([0.0, 0.0, 0.0]))
    x = np.array([1.5, -0.5, 2.0])
    want = np.zeros((3, 3))
    for i in range(2):  # d2/dx2 of 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2
        want[i, i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
        want[i, i + 1] += -400 * x[i]
        want[i + 1, i] += -400 * x[i]
        want[i + 1, i + 1] += 200
    np.testing.assert_allclose(h(tf.constant(x)).numpy(), want, rtol=1e-12)


# ------------------------------------------------------------ memory safety


@pytest.mark.parametrize("make", [
    lambda: tf.zeros([2**40, 2**40]),
    lambda: tf.ones([2**33, 2**33]),
    lambda: tf.zeros([2**40, 2**40, 0]),
    lambda: tf.fill([2**40, 2**40], 1.0),
    lambda: tf.broadcast_to(1.0, [2**40, 2**40]),
], ids=["zeros", "ones", "zeros-trailing-0", "fill", "broadcast_to"])
def test_shape_products_past_int64_raise(make):
    # the product wrapped (to 0: a tensor whose sum was 0.0)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"would have more than 2\*\*63 - 1 elements"):
        make()


def test_leading_zero_dimension_is_an_empty_tensor_as_in_tf():
    assert tf.zeros([0, 2**40, 2**40]).shape == (0, 2**40, 2**40)


def test_allocation_that_cannot_be_met_is_resource_exhausted():
    with pytest.raises(tf.errors.ResourceExhaustedError,
                       match=r"OOM when allocating tensor with shape\[1048576,1048576\] and type float"):
        tf.zeros([2**20, 2**20])


def test_reshape_to_a_wrapping_shape_raises():
    # [2**62 + 1, 4] has 4 elements modulo 2**64: accepted, then indexing it segfaulted
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.reshape(tf.constant([1.0, 2.0, 3.0, 4.0]), [2**62 + 1, 4])


# ------------------------------------------------------------ wrong numbers

INF = float("inf")


@pytest.mark.parametrize("x, axis, want", [
    ([INF, 1.0], None, INF),
    ([-INF, -INF], None, -INF),
    ([INF, -INF], None, INF),
    ([[INF, 1.0], [-INF, -INF]], 1, [INF, -INF]),
    ([1e30, 1.0], None, 1e30),
])
def test_reduce_logsumexp_with_infinities(x, axis, want):
    # the shift by a non-finite max gave inf - inf = nan
    got = tf.reduce_logsumexp(tf.constant(x), axis=axis)
    np.testing.assert_array_equal(got.numpy(), np.asarray(want, np.float32))


def test_reduce_logsumexp_gradient_with_infinities_as_tf():
    x = tf.constant([-INF, 1.0, 2.0])
    with tf.GradientTape() as g:
        g.watch(x)
        y = tf.reduce_logsumexp(x)
    e = np.exp([1.0, 2.0]) / np.exp([1.0, 2.0]).sum()
    np.testing.assert_allclose(g.gradient(y, x).numpy(), [0.0, e[0], e[1]], rtol=1e-6)


def _custom(grad_of):
    @tf.custom_gradient
    def f(x):
        return tf.identity(x), grad_of
    return f


@pytest.mark.parametrize("grad_of, what", [
    (lambda dy: tf.ones([2, 3]), r"shape \[2, 3\] for input #0\(zero-based\) of shape \[3\]"),
    (lambda dy: tf.cast(dy, tf.float64), r"dtype float64 for input #0\(zero-based\) of dtype float32"),
], ids=["broadcastable-shape", "dtype"])
def test_custom_gradient_checks_what_its_function_returns(grad_of, what):
    # a [2, 3] gradient for a [3] input was summed down to [3]: a wrong number
    x = tf.constant([1.0, 2.0, 3.0])
    with tf.GradientTape() as t:
        t.watch(x)
        y = tf.reduce_sum(tf.sin(_custom(grad_of)(x * 1.0)))
    with pytest.raises(tf.errors.InvalidArgumentError, match=what):
        t.gradient(y, x)


# ------------------------------------------------------------------ memory


@fastgrad_only
def test_retracing_for_many_shapes_keeps_replay_buffers_bounded():
    import warnings
    limit = tf.config.get_function_buffer_limit()
    tf.config.set_function_buffer_limit(2 << 20)
    try:
        f = tf.function(lambda x: tf.reduce_sum(tf.sin(x) * x + x * x))
        xs = [tf.constant(np.linspace(-1.0, 1.0, 4000 + i)) for i in range(40)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for x in xs:  # 40 signatures of ~100 KB of buffers each
                f(x)
                assert tf._core.program_warm_bytes() <= 2 << 20
            # the cold ones replay (buffers allocated again), not retrace
            for x in xs[:3]:
                assert float(f(x)) == float(tf.reduce_sum(tf.sin(x) * x + x * x))
        assert f.experimental_get_tracing_count() == 40
    finally:
        tf.config.set_function_buffer_limit(limit)


@pytest.mark.parametrize("make, what", [
    (lambda: tf.reshape(tf.constant([1.0, 2.0, 3.0, 4.0]), [2**62 + 1, 4]),
     r"Shape \[4611686018427387905, 4\] has too many elements \[Op:Reshape\]"),
    (lambda: tf.tile(tf.constant([1.0, 2.0, 3.0, 4.0]), [2**62 + 1]), r"2\*\*63 - 1 elements \[Op:Tile\]"),
    (lambda: tf.concat([tf.zeros([2**62, 0])] * 3, 0), r"2\*\*63 - 1 elements \[Op:ConcatV2\]"),
    (lambda: tf.broadcast_to(1.0, [1] * 24), r"rank 24"),
], ids=["reshape", "tile", "concat", "broadcast_to-rank-24"])
def test_wrapping_shapes_and_ranks_past_16_raise(make, what):
    # tile returned shape (4,) for 4 * (2**62 + 1); broadcast_to overran a stack array
    with pytest.raises(tf.errors.InvalidArgumentError, match=what):
        make()


def test_variable_assigned_during_the_sweep_keeps_its_gradient_shape():
    # the sweep borrowed v's tensor: freed as the tape released its nodes,
    # its struct reused by u's gradient, v's gradient came back (3, 1000)
    v = tf.Variable(np.ones(1000))
    u = tf.Variable(np.ones((3, 1000)))

    @tf.custom_gradient
    def f(x):
        def grad(dy):
            v.assign(np.full(1000, 2.0))  # v's old tensor is left to the tape alone
            return dy * 3.0
        return tf.identity(x), grad

    with tf.GradientTape() as t:
        a = tf.reduce_sum(tf.sin(u) * tf.cos(u))
        y = a + tf.reduce_sum(f(tf.sin(v)))
    gu, gv = t.gradient(y, [u, v])
    assert gu.shape == (3, 1000)
    np.testing.assert_allclose(gv.numpy(), np.full(1000, 3 * np.cos(1.0)))


@pytest.mark.parametrize("make", [
    lambda: tf.zeros([1] * 40), lambda: tf.ones([1] * 40), lambda: tf.fill([1] * 40, 1.0),
    lambda: tf.constant(1.0, shape=[1] * 40),
], ids=["zeros", "ones", "fill", "constant-shape"])
def test_rank_past_16_raises_instead_of_overrunning(make):
    # the glue copied the dims into int64_t s[16]: a segfault
    with pytest.raises(tf.errors.InvalidArgumentError, match="rank 40 exceeds the maximum of 16"):
        make()


@pytest.mark.parametrize("a, b, want, dtype", [
    (1e10, 3.0, 1.0, np.float32),
    (1e17, 3.0, 1.0, np.float64),
    (0.5, float("inf"), 0.5, np.float32),
    (-7.0, 3.0, 2.0, np.float32),
    (7.0, -3.0, -2.0, np.float32),
])
def test_floormod_is_exact_for_any_quotient(a, b, want, dtype):
    # a - floor(a/b)*b gave 0.0, 0.0 and nan for the first three
    got = tf.math.floormod(tf.constant(a, dtype), tf.constant(b, dtype))
    assert got.numpy() == want and got.numpy() == np.mod(dtype(a), dtype(b))


@fastgrad_only
def test_floordiv_and_floormod_replay_in_functions():
    f = tf.function(lambda a, b: (tf.math.floordiv(a, b), tf.math.floormod(a, b)))
    for a in ([7.0, -9.0], [1.0, 5.5], [-3.0, 8.0]):
        q, r = f(tf.constant(a), tf.constant(2.0))
        np.testing.assert_array_equal(q.numpy(), np.floor_divide(a, 2.0))
        np.testing.assert_array_equal(r.numpy(), np.mod(a, 2.0))
    assert f.experimental_get_tracing_count() == 1


@pytest.mark.parametrize("value", [2**63, 2**64 - 1, -2**63 - 1, [1, 2**63], np.uint64(2**64 - 1)],
                         ids=["2**63", "2**64-1", "-2**63-1", "list", "uint64"])
def test_integers_past_int64_are_refused(value):
    # 2**63 wrapped to -2**63, a uint64 2**64-1 became -1
    with pytest.raises(ValueError, match="out-of-range integer"):
        tf.constant(value)


def test_stack_of_numpy_float64_keeps_float64():
    # narrowed to float32: 16777217 became 16777216
    s = tf.stack([np.array([16777217.0])])
    assert s.dtype == tf.float64 and s.numpy()[0, 0] == 16777217.0
    assert tf.stack([[2.0], np.array([1.0])]).dtype == tf.float32  # TF: the first leaf decides
    assert tf.stack([np.array([2**40])]).dtype == tf.int64


def test_integer_division_by_zero_into_an_empty_result_is_empty_as_in_tf():
    # found by tests/test_fuzz.py: raised "Integer division by zero" (TF: [])
    for fn in (tf.math.floordiv, tf.math.floormod):
        assert fn(tf.zeros([0], tf.int32), 0).shape == (0,)
    with pytest.raises(tf.errors.InvalidArgumentError, match="Integer division by zero"):
        tf.math.floormod(tf.constant([1, 2]), 0)
