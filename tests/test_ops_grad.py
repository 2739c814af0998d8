"""Systematic op checker (STYLE.md #14).

For every op in API.md "Ops" and a spread of shapes (scalar, vector,
matrix, 3-D and broadcasting pairs):

* forward values against NumPy, in float32 and float64;
* first derivatives (float64) of ``loss = sum_i sum(w_i * f(x)_i)`` with a
  fixed random ``w`` against central differences of the same loss;
* second derivatives: the gradient of ``sum_j sum(v_j * dloss/dx_j)``
  (nested tapes) against central differences of that first-derivative inner
  product.

Inputs keep away from non-differentiable points (|x| >= 0.1, positive bases
for log/sqrt/pow, distinct values for max/min, away from clip bounds).
The module was validated against TensorFlow 2.21.0 with
``FASTGRAD_TEST_BACKEND=tensorflow``.
"""

import zlib

import numpy as np
import pytest

import fastgrad as tf
from _fgutil import IS_TF, dense, fastgrad_only, numeric_grad

ZERO = tf.UnconnectedGradients.ZERO


# ------------------------------------------------------------------ inputs


def _draw(rng, shape, domain):
    shape = tuple(shape)
    if domain == "any":  # |x| in [0.1, 2], random sign
        mag = rng.uniform(0.1, 2.0, size=shape)
        return mag * rng.choice([-1.0, 1.0], size=shape)
    if domain == "away":  # |x| in [0.5, 2], random sign (denominators)
        mag = rng.uniform(0.5, 2.0, size=shape)
        return mag * rng.choice([-1.0, 1.0], size=shape)
    if domain == "pos":
        return rng.uniform(0.5, 2.0, size=shape)
    if domain == "unit":
        return rng.uniform(-1.2, 1.2, size=shape)
    if domain == "distinct":  # pairwise at least 4/(n-1) apart
        n = int(np.prod(shape)) if shape else 1
        vals = np.linspace(-2.0, 2.0, max(n, 2))[:n] + 0.013
        return rng.permutation(vals).reshape(shape)
    if domain == "clip":  # away from the bounds +-0.5 (and from 0)
        x = rng.uniform(-1.0, 1.0, size=shape)
        bad = (np.abs(np.abs(x) - 0.5) < 0.08) | (np.abs(x) < 0.05)
        while bad.any():
            x[bad] = rng.uniform(-1.0, 1.0, size=int(bad.sum()))
            bad = (np.abs(np.abs(x) - 0.5) < 0.08) | (np.abs(x) < 0.05)
        return x
    raise ValueError(domain)


class Case:
    def __init__(self, id, fn, ref, specs, *, distinct_pair=False, fastgrad_only=False, grad=True):
        self.id = id
        self.fn = fn  # (*tensors) -> tensor or list of tensors
        self.ref = ref  # (*float64 arrays) -> array or list of arrays
        self.specs = specs  # [(shape, domain), ...]
        self.distinct_pair = distinct_pair
        self.fastgrad_only = fastgrad_only
        self.grad = grad

    def inputs(self):
        rng = np.random.default_rng(zlib.crc32(self.id.encode()))
        while True:
            xs = [_draw(rng, s, d) for s, d in self.specs]
            if not self.distinct_pair:
                return xs
            a, b = np.broadcast_arrays(*xs)
            if np.min(np.abs(a - b)) > 0.1:
                return xs


CASES = []


def add(*args, **kw):
    CASES.append(Case(*args, **kw))


UNARY_SHAPES = [(), (5,), (2, 3), (2, 3, 4)]
BINARY_SHAPES = [
    ((), ()),
    ((4,), (4,)),
    ((2, 3), (2, 3)),
    ((3, 1), (1, 4)),
    ((2, 3, 4), (4,)),
    ((), (2, 3)),
    ((2, 1, 4), (3, 1)),
]


def _shape_id(s):
    return "x".join(map(str, s)) if s else "scalar"


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax(x, axis=-1):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


# ---- elementwise unary
UNARY = [
    ("negative", lambda x: tf.negative(x), lambda x: -x, "any"),
    ("neg_operator", lambda x: -x, lambda x: -x, "any"),
    ("square", lambda x: tf.square(x), lambda x: x * x, "any"),
    ("sqrt", lambda x: tf.sqrt(x), np.sqrt, "pos"),
    ("exp", lambda x: tf.exp(x), np.exp, "any"),
    ("log", lambda x: tf.math.log(x), np.log, "pos"),
    ("log1p", lambda x: tf.math.log1p(x), np.log1p, "pos"),
    ("sin", lambda x: tf.sin(x), np.sin, "any"),
    ("cos", lambda x: tf.cos(x), np.cos, "any"),
    ("tan", lambda x: tf.tan(x), np.tan, "unit"),
    ("tanh", lambda x: tf.tanh(x), np.tanh, "any"),
    ("sigmoid", lambda x: tf.sigmoid(x), _sigmoid, "any"),
    ("abs", lambda x: tf.abs(x), np.abs, "any"),
    ("abs_builtin", lambda x: abs(x), np.abs, "any"),
    ("sign", lambda x: tf.sign(x), np.sign, "any"),
    ("nn.relu", lambda x: tf.nn.relu(x), lambda x: np.maximum(x, 0.0), "any"),
    ("nn.sigmoid", lambda x: tf.nn.sigmoid(x), _sigmoid, "any"),
    ("nn.tanh", lambda x: tf.nn.tanh(x), np.tanh, "any"),
    ("nn.softplus", lambda x: tf.nn.softplus(x), lambda x: np.logaddexp(0.0, x), "any"),
    ("identity", lambda x: tf.identity(x), lambda x: x, "any"),
    ("math.exp", lambda x: tf.math.exp(x), np.exp, "any"),
    ("math.sqrt", lambda x: tf.math.sqrt(x), np.sqrt, "pos"),
    ("math.sigmoid", lambda x: tf.math.sigmoid(x), _sigmoid, "any"),
    ("clip_by_value", lambda x: tf.clip_by_value(x, -0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5), "clip"),
    ("pow_scalar_2", lambda x: x**2, lambda x: x**2, "any"),
    ("pow_scalar_3", lambda x: tf.pow(x, 3.0), lambda x: x**3, "any"),
    ("pow_scalar_half", lambda x: x**0.5, np.sqrt, "pos"),
    ("pow_scalar_neg", lambda x: tf.pow(x, -1.5), lambda x: x**-1.5, "pos"),
    ("rsub_python", lambda x: 2.0 - x, lambda x: 2.0 - x, "any"),
    ("rdiv_python", lambda x: 1.0 / x, lambda x: 1.0 / x, "away"),
    ("rpow_python", lambda x: 2.0**x, lambda x: 2.0**x, "any"),
    ("mul_python", lambda x: x * 3.0, lambda x: x * 3.0, "any"),
]
for name, fn, ref, dom in UNARY:
    for s in UNARY_SHAPES:
        add(f"{name}-{_shape_id(s)}", fn, ref, [(s, dom)])

# ---- elementwise binary (with broadcasting)
BINARY = [
    ("add", lambda a, b: tf.add(a, b), np.add, "any", "any", False),
    ("add_operator", lambda a, b: a + b, np.add, "any", "any", False),
    ("subtract", lambda a, b: tf.subtract(a, b), np.subtract, "any", "any", False),
    ("sub_operator", lambda a, b: a - b, np.subtract, "any", "any", False),
    ("multiply", lambda a, b: tf.multiply(a, b), np.multiply, "any", "any", False),
    ("mul_operator", lambda a, b: a * b, np.multiply, "any", "any", False),
    ("divide", lambda a, b: tf.divide(a, b), np.divide, "any", "away", False),
    ("div_operator", lambda a, b: a / b, np.divide, "any", "away", False),
    ("pow", lambda a, b: tf.pow(a, b), np.power, "pos", "any", False),
    ("pow_operator", lambda a, b: a**b, np.power, "pos", "any", False),
    ("maximum", lambda a, b: tf.maximum(a, b), np.maximum, "any", "any", True),
    ("minimum", lambda a, b: tf.minimum(a, b), np.minimum, "any", "any", True),
    ("math.add", lambda a, b: tf.math.add(a, b), np.add, "any", "any", False),
    ("math.multiply", lambda a, b: tf.math.multiply(a, b), np.multiply, "any", "any", False),
    ("math.maximum", lambda a, b: tf.math.maximum(a, b), np.maximum, "any", "any", True),
]
for name, fn, ref, da, db, distinct in BINARY:
    for sa, sb in BINARY_SHAPES:
        add(f"{name}-{_shape_id(sa)}+{_shape_id(sb)}", fn, ref, [(sa, da), (sb, db)], distinct_pair=distinct)

# ---- fused gradient primitives (fastgrad's own ops, applied by their table
# names): they are recorded when a gradient is itself differentiated, so
# they need correct rules of their own. Input 0 the saved value, input 1
# the incoming gradient.
_OPS = getattr(tf._core, "OPS", {}) if not IS_TF else {}


def _table_binary(name):
    return lambda a, b: tf._core.binary(_OPS[name], a, b)


GRAD_PRIMITIVES = [
    ("square_grad", lambda x, h: 2.0 * x * h, "any"),
    ("tanh_grad", lambda y, h: h * (1.0 - y * y), "unit"),
    ("sigmoid_grad", lambda y, h: h * y * (1.0 - y), "unit"),
]
for name, ref, dom in GRAD_PRIMITIVES:
    for sa, sb in BINARY_SHAPES:
        add(f"{name}-{_shape_id(sa)}+{_shape_id(sb)}", _table_binary(name), ref, [(sa, dom), (sb, "any")],
            fastgrad_only=True)

# reduce_sum_mul(a, b; keepdims, mask) = reduce_sum(a * b): multiply's rule
# for a broadcast operand uses it, so it is differentiated at second order
for shape, mask, keep in [((5,), (1,), 0), ((2, 3), (1, 0), 0), ((2, 3), (0, 1), 1),
                          ((2, 3, 4), (1, 0, 1), 0), ((2, 3, 4), (1, 1, 1), 1), ((3,), (0,), 0)]:
    axes = tuple(i for i, m in enumerate(mask) if m)
    add(
        f"reduce_sum_mul-{_shape_id(shape)}-{''.join(map(str, mask))}-k{keep}",
        (lambda m, k: lambda a, b: tf._core.apply(_OPS["reduce_sum_mul"], [a, b], (k,) + m))(mask, keep),
        (lambda ax, k: lambda a, b: np.sum(a * b, axis=ax, keepdims=bool(k)))(axes, keep),
        [(shape, "any"), (shape, "any")],
        fastgrad_only=True,
    )

# ---- where (condition fixed, broadcast against both branches)
for sc, sa, sb in [((), (), ()), ((4,), (4,), (4,)), ((2, 3), (2, 3), (2, 3)), ((3, 1), (1, 4), ()), ((2, 3), (), (3,))]:
    cond_np = (np.arange(int(np.prod(sc)) if sc else 1).reshape(sc) % 3) != 1
    add(
        f"where-{_shape_id(sc)}|{_shape_id(sa)}|{_shape_id(sb)}",
        (lambda c: lambda a, b: tf.where(tf.constant(c), a, b))(cond_np),
        (lambda c: lambda a, b: np.where(c, a, b))(cond_np),
        [(sa, "any"), (sb, "any")],
    )

# ---- nn softmax family
for s in [(5,), (2, 3), (2, 3, 4)]:
    add(f"nn.softmax-{_shape_id(s)}", lambda x: tf.nn.softmax(x), _softmax, [(s, "any")])
    add(f"nn.log_softmax-{_shape_id(s)}", lambda x: tf.nn.log_softmax(x), _log_softmax, [(s, "any")])
add("nn.softmax-axis0-3x4", lambda x: tf.nn.softmax(x, axis=0), lambda x: _softmax(x, 0), [((3, 4), "any")])
add("nn.log_softmax-axis0-3x4", lambda x: tf.nn.log_softmax(x, axis=0), lambda x: _log_softmax(x, 0), [((3, 4), "any")])
add("nn.softmax-axis1-2x3x4", lambda x: tf.nn.softmax(x, axis=1), lambda x: _softmax(x, 1), [((2, 3, 4), "any")])

# ---- reductions
REDUCTIONS = [
    ("reduce_sum", lambda: tf.reduce_sum, np.sum, "any"),
    ("reduce_mean", lambda: tf.reduce_mean, np.mean, "any"),
    ("reduce_max", lambda: tf.reduce_max, np.max, "distinct"),
    ("reduce_min", lambda: tf.reduce_min, np.min, "distinct"),
    ("reduce_prod", lambda: tf.reduce_prod, np.prod, "any"),
]
RED_AXES = [
    ((), None),
    ((5,), None),
    ((5,), 0),
    ((5,), -1),
    ((2, 3), 1),
    ((2, 3, 4), None),
    ((2, 3, 4), 0),
    ((2, 3, 4), 1),
    ((2, 3, 4), -1),
    ((2, 3, 4), (0, 2)),
    ((2, 3, 4), (-1, -3)),
    ((2, 3, 4), [0, 1]),
    ((2, 3, 4), (0, 1, 2)),
]


def _np_axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


for name, getf, npf, dom in REDUCTIONS:
    for s, axis in RED_AXES:
        for keep in (False, True):
            add(
                f"{name}-{_shape_id(s)}-axis{axis}-keep{int(keep)}".replace(" ", ""),
                (lambda g, ax, k: lambda x: g()(x, axis=ax, keepdims=k))(getf, axis, keep),
                (lambda f, ax, k: lambda x: f(x, axis=_np_axis(ax), keepdims=k))(npf, axis, keep),
                [(s, dom)],
            )
add("math.reduce_sum-2x3-axis0", lambda x: tf.math.reduce_sum(x, 0), lambda x: x.sum(0), [((2, 3), "any")])
add("reduce_mean-positional-axis", lambda x: tf.reduce_mean(x, 1), lambda x: x.mean(1), [((2, 3), "any")])

# ---- matmul
MATMULS = [
    ("2d", (3, 4), (4, 2), False, False),
    ("2d-ta", (4, 3), (4, 2), True, False),
    ("2d-tb", (3, 4), (2, 4), False, True),
    ("2d-ta-tb", (4, 3), (2, 4), True, True),
    ("2d-vec-out", (1, 4), (4, 1), False, False),
    ("batched", (2, 3, 4), (2, 4, 5), False, False),
    ("batched-ta", (2, 4, 3), (2, 4, 5), True, False),
    ("batched-tb", (2, 3, 4), (2, 5, 4), False, True),
    ("batched-ta-tb", (2, 4, 3), (2, 5, 4), True, True),
    ("batched-4d", (2, 2, 3, 4), (2, 2, 4, 2), False, False),
    ("batched-bcast-rhs2d", (2, 3, 4), (4, 5), False, False),
    ("batched-bcast-lhs2d", (3, 4), (2, 4, 5), False, False),
    ("batched-bcast-1", (2, 1, 3, 4), (3, 4, 2), False, False),
]


def _np_matmul(ta, tb):
    def f(a, b):
        if ta:
            a = np.swapaxes(a, -1, -2)
        if tb:
            b = np.swapaxes(b, -1, -2)
        return np.matmul(a, b)

    return f


for name, sa, sb, ta, tb in MATMULS:
    add(
        f"matmul-{name}",
        (lambda ta, tb: lambda a, b: tf.matmul(a, b, transpose_a=ta, transpose_b=tb))(ta, tb),
        _np_matmul(ta, tb),
        [(sa, "any"), (sb, "any")],
    )
add("matmul-operator", lambda a, b: a @ b, np.matmul, [((3, 4), "any"), ((4, 2), "any")])
add("matmul-operator-batched", lambda a, b: a @ b, np.matmul, [((2, 3, 4), "any"), ((2, 4, 2), "any")])

# ---- shape ops
for s, perm in [((2, 3), None), ((2, 3, 4), None), ((2, 3, 4), (1, 0, 2)), ((2, 3, 4), (2, 0, 1)), ((2, 3, 4), [0, 2, 1])]:
    add(
        f"transpose-{_shape_id(s)}-perm{perm}".replace(" ", ""),
        (lambda p: lambda x: tf.transpose(x) if p is None else tf.transpose(x, perm=p))(perm),
        (lambda p: lambda x: np.transpose(x, p))(perm),
        [(s, "any")],
    )
for s, new in [((2, 3, 4), (6, 4)), ((2, 3, 4), (-1,)), ((2, 3, 4), (4, -1, 2)), ((), (1, 1)), ((6,), (2, 3)), ((2, 3), [3, 2])]:
    add(
        f"reshape-{_shape_id(s)}-to-{new}".replace(" ", ""),
        (lambda n: lambda x: tf.reshape(x, n))(new),
        (lambda n: lambda x: np.reshape(x, n))(new),
        [(s, "any")],
    )
for shapes, axis in [
    ([(2, 3), (1, 3)], 0),
    ([(2, 3), (2, 1), (2, 2)], 1),
    ([(2, 3), (2, 2)], -1),
    ([(2, 1, 2), (2, 3, 2)], 1),
    ([(3,), (2,), (1,)], 0),
]:
    n = len(shapes)
    add(
        f"concat-{'|'.join(map(_shape_id, shapes))}-axis{axis}",
        (lambda ax: lambda *xs: tf.concat(list(xs), axis=ax))(axis),
        (lambda ax: lambda *xs: np.concatenate(xs, axis=ax))(axis),
        [(s, "any") for s in shapes],
    )
for shape, n, axis in [((3,), 2, 0), ((2, 3), 3, 1), ((2, 3), 2, -1), ((), 3, 0), ((2, 3), 2, 2)]:
    add(
        f"stack-{n}x{_shape_id(shape)}-axis{axis}",
        (lambda ax: lambda *xs: tf.stack(list(xs), axis=ax))(axis),
        (lambda ax: lambda *xs: np.stack(xs, axis=ax))(axis),
        [(shape, "any")] * n,
    )
for shape, nos, axis in [((4, 6), 2, 0), ((4, 6), 3, 1), ((4, 6), [1, 3, 2], 1), ((4, 6), 2, -1), ((6,), [2, 4], 0), ((4, 6), [3, -1], 0)]:

    def _np_split(x, nos=nos, axis=axis):
        if isinstance(nos, int):
            return np.split(x, nos, axis=axis)
        sizes = list(nos)
        if -1 in sizes:
            sizes[sizes.index(-1)] = x.shape[axis] - (sum(sizes) + 1)
        return np.split(x, np.cumsum(sizes)[:-1], axis=axis)

    add(
        f"split-{_shape_id(shape)}-{nos}-axis{axis}".replace(" ", ""),
        (lambda n, ax: lambda x: tf.split(x, n, axis=ax))(nos, axis),
        _np_split,
        [(shape, "any")],
    )
for shape, axis in [((1, 3, 1), None), ((1, 3, 1), 0), ((1, 3, 1), -1), ((1, 3, 1), [0, 2]), ((1,), None)]:
    add(
        f"squeeze-{_shape_id(shape)}-axis{axis}".replace(" ", ""),
        (lambda ax: lambda x: tf.squeeze(x) if ax is None else tf.squeeze(x, axis=ax))(axis),
        (lambda ax: lambda x: np.squeeze(x, axis=None if ax is None else tuple(np.atleast_1d(ax))))(axis),
        [(shape, "any")],
    )
for shape, axis in [((3,), 0), ((3,), -1), ((2, 3), 1), ((), 0), ((2, 3), -3)]:
    add(
        f"expand_dims-{_shape_id(shape)}-axis{axis}",
        (lambda ax: lambda x: tf.expand_dims(x, ax))(axis),
        (lambda ax: lambda x: np.expand_dims(x, ax))(axis),
        [(shape, "any")],
    )
for shape, mult in [((2, 3), [2, 1]), ((3,), [3]), ((1, 2, 3), [2, 1, 2]), ((2, 3), (1, 1))]:
    add(
        f"tile-{_shape_id(shape)}-{list(mult)}".replace(" ", ""),
        (lambda m: lambda x: tf.tile(x, m))(mult),
        (lambda m: lambda x: np.tile(x, m))(mult),
        [(shape, "any")],
    )
for shape, idx, axis in [
    ((5,), [0, 2, 4, 2], 0),
    ((4, 3), [3, 0, 3], 0),
    ((4, 3), [2, 2, 0], 1),
    ((4, 3), [1], -1),
    ((4, 3), [[0, 1], [3, 0]], 0),
    ((2, 3, 4), [3, 3, 1], 2),
]:
    add(
        f"gather-{_shape_id(shape)}-{idx}-axis{axis}".replace(" ", ""),
        (lambda i, ax: lambda x: tf.gather(x, i, axis=ax))(idx, axis),
        (lambda i, ax: lambda x: np.take(x, i, axis=ax))(idx, axis),
        [(shape, "any")],
    )
add("gather-default-axis", lambda x: tf.gather(x, [2, 0]), lambda x: x[[2, 0]], [((3, 2), "any")])

# ---- indexing and slicing (differentiable)
S = slice
INDEX_KEYS = [
    ((2, 3, 4), (1,)),
    ((2, 3, 4), (-1,)),
    ((2, 3, 4), (S(1, None),)),
    ((2, 3, 4), (S(None, None, -1),)),
    ((2, 3, 4), (S(None), S(None, None, 2))),
    ((2, 3, 4), (S(None), S(None, None, -2), S(3, 0, -1))),
    ((2, 3, 4), (Ellipsis, 0)),
    ((2, 3, 4), (Ellipsis, S(1, 3))),
    ((2, 3, 4), (0, Ellipsis, -1)),
    ((2, 3, 4), (None, 1)),
    ((2, 3, 4), (S(None), None, 2)),
    ((2, 3, 4), (1, 2, 3)),
    ((2, 3, 4), (1, S(0, 2), S(None, None, 3))),
    ((5,), (S(None, None, -2),)),
    ((5,), (S(-3, None),)),
]


def _key_id(key):
    def one(k):
        if k is None:
            return "newaxis"
        if k is Ellipsis:
            return "..."
        if isinstance(k, slice):
            return ":".join("" if v is None else str(v) for v in (k.start, k.stop, k.step))
        return str(k)

    return ",".join(one(k) for k in key)


for shape, key in INDEX_KEYS:
    k = key if len(key) > 1 else key[0]
    add(f"getitem-{_shape_id(shape)}[{_key_id(key)}]", (lambda k: lambda x: x[k])(k), (lambda k: lambda x: x[k])(k), [(shape, "any")])
add("getitem-list-index-is-tuple", lambda x: x[[1, 0]], lambda x: x[1, 0], [((2, 3), "any")])
add("getitem-numpy-int-array", lambda x: x[np.array([2, 0, 2])], lambda x: x[[2, 0, 2]], [((3, 2), "any")], fastgrad_only=True)
add("getitem-int-tensor", lambda x: x[tf.constant([1, 1, 0])], lambda x: x[[1, 1, 0]], [((2, 3), "any")], fastgrad_only=True)

# ---- composites (several ops in one function)
add(
    "composite-mlp",
    lambda x, w, b: tf.reduce_mean(tf.nn.softplus(tf.matmul(x, w) + b) ** 2, axis=0),
    lambda x, w, b: np.mean(np.logaddexp(0.0, x @ w + b) ** 2, axis=0),
    [((3, 4), "any"), ((4, 2), "any"), ((2,), "any")],
)
add(
    "composite-logsumexp-like",
    lambda x: tf.math.log(tf.reduce_sum(tf.exp(x - tf.reduce_max(x, axis=1, keepdims=True)), axis=1)),
    lambda x: np.log(np.exp(x - x.max(1, keepdims=True)).sum(1)),
    [((3, 4), "distinct")],
)
add(
    "composite-shapes",
    lambda x: tf.transpose(tf.concat([tf.tile(x[:, :1], [1, 2]), tf.expand_dims(tf.reduce_prod(x, 1), 1)], 1)) * 2.0,
    lambda x: np.concatenate([np.tile(x[:, :1], (1, 2)), x.prod(1)[:, None]], 1).T * 2.0,
    [((3, 2), "any")],
)


def _params(cases):
    out = []
    for c in cases:
        marks = [pytest.mark.skipif(IS_TF, reason="fastgrad-only")] if c.fastgrad_only else []
        out.append(pytest.param(c, id=c.id, marks=marks))
    return out


# ------------------------------------------------------------------ machinery


def _as_list(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


def _consts(xs, dtype):
    return [tf.constant(np.asarray(x, dtype=dtype)) for x in xs]


def _weights(case, outs):
    rng = np.random.default_rng(zlib.crc32(("w" + case.id).encode()))
    return [rng.normal(size=np.shape(o)) for o in outs]


def _loss(case, ts, ws):
    outs = _as_list(case.fn(*ts))
    total = None
    for o, w in zip(outs, ws):
        term = tf.reduce_sum(o * tf.constant(w))
        total = term if total is None else total + term
    return total


def _first_grads(case, ts, ws):
    with tf.GradientTape() as t:
        t.watch(ts)
        y = _loss(case, ts, ws)
    return t.gradient(y, ts, unconnected_gradients=ZERO)


# ------------------------------------------------------------------ tests


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("case", _params(CASES))
def test_forward(case, dtype):
    xs = [np.asarray(x, dtype=dtype) for x in case.inputs()]
    outs = _as_list(case.fn(*_consts(xs, dtype)))
    refs = _as_list(case.ref(*[x.astype(np.float64) for x in xs]))
    assert len(outs) == len(refs)
    if dtype == np.float32:
        rtol, atol = 2e-6, 4e-6
    else:
        rtol, atol = 1e-12, 1e-12
    for o, r in zip(outs, refs):
        assert isinstance(o, tf.Tensor)
        assert o.dtype == dtype
        assert tuple(o.shape) == np.shape(r)
        np.testing.assert_allclose(np.asarray(o, dtype=np.float64), r, rtol=rtol, atol=atol)


@pytest.mark.parametrize("case", _params(CASES))
def test_grad_first_order(case):
    xs = case.inputs()
    ts = _consts(xs, np.float64)
    ws = _weights(case, [np.asarray(o) for o in _as_list(case.fn(*ts))])
    grads = _first_grads(case, ts, ws)
    num = numeric_grad(lambda arrs: float(_loss(case, _consts(arrs, np.float64), ws)), xs)
    for i, (g, n) in enumerate(zip(grads, num)):
        assert g is not None, f"input {i}: gradient is None"
        g = dense(g)
        assert g.dtype == np.float64
        assert g.shape == n.shape, f"input {i}: shape {g.shape} != {n.shape}"
        np.testing.assert_allclose(g, n, rtol=1e-6, atol=1e-7, err_msg=f"input {i}")


@pytest.mark.parametrize("case", _params(CASES))
def test_grad_second_order(case):
    xs = case.inputs()
    ts0 = _consts(xs, np.float64)
    ws = _weights(case, [np.asarray(o) for o in _as_list(case.fn(*ts0))])
    rng = np.random.default_rng(zlib.crc32(("v" + case.id).encode()))
    vs = [rng.normal(size=np.shape(x)) for x in xs]

    def inner_product(ts):
        gs = _first_grads(case, ts, ws)
        total = None
        for g, v in zip(gs, vs):
            term = tf.reduce_sum(tf.convert_to_tensor(g) * tf.constant(v))
            total = term if total is None else total + term
        return total

    ts = _consts(xs, np.float64)
    with tf.GradientTape() as outer:
        outer.watch(ts)
        s = inner_product(ts)
    hv = outer.gradient(s, ts, unconnected_gradients=ZERO)
    num = numeric_grad(lambda arrs: float(inner_product(_consts(arrs, np.float64))), xs, eps=1e-5)
    for i, (h, n) in enumerate(zip(hv, num)):
        h = dense(h)
        assert h.shape == n.shape, f"input {i}: shape {h.shape} != {n.shape}"
        np.testing.assert_allclose(h, n, rtol=1e-5, atol=1e-6, err_msg=f"input {i}")


# ------------------------------------------------------------------ namespace coverage

API_ELEMENTWISE = [
    "add", "subtract", "multiply", "divide", "pow", "negative", "square", "sqrt", "exp", "log",
    "log1p", "sin", "cos", "tan", "tanh", "sigmoid", "abs", "sign", "maximum", "minimum",
    "equal", "less", "greater",
]  # fmt: skip
API_REDUCTIONS = ["reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod"]
API_TOP_LEVEL = [
    "add", "subtract", "multiply", "divide", "pow", "negative", "square", "sqrt", "exp",
    "sin", "cos", "tan", "tanh", "sigmoid", "abs", "sign", "maximum", "minimum", "where",
    "clip_by_value", "equal", "less", "greater", "matmul", "transpose", "reshape", "concat",
    "stack", "split", "squeeze", "expand_dims", "tile", "gather", "stop_gradient",
] + API_REDUCTIONS  # fmt: skip


@pytest.mark.parametrize("name", API_ELEMENTWISE + API_REDUCTIONS)
def test_math_namespace(name):
    assert callable(getattr(tf.math, name))


@pytest.mark.parametrize("name", API_TOP_LEVEL)
def test_top_level_names(name):
    assert callable(getattr(tf, name))


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "softmax", "log_softmax", "softplus"])
def test_nn_namespace(name):
    assert callable(getattr(tf.nn, name))


def test_math_namespace_same_results():
    x = tf.constant([0.5, 1.5, 2.5])
    y = tf.constant([1.0, 1.0, 3.0])
    xn = x.numpy().astype(np.float64)
    refs = {
        "sqrt": np.sqrt, "exp": np.exp, "log": np.log, "log1p": np.log1p, "sin": np.sin,
        "cos": np.cos, "tan": np.tan, "tanh": np.tanh, "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
        "abs": np.abs, "sign": np.sign, "square": np.square, "negative": np.negative,
    }  # fmt: skip
    for name, ref in refs.items():
        np.testing.assert_allclose(getattr(tf.math, name)(x).numpy(), ref(xn), rtol=1e-6, err_msg=name)
    for name in ["add", "subtract", "multiply", "divide", "pow", "maximum", "minimum"]:
        np.testing.assert_array_equal(getattr(tf.math, name)(x, y).numpy(), getattr(tf, name)(x, y).numpy())
    np.testing.assert_array_equal(tf.math.equal(x, y).numpy(), [False, False, False])
    np.testing.assert_array_equal(tf.math.less(x, y).numpy(), [True, False, True])
    np.testing.assert_array_equal(tf.math.greater(x, y).numpy(), [False, True, False])


# ------------------------------------------------------------------ comparisons (no gradient)


@pytest.mark.parametrize("name, npf", [("equal", np.equal), ("less", np.less), ("greater", np.greater)])
@pytest.mark.parametrize("sa, sb", [((4,), (4,)), ((3, 1), (1, 4)), ((), (2, 3))])
def test_comparison_forward_and_no_grad(name, npf, sa, sb):
    rng = np.random.default_rng(3)
    a = rng.integers(0, 3, size=sa).astype(np.float32)
    b = rng.integers(0, 3, size=sb).astype(np.float32)
    ta, tb = tf.constant(a), tf.constant(b)
    with tf.GradientTape() as t:
        t.watch([ta, tb])
        r = getattr(tf, name)(ta, tb)
    assert r.dtype == tf.bool
    np.testing.assert_array_equal(r.numpy(), npf(a, b))
    assert t.gradient(tf.cast(r, tf.float32), [ta, tb]) == [None, None]


# ------------------------------------------------------------------ TF's values at the kinks
# (TF 2.21.0; these pin the subgradient conventions that users' code sees)


def _grads_at(f, *xs, dtype=np.float32):
    ts = [tf.constant(np.asarray(x, dtype=dtype)) for x in xs]
    with tf.GradientTape() as t:
        t.watch(ts)
        y = f(*ts)
    return y, [dense(g) for g in t.gradient(y, ts)]


def test_reduce_max_ties_split_gradient():
    _, (g,) = _grads_at(lambda x: tf.reduce_max(x), [1.0, 3.0, 3.0, 2.0])
    np.testing.assert_array_equal(g, [0.0, 0.5, 0.5, 0.0])
    _, (g,) = _grads_at(lambda x: tf.reduce_max(x, axis=1), [[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    np.testing.assert_array_equal(g, [[0.0, 0.5, 0.5], [0.5, 0.5, 0.0]])
    _, (g,) = _grads_at(lambda x: tf.reduce_min(x), [1.0, 1.0, 3.0], dtype=np.float64)
    np.testing.assert_array_equal(g, [0.5, 0.5, 0.0])


def test_maximum_minimum_ties_go_to_first_argument():
    y, (ga, gb) = _grads_at(lambda a, b: tf.maximum(a, b), [1.0, 2.0], [1.0, 3.0])
    np.testing.assert_array_equal(y.numpy(), [1.0, 3.0])
    np.testing.assert_array_equal(ga, [1.0, 0.0])
    np.testing.assert_array_equal(gb, [0.0, 1.0])
    y, (ga, gb) = _grads_at(lambda a, b: tf.minimum(a, b), [1.0, 2.0], [1.0, 3.0])
    np.testing.assert_array_equal(y.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(ga, [1.0, 1.0])
    np.testing.assert_array_equal(gb, [0.0, 0.0])


def test_abs_sign_relu_at_zero():
    _, (g,) = _grads_at(lambda x: tf.abs(x), [0.0, -1.0, 2.0])
    np.testing.assert_array_equal(g, [0.0, -1.0, 1.0])
    y, (g,) = _grads_at(lambda x: tf.sign(x), [0.0, -1.0, 2.0])
    np.testing.assert_array_equal(y.numpy(), [0.0, -1.0, 1.0])
    np.testing.assert_array_equal(g, [0.0, 0.0, 0.0])
    _, (g,) = _grads_at(lambda x: tf.nn.relu(x), [-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(g, [0.0, 0.0, 1.0])


def test_sign_of_nan():
    r = tf.sign(tf.constant([-2.0, 0.0, 3.0, np.nan])).numpy()
    np.testing.assert_array_equal(r[:3], [-1.0, 0.0, 1.0])
    assert np.isnan(r[3])


def test_sqrt_gradient_at_zero_is_inf():
    _, (g,) = _grads_at(lambda x: tf.sqrt(x), [0.0, 4.0])
    np.testing.assert_array_equal(g, [np.inf, 0.25])


def test_pow_gradient_at_zero_base():
    _, (g,) = _grads_at(lambda x: tf.pow(x, 2.0), [0.0])
    np.testing.assert_array_equal(g, [0.0])
    _, (g,) = _grads_at(lambda x: tf.pow(x, 0.5), [0.0])
    np.testing.assert_array_equal(g, [np.inf])
    # TF: d/dx x**p at x=0: p=2 -> 0, p=0 -> nan (0 * 0**-1); d/dp at x=0 -> 0
    y, (gx, gp) = _grads_at(lambda x, p: tf.pow(x, p), [0.0, 0.0, 2.0], [2.0, 0.0, 3.0])
    np.testing.assert_array_equal(y.numpy(), [0.0, 1.0, 8.0])
    assert gx[0] == 0.0 and np.isnan(gx[1]) and gx[2] == 12.0
    np.testing.assert_allclose(gp, [0.0, 0.0, 8.0 * np.log(2.0)], rtol=1e-6)
    # negative base: d/dp is 0 (TF masks log(x) for x <= 0)
    _, (gx, gp) = _grads_at(lambda x, p: tf.pow(x, p), [-2.0], [2.0])
    np.testing.assert_array_equal(gx, [-4.0])
    np.testing.assert_array_equal(gp, [0.0])


def test_where_gradient_masks():
    y, (ga, gb) = _grads_at(lambda a, b: tf.where(tf.constant([True, False, True]), a, b), [1.0, 2.0, 3.0], [4.0, 5.0, 6.0])
    np.testing.assert_array_equal(y.numpy(), [1.0, 5.0, 3.0])
    np.testing.assert_array_equal(ga, [1.0, 0.0, 1.0])
    np.testing.assert_array_equal(gb, [0.0, 1.0, 0.0])
    y, (ga, gb) = _grads_at(lambda a, b: tf.where(tf.constant([True, False, True]), a, b), 7.0, [4.0, 5.0, 6.0])
    assert float(ga) == 2.0
    np.testing.assert_array_equal(gb, [0.0, 1.0, 0.0])


def test_clip_by_value_gradient_at_bounds_is_one():
    y, (g,) = _grads_at(lambda x: tf.clip_by_value(x, 0.0, 1.0), [-1.0, 0.0, 0.5, 1.0, 2.0])
    np.testing.assert_array_equal(y.numpy(), [0.0, 0.0, 0.5, 1.0, 1.0])
    np.testing.assert_array_equal(g, [0.0, 1.0, 1.0, 1.0, 0.0])


def test_reduce_prod_with_zeros():
    y, (g,) = _grads_at(lambda x: tf.reduce_prod(x), [0.0, 2.0, 3.0])
    assert float(y) == 0.0
    np.testing.assert_array_equal(g, [6.0, 0.0, 0.0])
    _, (g,) = _grads_at(lambda x: tf.reduce_prod(x), [0.0, 0.0, 3.0])
    np.testing.assert_array_equal(g, [0.0, 0.0, 0.0])


def test_log_at_zero():
    y, (g,) = _grads_at(lambda x: tf.math.log(x), [0.0, 1.0])
    np.testing.assert_array_equal(y.numpy(), [-np.inf, 0.0])
    np.testing.assert_array_equal(g, [np.inf, 1.0])


def test_softmax_values_tf():
    # TF 2.21.0 float32 outputs
    np.testing.assert_allclose(
        tf.nn.softmax(tf.constant([1.0, 2.0, 3.0])).numpy(),
        [0.09003056585788727, 0.2447284758090973, 0.6652408838272095],
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        tf.nn.log_softmax(tf.constant([1.0, 2.0, 3.0])).numpy(),
        [-2.4076058864593506, -1.4076058864593506, -0.40760594606399536],
        rtol=1e-6,
    )
    # large logits do not overflow
    np.testing.assert_array_equal(tf.nn.softmax(tf.constant([0.0, 0.0, 1000.0])).numpy(), [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(tf.nn.log_softmax(tf.constant([0.0, 0.0, 1000.0])).numpy(), [-1000.0, -1000.0, 0.0])


def test_softplus_values_tf():
    x = [-20.0, -1.0, 0.0, 1.0, 20.0, 100.0]
    np.testing.assert_allclose(
        tf.nn.softplus(tf.constant(x)).numpy(),
        [2.06115369216775e-09, 0.3132616877555847, 0.6931471824645996, 1.31326162815094, 20.0, 100.0],
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        tf.nn.softplus(tf.constant(x, tf.float64)).numpy(),
        [2.061153620314381e-09, 0.3132616875182228, 0.6931471805599453, 1.3132616875182228, 20.000000002061153, 100.0],
        rtol=1e-13,
    )
    _, (g,) = _grads_at(lambda x: tf.nn.softplus(x), [-100.0, -1.0, 0.0, 1.0, 100.0])
    np.testing.assert_allclose(g, [0.0, 0.2689414322376251, 0.5, 0.7310585975646973, 1.0], rtol=1e-6, atol=1e-30)


def test_sigmoid_tanh_saturate():
    y, (g,) = _grads_at(lambda x: tf.sigmoid(x), [-100.0, 0.0, 100.0])
    np.testing.assert_allclose(y.numpy(), [0.0, 0.5, 1.0], atol=1e-30)
    np.testing.assert_allclose(g, [0.0, 0.25, 0.0], atol=1e-30)
    y, (g,) = _grads_at(lambda x: tf.tanh(x), [-100.0, 0.0])
    np.testing.assert_array_equal(y.numpy(), [-1.0, 0.0])
    np.testing.assert_array_equal(g, [0.0, 1.0])


def test_integer_reductions():
    r = tf.reduce_mean(tf.constant([1, 2]))
    assert r.dtype == tf.int32 and int(r) == 1  # TF: integer mean truncates
    r = tf.reduce_sum(tf.constant([1, 2, 3]))
    assert r.dtype == tf.int32 and int(r) == 6


def test_reduction_table_tf():
    x = tf.constant([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    expect = {
        "reduce_sum": (21.0, [5.0, 7.0, 9.0], [6.0, 15.0], [[6.0], [15.0]]),
        "reduce_mean": (3.5, [2.5, 3.5, 4.5], [2.0, 5.0], [[2.0], [5.0]]),
        "reduce_max": (6.0, [4.0, 5.0, 6.0], [3.0, 6.0], [[3.0], [6.0]]),
        "reduce_min": (1.0, [1.0, 2.0, 3.0], [1.0, 4.0], [[1.0], [4.0]]),
        "reduce_prod": (720.0, [4.0, 10.0, 18.0], [6.0, 120.0], [[6.0], [120.0]]),
    }
    for name, (all_, ax0, axm1, keep) in expect.items():
        f = getattr(tf, name)
        assert float(f(x)) == all_
        np.testing.assert_array_equal(f(x, 0).numpy(), ax0)
        np.testing.assert_array_equal(f(x, -1).numpy(), axm1)
        assert float(f(x, (0, 1))) == all_
        r = f(x, 1, keepdims=True)
        assert r.shape == (2, 1)
        np.testing.assert_array_equal(r.numpy(), keep)
        r = f(x, [0, 1], keepdims=True)
        assert r.shape == (1, 1)
        assert float(r[0, 0]) == all_


def test_split_returns_list_of_tensors():
    parts = tf.split(tf.constant([1.0, 2.0, 3.0, 4.0]), 2)
    assert isinstance(parts, list) and len(parts) == 2
    np.testing.assert_array_equal(parts[1].numpy(), [3.0, 4.0])
    parts = tf.split(tf.constant([1.0, 2.0, 3.0, 4.0]), [1, 3])
    assert [p.shape for p in parts] == [(1,), (3,)]


@fastgrad_only
def test_gather_and_index_gradients_are_dense_tensors():
    x = tf.constant([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    with tf.GradientTape(persistent=True) as t:
        t.watch(x)
        a = tf.gather(x, [2, 2, 0])
        b = x[np.array([1, 1])]
        c = x[1:, 0]
    for y, expected in [
        (a, [[1.0, 1.0], [0.0, 0.0], [2.0, 2.0]]),
        (b, [[0.0, 0.0], [2.0, 2.0], [0.0, 0.0]]),
        (c, [[0.0, 0.0], [1.0, 0.0], [1.0, 0.0]]),
    ]:
        g = t.gradient(y, x)
        assert isinstance(g, tf.Tensor)
        assert not hasattr(g, "indices")
        np.testing.assert_array_equal(g.numpy(), expected)
