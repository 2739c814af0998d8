"""The small composed tf / tf.math names (fastgrad/misc_ops.py), with the
values TF 2.21 prints for the same calls."""
import numpy as np
import pytest

import fastgrad as tf


def test_complex_helpers_on_real_inputs_as_tf():
    x = tf.constant([-1.5, 0.0, 2.0])
    np.testing.assert_allclose(tf.math.angle(x).numpy(), [np.float32(np.pi), 0.0, 0.0])
    assert tf.math.real(x).numpy().tolist() == [-1.5, 0.0, 2.0]
    assert tf.math.imag(x).numpy().tolist() == [0.0, 0.0, 0.0]
    assert tf.math.conj(x).numpy().tolist() == [-1.5, 0.0, 2.0]


def test_special_and_reductions_as_tf():
    x = tf.constant([-1.5, 0.0, 2.0])
    assert float(tf.math.zero_fraction(x)) == pytest.approx(0.33333334)
    np.testing.assert_allclose(tf.math.erfcinv(tf.constant([0.5, 1.5])).numpy(), [0.4769363, -0.4769363], rtol=1e-6)
    np.testing.assert_allclose(tf.math.bessel_i0(x).numpy(), [1.6467233, 1.0, 2.2795854], rtol=1e-6)
    np.testing.assert_allclose(tf.math.bessel_i1(x).numpy(), [-0.9816664, 0.0, 1.5906372], rtol=1e-6)
    assert tf.math.accumulate_n([x, x]).numpy().tolist() == [-3.0, 0.0, 4.0]
    np.testing.assert_allclose(tf.math.softmax(x).numpy(), tf.nn.softmax(x).numpy())


def test_top_level_helpers_as_tf():
    x = tf.constant([-1.5, 0.0, 2.0])
    assert tf.scalar_mul(2.0, x).numpy().tolist() == [-3.0, 0.0, 4.0]
    assert tf.realdiv(x, 2.0).numpy().tolist() == [-0.75, 0.0, 1.0]
    assert tf.saturate_cast(tf.constant([300.0, -5.0]), tf.int32).numpy().tolist() == [300, -5]
    assert tf.saturate_cast(tf.constant([3e9, -3e9]), tf.int32).numpy().tolist() == [2147483520, -2147483648]
    assert tf.histogram_fixed_width(tf.constant([-1.0, 0.0, 1.5, 2.0, 5.0]), [0.0, 5.0],
                                    nbins=5).numpy().tolist() == [2, 1, 1, 0, 1]
    assert tf.timestamp().dtype == tf.float64
    assert tf.no_op() is None and tf.group(x) is None
    assert [t.numpy().tolist() for t in tf.tuple([x, x])] == [[-1.5, 0.0, 2.0]] * 2
    with tf.control_dependencies([x]):
        pass
    with tf.name_scope("outer"):
        assert tf.get_current_name_scope() == "outer"
    assert tf.get_current_name_scope() == ""
    assert tf.inside_function() is False
    assert tf.function(lambda: tf.constant(tf.inside_function()))().numpy()


def test_grad_pass_through_as_tf():
    x = tf.constant([-1.5, 0.0, 2.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(tf.grad_pass_through(tf.round)(x) * x)
    # TF 2.21: [-3.5, 0., 4.]: round(x) + x with round's gradient taken as 1
    assert tape.gradient(y, x).numpy().tolist() == [-3.5, 0.0, 4.0]
