"""The op table kept honest: every op in ``_core.OPS`` is either checked
here -- first and second derivatives, reverse and forward mode (the
batched forward sweep, so the JVP rules derived from the table run with
batch dimensions), and a traced replay on a second input -- or is on the
explicit list of non-differentiable ops, whose gradient must be None.

Adding an op to csrc/fg_ops.def means adding it to CASES or NONDIFF.
The new ops of the table's second version (cumsum, cumprod, argmax,
argmin, one_hot, where(condition), floor/ceil/round, integer mean) are
also checked value by value against TensorFlow 2.21's outputs.
"""
import numpy as np
import pytest

import fastgrad as tf
from _fgutil import fastgrad_only

pytestmark = fastgrad_only

_core = tf._core if hasattr(tf, "_core") else None
from fastgrad import _core  # noqa: E402

O = _core.OPS
F64 = tf.float64._enum
F32 = tf.float32._enum
I32 = tf.int32._enum
I64 = tf.int64._enum

R = np.random.default_rng(7)


def rnd(*shape, lo=-1.0, hi=1.0):
    return R.uniform(lo, hi, shape)


def away(*shape):
    """values with |v| in [0.5, 1.5], random signs: away from kinks and poles"""
    return R.uniform(0.5, 1.5, shape) * R.choice([-1.0, 1.0], shape)


def op(name, attrs=(), consts=()):
    """f(*xs) applying table op `name`; consts are extra non-float inputs
    spliced in at their positions: ((position, value), ...)"""
    def f(*xs):
        ins = list(xs)
        for pos, v in consts:
            ins.insert(pos, tf.constant(v))
        return _core.apply(O[name], ins, list(attrs))
    f.__name__ = name
    return f


def spd(x):
    """x x^T + 3I: symmetric positive definite"""
    xxt = _core.apply(O["matmul"], [x, x], [0, 1])
    return _core.apply(O["add"], [xxt, tf.constant(3 * np.eye(x.shape[-1]), x.dtype)])


def allreduce_op(*xs):
    import struct

    import fastgrad.distribute as hvd
    hvd.init()
    bits = [struct.unpack("<q", struct.pack("<d", v))[0] for v in (3.0, 0.5, 2.0)]
    return _core.apply(O["allreduce"], list(xs), [1, *bits, 12345])


COND = np.array([[True, False, True], [False, True, False]])
SEG = np.array([0, 0, 2, 2], np.int32)    # segment 1 empty
USEG = np.array([3, -1, 0, 3], np.int64)  # unsorted, one id dropped, segments 1 and 2 empty
# distinct values within each segment: max/min have one winner away from ties
SEGX = np.array([[0.1, 0.7, -0.2], [0.5, -0.9, 0.3], [0.4, 0.2, -0.6], [-0.3, 0.8, 0.6]])
ALONG = np.array([[3, 0, 2], [1, 1, 0]], np.int32)  # a repeated index: put_along adds
IDX = np.array([0, 2, 2], np.int32)
CONV = [2, 1, 1, 2, 1, 2, 0, 1]
POOL = [2, 2, 1, 2, 0, 1, 0, 1]

# name -> (function, inputs, check_gradients options)
CASES = {
    "add": (op("add"), [rnd(2, 3), rnd(3)], {}),
    "subtract": (op("subtract"), [rnd(2, 3), rnd(2, 1)], {}),
    "multiply": (op("multiply"), [rnd(2, 3), rnd(3)], {}),
    "divide": (op("divide"), [rnd(2, 3), away(2, 3)], {}),
    "divide_no_nan": (op("divide_no_nan"), [rnd(2, 3), away(3)], {}),
    "pow": (op("pow"), [rnd(2, 3, lo=0.5, hi=2.0), rnd(2, 3)], {}),
    # quotients 1.25, -0.65, 1.57: away from floormod's jumps
    "floormod": (op("floormod"), [np.array([2.5, -1.3, 4.7]), np.array([2.0, 2.0, 3.0])], {}),
    "maximum": (op("maximum"), [np.array([0.1, -0.4, 0.9]), np.array([0.3, -0.7, 0.2])], {}),
    "minimum": (op("minimum"), [np.array([0.1, -0.4, 0.9]), np.array([0.3, -0.7, 0.2])], {}),
    "tanh_grad": (op("tanh_grad"), [rnd(2, 3), rnd(2, 3)], {}),
    "sigmoid_grad": (op("sigmoid_grad"), [rnd(2, 3), rnd(2, 3)], {}),
    "relu_grad": (op("relu_grad"), [away(2, 3), rnd(2, 3)], {}),
    "sqrt_grad": (op("sqrt_grad"), [rnd(2, 3, lo=0.5, hi=2.0), rnd(2, 3)], {}),
    "square_grad": (op("square_grad"), [rnd(2, 3), rnd(2, 3)], {}),
    "negative": (op("negative"), [rnd(2, 3)], {}),
    "square": (op("square"), [rnd(2, 3)], {}),
    "sqrt": (op("sqrt"), [rnd(2, 3, lo=0.5, hi=2.0)], {}),
    "exp": (op("exp"), [rnd(2, 3)], {}),
    "log": (op("log"), [rnd(2, 3, lo=0.5, hi=2.0)], {}),
    "log1p": (op("log1p"), [rnd(2, 3, lo=-0.5, hi=1.0)], {}),
    "sin": (op("sin"), [rnd(2, 3)], {}),
    "cos": (op("cos"), [rnd(2, 3)], {}),
    "tan": (op("tan"), [rnd(2, 3)], {}),
    "tanh": (op("tanh"), [rnd(2, 3)], {}),
    "sigmoid": (op("sigmoid"), [rnd(2, 3)], {}),
    "abs": (op("abs"), [away(2, 3)], {}),
    "sign": (op("sign"), [away(2, 3)], {}),
    "relu": (op("relu"), [away(2, 3)], {}),
    "softplus": (op("softplus"), [rnd(2, 3)], {}),
    "reciprocal": (op("reciprocal"), [away(2, 3)], {}),
    "identity": (op("identity"), [rnd(2, 3)], {}),
    # float64 -> float32 -> float64: the derivative 1 survives, the values lose bits
    "cast": (lambda x: _core.apply(O["cast"], [_core.apply(O["cast"], [x], [F32])], [F64]),
             [rnd(2, 3)], dict(delta=1e-2, rtol=1e-4, atol=1e-4)),
    "where": (op("where", consts=((0, COND),)), [rnd(2, 3), rnd(3)], {}),
    "reduce_sum": (op("reduce_sum", [0, 1, 0]), [rnd(2, 3)], {}),
    "reduce_max": (op("reduce_max", [1, 0, 1]), [np.array([[0.1, 0.7, -0.2], [0.5, -0.9, 0.3]])], {}),
    "reduce_min": (op("reduce_min", [0, 1, 0]), [np.array([[0.1, 0.7, -0.2], [0.5, -0.9, 0.3]])], {}),
    "reduce_prod": (op("reduce_prod", [0, 0, 1]), [away(2, 3)], {}),
    "reduce_sum_mul": (op("reduce_sum_mul", [0, 1, 0]), [rnd(2, 3), rnd(2, 3)], {}),
    "cumsum": (op("cumsum", [1, 0, 0]), [rnd(2, 4)], {}),
    "cumprod": (op("cumprod", [-1, 1, 1]), [away(2, 4)], {}),
    "broadcast_to": (op("broadcast_to", [3, 2, 2, 3]), [rnd(3)], {}),
    "reshape": (op("reshape", [2, 3, 2]), [rnd(2, 3)], {}),
    "transpose": (op("transpose", [2, 0, 1]), [rnd(2, 3, 4)], {}),
    "matmul": (op("matmul", [1, 1]), [rnd(3, 2), rnd(4, 3)], {}),
    "strided_slice": (op("strided_slice", [1, 0, 2, 1, 2, 3]), [rnd(4, 5)], {}),
    "strided_slice_grad": (op("strided_slice_grad", [2, 4, 5, 1, 0, 2, 1, 2, 3]), [rnd(2, 3)], {}),
    "concat": (op("concat", [-1]), [rnd(2, 3), rnd(2, 1)], {}),
    "tile": (op("tile", [2, 1]), [rnd(2, 3)], {}),
    "gather": (op("gather", [0], consts=((1, IDX),)), [rnd(4, 3)], {}),
    "gather_grad": (op("gather_grad", [0, 2, 4, 3], consts=((1, IDX),)), [rnd(3, 3)], {}),
    "softmax": (op("softmax"), [rnd(2, 4)], {}),
    "log_softmax": (op("log_softmax"), [rnd(2, 4)], {}),
    # linear algebra (csrc/fg_linalg.c): well-conditioned matrices; cholesky of x x^T + 3I,
    # since its rule treats the input as symmetric where differences would not
    "cholesky": (lambda x: op("cholesky")(spd(x)), [rnd(2, 3, 3)], {}),
    "triangular_solve": (op("triangular_solve", [1, 0]), [rnd(3, 3) + 3 * np.eye(3), rnd(2, 3, 2)], {}),
    "matrix_solve": (op("matrix_solve", [1, 0]), [rnd(2, 3, 3) + 3 * np.eye(3), rnd(2, 3, 2)], {}),
    "matrix_inverse": (op("matrix_inverse"), [rnd(2, 3, 3) + 3 * np.eye(3)], {}),
    "matrix_determinant": (op("matrix_determinant"), [rnd(2, 3, 3) + 2 * np.eye(3)], {}),
    "log_abs_determinant": (op("log_abs_determinant"), [rnd(2, 3, 3) - 2 * np.eye(3)], {}),
    # eigenvectors' signs are LAPACK's choice: the packed output squared is sign-free
    "eigh": (lambda x: (lambda y: y * y)(op("eigh")(x)), [rnd(2, 3, 3)], {}),
    # singular vectors' signs too: the packed svd squared; qr's Householder signs are fixed
    "svd": (lambda x: (lambda y: y * y)(op("svd", [1, 0])(x)), [rnd(2, 4, 3)], {}),
    "qr": (op("qr", [0]), [rnd(2, 3, 4)], {}),
    "tridiagonal_solve": (op("tridiagonal_solve", [1]), [rnd(3, 4) + np.array([[0.0], [3.0], [0.0]]), rnd(2, 4, 2)], {}),
    "matrix_diag_part": (op("matrix_diag_part"), [rnd(2, 3, 4)], {}),
    "matrix_diag": (op("matrix_diag"), [rnd(2, 3)], {}),
    "matrix_set_diag": (op("matrix_set_diag"), [rnd(2, 3, 4), rnd(2, 3)], {}),
    "matrix_band_part": (op("matrix_band_part", [1, 0]), [rnd(3, 4)], {}),
    "cumulative_logsumexp": (op("cumulative_logsumexp", [1, 0, 1]), [rnd(2, 4)], {}),
    # segment reductions: sorted ids with an empty segment; unsorted with a dropped id
    "segment_sum": (op("segment_sum", [0, -1, 1], consts=((1, SEG),)), [rnd(4, 3)], {}),
    "segment_mean": (op("segment_mean", [0, 4, 0], consts=((1, USEG),)), [rnd(4, 3)], {}),
    "segment_max": (op("segment_max", [0, -1, 1], consts=((1, SEG),)), [SEGX], {}),
    "segment_min": (op("segment_min", [0, 4, 0], consts=((1, USEG),)), [SEGX], {}),
    "segment_prod": (op("segment_prod", [0, 4, 0], consts=((1, USEG),)), [away(4, 3)], {}),
    "segment_gather": (op("segment_gather", [0], consts=((1, USEG),)), [rnd(4, 3)], {}),
    # values at sort indices and their transpose (the sort's gradient)
    "take_along": (op("take_along", consts=((1, ALONG),)), [rnd(2, 4)], {}),
    "put_along": (op("put_along", [4], consts=((1, ALONG),)), [rnd(2, 3)], {}),
    # conv2d with strides (2, 1), dilations (1, 2), explicit pads (1, 2, 0, 1): x
    # [2, 4, 5, 2] * w [2, 2, 2, 3] -> [2, 3, 4, 3]; the backprops are table ops too
    "conv2d": (op("conv2d", CONV), [rnd(2, 4, 5, 2), rnd(2, 2, 2, 3)], {}),
    "conv2d_backprop_input": (op("conv2d_backprop_input", [4, 2, 4, 5, 2, *CONV]),
                              [rnd(2, 3, 4, 3), rnd(2, 2, 2, 3)], {}),
    "conv2d_backprop_filter": (op("conv2d_backprop_filter", [4, 2, 2, 2, 3, *CONV]),
                               [rnd(2, 4, 5, 2), rnd(2, 3, 4, 3)], {}),
    # 2x2 windows, strides (1, 2), pads (0, 1, 0, 1): [2, 4, 5, 3] -> [2, 4, 3, 3]
    "avg_pool": (op("avg_pool", POOL), [rnd(2, 4, 5, 3)], {}),
    "avg_pool_grad": (op("avg_pool_grad", [4, 2, 4, 5, 3, *POOL]), [rnd(2, 4, 3, 3)], {}),
    # fastgrad.distribute's fused allreduce, in the one-process group: the
    # inputs packed times prescale 3, postscale 0.5, divided by 2
    "allreduce": (allreduce_op, [rnd(2, 3), rnd(3)], {}),
    # fg_array.c: padding (constant, reflect, symmetric; the constant value not differentiated)
    "pad": (op("pad", [0, 1, 0, 2, 1], consts=((1, np.float64(0.5)),)), [rnd(2, 3)], {}),
    "pad_grad": (op("pad_grad", [2, 1, 2, 0, 1]), [rnd(4, 6)], {}),
    "gather_nd": (op("gather_nd", [0, 0, 0], consts=((1, np.array([[1, 2], [0, 0], [1, 2]], np.int32)),)),
                  [rnd(2, 3, 2)], {}),
    "scatter_nd": (op("scatter_nd", [0, 0, 3, 3, 2, 2], consts=((1, np.array([[2], [0], [2]], np.int64)),)),
                   [rnd(3, 2, 2)], {}),
    "tensor_scatter": (op("tensor_scatter", [0, 0], consts=((1, np.array([[1, 0], [0, 2], [1, 1]], np.int32)),)),
                       [rnd(2, 3), rnd(3)], {}),
    "tensor_scatter_minmax": (op("tensor_scatter_minmax", [4, 0], consts=((1, np.array([[1], [3]], np.int32)),)),
                              [np.array([0.1, 0.5, -0.3, 0.2]), np.array([0.9, -0.6])], {}),
    "einsum_diagonal": (op("einsum_diagonal", [0, 1, 0]), [rnd(3, 2, 3)], {}),
    "einsum_diagonal_grad": (op("einsum_diagonal_grad", [3, 3, 2, 3, 0, 1, 0]), [rnd(3, 2)], {}),
    "reverse_sequence": (op("reverse_sequence", [1, 0], consts=((1, np.array([3, 1], np.int64)),)), [rnd(2, 4)], {}),
    # TF math (issue 13): away from poles and branch points
    "rsqrt": (op("rsqrt"), [rnd(2, 3, lo=0.5, hi=2.0)], {}),
    "reciprocal_grad": (op("reciprocal_grad"), [away(2, 3), rnd(2, 3)], {}),
    "rsqrt_grad": (op("rsqrt_grad"), [rnd(2, 3, lo=0.5, hi=2.0), rnd(2, 3)], {}),
    "asin": (op("asin"), [rnd(2, 3, lo=-0.8, hi=0.8)], {}),
    "acos": (op("acos"), [rnd(2, 3, lo=-0.8, hi=0.8)], {}),
    "atan": (op("atan"), [rnd(2, 3, lo=-2.0, hi=2.0)], {}),
    "sinh": (op("sinh"), [rnd(2, 3)], {}),
    "cosh": (op("cosh"), [rnd(2, 3)], {}),
    "asinh": (op("asinh"), [rnd(2, 3, lo=-2.0, hi=2.0)], {}),
    "acosh": (op("acosh"), [rnd(2, 3, lo=1.5, hi=3.0)], {}),
    "atanh": (op("atanh"), [rnd(2, 3, lo=-0.8, hi=0.8)], {}),
    "expm1": (op("expm1"), [rnd(2, 3)], {}),
    "softsign": (op("softsign"), [away(2, 3)], {}),
    "erf": (op("erf"), [rnd(2, 3)], {}),
    "erfc": (op("erfc"), [rnd(2, 3)], {}),
    "erfinv": (op("erfinv"), [rnd(2, 3, lo=-0.8, hi=0.8)], {}),
    "ndtri": (op("ndtri"), [rnd(2, 3, lo=0.1, hi=0.9)], {}),
    "lgamma": (op("lgamma"), [rnd(2, 3, lo=0.5, hi=4.0)], {}),
    "digamma": (op("digamma"), [rnd(2, 3, lo=0.5, hi=4.0)], {}),
    "bessel_i0e": (op("bessel_i0e"), [away(2, 3)], {}),
    "bessel_i1e": (op("bessel_i1e"), [away(2, 3)], {}),
    "atan2": (op("atan2"), [away(2, 3), away(3)], {}),
    "squared_difference": (op("squared_difference"), [rnd(2, 3), rnd(3)], {}),
    "multiply_no_nan": (op("multiply_no_nan"), [rnd(2, 3), away(3)], {}),
    "xlogy": (op("xlogy"), [away(2, 3), rnd(3, lo=0.5, hi=2.0)], {}),
    "xlog1py": (op("xlog1py"), [away(2, 3), rnd(3, lo=-0.5, hi=2.0)], {}),
    "xdivy": (op("xdivy"), [away(2, 3), away(3)], {}),
    "nextafter": (op("nextafter"), [rnd(2, 3), rnd(3)], {}),
    # d2/da2 of igamma is not given (TF has no gradient for IgammaGradA): a held constant
    # here, d/da checked at first order in tests/test_math_special.py
    "igamma": (op("igamma", consts=((0, np.array([0.7, 1.5, 2.5])),)), [rnd(2, 3, lo=0.5, hi=3.0)], {}),
    "igammac": (op("igammac", consts=((0, np.array([0.7, 1.5, 2.5])),)), [rnd(3, lo=0.5, hi=3.0)], {}),
    # the order n, zeta's s and betainc's a, b get no gradient (TF): held constant
    "igamma_grad_a": (op("igamma_grad_a", consts=((0, np.array([0.7, 1.5, 2.5])),)),
                      [rnd(2, 3, lo=0.5, hi=3.0)], {}),
    "polygamma": (op("polygamma", consts=((0, np.array([0.0, 1.0, 2.0])),)), [rnd(2, 3, lo=0.5, hi=3.0)], {}),
    "zeta": (op("zeta", consts=((0, np.array([2.0, 3.5, 5.0])),)), [rnd(2, 3, lo=0.5, hi=3.0)], {}),
    "betainc": (op("betainc", consts=((0, np.array([[0.5, 2.0, 3.0], [1.0, 1.5, 4.0]])), (1, np.array(2.5)))),
                [rnd(2, 3, lo=0.2, hi=0.8)], {}),
}

# ops with no gradient (TF registers none, or returns None): never recorded
NONDIFF = {
    "floordiv", "truncatediv", "equal", "not_equal", "less", "less_equal", "greater",
    "greater_equal", "logical_and", "logical_or", "logical_not", "floor", "ceil", "round",
    "reduce_any", "reduce_all", "reduce_mean_int", "argmax", "argmin", "one_hot", "where_indices",
    "determinant_sign", "lu",
    "sort_indices", "in_top_k", "searchsorted", "unique", "bincount",
    "unravel_index", "invert_permutation",
    "max_pool_argmax",
    "rint", "truncatemod",
    "random_key_counter", "random_philox", "random_uniform_int", "random_skip",
    "random_categorical",
}
# tested where their machinery is: custom_gradient in tests/test_tape.py and test_forward.py
ELSEWHERE = {"custom_gradient"}


def test_every_op_is_covered():
    covered = set(CASES) | NONDIFF | ELSEWHERE
    assert set(O) == covered, "uncovered: %s; unknown: %s" % (sorted(set(O) - covered),
                                                               sorted(covered - set(O)))


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("order", [1, 2])
def test_derivatives_reverse_and_forward(name, order):
    f, xs, opts = CASES[name]
    tf.test.check_gradients(f, [tf.constant(x) for x in xs], order=order, modes=("rev", "fwd"), **opts)


@pytest.mark.parametrize("name", sorted(CASES))
def test_replay_on_a_new_input_is_eager_bitwise(name):
    """fastgrad.function replays value and gradient for new inputs exactly."""
    f, xs, _ = CASES[name]

    def step(*args):
        with tf.GradientTape() as tape:
            for a in args:
                tape.watch(a)
            y = f(*args)
            s = tf.reduce_sum(y * y)
        return y, tape.gradient(s, list(args))

    traced = tf.function(step)
    first = [tf.constant(x) for x in xs]
    second = [tf.constant(x * 1.25 + 0.01 * np.sign(x)) for x in xs]
    traced(*first)
    got_y, got_g = traced(*second)
    want_y, want_g = step(*second)
    np.testing.assert_array_equal(got_y.numpy(), want_y.numpy())
    for a, b in zip(got_g, want_g):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("fn", [tf.floor, tf.math.ceil, tf.round, lambda x: tf.cast(tf.argmax(x), tf.float64)])
def test_non_differentiable_ops_give_none(fn):
    x = tf.constant([1.5, -2.5, 0.5], tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
    assert tape.gradient(y, x) is None


# ------------------------------------------------ values, against TF 2.21


def test_cumsum_cumprod_values_as_tf():
    x = tf.constant([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    np.testing.assert_array_equal(tf.cumsum(x, axis=1).numpy(), [[1, 3, 6], [4, 9, 15]])
    np.testing.assert_array_equal(tf.cumsum(x, axis=0, exclusive=True).numpy(), [[0, 0, 0], [1, 2, 3]])
    np.testing.assert_array_equal(tf.math.cumsum(x, axis=-1, exclusive=True, reverse=True).numpy(),
                                  [[5, 3, 0], [11, 6, 0]])
    np.testing.assert_array_equal(tf.math.cumprod(x, axis=1, reverse=True).numpy(), [[6, 6, 3], [120, 30, 6]])
    np.testing.assert_array_equal(tf.math.cumprod(tf.constant([1.0, 2.0, 3.0]), exclusive=True).numpy(), [1, 1, 2])
    np.testing.assert_array_equal(tf.cumsum(tf.constant([1, 2, 3], tf.int64)).numpy(), [1, 3, 6])
    assert tf.cumsum(tf.constant([1, 2], tf.int32)).dtype == tf.int32


def test_cumprod_gradient_at_zero_is_tfs():
    # TF 2.21: div_no_nan gives 0 where x == 0 (not the product of the others)
    x = tf.constant([2.0, 0.0, 3.0, 0.5])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.math.cumprod(x)
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [1.0, 0.0, 0.0, 0.0])


def test_cumsum_gradients_as_tf():
    x = tf.constant([1.0, 2.0, 3.0])
    w = tf.constant([1.0, 10.0, 100.0])
    for kw, want in [({}, [111, 110, 100]), (dict(reverse=True), [1, 11, 111]),
                     (dict(exclusive=True), [110, 100, 0]), (dict(exclusive=True, reverse=True), [0, 1, 11])]:
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.reduce_sum(tf.cumsum(x, **kw) * w)
        np.testing.assert_array_equal(tape.gradient(y, x).numpy(), want)


def test_scan_errors_as_tf():
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"Expected scan axis in the range \[-2, 2\), but got 2"):
        tf.cumsum(tf.zeros((2, 3)), axis=2)
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.cumsum(tf.constant([True, False]))


def test_arg_reductions_as_tf():
    x = tf.constant([[1.0, 5.0, 5.0], [7.0, 2.0, 7.0]])
    assert tf.argmax(x, axis=1).numpy().tolist() == [1, 0]
    assert tf.argmax(x).numpy().tolist() == [1, 0, 1]
    assert tf.argmin(x, axis=-1, output_type=tf.int32).numpy().tolist() == [0, 1]
    assert tf.argmin(x, axis=-1, output_type=tf.int32).dtype == tf.int32
    assert tf.argmax(x).dtype == tf.int64
    # TF: NaN never wins
    assert int(tf.argmax(tf.constant([1.0, float("nan"), 3.0]))) == 2
    assert int(tf.argmax(tf.constant([4, 9, 9]))) == 1
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"Expected dimension in the range \[-2, 2\), but got 2"):
        tf.argmax(x, axis=2)


def test_rounding_as_tf():
    x = tf.constant([1.5, -2.5, 0.5, -0.4, 2.5])
    assert tf.floor(x).numpy().tolist() == [1.0, -3.0, 0.0, -1.0, 2.0]
    assert tf.math.ceil(x).numpy().tolist() == [2.0, -2.0, 1.0, -0.0, 3.0]
    assert tf.round(x).numpy().tolist() == [2.0, -2.0, 0.0, -0.0, 2.0]
    assert tf.round(tf.constant([1, 2])).numpy().tolist() == [1, 2]
    with pytest.raises(tf.errors.InvalidArgumentError, match="Value for attr 'T' of int32"):
        tf.floor(tf.constant([1, 2]))


def test_integer_mean_truncates_as_tf():
    assert int(tf.reduce_mean(tf.constant([-3, 0]))) == -1
    assert int(tf.reduce_mean(tf.constant([-3, 0], tf.int64))) == -1
    m = tf.reduce_mean(tf.constant([[1, 2], [4, 7]]), axis=0, keepdims=True)
    assert m.numpy().tolist() == [[2, 4]] and m.dtype == tf.int32


def test_one_hot_as_tf():
    assert tf.one_hot([0, 2, -1, 5], 3).numpy().tolist() == [[1, 0, 0], [0, 0, 1], [0, 0, 0], [0, 0, 0]]
    got = tf.one_hot([[0, 1]], 3, axis=0)
    assert got.shape == (3, 1, 2)
    assert got.numpy()[:, 0, :].tolist() == [[1, 0], [0, 1], [0, 0]]
    got = tf.one_hot(tf.constant([1, 0]), 2, on_value=5, off_value=-1)
    assert got.dtype == tf.int32 and got.numpy().tolist() == [[-1, 5], [5, -1]]
    assert tf.one_hot([1], 2, dtype=tf.float64).dtype == tf.float64


def test_where_condition_as_tf():
    got = tf.where(tf.constant([[True, False], [True, True]]))
    assert got.dtype == tf.int64 and got.numpy().tolist() == [[0, 0], [1, 0], [1, 1]]
    assert tf.where([False, False]).shape == (0, 1)


def test_where_condition_replays_and_retraces_on_a_new_count():
    f = tf.function(lambda c: tf.where(c))
    a = tf.constant([True, False, True])
    b = tf.constant([False, True, True])
    c = tf.constant([True, True, True])
    assert f(a).numpy().tolist() == [[0], [2]]
    assert f(b).numpy().tolist() == [[1], [2]]   # same count: replayed
    assert f(c).numpy().tolist() == [[0], [1], [2]]  # another count: retraced, right


def test_sparse_labels_out_of_range_raise_inside_a_function():
    loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    f = tf.function(lambda y, z: loss(y, z))
    logits = tf.zeros((2, 3))
    f(tf.constant([0, 2]), logits)
    with pytest.raises(ValueError, match=r"label value of 3 which is outside the valid range of \[0, 3\)"):
        f(tf.constant([0, 3]), logits)


def test_one_hot_train_step_traces_once_over_100_steps():
    """A train step with tf.one_hot, integer labels and sparse softmax
    cross-entropy is traced once: no value guard on the labels."""
    rng = np.random.default_rng(3)
    w = tf.Variable(rng.normal(size=(8, 4)).astype(np.float32) * 0.1)
    opt = tf.keras.optimizers.SGD(0.1)
    sparse = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            logits = tf.matmul(x, w)
            onehot = tf.one_hot(y, 4)
            loss = sparse(y, logits) + tf.reduce_mean(
                tf.nn.softmax_cross_entropy_with_logits(onehot, logits))
            loss = loss + tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits))
            acc = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, axis=1, output_type=tf.int32), y), tf.float32))
        opt.apply_gradients([(tape.gradient(loss, w), w)])
        return loss, acc

    for _ in range(100):
        x = tf.constant(rng.normal(size=(16, 8)).astype(np.float32))
        y = tf.constant(rng.integers(0, 4, 16).astype(np.int32))
        step(x, y)
    assert step.experimental_get_tracing_count() == 1
