"""tf.linalg: fastgrad's linear algebra (implemented in fastgrad.linalg_ops),
with tf.einsum and tf.tensordot under their tf.linalg names.

>>> import fastgrad as tf
>>> tf.linalg.matmul([[1.0, 2.0]], [[3.0], [4.0]]).numpy().tolist()
[[11.0]]
"""
from fastgrad.einsum_ops import einsum, tensordot  # noqa: F401
from fastgrad.linalg_ops import *  # noqa: F401,F403
from fastgrad.linalg_ops import __all__ as _linalg_all

__all__ = list(_linalg_all) + ["einsum", "tensordot"]
