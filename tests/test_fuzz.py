"""Property-based fuzzing of the op table (Hypothesis): no crash, no hang,
no wrong number, on any input.

Every op in ``_core.OPS`` is drawn here, through its public function where
it has one: random shapes (rank 0 to 6, 0-size dims, NumPy broadcasting),
dtypes, axes, NaN/Inf/-0.0, and NumPy operands that are non-contiguous or
have negative strides. Forward values are checked against NumPy,
gradients against central differences, and bad inputs must raise a
fastgrad (TF) error type. Every op is also fed random inputs and attribute
vectors at the raw table level, where it must return or raise, never
crash.

The default suite runs a few examples per property (a few seconds);
``FASTGRAD_FUZZ_EXAMPLES=N`` runs N per property with fresh randomness
(a long run: ``FASTGRAD_FUZZ_EXAMPLES=2000 pytest tests/test_fuzz.py``).
"""
import os

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

import fastgrad as tf  # noqa: E402
from _fgutil import fastgrad_only, numeric_grad  # noqa: E402

pytestmark = fastgrad_only

LONG = int(os.environ.get("FASTGRAD_FUZZ_EXAMPLES", "0"))
FUZZ = settings(max_examples=LONG or 4, deadline=None, database=None, derandomize=not LONG,
                suppress_health_check=list(HealthCheck), print_blob=True)

ERRORS = (tf.errors.OpError, ValueError, TypeError, IndexError)
F = [np.float32, np.float64]
SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0]

# ------------------------------------------------------------ strategies


def shapes(min_dims=0, max_dims=6, max_side=4):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=0, max_side=max_side)


@st.composite
def arrays(draw, dtype, shape, lo=-10.0, hi=10.0, special=True):
    """An array of `shape` (floats with NaN/Inf/-0.0 mixed in when special),
    returned as NumPy may hand it over: contiguous, a strided view, or
    reversed along an axis (a negative stride)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        els = st.floats(lo, hi, width=dtype.itemsize * 8)
        if special:
            els = st.one_of(els, st.sampled_from(SPECIAL).map(dtype.type)) if draw(st.booleans()) else els
    elif dtype.kind == "b":
        els = st.booleans()
    else:
        els = st.integers(-20, 20)
    layout = draw(st.sampled_from(["c", "strided", "reversed", "fortran"]))
    if layout == "strided" and len(shape):
        base = draw(hnp.arrays(dtype, shape[:-1] + (shape[-1] * 2,), elements=els))
        return base[..., ::2]
    a = draw(hnp.arrays(dtype, shape, elements=els))
    if layout == "reversed" and len(shape):
        return np.flip(np.ascontiguousarray(np.flip(a, -1)), -1)
    if layout == "fortran":
        return np.asfortranarray(a)
    return a


def both(a):
    """The operand as a Tensor or as the NumPy array itself (ops take both)."""
    return a


def _close(got, want, dtype, rtol=None):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    if rtol is None:
        rtol = 2e-5 if np.dtype(dtype) == np.float32 else 1e-12
    if got.dtype.kind in "biu":
        np.testing.assert_array_equal(got, want)
        return
    np.testing.assert_allclose(got, want.astype(got.dtype), rtol=rtol, atol=rtol, equal_nan=True)


# ------------------------------------------------------------ elementwise

def _sigmoid(x):
    with np.errstate(over="ignore"):
        return np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))


def _softplus(x):
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(np.isinf(x) & (x > 0), x, np.logaddexp(0, x))


# name -> (fastgrad function, NumPy reference, value range, float32 rtol)
UNARY = {
    "negative": (tf.negative, np.negative, 1e3, None),
    "square": (tf.square, np.square, 1e3, None),
    "sqrt": (tf.sqrt, np.sqrt, 1e3, None),
    "exp": (tf.exp, np.exp, 80.0, 1e-5),
    "log": (tf.math.log, np.log, 1e3, 1e-5),
    "log1p": (tf.math.log1p, np.log1p, 1e3, 1e-5),
    "sin": (tf.sin, np.sin, 50.0, 1e-5),
    "cos": (tf.cos, np.cos, 50.0, 1e-5),
    "tan": (tf.tan, np.tan, 1.5, 1e-5),
    "tanh": (tf.tanh, np.tanh, 20.0, 1e-5),
    "sigmoid": (tf.sigmoid, _sigmoid, 50.0, 1e-5),
    "abs": (tf.abs, np.abs, 1e3, None),
    "sign": (tf.sign, np.sign, 1e3, None),
    "relu": (tf.nn.relu, lambda x: np.where(np.isnan(x), x, np.maximum(x, 0)), 1e3, None),
    "softplus": (tf.math.softplus, _softplus, 50.0, 1e-5),
    "reciprocal": (tf.math.reciprocal, np.reciprocal, 1e3, None),
    "floor": (tf.floor, np.floor, 1e3, None),
    "ceil": (tf.math.ceil, np.ceil, 1e3, None),
    "round": (tf.round, np.round, 1e3, None),
    "identity": (tf.identity, lambda x: x, 1e3, None),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@FUZZ
@given(data=st.data())
def test_unary_forward_matches_numpy(name, data):
    fn, ref, lim, rtol = UNARY[name]
    dtype = data.draw(st.sampled_from(F))
    x = data.draw(arrays(dtype, data.draw(shapes()), -lim, lim))
    with np.errstate(all="ignore"):
        want = ref(x.astype(np.float64)).astype(dtype)
    _close(fn(x), want, dtype, rtol)


def _floormod(a, b):
    with np.errstate(all="ignore"):
        return np.mod(a, b)


BINARY = {
    "add": (tf.add, np.add),
    "subtract": (tf.subtract, np.subtract),
    "multiply": (tf.multiply, np.multiply),
    "divide": (tf.divide, np.divide),
    "maximum": (tf.maximum, lambda a, b: np.where(np.isnan(a) | np.isnan(b), np.nan, np.maximum(a, b))),
    "minimum": (tf.minimum, lambda a, b: np.where(np.isnan(a) | np.isnan(b), np.nan, np.minimum(a, b))),
    "pow": (tf.pow, np.power),
    "floormod": (tf.math.floormod, _floormod),
    "floordiv": (tf.math.floordiv, lambda a, b: np.floor(a / b)),
    "truncatediv": (tf.math.truncatediv, lambda a, b: np.trunc(a / b)),
    "divide_no_nan": (tf.math.divide_no_nan, lambda a, b: np.where(b == 0, 0.0, a / np.where(b == 0, 1, b))),
    "equal": (tf.equal, np.equal),
    "not_equal": (tf.not_equal, np.not_equal),
    "less": (tf.less, np.less),
    "less_equal": (tf.less_equal, np.less_equal),
    "greater": (tf.greater, np.greater),
    "greater_equal": (tf.greater_equal, np.greater_equal),
}


@st.composite
def broadcast_pair(draw):
    a, b = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=5, min_side=0,
                                                  max_side=4)).input_shapes
    return a, b


@pytest.mark.parametrize("name", sorted(BINARY))
@FUZZ
@given(data=st.data())
def test_binary_forward_matches_numpy_with_broadcasting(name, data):
    fn, ref = BINARY[name]
    dtype = data.draw(st.sampled_from(F))
    sa, sb = data.draw(broadcast_pair())
    lim = 4.0 if name == "pow" else 1e3
    a = data.draw(arrays(dtype, sa, -lim, lim))
    b = data.draw(arrays(dtype, sb, -lim, lim))
    with np.errstate(all="ignore"):
        want = ref(a.astype(np.float64), b.astype(np.float64))
    want = want if want.dtype == bool else want.astype(dtype)
    # one operand a Tensor, the other NumPy or a Tensor
    ta = tf.constant(a)
    got = fn(ta, b if data.draw(st.booleans()) else tf.constant(b))
    _close(got, want, dtype, 1e-5 if name in ("pow", "floormod", "floordiv", "truncatediv") else None)


@pytest.mark.parametrize("name", ["add", "multiply", "floordiv", "floormod", "truncatediv", "maximum", "pow"])
@FUZZ
@given(data=st.data())
def test_integer_binary_matches_numpy(name, data):
    dtype = data.draw(st.sampled_from([np.int32, np.int64]))
    sa, sb = data.draw(broadcast_pair())
    a = data.draw(arrays(dtype, sa))
    b = data.draw(arrays(dtype, sb))
    fn = {"add": tf.add, "multiply": tf.multiply, "floordiv": tf.math.floordiv,
          "floormod": tf.math.floormod, "truncatediv": tf.math.truncatediv, "maximum": tf.maximum,
          "pow": tf.pow}[name]
    divides = name in ("floordiv", "floormod", "truncatediv")
    if divides and np.any(np.broadcast_arrays(a, b)[1] == 0):  # TF: an empty result raises nothing
        with pytest.raises(tf.errors.InvalidArgumentError, match="Integer division by zero"):
            fn(tf.constant(a), tf.constant(b))
        return
    if name == "pow":
        b = np.abs(b) % 5
    want = {"add": np.add, "multiply": np.multiply, "floordiv": np.floor_divide, "floormod": np.mod,
            "truncatediv": lambda x, y: np.trunc(x / np.where(y == 0, 1, y)).astype(x.dtype),
            "maximum": np.maximum, "pow": np.power}[name](a, b)
    np.testing.assert_array_equal(fn(tf.constant(a), tf.constant(b)).numpy(), want)


@pytest.mark.parametrize("name", ["logical_and", "logical_or"])
@FUZZ
@given(data=st.data())
def test_logical_ops_match_numpy(name, data):
    sa, sb = data.draw(broadcast_pair())
    a, b = data.draw(arrays(bool, sa)), data.draw(arrays(bool, sb))
    fn, ref = {"logical_and": (tf.logical_and, np.logical_and), "logical_or": (tf.logical_or, np.logical_or)}[name]
    np.testing.assert_array_equal(fn(a, b).numpy(), ref(a, b))
    np.testing.assert_array_equal(tf.logical_not(a).numpy(), np.logical_not(a))


@FUZZ
@given(data=st.data())
def test_incompatible_broadcast_raises(data):
    a = data.draw(shapes(1, 4, 5))
    b = list(a)
    i = data.draw(st.integers(0, len(a) - 1))
    assume(a[i] not in (0, 1))
    b[i] = a[i] + data.draw(st.integers(1, 3))
    name = data.draw(st.sampled_from(sorted(BINARY)))
    with pytest.raises(tf.errors.InvalidArgumentError, match="Incompatible shapes"):
        BINARY[name][0](tf.zeros(a), tf.zeros(b))


# ------------------------------------------------------------ reductions

REDUCE = {
    "reduce_sum": (tf.reduce_sum, np.sum),
    "reduce_prod": (tf.reduce_prod, np.prod),
    "reduce_max": (tf.reduce_max, np.max),
    "reduce_min": (tf.reduce_min, np.min),
    "reduce_mean": (tf.reduce_mean, np.mean),
    "reduce_logsumexp": (tf.reduce_logsumexp, None),
}


def _logsumexp(x, axis, keepdims):
    with np.errstate(all="ignore"):
        m = np.max(x, axis=axis, keepdims=True) if x.size else np.zeros([1] * x.ndim)
        m = np.where(np.isfinite(m), m, 0)
        return np.squeeze(np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m,
                          axis=None if keepdims else axis) if not keepdims else \
            np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m


@st.composite
def axes_for(draw, ndim):
    if draw(st.booleans()):
        return None
    picked = draw(st.lists(st.integers(0, max(ndim - 1, 0)), min_size=0 if ndim else 0,
                           max_size=ndim, unique=True)) if ndim else []
    return [a - ndim if draw(st.booleans()) else a for a in picked]


@pytest.mark.parametrize("name", sorted(REDUCE))
@FUZZ
@given(data=st.data())
def test_reductions_match_numpy(name, data):
    fn, ref = REDUCE[name]
    dtype = data.draw(st.sampled_from(F))
    x = data.draw(arrays(dtype, data.draw(shapes(0, 5)), -5.0, 5.0))
    axis = data.draw(axes_for(x.ndim))
    keep = data.draw(st.booleans())
    ax = None if axis is None else tuple(axis)
    empty = x.size == 0 or (ax is not None and any(x.shape[a] == 0 for a in ax))
    if name in ("reduce_max", "reduce_min") and empty:
        got = fn(x, axis=axis, keepdims=keep).numpy()  # TF: -inf / +inf identities
        assert np.all(got == (-np.inf if name == "reduce_max" else np.inf))
        return
    with np.errstate(all="ignore"):
        if name == "reduce_logsumexp":
            want = _logsumexp(x.astype(np.float64), ax, keep)
        elif name in ("reduce_max", "reduce_min"):
            want = ref(x.astype(np.float64), axis=ax, keepdims=keep)
        else:
            want = ref(x.astype(np.float64), axis=ax, keepdims=keep)
    if ax == () and name != "reduce_logsumexp":
        want = x.astype(np.float64)
    _close(fn(x, axis=axis, keepdims=keep), np.asarray(want).astype(dtype), dtype,
           1e-4 if dtype == np.float32 else 1e-10)


@FUZZ
@given(data=st.data())
def test_any_all_argmax_cumsum_match_numpy(data):
    x = data.draw(arrays(np.float64, data.draw(shapes(1, 4)), -5.0, 5.0, special=False))
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    b = x > 0
    np.testing.assert_array_equal(tf.reduce_any(b, axis=axis).numpy(), np.any(b, axis=axis))
    np.testing.assert_array_equal(tf.reduce_all(b, axis=axis).numpy(), np.all(b, axis=axis))
    np.testing.assert_allclose(tf.cumsum(x, axis=axis).numpy(), np.cumsum(x, axis=axis), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tf.math.cumprod(x, axis=axis).numpy(), np.cumprod(x, axis=axis), rtol=1e-12,
                               atol=1e-12)
    if x.shape[axis] > 0:
        np.testing.assert_array_equal(tf.argmax(x, axis=axis).numpy(), np.argmax(x, axis=axis))
        np.testing.assert_array_equal(tf.argmin(x, axis=axis).numpy(), np.argmin(x, axis=axis))


@FUZZ
@given(data=st.data())
def test_softmax_matches_numpy(data):
    dtype = data.draw(st.sampled_from(F))
    x = data.draw(arrays(dtype, data.draw(shapes(1, 4, 5)), -30.0, 30.0, special=False))
    z = x.astype(np.float64) - (np.max(x, -1, keepdims=True) if x.size else 0)
    e = np.exp(z)
    with np.errstate(all="ignore"):
        _close(tf.nn.softmax(x), (e / e.sum(-1, keepdims=True)).astype(dtype), dtype, 1e-5)
        _close(tf.nn.log_softmax(x), (z - np.log(e.sum(-1, keepdims=True))).astype(dtype), dtype, 1e-5)


# ------------------------------------------------------------ layout


@FUZZ
@given(data=st.data())
def test_layout_ops_match_numpy(data):
    x = data.draw(arrays(np.float64, data.draw(shapes(1, 5)), special=False))
    nd = x.ndim
    perm = data.draw(st.permutations(range(nd)))
    np.testing.assert_array_equal(tf.transpose(x, perm).numpy(), np.transpose(x, perm))
    reps = data.draw(st.lists(st.integers(0, 3), min_size=nd, max_size=nd))
    np.testing.assert_array_equal(tf.tile(x, reps).numpy(), np.tile(x, reps))
    flat = [int(np.prod(x.shape))]
    np.testing.assert_array_equal(tf.reshape(x, flat + [1]).numpy(), x.reshape(flat + [1]))
    if x.size:
        np.testing.assert_array_equal(tf.reshape(x, [-1]).numpy(), x.reshape(-1))
    axis = data.draw(st.integers(-nd, nd - 1))
    y = data.draw(arrays(np.float64, x.shape, special=False))
    np.testing.assert_array_equal(tf.concat([x, y], axis).numpy(), np.concatenate([x, y], axis))
    np.testing.assert_array_equal(tf.stack([x, y], axis).numpy(), np.stack([x, y], axis))
    target = data.draw(st.lists(st.integers(1, 3), min_size=0, max_size=2)) + list(x.shape)
    np.testing.assert_array_equal(tf.broadcast_to(x, target).numpy(), np.broadcast_to(x, target))
    if x.shape[0]:
        idx = data.draw(hnp.arrays(np.int32, data.draw(shapes(0, 2)), elements=st.integers(0, x.shape[0] - 1)))
        np.testing.assert_array_equal(tf.gather(x, idx).numpy(), np.take(x, idx, axis=0))
    cond = x > 0
    np.testing.assert_array_equal(tf.where(cond, x, y).numpy(), np.where(cond, x, y))


@st.composite
def slices(draw, shape):
    out = []
    for n in shape:
        kind = draw(st.sampled_from(["all", "slice", "index"] if n else ["all", "slice"]))
        if kind == "all":
            out.append(slice(None))
        elif kind == "index":
            out.append(draw(st.integers(-n, n - 1)))
        else:
            start = draw(st.none() | st.integers(-n - 2, n + 2))
            stop = draw(st.none() | st.integers(-n - 2, n + 2))
            step = draw(st.sampled_from([None, 1, 2, -1, -2, 3]))
            out.append(slice(start, stop, step))
    return tuple(out)


@FUZZ
@given(data=st.data())
def test_strided_slice_matches_numpy(data):
    x = data.draw(arrays(np.float64, data.draw(shapes(1, 4, 5)), special=False))
    key = data.draw(slices(x.shape))
    np.testing.assert_array_equal(tf.constant(x)[key].numpy(), x[key])


@FUZZ
@given(data=st.data())
def test_matmul_matches_numpy(data):
    dtype = data.draw(st.sampled_from(F))
    m, k, n = (data.draw(st.integers(0, 5)) for _ in range(3))
    batch = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, min_side=1, max_side=3))
    ba, bb = batch.input_shapes
    ta, tb = data.draw(st.booleans()), data.draw(st.booleans())
    a = data.draw(arrays(dtype, ba + ((k, m) if ta else (m, k)), -3, 3, special=False))
    b = data.draw(arrays(dtype, bb + ((n, k) if tb else (k, n)), -3, 3, special=False))
    if len(ba) != len(bb) and (not ba or not bb):
        assume(False)
    want = np.matmul(np.swapaxes(a, -1, -2) if ta else a, np.swapaxes(b, -1, -2) if tb else b)
    got = tf.matmul(a, b, transpose_a=ta, transpose_b=tb)
    _close(got, want.astype(dtype), dtype, 1e-4 if dtype == np.float32 else 1e-10)


@FUZZ
@given(data=st.data())
def test_bad_shapes_and_axes_raise_a_tf_error(data):
    x = tf.constant(data.draw(arrays(np.float64, data.draw(shapes(1, 4, 4)), special=False)))
    nd = x.ndim
    which = data.draw(st.sampled_from(["reshape", "axis", "transpose", "tile", "concat", "gather", "matmul",
                                       "slice"]))
    with pytest.raises(ERRORS):
        if which == "reshape":
            tf.reshape(x, [int(np.prod(x.shape)) + data.draw(st.integers(1, 5))])
        elif which == "axis":
            tf.reduce_sum(x, axis=data.draw(st.sampled_from([nd, nd + 3, -nd - 1])))
        elif which == "transpose":
            tf.transpose(x, list(range(nd))[::-1] + [0])
        elif which == "tile":
            tf.tile(x, [1] * (nd + 1))
        elif which == "concat":
            tf.concat([x, tf.zeros(list(x.shape) + [2])], 0)
        elif which == "gather":
            tf.gather(x, [x.shape[0] + data.draw(st.integers(0, 3))])
        elif which == "matmul":
            tf.matmul(tf.zeros([2, 3]), tf.zeros([4, 2]))
        else:
            x[(0,) * (nd + 1)]


# ------------------------------------------------------------ gradients

GRAD_UNARY = {k: UNARY[k] for k in ("square", "sqrt", "exp", "log", "log1p", "sin", "cos", "tan", "tanh",
                                    "sigmoid", "softplus", "reciprocal", "abs", "relu", "negative")}
POSITIVE = {"sqrt", "log", "log1p", "reciprocal"}


def _check_grad(f, xs, rtol=1e-5):
    """d sum(w * f(xs)) / d xs against central differences, w random."""
    y = np.asarray(f(*[tf.constant(x) for x in xs]))
    w = np.random.default_rng(y.size).uniform(0.5, 1.5, y.shape)
    ts = [tf.constant(x) for x in xs]
    with tf.GradientTape() as t:
        t.watch(ts)
        s = tf.reduce_sum(f(*ts) * w)
    got = t.gradient(s, ts, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    want = numeric_grad(lambda a: float(np.sum(np.asarray(f(*[tf.constant(v) for v in a])) * w)), xs)
    for g, n in zip(got, want):
        np.testing.assert_allclose(g.numpy(), n, rtol=rtol, atol=rtol)


@st.composite
def away_from_kinks(draw, shape, positive=False, lo=0.2, hi=2.0):
    mag = draw(hnp.arrays(np.float64, shape, elements=st.floats(lo, hi)))
    if positive:
        return mag
    sign = draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([-1.0, 1.0])))
    return mag * sign


@pytest.mark.parametrize("name", sorted(GRAD_UNARY))
@FUZZ
@given(data=st.data())
def test_unary_gradients_match_central_differences(name, data):
    fn = GRAD_UNARY[name][0]
    x = data.draw(away_from_kinks(data.draw(shapes(0, 3, 3)), name in POSITIVE, hi=1.2 if name == "tan" else 2.0))
    _check_grad(fn, [x])


@pytest.mark.parametrize("name", ["add", "subtract", "multiply", "divide", "maximum", "minimum", "pow",
                                  "floormod", "divide_no_nan"])
@FUZZ
@given(data=st.data())
def test_binary_gradients_match_central_differences(name, data):
    sa, sb = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, min_side=1, max_side=3)).input_shapes
    a = data.draw(away_from_kinks(sa, name == "pow", 0.5, 1.5))
    b = data.draw(away_from_kinks(sb, False, 0.5, 1.5))
    if name in ("maximum", "minimum"):
        assume(np.min(np.abs(np.subtract(*np.broadcast_arrays(a, b)))) > 0.05)
    if name == "floormod":
        q = np.divide(*np.broadcast_arrays(a, b))
        assume(np.min(np.abs(q - np.round(q))) > 0.05)
    _check_grad(BINARY[name][0], [a, b])


@pytest.mark.parametrize("name", ["reduce_sum", "reduce_prod", "reduce_max", "reduce_mean", "reduce_logsumexp"])
@FUZZ
@given(data=st.data())
def test_reduction_gradients_match_central_differences(name, data):
    x = data.draw(away_from_kinks(data.draw(shapes(1, 3, 3)), False, 0.5, 1.5))
    if name == "reduce_max":
        x = x + np.arange(x.size).reshape(x.shape) * 0.1  # no ties
    axis = data.draw(axes_for(x.ndim))
    keep = data.draw(st.booleans())
    _check_grad(lambda t: REDUCE[name][0](t, axis=axis, keepdims=keep), [x])


@FUZZ
@given(data=st.data())
def test_layout_gradients_match_central_differences(data):
    x = data.draw(away_from_kinks(data.draw(shapes(1, 3, 3))))
    nd = x.ndim
    perm = data.draw(st.permutations(range(nd)))
    reps = data.draw(st.lists(st.integers(1, 2), min_size=nd, max_size=nd))
    key = data.draw(slices(x.shape))
    w = data.draw(away_from_kinks((x.shape[-1], 2)))
    _check_grad(lambda t: tf.transpose(tf.tile(t, reps), perm), [x])
    _check_grad(lambda t: t[key], [x])
    if nd >= 2:
        _check_grad(lambda t: tf.matmul(t, tf.constant(w)), [x])
    _check_grad(lambda t: tf.nn.softmax(t) * tf.nn.log_softmax(t), [x])
    _check_grad(lambda t: tf.cumsum(t, axis=-1) * tf.math.cumprod(t, axis=0), [x])


# ------------------------------------------------------------ every table op, raw


_ATTR = st.one_of(st.integers(-3, 6), st.sampled_from([-2**63, 2**62 + 1, 2**31, 17, 100]))
_RAW_OPS = sorted(n for n in tf._core.OPS if n != "custom_gradient")


@pytest.mark.parametrize("name", _RAW_OPS)
@FUZZ
@given(data=st.data())
def test_every_table_op_returns_or_raises_on_random_inputs(name, data):
    """Random operands and attribute vectors straight into the table: an
    op returns a tensor or raises an error type, never crashes."""
    n_in = data.draw(st.integers(1, 3))
    dts = [np.float32, np.float64, np.int32, np.int64, bool]
    ins = [tf.constant(data.draw(arrays(data.draw(st.sampled_from(dts)), data.draw(shapes(0, 4, 3)))))
           for _ in range(n_in)]
    attrs = data.draw(st.lists(_ATTR, max_size=8))
    try:
        r = tf._core.apply(tf._core.OPS[name], ins, attrs)
    except ERRORS:
        return
    if r is not None:
        np.asarray(r)  # the result reads back
