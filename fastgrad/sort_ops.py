"""Sorting and searching with TF's names: sort, argsort, top_k, approx_max_k
/ approx_min_k, in_top_k, searchsorted, unique, unique_with_counts.

Every sort is stable (equal values keep their order) and runs along the
last axis in C (csrc/fg_sort.c); another axis is transposed there and
back, as TF does. Values are the input gathered at the sorted indices, so
their gradient scatters the upstream gradient back to where each value
came from (TF's TopKV2 gradient), to any order.

>>> import fastgrad as tf
>>> tf.sort(tf.constant([3.0, 1.0, 2.0])).numpy().tolist()
[1.0, 2.0, 3.0]
"""
import collections

from fastgrad import _core
from fastgrad.dtypes import as_dtype
from fastgrad.errors import InvalidArgumentError

__all__ = ["sort", "argsort", "top_k", "approx_max_k", "approx_min_k", "in_top_k", "searchsorted",
           "unique", "unique_with_counts"]

_OPS = _core.OPS
_I32 = as_dtype("int32")._enum

TopKV2 = collections.namedtuple("TopKV2", ["values", "indices"])
ApproxTopK = collections.namedtuple("ApproxTopK", ["values", "indices"])
Unique = collections.namedtuple("Unique", ["y", "idx"])
UniqueWithCounts = collections.namedtuple("UniqueWithCounts", ["y", "idx", "count"])


def _t(x):
    return x if isinstance(x, _core._TensorBase) else _core.convert_to_tensor(x)


def _int(v):
    return int(v.numpy()) if isinstance(v, _core._TensorBase) else int(v)


def _swap_last(ndim, axis):
    """the permutation exchanging axis and the last one (its own inverse), or None"""
    if axis == ndim - 1:
        return None
    perm = list(range(ndim))
    perm[axis], perm[-1] = perm[-1], perm[axis]
    return perm


def _transpose(x, perm):
    return x if perm is None else _core.apply(_OPS["transpose"], [x], perm)


def _indices(x, k, descending, index_dtype=_I32):
    return _core.apply(_OPS["sort_indices"], [x], [k, bool(descending), index_dtype])


def _take(x, idx):
    return _core.apply(_OPS["take_along"], [x, idx])


def _sort_axis(x, axis):
    nd = x.ndim
    a = _int(axis)
    if nd == 0 or not -nd <= a < nd:
        raise InvalidArgumentError("slice index %d of dimension 0 out of bounds. [Op:StridedSlice] name: "
                                   "strided_slice/" % (a if nd else -1))
    return a + nd if a < 0 else a


def _direction(direction):
    if direction not in ("ASCENDING", "DESCENDING"):
        raise ValueError("Argument `direction` should be one of ASCENDING, DESCENDING. Received: "
                         "direction=%s" % (direction,))
    return direction == "DESCENDING"


def _sort_or_argsort(values, axis, direction, return_argsort):
    desc = _direction(direction)
    x = _t(values)
    perm = _swap_last(x.ndim, _sort_axis(x, axis))
    xt = _transpose(x, perm)
    idx = _indices(xt, xt.shape[-1], desc)
    return _transpose(idx if return_argsort else _take(xt, idx), perm)


def sort(values, axis=-1, direction="ASCENDING", name=None):
    """values sorted along axis (``tf.sort``); stable, NaN above +inf.

    The gradient goes back to the position each value came from.

    >>> import fastgrad as tf
    >>> tf.sort(tf.constant([[3.0, 1.0], [2.0, 4.0]]), axis=0).numpy().tolist()
    [[2.0, 1.0], [3.0, 4.0]]
    >>> tf.sort(tf.constant([1, 3, 2]), direction="DESCENDING").numpy().tolist()
    [3, 2, 1]
    """
    return _sort_or_argsort(values, axis, direction, False)


def argsort(values, axis=-1, direction="ASCENDING", stable=False, name=None):
    """int32 indices that sort values along axis (``tf.argsort``); always stable.

    >>> import fastgrad as tf
    >>> tf.argsort(tf.constant([1.0, 3.0, 3.0, 2.0]), direction="DESCENDING").numpy().tolist()
    [1, 2, 3, 0]
    """
    return _sort_or_argsort(values, axis, direction, True)


def top_k(input, k=1, sorted=True, index_type="int32", name=None):  # noqa: A002 - TF's names
    """The k largest entries of the last axis and their indices
    (``tf.math.top_k``, ``tf.nn.top_k``): a ``TopKV2(values, indices)``.

    Ties go to the lower index. ``sorted=False`` returns them in sorted
    order too (TF leaves that order unspecified). The gradient scatters into
    the chosen positions, as TF's.

    >>> import fastgrad as tf
    >>> v, i = tf.math.top_k(tf.constant([1.0, 3.0, 3.0, 2.0]), k=2)
    >>> v.numpy().tolist(), i.numpy().tolist()
    ([3.0, 3.0], [1, 2])
    """
    x = _t(input)
    idx = _indices(x, _int(k), True, as_dtype(index_type)._enum)
    return TopKV2(_take(x, idx), idx)


def _approx(operand, k, reduction_dimension, descending):
    x = _t(operand)
    nd = x.ndim
    a = int(reduction_dimension)
    if not -nd <= a < nd:
        raise InvalidArgumentError("Invalid reduction_dimension %d for an operand of rank %d [Op:ApproxTopK]"
                                   % (a, nd))
    a = a + nd if a < 0 else a
    k = int(k)
    if x.shape[a] < k:
        raise InvalidArgumentError("input must have at least k columns. Had %d, needed %d [Op:ApproxTopK]"
                                   % (x.shape[a], k))
    perm = _swap_last(nd, a)
    xt = _transpose(x, perm)
    idx = _indices(xt, k, descending)
    return ApproxTopK(_transpose(_take(xt, idx), perm), _transpose(idx, perm))


def approx_max_k(operand, k, reduction_dimension=-1, recall_target=0.95, reduction_input_size_override=-1,
                 aggregate_to_topk=True, name=None):
    """The k largest along reduction_dimension (``tf.math.approx_max_k``):
    ``(values, indices)``, computed exactly (recall 1), as TF on CPU.

    >>> import fastgrad as tf
    >>> tf.math.approx_max_k(tf.constant([[1.0, 5.0, 3.0, 2.0]]), 2)[1].numpy().tolist()
    [[1, 2]]
    """
    return _approx(operand, k, reduction_dimension, True)


def approx_min_k(operand, k, reduction_dimension=-1, recall_target=0.95, reduction_input_size_override=-1,
                 aggregate_to_topk=True, name=None):
    """The k smallest along reduction_dimension (``tf.math.approx_min_k``),
    computed exactly.

    >>> import fastgrad as tf
    >>> tf.math.approx_min_k(tf.constant([[1.0, 5.0, 3.0, 2.0]]), 2)[0].numpy().tolist()
    [[1.0, 2.0]]
    """
    return _approx(operand, k, reduction_dimension, False)


def in_top_k(targets, predictions, k, name=None):
    """Whether each target's prediction is among the row's k largest
    (``tf.math.in_top_k``, ``tf.nn.in_top_k``): ties at the boundary count
    as in; a non-finite prediction in the row or a target out of range
    gives False.

    >>> import fastgrad as tf
    >>> tf.math.in_top_k([1, 0], [[0.1, 0.9, 0.5], [0.3, 0.3, 0.4]], 1).numpy().tolist()
    [True, False]
    """
    p = _t(predictions)
    if p.dtype.name != "float32":
        raise ValueError("Tensor conversion requested dtype float32 for Tensor with dtype %s: %r"
                         % (p.dtype.name, p))
    return _core.apply(_OPS["in_top_k"], [p, _t(targets)], [_int(k)])


def searchsorted(sorted_sequence, values, side="left", out_type="int32", name=None):
    """Where values would go in each row of sorted_sequence (``tf.searchsorted``):
    the first index with an element >= value (side='left') or > value ('right').

    >>> import fastgrad as tf
    >>> tf.searchsorted([1.0, 3.0, 3.0, 5.0], [3.0, 6.0], side="right").numpy().tolist()
    [3, 4]
    """
    if side not in ("left", "right"):
        raise ValueError("Argument `side` must be either 'right' or 'left'. Received: `side` = '%s'." % (side,))
    return _core.apply(_OPS["searchsorted"], [_t(sorted_sequence), _t(values)],
                       [side == "right", as_dtype(out_type)._enum])


def _unique(x, out_idx, part):
    return _core.apply(_OPS["unique"], [x], [as_dtype(out_idx)._enum, part])


def unique(x, out_idx="int32", name=None):
    """The distinct values of a 1-D x in order of first appearance, and each
    element's index into them (``tf.unique``): ``Unique(y, idx)``.

    >>> import fastgrad as tf
    >>> y, idx = tf.unique([3, 1, 3, 2, 1])
    >>> y.numpy().tolist(), idx.numpy().tolist()
    ([3, 1, 2], [0, 1, 0, 2, 1])
    """
    x = _t(x)
    return Unique(_unique(x, out_idx, 0), _unique(x, out_idx, 1))


def unique_with_counts(x, out_idx="int32", name=None):
    """``unique`` and how often each value occurs (``tf.unique_with_counts``).

    >>> import fastgrad as tf
    >>> tf.unique_with_counts([3, 1, 3]).count.numpy().tolist()
    [2, 1]
    """
    x = _t(x)
    return UniqueWithCounts(_unique(x, out_idx, 0), _unique(x, out_idx, 1), _unique(x, out_idx, 2))
