"""tf.nn.experimental: stateless dropout.

>>> import fastgrad as tf
>>> tf.nn.experimental.stateless_dropout(tf.ones([4]), 0.0, seed=[0, 0]).numpy().tolist()
[1.0, 1.0, 1.0, 1.0]
"""
from fastgrad._nn_misc import stateless_dropout

__all__ = ["stateless_dropout"]
