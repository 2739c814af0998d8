"""tf.nn activations, losses, normalization and layout ops, each a
composition of table ops (so gradients of every order come from the
table's rules).

>>> import fastgrad as tf
>>> tf.nn.crelu(tf.constant([1.0, -2.0])).numpy().tolist()
[1.0, 0.0, 0.0, 2.0]
"""
import math

from fastgrad import _core
from fastgrad import math_ops as _m
from fastgrad import array_ops as _a
from fastgrad.errors import InvalidArgumentError

__all__ = ["bias_add", "dropout", "gelu", "selu", "crelu", "log_poisson_loss",
           "weighted_cross_entropy_with_logits", "batch_normalization", "fused_batch_norm",
           "local_response_normalization", "lrn", "embedding_lookup", "normalize_moments",
           "sufficient_statistics", "weighted_moments", "compute_average_loss",
           "scale_regularization_loss", "depth_to_space", "space_to_depth"]


def _t(x, dtype=None):
    if isinstance(x, _core._TensorBase):
        return x
    return _core.convert_to_tensor(x, dtype)


def bias_add(value, bias, data_format=None, name=None):
    """value + bias along the channel axis (last, or 1 for NC..).

    >>> import fastgrad as tf
    >>> tf.nn.bias_add(tf.zeros([2, 2]), tf.constant([1.0, 2.0])).numpy().tolist()
    [[1.0, 2.0], [1.0, 2.0]]
    """
    v, b = _t(value), _t(bias)
    if b.ndim != 1:
        raise ValueError("Shape must be rank 1 but is rank %d for 'BiasAdd'" % b.ndim)
    if v.ndim < 2:
        raise ValueError("Shape must be at least rank 2 but is rank %d for 'BiasAdd'" % v.ndim)
    channels_first = data_format is not None and data_format.startswith("NC")
    axis = 1 if channels_first else v.ndim - 1
    if v.shape[axis] != b.shape[0]:
        raise InvalidArgumentError("Must provide as many biases as the channel dimension of the input "
                                   "tensor: %s vs. %s in %s" % (b.shape[0], v.shape[axis], list(v.shape)))
    if channels_first:
        b = _a.reshape(b, [b.shape[0]] + [1] * (v.ndim - 2))
    return _m.add(v, b)


def dropout(x, rate, noise_shape=None, seed=None, name=None):
    """Zeroes each element with probability rate and scales the kept ones by
    1 / (1 - rate); noise_shape broadcasts one draw over some axes.

    >>> import fastgrad as tf
    >>> y = tf.nn.dropout(tf.ones([1000]), 0.5, seed=1)
    >>> sorted(set(y.numpy().tolist()))
    [0.0, 2.0]
    """
    from fastgrad import random as _r
    return _dropout(x, rate, noise_shape, lambda shape, dtype: _r.uniform(shape, dtype=dtype, seed=seed))


def _dropout(x, rate, noise_shape, sampler):
    # TF's order of operations (nn_ops._dropout): x * (1 / (1 - rate)), times the
    # keep mask cast to x's dtype, so the kept values have TF's bits
    x = _t(x)
    if not x.dtype.is_floating:
        raise ValueError("x has to be a floating point tensor since it's going to be scaled. Got a %s "
                         "tensor instead." % x.dtype.name)
    if isinstance(rate, (int, float)) and not 0 <= rate < 1:
        raise ValueError("`rate` must be a scalar tensor or a float in the range [0, 1). Received: rate=%s" % rate)
    shape = list(x.shape) if noise_shape is None else [
        x.shape[i] if d is None else int(d) for i, d in enumerate(noise_shape)]
    if isinstance(rate, (int, float)):
        scale = _t(1.0 / (1.0 - rate), x.dtype)
    else:
        scale = _m.divide(_t(1.0, x.dtype), _m.subtract(_t(1.0, x.dtype), _m.cast(rate, x.dtype)))
    keep = _m.greater_equal(sampler(shape, x.dtype), _m.cast(rate, x.dtype))
    return _m.multiply(_m.multiply(x, scale), _m.cast(keep, x.dtype))


def stateless_dropout(x, rate, seed, rng_alg=None, noise_shape=None, name=None):
    """``tf.nn.experimental.stateless_dropout``: dropout whose mask is
    ``stateless_uniform(seed)``, so the same seed gives the same mask (TF's bits).

    >>> import fastgrad as tf
    >>> y = tf.nn.experimental.stateless_dropout(tf.ones([6]), 0.5, seed=[1, 2])
    >>> sorted(set(y.numpy().tolist()))
    [0.0, 2.0]
    """
    from fastgrad import random as _r
    return _dropout(x, rate, noise_shape, lambda shape, dtype: _r.stateless_uniform(shape, seed=seed, dtype=dtype))


def gelu(features, approximate=False, name=None):
    """x * P(X <= x), X ~ N(0, 1): with erf, or TF's tanh approximation.

    >>> import fastgrad as tf
    >>> round(float(tf.nn.gelu(tf.constant(1.0))), 4)
    0.8413
    """
    x = _t(features)
    if not x.dtype.is_floating:
        raise ValueError("`features.dtype` must be a floating point tensor.Received:features.dtype=%s" % x.dtype)
    # TF casts 0.044715 and 1/sqrt(2) from float32 constants: float64 results match it only so
    if approximate:
        coeff = _m.cast(_core.constant(0.044715), x.dtype)
        inner = _m.multiply(0.7978845608028654, _m.add(x, _m.multiply(coeff, _m.pow(x, _t(3.0, x.dtype)))))
        return _m.multiply(_m.multiply(0.5, x), _m.add(1.0, _m.tanh(inner)))
    # 0.5 x erfc(-x / sqrt(2)): accurate for large negative x, where 1 + erf cancels
    half_root2 = _m.cast(_core.constant(0.7071067811865476), x.dtype)
    return _m.multiply(_m.multiply(0.5, x), _m.erfc(_m.multiply(_m.negative(x), half_root2)))


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(features, name=None):
    """scale * (x if x > 0 else alpha * (exp(x) - 1)), with TF's constants."""
    x = _t(features)
    neg = _m.multiply(_SELU_ALPHA, _m.subtract(_m.exp(_m.minimum(x, 0.0)), 1.0))
    return _m.multiply(_SELU_SCALE, _m.where(_m.greater(x, 0.0), x, neg))


def crelu(features, axis=-1, name=None):
    """concat([relu(x), relu(-x)], axis)."""
    x = _t(features)
    return _a.concat([_m.maximum(x, 0.0), _m.maximum(_m.negative(x), 0.0)], axis)


def log_poisson_loss(targets, log_input, compute_full_loss=False, name=None):
    """exp(log_input) - log_input * targets, plus Stirling's approximation of
    log(targets!) for targets > 1 when compute_full_loss."""
    c, z = _t(log_input), _t(targets)
    if tuple(c.shape) != tuple(z.shape):
        raise ValueError("log_input and targets must have the same shape (%s vs %s)"
                         % (tuple(c.shape), tuple(z.shape)))
    result = _m.subtract(_m.exp(c), _m.multiply(c, z))
    if compute_full_loss:
        stirling = _m.add(_m.subtract(_m.multiply(z, _m.log(z)), z),
                          _m.multiply(0.5, _m.log(_m.multiply(2.0 * math.pi, z))))
        result = _m.add(result, _m.where(_m.logical_and(_m.greater(z, 1.0), _m.greater(z, 0.0)), stirling,
                                         _m.multiply(z, 0.0)))
    return result


def weighted_cross_entropy_with_logits(labels, logits, pos_weight, name=None):
    """sigmoid cross-entropy with the positive term weighted, TF's stable form:
    (1 - z) x + (1 + (q - 1) z) (log1p(exp(-abs(x))) + max(-x, 0))."""
    z, x = _t(labels), _t(logits)
    pos_weight = _t(pos_weight, x.dtype)
    log_weight = _m.add(1.0, _m.multiply(_m.subtract(pos_weight, 1.0), z))
    return _m.add(_m.multiply(_m.subtract(1.0, z), x),
                  _m.multiply(log_weight, _m.add(_m.log1p(_m.exp(_m.negative(_m.abs(x)))),
                                                 _m.maximum(_m.negative(x), 0.0))))


def batch_normalization(x, mean, variance, offset, scale, variance_epsilon, name=None):
    """(x - mean) * scale / sqrt(variance + epsilon) + offset, TF's order of
    operations: x * inv + (offset - mean * inv)."""
    inv = _m.rsqrt(_m.add(variance, variance_epsilon))
    if scale is not None:
        inv = _m.multiply(inv, scale)
    shift = _m.negative(_m.multiply(mean, inv)) if offset is None else _m.subtract(offset, _m.multiply(mean, inv))
    return _m.add(_m.multiply(x, _m.cast(inv, _t(x).dtype)), _m.cast(shift, _t(x).dtype))


def fused_batch_norm(x, scale, offset, mean=None, variance=None, epsilon=0.001, data_format="NHWC",
                     is_training=True, name=None, exponential_avg_factor=1.0):
    """(y, batch_mean, batch_variance) over all axes but the channels. In
    training the batch's statistics normalize (its biased variance) and
    the variance returned is the unbiased one, blended into the given
    running values by exponential_avg_factor; otherwise mean and variance
    normalize and come back unchanged."""
    x = _t(x)
    if x.ndim != 4:
        raise ValueError("Tensor must be rank 4 but is rank %d" % x.ndim)
    axes = [0, 1, 2] if data_format == "NHWC" else [0, 2, 3]
    shape = [1, 1, 1, -1] if data_format == "NHWC" else [1, -1, 1, 1]
    if not is_training:
        if mean is None or variance is None:
            raise ValueError("Both 'mean' and 'variance' must be a 1-D tensor when is_training is False.")
        y = batch_normalization(x, _a.reshape(mean, shape), _a.reshape(variance, shape),
                                _a.reshape(offset, shape), _a.reshape(scale, shape), epsilon)
        return y, _t(mean), _t(variance)
    m = _m.reduce_mean(x, axes)
    v = _m.reduce_mean(_m.squared_difference(x, _a.reshape(m, shape)), axes)
    y = batch_normalization(x, _a.reshape(m, shape), _a.reshape(v, shape), _a.reshape(offset, shape),
                            _a.reshape(scale, shape), epsilon)
    n = 1
    for a in axes:
        n *= x.shape[a]
    unbiased = _m.multiply(v, n / max(n - 1, 1))
    if exponential_avg_factor != 1.0:
        f = exponential_avg_factor
        m = _m.add(_m.multiply(1.0 - f, mean), _m.multiply(f, m))
        unbiased = _m.add(_m.multiply(1.0 - f, variance), _m.multiply(f, unbiased))
    return y, m, unbiased


def local_response_normalization(input, depth_radius=5, bias=1.0, alpha=1.0, beta=0.5, name=None):
    """x / (bias + alpha * sum of x**2 over the 2r + 1 nearest channels) ** beta."""
    x = _t(input)
    if x.ndim != 4:
        raise InvalidArgumentError("input must be 4-dimensional")
    r, c = int(depth_radius), x.shape[-1]
    sq = _m.square(x)
    if r > 0:
        pad = _a.zeros(list(x.shape[:-1]) + [r], x.dtype)
        sq = _a.concat([pad, sq, pad], -1)
    total = sq[..., 0:c]
    for k in range(1, 2 * r + 1):
        total = _m.add(total, sq[..., k:k + c])
    return _m.multiply(x, _m.pow(_m.add(bias, _m.multiply(alpha, total)), _t(-beta, x.dtype)))


lrn = local_response_normalization


def embedding_lookup(params, ids, max_norm=None, name=None):
    """params[ids] along axis 0 (a list of one tensor is that tensor); with
    max_norm, rows are clipped to that l2 norm.

    >>> import fastgrad as tf
    >>> tf.nn.embedding_lookup(tf.constant([[1.0], [2.0], [3.0]]), [2, 0]).numpy().tolist()
    [[3.0], [1.0]]
    """
    if isinstance(params, (list, tuple)):
        if len(params) != 1:
            params = _a.concat(list(params), 0)
        else:
            params = params[0]
    rows = _a.gather(params, ids)
    if max_norm is not None:
        axes = list(range(_t(ids).ndim, rows.ndim))
        rows = _m.clip_by_norm(rows, max_norm, axes=axes) if axes else rows
    return rows


def normalize_moments(counts, mean_ss, variance_ss, shift, name=None):
    """(mean, variance) from sufficient statistics."""
    divisor = _m.reciprocal(_t(counts))
    shifted_mean = _m.multiply(mean_ss, divisor)
    mean = shifted_mean if shift is None else _m.add(shifted_mean, shift)
    variance = _m.subtract(_m.multiply(variance_ss, divisor), _m.square(shifted_mean))
    return mean, variance


def sufficient_statistics(x, axes, shift=None, keepdims=False, name=None):
    """(count, sum(x - shift), sum((x - shift)**2), shift) over axes."""
    x = _t(x)
    n = 1
    for a in axes:
        n *= x.shape[a]
    count = _t(float(n), x.dtype)
    y = x if shift is None else _m.subtract(x, shift)
    return (count, _m.reduce_sum(y, axes, keepdims=keepdims),
            _m.reduce_sum(_m.square(y), axes, keepdims=keepdims), shift)


def weighted_moments(x, axes, frequency_weights, keepdims=False, name=None):
    """(mean, variance) of x over axes with frequency weights broadcast to x."""
    x = _t(x)
    w = _m.cast(frequency_weights, x.dtype)
    wsum = _m.reduce_sum(_m.add(w, _a.zeros_like(x)), axes, keepdims=True)
    mean = _m.divide_no_nan(_m.reduce_sum(_m.multiply(w, x), axes, keepdims=True), wsum)
    var = _m.divide_no_nan(_m.reduce_sum(_m.multiply(w, _m.squared_difference(x, mean)), axes, keepdims=True),
                           wsum)
    if not keepdims:
        mean, var = _a.squeeze(mean, axes), _a.squeeze(var, axes)
    return mean, var


def compute_average_loss(per_example_loss, sample_weight=None, global_batch_size=None):
    """sum(per_example_loss * sample_weight) / global_batch_size (default
    the batch size: one replica).

    >>> import fastgrad as tf
    >>> float(tf.nn.compute_average_loss(tf.constant([1.0, 2.0, 3.0, 4.0])))
    2.5
    """
    from fastgrad.dtypes import float32
    loss = _t(per_example_loss)
    dtype = loss.dtype
    if sample_weight is not None:
        # TF weighs in float32 whatever the loss's dtype (its losses_util), then casts back
        loss = _m.cast(_m.multiply(_m.cast(loss, float32), _m.cast(sample_weight, float32)), dtype)
    if global_batch_size is None:
        global_batch_size = loss.shape[0] if loss.ndim else 1
    elif isinstance(global_batch_size, float) or (hasattr(global_batch_size, "dtype")
                                                   and not global_batch_size.dtype.is_integer):
        raise TypeError("global_batch_size must be an int.")
    return _m.divide_no_nan(_m.reduce_sum(loss), _m.cast(global_batch_size, dtype))


def scale_regularization_loss(regularization_loss):
    """The summed regularization loss divided by the replica count (1)."""
    if isinstance(regularization_loss, (list, tuple)):
        regularization_loss = _m.add_n(list(regularization_loss))
    return _m.reduce_sum(regularization_loss)


def _block(block_size):
    b = int(block_size)
    if b < 2:
        raise InvalidArgumentError("Value for attr 'block_size' of %d must be at least minimum 2" % b)
    return b


def depth_to_space(input, block_size, data_format="NHWC", name=None):
    """Moves depth into b x b spatial blocks (TF's DCR order).

    >>> import fastgrad as tf
    >>> tf.nn.depth_to_space(tf.reshape(tf.range(4.0), [1, 1, 1, 4]), 2).numpy()[0, :, :, 0].tolist()
    [[0.0, 1.0], [2.0, 3.0]]
    """
    b = _block(block_size)
    x = _t(input)
    n, h, w, c = x.shape
    if c % (b * b):
        raise InvalidArgumentError("Input depth dimension %d should be divisible by: %d" % (c, b * b))
    y = _a.transpose(_a.reshape(x, [n, h, w, b, b, c // (b * b)]), [0, 1, 3, 2, 4, 5])
    return _a.reshape(y, [n, h * b, w * b, c // (b * b)])


def space_to_depth(input, block_size, data_format="NHWC", name=None):
    """Moves b x b spatial blocks into depth (the inverse of depth_to_space)."""
    b = _block(block_size)
    x = _t(input)
    n, h, w, c = x.shape
    if h % b or w % b:
        raise InvalidArgumentError("Image width %d and height %d should be divisible by block_size: %d"
                                   % (w, h, b))
    y = _a.transpose(_a.reshape(x, [n, h // b, b, w // b, b, c]), [0, 1, 3, 2, 4, 5])
    return _a.reshape(y, [n, h // b, w // b, b * b * c])
