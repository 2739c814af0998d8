"""Neural-network ops (``tf.nn``): activations and softmax.

>>> import fastgrad as tf
>>> tf.nn.relu(tf.constant([-1.0, 2.0])).numpy().tolist()
[0.0, 2.0]
"""
from fastgrad import _core, _nn_conv, _nn_misc
from fastgrad._nn_conv import *  # noqa: F401,F403 - tf.nn's convolutions and pooling
from fastgrad._nn_misc import *  # noqa: F401,F403 - the rest of tf.nn
from fastgrad import _nn_experimental as experimental  # noqa: E402 - tf.nn.experimental
from fastgrad import math_ops as _m
from fastgrad.array_ops import transpose
from fastgrad.errors import InvalidArgumentError
from fastgrad.math_ops import l2_normalize  # tf.nn.l2_normalize is tf.math's

__all__ = ["relu", "sigmoid", "tanh", "softmax", "log_softmax", "softplus", "elu",
           "leaky_relu", "sparse_softmax_cross_entropy_with_logits",
           "softmax_cross_entropy_with_logits", "sigmoid_cross_entropy_with_logits", "l2_loss",
           "relu6", "silu", "swish", "moments", "softsign", "l2_normalize"] + _nn_conv.__all__ + _nn_misc.__all__

_OPS = _core.OPS
relu = _m._unop("relu")
relu.__doc__ = "max(x, 0) elementwise; its gradient is a fused ReluGrad."
sigmoid = _m.sigmoid
tanh = _m.tanh
softplus = _m.softplus
softsign = _m.softsign


def _last_axis_op(op, logits, axis):
    x = logits if isinstance(logits, _core._TensorBase) else _core.convert_to_tensor(logits)
    if axis is not None and not -x.ndim <= int(axis) < x.ndim:
        raise InvalidArgumentError(
            "`dim` must be in the range [%d, %d) where %d is the number of dimensions in the input. "
            "Received: dim=%d" % (-x.ndim, x.ndim, x.ndim, int(axis)))
    if axis is None or axis in (-1, x.ndim - 1):
        return _core.apply(op, [x])
    nd = x.ndim
    axis = axis % nd
    perm = list(range(nd))
    perm[axis], perm[-1] = perm[-1], perm[axis]
    return transpose(_core.apply(op, [transpose(x, perm)]), perm)


def softmax(logits, axis=None, name=None):
    """exp(x) / sum(exp(x)) along axis (default last), stably.

    >>> import fastgrad as tf
    >>> [round(v, 4) for v in tf.nn.softmax(tf.constant([0.0, 1.0])).numpy().tolist()]
    [0.2689, 0.7311]
    """
    return _last_axis_op(_OPS["softmax"], logits, axis)


def log_softmax(logits, axis=None, name=None):
    """log(softmax(x)) along axis (default last), stably."""
    return _last_axis_op(_OPS["log_softmax"], logits, axis)


def elu(features, name=None):
    """x if x > 0 else exp(x) - 1."""
    x = features if isinstance(features, _core._TensorBase) else _core.convert_to_tensor(features)
    return _m.where(_m.greater(x, 0.0), x, _m.subtract(_m.exp(_m.minimum(x, 0.0)), 1.0))


def leaky_relu(features, alpha=0.2, name=None):
    """x if x > 0 else alpha * x (gradient alpha at 0, as TF's LeakyReluGrad)."""
    x = features if isinstance(features, _core._TensorBase) else _core.convert_to_tensor(features)
    return _m.where(_m.greater(x, 0.0), x, _m.multiply(x, alpha))


def sparse_softmax_cross_entropy_with_logits(labels=None, logits=None, name=None):
    """-log softmax(logits)[label] per example."""
    from fastgrad.array_ops import _one_hot
    logp = log_softmax(logits)
    oh = _one_hot(labels, logp.shape[-1], None, None, None, logp.dtype, True)
    return _m.negative(_m.reduce_sum(_m.multiply(oh, logp), axis=-1))


def softmax_cross_entropy_with_logits(labels=None, logits=None, axis=-1, name=None):
    """-sum(labels * log softmax(logits)) along axis."""
    return _m.negative(_m.reduce_sum(_m.multiply(labels, log_softmax(logits, axis)), axis=axis))


def sigmoid_cross_entropy_with_logits(labels=None, logits=None, name=None):
    """``max(x, 0) - x * z + log(1 + exp(-abs(x)))``, stably."""
    x = logits
    return _m.add(_m.subtract(relu(x), _m.multiply(x, labels)), _m.log1p(_m.exp(_m.negative(_m.abs(x)))))


def l2_loss(t, name=None):
    """sum(t ** 2) / 2."""
    return _m.multiply(_m.reduce_sum(_m.square(t)), 0.5)


def relu6(features, name=None):
    """min(max(x, 0), 6); the gradient passes only strictly inside (0, 6), as TF's Relu6Grad."""
    x = features if isinstance(features, _core._TensorBase) else _core.convert_to_tensor(features)
    inside = _m.logical_and(_m.greater(x, 0.0), _m.less(x, 6.0))
    clipped = _core.stop_gradient(_m.minimum(_m.maximum(x, 0.0), 6.0))
    return _m.where(inside, x, clipped)


def silu(features, beta=1.0, name=None):
    """x * sigmoid(beta * x) (``tf.nn.swish``)."""
    return _m.multiply(features, _m.sigmoid(_m.multiply(features, beta)))


swish = silu


def moments(x, axes, shift=None, keepdims=False, name=None):
    """(mean, variance) over axes, as tf.nn.moments."""
    mean = _m.reduce_mean(x, axes, keepdims=True)
    variance = _m.reduce_mean(_m.squared_difference(x, _core.stop_gradient(mean)), axes, keepdims=True)
    if not keepdims:
        from fastgrad.array_ops import squeeze
        mean, variance = squeeze(mean, axes), squeeze(variance, axes)
    return mean, variance
