"""Layers: the ``Layer`` base class, ``Dense``, ``Activation`` and ``Input``.

A layer builds its weights lazily on its first call (or at once when given
``input_shape``); weights are ``fastgrad.Variable``s named as TF names them
(``'dense/kernel:0'``). All arithmetic is fastgrad ops, so calls made under
a ``GradientTape`` are differentiable.
"""
import inspect
import math

import fastgrad as tf

from . import _utils, activations, initializers

__all__ = ["Activation", "Add", "Concatenate", "Dense", "Input", "InputLayer",
           "KerasTensor", "Lambda", "Layer"]


class Layer(tf.Module):
    """Base class: subclasses implement ``build(input_shape)`` (creating
    weights with ``add_weight``) and ``call(inputs)``.

    A Layer is a ``fastgrad.Module``, as Keras layers are Modules (``tf.Module``):
    a Module holding one finds its weights, and a Layer finds Variables and
    Layers set on its attributes (in lists, tuples and dicts too), in the
    order they were first set, as Keras tracks them. Its name may be any
    string (Keras does not require an identifier), and its name scope nests
    under the scope in force when it is entered.

    ``call`` may take a ``training`` argument: a value given to the
    outermost call reaches the layers called inside it (Keras's call
    context). Calling a layer on ``keras.Input`` tensors records the call
    for the functional API (see ``fastgrad.keras.functional``).

    >>> class Scale(Layer):
    ...     def build(self, input_shape):
    ...         self.w = self.add_weight("w", (input_shape[-1],), initializer="ones")
    ...     def call(self, x):
    ...         return x * self.w
    >>> Scale()(tf.ones((2, 3))).shape
    TensorShape([2, 3])
    """

    # children first (Model) or own weights first (Layer), as tf_keras orders them
    _own_weights_first = True

    def __init__(self, trainable=True, name=None, dtype=None, input_shape=None,
                 **kwargs):
        unknown = set(kwargs) - {"input_dim", "batch_input_shape", "dynamic",
                                 "autocast", "batch_size"}
        if unknown:
            raise TypeError(f"Keyword argument not understood: {sorted(unknown)}")
        self._name = name or _utils.unique_name(_utils.snake_case(type(self).__name__))
        self.dtype = _utils.as_dtype(dtype) or tf.float32
        self.trainable = trainable
        self.built = False
        self._weights = []          # add_weight's, in creation order
        self._regularized = []      # (variable, regularizer) pairs
        self._call_losses = []      # add_loss tensors of the latest call
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

    # tracking ---------------------------------------------------------------
    def _flatten_layers(self):
        """The Layers held by this layer's attributes, in the order those
        attributes were first set (each once; never itself)."""
        seen, out = {id(self)}, []
        for value in vars(self).values():
            for leaf in _leaves(value):
                if isinstance(leaf, Layer) and id(leaf) not in seen:
                    seen.add(id(leaf))
                    out.append(leaf)
        return out

    def _own_variables(self):
        """add_weight's Variables, then Variables set as attributes."""
        own = list(self._weights)
        ids = {id(v) for v in own}
        for value in vars(self).values():
            for leaf in _leaves(value):
                if isinstance(leaf, tf.Variable) and id(leaf) not in ids:
                    ids.add(id(leaf))
                    own.append(leaf)
        return own

    def _gather(self, own, attr):
        children = [v for layer in self._flatten_layers() for v in getattr(layer, attr)]
        return _dedup(own + children if self._own_weights_first else children + own)

    @property
    def layers(self):
        return self._flatten_layers()

    # weights -------------------------------------------------------------
    def add_weight(self, name=None, shape=None, dtype=None, initializer=None,
                   regularizer=None, trainable=None, constraint=None, **kwargs):
        """A new Variable named ``'<layer>/<name>'`` of ``shape``, filled
        by ``initializer`` (glorot_uniform by default), tracked by the layer;
        a ``regularizer`` adds its penalty to ``layer.losses``."""
        if "initializer" not in kwargs and _is_initializer_arg(dtype):
            dtype, initializer = None, dtype   # add_weight(name, shape, "zeros")
        unknown = set(kwargs) - {"use_resource", "synchronization", "aggregation",
                                 "experimental_autocast", "caching_device", "partitioner"}
        if unknown:
            raise TypeError(f"Unknown keyword argument(s): {sorted(unknown)}")
        shape = () if shape is None else tuple(shape)
        dtype = _utils.as_dtype(dtype) or self.dtype
        init = initializers.get(initializer if initializer is not None else (
            "glorot_uniform" if _utils.is_floating(dtype) else "zeros"))
        value = tf.cast(init(shape, dtype=dtype), dtype)
        var = tf.Variable(value, trainable=True if trainable is None else bool(trainable),
                          name=f"{self._scope_prefix()}/{name or 'Variable'}")
        self._weights.append(var)
        if regularizer is not None:
            from . import regularizers
            self._regularized.append((var, regularizers.get(regularizer)))
        return var

    # weights created in a layer's call are named under the calling layers'
    # names ('my_model/dense/kernel:0'); a Sequential adds no scope (tf_keras)
    _scopes_weights = True

    def _scope_prefix(self):
        names = [l.name for l in _SCOPE if l._scopes_weights and l is not self]
        return "/".join(names + [self.name])

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return self._gather([v for v in self._own_variables() if v.trainable],
                            "trainable_weights")

    @property
    def non_trainable_weights(self):
        own = self._own_variables()
        if not self.trainable:
            return self._gather(own, "weights")
        return self._gather([v for v in own if not v.trainable], "non_trainable_weights")

    @property
    def weights(self):
        return _dedup(self.trainable_weights + self.non_trainable_weights)

    variables = weights
    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    def get_weights(self):
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights):
        weights = list(weights)
        own = self.weights
        if len(weights) != len(own):
            raise ValueError(
                f"Layer {self.name} expects {len(own)} weights, "
                f"but the given weights list has length {len(weights)}.")
        for var, w in zip(own, weights):
            var.assign(w)

    def count_params(self):
        return sum(math.prod(_utils.shape_tuple(v)) for v in self.weights)

    # losses -------------------------------------------------------------------
    def add_loss(self, loss):
        """Add a loss term (a tensor computed in ``call``, or a zero-argument
        callable) to ``layer.losses``; ``fit`` adds them to the loss."""
        self._call_losses.append(loss)

    @property
    def losses(self):
        """This call's ``add_loss`` terms and the weight regularization
        penalties, then those of the nested layers."""
        out = [l() if callable(l) else l for l in self._call_losses]
        out += [reg(var) for var, reg in self._regularized]
        for layer in self._flatten_layers():
            out += layer.losses
        return out

    # building and calling ---------------------------------------------------
    def build(self, input_shape):
        if input_shape is not None and _is_shape(input_shape):
            self.input_shape = (None,) + tuple(input_shape[1:])
        self.built = True

    def _maybe_build(self, input_shape):
        if not self.built:
            self.build(input_shape if not _is_shape(input_shape) else tuple(input_shape))
            self.built = True

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def call(self, inputs):
        return inputs

    def _check_input(self, inputs):
        """Raise if a built layer cannot take ``inputs`` (InputSpec)."""

    def __call__(self, *args, **kwargs):
        if args:
            inputs, args = args[0], args[1:]
        elif "inputs" in kwargs:
            inputs = kwargs.pop("inputs")
        else:
            raise TypeError("Layer.__call__() missing 1 required positional argument: 'inputs'")
        from . import functional
        if functional.any_symbolic((inputs, args, kwargs)):
            return functional.symbolic_call(self, inputs, args, kwargs)
        inputs = _map(self._convert_input, inputs)
        training = kwargs.pop("training", None)
        if training is None and _CALL_CONTEXT:
            training = _CALL_CONTEXT[-1]
        if training is not None and _accepts(self.call, "training"):
            kwargs["training"] = training
        kwargs.pop("mask", None) if not _accepts(self.call, "mask") else None
        if not _CALL_CONTEXT:
            self._clear_call_losses()
        _CALL_CONTEXT.append(training)
        _SCOPE.append(self)
        try:
            self._maybe_build(_map(_utils.shape_tuple, inputs))
            self._check_input(inputs)
            return self.call(inputs, *args, **kwargs)
        finally:
            _SCOPE.pop()
            _CALL_CONTEXT.pop()

    def _clear_call_losses(self):
        self._call_losses = []
        for layer in self._flatten_layers():
            layer._clear_call_losses()

    def _convert_input(self, x):
        """Floating inputs are cast to the layer's dtype (Keras autocast);
        NumPy arrays and lists become tensors first."""
        if not _utils.is_tensor(x):
            if x is None or isinstance(x, (bool, str)):
                return x
            x = tf.convert_to_tensor(x)
        if _utils.is_floating(x.dtype) and x.dtype != self.dtype:
            return tf.cast(x, self.dtype)
        return x

    # configuration ------------------------------------------------------------
    def get_config(self):
        """The constructor arguments that rebuild this layer."""
        config = {"name": self.name, "trainable": self.trainable,
                  "dtype": self.dtype.name}
        if self._input_shape_arg is not None:
            config["batch_input_shape"] = (None,) + tuple(self._input_shape_arg)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


# the training value of the calls in progress (Keras's call context)
_CALL_CONTEXT: list = []
# the layers whose calls are in progress, outermost first
_SCOPE: list = []


def _leaves(value):
    if isinstance(value, (list, tuple)):
        for v in value:
            yield from _leaves(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    else:
        yield value


def _dedup(variables):
    seen, out = set(), []
    for v in variables:
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    return out


def _map(fn, x):
    if isinstance(x, (list, tuple)):
        return type(x)(_map(fn, v) for v in x)
    if isinstance(x, dict):
        return {k: _map(fn, v) for k, v in x.items()}
    return fn(x)


def _is_shape(s):
    return isinstance(s, tuple) and all(d is None or isinstance(d, int) for d in s)


_ACCEPTS: dict = {}


def _accepts(method, arg):
    """Whether ``method`` (a bound call) takes ``arg`` by name or **kwargs."""
    key = (getattr(method, "__func__", method), arg)
    if key not in _ACCEPTS:
        try:
            params = inspect.signature(method).parameters
        except (TypeError, ValueError):
            params = {}
        _ACCEPTS[key] = arg in params or any(
            p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    return _ACCEPTS[key]


def _is_initializer_arg(x):
    """The old positional ``add_weight(name, shape, initializer)``."""
    if x is None:
        return False
    if isinstance(x, str):
        return not hasattr(getattr(tf, x, None), "as_numpy_dtype")
    return isinstance(x, initializers.Initializer) or (
        callable(x) and not hasattr(x, "as_numpy_dtype") and not isinstance(x, type))


def _as_dim(d):
    return None if d is None else int(d)


class Dense(Layer):
    """``activation(inputs @ kernel + bias)``; kernel [in, units], bias
    [units]. Inputs of rank > 2 are multiplied along their last axis."""

    def __init__(self, units, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, input_shape=None, name=None,
                 dtype=None, **kwargs):
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
        from . import regularizers
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
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
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer)
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.units,),
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer)
        self.input_shape = (None,) + input_shape[1:]
        self.built = True

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def _convert_input(self, x):
        # Dense casts any input to its dtype (integers too), as tf_keras's
        x = _utils.to_tensor(x) if not _utils.is_tensor(x) else x
        return x if x.dtype == self.dtype else tf.cast(x, self.dtype)

    def _check_input(self, x):
        shape = _utils.shape_tuple(x)
        if len(shape) < 2 or shape[-1] != self.input_shape[-1]:
            raise ValueError(
                f'Input 0 of layer "{self.name}" is incompatible with the '
                f"layer: expected axis -1 of input shape to have value "
                f"{self.input_shape[-1]}, but received input with shape {shape}")

    def call(self, inputs):
        if len(inputs.shape) == 2:
            y = tf.matmul(inputs, self.kernel)
        else:
            lead = list(inputs.shape[:-1])
            flat = tf.reshape(inputs, [-1, self.input_shape[-1]])
            y = tf.reshape(tf.matmul(flat, self.kernel), lead + [self.units])
        if self.use_bias:
            y = y + self.bias
        y = self.activation(y)
        if self.activity_regularizer is not None:
            # tf_keras divides the penalty by the batch size
            self.add_loss(self.activity_regularizer(y) / tf.cast(tf.shape(y)[0], y.dtype))
        return y

    def get_config(self):
        from . import saving
        return {**super().get_config(), "units": self.units,
                "activation": saving.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": saving.serialize(self.kernel_initializer),
                "bias_initializer": saving.serialize(self.bias_initializer),
                "kernel_regularizer": saving.serialize(self.kernel_regularizer),
                "bias_regularizer": saving.serialize(self.bias_regularizer),
                "activity_regularizer": saving.serialize(self.activity_regularizer)}


class Activation(Layer):
    """Applies an activation function by name or callable."""

    def __init__(self, activation, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)


# the functional API's Input and InputLayer, and Lambda, Concatenate, Add
from .functional import Input, InputLayer, KerasTensor  # noqa: E402
from ._layers_core import Add, Concatenate, Lambda  # noqa: E402

from ._nn_layers import *  # noqa: E402,F401,F403 - the convolution, pooling and normalization layers
from . import _nn_layers  # noqa: E402

# _nn_layers.__all__, spelled out so that type checkers see it (it imports this module)
__all__ += ["AveragePooling1D", "AveragePooling2D", "BatchNormalization", "Conv1D", "Conv2D",
            "Conv2DTranspose", "DepthwiseConv2D", "Dropout", "Embedding", "Flatten",
            "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D",
            "GlobalMaxPooling2D", "LayerNormalization", "MaxPooling1D", "MaxPooling2D", "Reshape"]
