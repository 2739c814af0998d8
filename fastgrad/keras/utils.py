"""``keras.utils``: ``to_categorical`` and ``set_random_seed``."""
import random

import numpy as np

__all__ = ["set_random_seed", "to_categorical"]


def to_categorical(y, num_classes=None, dtype="float32"):
    """One-hot rows of integer class labels (a NumPy array, as Keras's;
    data preparation, not a tensor op). A trailing dimension of 1 is
    dropped; ``num_classes`` defaults to ``max(y) + 1``.

    >>> to_categorical([0, 2], 3).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    y = np.array(y, dtype="int")
    input_shape = y.shape
    if input_shape and input_shape[-1] == 1 and len(input_shape) > 1:
        input_shape = tuple(input_shape[:-1])
    y = y.ravel()
    if not num_classes:
        num_classes = np.max(y) + 1
    n = y.shape[0]
    categorical = np.zeros((n, num_classes), dtype=dtype)
    categorical[np.arange(n), y] = 1
    return np.reshape(categorical, input_shape + (num_classes,))


def set_random_seed(seed):
    """Seed Python's ``random``, NumPy's global generator and fastgrad's
    global seed at once (``tf.random.set_seed``), as Keras does."""
    if not isinstance(seed, int):
        raise ValueError(f"Expected `seed` argument to be an integer. Received: seed={seed}")
    import fastgrad as tf
    random.seed(seed)
    np.random.seed(seed)
    tf.random.set_seed(seed)
