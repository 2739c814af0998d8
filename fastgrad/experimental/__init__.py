"""tf.experimental: the parts fastgrad has (DLPack exchange).

>>> import fastgrad as tf
>>> sorted(n for n in dir(tf.experimental.dlpack) if not n.startswith("_"))
['from_dlpack', 'to_dlpack']
"""
from fastgrad.experimental import dlpack

__all__ = ["dlpack"]
