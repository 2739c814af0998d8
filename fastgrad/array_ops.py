"""Shape, creation and indexing ops (TensorFlow names).

>>> import fastgrad as tf
>>> tf.concat([tf.zeros((1, 2)), tf.ones((1, 2))], axis=0).numpy().tolist()
[[0.0, 0.0], [1.0, 1.0]]
"""
import numpy as np

from fastgrad import _core
from fastgrad.dtypes import as_dtype, float32, int32
from fastgrad.errors import InvalidArgumentError
from fastgrad.tensor_shape import TensorShape

__all__ = [
    "constant", "convert_to_tensor", "reshape", "transpose", "concat", "stack", "unstack",
    "split", "squeeze", "expand_dims", "tile", "gather", "broadcast_to", "zeros", "ones",
    "zeros_like", "ones_like", "fill", "range", "eye", "linspace", "identity", "shape",
    "size", "rank", "stop_gradient", "one_hot", "newaxis",
]

_OPS = _core.OPS
constant = _core.constant
convert_to_tensor = _core.convert_to_tensor
stop_gradient = _core.stop_gradient
newaxis = None


def _t(x):
    return x if isinstance(x, _core._TensorBase) else _core.convert_to_tensor(x)


def _ints(v):
    if isinstance(v, _core._TensorBase):
        v = v.numpy()
    return [int(i) for i in np.ravel(np.asarray(v))]


def _norm_axis(axis, ndim, what="axis"):
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise InvalidArgumentError("%s %d is out of range for a tensor of rank %d" % (what, axis, ndim))
    return axis % ndim


def reshape(tensor, shape, name=None):
    """A view of tensor with another shape (one -1 is inferred); no copy.

    >>> import fastgrad as tf
    >>> tf.reshape(tf.range(6), (2, -1)).shape
    TensorShape([2, 3])
    """
    s = _ints(shape)
    return _core.apply(_OPS["reshape"], [_t(tensor)], [len(s)] + s)


def transpose(a, perm=None, conjugate=False, name=None):
    """Permute dimensions (default: reverse them).

    >>> import fastgrad as tf
    >>> tf.transpose([[1, 2, 3]]).numpy().tolist()
    [[1], [2], [3]]
    """
    a = _t(a)
    perm = list(reversed(range(a.ndim))) if perm is None else _ints(perm)
    nd = a.ndim
    if len(perm) == nd:  # TF's checks and texts (negative entries wrap)
        for p in perm:
            if not -nd <= p < nd:
                raise InvalidArgumentError("%d is out of range [0 .. %d) [Op:Transpose]" % (p, nd))
        wrapped = [p % nd for p in perm]
        for i in range(nd):
            if i not in wrapped:
                raise InvalidArgumentError("%d is missing from {%s}. [Op:Transpose]"
                                           % (i, ",".join(str(p) for p in wrapped)))
        perm = wrapped
    return _core.apply(_OPS["transpose"], [a], perm)


def concat(values, axis, name=None):
    """Join tensors along an existing axis.

    >>> import fastgrad as tf
    >>> tf.concat([[[1, 2]], [[3, 4]]], axis=0).numpy().tolist()
    [[1, 2], [3, 4]]
    """
    values = list(values)
    if len(values) == 1:
        return identity(values[0])
    if values and all(getattr(v, "ndim", np.ndim(v)) == 0 for v in values):
        raise InvalidArgumentError("ConcatOp : Can't concatenate scalars (use tf.stack instead) "
                                   "[Op:ConcatV2]")
    return _core.apply(_OPS["concat"], values, [int(axis)])


def expand_dims(input, axis, name=None):
    """Insert a dimension of size 1 at axis.

    >>> import fastgrad as tf
    >>> tf.expand_dims([1, 2], axis=0).shape
    TensorShape([1, 2])
    """
    x = _t(input)
    if axis is None:
        raise ValueError("Attempt to convert a value (None) with an unsupported type "
                         "(<class 'NoneType'>) to a Tensor.")
    axes = _ints(axis)
    if len(axes) != 1:
        raise InvalidArgumentError("'dim' must be a tensor with a single value [Op:ExpandDims]")
    axis = axes[0]
    if not -x.ndim - 1 <= axis <= x.ndim:
        raise InvalidArgumentError(
            "Tried to expand dim index %d for tensor with %d dimensions. [Op:ExpandDims]" % (axis, x.ndim))
    if axis < 0:
        axis += x.ndim + 1
    s = list(x.shape)
    s.insert(axis, 1)
    return reshape(x, s)


def squeeze(input, axis=None, name=None):
    """Remove dimensions of size 1 (all, or those in axis).

    >>> import fastgrad as tf
    >>> tf.squeeze([[1], [2]]).numpy().tolist()
    [1, 2]
    """
    x = _t(input)
    s = list(x.shape)
    if axis is None:
        keep = [d for d in s if d != 1]
    else:
        axes = set()
        for a in ([axis] if isinstance(axis, (int, np.integer)) else axis):
            if not -x.ndim <= int(a) < x.ndim:
                raise InvalidArgumentError("Tried to squeeze dim index %d for tensor with %d "
                                           "dimensions. [Op:Squeeze]" % (int(a), x.ndim))
            axes.add(int(a) % x.ndim)
        for a in axes:
            if s[a] != 1:
                raise InvalidArgumentError(
                    "Can not squeeze dim[%d], expected a dimension of 1, got %d [Op:Squeeze]" % (a, s[a]))
        keep = [d for i, d in enumerate(s) if i not in axes]
    return reshape(x, keep)


def stack(values, axis=0, name=None):
    """Join tensors of the same shape along a new axis.

    >>> import fastgrad as tf
    >>> tf.stack([[1, 2], [3, 4]], axis=1).numpy().tolist()
    [[1, 3], [2, 4]]
    """
    values = list(values)
    if values and not any(isinstance(v, _core._TensorBase) for v in values):
        dt = _core.convert_to_tensor(values).dtype  # TF converts a list of Python values whole
        values = [_core.convert_to_tensor(v, dt) for v in values]
    values = [_t(v) for v in values]
    if not values:  # TF: an empty float32 vector
        return _core.zeros([0], float32._enum)
    nd = values[0].ndim
    axis = int(axis)
    if not -nd - 1 <= axis <= nd:
        raise ValueError("Argument `axis` = %d not in range [%d, %d)" % (axis, -nd - 1, nd + 1))
    for i, v in enumerate(values[1:], 1):
        if v.dtype != values[0].dtype:
            raise InvalidArgumentError(
                "cannot compute Pack as input #%d(zero-based) was expected to be a %s tensor but is a "
                "%s tensor [Op:Pack]" % (i, _core._tf_dtype_name(values[0].dtype._enum),
                                         _core._tf_dtype_name(v.dtype._enum)))
        if v.shape != values[0].shape:
            raise InvalidArgumentError(
                "Shapes of all inputs must match: values[0].shape = %s != values[%d].shape = %s [Op:Pack]"
                % (list(values[0].shape), i, list(v.shape)))
    return concat([expand_dims(v, axis) for v in values], axis)


def unstack(value, num=None, axis=0, name=None):
    """Split along axis into a list of tensors without that axis.

    >>> import fastgrad as tf
    >>> [t.numpy().tolist() for t in tf.unstack([[1, 2], [3, 4]])]
    [[1, 2], [3, 4]]
    """
    x = _t(value)
    axis = _norm_axis(axis, x.ndim)
    if num is not None and int(num) != x.shape[axis]:
        raise InvalidArgumentError("Input shape axis %d must equal %d, got shape [%s] [Op:Unpack]"
                                   % (axis, int(num), ",".join(str(d) for d in x.shape)))
    idx = [slice(None)] * x.ndim
    out = []
    for i in range(x.shape[axis]):
        idx[axis] = i
        out.append(x[tuple(idx)])
    return out


def split(value, num_or_size_splits, axis=0, num=None, name=None):
    """Split along axis into equal parts (an int) or given sizes (a list).

    >>> import fastgrad as tf
    >>> [t.numpy().tolist() for t in tf.split([1, 2, 3, 4, 5], [2, 3])]
    [[1, 2], [3, 4, 5]]
    """
    x = _t(value)
    is_num = isinstance(num_or_size_splits, (int, np.integer))
    if not -x.ndim <= int(axis) < x.ndim:
        raise InvalidArgumentError("-input rank(-%d) <= split_dim < input rank (%d), but got %d [Op:%s]"
                                   % (x.ndim, x.ndim, int(axis), "Split" if is_num else "SplitV"))
    axis = int(axis) % x.ndim
    dim = x.shape[axis]
    if is_num:
        n = int(num_or_size_splits)
        if n <= 0:
            raise InvalidArgumentError("Value for attr 'num_split' of %d must be at least minimum 1 "
                                       "[Op:Split]" % n)
        if dim % n:
            raise InvalidArgumentError(
                "Number of ways to split should evenly divide the split dimension, but got "
                "split_dim %d (size = %d) and num_split %d [Op:Split]" % (axis, dim, n))
        sizes = [dim // n] * n
    else:
        sizes = _ints(num_or_size_splits)
        if sizes.count(-1) == 1:
            sizes[sizes.index(-1)] = dim - (sum(sizes) + 1)
        if sum(sizes) != dim:
            raise InvalidArgumentError(
                "Determined shape must either match input shape along split_dim exactly if fully "
                "specified, or be less than the size of the input along split_dim if not fully "
                "specified.  Got: %d [Op:SplitV]" % sum(sizes))
    out, start = [], 0
    for sz in sizes:
        idx = [slice(None)] * x.ndim
        idx[axis] = slice(start, start + sz)
        out.append(x[tuple(idx)])
        start += sz
    return out


def tile(input, multiples, name=None):
    """Repeat input multiples[i] times along dimension i.

    >>> import fastgrad as tf
    >>> tf.tile([[1, 2]], [2, 1]).numpy().tolist()
    [[1, 2], [1, 2]]
    """
    return _core.apply(_OPS["tile"], [_t(input)], _ints(multiples))


def gather(params, indices, validate_indices=None, axis=None, batch_dims=0, name=None):
    """Take slices of params at indices along axis (dense gradient).

    With ``batch_dims`` b, the first b dims of params and indices are
    shared batch dims (axis defaults to b).

    >>> import fastgrad as tf
    >>> tf.gather([[1, 2], [3, 4]], [[1], [0]], batch_dims=1).numpy().tolist()
    [[2], [3]]
    """
    p = _t(params)
    idx = indices if isinstance(indices, _core._TensorBase) else _core.constant(np.asarray(indices))
    bd = int(batch_dims)
    if bd < 0:
        bd += idx.ndim
    axis = bd if axis is None else int(axis)
    if axis < 0:
        axis += p.ndim
    if axis >= p.ndim:
        raise InvalidArgumentError("Shape must be at least rank %d but is rank %d [Op:GatherV2]"
                                   % (axis + 1, p.ndim))
    if bd:
        if not 0 < bd <= idx.ndim:
            raise InvalidArgumentError("Expected batch_dims in the range [%d, %d], but got %d [Op:GatherV2]"
                                       % (-idx.ndim, idx.ndim, int(batch_dims)))
        if bd > axis:
            raise InvalidArgumentError("batch_dims (%d) must be less than or equal to axis (%d). [Op:GatherV2]"
                                       % (bd, axis))
        from fastgrad.array_manip import _gather_batched
        return _gather_batched(p, idx, axis, bd)
    return _core.apply(_OPS["gather"], [p, idx], [axis])


def broadcast_to(input, shape, name=None):
    """Broadcast input to shape (NumPy rules).

    >>> import fastgrad as tf
    >>> tf.broadcast_to([1, 2], [2, 2]).numpy().tolist()
    [[1, 2], [1, 2]]
    """
    s = _ints(shape)
    return _core.apply(_OPS["broadcast_to"], [_t(input)], [len(s)] + s)


def identity(input, name=None):
    """The same value as a new tensor (gradient passes through).

    >>> import fastgrad as tf
    >>> tf.identity([1.0, 2.0]).numpy().tolist()
    [1.0, 2.0]
    """
    return _core.apply(_OPS["identity"], [_t(input)])


def _shape_list(shape):
    _check_integral_shape(shape)
    dims = [int(shape)] if isinstance(shape, (int, np.integer)) else _ints(shape)
    for d in dims:
        if d < 0:
            raise InvalidArgumentError("Dimension %d must be >= 0 [Op:Fill]" % d)
    return dims


def _check_integral_shape(shape):
    """TF 2 refuses float shapes: a float list cannot become an int32
    tensor (TypeError), a float tensor is not a valid Fill index type."""
    if isinstance(shape, _core._TensorBase):
        if shape.dtype.is_floating:
            raise InvalidArgumentError(
                "Value for attr 'index_type' of %s is not in the list of allowed values: int32, "
                "int64\n\t; NodeDef: {{node Fill}}; Op<name=Fill; signature=dims:index_type, "
                "value:T -> output:T; attr=T:type; attr=index_type:type,default=DT_INT32,"
                "allowed=[DT_INT32, DT_INT64]> [Op:Fill]" % _core._tf_dtype_name(shape.dtype._enum))
        return
    if isinstance(shape, (float, np.floating)) or (
            isinstance(shape, (list, tuple)) and any(isinstance(d, (float, np.floating)) for d in shape)):
        raise TypeError("Cannot convert %r to EagerTensor of dtype int32" % (shape,))


def zeros(shape, dtype=float32, name=None):
    """A tensor of zeros.

    >>> import fastgrad as tf
    >>> tf.zeros([2, 3]).shape, tf.zeros([2], tf.int32).numpy().tolist()
    (TensorShape([2, 3]), [0, 0])
    """
    return _core.zeros(_shape_list(shape), as_dtype(dtype)._enum)


def ones(shape, dtype=float32, name=None):
    """A tensor of ones.

    >>> import fastgrad as tf
    >>> tf.ones([2]).numpy().tolist()
    [1.0, 1.0]
    """
    dtype = as_dtype(dtype)
    return _core.fill(_shape_list(shape), True if dtype.is_bool else 1, dtype)


def zeros_like(input, dtype=None, name=None):
    """Zeros with input's shape (and dtype unless given).

    >>> import fastgrad as tf
    >>> tf.zeros_like([[1, 2]]).numpy().tolist()
    [[0, 0]]
    """
    x = _t(input)
    return zeros(list(x.shape), dtype or x.dtype)


def ones_like(input, dtype=None, name=None):
    """Ones with input's shape (and dtype unless given).

    >>> import fastgrad as tf
    >>> tf.ones_like([1.5, 2.5]).numpy().tolist()
    [1.0, 1.0]
    """
    x = _t(input)
    return ones(list(x.shape), dtype or x.dtype)


def fill(dims, value, name=None):
    """A tensor of shape dims filled with value (its dtype as constant's).

    A tensor value is broadcast by a recorded op, so its gradient is the sum
    of the upstream gradient, as TF's Fill.

    >>> import fastgrad as tf
    >>> tf.fill([2, 2], 7).numpy().tolist()
    [[7, 7], [7, 7]]
    """
    if isinstance(value, _core._TensorBase) and value.ndim == 0:
        return broadcast_to(value, _shape_list(dims))
    return _core.fill(_shape_list(dims), value)


def range(start, limit=None, delta=1, dtype=None, name="range"):  # noqa: A001 - TF's name
    """Numbers from start (inclusive) to limit (exclusive) by delta.

    >>> import fastgrad as tf
    >>> tf.range(3).numpy().tolist(), tf.range(0.0, 1.0, 0.5).dtype.name
    ([0, 1, 2], 'float32')
    """
    if limit is None:
        start, limit = 0, start
    vals = [v.numpy() if isinstance(v, _core._TensorBase) else v for v in (start, limit, delta)]
    if dtype is None:
        floats = any(isinstance(v, (float, np.floating)) for v in vals)
        dtype = float32 if floats else int32
    dtype = as_dtype(dtype)
    start, limit, delta = (float(v) for v in vals)
    if delta == 0:
        raise InvalidArgumentError("Requires delta != 0: 0 [Op:Range]")
    if delta > 0 and start > limit or delta < 0 and start < limit:
        fmt = (lambda v: "%g" % v) if dtype.is_floating else (lambda v: "%d" % v)
        raise InvalidArgumentError("Requires start %s limit when delta %s 0: %s/%s [Op:Range]"
                                   % ("<=" if delta > 0 else ">=", ">" if delta > 0 else "<",
                                      fmt(start), fmt(limit)))
    n = max(0, int(np.ceil((limit - start) / delta)))
    return _core.range_(n, start, delta, dtype._enum)


def linspace(start, stop, num, name=None, axis=0):
    """num evenly spaced values from start to stop inclusive, along axis for vector start/stop.

    Built as TF's linspace_nd from recorded ops ([start, start + i * delta, stop]), so start
    and stop get gradients. Python floats give float32, Python ints float64, as TF.

    >>> import fastgrad as tf
    >>> tf.linspace(0.0, 1.0, 5).numpy().tolist()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    >>> tf.linspace([0.0, 1.0], [1.0, 3.0], 3, axis=1).numpy().tolist()
    [[0.0, 0.5, 1.0], [1.0, 2.0, 3.0]]
    """
    from fastgrad import math_ops as m
    if isinstance(start, _core._TensorBase):
        dt = start.dtype if start.dtype.is_floating else as_dtype("float64")
    elif isinstance(stop, _core._TensorBase) and stop.dtype.is_floating:
        dt = stop.dtype
    else:  # TF: Python floats give float32, Python ints float64
        floats = any(isinstance(v, float) or np.asarray(v).dtype.kind == "f" for v in (start, stop))
        dt = float32 if floats else as_dtype("float64")
    start = m.cast(_t(start), dt)
    stop = m.cast(_t(stop), dt)
    num = int(num.numpy()) if isinstance(num, _core._TensorBase) else int(num)
    es = expand_dims(start, axis)
    ee = expand_dims(stop, axis)
    ax = axis if axis >= 0 else axis + es.ndim
    n_steps = max(num - 1, 1)
    delta = m.divide(m.subtract(ee, es), _core.constant(float(n_steps), dt))
    idx_shape = [1] * es.ndim
    idx_shape[ax] = -1
    steps = reshape(_core.range_(max(n_steps - 1, 0), 1.0, 1.0, dt._enum), idx_shape)
    res = m.add(es, m.multiply(steps, delta))
    out = concat([es, res, ee], ax)
    if num != n_steps + 1:  # num 0 or 1: the first num values
        begin = [0] * out.ndim
        size = list(out.shape)
        size[ax] = max(num, 0)
        out = _core.apply(_OPS["strided_slice"], [out], begin + [1] * out.ndim + size)
    return out


def eye(num_rows, num_columns=None, batch_shape=None, dtype=float32, name=None):
    """Identity matrix (or a batch of them).

    >>> import fastgrad as tf
    >>> tf.eye(2).numpy().tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    m = np.eye(int(num_rows), int(num_columns) if num_columns is not None else None,
               dtype=as_dtype(dtype).as_numpy_dtype)
    if batch_shape is not None:
        m = np.broadcast_to(m, tuple(_ints(batch_shape)) + m.shape).copy()
    return _core.constant(m)


def one_hot(indices, depth, on_value=None, off_value=None, axis=None, dtype=None, name=None):
    """One-hot encode integer indices along a new axis (default last); not differentiable.

    Indices outside [0, depth) give a row of ``off_value``, as TF.

    >>> import fastgrad as tf
    >>> tf.one_hot([0, 2, -1], 3).numpy().tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]]
    """
    return _one_hot(indices, depth, on_value, off_value, axis, dtype, False)


def _one_hot(indices, depth, on_value, off_value, axis, dtype, check):
    # check: raise for an index outside [0, depth) (the sparse cross-entropies), in C,
    # so a traced step needs no guard on the labels' values
    idx = indices if isinstance(indices, _core._TensorBase) else _core.constant(indices)
    if dtype is None:  # TF: the dtype of on_value or off_value when given, else float32
        known = [_t(v) for v in (on_value, off_value) if v is not None]
        dtype = known[0].dtype if known else float32
    dt = as_dtype(dtype)
    on = _core.constant(1 if on_value is None else on_value, dt)
    off = _core.constant(0 if off_value is None else off_value, dt)
    return _core.apply(_OPS["one_hot"], [idx, on, off], [int(depth), -1 if axis is None else int(axis), check])


def shape(input, out_type=int32, name=None):
    """The shape of input as an int32 tensor.

    >>> import fastgrad as tf
    >>> tf.shape([[1, 2, 3]]).numpy().tolist()
    [1, 3]
    """
    return _core.constant(np.array(list(_t(input).shape), dtype=as_dtype(out_type).as_numpy_dtype))


def size(input, out_type=int32, name=None):
    """The number of elements of input.

    >>> import fastgrad as tf
    >>> int(tf.size([[1, 2, 3]]))
    3
    """
    return _core.constant(np.array(TensorShape(_t(input).shape).num_elements(),
                                   dtype=as_dtype(out_type).as_numpy_dtype))


def rank(input, name=None):
    """The number of dimensions of input.

    >>> import fastgrad as tf
    >>> int(tf.rank([[1, 2, 3]]))
    2
    """
    return _core.constant(np.int32(_t(input).ndim))
