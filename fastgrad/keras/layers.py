"""Layers: the ``Layer`` base class, ``Dense``, ``Activation`` and ``Input``.

A layer builds its weights lazily on its first call (or at once when given
``input_shape``); weights are ``fastgrad.Variable``s named as TF names them
(``'dense/kernel:0'``). All arithmetic is fastgrad ops, so calls made under
a ``GradientTape`` are differentiable.
"""
import math

import fastgrad as tf

from . import _utils, activations, initializers

__all__ = ["Activation", "Dense", "Input", "InputLayer", "Layer"]


class Layer(tf.Module):
    """Base class: subclasses implement ``build(input_shape)`` (creating
    weights with ``add_weight``) and ``call(inputs)``.

    A Layer is a ``fastgrad.Module``, as Keras layers are Modules (``tf.Module``):
    a Module holding one finds its weights, and a Layer finds Variables and
    Modules set on it. Its name may be any string (Keras does not require
    an identifier), and its name scope nests under the scope in force when
    it is entered.
    """

    def __init__(self, name=None, dtype=None, trainable=True, input_shape=None,
                 **kwargs):
        unknown = set(kwargs) - {"input_dim", "batch_input_shape"}
        if unknown:
            raise TypeError(f"Keyword argument not understood: {sorted(unknown)}")
        self._name = name or _utils.unique_name(_utils.snake_case(type(self).__name__))
        self.dtype = _utils.as_dtype(dtype) or tf.float32
        self.trainable = trainable
        self.built = False
        self._weights = []
        if "batch_input_shape" in kwargs:
            input_shape = tuple(kwargs["batch_input_shape"])[1:]
        if "input_dim" in kwargs:
            input_shape = (kwargs["input_dim"],)
        self._input_shape_arg = (None if input_shape is None
                                 else tuple(_as_dim(d) for d in input_shape))
        self.input_shape = None

    @property
    def name(self):
        return self._name

    @property
    def name_scope(self):
        return tf.name_scope(self._name)

    # weights -------------------------------------------------------------
    def add_weight(self, name, shape, initializer="glorot_uniform",
                   trainable=True, dtype=None):
        dtype = _utils.as_dtype(dtype) or self.dtype
        init = initializers.get(initializer)
        value = tf.cast(init(tuple(shape), dtype=dtype), dtype)
        var = tf.Variable(value, trainable=trainable, name=f"{self.name}/{name}")
        self._weights.append(var)
        return var

    @property
    def weights(self):
        return list(self._weights)

    @property
    def variables(self):
        return list(self._weights)

    @property
    def trainable_variables(self):
        if not self.trainable:
            return []
        return [v for v in self._weights if v.trainable]

    trainable_weights = trainable_variables

    @property
    def non_trainable_variables(self):
        return [v for v in self._weights
                if not (self.trainable and v.trainable)]

    non_trainable_weights = non_trainable_variables

    def get_weights(self):
        return [v.numpy() for v in self._weights]

    def set_weights(self, weights):
        weights = list(weights)
        if len(weights) != len(self._weights):
            raise ValueError(
                f"Layer {self.name} expects {len(self._weights)} weights, "
                f"but the given weights list has length {len(weights)}.")
        for var, w in zip(self._weights, weights):
            var.assign(w)

    def count_params(self):
        return sum(math.prod(_utils.shape_tuple(v)) for v in self._weights)

    # building and calling ---------------------------------------------------
    def build(self, input_shape):
        self.input_shape = (None,) + tuple(input_shape[1:])
        self.built = True

    def _maybe_build(self, input_shape):
        if not self.built:
            self.build(tuple(input_shape))
            self.built = True

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def call(self, inputs):
        return inputs

    def __call__(self, inputs, training=None):
        inputs = self._convert_input(inputs)
        self._maybe_build(_utils.shape_tuple(inputs))
        if training is not None and _takes_training(type(self)):
            return self.call(inputs, training=training)
        return self.call(inputs)

    def _convert_input(self, x):
        """Floating inputs are cast to the layer's dtype (Keras autocast);
        NumPy arrays and lists are converted straight to it."""
        if _utils.is_tensor(x):
            return x if x.dtype == self.dtype else tf.cast(x, self.dtype)
        return _utils.to_tensor(x, self.dtype)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _takes_training(cls):
    """Whether cls.call has a ``training`` argument (Dropout, BatchNormalization)."""
    import inspect
    return "training" in inspect.signature(cls.call).parameters


def _as_dim(d):
    return None if d is None else int(d)


class Dense(Layer):
    """``activation(inputs @ kernel + bias)``; kernel [in, units], bias
    [units]. Inputs of rank > 2 are multiplied along their last axis."""

    def __init__(self, units, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 input_shape=None, name=None, dtype=None, **kwargs):
        if not isinstance(units, int) or isinstance(units, bool):
            try:
                units = int(units)
            except (TypeError, ValueError):
                raise ValueError(
                    f"Received an invalid value for `units`, expected a "
                    f"positive integer. Received: units={units}") from None
        if units < 0:
            raise ValueError(
                f"Received an invalid value for `units`, expected a positive "
                f"integer. Received: units={units}")
        super().__init__(name=name, dtype=dtype, input_shape=input_shape, **kwargs)
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel = None
        self.bias = None
        if self._input_shape_arg is not None:
            self.build((None,) + self._input_shape_arg)

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) < 2:
            raise ValueError(
                f'Input 0 of layer "{self.name}" is incompatible with the '
                f"layer: expected min_ndim=2, found ndim={len(input_shape)}. "
                f"Full shape received: {input_shape}")
        in_dim = input_shape[-1]
        if in_dim is None:
            raise ValueError(
                f"The last dimension of the inputs to a Dense layer should be "
                f"defined. Found None. Full input shape received: {input_shape}")
        self.kernel = self.add_weight("kernel", (in_dim, self.units),
                                      self.kernel_initializer)
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.units,),
                                        self.bias_initializer)
        self.input_shape = (None,) + input_shape[1:]
        self.built = True

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def __call__(self, inputs, training=None):
        x = self._convert_input(inputs)
        shape = _utils.shape_tuple(x)
        if not self.built:
            self.build(shape)
        elif len(shape) < 2 or shape[-1] != self.input_shape[-1]:
            raise ValueError(
                f'Input 0 of layer "{self.name}" is incompatible with the '
                f"layer: expected axis -1 of input shape to have value "
                f"{self.input_shape[-1]}, but received input with shape {shape}")
        return self.call(x)

    def call(self, inputs):
        if len(inputs.shape) == 2:
            y = tf.matmul(inputs, self.kernel)
        else:
            lead = list(inputs.shape[:-1])
            flat = tf.reshape(inputs, [-1, self.input_shape[-1]])
            y = tf.reshape(tf.matmul(flat, self.kernel), lead + [self.units])
        if self.use_bias:
            y = y + self.bias
        return self.activation(y)


class Activation(Layer):
    """Applies an activation function by name or callable."""

    def __init__(self, activation, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)


class InputLayer:
    """Declares the input shape of a Sequential model (no weights)."""

    def __init__(self, shape=None, batch_size=None, dtype=None, name=None,
                 input_shape=None):
        shape = shape if shape is not None else input_shape
        if shape is None:
            raise ValueError("You must pass a `shape` argument.")
        if isinstance(shape, int):
            shape = (shape,)
        self.shape = tuple(_as_dim(d) for d in shape)
        self.batch_size = batch_size
        self.dtype = _utils.as_dtype(dtype) or tf.float32
        self.name = name or _utils.unique_name("input_layer")


def Input(shape=None, batch_size=None, dtype=None, name=None):
    """``keras.Input(shape=(n,))``, for ``Sequential([Input(...), ...])``."""
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name)


from ._nn_layers import *  # noqa: E402,F401,F403 - the convolution, pooling and normalization layers
from . import _nn_layers  # noqa: E402

__all__ += _nn_layers.__all__
