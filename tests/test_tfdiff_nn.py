"""fastgrad's tf.nn against TensorFlow, side by side: convolutions,
pooling and the rest of tf.nn on random float64 inputs -- values, first
and second order gradients. Skipped unless TensorFlow is installed
(tests/_tfdiff.py)."""
import numpy as np
import pytest

import fastgrad as fg
from _tfdiff import grads_both, real_tf

R = np.random.default_rng(5)


def close(a, b, rtol=1e-9, atol=1e-11):
    if a is None or b is None:
        assert a is None and b is None, (a, b)
        return
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def rnd(*shape):
    return R.uniform(-1, 1, shape)


def distinct(*shape):
    """no ties: max pooling's gradient is then unambiguous"""
    n = int(np.prod(shape))
    return (R.permutation(n) / n - 0.5).reshape(shape)


# name -> (function of the nn module, input arrays); each runs on fastgrad's tf.nn and TF's
CASES = {
    "conv2d_valid": (lambda nn, x, w: nn.conv2d(x, w, 1, "VALID"), [rnd(2, 5, 6, 3), rnd(3, 2, 3, 4)]),
    "conv2d_same_strided": (lambda nn, x, w: nn.conv2d(x, w, [1, 2, 2, 1], "SAME"),
                            [rnd(2, 7, 6, 2), rnd(3, 3, 2, 3)]),
    "conv2d_explicit": (lambda nn, x, w: nn.conv2d(x, w, (2, 1), [[0, 0], [1, 2], [0, 1], [0, 0]]),
                        [rnd(2, 5, 5, 2), rnd(2, 3, 2, 3)]),
    "conv2d_pointwise": (lambda nn, x, w: nn.conv2d(x, w, 1, "VALID"), [rnd(2, 3, 4, 3), rnd(1, 1, 3, 5)]),
    "conv1d": (lambda nn, x, w: nn.conv1d(x, w, 2, "SAME"), [rnd(2, 9, 3), rnd(3, 3, 4)]),
    "conv2d_transpose": (lambda nn, x, w: nn.conv2d_transpose(x, w, [2, 7, 7, 3], 2, "VALID"),
                         [rnd(2, 3, 3, 4), rnd(3, 3, 3, 4)]),
    "conv2d_transpose_same": (lambda nn, x, w: nn.conv2d_transpose(x, w, [1, 6, 6, 2], 2, "SAME"),
                              [rnd(1, 3, 3, 3), rnd(3, 3, 2, 3)]),
    "conv1d_transpose": (lambda nn, x, w: nn.conv1d_transpose(x, w, [2, 8, 3], 2, "SAME"),
                         [rnd(2, 4, 2), rnd(3, 3, 2)]),
    "depthwise_conv2d": (lambda nn, x, w: nn.depthwise_conv2d(x, w, [1, 1, 1, 1], "SAME"),
                         [rnd(2, 5, 5, 3), rnd(3, 3, 3, 2)]),
    "separable_conv2d": (lambda nn, x, d, p: nn.separable_conv2d(x, d, p, [1, 1, 1, 1], "VALID"),
                         [rnd(1, 5, 5, 2), rnd(2, 2, 2, 2), rnd(1, 1, 4, 3)]),
    "max_pool2d": (lambda nn, x: nn.max_pool2d(x, 2, 2, "VALID"), [distinct(2, 4, 6, 3)]),
    "max_pool2d_same": (lambda nn, x: nn.max_pool2d(x, 3, 2, "SAME"), [distinct(1, 5, 5, 2)]),
    "max_pool1d": (lambda nn, x: nn.max_pool1d(x, 3, 2, "VALID"), [distinct(2, 7, 2)]),
    "avg_pool2d": (lambda nn, x: nn.avg_pool2d(x, 2, 2, "VALID"), [rnd(2, 4, 6, 3)]),
    "avg_pool2d_same": (lambda nn, x: nn.avg_pool2d(x, 3, 2, "SAME"), [rnd(1, 5, 6, 2)]),
    "avg_pool1d": (lambda nn, x: nn.avg_pool1d(x, 2, 1, "SAME"), [rnd(2, 5, 2)]),
    "pool_max": (lambda nn, x: nn.pool(x, [2, 2], "MAX", strides=[2, 2]), [distinct(1, 4, 4, 2)]),
    "bias_add": (lambda nn, x, b: nn.bias_add(x, b), [rnd(2, 3, 4), rnd(4)]),
    "gelu": (lambda nn, x: nn.gelu(x), [rnd(3, 4) * 3]),
    "gelu_approximate": (lambda nn, x: nn.gelu(x, approximate=True), [rnd(3, 4) * 3]),
    "selu": (lambda nn, x: nn.selu(x), [rnd(3, 4) * 3 + 0.01]),
    "crelu": (lambda nn, x: nn.crelu(x), [rnd(3, 4) + 0.01]),
    "log_poisson_loss": (lambda nn, z, c: nn.log_poisson_loss(z, c, compute_full_loss=True),
                         [R.uniform(0.1, 3, (3, 4)), rnd(3, 4)]),
    "weighted_cross_entropy": (lambda nn, z, x: nn.weighted_cross_entropy_with_logits(z, x, 2.5),
                               [R.uniform(0, 1, (3, 4)), rnd(3, 4) * 3]),
    "batch_normalization": (lambda nn, x, m, v, o, s: nn.batch_normalization(x, m, v, o, s, 1e-3),
                            [rnd(2, 3), rnd(3), R.uniform(0.5, 2, 3), rnd(3), rnd(3)]),
    "depth_to_space": (lambda nn, x: nn.depth_to_space(x, 2), [rnd(1, 2, 3, 8)]),
    "space_to_depth": (lambda nn, x: nn.space_to_depth(x, 2), [rnd(2, 4, 2, 3)]),
    "l2_loss": (lambda nn, x: nn.l2_loss(x), [rnd(3, 4)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("order", [1, 2])
def test_values_and_gradients_as_tf(name, order):
    tf = real_tf()
    f, xs = CASES[name]
    a, b = grads_both(fg, tf, lambda *t: f(fg.nn, *t), lambda *t: f(tf.nn, *t), xs, order)
    close(a[0], b[0])
    for u, v in zip(a[1], b[1]):
        close(u, v)
    if order == 2:
        for u, v in zip(a[2], b[2]):
            close(u, v, rtol=1e-8, atol=1e-10)


# TF runs these in float32 only (its CPU kernels: LRN; dilated conv backprops through oneDNN)
FLOAT32 = {
    "conv2d_dilated": (lambda nn, x, w: nn.conv2d(x, w, 1, "SAME", dilations=2), [rnd(1, 7, 7, 2), rnd(3, 2, 2, 2)]),
    "conv2d_dilated_strided": (lambda nn, x, w: nn.conv2d(x, w, 2, "VALID", dilations=(2, 1)),
                               [rnd(2, 8, 7, 2), rnd(2, 3, 2, 3)]),
    "local_response_normalization": (lambda nn, x: nn.local_response_normalization(x, 2, 1.5, 0.3, 0.75),
                                     [rnd(1, 2, 2, 6)]),
}


@pytest.mark.parametrize("name", sorted(FLOAT32))
def test_float32_values_and_gradients_as_tf(name):
    tf = real_tf()
    f, xs = FLOAT32[name]
    xs = [x.astype(np.float32) for x in xs]
    a, b = grads_both(fg, tf, lambda *t: f(fg.nn, *t), lambda *t: f(tf.nn, *t), xs, 1)
    close(a[0], b[0], rtol=2e-5, atol=2e-5)
    for u, v in zip(a[1], b[1]):
        close(u, v, rtol=2e-4, atol=2e-4)


def test_embedding_lookup_as_tf():
    tf = real_tf()
    p, ids = rnd(4, 3), [[2, 0], [1, 2]]
    outs = []
    for lib in (fg, tf):
        t = lib.constant(p)
        with lib.GradientTape() as tape:
            tape.watch(t)
            y = lib.nn.embedding_lookup(t, ids)
            s = lib.reduce_sum(y * y)
        outs.append((y.numpy(), lib.convert_to_tensor(tape.gradient(s, t)).numpy()))
    close(outs[0][0], outs[1][0])
    close(outs[0][1], outs[1][1])


def test_max_pool_ties_and_argmax_as_tf():
    tf = real_tf()
    x = np.array([[1.0, 3.0, 3.0, 2.0], [3.0, 0.0, 1.0, 3.0]])[None, :, :, None]
    a, b = grads_both(fg, tf, lambda t: fg.nn.max_pool2d(t, 2, 1, "SAME"),
                      lambda t: tf.nn.max_pool2d(t, 2, 1, "SAME"), [x], 2)
    close(a[0], b[0])
    close(a[1][0], b[1][0])
    close(a[2][0], b[2][0])
    for incl in (False, True):
        got = fg.nn.max_pool_with_argmax(fg.constant(np.concatenate([x, x])), 2, 1, "SAME",
                                         include_batch_in_index=incl)
        want = tf.nn.max_pool_with_argmax(tf.constant(np.concatenate([x, x])), 2, 1, "SAME",
                                          include_batch_in_index=incl)
        np.testing.assert_array_equal(got[1].numpy(), want[1].numpy())
        np.testing.assert_array_equal(got[0].numpy(), want[0].numpy())


def test_fused_batch_norm_as_tf():
    tf = real_tf()
    x, s, o = rnd(2, 3, 3, 4), rnd(4), rnd(4)
    m, v = rnd(4), R.uniform(0.5, 2, 4)
    for kw in (dict(), dict(mean=m, variance=v, exponential_avg_factor=0.3),
               dict(mean=m, variance=v, is_training=False)):
        a = fg.nn.fused_batch_norm(x.astype(np.float32), s.astype(np.float32), o.astype(np.float32),
                                   **{k: (val.astype(np.float32) if isinstance(val, np.ndarray) else val)
                                      for k, val in kw.items()})
        b = tf.compat.v1.nn.fused_batch_norm(x.astype(np.float32), s.astype(np.float32), o.astype(np.float32),
                                             **{k: (val.astype(np.float32) if isinstance(val, np.ndarray) else val)
                                                for k, val in kw.items()})
        for u, w in zip(a, b):
            np.testing.assert_allclose(u.numpy(), w.numpy(), rtol=1e-5, atol=1e-5)


def test_moments_helpers_as_tf():
    tf = real_tf()
    x, w = rnd(3, 4, 2), R.uniform(0, 1, (3, 4, 1))
    SHIFT, FOUR = np.float64(0.3), np.float64(4.0)
    for got, want in [
        (fg.nn.weighted_moments(x, [0, 1], w), tf.nn.weighted_moments(x, [0, 1], w)),
        (fg.nn.sufficient_statistics(x, [0, 2], shift=SHIFT)[:3], tf.nn.sufficient_statistics(x, [0, 2], shift=SHIFT)[:3]),
        (fg.nn.normalize_moments(FOUR, x[0], x[1] ** 2 + 1, SHIFT), tf.nn.normalize_moments(FOUR, x[0], x[1] ** 2 + 1, SHIFT)),
        ((fg.nn.compute_average_loss(x[:, 0, 0], sample_weight=w[:, 0, 0]),),
         (tf.nn.compute_average_loss(x[:, 0, 0], sample_weight=w[:, 0, 0]),)),
        ((fg.nn.compute_average_loss(x[:, 0, 0], global_batch_size=8),),
         (tf.nn.compute_average_loss(x[:, 0, 0], global_batch_size=8),)),
        ((fg.nn.scale_regularization_loss(x[0]),), (tf.nn.scale_regularization_loss(x[0]),)),
    ]:
        for u, v in zip(got, want):
            close(np.asarray(u), np.asarray(v))


def test_float32_conv_matches_tf():
    tf = real_tf()
    x, w = rnd(4, 9, 9, 5).astype(np.float32), rnd(3, 3, 5, 6).astype(np.float32)
    got = fg.nn.conv2d(x, w, 2, "SAME").numpy()
    want = tf.nn.conv2d(x, w, 2, "SAME").numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert got.dtype == np.float32
