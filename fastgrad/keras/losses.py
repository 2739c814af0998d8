"""Loss functions and classes with TF 2's ``tf.keras`` semantics.

Functions return one value per sample: they reduce over the last axis
only, after NumPy broadcasting of ``y_true`` against ``y_pred``, exactly as
``tf.keras.losses`` does. Note what that means for seed 004's
``mean_squared_error(y_hat, y_batch)`` with predictions [32, 1] and labels
[32]: the difference broadcasts to [32, 32] and the result, of shape
[32], is each prediction's mean squared distance to *every* label, a loss
minimised by predicting the batch mean (the tutorial's validation MSE
stays at the variance of the target for this reason). Give labels the
predictions' shape (``y[:, None]``), or use a loss class or ``compile``,
which first squeeze a trailing dimension of 1, as Keras does.

``y_true`` is cast to ``y_pred``'s dtype. Cross-entropies of the output of
a ``softmax``/``sigmoid`` activation use its logits (see
``activations.logits_of``), as Keras 2 does.
"""
import abc
import warnings

import fastgrad as tf

from . import _utils, activations
from .backend import epsilon

__all__ = ["BinaryCrossentropy", "CategoricalCrossentropy", "CosineSimilarity",
           "Hinge", "Huber", "KLD", "KLDivergence", "LogCosh", "Poisson",
           "cosine_similarity", "hinge", "huber", "kl_divergence", "kld",
           "log_cosh", "logcosh", "poisson", "Loss", "MAE",
           "MSE", "MeanAbsoluteError", "MeanSquaredError",
           "SparseCategoricalCrossentropy", "binary_crossentropy",
           "categorical_crossentropy", "get", "mae", "mean_absolute_error",
           "mean_squared_error", "mse", "sparse_categorical_crossentropy"]


def remove_squeezable_dimensions(y_true, y_pred):
    """Squeeze a trailing 1 from whichever of the two has rank one higher
    than the other (Keras's ``squeeze_or_expand_dimensions``)."""
    r_true, r_pred = len(y_true.shape), len(y_pred.shape)
    if r_pred == r_true + 1 and y_pred.shape[-1] == 1:
        y_pred = tf.squeeze(y_pred, axis=-1)
    elif r_true == r_pred + 1 and y_true.shape[-1] == 1:
        y_true = tf.squeeze(y_true, axis=-1)
    return y_true, y_pred


def match_weight_rank(values, weight):
    """A sample weight whose rank differs from the values' by one gets its
    trailing dimension squeezed or one added, so it broadcasts per sample."""
    r_v, r_w = len(values.shape), len(weight.shape)
    if r_w == 0:
        return weight
    if r_w == r_v + 1 and weight.shape[-1] == 1:
        return tf.squeeze(weight, axis=-1)
    if r_v == r_w + 1:
        return tf.expand_dims(weight, -1)
    return weight


def _pair(y_true, y_pred):
    """y_pred as a tensor, y_true as one of its dtype."""
    y_pred = _utils.to_tensor(y_pred)
    return _utils.to_tensor(y_true, y_pred.dtype), y_pred


def _from_activation(output, from_logits, activation, fn_name):
    """Keras 2's ``_get_logits``: the logits behind a softmax/sigmoid output."""
    logits = activations.logits_of(output)
    if logits is None:
        return output, from_logits
    if from_logits:
        warnings.warn(f'"`{fn_name}` received `from_logits=True`, but the '
                      f'`output` argument was produced by a {activation} '
                      'activation and thus does not represent logits. Was '
                      'this intended?', stacklevel=3)
    return logits, True


def mean_squared_error(y_true, y_pred):
    """``mean(square(y_pred - y_true), axis=-1)``."""
    y_true, y_pred = _pair(y_true, y_pred)
    return tf.reduce_mean(tf.square(y_pred - y_true), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """``mean(abs(y_pred - y_true), axis=-1)``."""
    y_true, y_pred = _pair(y_true, y_pred)
    return tf.reduce_mean(tf.abs(y_pred - y_true), axis=-1)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0,
                        axis=-1):
    """Mean over ``axis`` of the elementwise binary cross-entropy
    ``-(z*log(p + eps) + (1 - z)*log(1 - p + eps))`` with p clipped to
    [eps, 1 - eps]; from logits x, ``max(x, 0) - x*z + log1p(exp(-|x|))``."""
    y_true, y_pred = _pair(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    output, from_logits = _from_activation(y_pred, from_logits, "Sigmoid",
                                           "binary_crossentropy")
    if from_logits:
        bce = (tf.nn.relu(output) - output * y_true
               + tf.math.log1p(tf.exp(-tf.abs(output))))
    else:
        eps = epsilon()
        p = tf.clip_by_value(output, eps, 1.0 - eps)
        bce = -(y_true * tf.math.log(p + eps)
                + (1.0 - y_true) * tf.math.log(1.0 - p + eps))
    return tf.reduce_mean(bce, axis=axis)


def categorical_crossentropy(y_true, y_pred, from_logits=False,
                             label_smoothing=0.0, axis=-1):
    """``-sum(y_true * log(p))`` over the class (last) axis, p the
    probabilities renormalised and clipped to [eps, 1 - eps], or
    ``log_softmax`` of logits."""
    if axis != -1:
        raise ValueError(f"Only axis=-1 is supported. Received: axis={axis}")
    y_true, y_pred = _pair(y_true, y_pred)
    t_shape, o_shape = _utils.shape_tuple(y_true), _utils.shape_tuple(y_pred)
    if t_shape != o_shape:
        raise ValueError(f"Shapes {t_shape} and {o_shape} are incompatible")
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / o_shape[-1]
    output, from_logits = _from_activation(y_pred, from_logits, "Softmax",
                                           "categorical_crossentropy")
    if from_logits:
        return -tf.reduce_sum(y_true * tf.nn.log_softmax(output), axis=-1)
    eps = epsilon()
    p = output / tf.reduce_sum(output, axis=-1, keepdims=True)
    p = tf.clip_by_value(p, eps, 1.0 - eps)
    return -tf.reduce_sum(y_true * tf.math.log(p), axis=-1)


def _one_hot(labels, depth, dtype):
    # checks the labels' range in C: a traced step keeps no guard on their values
    from fastgrad.array_ops import _one_hot as one_hot
    return one_hot(labels, depth, None, None, None, dtype, True)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, axis=-1):
    """Cross-entropy between integer labels [batch] (or [batch, 1]) and
    class scores [batch, classes]; returns [batch]. Labels outside
    [0, classes) raise ValueError."""
    if axis != -1:
        raise ValueError(f"Only axis=-1 is supported. Received: axis={axis}")
    y_pred = _utils.to_tensor(y_pred)
    labels = _utils.to_tensor(y_true)
    if _utils.is_floating(labels.dtype):
        labels = tf.cast(labels, tf.int64)
    t_shape, o_shape = _utils.shape_tuple(labels), _utils.shape_tuple(y_pred)
    if len(o_shape) < 1:
        raise ValueError("Argument `output` must be at least rank 1. "
                         f"Received: output.shape={o_shape}")
    if len(t_shape) != len(o_shape) - 1:       # Keras flattens the labels
        labels = tf.reshape(labels, [-1])
        t_shape = _utils.shape_tuple(labels)
    if t_shape != o_shape[:-1]:
        raise ValueError(
            "`labels.shape` must equal `logits.shape` except for the last "
            f"dimension. Received: labels.shape={_utils.shape_tuple(y_true)} "
            f"and logits.shape={o_shape}")
    output, from_logits = _from_activation(y_pred, from_logits, "Softmax",
                                           "sparse_categorical_crossentropy")
    if from_logits:
        log_p = tf.nn.log_softmax(output)
    else:
        eps = epsilon()
        log_p = tf.nn.log_softmax(tf.math.log(tf.clip_by_value(output, eps, 1.0 - eps)))
    return -tf.reduce_sum(_one_hot(labels, o_shape[-1], log_p.dtype) * log_p,
                          axis=-1)


def huber(y_true, y_pred, delta=1.0):
    """Mean over the last axis of ``0.5*e**2`` where ``|e| <= delta``, else
    ``delta*|e| - 0.5*delta**2`` (e = y_pred - y_true)."""
    y_true, y_pred = _pair(y_true, y_pred)
    delta = tf.constant(delta, dtype=y_pred.dtype)
    error = y_pred - y_true
    abs_error = tf.abs(error)
    half = tf.constant(0.5, dtype=y_pred.dtype)
    return tf.reduce_mean(tf.where(abs_error <= delta, half * tf.square(error),
                                   delta * abs_error - half * tf.square(delta)),
                          axis=-1)


def log_cosh(y_true, y_pred):
    """Mean over the last axis of ``log(cosh(y_pred - y_true))``, computed
    as ``x + softplus(-2x) - log(2)`` (no overflow)."""
    y_true, y_pred = _pair(y_true, y_pred)
    x = y_pred - y_true
    log2 = tf.cast(tf.math.log(tf.constant(2.0)), x.dtype)
    return tf.reduce_mean(x + tf.math.softplus(-2.0 * x) - log2, axis=-1)


def kl_divergence(y_true, y_pred):
    """``sum(y_true * log(y_true / y_pred))`` over the last axis, both
    clipped to [eps, 1]."""
    y_true, y_pred = _pair(y_true, y_pred)
    y_true = tf.clip_by_value(y_true, epsilon(), 1.0)
    y_pred = tf.clip_by_value(y_pred, epsilon(), 1.0)
    return tf.reduce_sum(y_true * tf.math.log(y_true / y_pred), axis=-1)


def cosine_similarity(y_true, y_pred, axis=-1):
    """``-sum(l2_normalize(y_true) * l2_normalize(y_pred))`` along axis:
    -1 for parallel vectors, 1 for opposite ones."""
    y_true, y_pred = _pair(y_true, y_pred)
    y_true = tf.math.l2_normalize(y_true, axis=axis)
    y_pred = tf.math.l2_normalize(y_pred, axis=axis)
    return -tf.reduce_sum(y_true * y_pred, axis=axis)


def _maybe_convert_labels(y_true):
    """0/1 labels become -1/1 when every label is 0 or 1 (a tensor
    select, so a traced step keeps no guard on the labels' values)."""
    are_binary = tf.reduce_all(tf.logical_or(tf.equal(y_true, 0.0), tf.equal(y_true, 1.0)))
    return tf.where(are_binary, 2.0 * y_true - 1.0, y_true)


def hinge(y_true, y_pred):
    """Mean over the last axis of ``max(1 - y_true*y_pred, 0)``; labels
    of 0/1 are taken as -1/1."""
    y_true, y_pred = _pair(y_true, y_pred)
    y_true = _maybe_convert_labels(y_true)
    return tf.reduce_mean(tf.maximum(1.0 - y_true * y_pred, 0.0), axis=-1)


def poisson(y_true, y_pred):
    """Mean over the last axis of ``y_pred - y_true*log(y_pred + eps)``."""
    y_true, y_pred = _pair(y_true, y_pred)
    return tf.reduce_mean(y_pred - y_true * tf.math.log(y_pred + epsilon()), axis=-1)


logcosh = log_cosh
kld = KLD = kullback_leibler_divergence = kl_divergence


# classes ------------------------------------------------------------------

_REDUCTIONS = ("auto", "sum_over_batch_size", "sum", "none", None)


class Loss(abc.ABC):
    """Base class: ``call(y_true, y_pred)`` gives per-sample values which
    ``__call__`` reduces: ``'sum_over_batch_size'`` (the default, a mean),
    ``'sum'``, or ``'none'``; ``sample_weight`` scales the values first."""

    def __init__(self, reduction="auto", name=None):
        if reduction not in _REDUCTIONS:
            raise ValueError(f"Invalid Reduction Key: {reduction}. Expected keys are "
                             "\"('auto', 'none', 'sum', 'sum_over_batch_size')\"")
        self.reduction = reduction
        self.name = name or _utils.snake_case(type(self).__name__)

    @abc.abstractmethod
    def call(self, y_true, y_pred):
        """Per-sample loss values (subclasses define it)."""

    def __call__(self, y_true, y_pred, sample_weight=None):
        values = self.call(y_true, y_pred)
        if sample_weight is not None:
            values = values * match_weight_rank(
                values, _utils.to_tensor(sample_weight, values.dtype))
        if self.reduction in ("none", None):
            return values
        if self.reduction == "sum":
            return tf.reduce_sum(values)
        return tf.reduce_mean(values)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}


class LossFunctionWrapper(Loss):
    """A Loss around a per-sample function ``fn(y_true, y_pred, **kwargs)``.
    A trailing dimension of 1 that makes the ranks differ by one is
    squeezed first (so predictions [n, 1] meet labels [n] one to one)."""

    def __init__(self, fn, reduction="auto", name=None, **kwargs):
        super().__init__(reduction=reduction, name=name)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        y_pred = _utils.to_tensor(y_pred)
        y_true = _utils.to_tensor(y_true)
        y_true, y_pred = remove_squeezable_dimensions(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)


class MeanSquaredError(LossFunctionWrapper):
    def __init__(self, reduction="auto", name="mean_squared_error"):
        super().__init__(mean_squared_error, reduction=reduction, name=name)


class MeanAbsoluteError(LossFunctionWrapper):
    def __init__(self, reduction="auto", name="mean_absolute_error"):
        super().__init__(mean_absolute_error, reduction=reduction, name=name)


class BinaryCrossentropy(LossFunctionWrapper):
    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="auto", name="binary_crossentropy"):
        super().__init__(binary_crossentropy, reduction=reduction, name=name,
                         from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits


class CategoricalCrossentropy(LossFunctionWrapper):
    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="auto", name="categorical_crossentropy"):
        super().__init__(categorical_crossentropy, reduction=reduction,
                         name=name, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    def __init__(self, from_logits=False, reduction="auto",
                 name="sparse_categorical_crossentropy"):
        super().__init__(sparse_categorical_crossentropy, reduction=reduction,
                         name=name, from_logits=from_logits)
        self.from_logits = from_logits


class Huber(LossFunctionWrapper):
    def __init__(self, delta=1.0, reduction="auto", name="huber_loss"):
        super().__init__(huber, reduction=reduction, name=name, delta=delta)


class LogCosh(LossFunctionWrapper):
    def __init__(self, reduction="auto", name="log_cosh"):
        super().__init__(log_cosh, reduction=reduction, name=name)


class KLDivergence(LossFunctionWrapper):
    def __init__(self, reduction="auto", name="kl_divergence"):
        super().__init__(kl_divergence, reduction=reduction, name=name)


class CosineSimilarity(LossFunctionWrapper):
    def __init__(self, axis=-1, reduction="auto", name="cosine_similarity"):
        super().__init__(cosine_similarity, reduction=reduction, name=name, axis=axis)


class Hinge(LossFunctionWrapper):
    def __init__(self, reduction="auto", name="hinge"):
        super().__init__(hinge, reduction=reduction, name=name)


class Poisson(LossFunctionWrapper):
    def __init__(self, reduction="auto", name="poisson"):
        super().__init__(poisson, reduction=reduction, name=name)


_BY_NAME = {
    "mean_squared_error": mean_squared_error,
    "huber": huber,
    "huber_loss": huber,
    "log_cosh": log_cosh,
    "logcosh": log_cosh,
    "kl_divergence": kl_divergence,
    "kld": kl_divergence,
    "kullback_leibler_divergence": kl_divergence,
    "cosine_similarity": cosine_similarity,
    "hinge": hinge,
    "poisson": poisson,
    "mse": mean_squared_error,
    "MSE": mean_squared_error,
    "mean_absolute_error": mean_absolute_error,
    "mae": mean_absolute_error,
    "MAE": mean_absolute_error,
    "binary_crossentropy": binary_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
}

_CLASSES = {
    "MeanSquaredError": MeanSquaredError,
    "MeanAbsoluteError": MeanAbsoluteError,
    "BinaryCrossentropy": BinaryCrossentropy,
    "CategoricalCrossentropy": CategoricalCrossentropy,
    "SparseCategoricalCrossentropy": SparseCategoricalCrossentropy,
    "Huber": Huber,
    "LogCosh": LogCosh,
    "KLDivergence": KLDivergence,
    "CosineSimilarity": CosineSimilarity,
    "Hinge": Hinge,
    "Poisson": Poisson,
}


def get(identifier):
    """A loss function by name ('mse', 'sparse_categorical_crossentropy';
    a class name gives an instance), a Loss or a callable; anything else
    raises ValueError."""
    if isinstance(identifier, str):
        if identifier in _BY_NAME:
            return _BY_NAME[identifier]
        if identifier in _CLASSES:
            return _CLASSES[identifier]()
    elif callable(identifier):
        return identifier
    raise ValueError(f"Unknown loss function: '{identifier}'.")
