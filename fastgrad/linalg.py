"""tf.linalg: fastgrad's linear algebra (implemented in fastgrad.linalg_ops).

>>> import fastgrad as tf
>>> tf.linalg.matmul([[1.0, 2.0]], [[3.0], [4.0]]).numpy().tolist()
[[11.0]]
"""
from fastgrad.linalg_ops import *  # noqa: F401,F403
from fastgrad.linalg_ops import __all__  # noqa: F401
