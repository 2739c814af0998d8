"""The few backend utilities Keras code reaches for."""
from . import _utils

__all__ = ["clear_session", "epsilon", "floatx"]

_EPSILON = 1e-7


def epsilon():
    """The fuzz factor used in numeric expressions (1e-7, as Keras)."""
    return _EPSILON


def floatx():
    """The default float type, ``'float32'``."""
    return "float32"


def clear_session():
    """Reset the name counters so new layers are 'dense', 'dense_1', ..."""
    _utils.reset_uids()
