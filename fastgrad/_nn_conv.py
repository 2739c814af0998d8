"""tf.nn convolutions and pooling: argument handling only.

Every convolution is the table's conv2d (NHWC input, HWIO filter) or one of
its backprops; 1-D forms add a unit height, the transposes are
conv2d_backprop_input, depthwise filters become block-diagonal full
filters. Pooling is avg_pool, or a gather at max_pool_argmax's indices.
Padding strings become explicit (top, bottom, left, right) amounts here,
TF's way: SAME pads so that the output is ceil(size / stride), the odd
pixel at the bottom/right.

>>> import fastgrad as tf
>>> x = tf.reshape(tf.range(16.0), [1, 4, 4, 1])
>>> tf.nn.conv2d(x, tf.ones([2, 2, 1, 1]), strides=2, padding="VALID").numpy().ravel().tolist()
[10.0, 18.0, 42.0, 50.0]
"""
from fastgrad import _core
from fastgrad import math_ops as _m
from fastgrad.array_ops import eye, reshape, squeeze, expand_dims, transpose
from fastgrad.dtypes import int64 as _int64
from fastgrad.errors import InvalidArgumentError

_OPS = _core.OPS

__all__ = ["conv1d", "conv2d", "conv2d_transpose", "conv1d_transpose", "depthwise_conv2d",
           "separable_conv2d", "convolution", "conv2d_backprop_input", "conv2d_backprop_filter",
           "max_pool", "max_pool1d", "max_pool2d", "avg_pool", "avg_pool1d", "avg_pool2d", "pool",
           "max_pool_with_argmax"]


def _t(x):
    return x if isinstance(x, _core._TensorBase) else _core.convert_to_tensor(x)


def _pair(v, name, n_spatial=2, allow_4=True):
    """TF's strides/dilations/ksize: an int, or 1, n_spatial or n_spatial + 2
    ints (the batch and channel entries must be 1)."""
    if v is None:
        return (1,) * n_spatial
    if isinstance(v, int):
        return (v,) * n_spatial
    v = [int(e) for e in v]
    if len(v) == 1:
        return (v[0],) * n_spatial
    if len(v) == n_spatial:
        return tuple(v)
    if len(v) == n_spatial + 2 and allow_4:
        if v[0] != 1 or v[-1] != 1:
            raise InvalidArgumentError(
                "Current implementation does not yet support %s in the batch and depth dimensions." % name)
        return tuple(v[1:-1])
    raise ValueError("%s should be of length 1, %d or %d. Received: %s=%s of length %d"
                     % (name, n_spatial, n_spatial + 2, name, v, len(v)))


def _pads(padding, sizes, ksizes, strides, dilations):
    """[top, bottom, left, right] for a padding string or an explicit list."""
    if isinstance(padding, str):
        p = padding.upper() if padding in ("same", "valid") else padding
        if p == "VALID":
            return [0] * (2 * len(sizes))
        if p != "SAME":
            raise ValueError('`padding` must be either "SAME", "VALID", or a list. Received: padding=%r' % padding)
        out = []
        for n, k, s, d in zip(sizes, ksizes, strides, dilations):
            eff = (k - 1) * d + 1
            o = -(-n // s)
            total = max((o - 1) * s + eff - n, 0)
            out += [total // 2, total - total // 2]
        return out
    pad = [[int(a) for a in p] for p in padding]
    if len(pad) != len(sizes) + 2 or any(len(p) != 2 for p in pad):
        raise ValueError("When `padding` is a list, it must be of length %d with pairs. Received: padding=%s"
                         % (len(sizes) + 2, padding))
    if pad[0] != [0, 0] or pad[-1] != [0, 0]:
        raise InvalidArgumentError("Nonzero explicit padding in the batch or depth dimensions is not supported")
    return [v for p in pad[1:-1] for v in p]


def _nchw_in(x, data_format):
    if data_format in (None, "NHWC", "NWC"):
        return x
    if data_format == "NCHW":
        return transpose(x, [0, 2, 3, 1])
    if data_format == "NCW":
        return transpose(x, [0, 2, 1])
    raise ValueError("data_format must be NHWC or NCHW (NWC or NCW in 1-D). Received: %r" % (data_format,))


def _nchw_out(y, data_format):
    if data_format == "NCHW":
        return transpose(y, [0, 3, 1, 2])
    if data_format == "NCW":
        return transpose(y, [0, 2, 1])
    return y


def _conv_attrs(x_shape, f_shape, strides, padding, dilations):
    s = _pair(strides, "strides")
    d = _pair(dilations, "dilations")
    return [*s, *d, *_pads(padding, x_shape[-3:-1], f_shape[:2], s, d)]


def _rank_check(x, f):
    if x.ndim < 4:
        raise ValueError("input must be at least 4-dimensional (batch, height, width, channels). "
                         "Received: input.shape=%s" % (tuple(x.shape),))


def conv2d(input, filters, strides, padding, data_format="NHWC", dilations=None, name=None):
    """2-D convolution (cross-correlation, as TF) of an NHWC input with an
    HWIO filter; padding "SAME", "VALID" or explicit [[0, 0], [t, b], [l, r], [0, 0]].

    >>> import fastgrad as tf
    >>> tf.nn.conv2d(tf.ones([1, 3, 3, 1]), tf.ones([2, 2, 1, 1]), 1, "SAME").numpy()[0, :, :, 0].tolist()
    [[4.0, 4.0, 2.0], [4.0, 4.0, 2.0], [2.0, 2.0, 1.0]]
    """
    x = _nchw_in(_t(input), data_format)
    f = _t(filters)
    _rank_check(x, f)
    at = _conv_attrs(x.shape, f.shape if f.ndim == 4 else (1, 1), strides, padding, dilations)
    return _nchw_out(_core.apply(_OPS["conv2d"], [x, f], at), data_format)


def conv2d_backprop_input(input_sizes, filters, out_backprop, strides, padding, data_format="NHWC",
                          dilations=None, name=None):
    """The gradient of conv2d with respect to its input, of shape input_sizes."""
    shape = [int(v) for v in (input_sizes.numpy() if hasattr(input_sizes, "numpy") else input_sizes)]
    if data_format == "NCHW":
        shape = [shape[0], shape[2], shape[3], shape[1]]
    dy = _nchw_in(_t(out_backprop), data_format)
    f = _t(filters)
    at = _conv_attrs(shape, f.shape if f.ndim == 4 else (1, 1), strides, padding, dilations)
    return _nchw_out(_core.apply(_OPS["conv2d_backprop_input"], [dy, f], [len(shape), *shape, *at]), data_format)


def conv2d_backprop_filter(input, filter_sizes, out_backprop, strides, padding, data_format="NHWC",
                           dilations=None, name=None):
    """The gradient of conv2d with respect to its filter, of shape filter_sizes."""
    shape = [int(v) for v in (filter_sizes.numpy() if hasattr(filter_sizes, "numpy") else filter_sizes)]
    x = _nchw_in(_t(input), data_format)
    dy = _nchw_in(_t(out_backprop), data_format)
    at = _conv_attrs(x.shape, shape, strides, padding, dilations)
    return _core.apply(_OPS["conv2d_backprop_filter"], [x, dy], [len(shape), *shape, *at])


def conv2d_transpose(input, filters, output_shape, strides, padding="SAME", data_format="NHWC",
                     dilations=None, name=None):
    """The transpose of conv2d (its input gradient): filters are
    [height, width, output_channels, in_channels].

    >>> import fastgrad as tf
    >>> y = tf.nn.conv2d_transpose(tf.ones([1, 2, 2, 1]), tf.ones([2, 2, 1, 1]), [1, 4, 4, 1], 2)
    >>> y.shape
    TensorShape([1, 4, 4, 1])
    """
    shape = [int(v) for v in (output_shape.numpy() if hasattr(output_shape, "numpy") else output_shape)]
    f = _t(filters)
    if f.ndim == 4 and data_format != "NCHW" and shape[-1] != f.shape[2]:
        raise ValueError("The number of output channels (%d) must match filters.shape[2] (%d)"
                         % (shape[-1], f.shape[2]))
    return conv2d_backprop_input(shape, f, input, strides, padding, data_format, dilations)


def _add_h(x, data_format):
    """[N, W, C] -> [N, 1, W, C] (NCW -> NWC first)."""
    x = _nchw_in(_t(x), data_format)
    return expand_dims(x, -3)


def conv1d(input, filters, stride, padding, data_format="NWC", dilations=None, name=None):
    """1-D convolution of an NWC input with a [width, in, out] filter (a
    conv2d of unit height).

    >>> import fastgrad as tf
    >>> tf.nn.conv1d(tf.ones([1, 4, 1]), tf.ones([2, 1, 1]), 1, "VALID").numpy().ravel().tolist()
    [2.0, 2.0, 2.0]
    """
    x = _add_h(input, data_format)
    f = expand_dims(_t(filters), 0)
    s = (1, _pair(stride, "stride", 1)[0])
    d = (1, _pair(dilations, "dilations", 1)[0])
    if not isinstance(padding, str):
        padding = [[0, 0], [0, 0], *padding[1:]]
    y = _core.apply(_OPS["conv2d"], [x, f], [*s, *d, *_pads(padding, x.shape[-3:-1], f.shape[:2], s, d)])
    return _nchw_out(squeeze(y, [-3]), data_format)


def conv1d_transpose(input, filters, output_shape, strides, padding="SAME", data_format="NWC",
                     dilations=None, name=None):
    """The transpose of conv1d: filters [width, output_channels, in_channels]."""
    shape = [int(v) for v in (output_shape.numpy() if hasattr(output_shape, "numpy") else output_shape)]
    if data_format == "NCW":
        shape = [shape[0], shape[2], shape[1]]
    dy = _add_h(input, data_format)
    f = expand_dims(_t(filters), 0)
    s = (1, _pair(strides, "strides", 1)[0])
    d = (1, _pair(dilations, "dilations", 1)[0])
    xs = [shape[0], 1, shape[1], shape[2]]
    at = [*s, *d, *_pads(padding, xs[1:3], f.shape[:2], s, d)]
    y = _core.apply(_OPS["conv2d_backprop_input"], [dy, f], [4, *xs, *at])
    return _nchw_out(squeeze(y, [-3]), data_format)


def _depthwise_full(f):
    """[kh, kw, c, m] -> the block-diagonal [kh, kw, c, c * m] conv2d filter
    (input channel c feeds only outputs c*m .. c*m + m - 1, TF's order)."""
    kh, kw, c, m = f.shape
    mask = reshape(eye(c, dtype=f.dtype), [1, 1, c, c, 1])
    return reshape(_m.multiply(reshape(f, [kh, kw, c, 1, m]), mask), [kh, kw, c, c * m])


def depthwise_conv2d(input, filter, strides, padding, data_format=None, dilations=None, name=None):
    """Each input channel convolved with its own filter[:, :, c, :]: output
    channel c * multiplier + m.

    >>> import fastgrad as tf
    >>> tf.nn.depthwise_conv2d(tf.ones([1, 2, 2, 2]), tf.ones([2, 2, 2, 1]), [1, 1, 1, 1], "VALID").shape
    TensorShape([1, 1, 1, 2])
    """
    x = _nchw_in(_t(input), data_format)
    f = _t(filter)
    if f.ndim != 4:
        raise ValueError("filter must be 4-dimensional. Received: filter.shape=%s" % (tuple(f.shape),))
    if x.shape[-1] != f.shape[2]:
        raise InvalidArgumentError("input and filter must have the same depth: %d vs %d"
                                   % (x.shape[-1], f.shape[2]))
    return _nchw_out(conv2d(x, _depthwise_full(f), strides, padding, dilations=dilations), data_format)


def separable_conv2d(input, depthwise_filter, pointwise_filter, strides, padding, data_format=None,
                     dilations=None, name=None):
    """depthwise_conv2d, then a 1x1 conv2d mixing the channels."""
    x = _nchw_in(_t(input), data_format)
    y = depthwise_conv2d(x, depthwise_filter, strides, padding, dilations=dilations)
    return _nchw_out(conv2d(y, pointwise_filter, 1, "VALID"), data_format)


def convolution(input, filters, strides=None, padding="VALID", data_format=None, dilations=None, name=None):
    """conv1d or conv2d by the filter's rank."""
    f = _t(filters)
    if f.ndim == 3:
        return conv1d(input, f, strides or 1, padding, data_format or "NWC", dilations)
    if f.ndim == 4:
        return conv2d(input, f, strides or 1, padding, data_format or "NHWC", dilations)
    raise ValueError("`filters` must be of rank 3 or 4 (1-D or 2-D convolution); rank %d is not supported"
                     % f.ndim)


# ----------------------------------------------------------------- pooling


def _pool_attrs(x, ksize, strides, padding, n_spatial=2):
    k = _pair(ksize, "ksize", n_spatial)
    s = _pair(strides, "strides", n_spatial)
    if n_spatial == 1:
        k, s = (1, k[0]), (1, s[0])
    return [*k, *s, *_pads(padding, x.shape[-3:-1], k, s, (1, 1))]


def _pool_input(input, data_format, n_spatial):
    x = _nchw_in(_t(input), data_format)
    want = n_spatial + 2
    if x.ndim != want:
        raise ValueError("Input tensor must be of rank %d. Received: input.shape=%s" % (want, tuple(x.shape)))
    return expand_dims(x, -3) if n_spatial == 1 else x


def _max_pool(x, at):
    idx = _core.apply(_OPS["max_pool_argmax"], [x], at + [1])
    return _core.apply(_OPS["gather"], [reshape(x, [-1]), idx], [0])


def max_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):
    """The maximum over each window; its gradient goes to the first maximum
    of the window, as TF's MaxPoolGrad.

    >>> import fastgrad as tf
    >>> x = tf.reshape(tf.range(16.0), [1, 4, 4, 1])
    >>> tf.nn.max_pool2d(x, 2, 2, "VALID").numpy().ravel().tolist()
    [5.0, 7.0, 13.0, 15.0]
    """
    x = _pool_input(input, data_format, 2)
    return _nchw_out(_max_pool(x, _pool_attrs(x, ksize, strides, padding)), data_format)


def avg_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):
    """The mean over each window (with SAME padding, over its part inside the input).

    >>> import fastgrad as tf
    >>> x = tf.reshape(tf.range(16.0), [1, 4, 4, 1])
    >>> tf.nn.avg_pool2d(x, 2, 2, "VALID").numpy().ravel().tolist()
    [2.5, 4.5, 10.5, 12.5]
    """
    x = _pool_input(input, data_format, 2)
    if not isinstance(padding, str):
        raise ValueError("`padding` must be \"SAME\" or \"VALID\" for avg_pool. Received: padding=%r" % (padding,))
    return _nchw_out(_core.apply(_OPS["avg_pool"], [x], _pool_attrs(x, ksize, strides, padding)), data_format)


def max_pool1d(input, ksize, strides, padding, data_format="NWC", name=None):
    """max_pool2d over windows along the one spatial axis."""
    x = _pool_input(input, data_format, 1)
    if not isinstance(padding, str):
        padding = [[0, 0], [0, 0], *padding[1:]]
    return _nchw_out(squeeze(_max_pool(x, _pool_attrs(x, ksize, strides, padding, 1)), [-3]), data_format)


def avg_pool1d(input, ksize, strides, padding, data_format="NWC", name=None):
    """avg_pool2d over windows along the one spatial axis."""
    x = _pool_input(input, data_format, 1)
    y = _core.apply(_OPS["avg_pool"], [x], _pool_attrs(x, ksize, strides, padding, 1))
    return _nchw_out(squeeze(y, [-3]), data_format)


def _by_rank(f1, f2, input):
    x = _t(input)
    if x.ndim == 3:
        return f1
    if x.ndim == 4:
        return f2
    raise ValueError("Input tensor must be of rank 3 or 4 (1-D or 2-D pooling). Received: input.shape=%s"
                     % (tuple(x.shape),))


def max_pool(input, ksize, strides, padding, data_format=None, name=None):
    """max_pool1d or max_pool2d by the input's rank."""
    f = _by_rank(max_pool1d, max_pool2d, input)
    return f(input, ksize, strides, padding, data_format or ("NWC" if f is max_pool1d else "NHWC"))


def avg_pool(input, ksize, strides, padding, data_format=None, name=None):
    """avg_pool1d or avg_pool2d by the input's rank."""
    f = _by_rank(avg_pool1d, avg_pool2d, input)
    return f(input, ksize, strides, padding, data_format or ("NWC" if f is avg_pool1d else "NHWC"))


def pool(input, window_shape, pooling_type, strides=None, padding="VALID", data_format=None,
         dilation_rate=None, name=None):
    """"MAX" or "AVG" pooling with window_shape (1 or 2 spatial dims)."""
    if dilation_rate is not None and any(int(r) != 1 for r in dilation_rate):
        raise ValueError("dilation_rate other than 1 is not supported by fastgrad's pool")
    if pooling_type not in ("MAX", "AVG"):
        raise ValueError("Invalid pooling_type: %s" % (pooling_type,))
    strides = strides if strides is not None else [1] * len(window_shape)
    f = max_pool if pooling_type == "MAX" else avg_pool
    return f(input, list(window_shape), list(strides), padding, data_format)


def max_pool_with_argmax(input, ksize, strides, padding, data_format="NHWC", output_dtype=_int64,
                         include_batch_in_index=False, name=None):
    """(max_pool2d output, argmax): argmax is the flat index
    ((b * height + y) * width + x) * channels + c of each maximum (without
    the b term unless include_batch_in_index)."""
    if data_format != "NHWC":
        raise ValueError("max_pool_with_argmax supports only NHWC. Received: data_format=%r" % (data_format,))
    x = _pool_input(input, data_format, 2)
    at = _pool_attrs(x, ksize, strides, padding)
    idx = _core.apply(_OPS["max_pool_argmax"], [x], at + [1])
    y = _core.apply(_OPS["gather"], [reshape(x, [-1]), idx], [0])
    if not include_batch_in_index:
        idx = _core.apply(_OPS["max_pool_argmax"], [x], at + [0])
    if output_dtype != _int64:
        idx = _m.cast(idx, output_dtype)
    return y, idx
