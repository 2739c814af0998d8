"""TensorFlow-compatible exception classes (``fastgrad.errors``).

``InvalidArgumentError`` is what TF raises for bad shapes, axes and dtypes.
It subclasses both ``ValueError`` and ``TypeError`` so that TF's idiom
(``except tf.errors.InvalidArgumentError``) and Python's
(``except ValueError``) both catch it.

>>> import fastgrad as tf
>>> try:
...     tf.constant([1.0, 2.0]) + tf.constant([1.0, 2.0, 3.0])
... except ValueError as e:
...     print(type(e).__name__)
InvalidArgumentError
"""

__all__ = [
    "OpError",
    "InvalidArgumentError",
    "ResourceExhaustedError",
    "InternalError",
    "UnimplementedError",
    "OutOfRangeError",
    "DataLossError",
    "UnknownError",
]


class OpError(Exception):
    """Base class of errors raised by an op, as ``tf.errors.OpError``."""

    def __init__(self, node_def=None, op=None, message="", *args):
        # TF's signature is (node_def, op, message); fastgrad raises with a
        # message only, so accept that too.
        if op is None and not message and node_def is not None and not args:
            message, node_def = node_def, None
        super().__init__(message)
        self.node_def = node_def
        self.op = op
        self.message = message


class InvalidArgumentError(OpError, ValueError, TypeError):
    """An op got an argument it cannot accept: shapes, axes or dtypes."""


class ResourceExhaustedError(OpError, MemoryError):
    """Out of memory."""


class InternalError(OpError, RuntimeError):
    """An internal invariant was violated."""


class UnimplementedError(OpError, NotImplementedError):
    """The operation is not implemented for these arguments."""


class OutOfRangeError(OpError):
    """An iterator ran past its end (``get_next()`` after the last element)."""


class DataLossError(OpError):
    """Data was lost or is malformed (tf.data's padding to a smaller size)."""


class UnknownError(OpError):
    """An error of no other kind (a Python exception inside a py_function)."""
