"""tf.experimental: the parts fastgrad has (DLPack exchange).

>>> import fastgrad as tf
>>> tf.experimental.dlpack.__all__
['from_dlpack', 'to_dlpack']
"""
from fastgrad.experimental import dlpack

__all__ = ["dlpack"]
