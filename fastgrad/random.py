"""Random tensors (``tf.random``), drawn with NumPy's PCG64 generator.

``set_seed`` makes the sequence of draws reproducible; an op-level
``seed`` makes one draw reproducible on its own.

>>> import fastgrad as tf
>>> tf.random.set_seed(0)
>>> a = tf.random.normal((2,))
>>> tf.random.set_seed(0)
>>> bool(tf.reduce_all(a == tf.random.normal((2,))))
True
"""
import numpy as np

from fastgrad import _core
from fastgrad.dtypes import as_dtype, float32

__all__ = ["set_seed", "normal", "uniform", "truncated_normal", "shuffle"]

_rng = np.random.default_rng()


def set_seed(seed):
    """Seed the global generator."""
    global _rng
    _rng = np.random.default_rng(seed)


def _gen(seed):
    # a replayed fastgrad.function would repeat the traced draws
    _core._trace_unsupported("random ops")
    return _rng if seed is None else np.random.default_rng(seed)


def _shape(shape):
    if isinstance(shape, _core._TensorBase):
        shape = shape.numpy()
    return tuple(int(s) for s in np.ravel(shape)) if not isinstance(shape, int) else (shape,)


def normal(shape, mean=0.0, stddev=1.0, dtype=float32, seed=None, name=None):
    """Samples from a normal distribution."""
    dt = as_dtype(dtype)
    v = _gen(seed).normal(float(mean), float(stddev), _shape(shape))
    return _core.constant(v.astype(dt.as_numpy_dtype))


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=float32, seed=None, name=None):
    """Normal samples redrawn until within two standard deviations."""
    g = _gen(seed)
    v = g.standard_normal(_shape(shape))
    bad = np.abs(v) > 2
    while bad.any():
        v[bad] = g.standard_normal(int(bad.sum()))
        bad = np.abs(v) > 2
    return _core.constant((v * float(stddev) + float(mean)).astype(as_dtype(dtype).as_numpy_dtype))


def uniform(shape, minval=0, maxval=None, dtype=float32, seed=None, name=None):
    """Samples from [minval, maxval) (maxval defaults to 1 for floats)."""
    dt = as_dtype(dtype)
    g = _gen(seed)
    if dt.is_integer:
        if maxval is None:
            raise ValueError("Must specify maxval for integer dtype %r" % dt)
        v = g.integers(int(minval), int(maxval), _shape(shape))
    else:
        v = g.uniform(float(minval), 1.0 if maxval is None else float(maxval), _shape(shape))
    return _core.constant(v.astype(dt.as_numpy_dtype))


def shuffle(value, seed=None, name=None):
    """value with its first dimension permuted."""
    v = np.array(_core.convert_to_tensor(value).numpy())
    _gen(seed).shuffle(v)
    return _core.constant(v)
