"""Convolution, pooling, reshaping, dropout, normalization and embedding
layers (Keras 3's behaviour, channels_last), over ``fastgrad.nn``.

>>> import fastgrad as tf
>>> conv = tf.keras.layers.Conv2D(4, 3, padding="same")
>>> conv(tf.zeros([2, 8, 8, 1])).shape
TensorShape([2, 8, 8, 4])
"""
import fastgrad as tf

from . import activations, initializers
from .layers import Layer

__all__ = ["AveragePooling1D", "AveragePooling2D", "BatchNormalization", "Conv1D", "Conv2D",
           "Conv2DTranspose", "DepthwiseConv2D", "Dropout", "Embedding", "Flatten",
           "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D",
           "GlobalMaxPooling2D", "LayerNormalization", "MaxPooling1D", "MaxPooling2D", "Reshape"]


def _tuple(v, n, name):
    if isinstance(v, int):
        return (v,) * n
    v = tuple(int(e) for e in v)
    if len(v) != n:
        raise ValueError(f"The `{name}` argument must be a tuple of {n} integers. Received {name}={v}")
    return v


def _padding(p):
    p = str(p).lower()
    if p not in ("valid", "same"):
        raise ValueError(f"The `padding` argument must be a string, either \"valid\" or \"same\". "
                         f"Received: padding={p}")
    return p


def _channels_last(data_format):
    if data_format not in (None, "channels_last"):
        raise ValueError(f"fastgrad's layers support data_format='channels_last' only. "
                         f"Received: data_format={data_format}")


def _check_ndim(layer, x, ndim):
    if len(x.shape) != ndim:
        raise ValueError(f'Input 0 of layer "{layer.name}" is incompatible with the layer: expected '
                         f"ndim={ndim}, found ndim={len(x.shape)}. Full shape received: {tuple(x.shape)}")


class _Shaped(Layer):
    """Output shapes by running the layer on one example of zeros (the
    spatial arithmetic then is the ops' own)."""

    def compute_output_shape(self, input_shape):
        self._maybe_build(tuple(input_shape))
        y = self.call(tf.zeros((1,) + tuple(input_shape[1:]), self.dtype))
        return (input_shape[0],) + tuple(y.shape[1:])


class _Conv(_Shaped):
    """The shared part of Conv1D / Conv2D / Conv2DTranspose."""

    rank = 2

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        _channels_last(data_format)
        if int(filters) <= 0:
            raise ValueError(f"Invalid value for argument `filters`. Expected a strictly positive value. "
                             f"Received filters={filters}.")
        self.filters = int(filters)
        self.kernel_size = _tuple(kernel_size, self.rank, "kernel_size")
        self.strides = _tuple(strides, self.rank, "strides")
        self.padding = _padding(padding)
        self.dilation_rate = _tuple(dilation_rate, self.rank, "dilation_rate")
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel = self.bias = None
        if self._input_shape_arg is not None:
            self.build((None,) + self._input_shape_arg)

    def _kernel_shape(self, in_channels):
        return self.kernel_size + (in_channels, self.filters)

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != self.rank + 2:
            raise ValueError(f'Input 0 of layer "{self.name}" is incompatible with the layer: expected '
                             f"ndim={self.rank + 2}, found ndim={len(input_shape)}. Full shape received: "
                             f"{input_shape}")
        self.kernel = self.add_weight("kernel", self._kernel_shape(input_shape[-1]), self.kernel_initializer)
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.filters,), self.bias_initializer)
        self.input_shape = (None,) + input_shape[1:]
        self.built = True

    def _finish(self, y):
        if self.use_bias:
            y = tf.nn.bias_add(y, self.bias)
        return self.activation(y)


class Conv2D(_Conv):
    """2-D convolution: kernel [kh, kw, in, filters], outputs
    activation(conv2d(x, kernel) + bias)."""

    def call(self, inputs):
        return self._finish(tf.nn.conv2d(inputs, self.kernel, self.strides, self.padding.upper(),
                                         dilations=self.dilation_rate))


class Conv1D(_Conv):
    """1-D convolution over [batch, steps, channels]: kernel [k, in, filters]."""

    rank = 1

    def call(self, inputs):
        return self._finish(tf.nn.conv1d(inputs, self.kernel, self.strides[0], self.padding.upper(),
                                         dilations=self.dilation_rate[0]))


def _deconv_length(n, k, s, d, padding):
    k = (k - 1) * d + 1
    return n * s if padding == "same" else n * s + max(k - s, 0)


class Conv2DTranspose(_Conv):
    """The transpose of Conv2D: kernel [kh, kw, filters, in]; the output is
    size * stride ("same") or size * stride + max(k - stride, 0) ("valid")."""

    def _kernel_shape(self, in_channels):
        return self.kernel_size + (self.filters, in_channels)

    def call(self, inputs):
        n, h, w = inputs.shape[0], inputs.shape[1], inputs.shape[2]
        oh = _deconv_length(h, self.kernel_size[0], self.strides[0], self.dilation_rate[0], self.padding)
        ow = _deconv_length(w, self.kernel_size[1], self.strides[1], self.dilation_rate[1], self.padding)
        y = tf.nn.conv2d_transpose(inputs, self.kernel, [n, oh, ow, self.filters], self.strides,
                                   self.padding.upper(), dilations=self.dilation_rate)
        return self._finish(y)


class DepthwiseConv2D(_Shaped):
    """Each input channel convolved with depth_multiplier filters of its own:
    kernel [kh, kw, in, depth_multiplier]."""

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        _channels_last(data_format)
        self.kernel_size = _tuple(kernel_size, 2, "kernel_size")
        self.strides = _tuple(strides, 2, "strides")
        self.padding = _padding(padding)
        self.depth_multiplier = int(depth_multiplier)
        self.dilation_rate = _tuple(dilation_rate, 2, "dilation_rate")
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel = self.bias = None

    def build(self, input_shape):
        c = input_shape[-1]
        self.kernel = self.add_weight("kernel", self.kernel_size + (c, self.depth_multiplier),
                                      self.depthwise_initializer)
        if self.use_bias:
            self.bias = self.add_weight("bias", (c * self.depth_multiplier,), self.bias_initializer)
        self.input_shape = (None,) + tuple(input_shape[1:])
        self.built = True

    def call(self, inputs):
        _check_ndim(self, inputs, 4)
        y = tf.nn.depthwise_conv2d(inputs, self.kernel, (1,) + self.strides + (1,), self.padding.upper(),
                                   dilations=self.dilation_rate)
        if self.use_bias:
            y = tf.nn.bias_add(y, self.bias)
        return self.activation(y)


class _Pool(_Shaped):
    rank = 2
    kind = "MAX"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        _channels_last(data_format)
        self.pool_size = _tuple(pool_size, self.rank, "pool_size")
        self.strides = self.pool_size if strides is None else _tuple(strides, self.rank, "strides")
        self.padding = _padding(padding)

    def call(self, inputs):
        _check_ndim(self, inputs, self.rank + 2)
        return tf.nn.pool(inputs, self.pool_size, self.kind, self.strides, self.padding.upper())


class MaxPooling2D(_Pool):
    """The maximum over pool_size windows (strides default to pool_size)."""


class AveragePooling2D(_Pool):
    """The mean over pool_size windows (strides default to pool_size)."""

    kind = "AVG"


class MaxPooling1D(_Pool):
    """The maximum over pool_size windows along the steps."""

    rank = 1


class AveragePooling1D(_Pool):
    """The mean over pool_size windows along the steps."""

    rank = 1
    kind = "AVG"


class _GlobalPool(_Shaped):
    rank = 2
    def reduce(self, x, axis, keepdims):
        return tf.reduce_mean(x, axis, keepdims=keepdims)

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        _channels_last(data_format)
        self.keepdims = keepdims

    def call(self, inputs):
        _check_ndim(self, inputs, self.rank + 2)
        return self.reduce(inputs, list(range(1, self.rank + 1)), keepdims=self.keepdims)


class GlobalAveragePooling2D(_GlobalPool):
    """The mean over the spatial axes."""


class GlobalAveragePooling1D(_GlobalPool):
    """The mean over the steps."""

    rank = 1


class GlobalMaxPooling2D(_GlobalPool):
    """The maximum over the spatial axes."""

    def reduce(self, x, axis, keepdims):
        return tf.reduce_max(x, axis, keepdims=keepdims)


class GlobalMaxPooling1D(_GlobalPool):
    """The maximum over the steps."""

    rank = 1
    def reduce(self, x, axis, keepdims):
        return tf.reduce_max(x, axis, keepdims=keepdims)


class Flatten(Layer):
    """[batch, ...] -> [batch, prod(...)]."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        _channels_last(data_format)

    def call(self, inputs):
        n = 1
        for d in inputs.shape[1:]:
            n *= d
        return tf.reshape(inputs, [inputs.shape[0], n])

    def compute_output_shape(self, input_shape):
        n = 1
        for d in input_shape[1:]:
            n = None if d is None or n is None else n * d
        return (input_shape[0], n)


class Reshape(Layer):
    """``[batch, ...] -> [batch, *target_shape]`` (one entry may be -1)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)

    def call(self, inputs):
        return tf.reshape(inputs, [inputs.shape[0], *self.target_shape])

    def compute_output_shape(self, input_shape):
        shape = list(self.target_shape)
        if -1 in shape:
            known, n = 1, 1
            for d in shape:
                known *= d if d != -1 else 1
            for d in input_shape[1:]:
                n *= d
            shape[shape.index(-1)] = n // known
        return (input_shape[0], *shape)


class Dropout(Layer):
    """In training, zeroes inputs with probability rate and scales the rest
    by 1 / (1 - rate); the identity otherwise."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate <= 1:
            raise ValueError(f"Invalid value received for argument `rate`. Expected a float value between "
                             f"0 and 1. Received: rate={rate}")
        self.rate, self.noise_shape, self.seed = rate, noise_shape, seed

    def call(self, inputs, training=None):
        if training and self.rate > 0:
            noise = None if self.noise_shape is None else [
                inputs.shape[i] if d is None else d for i, d in enumerate(self.noise_shape)]
            return tf.nn.dropout(inputs, self.rate, noise_shape=noise, seed=self.seed)
        return inputs


def _axes(axis, ndim):
    axis = [axis] if isinstance(axis, int) else list(axis)
    return sorted(a % ndim for a in axis)


class BatchNormalization(Layer):
    """Normalizes over the batch (training) or by the moving statistics
    (inference): gamma, beta trainable; moving_mean, moving_variance updated
    as moving * momentum + batch * (1 - momentum) (the biased variance, as
    Keras 3)."""

    def __init__(self, axis=-1, momentum=0.99, epsilon=0.001, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", moving_mean_initializer="zeros",
                 moving_variance_initializer="ones", **kwargs):
        super().__init__(**kwargs)
        self.axis, self.momentum, self.epsilon = axis, momentum, epsilon
        self.center, self.scale = center, scale
        self._inits = [initializers.get(i) for i in (gamma_initializer, beta_initializer,
                                                      moving_mean_initializer, moving_variance_initializer)]
        self.gamma = self.beta = None

    def build(self, input_shape):
        nd = len(input_shape)
        self._axes = _axes(self.axis, nd)
        shape = tuple(input_shape[a] for a in self._axes)
        if self.scale:
            self.gamma = self.add_weight("gamma", shape, self._inits[0])
        if self.center:
            self.beta = self.add_weight("beta", shape, self._inits[1])
        self.moving_mean = self.add_weight("moving_mean", shape, self._inits[2], trainable=False)
        self.moving_variance = self.add_weight("moving_variance", shape, self._inits[3], trainable=False)
        self._reduce = [a for a in range(nd) if a not in self._axes]
        self._bshape = [input_shape[a] if a in self._axes else 1 for a in range(nd)]
        self.input_shape = (None,) + tuple(input_shape[1:])
        self.built = True

    def _b(self, v):
        return None if v is None else tf.reshape(v, self._bshape)

    def call(self, inputs, training=None):
        if training and self.trainable:
            mean, var = tf.nn.moments(inputs, self._reduce, keepdims=True)
            m = self.momentum
            self.moving_mean.assign(self.moving_mean * m + tf.reshape(mean, self.moving_mean.shape) * (1 - m))
            self.moving_variance.assign(self.moving_variance * m + tf.reshape(var, self.moving_variance.shape)
                                        * (1 - m))
        else:
            mean, var = self._b(self.moving_mean), self._b(self.moving_variance)
        return tf.nn.batch_normalization(inputs, mean, var, self._b(self.beta), self._b(self.gamma), self.epsilon)


class LayerNormalization(Layer):
    """Normalizes each example over axis (default the last), then gamma * x + beta."""

    def __init__(self, axis=-1, epsilon=0.001, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", **kwargs):
        super().__init__(**kwargs)
        self.axis, self.epsilon, self.center, self.scale = axis, epsilon, center, scale
        self._inits = [initializers.get(gamma_initializer), initializers.get(beta_initializer)]
        self.gamma = self.beta = None

    def build(self, input_shape):
        nd = len(input_shape)
        self._axes = _axes(self.axis, nd)
        shape = tuple(input_shape[a] for a in self._axes)
        if self.scale:
            self.gamma = self.add_weight("gamma", shape, self._inits[0])
        if self.center:
            self.beta = self.add_weight("beta", shape, self._inits[1])
        self._bshape = [input_shape[a] if a in self._axes else 1 for a in range(nd)]
        self.input_shape = (None,) + tuple(input_shape[1:])
        self.built = True

    def call(self, inputs):
        mean, var = tf.nn.moments(inputs, self._axes, keepdims=True)
        inv = tf.math.rsqrt(var + self.epsilon)
        if self.gamma is not None:
            inv = inv * tf.reshape(self.gamma, self._bshape)
        res = -mean * inv
        if self.beta is not None:
            res = res + tf.reshape(self.beta, self._bshape)
        return inputs * inv + res


class Embedding(Layer):
    """Integer ids -> rows of an [input_dim, output_dim] table."""

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", **kwargs):
        super().__init__(**kwargs)
        if int(input_dim) <= 0 or int(output_dim) <= 0:
            raise ValueError(f"Both `input_dim` and `output_dim` should be positive, Received "
                             f"input_dim = {input_dim} and output_dim = {output_dim}")
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings = None

    def build(self, input_shape):
        self.embeddings = self.add_weight("embeddings", (self.input_dim, self.output_dim),
                                          self.embeddings_initializer)
        self.input_shape = (None,) + tuple(input_shape[1:])
        self.built = True

    def _convert_input(self, x):
        x = x if tf.is_tensor(x) else tf.constant(x)
        return x if x.dtype in (tf.int32, tf.int64) else tf.cast(x, tf.int32)

    def call(self, inputs):
        return tf.gather(self.embeddings, inputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)
