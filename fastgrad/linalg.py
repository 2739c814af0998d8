"""tf.linalg: the linear-algebra names fastgrad has.

>>> import fastgrad as tf
>>> tf.linalg.matmul([[1.0, 2.0]], [[3.0], [4.0]]).numpy().tolist()
[[11.0]]
"""
from fastgrad.math_ops import l2_normalize, matmul, norm

__all__ = ["matmul", "norm", "l2_normalize"]
