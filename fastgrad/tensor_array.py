"""``tf.TensorArray`` with the semantics of TF's eager TensorArray.

A Python list of tensors: ``write`` stores, ``read`` returns the tensor
(cleared after the read unless ``clear_after_read=False``), ``stack`` and
``concat`` join with differentiable ops, so gradients flow through a
TensorArray as through the ops that filled it. ``write``, ``unstack``,
``scatter`` and ``split`` update the array and return it, as TF's eager
arrays do (code written for TF's graph arrays, ``ta = ta.write(...)``,
works unchanged). Inside ``fastgrad.function`` an index given as a tensor
becomes a Python value: a guard, as a ``while_loop``'s condition is.

``element_shape`` is a ``TensorShape`` once known (given, or merged from
the writes with ``infer_shape``), ``None`` while unknown (TF's
``TensorShape(None)``).

>>> import fastgrad as tf
>>> ta = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
>>> for i in range(3):
...     ta = ta.write(i, tf.constant(float(i)) * 2)
>>> ta.stack().numpy().tolist()
[0.0, 2.0, 4.0]
"""
import numpy as np

from fastgrad import _core, errors
from fastgrad._core import _TensorBase
from fastgrad.dtypes import as_dtype
from fastgrad.tensor_shape import TensorShape

__all__ = ["TensorArray"]


def _flow_guard():
    """Count a guard that control flow records while tracing (a retrace it
    causes is not a new trace to ``experimental_get_tracing_count``, as TF
    traces its control flow once)."""
    from fastgrad import function_api
    st = function_api._state
    st.flow_guards = getattr(st, "flow_guards", 0) + 1


def _to_index(x):
    """A Python number from a tensor index or size (a guard when tracing)."""
    if isinstance(x, _TensorBase):
        if _core.tracing():
            _flow_guard()
        return x.numpy()
    return x


def _as_partial_shape(shape):
    """None (unknown rank) or a tuple of ints and Nones."""
    if shape is None:
        return None
    if isinstance(shape, int):
        shape = (shape,)
    return tuple(None if d is None else int(d) for d in shape)


def _compatible(a, b):
    if a is None or b is None:
        return True
    return len(a) == len(b) and all(x is None or y is None or x == y for x, y in zip(a, b))


def _merge(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return tuple(x if x is not None else y for x, y in zip(a, b))


def _shape_text(shape):
    if shape is None:
        return "<unknown>"
    return "(%s)" % (", ".join("None" if d is None else str(d) for d in shape)
                     + ("," if len(shape) == 1 else ""))


class TensorArray:
    """A list of tensors of one dtype, written and read by index (``tf.TensorArray``).

    >>> import fastgrad as tf
    >>> ta = tf.TensorArray(tf.int32, size=2).unstack(tf.constant([[1, 2], [3, 4]]))
    >>> ta.read(1).numpy().tolist(), int(ta.size())
    ([3, 4], 2)
    """

    def __init__(self, dtype, size=None, dynamic_size=None, clear_after_read=None, tensor_array_name=None,
                 handle=None, flow=None, infer_shape=True, element_shape=None,
                 colocate_with_first_write_call=True, name=None):
        if handle is not None:
            raise ValueError("TensorArray handles are not supported when eager execution is enabled.")
        if size is None:
            raise ValueError("Size must be declared for TensorArrays when eager execution is enabled.")
        self._flow = _core.convert_to_tensor(0)
        self._infer_shape = infer_shape
        self._element_shape = _as_partial_shape(element_shape)
        self._dtype = as_dtype(dtype)
        self._dynamic_size = dynamic_size or False
        self._clear_after_read = True if clear_after_read is None else clear_after_read
        self._previously_read_indices = []
        self._tensor_array = [None] * int(_to_index(size))

    @property
    def flow(self):
        return self._flow

    @property
    def dtype(self):
        return self._dtype

    @property
    def handle(self):
        return None

    @property
    def dynamic_size(self):
        return self._dynamic_size

    @property
    def element_shape(self):
        """A TensorShape once every dimension is known, else None."""
        s = self._element_shape
        return TensorShape(s) if s is not None and None not in s else None

    def identity(self):
        return self

    def grad(self, source, flow=None, name=None):
        raise NotImplementedError(
            "TensorArray.grad is not supported when executing eagerly; eager's gradient implementation "
            "does not use/need this function to compute gradients of operations that use TensorArrays.")

    def read(self, index, name=None):
        """The tensor at index (zeros of the element shape if never written)."""
        index = int(_to_index(index))
        if index < 0:
            raise errors.OutOfRangeError(None, None, "Reading from negative indices (index %d) is not allowed."
                                         % index)
        if index >= len(self._tensor_array):
            raise errors.OutOfRangeError(None, None, "Tried to read from index %d but array size is: %d "
                                         % (index, len(self._tensor_array)))
        tensor = self._tensor_array[index]
        if tensor is None:
            if index in self._previously_read_indices:
                raise errors.InvalidArgumentError(
                    None, None, "Could not read index %d twice because it was cleared after a previous read "
                    "(perhaps try setting clear_after_read = false?)" % index)
            tensor = self._maybe_zero(index)
        if self._clear_after_read:
            self._tensor_array[index] = None
            self._previously_read_indices.append(index)
        return tensor

    def _write(self, index, value):
        index = int(_to_index(index))
        if index < 0:
            raise errors.OutOfRangeError(None, None, "Writing to negative indices (index %d) is not allowed."
                                         % index)
        size = len(self._tensor_array)
        if index >= size:
            if not self._dynamic_size:
                raise errors.OutOfRangeError(
                    None, None, "Tried to write to index %d but array is not resizeable and size is: %d "
                    % (index, size))
            self._tensor_array.extend([None] * (index - size + 1))
        if not isinstance(value, _TensorBase):
            value = _convert_preferred(value, self._dtype)
        elif isinstance(value, _core.Variable):
            value = value.read_value()
        if self._dtype != value.dtype:
            raise errors.InvalidArgumentError(
                None, None, "TensorArray dtype is %s but Op is trying to write dtype %s "
                % (self._dtype.name, value.dtype.name))
        shape = tuple(value.shape)
        if not _compatible(self._element_shape, shape):
            raise ValueError("Incompatible shape for value (%s), expected (%s)"
                             % (_shape_text(shape), _shape_text(self._element_shape)))
        if self._infer_shape:
            self._element_shape = _merge(self._element_shape, shape)
        self._tensor_array[index] = value

    def write(self, index, value, name=None):
        """Store value at index; returns the array."""
        self._write(index, value)
        return self

    def _maybe_zero(self, ix):
        val = self._tensor_array[ix]
        if val is None:
            s = self._element_shape
            if s is None or None in s:
                raise ValueError("Cannot convert a partially known TensorShape %s to a Tensor." % _shape_text(s))
            val = self._tensor_array[ix] = _core.zeros(s, self._dtype._enum)
        return val

    def stack(self, name=None):
        """The elements stacked along a new axis 0."""
        from fastgrad import array_ops
        for ix in range(len(self._tensor_array)):
            self._maybe_zero(ix)
        if not self._tensor_array:
            s = self._element_shape
            shape = (0,) + s if s is not None and None not in s else (0,)
            return _core.zeros(shape, self._dtype._enum)
        return array_ops.stack(self._tensor_array)

    def gather(self, indices, name=None):
        """The elements at indices, stacked."""
        from fastgrad import array_ops
        indices = _to_index(indices)
        return array_ops.stack([self._maybe_zero(int(i)) for i in np.asarray(indices).reshape(-1)])

    def concat(self, name=None):
        """The elements joined along their axis 0."""
        from fastgrad import array_ops
        values = [self._maybe_zero(ix) for ix in range(len(self._tensor_array))]
        for i, v in enumerate(values):
            if v.shape.ndims == 0:
                raise errors.InvalidArgumentError(
                    None, None, "Concat saw a scalar shape at index %d but requires at least vectors." % i)
        return array_ops.concat(values, 0)

    def unstack(self, value, name=None):
        """The rows of value become the elements; returns the array."""
        from fastgrad import array_ops
        tensors = array_ops.unstack(_convert_preferred(value, self._dtype))
        if len(tensors) > len(self._tensor_array) and not self._dynamic_size:
            raise ValueError("Cannot unstack %d tensors into a TensorArray of static size %d "
                             % (len(tensors), len(self._tensor_array)))
        self._tensor_array = tensors
        return self

    def scatter(self, indices, value, name=None):
        """Write the rows of value at indices; returns the array."""
        from fastgrad import array_ops
        indices = np.asarray(_to_index(indices)).reshape(-1)
        for index, val in zip(indices, array_ops.unstack(_convert_preferred(value, self._dtype))):
            self._write(int(index), val)
        return self

    def split(self, value, lengths, name=None):
        """Split value along axis 0 into pieces of lengths; returns the array."""
        from fastgrad import array_ops
        value = _convert_preferred(value, self._dtype)
        if value.dtype != self._dtype:
            raise errors.InvalidArgumentError(
                None, None, "TensorArray dtype is %s but Op is trying to write dtype %s "
                % (self._dtype.name, value.dtype.name))
        lengths = np.asarray(_to_index(lengths))
        if lengths.ndim != 1:
            raise errors.InvalidArgumentError(
                None, None, "Expected lengths to be a vector, received shape: %s " % list(lengths.shape))
        if value.shape.ndims == 0:
            raise errors.InvalidArgumentError(
                None, None, "Expected value to be at least a vector, but received shape: %s "
                % list(value.shape))
        if int(lengths.sum()) != value.shape[0]:
            raise errors.InvalidArgumentError(
                None, None, "Expected sum of lengths to be equal to values.shape[0], but sum of lengths is "
                "%d and value's shape is: %s " % (int(lengths.sum()), list(value.shape)))
        if not self._dynamic_size and lengths.shape[0] != len(self._tensor_array):
            raise errors.InvalidArgumentError(
                None, None, "TensorArray's size is not equal to the size of lengths (%d vs. %d), and the "
                "TensorArray is not marked as dynamically resizeable." % (len(self._tensor_array),
                                                                          lengths.shape[0]))
        self._tensor_array = list(array_ops.split(value, [int(n) for n in lengths]))
        return self

    def size(self, name=None):
        """The number of elements, an int32 tensor."""
        return _core.convert_to_tensor(len(self._tensor_array))

    def close(self, name=None):
        del self._tensor_array[:]

    def __repr__(self):
        return "<fastgrad.TensorArray dtype=%s size=%d>" % (self._dtype.name, len(self._tensor_array))


def _convert_preferred(value, dtype):
    """convert_to_tensor with a preferred dtype: value's own when it does
    not convert to dtype (the dtype check then reports it, as TF's)."""
    if isinstance(value, _TensorBase):
        return value.read_value() if isinstance(value, _core.Variable) else value
    try:
        return _core.convert_to_tensor(value, dtype=dtype)
    except (TypeError, ValueError):
        return _core.convert_to_tensor(value)
