"""tf.nn convolutions, pooling and the Keras layers over them: values and
errors as TensorFlow 2.21 gives them (probed side by side), gradients
through the backprop ops, replay in fastgrad.function, thread-count
independence."""
import numpy as np
import pytest

import fastgrad as tf
from _fgutil import fastgrad_only

R = np.random.default_rng(3)


def test_conv2d_values_as_tf():
    x = tf.reshape(tf.range(16.0), [1, 4, 4, 1])
    assert tf.nn.conv2d(x, tf.ones([2, 2, 1, 1]), 2, "VALID").numpy().ravel().tolist() == [10, 18, 42, 50]
    y = tf.nn.conv2d(tf.ones([1, 3, 3, 1]), tf.ones([2, 2, 1, 1]), 1, "SAME")
    assert y.numpy()[0, :, :, 0].tolist() == [[4, 4, 2], [4, 4, 2], [2, 2, 1]]
    # explicit padding and a 5-D input (leading batch dims), as TF 2.21
    assert tf.nn.conv2d(tf.zeros([1, 5, 5, 3]), tf.zeros([3, 3, 3, 4]), 1,
                        [[0, 0], [1, 2], [0, 1], [0, 0]]).shape == (1, 6, 4, 4)
    assert tf.nn.conv2d(tf.zeros([2, 1, 5, 5, 3]), tf.zeros([3, 3, 3, 4]), 1, "VALID").shape == (2, 1, 3, 3, 4)
    assert tf.nn.conv2d(tf.zeros([1, 2, 2, 3]), tf.zeros([3, 3, 3, 4]), 1, "VALID").shape == (1, 0, 0, 4)
    assert tf.nn.conv2d(tf.zeros([1, 5, 5, 3]), tf.zeros([3, 3, 3, 4]), 2, "VALID", dilations=2).shape == (1, 1, 1, 4)


@fastgrad_only
def test_conv2d_errors_as_tf():
    z = tf.zeros
    with pytest.raises(tf.errors.InvalidArgumentError, match="input depth must be evenly divisible by filter depth: 3 vs 2"):
        tf.nn.conv2d(z([1, 5, 5, 3]), z([3, 3, 2, 4]), 1, "VALID")
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"convolution filter must be 4-dimensional: \[3,3,4\]"):
        tf.nn.conv2d(z([1, 5, 5, 3]), z([3, 3, 4]), 1, "VALID")
    with pytest.raises(tf.errors.InvalidArgumentError, match="Row and column strides should be larger than 0"):
        tf.nn.conv2d(z([1, 5, 5, 3]), z([3, 3, 3, 4]), 0, "VALID")
    with pytest.raises(tf.errors.InvalidArgumentError, match="input #1.*expected to be a float tensor but is a double"):
        tf.nn.conv2d(z([1, 5, 5, 3]), z([3, 3, 3, 4], tf.float64), 1, "VALID")
    with pytest.raises(tf.errors.InvalidArgumentError, match="Nonzero explicit padding in the batch or depth"):
        tf.nn.conv2d(z([1, 5, 5, 3]), z([3, 3, 3, 4]), 1, [[1, 0], [1, 2], [0, 1], [0, 0]])


def test_max_pool_ties_go_to_the_first_maximum_as_tf():
    x = tf.constant([[1.0, 3.0, 3.0, 2.0], [3.0, 0.0, 1.0, 3.0]])[None, :, :, None]
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.nn.max_pool2d(x, 2, 1, "SAME")
    assert y.numpy()[0, :, :, 0].tolist() == [[3, 3, 3, 3], [3, 1, 3, 3]]
    assert tape.gradient(y, x).numpy()[0, :, :, 0].tolist() == [[0, 2, 1, 0], [1, 0, 1, 3]]
    assert tf.nn.max_pool_with_argmax(x, 2, 1, "SAME")[1].numpy().ravel().tolist() == [1, 1, 2, 7, 4, 6, 7, 7]
    # NaN never wins, as TF's
    assert tf.nn.max_pool2d(tf.constant([[1.0, np.nan], [3.0, 0.0]])[None, :, :, None], 2, 1,
                            "VALID").numpy().ravel().tolist() == [3.0]


def test_avg_pool_same_divides_by_the_window_inside_as_tf():
    x = tf.reshape(tf.range(9.0), [1, 3, 3, 1])
    assert tf.nn.avg_pool2d(x, 2, 1, "SAME").numpy().ravel().tolist() == [2, 3, 3.5, 5, 6, 6.5, 6.5, 7.5, 8]


def test_transposes_and_depthwise_values():
    y = tf.nn.conv2d_transpose(tf.ones([1, 2, 2, 1]), tf.ones([2, 2, 1, 1]), [1, 4, 4, 1], 2)
    assert y.numpy().ravel().tolist() == [1.0] * 16
    y = tf.nn.conv1d_transpose(tf.ones([1, 2, 1]), tf.ones([3, 1, 1]), [1, 5, 1], 2, "VALID")
    assert y.numpy().ravel().tolist() == [1, 1, 2, 1, 1]
    y = tf.nn.depthwise_conv2d(tf.reshape(tf.range(8.0), [1, 2, 2, 2]), tf.ones([2, 2, 2, 2]), [1, 1, 1, 1], "VALID")
    assert y.numpy().ravel().tolist() == [12, 12, 16, 16]


def test_double_backward_of_a_gradient_penalty():
    """d/dw of |d conv(x, w) / dx|^2 runs through the backprop ops' own
    rules; it matches central differences."""
    x0 = R.normal(size=(2, 5, 5, 2))
    w0 = R.normal(size=(3, 3, 2, 3))

    def penalty(w):
        x = tf.constant(x0)
        with tf.GradientTape() as inner:
            inner.watch(x)
            y = tf.reduce_sum(tf.nn.relu(tf.nn.conv2d(x, w, 1, "SAME")) ** 2)
        return tf.reduce_sum(inner.gradient(y, x) ** 2)

    tf.test.check_gradients(penalty, [tf.constant(w0)], order=1, modes=("rev",))


@fastgrad_only
def test_conv_step_replays_bitwise_and_ignores_thread_count():
    x = tf.constant(R.normal(size=(8, 9, 9, 3)).astype(np.float32))
    w = tf.Variable(R.normal(size=(3, 3, 3, 8)).astype(np.float32))

    def step(x):
        with tf.GradientTape() as tape:
            y = tf.nn.max_pool2d(tf.nn.relu(tf.nn.conv2d(x, w, 2, "SAME")), 2, 1, "VALID")
            loss = tf.reduce_sum(tf.nn.avg_pool2d(y, 2, 1, "SAME") ** 2)
        return loss, tape.gradient(loss, w)

    want = step(x)
    got = tf.function(step)(x)
    np.testing.assert_array_equal(got[1].numpy(), want[1].numpy())
    n = tf.get_num_threads()
    try:
        tf.set_num_threads(1)
        one = step(x)
    finally:
        tf.set_num_threads(n)
    np.testing.assert_array_equal(one[1].numpy(), want[1].numpy())


def test_keras_layer_shapes_and_weights_as_keras():
    L = tf.keras.layers
    x = tf.zeros([2, 8, 8, 3])
    cases = [(L.Conv2D(4, 3, padding="same"), (2, 8, 8, 4), [(3, 3, 3, 4), (4,)]),
             (L.Conv2D(4, 3, strides=2), (2, 3, 3, 4), [(3, 3, 3, 4), (4,)]),
             (L.Conv2DTranspose(5, 3, strides=2, padding="same"), (2, 16, 16, 5), [(3, 3, 5, 3), (5,)]),
             (L.Conv2DTranspose(5, 3, strides=2), (2, 17, 17, 5), [(3, 3, 5, 3), (5,)]),
             (L.DepthwiseConv2D(3, depth_multiplier=2), (2, 6, 6, 6), [(3, 3, 3, 2), (6,)]),
             (L.MaxPooling2D(), (2, 4, 4, 3), []), (L.AveragePooling2D(3, 1, "same"), (2, 8, 8, 3), []),
             (L.GlobalAveragePooling2D(), (2, 3), []), (L.GlobalMaxPooling2D(), (2, 3), []),
             (L.Flatten(), (2, 192), []), (L.Reshape((-1, 3)), (2, 64, 3), []),
             (L.BatchNormalization(), (2, 8, 8, 3), [(3,)] * 4), (L.LayerNormalization(), (2, 8, 8, 3), [(3,)] * 2)]
    for layer, shape, weights in cases:
        assert tuple(layer(x).shape) == shape, layer
        assert [tuple(v.shape) for v in layer.weights] == weights, layer
    assert L.Conv2D(1, 1).name.startswith("conv2d")
    assert tuple(L.Conv1D(4, 3)(tf.zeros([2, 7, 3])).shape) == (2, 5, 4)
    assert tuple(L.MaxPooling1D()(tf.zeros([2, 7, 3])).shape) == (2, 3, 3)
    assert tuple(L.Embedding(10, 4)(tf.constant([[1, 2], [3, 4]])).shape) == (2, 2, 4)


def test_dropout_and_batch_norm_follow_training():
    L = tf.keras.layers
    x = tf.ones([4, 100])
    d = L.Dropout(0.5, seed=1)
    assert d(x).numpy().tolist() == x.numpy().tolist()
    kept = d(x, training=True).numpy()
    assert set(np.unique(kept).tolist()) == {0.0, 2.0}
    bn = L.BatchNormalization(momentum=0.5)
    xb = tf.constant(R.normal(size=(16, 3)).astype(np.float32) * 2 + 1)
    out = bn(xb, training=True).numpy()
    np.testing.assert_allclose(out.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.5 * xb.numpy().mean(0), rtol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.numpy(), 0.5 + 0.5 * xb.numpy().var(0), rtol=1e-4)
    np.testing.assert_allclose(bn(xb).numpy(), (xb.numpy() - bn.moving_mean.numpy())
                               / np.sqrt(bn.moving_variance.numpy() + 1e-3), rtol=1e-4, atol=1e-5)
