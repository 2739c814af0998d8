"""Elementwise math and reductions (TensorFlow names).

Each function is one call into C; NumPy broadcasting applies.

>>> import fastgrad as tf
>>> tf.reduce_sum(tf.square(tf.constant([[1.0, 2.0], [3.0, 4.0]])), axis=1)
<fastgrad.Tensor: shape=(2,), dtype=float32, numpy=array([ 5., 25.], dtype=float32)>
"""
import numpy as np

from fastgrad import _core
from fastgrad.dtypes import as_dtype
from fastgrad.errors import InvalidArgumentError

__all__ = [
    "add", "subtract", "multiply", "divide", "truediv", "floordiv", "floormod", "mod", "pow", "negative",
    "square", "sqrt", "rsqrt", "exp", "log", "log1p", "sin", "cos", "tan", "tanh",
    "sigmoid", "abs", "sign", "maximum", "minimum", "where", "clip_by_value", "equal",
    "not_equal", "less", "less_equal", "greater", "greater_equal", "logical_and",
    "logical_or", "logical_not", "reciprocal", "reduce_sum", "reduce_mean", "reduce_max",
    "reduce_min", "reduce_prod", "reduce_any", "reduce_all", "cast", "squared_difference",
    "add_n", "argmax", "argmin", "softplus", "xlogy", "divide_no_nan", "reduce_logsumexp",
    "reduce_variance", "reduce_std", "floor", "ceil", "round", "is_nan", "is_inf", "is_finite",
    "log_sigmoid", "logical_xor", "l2_normalize", "norm", "clip_by_norm", "clip_by_global_norm",
    "cumsum", "truncatediv", "asin", "acos", "atan", "atan2", "sinh", "cosh", "asinh", "acosh",
    "atanh", "truncatemod", "matmul",
]
# tf.math only (TF has no top-level alias): defined here, not exported by __all__
_MATH_ONLY = [
    "expm1", "erf", "erfc", "erfinv", "ndtri", "lgamma", "digamma", "polygamma", "igamma", "igammac",
    "lbeta", "betainc", "bessel_i0e", "bessel_i1e", "xlog1py", "xdivy", "multiply_no_nan",
    "reciprocal_no_nan", "softsign", "rint", "nextafter", "is_non_decreasing",
    "is_strictly_increasing", "polyval", "zeta",
]

_OPS = _core.OPS
_binary = _core.binary
_unary = _core.unary


def _example(name, args, result):
    return ("\n\n    >>> import fastgrad as tf\n    >>> tf.math.%s(%s).numpy().tolist()\n    %s\n"
            % (name, args, result))


def _binop(name, example=None):
    op = _OPS[name]

    def f(x, y, name=None):
        return _binary(op, x, y)

    f.__name__ = name
    f.__doc__ = "Elementwise ``%s`` with NumPy broadcasting (``tf.math.%s``)." % (name, name)
    if example:
        f.__doc__ += _example(name, *example)
    return f


def _unop(name, tf_name=None, example=None):
    op = _OPS[name]

    def f(x, name=None):
        return _unary(op, x)

    f.__name__ = tf_name or name
    f.__doc__ = "Elementwise ``%s`` (``tf.math.%s``)." % (tf_name or name, tf_name or name)
    if example:
        f.__doc__ += _example(tf_name or name, *example)
    return f


add = _binop("add", example=('[1.0, 2.0], 3.0', '[4.0, 5.0]'))
subtract = _binop("subtract", example=('[1.0, 2.0], [0.5, 4.0]', '[0.5, -2.0]'))
multiply = _binop("multiply", example=('[1.0, 2.0], [[1.0], [3.0]]', '[[1.0, 2.0], [3.0, 6.0]]'))
pow = _binop("pow", example=('[2.0, 3.0], [3.0, 2.0]', '[8.0, 9.0]'))  # noqa: A001 - TF's name
maximum = _binop("maximum", example=('[1.0, 5.0], 2.0', '[2.0, 5.0]'))
minimum = _binop("minimum", example=('[1.0, 5.0], 2.0', '[1.0, 2.0]'))
equal = _binop("equal", example=('[1, 2], 2', '[False, True]'))
not_equal = _binop("not_equal", example=('[1, 2], 2', '[True, False]'))
less = _binop("less", example=('[1, 2], 2', '[True, False]'))
less_equal = _binop("less_equal", example=('[1, 2], 2', '[True, True]'))
greater = _binop("greater", example=('[1, 2], 1', '[False, True]'))
greater_equal = _binop("greater_equal", example=('[1, 2], 2', '[False, True]'))
logical_and = _binop("logical_and", example=('[True, True], [True, False]', '[True, False]'))
logical_or = _binop("logical_or", example=('[True, False], [False, False]', '[True, False]'))

negative = _unop("negative", example=('[1.0, -2.0]', '[-1.0, 2.0]'))
square = _unop("square", example=('[2.0, -3.0]', '[4.0, 9.0]'))
sqrt = _unop("sqrt", example=('[4.0, 9.0]', '[2.0, 3.0]'))
exp = _unop("exp", example=('[0.0]', '[1.0]'))
log = _unop("log", example=('[1.0]', '[0.0]'))
log1p = _unop("log1p", example=("[0.0]", "[0.0]"))
sin = _unop("sin", example=('[0.0]', '[0.0]'))
cos = _unop("cos", example=('[0.0]', '[1.0]'))
tan = _unop("tan", example=('[0.0]', '[0.0]'))
tanh = _unop("tanh", example=('[0.0]', '[0.0]'))
sigmoid = _unop("sigmoid", example=('[0.0]', '[0.5]'))
abs = _unop("abs", example=('[-1.5, 2.0]', '[1.5, 2.0]'))  # noqa: A001 - TF's name
sign = _unop("sign", example=('[-2.0, 0.0, 3.0]', '[-1.0, 0.0, 1.0]'))
reciprocal = _unop("reciprocal", example=('[2.0, 4.0]', '[0.5, 0.25]'))
logical_not = _unop("logical_not", example=('[True, False]', '[False, True]'))
softplus = _unop("softplus", example=('[0.0]', '[0.6931471824645996]'))
floor = _unop("floor")
floor.__doc__ = """Largest integer not above x (float input; no gradient, as TF's Floor).

    >>> import fastgrad as tf
    >>> tf.floor(tf.constant([1.5, -1.5])).numpy().tolist()
    [1.0, -2.0]
    """
ceil = _unop("ceil")
ceil.__doc__ = """Smallest integer not below x (float input; no gradient, as TF's Ceil).

    >>> import fastgrad as tf
    >>> tf.math.ceil(tf.constant([1.5, -1.5])).numpy().tolist()
    [2.0, -1.0]
    """
round = _unop("round")  # noqa: A001 - TF's name
round.__doc__ = """Round half to even, as TF's Round (integers unchanged; no gradient).

    >>> import fastgrad as tf
    >>> tf.round(tf.constant([0.5, 1.5, -2.5])).numpy().tolist()
    [0.0, 2.0, -2.0]
    """
truncatediv = _binop("truncatediv")
truncatediv.__doc__ = """x / y rounded toward zero (``tf.math.truncatediv``).

    >>> import fastgrad as tf
    >>> tf.math.truncatediv(tf.constant([7, -7]), 2).numpy().tolist()
    [3, -3]
    """
_divide_no_nan = _binop("divide_no_nan")


def divide(x, y, name=None):
    """x / y; integer inputs divide as float64 (TF's truediv).

    >>> import fastgrad as tf
    >>> tf.divide(tf.constant(1), tf.constant(2)).dtype.name
    'float64'
    """
    return _core.truediv(x, y)


truediv = divide


def floordiv(x, y, name=None):
    """floor(x / y) elementwise, as TF's FloorDiv (not differentiable).

    >>> import fastgrad as tf
    >>> tf.math.floordiv(tf.constant([7.0, -7.0]), 2.0).numpy().tolist()
    [3.0, -4.0]
    """
    return _core.floordiv(x, y)


def floormod(x, y, name=None):
    """x - floordiv(x, y) * y: the remainder with y's sign, as TF's FloorMod (``%``).

    >>> import fastgrad as tf
    >>> tf.math.floormod(tf.constant([7, -7]), 3).numpy().tolist()
    [1, 2]
    """
    return _core.floormod(x, y)


mod = floormod


def _doc(f, text):
    f.__doc__ = text
    return f


rsqrt = _doc(_unop("rsqrt"), """1 / sqrt(x); its gradient is TF's RsqrtGrad (0 where the incoming gradient is 0).

    >>> import fastgrad as tf
    >>> tf.math.rsqrt(tf.constant([4.0, 0.25])).numpy().tolist()
    [0.5, 2.0]
    """)
squared_difference = _doc(_binop("squared_difference"), """(x - y) ** 2 in one pass (integers too).

    >>> import fastgrad as tf
    >>> tf.math.squared_difference(tf.constant([1, 5]), 3).numpy().tolist()
    [4, 4]
    """)
xlogy = _doc(_binop("xlogy"), """x * log(y), 0 where x == 0 (even where log(y) is not finite).

    >>> import fastgrad as tf
    >>> tf.math.xlogy(tf.constant([0.0, 2.0]), tf.constant([0.0, 1.0])).numpy().tolist()
    [0.0, 0.0]
    """)
xlog1py = _doc(_binop("xlog1py"), """x * log1p(y), 0 where x == 0 (``tf.math.xlog1py``).

    >>> import fastgrad as tf
    >>> tf.math.xlog1py(tf.constant([0.0, 2.0]), tf.constant([-1.0, 0.0])).numpy().tolist()
    [0.0, 0.0]
    """)
xdivy = _doc(_binop("xdivy"), """x / y, 0 where x == 0 (``tf.math.xdivy``).

    >>> import fastgrad as tf
    >>> tf.math.xdivy(tf.constant([0.0, 3.0]), tf.constant([0.0, 2.0])).numpy().tolist()
    [0.0, 1.5]
    """)
multiply_no_nan = _doc(_binop("multiply_no_nan"), """x * y, 0 where y == 0 even if x is inf or NaN.

    >>> import fastgrad as tf
    >>> tf.math.multiply_no_nan(tf.constant([float("inf"), 2.0]), tf.constant([0.0, 3.0])).numpy().tolist()
    [0.0, 6.0]
    """)
asin = _doc(_unop("asin"), """Inverse sine (``tf.math.asin``).

    >>> import fastgrad as tf
    >>> "%.4f" % float(tf.asin(tf.constant(1.0)))
    '1.5708'
    """)
acos = _doc(_unop("acos"), """Inverse cosine (``tf.math.acos``).

    >>> import fastgrad as tf
    >>> float(tf.acos(tf.constant(1.0)))
    0.0
    """)
atan = _doc(_unop("atan"), """Inverse tangent (``tf.math.atan``).

    >>> import fastgrad as tf
    >>> "%.4f" % float(tf.atan(tf.constant(1.0)))
    '0.7854'
    """)
atan2 = _doc(_binop("atan2"), """The angle of the point (x, y): atan2(y, x), y first as TF's Atan2.

    >>> import fastgrad as tf
    >>> "%.4f" % float(tf.atan2(tf.constant(1.0), tf.constant(-1.0)))
    '2.3562'
    """)
sinh = _doc(_unop("sinh"), """Hyperbolic sine.

    >>> import fastgrad as tf
    >>> float(tf.sinh(tf.constant(0.0)))
    0.0
    """)
cosh = _doc(_unop("cosh"), """Hyperbolic cosine.

    >>> import fastgrad as tf
    >>> float(tf.cosh(tf.constant(0.0)))
    1.0
    """)
asinh = _doc(_unop("asinh"), """Inverse hyperbolic sine.

    >>> import fastgrad as tf
    >>> float(tf.asinh(tf.constant(0.0)))
    0.0
    """)
acosh = _doc(_unop("acosh"), """Inverse hyperbolic cosine (NaN below 1).

    >>> import fastgrad as tf
    >>> float(tf.acosh(tf.constant(1.0)))
    0.0
    """)
atanh = _doc(_unop("atanh"), """Inverse hyperbolic tangent (+-inf at +-1).

    >>> import fastgrad as tf
    >>> float(tf.atanh(tf.constant(0.0)))
    0.0
    """)
expm1 = _doc(_unop("expm1"), """exp(x) - 1, accurate near 0.

    >>> import fastgrad as tf
    >>> float(tf.math.expm1(tf.constant(1e-10, tf.float64)))
    1.00000000005e-10
    """)
erf = _doc(_unop("erf"), """The error function.

    >>> import fastgrad as tf
    >>> float(tf.math.erf(tf.constant(0.0)))
    0.0
    """)
erfc = _doc(_unop("erfc"), """1 - erf(x), accurate in the upper tail.

    >>> import fastgrad as tf
    >>> float(tf.math.erfc(tf.constant(0.0)))
    1.0
    """)
erfinv = _doc(_unop("erfinv"), """The inverse error function (+-inf at +-1, NaN outside [-1, 1]).

    >>> import fastgrad as tf
    >>> float(tf.math.erfinv(tf.constant(0.0)))
    0.0
    """)
ndtri = _doc(_unop("ndtri"), """The standard normal quantile (inverse CDF) of p in [0, 1].

    >>> import fastgrad as tf
    >>> "%.6f" % float(tf.math.ndtri(tf.constant(0.975, tf.float64)))
    '1.959964'
    """)
lgamma = _doc(_unop("lgamma"), """log |Gamma(x)| (inf at the poles 0, -1, ...).

    >>> import fastgrad as tf
    >>> float(tf.math.lgamma(tf.constant(1.0)))
    0.0
    """)
digamma = _doc(_unop("digamma"), """The derivative of lgamma; NaN at the poles 0, -1, ... (as TF).

    >>> import fastgrad as tf
    >>> "%.6f" % float(tf.math.digamma(tf.constant(1.0, tf.float64)))
    '-0.577216'
    """)
polygamma = _doc(_binop("polygamma"), """The a-th derivative of digamma at x (a a non-negative integer
    value in x's float dtype; NaN otherwise). Differentiable in x only, as TF.

    >>> import fastgrad as tf
    >>> "%.5f" % float(tf.math.polygamma(tf.constant(1.0), tf.constant(1.0)))
    '1.64493'
    """)
zeta = _doc(_binop("zeta"), """The Hurwitz zeta function sum_k (q + k) ** -x (differentiable in q, as TF).

    >>> import fastgrad as tf
    >>> "%.5f" % float(tf.math.zeta(tf.constant(2.0), tf.constant(1.0)))
    '1.64493'
    """)
igamma = _doc(_binop("igamma"), """The regularized lower incomplete gamma function P(a, x).

    >>> import fastgrad as tf
    >>> "%.6f" % float(tf.math.igamma(tf.constant(1.0), tf.constant(1.0)))
    '0.632121'
    """)
igammac = _doc(_binop("igammac"), """The regularized upper incomplete gamma function Q(a, x) = 1 - P(a, x).

    >>> import fastgrad as tf
    >>> "%.6f" % float(tf.math.igammac(tf.constant(1.0), tf.constant(1.0)))
    '0.367879'
    """)
bessel_i0e = _doc(_unop("bessel_i0e"), """``exp(-abs(x)) * I0(x)``, the scaled modified Bessel function of order 0.

    >>> import fastgrad as tf
    >>> float(tf.math.bessel_i0e(tf.constant(0.0)))
    1.0
    """)
bessel_i1e = _doc(_unop("bessel_i1e"), """``exp(-abs(x)) * I1(x)``, the scaled modified Bessel function of order 1.

    >>> import fastgrad as tf
    >>> float(tf.math.bessel_i1e(tf.constant(0.0)))
    0.0
    """)
softsign = _doc(_unop("softsign"), """``x / (1 + abs(x))``.

    >>> import fastgrad as tf
    >>> tf.math.softsign(tf.constant([-3.0, 1.0])).numpy().tolist()
    [-0.75, 0.5]
    """)
rint = _doc(_unop("rint"), """The nearest integer, half to even (floats; no gradient, as TF's Rint).

    >>> import fastgrad as tf
    >>> tf.math.rint(tf.constant([0.5, 1.5, -2.5])).numpy().tolist()
    [0.0, 2.0, -2.0]
    """)
truncatemod = _doc(_binop("truncatemod"), """The remainder of truncatediv: the sign of x (C's fmod, %).

    >>> import fastgrad as tf
    >>> tf.truncatemod(tf.constant([7, -7]), 3).numpy().tolist()
    [1, -1]
    """)
nextafter = _doc(_binop("nextafter"), """The next representable value after x1 towards x2.

    >>> import fastgrad as tf
    >>> float(tf.math.nextafter(tf.constant(1.0, tf.float64), 2.0)) - 1.0
    2.220446049250313e-16
    """)
_betainc = _core.OPS["betainc"]


def betainc(a, b, x, name=None):
    """The regularized incomplete beta function I_x(a, b) (differentiable in x, as TF).

    >>> import fastgrad as tf
    >>> float(tf.math.betainc(tf.constant(1.0), tf.constant(1.0), tf.constant(0.25)))
    0.25
    """
    x = _as_tensor(x)
    a = a if isinstance(a, _core._TensorBase) else _core.constant(a, x.dtype)
    b = b if isinstance(b, _core._TensorBase) else _core.constant(b, x.dtype)
    return _core.apply(_betainc, [a, b, x])


def lbeta(x, name=None):
    """log |Beta(x)| over the last axis: sum(lgamma(x)) - lgamma(sum(x)) (-inf for an empty axis).

    >>> import fastgrad as tf
    >>> "%.6f" % float(tf.math.lbeta(tf.constant([1.0, 2.0])))
    '-0.693147'
    """
    x = _as_tensor(x)
    return subtract(reduce_sum(lgamma(x), axis=[-1]), lgamma(reduce_sum(x, axis=[-1])))


def reciprocal_no_nan(x, name=None):
    """1 / x, 0 where x == 0 (TF: div_no_nan(1, x), with its gradients).

    >>> import fastgrad as tf
    >>> tf.math.reciprocal_no_nan(tf.constant([0.0, 2.0])).numpy().tolist()
    [0.0, 0.5]
    """
    x = _as_tensor(x)
    return _divide_no_nan(_core.constant(1, x.dtype), x)


def polyval(coeffs, x, name=None):
    """coeffs[0] * x**(n-1) + ... + coeffs[n-1] by Horner's rule, as TF (coeffs a list).

    >>> import fastgrad as tf
    >>> float(tf.math.polyval([1.0, 2.0, 3.0], tf.constant(2.0)))
    11.0
    """
    if not isinstance(coeffs, list):
        raise ValueError("Argument coeffs must be list type. Received type %s." % type(coeffs))
    x = _as_tensor(x)
    if not coeffs:
        return _core.zeros(tuple(x.shape), x.dtype._enum)
    p = _as_tensor(coeffs[0])
    for c in coeffs[1:]:
        p = add(c, multiply(p, x))
    return p


def _monotonic(x, compare):
    from fastgrad import array_ops
    x = array_ops.reshape(_as_tensor(x), [-1])
    if x.dtype.is_bool:
        raise TypeError("Expected x to be numeric, instead found: %s" % (x,))
    n = int(x.shape[0])
    if n < 2:
        return _core.constant(True)
    return reduce_all(compare(x[1:], x[:-1]))


def is_non_decreasing(x, name=None):
    """True when x (flattened, row-major) has x[i] <= x[i+1] everywhere (a scalar bool).

    >>> import fastgrad as tf
    >>> bool(tf.math.is_non_decreasing([1, 1, 2]))
    True
    """
    return _monotonic(x, greater_equal)


def is_strictly_increasing(x, name=None):
    """True when x (flattened, row-major) has x[i] < x[i+1] everywhere (a scalar bool).

    >>> import fastgrad as tf
    >>> bool(tf.math.is_strictly_increasing([1, 1, 2]))
    False
    """
    return _monotonic(x, greater)


special = type(_core)("fastgrad.math.special")
special.__doc__ = "tf.math.special: the scaled Bessel functions."
# setattr: type checkers reject new attributes assigned on a module object
setattr(special, "bessel_i0e", bessel_i0e)
setattr(special, "bessel_i1e", bessel_i1e)


def divide_no_nan(x, y, name=None):
    """x / y, 0 where y == 0 (TF's DivNoNan, its gradients too).

    >>> import fastgrad as tf
    >>> tf.math.divide_no_nan(tf.constant([1.0, 2.0]), tf.constant([0.0, 4.0])).numpy().tolist()
    [0.0, 0.5]
    """
    return _divide_no_nan(x, y)


def cast(x, dtype, name=None):
    """Convert x to dtype (float to int truncates; differentiable between floats).

    >>> import fastgrad as tf
    >>> tf.cast(tf.constant([1.7, -1.7]), tf.int32).numpy().tolist()
    [1, -1]
    """
    return _core.cast(x, as_dtype(dtype)._enum)


def where(condition, x=None, y=None, name=None):
    """Elements of x where condition holds, else of y (broadcast).

    >>> import fastgrad as tf
    >>> tf.where(tf.constant([True, False]), 1.0, 2.0).numpy().tolist()
    [1.0, 2.0]
    """
    if x is None and y is None:  # the coordinates of the true elements, [n, rank] int64
        c = condition if isinstance(condition, _core._TensorBase) else _core.constant(condition, "bool")
        return _core.apply(_OPS["where_indices"], [c])
    if x is None or y is None:
        raise ValueError("x and y must both be non-None or both be None.")
    c = condition if isinstance(condition, _core._TensorBase) else _core.constant(condition, "bool")
    if not isinstance(x, _core._TensorBase) and not isinstance(y, _core._TensorBase):
        x = _core.convert_to_tensor(x)
    dtype = (x if isinstance(x, _core._TensorBase) else y).dtype
    return _core.apply(_OPS["where"], [c, x, y], dtype=dtype._enum)


def clip_by_value(t, clip_value_min, clip_value_max, name=None):
    """Clip t elementwise to [clip_value_min, clip_value_max].

    TF's order, minimum first, so min > max gives min everywhere.
    """
    return maximum(minimum(t, clip_value_max), clip_value_min)


def add_n(inputs, name=None):
    """Sum of a list of tensors of the same shape."""
    inputs = list(inputs)
    if not inputs:
        raise ValueError("Inputs must be an iterable of at least one Tensor/IndexedSlices with the "
                         "same dtype and shape.")
    shapes = [list(getattr(x, "shape", np.shape(x))) for x in inputs]
    for i, sh in enumerate(shapes[1:], 1):
        if sh != shapes[0]:
            raise InvalidArgumentError(
                "Inputs to operation AddN of type AddN must have the same size and shape.  Input 0: "
                "[%s] != input %d: [%s] [Op:AddN]" % (",".join(map(str, shapes[0])), i, ",".join(map(str, sh))))
    out = inputs[0]
    for x in inputs[1:]:
        out = add(out, x)
    return out if isinstance(out, _core._TensorBase) else _core.convert_to_tensor(out)


def _as_tensor(x):
    return x if isinstance(x, _core._TensorBase) else _core.convert_to_tensor(x)


def _axis_mask(x, axis, tf_name):
    nd = x.ndim
    if axis is None:
        return [1] * nd
    axes = [axis] if not isinstance(axis, (list, tuple)) else list(axis)
    if hasattr(axis, "numpy"):
        v = axis.numpy()
        axes = [v2 for v2 in (v.ravel() if getattr(v, "ndim", 0) else [v])]
    mask = [0] * nd
    for a in axes:
        if isinstance(a, (float, np.floating)):
            raise InvalidArgumentError(
                "Value for attr 'Tidx' of float is not in the list of allowed values: int32, int64 "
                "[Op:%s]" % tf_name)
        a = int(a)
        if not -nd <= a < nd:
            raise InvalidArgumentError(
                "Invalid reduction dimension (%d for input with %d dimension(s) [Op:%s]" % (a, nd, tf_name))
        if mask[a % nd]:
            raise InvalidArgumentError(
                "Invalid reduction arguments: Axes contains duplicate dimension: %d [Op:%s]" % (a % nd, tf_name))
        mask[a % nd] = 1
    return mask


def _reduction(name, tf_name, doc):
    op = _OPS[name]

    def f(input_tensor, axis=None, keepdims=False, name=None):
        x = _as_tensor(input_tensor)
        return _core.apply(op, [x], [1 if keepdims else 0] + _axis_mask(x, axis, tf_name))

    f.__name__ = name
    f.__doc__ = doc
    return f


reduce_sum = _reduction("reduce_sum", "Sum", """Sum over axis (None: all), pairwise in a fixed order.

    >>> import fastgrad as tf
    >>> float(tf.reduce_sum(tf.ones((2, 3))))
    6.0
    """)
reduce_max = _reduction("reduce_max", "Max", "Maximum over axis; the gradient is shared among ties.")
reduce_min = _reduction("reduce_min", "Min", "Minimum over axis; the gradient is shared among ties.")
reduce_prod = _reduction("reduce_prod", "Prod", "Product over axis.")
reduce_any = _reduction("reduce_any", "Any", "Logical or over axis (bool input).")
reduce_all = _reduction("reduce_all", "All", "Logical and over axis (bool input).")


def reduce_mean(input_tensor, axis=None, keepdims=False, name=None):
    """Mean over axis (None: all); integer inputs divide as integers, as TF.

    >>> import fastgrad as tf
    >>> float(tf.reduce_mean(tf.constant([1.0, 2.0, 4.0])))
    2.3333332538604736
    """
    x = _as_tensor(input_tensor)
    mask = _axis_mask(x, axis, "Mean")
    if x.dtype.is_integer:  # TF divides integer sums by the count truncating toward zero
        return _core.apply(_OPS["reduce_mean_int"], [x], [1 if keepdims else 0] + mask)
    return _core.reduce_mean(x, mask, bool(keepdims))


def reduce_logsumexp(input_tensor, axis=None, keepdims=False, name=None):
    """log(sum(exp(x))) over axis, computed stably.

    As TF, the shift is the max where it is finite and 0 elsewhere, so
    ``+inf`` and all ``-inf`` give ``inf`` and ``-inf`` (not ``inf - inf``).

    >>> import fastgrad as tf
    >>> float(tf.reduce_logsumexp([float("-inf"), float("-inf")]))
    -inf
    """
    x = _as_tensor(input_tensor)
    raw = reduce_max(x, axis, keepdims=True)
    m = _core.stop_gradient(where(is_finite(raw), raw, _core.zeros(tuple(raw.shape), raw.dtype._enum)))
    r = add(log(reduce_sum(exp(subtract(x, m)), axis, keepdims=True)), m)
    if not keepdims:
        from fastgrad.array_ops import squeeze
        mask = _axis_mask(x, axis, "Sum")
        r = squeeze(r, [i for i, k in enumerate(mask) if k]) if any(mask) else r
    return r


def _real_input(x):
    if not x.dtype.is_floating:
        raise TypeError("Input must be either real or complex. Received integer type %s." % x.dtype)


def reduce_variance(input_tensor, axis=None, keepdims=False, name=None):
    """Variance over axis (float input, as TF)."""
    x = _as_tensor(input_tensor)
    _real_input(x)
    m = reduce_mean(x, axis, keepdims=True)
    return reduce_mean(square(subtract(x, m)), axis, keepdims=keepdims)


def reduce_std(input_tensor, axis=None, keepdims=False, name=None):
    """Standard deviation over axis (float input, as TF)."""
    _real_input(_as_tensor(input_tensor))
    return sqrt(reduce_variance(input_tensor, axis, keepdims))


def _arg_reduce(op, input, axis, output_type):
    axis = 0 if axis is None else int(axis)
    return _core.apply(_OPS[op], [_as_tensor(input)], [axis, as_dtype(output_type)._enum])


def argmax(input, axis=None, output_type="int64", name=None):
    """Index of the largest value along axis (default 0), the first of ties; not differentiable.

    >>> import fastgrad as tf
    >>> tf.argmax(tf.constant([[1.0, 5.0, 5.0], [7.0, 2.0, 7.0]]), axis=1).numpy().tolist()
    [1, 0]
    """
    return _arg_reduce("argmax", input, axis, output_type)


def argmin(input, axis=None, output_type="int64", name=None):
    """Index of the smallest value along axis (default 0), the first of ties; not differentiable.

    >>> import fastgrad as tf
    >>> tf.argmin(tf.constant([3.0, 1.0, 1.0])).numpy().tolist()
    1
    """
    return _arg_reduce("argmin", input, axis, output_type)


def _scan(op, x, axis, exclusive, reverse):
    return _core.apply(_OPS[op], [_as_tensor(x)], [int(axis), bool(exclusive), bool(reverse)])


def cumsum(x, axis=0, exclusive=False, reverse=False, name=None):
    """Cumulative sum along axis (``tf.cumsum``, ``tf.math.cumsum``).

    ``exclusive`` starts from 0 instead of the first element; ``reverse``
    runs from the end. Its gradient is the cumsum of the upstream gradient
    the other way, as TF's.

    >>> import fastgrad as tf
    >>> tf.cumsum(tf.constant([1.0, 2.0, 3.0])).numpy().tolist()
    [1.0, 3.0, 6.0]
    >>> tf.cumsum(tf.constant([1.0, 2.0, 3.0]), exclusive=True, reverse=True).numpy().tolist()
    [5.0, 3.0, 0.0]
    """
    return _scan("cumsum", x, axis, exclusive, reverse)


def cumprod(x, axis=0, exclusive=False, reverse=False, name=None):
    """Cumulative product along axis (``tf.math.cumprod``).

    The gradient is TF's: ``cumsum(y * g)`` the other way divided by x with
    ``divide_no_nan``, so an element equal to 0 gets a 0 gradient.

    >>> import fastgrad as tf
    >>> tf.math.cumprod(tf.constant([1.0, 2.0, 3.0]), exclusive=True).numpy().tolist()
    [1.0, 1.0, 2.0]
    """
    return _scan("cumprod", x, axis, exclusive, reverse)


# ------------------------------------------------------------ more tf.math names, composed


def is_nan(x, name=None):
    """True where x is NaN."""
    x = _as_tensor(x)
    return not_equal(x, x)


def is_inf(x, name=None):
    """True where x is +-inf."""
    return equal(abs(x), float("inf"))


def is_finite(x, name=None):
    """True where x is neither NaN nor infinite."""
    return less(abs(x), float("inf"))


def log_sigmoid(x, name=None):
    """log(sigmoid(x)) = -softplus(-x), stably."""
    return negative(softplus(negative(x)))


def logical_xor(x, y, name=None):
    """x != y for bool tensors."""
    return logical_and(logical_or(x, y), logical_not(logical_and(x, y)))


def l2_normalize(x, axis=None, epsilon=1e-12, name=None, dim=None):
    """x / sqrt(max(sum(x**2, axis), epsilon)), as tf.math.l2_normalize."""
    x = _as_tensor(x)
    axis = dim if axis is None else axis
    square_sum = reduce_sum(square(x), axis, keepdims=True)
    return multiply(x, rsqrt(maximum(square_sum, epsilon)))


def norm(tensor, ord="euclidean", axis=None, keepdims=None, name=None):
    """Vector or matrix norm (``tf.norm``, ``tf.linalg.norm``), TF's formulas.

    Vector norms over axis (None: all elements; an int): 'euclidean' (= 2),
    1, inf and any real p > 0. Matrix norms over a pair of axes: 'fro' /
    'euclidean', 1 (largest column sum), inf (largest row sum) and 2 (the
    largest singular value, from ``tf.linalg.svd``).

    >>> import fastgrad as tf
    >>> m = tf.constant([[1.0, -2.0], [3.0, 4.0]])
    >>> float(tf.norm(m, ord=1)), float(tf.norm(m, ord=1, axis=[0, 1]))
    (10.0, 6.0)
    >>> tf.norm(m, ord=np.inf, axis=1).numpy().tolist()
    [2.0, 4.0]
    """
    keepdims = bool(keepdims)
    is_matrix = isinstance(axis, (list, tuple)) and len(axis) == 2
    if is_matrix:
        axis = tuple(axis)
        if not all(isinstance(a, (int, np.integer)) for a in axis) or axis[0] == axis[1]:
            raise ValueError("'axis' must be None, an integer, or a tuple of 2 unique integers, got %s" % (axis,))
        supported = ["euclidean", "fro", 1, 2, np.inf]
        if not any(_ord_is(ord, o) for o in supported):
            raise ValueError("'ord' must be a supported matrix norm in %s, got %s" % (supported, ord))
    else:
        if not (isinstance(axis, (int, np.integer)) or axis is None):
            raise ValueError("'axis' must be None, an integer, or a tuple of 2 unique integers, got %s" % (axis,))
        named = any(_ord_is(ord, o) for o in ("euclidean", 1, 2, np.inf))
        if not named and (isinstance(ord, str) or not np.isreal(ord) or ord <= 0):
            raise ValueError("'ord' must be a supported vector norm, got %s" % (ord,))
        if axis is not None:
            axis = (int(axis),)
    x = _as_tensor(tensor)
    if any(_ord_is(ord, o) for o in ("fro", "euclidean", 2)):
        if is_matrix and _ord_is(ord, 2):
            from fastgrad.linalg_ops import _matrix_two_norm  # linalg_ops imports this module
            result = _matrix_two_norm(x, axis)
        else:
            result = sqrt(reduce_sum(multiply(x, x), None if axis is None else list(axis), keepdims=True))
    else:
        result = abs(x)
        if _ord_is(ord, 1):
            result = reduce_sum(result, None if axis is None else axis[0], keepdims=True)
            if is_matrix:
                result = reduce_max(result, axis[-1], keepdims=True)
        elif _ord_is(ord, np.inf):
            if is_matrix:
                result = reduce_sum(result, axis[1], keepdims=True)
            result = reduce_max(result, None if axis is None else axis[0], keepdims=True)
        else:
            p = _core.constant(float(ord), x.dtype)
            result = pow(reduce_sum(pow(result, p), None if axis is None else list(axis), keepdims=True),
                         divide(_core.constant(1.0, x.dtype), p))
    if not keepdims:
        from fastgrad.array_ops import squeeze
        result = squeeze(result, None if axis is None else list(axis))
    return result


def _ord_is(ord, o):
    """ord == o without NumPy's elementwise or str/int comparisons"""
    if isinstance(o, str) or isinstance(ord, str):
        return isinstance(ord, str) and isinstance(o, str) and ord == o
    try:
        return bool(ord == o)
    except (TypeError, ValueError):
        return False


def cumulative_logsumexp(x, axis=0, exclusive=False, reverse=False, name=None):
    """log(cumsum(exp(x))) along axis, computed stably (``tf.math.cumulative_logsumexp``).

    The running log-add-exp is TF's, max + log1p(exp(min - max)); the
    gradient is TF's (the upstream gradient split by sign in the log domain).

    >>> import fastgrad as tf
    >>> tf.math.cumulative_logsumexp(tf.constant([0.0, 0.0]), exclusive=True).numpy().tolist()
    [-inf, 0.0]
    """
    return _scan("cumulative_logsumexp", x, axis, exclusive, reverse)


def reduce_euclidean_norm(input_tensor, axis=None, keepdims=False, name=None):
    """sqrt(sum(x ** 2)) over axis (``tf.math.reduce_euclidean_norm``);
    integers give the truncated root, as TF.

    >>> import fastgrad as tf
    >>> tf.math.reduce_euclidean_norm(tf.constant([[3.0, 4.0], [0.0, 0.0]]), axis=1).numpy().tolist()
    [5.0, 0.0]
    """
    x = _as_tensor(input_tensor)
    if x.dtype.name in ("int32", "int64"):
        s = cast(reduce_sum(multiply(x, x), axis, keepdims=keepdims), "float64")
        return cast(sqrt(s), x.dtype)
    return sqrt(reduce_sum(multiply(x, x), axis, keepdims=keepdims))


def count_nonzero(input, axis=None, keepdims=None, dtype="int64", name=None):  # noqa: A002 - TF's name
    """How many elements are not zero (not False) over axis
    (``tf.math.count_nonzero``); NaN counts, -0.0 does not.

    >>> import fastgrad as tf
    >>> int(tf.math.count_nonzero(tf.constant([[0.0, 1.0], [2.0, 0.0]])))
    2
    """
    x = _as_tensor(input)
    pred = x if x.dtype.name == "bool" else not_equal(x, _core.constant(0, x.dtype))
    return cast(reduce_sum(cast(pred, "int64"), axis, keepdims=bool(keepdims)), dtype)


def clip_by_norm(t, clip_norm, axes=None, name=None):
    """t * clip_norm / max(l2norm(t), clip_norm), TF's formula (a zero t stays zero)."""
    t = _as_tensor(t)
    l2sum = reduce_sum(multiply(t, t), axes, keepdims=True)
    positive = greater(l2sum, 0.0)
    l2sum_safe = where(positive, l2sum, _core.constant(1.0, t.dtype))
    l2norm = where(positive, sqrt(l2sum_safe), l2sum)
    return divide(multiply(t, clip_norm), maximum(l2norm, clip_norm))


def clip_by_global_norm(t_list, clip_norm, use_norm=None, name=None):
    """(list of t * clip_norm / max(global_norm, clip_norm), global_norm); None entries stay None."""
    t_list = list(t_list)
    present = [_as_tensor(t) for t in t_list if t is not None]
    if use_norm is None:
        use_norm = sqrt(add_n([reduce_sum(square(t)) for t in present])) if present else \
            _core.constant(0.0)
    use_norm = _as_tensor(use_norm)
    if not isinstance(clip_norm, _core._TensorBase):  # TF: the norm's dtype (float64 stays float64)
        clip_norm = _core.constant(clip_norm, use_norm.dtype)
    one = _core.constant(1.0, use_norm.dtype)
    # TF: + (use_norm - use_norm) makes the scale NaN for an infinite norm
    scale = add(multiply(clip_norm, minimum(divide(one, use_norm), divide(one, clip_norm))),
                subtract(use_norm, use_norm))
    out = [None if t is None else multiply(_as_tensor(t), cast(scale, _as_tensor(t).dtype))
           for t in t_list]
    return out, use_norm


def matmul(a, b, transpose_a=False, transpose_b=False, adjoint_a=False, adjoint_b=False,
           name=None):
    """Matrix product of the last two dimensions (batch dimensions broadcast); BLAS.

    ``adjoint_*`` equal ``transpose_*`` for real dtypes, the only ones here.

    >>> import fastgrad as tf
    >>> tf.matmul([[1.0, 2.0]], [[3.0], [4.0]]).numpy().tolist()
    [[11.0]]
    """
    return _core.matmul(a, b, bool(transpose_a or adjoint_a), bool(transpose_b or adjoint_b))
