"""Activation functions, looked up by name as Keras does.

As in Keras 2, ``softmax`` and ``sigmoid`` remember the logits they were
given: a cross-entropy loss handed their output uses the logits directly
(``from_logits``), which is exact where the probabilities would be
clipped at epsilon.
"""
from collections import OrderedDict

import fastgrad as tf

__all__ = ["elu", "get", "linear", "relu", "sigmoid", "softmax",
           "softplus", "tanh"]


_RECENT_LOGITS: "OrderedDict[int, tuple]" = OrderedDict()  # id(output) -> (output, logits), newest last
_KEEP = 8


def _remember_logits(output, logits):
    _RECENT_LOGITS[id(output)] = (output, logits)
    while len(_RECENT_LOGITS) > _KEEP:
        _RECENT_LOGITS.popitem(last=False)
    return output


def logits_of(output):
    """The logits a recent ``softmax``/``sigmoid`` output came from, else None."""
    entry = _RECENT_LOGITS.get(id(output))
    if entry is not None and entry[0] is output:
        return entry[1]
    return None


def relu(x):
    """max(x, 0) (``tf.keras.activations.relu``).

    >>> import fastgrad as tf
    >>> tf.keras.activations.relu(tf.constant([-1.0, 2.0])).numpy().tolist()
    [0.0, 2.0]
    """
    return tf.nn.relu(x)


def sigmoid(x):
    """1 / (1 + exp(-x)); a cross-entropy given the output uses x as logits.

    >>> import fastgrad as tf
    >>> tf.keras.activations.sigmoid(tf.constant([0.0])).numpy().tolist()
    [0.5]
    """
    return _remember_logits(tf.nn.sigmoid(x), x)


def tanh(x):
    """Hyperbolic tangent (``tf.keras.activations.tanh``).

    >>> import fastgrad as tf
    >>> tf.keras.activations.tanh(tf.constant([0.0])).numpy().tolist()
    [0.0]
    """
    return tf.nn.tanh(x)


def softmax(x, axis=-1):
    """Softmax over the last axis; a cross-entropy given the output uses x as logits.

    >>> import fastgrad as tf
    >>> tf.keras.activations.softmax(tf.constant([[0.0, 0.0]])).numpy().tolist()
    [[0.5, 0.5]]
    """
    if axis != -1 and axis != len(x.shape) - 1:
        raise ValueError(f"softmax supports only the last axis; got axis={axis}")
    return _remember_logits(tf.nn.softmax(x), x)


def softplus(x):
    """log(1 + exp(x)), computed stably (``tf.keras.activations.softplus``).

    >>> import fastgrad as tf
    >>> tf.keras.activations.softplus(tf.constant([0.0])).numpy().tolist()
    [0.6931471824645996]
    """
    return tf.nn.softplus(x)


def elu(x, alpha=1.0):
    """x for x > 0, alpha * (exp(x) - 1) otherwise (``tf.keras.activations.elu``).

    >>> import fastgrad as tf
    >>> tf.keras.activations.elu(tf.constant([-1.0, 2.0])).numpy().tolist()
    [-0.6321205496788025, 2.0]
    """
    # exp of min(x, 0) so the branch not taken cannot overflow into NaN grads
    neg = tf.exp(tf.minimum(x, 0.0)) - 1.0
    if alpha != 1.0:
        neg = neg * alpha
    return tf.where(tf.greater(x, 0.0), x, neg)


def linear(x):
    """The identity: x unchanged (``tf.keras.activations.linear``).

    >>> import fastgrad as tf
    >>> tf.keras.activations.linear(3.0)
    3.0
    """
    return x


_BY_NAME = {
    "relu": relu,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "softmax": softmax,
    "softplus": softplus,
    "elu": elu,
    "linear": linear,
}


def get(identifier):
    """None or 'linear' -> identity; a name -> that function; a callable
    is returned as is. Anything else raises ValueError, Keras's text."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        fn = _BY_NAME.get(identifier)
        if fn is not None:
            return fn
    elif callable(identifier):
        return identifier
    raise ValueError(
        f"Unknown activation function '{identifier}' cannot be deserialized.")
