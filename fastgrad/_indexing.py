"""``tensor[key]``: NumPy/TF basic indexing as one strided-slice op.

A key is turned into a start/step/length per input dimension (C does the
copy, and its gradient scatters back), then a reshape drops integer-indexed
dimensions and inserts ``newaxis`` ones. An integer array or integer
Tensor index gathers along the first axis (TF raises there).
"""
import numpy as np

from fastgrad import _core
from fastgrad.errors import InvalidArgumentError

_SLICE = _core.OPS["strided_slice"]
_RESHAPE = _core.OPS["reshape"]
_GATHER = _core.OPS["gather"]


# TF's text (fastgrad also gathers with integer arrays, see the module doc)
_BAD_INDEX = ("Only integers, slices (`:`), ellipsis (`...`), tf.newaxis (`None`) and scalar "
              "tf.int32/tf.int64 tensors are valid indices, got %r")


def _is_int(k):
    return isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_))


def _gather_index(x, key):
    idx = np.asarray(key)
    if idx.dtype.kind not in "iu":
        raise TypeError(_BAD_INDEX % (key,))
    if x.ndim == 0:
        raise InvalidArgumentError("Cannot gather from a scalar tensor")
    dim = x.shape[0]
    idx = np.where(idx < 0, idx + dim, idx).astype(np.int64)
    return _core.apply(_GATHER, [x, _core.constant(idx)], [0])


def getitem(x, key):
    if isinstance(key, list):
        key = tuple(key)  # TF: t[[1, 0]] is t[1, 0]
    if isinstance(key, np.ndarray) or (isinstance(key, _core._TensorBase) and key.ndim > 0):
        return _gather_index(x, np.asarray(key))
    if not isinstance(key, tuple):
        key = (key,)
    key = tuple(int(k) if isinstance(k, _core._TensorBase) else k for k in key)
    n_real = sum(1 for k in key if k is not None and k is not Ellipsis)
    if sum(1 for k in key if k is Ellipsis) > 1:
        raise InvalidArgumentError("Multiple ellipses in slice spec not allowed [Op:StridedSlice]")
    ndim = x.ndim
    for pos, k in enumerate(key):
        if isinstance(k, slice) and k.step is not None and int(k.step) == 0:
            raise InvalidArgumentError("strides[%d] must be non-zero [Op:StridedSlice]" % pos)
    if ndim == 0 and n_real:
        raise InvalidArgumentError("Attempting to slice scalar input. [Op:StridedSlice]")
    if n_real > ndim:
        raise InvalidArgumentError(
            "Index out of range using input dim %d; input has only %d dims [Op:StridedSlice]" % (ndim, ndim))
    shape = x.shape
    start, step, length, out_shape = [], [], [], []
    d = 0
    for k in key:
        if k is None:
            out_shape.append(1)
        elif k is Ellipsis:
            for _ in range(ndim - n_real):
                start.append(0), step.append(1), length.append(shape[d]), out_shape.append(shape[d])
                d += 1
        elif isinstance(k, slice):
            b, e, s = k.indices(shape[d])
            n = len(range(b, e, s))
            start.append(b if n else 0), step.append(s), length.append(n), out_shape.append(n)
            d += 1
        elif _is_int(k):
            i = int(k)
            if not -shape[d] <= i < shape[d]:
                # TF reports a negative index after adding the dimension
                raise InvalidArgumentError("slice index %d of dimension %d out of bounds. [Op:StridedSlice]"
                                           % (i + shape[d] if i < 0 else i, d))
            start.append(i % shape[d]), step.append(1), length.append(1)
            d += 1
        else:
            raise TypeError(_BAD_INDEX % (k,))
    for _ in range(d, ndim):
        start.append(0), step.append(1), length.append(shape[d]), out_shape.append(shape[d])
        d += 1
    y = x
    if any(s != 0 for s in start) or any(s != 1 for s in step) or tuple(length) != tuple(shape):
        y = _core.apply(_SLICE, [x], start + step + length)
    if tuple(out_shape) != tuple(y.shape) or y is x:
        y = _core.apply(_RESHAPE, [y], [len(out_shape)] + out_shape)
    return y
