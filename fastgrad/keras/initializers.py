"""Weight initializers with Keras's names, defaults and formulas.

Random draws come from ``fastgrad.random`` so ``fastgrad.random.set_seed``
makes model initialisation reproducible.
"""
import abc
import math

import fastgrad as tf

from . import _utils

__all__ = ["Constant", "GlorotNormal", "GlorotUniform", "HeNormal",
           "HeUniform", "Initializer", "LecunNormal", "LecunUniform", "Ones",
           "RandomNormal", "RandomUniform", "TruncatedNormal", "Zeros", "get"]

# stddev of a unit normal truncated to [-2, 2]
_TRUNC_STD = 0.87962566103423978


def _fans(shape):
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def _dtype(dtype):
    return _utils.as_dtype(dtype) if dtype is not None else tf.float32


def _truncated_normal(shape, mean, stddev, dtype, seed):
    """Normal draws redrawn until all lie within two stddevs of the mean."""
    x = tf.random.normal(shape, dtype=dtype, seed=seed)
    for _ in range(64):
        outside = tf.greater(tf.abs(x), 2.0)
        if not bool(tf.reduce_max(tf.cast(outside, dtype)) > 0):
            break
        x = tf.where(outside, tf.random.normal(shape, dtype=dtype), x)
    return x * stddev + mean


class Initializer(abc.ABC):
    """Base class: ``init(shape, dtype=None)`` returns a Tensor."""

    @abc.abstractmethod
    def __call__(self, shape, dtype=None):
        """A Tensor of ``shape`` and ``dtype`` (float32 by default)."""

    def get_config(self):
        return {}


class Zeros(Initializer):
    def __call__(self, shape, dtype=None):
        return tf.zeros(shape, dtype=_dtype(dtype))


class Ones(Initializer):
    def __call__(self, shape, dtype=None):
        return tf.ones(shape, dtype=_dtype(dtype))


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        return tf.fill(shape, tf.constant(self.value, dtype=_dtype(dtype)))


class RandomNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype=None):
        return tf.random.normal(shape, mean=self.mean, stddev=self.stddev,
                                dtype=_dtype(dtype), seed=self.seed)


class RandomUniform(Initializer):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def __call__(self, shape, dtype=None):
        return tf.random.uniform(shape, minval=self.minval, maxval=self.maxval,
                                 dtype=_dtype(dtype), seed=self.seed)


class TruncatedNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype=None):
        return _truncated_normal(shape, self.mean, self.stddev,
                                 _dtype(dtype), self.seed)


class VarianceScaling(Initializer):
    """scale / fan (fan_in, fan_out or their average), normal (truncated)
    or uniform, as ``keras.initializers.VarianceScaling``."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal",
                 seed=None):
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"Invalid `mode` argument: {mode}")
        if distribution not in ("truncated_normal", "untruncated_normal",
                                "uniform"):
            raise ValueError(f"Invalid `distribution` argument: {distribution}")
        self.scale, self.mode = scale, mode
        self.distribution, self.seed = distribution, seed

    def __call__(self, shape, dtype=None):
        dtype = _dtype(dtype)
        fan_in, fan_out = _fans(list(shape))
        fan = {"fan_in": fan_in, "fan_out": fan_out,
               "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, fan)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * scale)
            return tf.random.uniform(shape, minval=-limit, maxval=limit,
                                     dtype=dtype, seed=self.seed)
        if self.distribution == "untruncated_normal":
            return tf.random.normal(shape, stddev=math.sqrt(scale),
                                    dtype=dtype, seed=self.seed)
        return _truncated_normal(shape, 0.0, math.sqrt(scale) / _TRUNC_STD,
                                 dtype, self.seed)


class GlorotUniform(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_avg", "uniform", seed)


class GlorotNormal(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_avg", "truncated_normal", seed)


class HeNormal(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(2.0, "fan_in", "truncated_normal", seed)


class HeUniform(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(2.0, "fan_in", "uniform", seed)


class LecunNormal(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_in", "truncated_normal", seed)


class LecunUniform(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_in", "uniform", seed)


_BY_NAME = {
    "zeros": Zeros,
    "ones": Ones,
    "constant": Constant,
    "random_normal": RandomNormal,
    "random_uniform": RandomUniform,
    "uniform": RandomUniform,
    "truncated_normal": TruncatedNormal,
    "glorot_uniform": GlorotUniform,
    "glorot_normal": GlorotNormal,
    "he_normal": HeNormal,
    "he_uniform": HeUniform,
    "lecun_normal": LecunNormal,
    "lecun_uniform": LecunUniform,
}


def get(identifier):
    """A name ('glorot_uniform', 'zeros', ...), an Initializer or a callable
    ``fn(shape, dtype)``; anything else raises ValueError."""
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier) or _BY_NAME.get(_utils.snake_case(identifier))
        if cls is not None:
            return cls()
    elif callable(identifier):
        return identifier
    raise ValueError(f"Unknown initializer: '{identifier}'.")
