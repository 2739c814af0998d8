"""Learning-rate schedules (``keras.optimizers.schedules``): the rate as a
function of the optimizer's step, computed with fastgrad ops from the
``iterations`` Variable, so an ``apply_gradients`` inside a
``fastgrad.function`` replays the schedule at each call (no Python read
of the step). Formulas and dtypes as ``tf.keras``'s (TF 2.21).

>>> import fastgrad as tf
>>> from fastgrad import keras
>>> lr = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
>>> round(float(lr(tf.constant(10))), 6)
0.05
"""
import math

import fastgrad as tf

__all__ = ["CosineDecay", "ExponentialDecay", "InverseTimeDecay", "LearningRateSchedule",
           "PiecewiseConstantDecay", "PolynomialDecay", "deserialize", "serialize"]


class LearningRateSchedule:
    """Base class: ``schedule(step)`` returns the rate as a tensor."""

    def __call__(self, step):
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' "
                                  "must override `__call__(self, step)`.")

    def get_config(self):
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' "
                                  "must override `get_config()` in order to be serializable.")

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _rate(value):
    value = tf.convert_to_tensor(value)
    return value, value.dtype


class ExponentialDecay(LearningRateSchedule):
    """``initial * decay_rate ** (step / decay_steps)`` (the exponent
    floored with ``staircase``)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name=None):
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.decay_rate, self.staircase, self.name = decay_rate, staircase, name

    def __call__(self, step):
        lr, dtype = _rate(self.initial_learning_rate)
        p = tf.cast(step, dtype) / tf.cast(self.decay_steps, dtype)
        if self.staircase:
            p = tf.floor(p)
        return lr * tf.pow(tf.cast(self.decay_rate, dtype), p)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` up to ``boundaries[0]`` (inclusive), ``values[1]`` up
    to ``boundaries[1]``, ..., ``values[-1]`` after the last boundary."""

    def __init__(self, boundaries, values, name=None):
        if len(boundaries) != len(values) - 1:
            raise ValueError("The length of boundaries should be 1 less than the length "
                             f"of values. Received: boundaries={boundaries} of length "
                             f"{len(boundaries)}, and values={values} of length {len(values)}.")
        self.boundaries, self.values, self.name = list(boundaries), list(values), name

    def __call__(self, step):
        x = tf.convert_to_tensor(step)
        values = [tf.convert_to_tensor(v) for v in self.values]
        out = values[-1]
        # tf.case's first true predicate, as a chain of selects
        for b, v in reversed(list(zip(self.boundaries, values[:-1]))):
            b = tf.convert_to_tensor(b)
            if b.dtype != x.dtype:
                b = tf.cast(b, x.dtype)
            out = tf.where(x <= b, v, out)
        return out

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Cosine decay from the initial rate (or, after ``warmup_steps`` of
    linear warmup, from ``warmup_target``) to ``alpha`` times it over
    ``decay_steps``."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name=None,
                 warmup_target=None, warmup_steps=0):
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.alpha, self.name = alpha, name
        self.warmup_target, self.warmup_steps = warmup_target, warmup_steps

    def _decay(self, step, decay_steps, decay_from, dtype):
        fraction = step / decay_steps
        cosine = 0.5 * (1.0 + tf.cos(tf.constant(math.pi, dtype=dtype) * fraction))
        return decay_from * ((1 - self.alpha) * cosine + self.alpha)

    def __call__(self, step):
        lr, dtype = _rate(self.initial_learning_rate)
        decay_steps = tf.cast(self.decay_steps, dtype)
        t = tf.cast(step, dtype)
        if self.warmup_target is None:
            return self._decay(tf.minimum(t, decay_steps), decay_steps, lr, dtype)
        target = tf.cast(self.warmup_target, dtype)
        warmup_steps = tf.cast(self.warmup_steps, dtype)
        t = tf.minimum(t, decay_steps + warmup_steps)
        warm = (target - lr) * (t / warmup_steps) + lr
        return tf.where(t < warmup_steps, warm,
                        self._decay(t - warmup_steps, decay_steps, target, dtype))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


class InverseTimeDecay(LearningRateSchedule):
    """``initial / (1 + decay_rate * step / decay_steps)`` (the quotient
    floored with ``staircase``)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name=None):
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.decay_rate, self.staircase, self.name = decay_rate, staircase, name

    def __call__(self, step):
        lr, dtype = _rate(self.initial_learning_rate)
        p = tf.cast(step, dtype) / tf.cast(self.decay_steps, dtype)
        if self.staircase:
            p = tf.floor(p)
        return lr / (tf.cast(tf.constant(1), dtype) + tf.cast(self.decay_rate, dtype) * p)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """``(initial - end) * (1 - step / decay_steps) ** power + end``, the
    step capped at ``decay_steps`` (or, with ``cycle``, ``decay_steps``
    stretched to the next multiple past the step)."""

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001,
                 power=1.0, cycle=False, name=None):
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.end_learning_rate, self.power = end_learning_rate, power
        self.cycle, self.name = cycle, name

    def __call__(self, step):
        lr, dtype = _rate(self.initial_learning_rate)
        end = tf.cast(self.end_learning_rate, dtype)
        power = tf.cast(self.power, dtype)
        t = tf.cast(step, dtype)
        decay_steps = tf.cast(self.decay_steps, dtype)
        if self.cycle:
            multiplier = tf.where(tf.equal(t, 0), tf.constant(1.0, dtype),
                                  tf.math.ceil(t / decay_steps))
            decay_steps = decay_steps * multiplier
        else:
            t = tf.minimum(t, decay_steps)
        p = t / decay_steps
        return (lr - end) * tf.pow(1 - p, power) + end

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, "name": self.name}


def serialize(schedule):
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(config):
    return globals()[config["class_name"]](**config["config"])
