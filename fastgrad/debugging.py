"""``fastgrad.debugging``: TF 2's eager assertions, with TF's messages and
error types.

A failing value assertion raises ``fastgrad.errors.InvalidArgumentError``;
a static one (rank, shapes, dtype) raises ``ValueError`` or ``TypeError``
as TF does. The conditions are fastgrad ops; the NumPy below only writes
the message of an assertion that has already failed. Inside a
``fastgrad.function`` a value assertion is a guard: a replay whose values
would fail it traces again and raises.

>>> import fastgrad as tf
>>> tf.debugging.assert_equal(tf.constant([1, 2]), tf.constant([1, 2]))
>>> try:
...     tf.debugging.assert_rank(tf.zeros([2, 3]), 1)
... except ValueError as e:
...     print(e)
Tensor  must have rank 1.  Received rank 2, shape (2, 3)
"""
import numpy as np

from fastgrad import _core, errors, math_ops
from fastgrad._core import Variable, _TensorBase, convert_to_tensor
from fastgrad.array_ops import identity
from fastgrad.dtypes import as_dtype

__all__ = ["Assert", "assert_equal", "assert_none_equal", "assert_less", "assert_less_equal",
           "assert_greater", "assert_greater_equal", "assert_near", "assert_positive",
           "assert_negative", "assert_non_negative", "assert_non_positive", "assert_rank",
           "assert_rank_at_least", "assert_rank_in", "assert_shapes", "assert_type",
           "assert_scalar", "check_numerics", "assert_all_finite", "is_numeric_tensor"]


def _tensor(x, dtype=None):
    if isinstance(x, Variable):
        x = x.value()
    return convert_to_tensor(x, dtype)


def _message_prefix(message):
    return "%s.  " % message if message else ""


def _shape_and_dtype_str(t):
    return "shape=%s dtype=%s" % (t.shape, t.dtype.name)


def _pretty_print(item, summarize):
    # check_ops._pretty_print
    if isinstance(item, _TensorBase):
        arr = item.numpy()
        if np.isscalar(arr):
            return str(arr)
        flat = arr.reshape((-1,))
        lst = [str(x) for x in flat[:summarize]]
        if len(lst) < flat.size:
            lst.append("...")
        return str(lst)
    return str(item)


def _summarize_eager(t, summarize):
    # control_flow_assert._summarize_eager
    if summarize is None:
        summarize = 3
    elif summarize < 0:
        summarize = t.shape.num_elements()
    if t.ndim:
        flat = t.numpy().reshape((-1,))
        lst = [str(x) for x in flat[:summarize]]
        if len(lst) < flat.size:
            lst.append("...")
    else:
        lst = [str(t.numpy())] if summarize != 0 else []
    return ", ".join(lst)


def Assert(condition, data, summarize=None, name=None):  # noqa: N802 - TF's name
    """Raise InvalidArgumentError, listing ``data``, unless ``condition``.

    >>> import fastgrad as tf
    >>> tf.debugging.Assert(tf.constant(True), ["never shown"])
    """
    if bool(condition):
        return None
    # strings become bytes tensors in TF, hence the b'...' in its text
    parts = ["%r" % (d.encode(),) if isinstance(d, str) else _summarize_eager(_tensor(d), summarize)
             for d in data]
    raise errors.InvalidArgumentError(None, None, "Expected '%s' to be true. Summarized data: %s"
                                      % (_tensor(condition), "\n".join(parts)))


def _binary_assert(sym, op, x, y, data, summarize, message):
    # check_ops._binary_assert, eager branch
    x = _tensor(x)
    y = _tensor(y, x.dtype) if not isinstance(y, _TensorBase) else _tensor(y)
    test = op(x, y)
    if bool(math_ops.reduce_all(test)):
        return None
    if summarize is None:
        summarize = 3
    elif summarize < 0:
        summarize = 10 ** 9
    if data is None:
        data = _assert_msg_data(sym, x, y, summarize, test)
    if message is not None:
        data = [message] + list(data)
    raise errors.InvalidArgumentError(None, None, "\n".join(_pretty_print(d, summarize) for d in data))


def _assert_msg_data(sym, x, y, summarize, test):
    data = ["Condition x %s y did not hold." % sym]
    if summarize > 0:
        xs, ys = x.numpy(), y.numpy()
        if x.shape == y.shape and x.ndim:
            bad = ~np.asarray(test.numpy())
            where = np.argwhere(bad)
            n = min(summarize, where.shape[0])
            data += ["Indices of first %d different values:" % n, where[:n],
                     "Corresponding x values:", xs[bad].reshape((-1,))[:n],
                     "Corresponding y values:", ys[bad].reshape((-1,))[:n]]
        xf, yf = np.reshape(xs, (-1,)), np.reshape(ys, (-1,))
        nx, ny = min(xf.size, summarize), min(yf.size, summarize)
        data += ["First %d elements of x:" % nx, xf[:nx], "First %d elements of y:" % ny, yf[:ny]]
    return data


def _binary(sym, op, doc):
    def assertion(x, y, message=None, summarize=None, name=None, data=None):
        return _binary_assert(sym, op, x, y, data, summarize, message)
    assertion.__doc__ = doc
    return assertion


assert_equal = _binary("==", math_ops.equal, "Raise InvalidArgumentError unless x == y everywhere.")
assert_none_equal = _binary("!=", math_ops.not_equal,
                            "Raise InvalidArgumentError unless x != y everywhere.")
assert_less = _binary("<", math_ops.less, "Raise InvalidArgumentError unless x < y everywhere.")
assert_less_equal = _binary("<=", math_ops.less_equal,
                            "Raise InvalidArgumentError unless x <= y everywhere.")
assert_greater = _binary(">", math_ops.greater, "Raise InvalidArgumentError unless x > y everywhere.")
assert_greater_equal = _binary(">=", math_ops.greater_equal,
                               "Raise InvalidArgumentError unless x >= y everywhere.")
for _f, _n in ((assert_equal, "assert_equal"), (assert_none_equal, "assert_none_equal"),
               (assert_less, "assert_less"), (assert_less_equal, "assert_less_equal"),
               (assert_greater, "assert_greater"), (assert_greater_equal, "assert_greater_equal")):
    _f.__name__ = _f.__qualname__ = _n


def _unary(sym, op, name):
    def assertion(x, message=None, summarize=None, name=None, data=None):
        x = _tensor(x)
        if data is None:
            data = [_message_prefix(message), "Condition x %s 0 did not hold element-wise:" % sym,
                    "x (%s) = " % _shape_and_dtype_str(x), x]
        zero = convert_to_tensor(0, x.dtype)
        return _binary_assert(sym, op, x, zero, data, summarize, None)
    assertion.__name__ = assertion.__qualname__ = name
    assertion.__doc__ = "Raise InvalidArgumentError unless x %s 0 everywhere." % sym
    return assertion


assert_positive = _unary(">", math_ops.greater, "assert_positive")
assert_negative = _unary("<", math_ops.less, "assert_negative")
assert_non_negative = _unary(">=", math_ops.greater_equal, "assert_non_negative")
assert_non_positive = _unary("<=", math_ops.less_equal, "assert_non_positive")


def assert_near(x, y, rtol=None, atol=None, message=None, summarize=None, name=None, data=None):
    """Raise InvalidArgumentError unless ``|x - y| < atol + rtol * |y|``
    everywhere (both tolerances default to 10 machine epsilons).

    >>> import fastgrad as tf
    >>> tf.debugging.assert_near(tf.constant([1.0]), tf.constant([1.0 + 1e-7]))
    """
    x = _tensor(x)
    y = _tensor(y, x.dtype)
    eps = np.finfo(x.dtype.as_numpy_dtype).eps
    rtol = convert_to_tensor(10 * eps if rtol is None else rtol, x.dtype)
    atol = convert_to_tensor(10 * eps if atol is None else atol, x.dtype)
    if data is None:
        data = [_message_prefix(message),
                "x and y not equal to tolerance rtol = %s, atol = %s" % (rtol, atol),
                "x (%s) = " % _shape_and_dtype_str(x), x, "y (%s) = " % _shape_and_dtype_str(y), y]
    tol = atol + rtol * math_ops.abs(y)
    return Assert(math_ops.reduce_all(math_ops.less(math_ops.abs(x - y), tol)), data, summarize)


def _static_rank(x, ok, text, message):
    x = _tensor(x)
    if not ok(x.ndim):
        raise ValueError("%sTensor %s must have rank %s.  Received rank %d, shape %s"
                         % (_message_prefix(message), "", text, x.ndim, x.shape))


def _rank_value(rank):
    rank = _tensor(rank)
    if rank.ndim:
        raise ValueError("Rank must be a scalar.")
    return int(rank)


def assert_rank(x, rank, message=None, name=None, data=None, summarize=None):
    """Raise ValueError unless ``x`` has rank ``rank``."""
    r = _rank_value(rank)
    _static_rank(x, lambda n: n == r, "%d" % r, message)


def assert_rank_at_least(x, rank, message=None, name=None, data=None, summarize=None):
    """Raise ValueError unless ``x`` has rank ``rank`` or more."""
    r = _rank_value(rank)
    _static_rank(x, lambda n: n >= r, "at least %d" % r, message)


def assert_rank_in(x, ranks, message=None, name=None, data=None, summarize=None):
    """Raise ValueError unless the rank of ``x`` is one of ``ranks``."""
    rs = tuple(_rank_value(r) for r in ranks)
    _static_rank(x, lambda n: n in rs, "in %s" % (rs,), message)


def assert_scalar(tensor, message=None, name=None):
    """Raise ValueError unless ``tensor`` is a scalar; returns it."""
    t = _tensor(tensor)
    if t.ndim != 0:
        raise ValueError("%sExpected scalar shape, saw shape: %s." % (_message_prefix(message), t.shape))
    return tensor


def assert_type(tensor, tf_type, message=None, name=None):
    """Raise TypeError unless ``tensor`` has dtype ``tf_type``."""
    dtype = as_dtype(tf_type)
    if tensor.dtype != dtype:
        raise TypeError("%s%s must be of type %r; got %r"
                        % (_message_prefix(message), getattr(tensor, "name", "tensor"), dtype,
                           tensor.dtype))


def _known(size):
    try:
        int(size)
    except (ValueError, TypeError):
        return False
    return size is not None


def assert_shapes(shapes, data=None, summarize=None, message=None, name=None):
    """Raise ValueError unless the tensors' shapes agree with symbolic ones:
    ``[(x, ("N", "D")), (y, ("N",))]`` (names must match across tensors,
    integers are exact sizes, None or '.' any size, a leading '...' or '*'
    any number of dimensions).

    >>> import fastgrad as tf
    >>> tf.debugging.assert_shapes([(tf.zeros([2, 3]), ("N", "D")), (tf.zeros([2]), ("N",))])
    """
    if isinstance(shapes, dict):
        shapes = shapes.items()
    prefix = _message_prefix(message)
    constraints = [(_tensor(x), s) for x, s in shapes if s is not None]
    sizes = []
    for t, symbolic in constraints:
        if not (hasattr(symbolic, "__iter__") or hasattr(symbolic, "__getitem__")):
            raise ValueError("%sTensor %s.  Specified shape must be an iterable.  An iterable has "
                             "the attribute `__iter__` or `__getitem__`.  Received specified "
                             "shape: %s" % (prefix, _shape_and_dtype_str(t), symbolic))
        symbolic = tuple(symbolic)
        innermost = False
        for i, sym in enumerate(symbolic):
            if sym is Ellipsis or sym == "*":
                if i != 0:
                    raise ValueError("%sTensor %s specified shape index %d.  Symbol `...` or `*` "
                                     "for a variable number of unspecified dimensions is only "
                                     "allowed as the first entry" % (prefix, _shape_and_dtype_str(t), i))
                innermost = True
        symbolic = symbolic[1:] if innermost else symbolic
        actual = (1,) if t.ndim == 0 else tuple(t.shape)
        sizes.append((t, innermost, actual, symbolic or (1,)))
    for t, innermost, _, symbolic in sizes:
        rank = len(symbolic)
        if innermost:
            if rank > 1:
                assert_rank_at_least(t, rank, message=message)
        elif rank in (0, 1):
            assert_rank_in(t, [0, 1], message=message)
        else:
            assert_rank(t, rank, message=message)
    specified = {}
    for t, innermost, actual, symbolic in sizes:
        for i, sym in enumerate(symbolic):
            if sym is None or sym == ".":
                continue
            dim = i - len(symbolic) if innermost else i
            if sym in specified or _known(sym):
                if _known(sym):
                    want, how = int(sym), "Specified explicitly"
                else:
                    want, by, at = specified[sym]
                    how = "Specified by tensor %s dimension %d" % (_shape_and_dtype_str(by), at)
                if int(actual[dim]) != want:
                    raise ValueError("%s%s.  Tensor %s dimension %s must have size %d.  Received "
                                     "size %d, shape %s" % (prefix, how, _shape_and_dtype_str(t),
                                                            dim, want, actual[dim], t.shape))
            else:
                specified[sym] = (actual[dim], t, dim)


def _numerics_error(t, message):
    if not t.dtype.is_floating:
        raise errors.InvalidArgumentError(
            None, None, "Value for attr 'T' of %s is not in the list of allowed values: bfloat16, "
            "half, float, double\n\t; NodeDef: {{node CheckNumerics}}; Op<name=CheckNumerics; "
            "signature=tensor:T -> output:T; attr=T:type,allowed=[DT_BFLOAT16, DT_HALF, DT_FLOAT, "
            "DT_DOUBLE]; attr=message:string; is_stateful=true> [Op:CheckNumerics]"
            % _core._tf_dtype_name(t.dtype._enum))


def check_numerics(tensor, message, name=None):
    """``tensor`` itself (its gradient passes through), or
    InvalidArgumentError if it holds a NaN or an infinity.

    >>> import fastgrad as tf
    >>> try:
    ...     tf.debugging.check_numerics(tf.constant([1.0, float("nan")]), "loss")
    ... except tf.errors.InvalidArgumentError as e:
    ...     print(e)
    loss : Tensor had NaN values [Op:CheckNumerics]
    """
    t = _tensor(tensor) if not isinstance(tensor, _TensorBase) else tensor
    _numerics_error(t, message)
    has_nan = bool(math_ops.reduce_any(math_ops.is_nan(t)))
    has_inf = bool(math_ops.reduce_any(math_ops.is_inf(t)))
    if has_nan or has_inf:
        what = "Inf and NaN" if has_nan and has_inf else "NaN" if has_nan else "Inf"
        raise errors.InvalidArgumentError(None, None, "%s : Tensor had %s values [Op:CheckNumerics]"
                                          % (message, what))
    return identity(t)


def assert_all_finite(x, message, name=None):
    """``check_numerics`` under its other name (TF 2's argument order)."""
    return check_numerics(x, message)


def is_numeric_tensor(tensor):
    """True for a Tensor of a numeric (not bool) dtype."""
    return isinstance(tensor, _TensorBase) and tensor.dtype.name != "bool"
