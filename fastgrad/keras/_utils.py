"""Private helpers shared by the fastgrad.keras modules.

Conversions and name bookkeeping only; no numerics live here.
"""
import re

import numpy as np

import fastgrad as tf

_uids: dict[str, int] = {}


def reset_uids():
    """Forget the per-prefix counters behind auto-generated names."""
    _uids.clear()


def unique_name(prefix):
    """'dense', then 'dense_1', 'dense_2', ... as Keras names objects."""
    n = _uids.get(prefix, 0)
    _uids[prefix] = n + 1
    return prefix if n == 0 else f"{prefix}_{n}"


def snake_case(name):
    """'MeanSquaredError' -> 'mean_squared_error'."""
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()  # Keras's: Conv2D -> conv2d


def as_dtype(dtype):
    """A fastgrad DType from a DType, a NumPy dtype or a name."""
    if dtype is None:
        return None
    if isinstance(dtype, str):
        return getattr(tf, dtype)
    name = getattr(dtype, "name", None) or np.dtype(dtype).name
    return getattr(tf, name)


def is_tensor(x):
    return isinstance(x, (tf.Tensor, tf.Variable))


def is_floating(dtype):
    return bool(getattr(dtype, "is_floating", False))


def to_tensor(x, dtype=None):
    """Convert x to a Tensor; with dtype, cast to it (as Keras's
    ``ops.convert_to_tensor(x, dtype)`` does, floats to ints included)."""
    if is_tensor(x):
        if dtype is not None and x.dtype != dtype:
            return tf.cast(x, dtype)
        return x
    if dtype is None:
        return tf.convert_to_tensor(x)
    return tf.convert_to_tensor(np.asarray(x, dtype=dtype.as_numpy_dtype))


def shape_tuple(x):
    """The shape of a Tensor or array-like as a tuple of ints."""
    shape = getattr(x, "shape", None)
    if shape is None:
        return np.shape(x)
    if isinstance(shape, tuple):  # fastgrad's TensorShape, NumPy's shapes
        return tuple(shape)
    return tuple(None if d is None else int(d) for d in shape)
