"""``tf.random.experimental``: the seed utilities and Generator of
``fastgrad.random`` under their other names.

>>> import fastgrad as tf
>>> tf.random.experimental.stateless_fold_in([1, 2], 3).numpy().tolist()
[1105988140, 3]
"""
from fastgrad.random import (Algorithm, Generator, create_rng_state, get_global_generator,
                             set_global_generator)
from fastgrad.random import fold_in as stateless_fold_in
from fastgrad.random import split as stateless_split

__all__ = ["stateless_split", "stateless_fold_in", "Generator", "get_global_generator",
           "set_global_generator", "create_rng_state", "Algorithm"]
