"""Stateful metrics: calling one accumulates a batch and returns the
running value as a Tensor; ``result()``, ``reset_state()`` (and the old
name ``reset_states()``) as in Keras.

The state lives in non-trainable float32 ``fastgrad.Variable``s ``total``
and ``count``. Inputs are cut from any tape with ``stop_gradient``, so a
metric updated inside a ``GradientTape`` adds nothing to the gradient.
"""
import abc
import math

import fastgrad as tf

from . import _utils, losses

__all__ = ["AUC", "Precision", "Recall", "Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "Mean",
           "MeanAbsoluteError", "MeanMetricWrapper", "MeanSquaredError",
           "Metric", "RootMeanSquaredError", "SparseCategoricalAccuracy",
           "Sum", "accuracy", "binary_accuracy", "categorical_accuracy",
           "get", "mean_absolute_error", "mean_squared_error",
           "sparse_categorical_accuracy"]

mean_squared_error = losses.mean_squared_error
mean_absolute_error = losses.mean_absolute_error


class Metric(abc.ABC):
    """Base class: subclasses implement ``update_state`` and ``result``."""

    def __init__(self, name=None, dtype=None):
        self.name = name or _utils.snake_case(type(self).__name__)
        self.dtype = _utils.as_dtype(dtype) or tf.float32
        self._variables = []

    def add_variable(self, name, shape=()):
        var = tf.Variable(tf.zeros(shape, dtype=self.dtype), trainable=False,
                          name=f"{self.name}/{name}")
        self._variables.append(var)
        return var

    @property
    def variables(self):
        return list(self._variables)

    @abc.abstractmethod
    def update_state(self, *args, **kwargs):
        """Accumulate a batch (each metric defines its arguments)."""

    @abc.abstractmethod
    def result(self):
        """The running value, a Tensor."""

    def reset_state(self):
        for var in self._variables:
            var.assign(tf.zeros(var.shape, dtype=var.dtype))

    def reset_states(self):
        """The TF 2 name of ``reset_state``."""
        self.reset_state()

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


class Sum(Metric):
    """The running (weighted) sum of the values seen."""

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable("total")

    def update_state(self, values, sample_weight=None):
        values = tf.stop_gradient(_utils.to_tensor(values, self.dtype))
        if sample_weight is not None:
            w = _utils.to_tensor(sample_weight, self.dtype)
            values = values * losses.match_weight_rank(values, w)
        self.total.assign_add(tf.reduce_sum(values))

    def result(self):
        return tf.identity(self.total)


class Mean(Metric):
    """The running (weighted) mean of all values seen, element by element:
    ``total / count`` with ``count`` the number of values (or the sum of
    their weights), as ``tf.keras.metrics.Mean``."""

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable("total")
        self.count = self.add_variable("count")

    def update_state(self, values, sample_weight=None):
        values = tf.stop_gradient(_utils.to_tensor(values, self.dtype))
        if sample_weight is None:
            n = tf.constant(float(math.prod(_utils.shape_tuple(values))), self.dtype)
        else:
            w = _utils.to_tensor(sample_weight, self.dtype)
            w = losses.match_weight_rank(values, w) + tf.zeros_like(values)
            values = values * w
            n = tf.reduce_sum(w)
        self.total.assign_add(tf.reduce_sum(values))
        self.count.assign_add(n)

    def result(self):
        # a tensor op, not a Python read: no value guard inside fastgrad.function
        return tf.math.divide_no_nan(self.total, self.count)


class MeanMetricWrapper(Mean):
    """The running mean of a per-sample function ``fn(y_true, y_pred)``.
    Both are cast to the metric's dtype and a trailing dimension of 1 that
    makes their ranks differ by one is squeezed, as in ``tf.keras``."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", "mean"), dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = _utils.to_tensor(y_true, self.dtype)
        y_pred = tf.stop_gradient(_utils.to_tensor(y_pred, self.dtype))
        y_true, y_pred = losses.remove_squeezable_dimensions(y_true, y_pred)
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        super().update_state(values, sample_weight=sample_weight)


class MeanSquaredError(MeanMetricWrapper):
    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, name=name, dtype=dtype)


class RootMeanSquaredError(Mean):
    """``sqrt`` of the running mean squared error."""

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = _utils.to_tensor(y_true, self.dtype)
        y_pred = tf.stop_gradient(_utils.to_tensor(y_pred, self.dtype))
        y_true, y_pred = losses.remove_squeezable_dimensions(y_true, y_pred)
        super().update_state(tf.square(y_true - y_pred), sample_weight)

    def result(self):
        return tf.sqrt(super().result())


# accuracies ---------------------------------------------------------------

def _argmax_last(x):
    """Index of the largest entry along the last axis (first on ties)."""
    argmax = getattr(tf.math, "argmax", None) or getattr(tf, "argmax", None)
    if argmax is not None:
        return argmax(x, axis=-1)
    # fallback from listed ops: the smallest index attaining the maximum
    n = x.shape[-1]
    idx = tf.cast(tf.range(n), x.dtype)
    is_max = tf.equal(x, tf.reduce_max(x, axis=-1, keepdims=True))
    return tf.reduce_min(tf.where(is_max, idx, tf.cast(n, x.dtype)), axis=-1)


def accuracy(y_true, y_pred):
    """1.0 where the predictions equal the labels exactly."""
    y_true, y_pred = losses._pair(y_true, y_pred)
    if _utils.shape_tuple(y_true) != _utils.shape_tuple(y_pred):
        raise ValueError(f"Shapes {_utils.shape_tuple(y_pred)} and "
                         f"{_utils.shape_tuple(y_true)} are incompatible")
    return tf.cast(tf.equal(y_true, y_pred), tf.float32)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """Mean over the last axis of ``(y_pred > threshold) == y_true``."""
    y_true, y_pred = losses._pair(y_true, y_pred)
    pred = tf.cast(tf.greater(y_pred, threshold), y_pred.dtype)
    return tf.reduce_mean(tf.cast(tf.equal(y_true, pred), tf.float32), axis=-1)


def _matches(labels, scores):
    """1.0 where integer-valued labels equal the argmax of the scores; the
    result has the labels' shape ([n] or [n, 1])."""
    labels = _utils.to_tensor(labels)
    scores = _utils.to_tensor(scores)
    shape = _utils.shape_tuple(labels)
    if len(shape) == len(scores.shape):
        labels = tf.squeeze(labels, axis=-1)
    pred = tf.cast(_argmax_last(scores), tf.float32)
    matches = tf.cast(tf.equal(tf.cast(labels, tf.float32), pred), tf.float32)
    return tf.reshape(matches, list(shape))


def categorical_accuracy(y_true, y_pred):
    """1.0 where the argmax of one-hot labels equals that of the scores."""
    return _matches(_argmax_last(_utils.to_tensor(y_true)), y_pred)


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where integer labels equal the argmax of the class scores."""
    return _matches(y_true, y_pred)


class Accuracy(MeanMetricWrapper):
    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name=name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(binary_accuracy, name=name, dtype=dtype,
                         threshold=threshold)


class CategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


# confusion-matrix metrics ---------------------------------------------------

class _Confusion(Metric):
    """Counts of true/false positives/negatives at each threshold:
    a prediction is positive where ``y_pred > threshold``, a label where
    it is nonzero (tf_keras's ``update_confusion_matrix_variables``)."""

    _COUNTS: tuple = ()

    def __init__(self, thresholds, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.thresholds = list(thresholds)
        for count in self._COUNTS:
            setattr(self, count, self.add_variable(count, (len(self.thresholds),)))

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = tf.reshape(tf.stop_gradient(_utils.to_tensor(y_pred, tf.float32)), [-1, 1])
        label = tf.reshape(tf.cast(_utils.to_tensor(y_true), tf.bool), [-1, 1])
        thresholds = tf.constant([self.thresholds], dtype=tf.float32)
        pred_pos = tf.greater(y_pred, thresholds)       # [n, thresholds]
        weight = None
        if sample_weight is not None:
            weight = tf.reshape(_utils.to_tensor(sample_weight, self.dtype), [-1, 1])
        pairs = {"true_positives": (label, pred_pos),
                 "false_positives": (tf.logical_not(label), pred_pos),
                 "true_negatives": (tf.logical_not(label), tf.logical_not(pred_pos)),
                 "false_negatives": (label, tf.logical_not(pred_pos))}
        for count in self._COUNTS:
            a, b = pairs[count]
            hits = tf.cast(tf.logical_and(a, b), self.dtype)
            if weight is not None:
                hits = hits * weight
            getattr(self, count).assign_add(tf.reduce_sum(hits, axis=0))

    def _one(self, value):
        return value[0] if len(self.thresholds) == 1 else value


class Precision(_Confusion):
    """``tp / (tp + fp)`` at ``thresholds`` (0.5 by default)."""

    _COUNTS = ("true_positives", "false_positives")

    def __init__(self, thresholds=None, name=None, dtype=None):
        single = thresholds is None or isinstance(thresholds, (int, float))
        super().__init__([0.5 if thresholds is None else thresholds] if single
                         else thresholds, name=name, dtype=dtype)

    def result(self):
        return self._one(tf.math.divide_no_nan(
            self.true_positives, self.true_positives + self.false_positives))


class Recall(_Confusion):
    """``tp / (tp + fn)`` at ``thresholds`` (0.5 by default)."""

    _COUNTS = ("true_positives", "false_negatives")

    def __init__(self, thresholds=None, name=None, dtype=None):
        single = thresholds is None or isinstance(thresholds, (int, float))
        super().__init__([0.5 if thresholds is None else thresholds] if single
                         else thresholds, name=name, dtype=dtype)

    def result(self):
        return self._one(tf.math.divide_no_nan(
            self.true_positives, self.true_positives + self.false_negatives))


class AUC(_Confusion):
    """Area under the ROC (or PR) curve by the trapezoid rule over
    ``num_thresholds`` thresholds evenly spaced in [0, 1] (plus -eps and
    1 + eps at the ends), as ``tf.keras.metrics.AUC``'s default
    'interpolation' summation (for PR: the same trapezoids, tf_keras's
    Davis-Goadrich interpolation is not implemented)."""

    _COUNTS = ("true_positives", "false_positives", "true_negatives", "false_negatives")

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name=None, dtype=None, thresholds=None):
        if num_thresholds <= 1:
            raise ValueError("Argument `num_thresholds` must be an integer > 1. "
                             f"Received: num_thresholds={num_thresholds}")
        if curve not in ("ROC", "PR"):
            raise ValueError(f'Invalid AUC curve value: "{curve}". Expected values '
                             "are [ROC, PR]")
        if summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError(f"Invalid AUC summation method value: {summation_method}")
        if thresholds is None:
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        else:
            inner = sorted(thresholds)
        eps = 1e-7
        self.num_thresholds = len(inner) + 2
        self.curve, self.summation_method = curve, summation_method
        super().__init__([0.0 - eps] + inner + [1.0 + eps], name=name, dtype=dtype)

    def result(self):
        tp, fp = self.true_positives, self.false_positives
        tn, fn = self.true_negatives, self.false_negatives
        recall = tf.math.divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = tf.math.divide_no_nan(fp, fp + tn), recall
        else:
            x, y = recall, tf.math.divide_no_nan(tp, tp + fp)
        n = self.num_thresholds
        if self.summation_method == "interpolation":
            heights = (y[:n - 1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = tf.minimum(y[:n - 1], y[1:])
        else:
            heights = tf.maximum(y[:n - 1], y[1:])
        return tf.reduce_sum((x[:n - 1] - x[1:]) * heights)


_BY_NAME = {
    "mse": MeanSquaredError,
    "auc": AUC,
    "AUC": AUC,
    "precision": Precision,
    "recall": Recall,
    "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError,
    "mean_absolute_error": MeanAbsoluteError,
    "rmse": RootMeanSquaredError,
    "root_mean_squared_error": RootMeanSquaredError,
    "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
}


def get(identifier, loss=None):
    """A Metric from a name ('mse', 'mae', 'accuracy', ...), an instance or
    a per-sample function. 'accuracy'/'acc' picks the accuracy that fits
    ``loss``, as ``compile`` does. The metric keeps the name it was asked
    by (``metrics=['mse']`` logs 'mse')."""
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        if identifier in ("accuracy", "acc"):
            return _accuracy_for(loss)(name=identifier)
        cls = _BY_NAME.get(identifier)
        if cls is not None:
            return cls(name=identifier)
    elif isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    elif callable(identifier):
        return MeanMetricWrapper(identifier)
    raise ValueError(f"Could not interpret metric identifier: {identifier}")


def _accuracy_for(loss):
    fn = getattr(loss, "fn", loss)
    name = getattr(fn, "__name__", "")
    if name == "sparse_categorical_crossentropy":
        return SparseCategoricalAccuracy
    if name == "categorical_crossentropy":
        return CategoricalAccuracy
    if name == "binary_crossentropy":
        return BinaryAccuracy
    return Accuracy
