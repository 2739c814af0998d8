"""Array manipulation with TensorFlow's names: padding, gather/scatter by
index tuples, masks, reversal, rolling, repetition and the block
rearrangements (space_to_batch / batch_to_space).

The index ops (pad, gather_nd, scatter_nd, tensor_scatter_nd_*,
reverse_sequence, unravel_index, invert_permutation) are table ops in C
(csrc/fg_array.c); the rest compose table ops here, so their gradients come
from the table.

>>> import fastgrad as tf
>>> tf.pad(tf.constant([[1, 2]]), [[1, 0], [0, 1]]).numpy().tolist()
[[0, 0, 0], [1, 2, 0]]
"""
import builtins

import numpy as np

from fastgrad import _core
from fastgrad.array_ops import _ints, _t, concat, identity, reshape, transpose, broadcast_to
from fastgrad.dtypes import as_dtype, bool as _bool, int32
from fastgrad.errors import InvalidArgumentError
from fastgrad.tensor_shape import TensorShape

__all__ = [
    "pad", "gather_nd", "scatter_nd", "tensor_scatter_nd_update", "tensor_scatter_nd_add",
    "tensor_scatter_nd_sub", "tensor_scatter_nd_min", "tensor_scatter_nd_max", "boolean_mask",
    "reverse", "roll", "repeat", "meshgrid", "slice", "strided_slice", "sequence_mask",
    "identity_n", "shape_n", "broadcast_static_shape", "broadcast_dynamic_shape", "ensure_shape",
    "reverse_sequence", "space_to_batch_nd", "space_to_batch", "batch_to_space",
    "dynamic_partition", "dynamic_stitch", "unravel_index",
]

_OPS = _core.OPS
_PAD_MODES = {"CONSTANT": 0, "REFLECT": 1, "SYMMETRIC": 2}


def _shape_text(shape):
    return "[%s]" % ",".join(str(d) for d in shape)


def _index_tensor(indices):
    """Indices as an int32/int64 tensor: Python values become int32 (int64
    when too large), NumPy arrays keep their integer width, as TF's."""
    if isinstance(indices, _core._TensorBase):
        return indices
    a = np.asarray(indices)
    if not isinstance(indices, np.ndarray) or a.dtype.kind not in "iu" or a.dtype.itemsize < 4:
        big = a.size and a.dtype.kind in "iu" and (a.max() > 2**31 - 1 or a.min() < -2**31)
        a = a.astype(np.int64 if big else np.int32) if a.dtype.kind in "iub" or a.size == 0 else a
    elif a.dtype not in (np.int32, np.int64):
        a = a.astype(np.int64)
    return _core.constant(a)


def _like(value, x):
    """value as a tensor of x's dtype (Python numbers take it, as TF's)."""
    if isinstance(value, _core._TensorBase):
        return value
    return _core.constant(value, x.dtype)


def pad(tensor, paddings, mode="CONSTANT", constant_values=0, name=None):
    """Pad a tensor: ``paddings[d] = [before, after]`` for each dimension.

    ``mode`` is ``"CONSTANT"`` (with ``constant_values``), ``"REFLECT"``
    (mirror without the edge) or ``"SYMMETRIC"`` (mirror with it), any
    case. The gradient is a slice (constant) or the mirrored sums.

    >>> import fastgrad as tf
    >>> tf.pad(tf.constant([1, 2, 3]), [[2, 1]], "REFLECT").numpy().tolist()
    [3, 2, 1, 2, 3, 2]
    """
    m = str(mode).upper()
    if m not in _PAD_MODES:
        raise ValueError('Value of argument `mode` expected to be one of "CONSTANT", "REFLECT", or '
                         '"SYMMETRIC". Received `mode` = %s' % mode)
    x = _t(tensor)
    p = np.asarray(paddings.numpy() if isinstance(paddings, _core._TensorBase) else paddings)
    if p.ndim != 2 or p.shape[1] != 2 or p.shape[0] != x.ndim:
        raise InvalidArgumentError(
            "The first dimension of paddings must be the rank of inputs%s %s [Op:%s]"
            % (_shape_text(p.shape), _shape_text(x.shape), "Pad" if m == "CONSTANT" else "MirrorPad"))
    p = p.astype(np.int64)
    cv = _like(constant_values if m == "CONSTANT" else 0, x)
    return _core.apply(_OPS["pad"], [x, cv], [_PAD_MODES[m]] + [int(v) for v in p[:, 0]]
                       + [int(v) for v in p[:, 1]])


def gather_nd(params, indices, batch_dims=0, name=None):
    """Slices of params at index tuples: ``indices[..., k]`` indexes params' first k dims
    (after ``batch_dims`` leading dims shared with indices).

    >>> import fastgrad as tf
    >>> tf.gather_nd(tf.constant([[1, 2], [3, 4]]), [[1, 0], [0, 1]]).numpy().tolist()
    [3, 2]
    """
    p = _t(params)
    idx = _index_tensor(indices)
    bd = int(batch_dims)
    if bd < 0:
        bd += idx.ndim
    return _core.apply(_OPS["gather_nd"], [p, idx], [0, bd, 0])


def _gather_batched(p, idx, axis, batch_dims):
    """tf.gather with batch_dims > 0: gather_nd over the batch dims, with
    the gathered axis moved next to them and back."""
    r = p.ndim
    bd = batch_dims
    for i in builtins.range(bd):
        if p.shape[i] != idx.shape[i]:
            raise InvalidArgumentError("params.shape[%d]: %d should be equal to indices.shape[%d]: %d "
                                       "[Op:GatherV2]" % (i, p.shape[i], i, idx.shape[i]))
    if axis != bd:
        perm = list(builtins.range(bd)) + [axis] + list(builtins.range(bd, axis)) \
            + list(builtins.range(axis + 1, r))
        p = transpose(p, perm)
    out = _core.apply(_OPS["gather_nd"], [p, reshape(idx, list(idx.shape) + [1])], [0, bd, 1])
    m, ni = axis - bd, idx.ndim - bd
    if m:  # [B, I, P', Q] -> [B, P', I, Q]
        perm = (list(builtins.range(bd)) + list(builtins.range(bd + ni, bd + ni + m))
                + list(builtins.range(bd, bd + ni)) + list(builtins.range(bd + ni + m, out.ndim)))
        out = transpose(out, perm)
    return out


def scatter_nd(indices, updates, shape, name=None):
    """Zeros of ``shape`` with ``updates`` added at ``indices`` (duplicates sum).

    >>> import fastgrad as tf
    >>> tf.scatter_nd([[1], [3], [1]], [1.0, 2.0, 3.0], [4]).numpy().tolist()
    [0.0, 4.0, 0.0, 2.0]
    """
    idx = _index_tensor(indices)
    u = _t(updates)
    s = _ints(shape)
    return _core.apply(_OPS["scatter_nd"], [u, idx], [0, 0, len(s)] + s)


def _tensor_scatter(mode, tensor, indices, updates):
    x = _t(tensor)
    idx = _index_tensor(indices)
    u = _like(updates, x)
    op = _OPS["tensor_scatter_minmax" if mode >= 3 else "tensor_scatter"]
    return _core.apply(op, [x, idx, u], [mode, 0])


def tensor_scatter_nd_update(tensor, indices, updates, name=None):
    """A copy of tensor with the slices at indices replaced by updates (the last duplicate wins).

    >>> import fastgrad as tf
    >>> tf.tensor_scatter_nd_update([1, 2, 3], [[0], [2]], [7, 9]).numpy().tolist()
    [7, 2, 9]
    """
    return _tensor_scatter(0, tensor, indices, updates)


def tensor_scatter_nd_add(tensor, indices, updates, name=None):
    """A copy of tensor with updates added at indices.

    >>> import fastgrad as tf
    >>> tf.tensor_scatter_nd_add([1, 2, 3], [[0], [0]], [7, 9]).numpy().tolist()
    [17, 2, 3]
    """
    return _tensor_scatter(1, tensor, indices, updates)


def tensor_scatter_nd_sub(tensor, indices, updates, name=None):
    """A copy of tensor with updates subtracted at indices.

    >>> import fastgrad as tf
    >>> tf.tensor_scatter_nd_sub([1, 2, 3], [[1]], [7]).numpy().tolist()
    [1, -5, 3]
    """
    return _tensor_scatter(2, tensor, indices, updates)


def tensor_scatter_nd_min(tensor, indices, updates, name=None):
    """A copy of tensor with the elementwise minimum of it and updates at indices.

    >>> import fastgrad as tf
    >>> tf.tensor_scatter_nd_min([1, 2, 3], [[1], [2]], [0, 5]).numpy().tolist()
    [1, 0, 3]
    """
    return _tensor_scatter(3, tensor, indices, updates)


def tensor_scatter_nd_max(tensor, indices, updates, name=None):
    """A copy of tensor with the elementwise maximum of it and updates at indices.

    >>> import fastgrad as tf
    >>> tf.tensor_scatter_nd_max([1, 2, 3], [[1], [2]], [0, 5]).numpy().tolist()
    [1, 2, 5]
    """
    return _tensor_scatter(4, tensor, indices, updates)


def boolean_mask(tensor, mask, axis=None, name=None):
    """The slices of tensor where mask (covering dims ``axis..axis+mask.ndim``) is True.

    The output's length depends on the mask's values: a traced
    ``fastgrad.function`` retraces when it changes.

    >>> import fastgrad as tf
    >>> tf.boolean_mask([[1, 2], [3, 4], [5, 6]], [True, False, True]).numpy().tolist()
    [[1, 2], [5, 6]]
    """
    x = _t(tensor)
    mk = mask if isinstance(mask, _core._TensorBase) else _core.constant(np.asarray(mask, dtype=bool))
    if mk.ndim == 0:
        raise ValueError("mask cannot be scalar.")
    axis = 0 if axis is None else int(axis)
    if axis < 0:
        axis += x.ndim
    m = mk.ndim
    got = tuple(x.shape)[axis:axis + m]
    if got != tuple(mk.shape):
        raise ValueError("Shapes %s and %s are incompatible" % (_tuple_text(got), _tuple_text(tuple(mk.shape))))
    s = list(x.shape)
    n = int(np.prod(s[axis:axis + m], dtype=np.int64))
    flat = reshape(x, s[:axis] + [n] + s[axis + m:]) if m != 1 else x
    where = _core.apply(_OPS["where_indices"], [reshape(mk, [n]) if m != 1 else mk])
    idx = reshape(where, [-1])
    return _core.apply(_OPS["gather"], [flat, idx], [axis])


def _tuple_text(t):
    return "(%s)" % (", ".join(str(d) for d in t) + ("," if len(t) == 1 else ""))


def _slice_op(x, start, step, length):
    return _core.apply(_OPS["strided_slice"], [x], list(start) + list(step) + list(length))


def reverse(tensor, axis, name=None):
    """Reverse the order of elements along the given axes.

    >>> import fastgrad as tf
    >>> tf.reverse([[1, 2], [3, 4]], [1]).numpy().tolist()
    [[2, 1], [4, 3]]
    """
    x = _t(tensor)
    nd = x.ndim
    axes = _ints(axis)
    seen = set()
    for i, a in enumerate(axes):
        if not -nd <= a < nd:
            raise InvalidArgumentError("'axis'[%d] = %d is out of valid range [0, %d [Op:ReverseV2]"
                                       % (i, a, nd - 1))
        if a % nd in seen:
            raise InvalidArgumentError("axis %d specified more than once. [Op:ReverseV2]" % (a % nd))
        seen.add(a % nd)
    shape = list(x.shape)
    start = [shape[d] - 1 if d in seen and shape[d] else 0 for d in builtins.range(nd)]
    step = [-1 if d in seen else 1 for d in builtins.range(nd)]
    return _slice_op(x, start, step, shape)


def roll(input, shift, axis, name=None):  # noqa: A002 - TF's name
    """Rotate elements along axes: element i moves to (i + shift) mod n.

    >>> import fastgrad as tf
    >>> tf.roll([1, 2, 3, 4], shift=1, axis=0).numpy().tolist()
    [4, 1, 2, 3]
    """
    x = _t(input)
    shifts, axes = _ints(shift), _ints(axis)
    if len(shifts) != len(axes):
        raise InvalidArgumentError("shift and axis must have the same size [Op:Roll]")
    total = {}
    for s, a in zip(shifts, axes):
        if not -x.ndim <= a < x.ndim:
            raise InvalidArgumentError("axis %d is out of range [Op:Roll]" % a)
        total[a % x.ndim] = total.get(a % x.ndim, 0) + s
    shape = list(x.shape)
    for a, s in sorted(total.items()):
        n = shape[a]
        s = s % n if n else 0
        if not s:
            continue
        ones = [1] * x.ndim
        head = [0] * x.ndim
        head[a] = n - s
        tail_len = list(shape)
        tail_len[a] = s
        rest_len = list(shape)
        rest_len[a] = n - s
        x = concat([_slice_op(x, head, ones, tail_len), _slice_op(x, [0] * x.ndim, ones, rest_len)], a)
    return x if total else identity(x)


def repeat(input, repeats, axis=None, name=None):  # noqa: A002 - TF's name
    """Repeat each element (along axis; of the flattened input when None) repeats times.

    >>> import fastgrad as tf
    >>> tf.repeat([1, 2], [2, 1]).numpy().tolist()
    [1, 1, 2]
    """
    x = _t(input)
    if axis is None:
        x = reshape(x, [-1])
        axis = 0
    axis = int(axis) % builtins.max(x.ndim, 1)
    reps = np.asarray(repeats.numpy() if isinstance(repeats, _core._TensorBase) else repeats).astype(np.int64)
    n = x.shape[axis]
    if reps.ndim == 0 or reps.size == 1:
        r = int(reps.reshape(-1)[0])
        s = list(x.shape)
        b = broadcast_to(reshape(x, s[:axis + 1] + [1] + s[axis + 1:]), s[:axis + 1] + [r] + s[axis + 1:])
        return reshape(b, s[:axis] + [n * r] + s[axis + 1:])
    if reps.ndim != 1 or reps.size != n:
        raise ValueError("Dimensions %d and %d are not compatible" % (n, reps.size))
    idx = np.repeat(np.arange(n, dtype=np.int64), reps)
    return _core.apply(_OPS["gather"], [x, _core.constant(idx)], [axis])


def meshgrid(*args, **kwargs):
    """Coordinate grids from 1-D tensors; ``indexing='xy'`` (default) swaps the first two axes.

    >>> import fastgrad as tf
    >>> [t.shape.as_list() for t in tf.meshgrid([1, 2, 3], [4, 5])]
    [[2, 3], [2, 3]]
    """
    indexing = kwargs.pop("indexing", "xy")
    kwargs.pop("name", None)
    if kwargs:
        raise TypeError("'%s' is an invalid keyword argument for this function" % next(iter(kwargs)))
    if indexing not in ("xy", "ij"):
        raise ValueError("Argument `indexing` parameter must be either 'xy' or 'ij', got '%s'" % indexing)
    xs = [reshape(_t(a), [-1]) for a in args]
    n = len(xs)
    sizes = [x.shape[0] for x in xs]
    if indexing == "xy" and n > 1:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    out = []
    for i, x in enumerate(xs):
        pos = i
        if indexing == "xy" and n > 1 and i < 2:
            pos = 1 - i
        s = [1] * n
        s[pos] = x.shape[0]
        out.append(broadcast_to(reshape(x, s), sizes))
    return out


def slice(input_, begin, size, name=None):  # noqa: A001 - TF's name
    """The block of ``size`` elements starting at ``begin`` (a size of -1 takes the rest).

    >>> import fastgrad as tf
    >>> tf.slice([[1, 2, 3], [4, 5, 6]], [1, 1], [1, -1]).numpy().tolist()
    [[5, 6]]
    """
    x = _t(input_)
    b, s = _ints(begin), _ints(size)
    shape = list(x.shape)
    if len(b) != x.ndim or len(s) != x.ndim:
        raise InvalidArgumentError(
            "Expected begin and size arguments to be 1-D tensors of size %d, but got shapes [%d] and "
            "[%d] instead. [Op:Slice]" % (x.ndim, len(b), len(s)))
    for i in builtins.range(x.ndim):
        if not 0 <= b[i] <= shape[i]:
            raise InvalidArgumentError("Expected begin[%d] in [0, %d], but got %d [Op:Slice]" % (i, shape[i], b[i]))
        if s[i] == -1:
            s[i] = shape[i] - b[i]
        if not 0 <= s[i] <= shape[i] - b[i]:
            raise InvalidArgumentError("Expected size[%d] in [0, %d], but got %d [Op:Slice]"
                                       % (i, shape[i] - b[i], s[i]))
    return _slice_op(x, [bi if si else 0 for bi, si in zip(b, s)], [1] * x.ndim, s)


def strided_slice(input_, begin, end, strides=None, begin_mask=0, end_mask=0, ellipsis_mask=0,
                  new_axis_mask=0, shrink_axis_mask=0, var=None, name=None):
    """TF's strided slice with its masks (what ``t[...]`` lowers to).

    >>> import fastgrad as tf
    >>> tf.strided_slice([[1, 2, 3], [4, 5, 6]], [0, 2], [2, 0], [1, -1]).numpy().tolist()
    [[3, 2], [6, 5]]
    """
    from fastgrad._indexing import getitem
    x = _t(input_)
    b, e = _ints(begin), _ints(end)
    st = [1] * len(b) if strides is None else _ints(strides)
    if not len(b) == len(e) == len(st):
        raise InvalidArgumentError("Expected begin, end, and strides to be 1D equal size tensors, but got "
                                   "shapes [%d], [%d], and [%d] instead. [Op:StridedSlice]" % (len(b), len(e), len(st)))
    key = []
    for i in builtins.range(len(b)):
        bit = 1 << i
        if ellipsis_mask & bit:
            key.append(Ellipsis)
        elif new_axis_mask & bit:
            key.append(None)
        elif shrink_axis_mask & bit:
            key.append(b[i])
        else:
            if st[i] == 0:
                raise InvalidArgumentError("strides[%d] must be non-zero [Op:StridedSlice]" % i)
            key.append(builtins.slice(None if begin_mask & bit else b[i], None if end_mask & bit else e[i], st[i]))
    return getitem(x, tuple(key))


def sequence_mask(lengths, maxlen=None, dtype=_bool, name=None):
    """``mask[..., j] = j < lengths[...]`` over a new last axis of length maxlen
    (default: the largest length).

    >>> import fastgrad as tf
    >>> tf.sequence_mask([1, 3], 4).numpy().astype(int).tolist()
    [[1, 0, 0, 0], [1, 1, 1, 0]]
    """
    from fastgrad import math_ops
    ln = _t(lengths)
    if maxlen is None:  # TF: the largest length
        maxlen = math_ops.reduce_max(ln) if int(np.prod(ln.shape, dtype=np.int64)) else 0
    m = int(maxlen.numpy() if isinstance(maxlen, _core._TensorBase) else maxlen)
    if m < 0:
        raise InvalidArgumentError("Requires start <= limit when delta > 0: 0/%d [Op:Range]" % m)
    r = _core.constant(np.arange(m, dtype=ln.dtype.as_numpy_dtype))
    out = math_ops.less(r, reshape(ln, list(ln.shape) + [1]))
    dt = as_dtype(dtype)
    return out if dt == _bool else math_ops.cast(out, dt)


def identity_n(input, name=None):  # noqa: A002 - TF's name
    """A list of identities of the inputs (gradients pass through)."""
    return [identity(x) for x in input]


def shape_n(input, out_type=int32, name=None):  # noqa: A002 - TF's name
    """The shapes of the inputs, each as a 1-D tensor of out_type.

    >>> import fastgrad as tf
    >>> [s.numpy().tolist() for s in tf.shape_n([tf.zeros((2, 3)), tf.zeros(4)])]
    [[2, 3], [4]]
    """
    from fastgrad.array_ops import shape
    return [shape(x, out_type) for x in input]


def _broadcast(a, b):
    a, b = list(a), list(b)
    n = builtins.max(len(a), len(b))
    a, b = [1] * (n - len(a)) + a, [1] * (n - len(b)) + b
    out = []
    for x, y in zip(a, b):
        if x != y and x != 1 and y != 1:
            return None
        out.append(y if x == 1 else x)
    return out


def broadcast_static_shape(shape_x, shape_y):
    """The broadcast of two TensorShapes (ValueError when they do not broadcast).

    >>> import fastgrad as tf
    >>> tf.broadcast_static_shape(tf.TensorShape([3, 1]), tf.TensorShape([4]))
    TensorShape([3, 4])
    """
    a, b = TensorShape(shape_x), TensorShape(shape_y)
    out = _broadcast(a.as_list(), b.as_list())
    if out is None:
        raise ValueError("Incompatible shapes for broadcasting. Two shapes are compatible if for each dimension "
                         "pair they are either equal or one of them is 1. Received: %s and %s."
                         % (_tuple_text(tuple(a.as_list())), _tuple_text(tuple(b.as_list()))))
    return TensorShape(out)


def broadcast_dynamic_shape(shape_x, shape_y):
    """The broadcast of two shapes given as 1-D integer tensors.

    >>> import fastgrad as tf
    >>> tf.broadcast_dynamic_shape([3, 1], [4]).numpy().tolist()
    [3, 4]
    """
    a, b = _t(shape_x), _t(shape_y)
    out = _broadcast(_ints(a), _ints(b))
    if out is None:
        raise InvalidArgumentError("Incompatible shapes: %s vs. %s [Op:BroadcastArgs]"
                                   % (_shape_text(_ints(a)), _shape_text(_ints(b))))
    return _core.constant(np.asarray(out, dtype=a.dtype.as_numpy_dtype))


def ensure_shape(x, shape, name=None):
    """x, after checking that its shape is compatible with shape (None: any size).

    >>> import fastgrad as tf
    >>> tf.ensure_shape(tf.zeros((2, 3)), [2, None]).shape
    TensorShape([2, 3])
    """
    x = _t(x)
    if isinstance(shape, TensorShape):
        dims = None if shape.rank is None else shape.as_list()
    else:
        dims = None if shape is None else [None if d is None else int(d) for d in shape]
    have = list(x.shape)
    if dims is not None and (len(dims) != len(have) or any(d is not None and d != h for d, h in zip(dims, have))):
        raise InvalidArgumentError(
            "Shape of tensor input %s is not compatible with expected shape %s. [Op:EnsureShape]"
            % (_shape_text(have), _shape_text(["?" if d is None else d for d in dims])))
    return identity(x)


def reverse_sequence(input, seq_lengths, seq_axis=None, batch_axis=None, name=None):  # noqa: A002
    """Reverse the first ``seq_lengths[b]`` elements along seq_axis of each batch entry b.

    >>> import fastgrad as tf
    >>> tf.reverse_sequence([[1, 2, 3], [4, 5, 6]], [2, 3], seq_axis=1, batch_axis=0).numpy().tolist()
    [[2, 1, 3], [6, 5, 4]]
    """
    x = _t(input)
    ln = _index_tensor(seq_lengths)
    if seq_axis is None:
        raise ValueError("seq_axis must be given")
    return _core.apply(_OPS["reverse_sequence"], [x, ln], [int(seq_axis), 0 if batch_axis is None else int(batch_axis)])


def _block_args(x, block_shape, pairs, what):
    bs = _ints(block_shape)
    p = np.asarray(pairs.numpy() if isinstance(pairs, _core._TensorBase) else pairs, dtype=np.int64).reshape(-1, 2)
    m = len(bs)
    if p.shape[0] != m:
        raise InvalidArgumentError("%s should have shape [%d, 2] instead of %s" % (what, m, _shape_text(p.shape)))
    if x.ndim < 1 + m:
        raise InvalidArgumentError("input rank should be >= %d instead of %d" % (1 + m, x.ndim))
    for b in bs:
        if b < 1:
            raise InvalidArgumentError("All values in block_shape must be positive, got value, %d instead." % b)
    return bs, p


def space_to_batch_nd(input, block_shape, paddings, name=None):  # noqa: A002 - TF's name
    """Zero-pad the spatial dims, then move blocks of them into the batch dim.

    >>> import fastgrad as tf
    >>> tf.space_to_batch_nd(tf.reshape(tf.range(4), [1, 2, 2, 1]), [2, 2], [[0, 0], [0, 0]]).shape
    TensorShape([4, 1, 1, 1])
    """
    x = _t(input)
    bs, p = _block_args(x, block_shape, paddings, "paddings")
    m = len(bs)
    full = np.zeros((x.ndim, 2), np.int64)
    full[1:1 + m] = p
    if (p < 0).any():
        raise InvalidArgumentError("Negative paddings are not allowed [Op:SpaceToBatchND]")
    x = pad(x, full)
    s = list(x.shape)
    for i, b in enumerate(bs):
        if s[1 + i] % b:
            raise InvalidArgumentError("padded_shape[%d]=%d is not divisible by block_shape[%d]=%d "
                                       "[Op:SpaceToBatchND]" % (i, s[1 + i], i, b))
    rest = s[1 + m:]
    split = [s[0]]
    for i, b in enumerate(bs):
        split += [s[1 + i] // b, b]
    y = reshape(x, split + rest)
    perm = [2 + 2 * i for i in builtins.range(m)] + [0] + [1 + 2 * i for i in builtins.range(m)] \
        + list(builtins.range(1 + 2 * m, 1 + 2 * m + len(rest)))
    y = transpose(y, perm)
    return reshape(y, [s[0] * int(np.prod(bs))] + [s[1 + i] // b for i, b in enumerate(bs)] + rest)


def space_to_batch(input, block_shape, paddings, name=None):  # noqa: A002 - TF's name
    """TF 2's ``tf.space_to_batch``: the same as space_to_batch_nd."""
    return space_to_batch_nd(input, block_shape, paddings)


def batch_to_space(input, block_shape, crops, name=None):  # noqa: A002 - TF's name
    """The inverse of space_to_batch_nd: blocks of the batch dim back into the spatial dims, then cropped.

    >>> import fastgrad as tf
    >>> tf.batch_to_space(tf.reshape(tf.range(4), [4, 1, 1, 1]), [2, 2], [[0, 0], [0, 0]]).shape
    TensorShape([1, 2, 2, 1])
    """
    x = _t(input)
    bs, c = _block_args(x, block_shape, crops, "crops")
    m = len(bs)
    s = list(x.shape)
    nb = int(np.prod(bs))
    if s[0] % nb:
        raise InvalidArgumentError("Input batch dimension (%d) is not divisible by product of block sizes (%d) "
                                   "[Op:BatchToSpaceND]" % (s[0], nb))
    rest = s[1 + m:]
    y = reshape(x, bs + [s[0] // nb] + s[1:])
    perm = [m]
    for i in builtins.range(m):
        perm += [m + 1 + i, i]
    perm += list(builtins.range(2 * m + 1, 2 * m + 1 + len(rest)))
    y = transpose(y, perm)
    full = [s[0] // nb] + [s[1 + i] * b for i, b in enumerate(bs)] + rest
    y = reshape(y, full)
    if c.any():
        if (c < 0).any():
            raise InvalidArgumentError("Negative crops are not allowed [Op:BatchToSpaceND]")
        begin = [0] + [int(v) for v in c[:, 0]] + [0] * len(rest)
        size = [full[0]] + [full[1 + i] - int(c[i, 0]) - int(c[i, 1]) for i in builtins.range(m)] + rest
        for i in builtins.range(m):
            if size[1 + i] < 0:
                raise InvalidArgumentError("Crops must not exceed the block-expanded size [Op:BatchToSpaceND]")
        y = slice(y, begin, size)
    return y


def dynamic_partition(data, partitions, num_partitions, name=None):
    """Split data into num_partitions lists by the partition index of each
    leading slice (partitions' shape is a prefix of data's).

    >>> import fastgrad as tf
    >>> [t.numpy().tolist() for t in tf.dynamic_partition([10, 20, 30], [1, 0, 1], 2)]
    [[20], [10, 30]]
    """
    from fastgrad import math_ops
    x = _t(data)
    pt = _index_tensor(partitions)
    n = int(num_partitions)
    pv = pt.numpy().reshape(-1)
    bad = np.nonzero((pv < 0) | (pv >= n))[0]
    if bad.size:
        i = int(bad[0])
        pos = ",".join(str(int(v)) for v in np.unravel_index(i, tuple(pt.shape))) if pt.ndim else ""
        raise InvalidArgumentError("partitions[%s] = %d is not in [0, %d) [Op:DynamicPartition]" % (pos, pv[i], n))
    if pt.ndim == 0:  # one slice: the whole data in its partition
        x = reshape(x, [1] + list(x.shape))
        pt = reshape(pt, [1])
    return [boolean_mask(x, math_ops.equal(pt, _core.constant(p, pt.dtype))) for p in builtins.range(n)]


def dynamic_stitch(indices, data, name=None):
    """Interleave data into one tensor: ``merged[indices[m][i], ...] = data[m][i, ...]``
    (for duplicate indices the last wins; every duplicate gets the gradient, as TF's).

    >>> import fastgrad as tf
    >>> tf.dynamic_stitch([[0, 2], [1]], [[1.0, 2.0], [3.0]]).numpy().tolist()
    [1.0, 3.0, 2.0]
    """
    idx = [_index_tensor(i) for i in indices]
    ds = [_t(d) for d in data]
    if len(idx) != len(ds):
        raise InvalidArgumentError("List argument 'data' to 'DynamicStitch' Op with length %d must match length "
                                   "%d of argument 'indices'." % (len(ds), len(idx)))
    rest = list(ds[0].shape)[idx[0].ndim:] if ds else []
    flat_i, flat_d, top = [], [], -1
    for k, (i, d) in enumerate(zip(idx, ds)):
        if list(d.shape)[:i.ndim] != list(i.shape) or list(d.shape)[i.ndim:] != rest:
            raise InvalidArgumentError("data[%d].shape = %s does not start with indices[%d].shape = %s "
                                       "[Op:DynamicStitch]" % (k, _shape_text(d.shape), k, _shape_text(i.shape)))
        iv = i.numpy().reshape(-1)
        if iv.size:
            if iv.min() < 0:
                raise InvalidArgumentError("indices[%d] is out of range [Op:DynamicStitch]" % int(np.argmin(iv)))
            top = builtins.max(top, int(iv.max()))
        flat_i.append(reshape(i, [iv.size, 1]))
        flat_d.append(reshape(d, [iv.size] + rest))
    zeros = _core.zeros([top + 1] + rest, ds[0].dtype._enum)
    if len({t.dtype for t in flat_i}) > 1:
        from fastgrad.math_ops import cast
        flat_i = [cast(t, "int64") for t in flat_i]
    allidx = flat_i[0] if len(flat_i) == 1 else concat(flat_i, 0)
    alldata = flat_d[0] if len(flat_d) == 1 else concat(flat_d, 0)
    return _core.apply(_OPS["tensor_scatter"], [zeros, allidx, alldata], [0, 0])


def unravel_index(indices, dims, name=None):
    """The coordinates of flat indices in an array of shape dims: [len(dims)] or [len(dims), n].

    >>> import fastgrad as tf
    >>> tf.unravel_index([5, 7], [3, 4]).numpy().tolist()
    [[1, 1], [1, 3]]
    """
    i = _index_tensor(indices)
    d = dims if isinstance(dims, _core._TensorBase) else _core.constant(np.asarray(dims), i.dtype)
    return _core.apply(_OPS["unravel_index"], [i, d])


def invert_permutation(x, name=None):
    """The inverse permutation: ``y[x[i]] = i`` (``tf.math.invert_permutation``).

    >>> import fastgrad as tf
    >>> tf.math.invert_permutation([2, 0, 1]).numpy().tolist()
    [1, 2, 0]
    """
    return _core.apply(_OPS["invert_permutation"], [_index_tensor(x)])
