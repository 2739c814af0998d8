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
    return tf.nn.relu(x)


def sigmoid(x):
    return _remember_logits(tf.nn.sigmoid(x), x)


def tanh(x):
    return tf.nn.tanh(x)


def softmax(x, axis=-1):
    if axis != -1 and axis != len(x.shape) - 1:
        raise ValueError(f"softmax supports only the last axis; got axis={axis}")
    return _remember_logits(tf.nn.softmax(x), x)


def softplus(x):
    return tf.nn.softplus(x)


def elu(x, alpha=1.0):
    # exp of min(x, 0) so the branch not taken cannot overflow into NaN grads
    neg = tf.exp(tf.minimum(x, 0.0)) - 1.0
    if alpha != 1.0:
        neg = neg * alpha
    return tf.where(tf.greater(x, 0.0), x, neg)


def linear(x):
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
