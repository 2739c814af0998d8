"""The small tf / tf.math names TF 2 code reaches for, composed of table ops.

Real dtypes only for the complex-number helpers (fastgrad has no complex
dtype): ``real`` and ``conj`` return their input, ``imag`` zeros and
``angle`` pi where x < 0, as TF does for real inputs.

>>> import fastgrad as tf
>>> tf.math.angle(tf.constant([-1.5, 2.0], tf.float64)).numpy().tolist()
[3.141592653589793, 0.0]
"""
import contextlib
import math as _pymath
import time

from fastgrad import _core
from fastgrad import math_ops as _m
from fastgrad.array_ops import identity as _identity
from fastgrad.dtypes import as_dtype

__all__ = ["scalar_mul", "realdiv", "no_op", "group", "tuple", "control_dependencies", "saturate_cast",
           "timestamp", "get_current_name_scope", "inside_function", "grad_pass_through", "no_gradient",
           "histogram_fixed_width", "guarantee_const", "recompute_grad"]
# tf.math only
_MATH_ONLY = ["angle", "real", "imag", "conj", "zero_fraction", "erfcinv", "bessel_i0", "bessel_i1",
              "accumulate_n", "softmax", "log_softmax"]


def _t(x):
    return x if isinstance(x, _core._TensorBase) else _core.convert_to_tensor(x)


def real(input, name=None):
    """The real part: a real input itself.

    >>> import fastgrad as tf
    >>> tf.math.real(tf.constant([1.5])).numpy().tolist()
    [1.5]
    """
    return _identity(_t(input))


def imag(input, name=None):
    """The imaginary part: zeros for a real input.

    >>> import fastgrad as tf
    >>> tf.math.imag(tf.constant([1.5])).numpy().tolist()
    [0.0]
    """
    x = _t(input)
    return _m.multiply(x, _core.zeros((), x.dtype._enum))


def conj(x, name=None):
    """The complex conjugate: a real input itself.

    >>> import fastgrad as tf
    >>> tf.math.conj(tf.constant([1.5])).numpy().tolist()
    [1.5]
    """
    return _t(x)


def angle(input, name=None):
    """The argument of a complex number: pi where a real x < 0, else 0.

    >>> import fastgrad as tf
    >>> tf.math.angle(tf.constant([-1.0, 1.0], tf.float64)).numpy().tolist()
    [3.141592653589793, 0.0]
    """
    x = _t(input)
    zero = _core.zeros((), x.dtype._enum)
    return _m.where(_m.less(x, zero), _core.constant(_pymath.pi, x.dtype), zero)


def zero_fraction(value, name=None):
    """The fraction of elements equal to 0, as float32 (no gradient).

    >>> import fastgrad as tf
    >>> float(tf.math.zero_fraction(tf.constant([0.0, 1.0, 0.0, 2.0])))
    0.5
    """
    x = _t(value)
    return _m.reduce_mean(_m.cast(_m.equal(x, _core.zeros((), x.dtype._enum)), "float32"))


def erfcinv(x, name=None):
    """The inverse of erfc: ``-ndtri(x / 2) / sqrt(2)``.

    >>> import fastgrad as tf
    >>> round(float(tf.math.erfcinv(tf.constant(0.5, tf.float64))), 7)
    0.4769363
    """
    x = _t(x)
    return _m.multiply(_m.negative(_m.ndtri(_m.multiply(x, _core.constant(0.5, x.dtype)))),
                       _core.constant(_pymath.sqrt(0.5), x.dtype))


def bessel_i0(x, name=None):
    """The modified Bessel function I0: ``exp(abs(x)) * bessel_i0e(x)``.

    >>> import fastgrad as tf
    >>> round(float(tf.math.bessel_i0(tf.constant(2.0, tf.float64))), 6)
    2.279585
    """
    x = _t(x)
    return _m.multiply(_m.exp(_m.abs(x)), _m.bessel_i0e(x))


def bessel_i1(x, name=None):
    """The modified Bessel function I1: ``exp(abs(x)) * bessel_i1e(x)``.

    >>> import fastgrad as tf
    >>> round(float(tf.math.bessel_i1(tf.constant(2.0, tf.float64))), 6)
    1.590637
    """
    x = _t(x)
    return _m.multiply(_m.exp(_m.abs(x)), _m.bessel_i1e(x))


def accumulate_n(inputs, shape=None, tensor_dtype=None, name=None):
    """The sum of a list of tensors (TF deprecates it for add_n).

    >>> import fastgrad as tf
    >>> tf.math.accumulate_n([tf.constant(1.0), tf.constant(2.0)]).numpy().tolist()
    3.0
    """
    return _m.add_n(inputs)


def softmax(logits, axis=None, name=None):
    """``tf.math.softmax``, the same as ``tf.nn.softmax``."""
    from fastgrad import nn
    return nn.softmax(logits, axis=-1 if axis is None else axis)


def log_softmax(logits, axis=None, name=None):
    """``tf.math.log_softmax``, the same as ``tf.nn.log_softmax``."""
    from fastgrad import nn
    return nn.log_softmax(logits, axis=-1 if axis is None else axis)


def scalar_mul(scalar, x, name=None):
    """A scalar times a tensor.

    >>> import fastgrad as tf
    >>> tf.scalar_mul(2.0, tf.constant([1.0, -3.0])).numpy().tolist()
    [2.0, -6.0]
    """
    return _m.multiply(scalar, x)


def realdiv(x, y, name=None):
    """``x / y`` for real tensors (TF's RealDiv op).

    >>> import fastgrad as tf
    >>> tf.realdiv(tf.constant([3.0]), 2.0).numpy().tolist()
    [1.5]
    """
    return _m.divide(x, y)


def no_op(name=None):
    """Does nothing; None eagerly, as TF."""
    return None


def group(*inputs, **kwargs):
    """Groups ops for graph dependencies; None eagerly, as TF."""
    return None


def tuple(tensors, name=None, control_inputs=None):  # noqa: A001 - TF's name
    """The tensors, each through identity (TF's tf.tuple)."""
    return [None if t is None else _identity(t) for t in tensors]


def control_dependencies(control_inputs):
    """A context that orders ops in a graph; in eager code (and in fastgrad's
    traced functions, which replay in program order) it does nothing."""
    return contextlib.nullcontext()


def saturate_cast(value, dtype, name=None):
    """Cast, clipping to the target dtype's range first (no overflow).

    >>> import fastgrad as tf
    >>> tf.saturate_cast(tf.constant([3e9, -5.0]), tf.int32).numpy().tolist()
    [2147483520, -5]
    """
    import numpy as np
    x = _t(value)
    dt = as_dtype(dtype)
    if dt.is_integer and (x.dtype.is_floating or x.dtype.is_integer):
        info = np.iinfo(dt.as_numpy_dtype)
        lo, hi = float(info.min), float(info.max)
        if x.dtype.is_floating:
            # the largest float of x's dtype not above the bound, as TF's saturate_cast
            hi = float(np.nextafter(x.dtype.as_numpy_dtype(hi), x.dtype.as_numpy_dtype(0))) \
                if float(x.dtype.as_numpy_dtype(hi)) > info.max else hi
            x = _m.clip_by_value(x, _core.constant(lo, x.dtype), _core.constant(hi, x.dtype))
        elif np.iinfo(x.dtype.as_numpy_dtype).max > info.max:
            x = _m.clip_by_value(x, _core.constant(int(lo), x.dtype), _core.constant(int(hi), x.dtype))
    return _m.cast(x, dt)


def timestamp(name=None):
    """Seconds since the epoch, a float64 scalar."""
    return _core.constant(time.time(), "float64")


def get_current_name_scope():
    """The name scope in force ('' at the top), as TF."""
    from fastgrad import _name_scope
    return _name_scope.current_scope().rstrip("/")


def inside_function():
    """True while fastgrad.function traces a Python function."""
    from fastgrad import function_api
    return getattr(function_api._state, "program", None) is not None


def grad_pass_through(f):
    """f with an identity gradient (TF's straight-through estimator).

    >>> import fastgrad as tf
    >>> x = tf.constant([0.4, 1.6])
    >>> with tf.GradientTape() as tape:
    ...     tape.watch(x)
    ...     y = tf.grad_pass_through(tf.round)(x)
    >>> tape.gradient(y, x).numpy().tolist()
    [1.0, 1.0]
    """
    from fastgrad.custom_gradient import custom_gradient

    def wrapped(*args, **kwargs):
        @custom_gradient
        def inner(x):
            return f(x, *args[1:], **kwargs), lambda g: g
        return inner(args[0])
    return wrapped


def no_gradient(op_type):
    """Declares a graph op type has no gradient; nothing to do for fastgrad's table ops."""
    return None


def histogram_fixed_width(values, value_range, nbins=100, dtype="int32", name=None):
    """Counts of values in nbins equal bins over value_range (outliers in the end bins).

    >>> import fastgrad as tf
    >>> tf.histogram_fixed_width(tf.constant([-1.0, 0.0, 1.5, 2.0, 5.0]), [0.0, 5.0], nbins=5).numpy().tolist()
    [2, 1, 1, 0, 1]
    """
    x = _t(values)
    rng = _t(value_range) if isinstance(value_range, _core._TensorBase) else _core.constant(value_range, x.dtype)
    lo = _m.reduce_min(rng)
    hi = _m.reduce_max(rng)
    scaled = _m.divide(_m.subtract(x, lo), _m.subtract(hi, lo))
    idx = _m.cast(_m.floor(_m.multiply(scaled, _core.constant(float(nbins), x.dtype))), "int32")
    idx = _m.clip_by_value(idx, 0, nbins - 1)
    from fastgrad.segment_ops import unsorted_segment_sum
    from fastgrad.array_ops import ones_like, reshape
    counts = unsorted_segment_sum(ones_like(reshape(idx, [-1])), reshape(idx, [-1]), nbins)
    return _m.cast(counts, dtype)


def guarantee_const(input, name=None):
    """The input (a promise to graph optimisers, nothing to do eagerly)."""
    return _identity(_t(input))


def recompute_grad(f):
    """f, with the same values and gradients; fastgrad keeps the forward's
    values instead of recomputing them (no memory saving)."""
    return f
