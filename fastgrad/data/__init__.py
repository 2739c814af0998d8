"""``fastgrad.data``: in-memory input pipelines with ``tf.data``'s API.

>>> import fastgrad as tf
>>> ds = tf.data.Dataset.from_tensor_slices({"x": [[1.0], [2.0], [3.0]], "y": [0, 1, 0]})
>>> ds.batch(2).element_spec["x"]
TensorSpec(shape=(None, 1), dtype=tf.float32, name=None)
"""
import types as _types

from .dataset_ops import (AUTOTUNE, INFINITE_CARDINALITY, UNKNOWN_CARDINALITY, Dataset,
                          NumpyIterator, OwnedIterator)

experimental = _types.SimpleNamespace(AUTOTUNE=AUTOTUNE, INFINITE_CARDINALITY=INFINITE_CARDINALITY,
                                      UNKNOWN_CARDINALITY=UNKNOWN_CARDINALITY)

__all__ = ["AUTOTUNE", "INFINITE_CARDINALITY", "UNKNOWN_CARDINALITY", "Dataset", "NumpyIterator",
           "OwnedIterator", "experimental"]
