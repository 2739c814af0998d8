"""fastgrad dtypes: ``float32``, ``float64``, ``int32``, ``int64``, ``bool``.

A ``DType`` compares equal to the matching NumPy dtype and to itself.

>>> import fastgrad as tf, numpy as np
>>> tf.float32 == np.float32, tf.float32.name, tf.float64.is_floating
(True, 'float32', True)
"""

import builtins

import numpy as np

__all__ = ["DType", "float32", "float64", "int32", "int64", "bool", "as_dtype"]

# Enum values of csrc/fg_tensor.h (fg_dtype).
_F32, _F64, _I32, _I64, _BOOL = 0, 1, 2, 3, 4


class DType:
    """A tensor element type, as ``tf.DType``."""

    __slots__ = ("_enum", "_name", "_np")

    def __init__(self, enum, name, np_type):
        self._enum = enum
        self._name = name
        self._np = np_type

    @property
    def name(self):
        return self._name

    @property
    def as_numpy_dtype(self):
        return self._np

    @property
    def is_floating(self):
        return self._enum in (_F32, _F64)

    @property
    def is_integer(self):
        return self._enum in (_I32, _I64)

    @property
    def is_bool(self):
        return self._enum == _BOOL

    @property
    def size(self):
        return np.dtype(self._np).itemsize

    @property
    def min(self):
        return np.finfo(self._np).min if self.is_floating else np.iinfo(self._np).min

    @property
    def max(self):
        return np.finfo(self._np).max if self.is_floating else np.iinfo(self._np).max

    def __eq__(self, other):
        if isinstance(other, DType):
            return self._enum == other._enum
        try:
            return as_dtype(other)._enum == self._enum
        except (TypeError, ValueError):
            return False

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash(self._name)

    def __repr__(self):
        return "tf.%s" % self._name

    def __str__(self):
        return "<dtype: '%s'>" % self._name

    def __reduce__(self):
        return as_dtype, (self._name,)


float32 = DType(_F32, "float32", np.float32)
float64 = DType(_F64, "float64", np.float64)
int32 = DType(_I32, "int32", np.int32)
int64 = DType(_I64, "int64", np.int64)
bool = DType(_BOOL, "bool", np.bool_)  # noqa: A001 - TF's name

_BY_ENUM = (float32, float64, int32, int64, bool)
_BY_NP = {np.dtype(d.as_numpy_dtype): d for d in _BY_ENUM}
_ALIASES = {"float": float32, "double": float64, "half": float32}


def as_dtype(value):
    """The ``DType`` for a DType, NumPy dtype, Python type or name.

    >>> as_dtype("float64") is float64, as_dtype(np.int32) is int32
    (True, True)
    """
    if isinstance(value, DType):
        return value
    if isinstance(value, str):
        for d in _BY_ENUM:
            if d.name == value:
                return d
        if value in _ALIASES:
            return _ALIASES[value]
    if value is float:
        return float32
    if value is int:
        return int32
    if value is builtins.bool:
        return bool
    try:
        npd = np.dtype(value)
    except TypeError:
        raise TypeError("Cannot convert the argument `type_value`: %r to a TensorFlow DType."
                        % (value,)) from None
    if npd in _BY_NP:
        return _BY_NP[npd]
    raise TypeError("fastgrad does not support dtype %s" % npd)
