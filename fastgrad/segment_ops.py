"""Segment reductions and counting with TF's names (``tf.math``):
segment_sum/mean/max/min/prod, unsorted_segment_sum/mean/max/min/prod/
sqrt_n, bincount, confusion_matrix.

The reductions run in C (csrc/fg_segment.c) with TF's gradients: max and
min share the gradient among ties, prod handles zeros as TF does, and
negative ids of the unsorted ops are dropped.

>>> import fastgrad as tf
>>> tf.math.segment_sum(tf.constant([1.0, 2.0, 3.0]), [0, 0, 1]).numpy().tolist()
[3.0, 3.0]
"""
import numpy as np

from fastgrad import _core, array_ops
from fastgrad.dtypes import as_dtype
from fastgrad.errors import InvalidArgumentError

__all__ = ["segment_sum", "segment_mean", "segment_max", "segment_min", "segment_prod",
           "unsorted_segment_sum", "unsorted_segment_mean", "unsorted_segment_max",
           "unsorted_segment_min", "unsorted_segment_prod", "unsorted_segment_sqrt_n", "bincount",
           "confusion_matrix"]

_OPS = _core.OPS


def _t(x):
    return x if isinstance(x, _core._TensorBase) else _core.convert_to_tensor(x)


def _int(v):
    return int(v.numpy()) if isinstance(v, _core._TensorBase) else int(v)


def _sorted(op):
    def f(data, segment_ids, name=None):
        return _core.apply(_OPS[op], [_t(data), _t(segment_ids)], [0, -1, 1])
    return f


def _unsorted(op):
    def f(data, segment_ids, num_segments, name=None):
        return _core.apply(_OPS[op], [_t(data), _t(segment_ids)], [0, _int(num_segments), 0])
    return f


segment_sum = _sorted("segment_sum")
segment_sum.__name__ = "segment_sum"
segment_sum.__doc__ = """Sums of data's rows per segment; segment_ids sorted (``tf.math.segment_sum``).

    The output has ``segment_ids[-1] + 1`` rows; a missing id gives 0.

    >>> import fastgrad as tf
    >>> tf.math.segment_sum(tf.constant([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), [0, 0, 2]).numpy().tolist()
    [[4.0, 6.0], [0.0, 0.0], [5.0, 6.0]]
    """
segment_mean = _sorted("segment_mean")
segment_mean.__name__ = "segment_mean"
segment_mean.__doc__ = """Means per segment, sorted ids (``tf.math.segment_mean``); integers truncate.

    >>> import fastgrad as tf
    >>> tf.math.segment_mean(tf.constant([1.0, 2.0, 4.0]), [0, 0, 1]).numpy().tolist()
    [1.5, 4.0]
    """
segment_max = _sorted("segment_max")
segment_max.__name__ = "segment_max"
segment_max.__doc__ = """Maxima per segment, sorted ids (``tf.math.segment_max``); an empty segment is 0.

    The gradient is shared equally among the elements that attain the maximum.

    >>> import fastgrad as tf
    >>> tf.math.segment_max(tf.constant([1.0, 3.0, 2.0]), [0, 0, 2]).numpy().tolist()
    [3.0, 0.0, 2.0]
    """
segment_min = _sorted("segment_min")
segment_min.__name__ = "segment_min"
segment_min.__doc__ = """Minima per segment, sorted ids (``tf.math.segment_min``); an empty segment is 0.

    >>> import fastgrad as tf
    >>> tf.math.segment_min(tf.constant([1.0, 3.0, 2.0]), [0, 0, 1]).numpy().tolist()
    [1.0, 2.0]
    """
segment_prod = _sorted("segment_prod")
segment_prod.__name__ = "segment_prod"
segment_prod.__doc__ = """Products per segment, sorted ids (``tf.math.segment_prod``); an empty segment is 1.

    >>> import fastgrad as tf
    >>> tf.math.segment_prod(tf.constant([2.0, 3.0, 4.0]), [0, 0, 1]).numpy().tolist()
    [6.0, 4.0]
    """
unsorted_segment_sum = _unsorted("segment_sum")
unsorted_segment_sum.__name__ = "unsorted_segment_sum"
unsorted_segment_sum.__doc__ = """Sums per segment, ids in any order (``tf.math.unsorted_segment_sum``).

    segment_ids may have several dims (a prefix of data's shape); negative
    ids are dropped.

    >>> import fastgrad as tf
    >>> tf.math.unsorted_segment_sum(tf.constant([1.0, 2.0, 3.0]), [1, -1, 1], 2).numpy().tolist()
    [0.0, 4.0]
    """
unsorted_segment_max = _unsorted("segment_max")
unsorted_segment_max.__name__ = "unsorted_segment_max"
unsorted_segment_max.__doc__ = """Maxima per segment (``tf.math.unsorted_segment_max``).

    An empty segment holds the dtype's lowest value, as TF.

    >>> import fastgrad as tf
    >>> tf.math.unsorted_segment_max(tf.constant([1, 3, 2]), [1, 1, 1], 2).numpy().tolist()
    [-2147483648, 3]
    """
unsorted_segment_min = _unsorted("segment_min")
unsorted_segment_min.__name__ = "unsorted_segment_min"
unsorted_segment_min.__doc__ = """Minima per segment (``tf.math.unsorted_segment_min``); empty: the highest value.

    >>> import fastgrad as tf
    >>> tf.math.unsorted_segment_min(tf.constant([1, 3, 2]), [0, 0, 0], 1).numpy().tolist()
    [1]
    """
unsorted_segment_prod = _unsorted("segment_prod")
unsorted_segment_prod.__name__ = "unsorted_segment_prod"
unsorted_segment_prod.__doc__ = """Products per segment (``tf.math.unsorted_segment_prod``); empty: 1.

    The gradient is TF's: with one zero in a segment only the zero gets the
    product of the others; with two or more, all get 0.

    >>> import fastgrad as tf
    >>> tf.math.unsorted_segment_prod(tf.constant([2.0, 3.0, 4.0]), [1, 1, 0], 2).numpy().tolist()
    [4.0, 6.0]
    """


def _segment_n(data, segment_ids, num_segments):
    """each segment's row count, at least 1, shaped to broadcast against
    the output (TF's _unsorted_segment_N)"""
    ids = _t(segment_ids)
    ones = array_ops.ones(ids.shape, data.dtype)
    n = unsorted_segment_sum(ones, ids, num_segments)
    shape = [_int(num_segments)] + [1] * (data.ndim - ids.ndim)
    n = _core.apply(_OPS["reshape"], [n], [len(shape)] + shape)
    return _core.apply(_OPS["maximum"], [n, _core.constant(1, data.dtype)])


def unsorted_segment_mean(data, segment_ids, num_segments, name=None):
    """Means per segment (``tf.math.unsorted_segment_mean``): the sum over
    max(count, 1), so an empty segment is 0; integer data divide as float64.

    >>> import fastgrad as tf
    >>> tf.math.unsorted_segment_mean(tf.constant([1.0, 2.0, 3.0]), [1, 1, -1], 2).numpy().tolist()
    [0.0, 1.5]
    """
    data = _t(data)
    return _core.truediv(unsorted_segment_sum(data, segment_ids, num_segments),
                         _segment_n(data, segment_ids, num_segments))


def unsorted_segment_sqrt_n(data, segment_ids, num_segments, name=None):
    """Sums per segment over sqrt(max(count, 1)) (``tf.math.unsorted_segment_sqrt_n``).

    >>> import fastgrad as tf
    >>> tf.math.unsorted_segment_sqrt_n(tf.constant([3.0, 5.0]), [0, 0], 1).numpy().tolist()
    [5.656854152679443]
    """
    data = _t(data)
    n = _segment_n(data, segment_ids, num_segments)
    return _core.truediv(unsorted_segment_sum(data, segment_ids, num_segments), _core.unary(_OPS["sqrt"], n))


def bincount(arr, weights=None, minlength=None, maxlength=None, dtype="int32", name=None, axis=None,
             binary_output=False):
    """Counts (or summed weights) of each value of a non-negative integer
    arr (``tf.math.bincount``): length max(arr) + 1, at least minlength, at
    most maxlength (larger values dropped); ``axis=-1`` counts each row of
    a 2-D arr. Not differentiable (TF registers no gradient).

    >>> import fastgrad as tf
    >>> tf.math.bincount([1, 1, 4]).numpy().tolist()
    [0, 2, 0, 0, 1]
    >>> tf.math.bincount([1, 1, 4], weights=[0.5, 1.0, 2.0], maxlength=3).numpy().tolist()
    [0.0, 1.5, 0.0]
    """
    a = _t(arr)
    if a.dtype.name not in ("int32", "int64"):
        a = _core.cast(a, as_dtype("int32")._enum)
    if axis not in (None, 0, -1):
        raise InvalidArgumentError("Unsupported axis value %s. Only 0 and -1 are currently supported." % (axis,))
    per_row = axis == -1 and a.ndim == 2
    if weights is None:
        out_dt = as_dtype(dtype)._enum
        w = _core.constant(np.zeros(0, as_dtype(dtype).as_numpy_dtype))
    else:
        w = _t(weights)
        out_dt = w.dtype._enum
    return _core.apply(_OPS["bincount"], [a, w],
                       [-1 if minlength is None else _int(minlength), -1 if maxlength is None else _int(maxlength),
                        bool(binary_output), out_dt, per_row])


def confusion_matrix(labels, predictions, num_classes=None, weights=None, dtype="int32", name=None):
    """The [num_classes, num_classes] matrix counting (or weighing) each
    (label, prediction) pair (``tf.math.confusion_matrix``); num_classes
    defaults to the largest value + 1.

    >>> import fastgrad as tf
    >>> tf.math.confusion_matrix([1, 2, 2], [2, 2, 0], num_classes=3).numpy().tolist()
    [[0, 0, 0], [0, 0, 1], [1, 0, 1]]
    """
    i64 = as_dtype("int64")._enum
    lab = _core.cast(_t(labels), i64)
    pred = _core.cast(_t(predictions), i64)
    if tuple(lab.shape) != tuple(pred.shape):
        raise InvalidArgumentError("Shapes of all inputs must match: values[0].shape = %s != values[1].shape = %s "
                                   "[Op:Pack] name: stack" % (_shape(lab), _shape(pred)))
    for what, v in (("labels", lab), ("predictions", pred)):
        if v.shape[0] and int(_core.apply(_OPS["reduce_min"], [v], [0, 1]).numpy()) < 0:
            raise InvalidArgumentError("`%s` contains negative values." % what)
    if num_classes is None:
        top = _core.apply(_OPS["maximum"], [_core.apply(_OPS["reduce_max"], [lab], [0, 1]),
                                            _core.apply(_OPS["reduce_max"], [pred], [0, 1])]) if lab.shape[0] else None
        n = 0 if top is None else int(top.numpy()) + 1
    else:
        n = _int(num_classes)
        for what, v in (("labels", lab), ("predictions", pred)):
            if v.shape[0] and int(_core.apply(_OPS["reduce_max"], [v], [0, 1]).numpy()) >= n:
                raise InvalidArgumentError("`%s` out of bound" % what)
    dt = as_dtype(dtype)
    if weights is None:
        w = _core.apply(_OPS["cast"], [_core.apply(_OPS["greater_equal"], [lab, _core.constant(0, "int64")])], [dt._enum])
    else:
        w = _core.cast(_t(weights), dt._enum)
    flat = _core.binary(_OPS["add"], _core.binary(_OPS["multiply"], lab, _core.constant(n, "int64")), pred)
    cm = unsorted_segment_sum(w, flat, n * n)
    return _core.apply(_OPS["reshape"], [cm], [2, n, n])


def _shape(t):
    return "[" + ",".join(str(d) for d in t.shape) + "]"
