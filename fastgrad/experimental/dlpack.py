"""DLPack exchange with other array libraries (``tf.experimental.dlpack``).

Memory is shared, not copied, both ways: ``to_dlpack`` hands out a capsule
over a tensor's buffer, and ``from_dlpack`` wraps the producer's buffer (a
capsule, or any object with ``__dlpack__``: NumPy, PyTorch and JAX CPU
arrays) in a Tensor that keeps the producer's memory alive. Tensors are
immutable, so writing into the producer's array afterwards shows through
the Tensor, as in TensorFlow and PyTorch. Only CPU memory is accepted.
A copy is made only where fastgrad's layout requires one: a strided
(non C-contiguous) or misaligned producer, or a dtype fastgrad computes in
another type (float16, uint8, ...: converted as ``tf.constant`` converts).

>>> import numpy as np, fastgrad as tf
>>> a = np.arange(3.0)
>>> t = tf.experimental.dlpack.from_dlpack(a)
>>> a[0] = 7.0          # shared memory
>>> t.numpy().tolist()
[7.0, 1.0, 2.0]
>>> np.from_dlpack(t).tolist()
[7.0, 1.0, 2.0]
"""
import numpy as np

from fastgrad import _core

__all__ = ["from_dlpack", "to_dlpack"]

# DLPack's device type for CPU memory (DLDeviceType.kDLCPU)
_KDLCPU = 1


class _Capsule:
    """A bare DLPack capsule as a ``__dlpack__`` producer, for np.from_dlpack."""

    def __init__(self, capsule):
        self._capsule = capsule

    def __dlpack__(self, stream=None, max_version=None, dl_device=None, copy=None):
        return self._capsule

    def __dlpack_device__(self):
        return (_KDLCPU, 0)


def to_dlpack(tf_tensor):
    """A DLPack capsule over the tensor's memory, for another library to consume.

    A Variable exports a snapshot of its current value.

    >>> import numpy as np, fastgrad as tf
    >>> cap = tf.experimental.dlpack.to_dlpack(tf.constant([1.0, 2.0]))
    >>> type(cap).__name__
    'PyCapsule'
    """
    t = tf_tensor
    if isinstance(t, _core.Variable):
        t = t.value()
    if not isinstance(t, _core._TensorBase):
        raise TypeError("to_dlpack takes a fastgrad Tensor or Variable, got %s"
                        % type(tf_tensor).__name__)
    return t.__dlpack__()


def from_dlpack(dlcapsule):
    """A Tensor over the memory of a DLPack capsule or a ``__dlpack__`` array.

    Parameters
    ----------
    dlcapsule : PyCapsule or object with ``__dlpack__``
        A capsule (``to_dlpack`` of fastgrad, TensorFlow or PyTorch) or an
        array from NumPy, PyTorch, JAX or any DLPack producer, on the CPU.

    Returns
    -------
    Tensor
        Sharing the producer's memory where it is C-contiguous and aligned.

    Examples
    --------
    >>> import numpy as np, fastgrad as tf
    >>> tf.experimental.dlpack.from_dlpack(np.ones((2, 2), np.float32)).shape
    TensorShape([2, 2])
    """
    if isinstance(dlcapsule, _core._TensorBase):
        return dlcapsule if isinstance(dlcapsule, _core.Tensor) else dlcapsule.value()
    producer = dlcapsule if hasattr(dlcapsule, "__dlpack__") else _Capsule(dlcapsule)
    if type(dlcapsule).__name__ == "PyCapsule" or hasattr(dlcapsule, "__dlpack__"):
        arr = np.from_dlpack(producer)
    else:
        raise TypeError("from_dlpack takes a DLPack capsule or an object with __dlpack__, got %s"
                        % type(dlcapsule).__name__)
    return _core._borrow_array(arr)
