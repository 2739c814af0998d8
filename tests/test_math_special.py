"""Elementwise and special math (issue 13) against values probed from
TensorFlow 2.21 (float64 unless noted): domains, poles, limits and the
gradient conventions at zeros and kinks. tests/test_tfdiff_math.py runs
the same functions side by side with TF on random inputs when it is
installed; tests/test_op_table.py checks their derivatives and replay.
"""
import numpy as np
import pytest

import fastgrad as tf
from _fgutil import fastgrad_only

pytestmark = fastgrad_only

inf, nan = np.inf, np.nan


def v(f, *args):
    return f(*[tf.constant(np.array(a, np.float64)) for a in args]).numpy()


def same(got, want, rtol=1e-13):
    np.testing.assert_allclose(got, np.array(want, np.float64), rtol=rtol, atol=0)


def grad(f, *xs):
    ts = [tf.constant(np.array(x, np.float64)) for x in xs]
    with tf.GradientTape(persistent=True) as t:
        for x in ts:
            t.watch(x)
        y = f(*ts)
    return [None if g is None else g.numpy() for g in t.gradient(y, ts)]


def test_gamma_family_edges_as_tf():
    same(v(tf.math.digamma, [0., -1., -0.5, 1., 0.5, 1e-300, inf, -inf, 30.5, -2.5]),
         [nan, nan, 0.03648997397857645, -0.5772156649015323, -1.9635100260214227, -1e300, inf, nan,
          3.401243668961661, 1.1031566406452433], rtol=1e-12)
    same(v(tf.math.lgamma, [0., -1., -0.5, 1., 0.5, inf, -inf, -2.5, 1e308]),
         [inf, inf, 1.2655121234846454, 0.0, 0.5723649429247001, inf, inf, -0.05624371649767407, inf])
    same(v(tf.math.polygamma, [0., 1., 2., 1.5, -1., 3., 1., 1.], [0.5, 0.5, 0.5, 0.5, 0.5, -1.0, -1.5, 0.]),
         [-1.9635100260214227, 4.93480220054468, -16.828796644234316, nan, nan, inf, 9.379246644989124, inf])
    same(v(tf.math.zeta, [1., 0.5, 2., 2., 2., 2.5, 3., 2., 2.], [1., 1., 0., -1., -1.5, -1.5, 1e-5, inf, 100.]),
         [inf, nan, inf, inf, 9.379246644989124, nan, 1000000000000000.9, 0.0, 0.010050166663333573])
    same(tf.math.lbeta(tf.constant([[1., 2.], [0.5, 0.5]], tf.float64)).numpy(),
         [-0.6931471805599453, 1.1447298858494002])
    assert tf.math.lbeta(tf.zeros((2, 0))).numpy().tolist() == [-inf, -inf]


def test_incomplete_gamma_and_beta_edges_as_tf():
    same(v(tf.math.igamma, [0., 1., -1., 1., 1., 0.5, 2., inf, 1., 0.], [1., 0., 1., -1., inf, 0.3, 10., 1., nan, 0.]),
         [nan, 0.0, nan, nan, 1.0, 0.5614219739190001, 0.9995006007726127, 0.0, nan, 0.0])
    same(v(tf.math.igammac, [0., 1., -1., 1., 1., 0.5, 2., 100.], [1., 0., 1., -1., inf, 0.3, 10., 90.]),
         [nan, 1.0, nan, nan, 0.0, 0.43857802608099994, 0.0004993992273873336, 0.8417790108135794], rtol=1e-11)
    same(v(tf.math.betainc, [1., 0., -1., 2., 2., 0.5, 2.], [1., 1., 1., 3., 3., 0.5, 3.],
           [0.5, 0.5, 0.5, 0., 1., 0.3, 1.5]),
         [0.5, nan, nan, 0.0, 1.0, 0.36901011956554536, nan], rtol=1e-12)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"Shapes of a and b are inconsistent: \[4\] vs. \[3,1\]"):
        tf.math.betainc(tf.ones(4), tf.ones((3, 1)), tf.ones(4) * 0.5)


def test_error_function_and_bessel_edges_as_tf():
    same(v(tf.math.erfinv, [-1., 1., 0., 1.5, 0.5, -0.999999, 1e-20]),
         [-inf, inf, 0.0, nan, 0.4769362762044699, -3.4589107372754997, 0.0], rtol=1e-12)
    same(v(tf.math.ndtri, [0., 1., 0.5, 1.5, 1e-300, 0.975, -0.1]),
         [-inf, inf, 0.0, nan, -37.0470962993612, 1.959963984540054, nan], rtol=1e-12)
    same(v(tf.math.bessel_i0e, [0., 1., -1., 50., inf, -inf, 1e-10]),
         [1.0, 0.46575960759364043, 0.46575960759364043, 0.056561626647454184, 0.0, 0.0, 0.9999999999])
    got = v(tf.math.special.bessel_i1e, [0., 1., -1., 50., inf, -inf, 1e-10])
    same(got, [0.0, 0.20791041534970844, -0.20791041534970844, 0.0559931238928954, 0.0, -0.0,
               4.9999999995000025e-11])
    assert np.signbit(got[5])


def test_elementwise_edges_as_tf():
    same(v(tf.math.xlog1py, [0., 0., 1., 2.], [-1., nan, -1., 1.]), [0.0, 0.0, -inf, 1.3862943611198906])
    same(v(tf.math.xdivy, [0., 0., 1., 1.], [0., nan, 0., 2.]), [0.0, 0.0, inf, 0.5])
    same(v(tf.math.multiply_no_nan, [inf, nan, 1.], [0., 0., 2.]), [0.0, 0.0, 2.0])
    same(v(tf.math.reciprocal_no_nan, [0., 2., inf]), [0.0, 0.5, 0.0])
    same(v(tf.math.softsign, [0., -3., inf]), [0.0, -0.75, nan])
    same(v(tf.math.rint, [0.5, 1.5, -2.5, 2.6]), [0.0, 2.0, -2.0, 3.0])
    same(v(tf.truncatemod, [7., -7., 7., 5.5, 1.], [3., 3., -3., 2., 0.]), [1.0, -1.0, 1.0, 1.5, nan])
    same(v(tf.math.nextafter, [1., 0., 1.], [2., -1., 1.]), [1.0000000000000002, -5e-324, 1.0])
    same(v(tf.atan2, [0., 0., -0., 1.], [0., -1., -1., 0.]), [0.0, np.pi, -np.pi, np.pi / 2])
    same(v(tf.acosh, [0.5, 1., 2.]), [nan, 0.0, 1.3169578969248166])
    same(v(tf.atanh, [1., -1., 2.]), [inf, -inf, nan])
    for dt in (tf.int32, tf.int64):
        got = tf.truncatemod(tf.constant([7, -7, 7], dt), tf.constant([3, 3, -3], dt))
        assert got.dtype == dt and got.numpy().tolist() == [1, -1, 1]
    assert tf.math.squared_difference(tf.constant([1, 5]), 3).numpy().tolist() == [4, 4]
    with pytest.raises(tf.errors.InternalError, match="only integer div and mod should have errors"):
        tf.truncatemod(tf.constant([7]), tf.constant([0]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="Value for attr 'T' of int32"):
        tf.math.erf(tf.constant([1, 2]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="Value for attr 'T' of int32"):
        tf.math.atan2(tf.constant([1, 2]), tf.constant([1, 2]))


def test_monotonic_and_polyval_as_tf():
    assert bool(tf.math.is_non_decreasing([1, 1, 2])) and not bool(tf.math.is_strictly_increasing([1, 1, 2]))
    assert bool(tf.math.is_strictly_increasing([])) and bool(tf.math.is_non_decreasing([[1.0, 2.0], [2.0, 3.0]]))
    with pytest.raises(TypeError, match="Expected x to be numeric"):
        tf.math.is_non_decreasing(tf.constant([True]))
    assert float(tf.math.polyval([1., 2., 3.], tf.constant(2.))) == 11.0
    assert tf.math.polyval([], tf.constant([2.])).numpy().tolist() == [0.0]
    with pytest.raises(ValueError, match="Argument coeffs must be list type"):
        tf.math.polyval(tf.constant([1.]), 2.)


def test_gradients_as_tf():
    for (got, want) in [
        (grad(tf.math.igamma, [0.5, 2., 3.], [0.3, 1., 10.]),
         [[-0.7705703513753518, -0.27619604570283474, -0.004120470819561479],
          [0.763090578768186, 0.36787944117144233, 0.0022699964881242435]]),
        (grad(tf.math.xlog1py, [0., 1.], [-1., 2.]), [[0.0, 1.0986122886681096], [0.0, 0.3333333333333333]]),
        (grad(tf.math.xdivy, [0., 1.], [0., 2.]), [[0.0, 0.5], [0.0, -0.25]]),
        (grad(tf.math.multiply_no_nan, [inf, 2.], [0., 3.]), [[0.0, 3.0], [inf, 2.0]]),
        (grad(tf.math.reciprocal_no_nan, [0., 2.]), [[0.0, -0.25]]),
        (grad(tf.math.nextafter, [1.], [2.]), [[1.0], [0.0]]),
        (grad(tf.math.squared_difference, [1.], [3.]), [[-4.0], [4.0]]),
        (grad(tf.math.softsign, [0., -2.]), [[1.0, 0.1111111111111111]]),
        (grad(tf.math.bessel_i1e, [0., 1.]), [[0.5, 0.04993877689422355]]),
        (grad(tf.math.bessel_i0e, [0., 1.]), [[0.0, -0.257849192243932]]),
        (grad(tf.atan2, [0.], [0.]), [[nan], [nan]]),
    ]:
        for a, b in zip(got, want):
            same(a, b, rtol=1e-12)
    # no gradient for the order, zeta's s, betainc's a and b (None, as TF)
    g = grad(tf.math.betainc, [2.], [3.], [0.3])
    assert g[0] is None and g[1] is None
    same(g[2], [1.764], rtol=1e-12)
    g = grad(tf.math.polygamma, [1.], [0.5])
    assert g[0] is None
    same(g[1], [-16.828796644234316], rtol=1e-12)
    g = grad(tf.math.zeta, [2.], [1.5])
    assert g[0] is None
    same(g[1], [-0.8287966442343201], rtol=1e-12)
    assert grad(tf.math.rint, [0.5]) == [None]
    assert grad(tf.truncatemod, [7.], [3.]) == [None, None]


def test_zero_gradients_stay_zero_through_sqrt_rsqrt_reciprocal_as_tf():
    # TF's SqrtGrad, RsqrtGrad and ReciprocalGrad give 0 where the incoming gradient is 0, so
    # where()'s unselected branch (g = 0) adds nothing even at a pole
    same(grad(lambda x: tf.where(x < 0, x, tf.sqrt(x)), [-1., 4.])[0], [1.0, 0.25])
    same(grad(lambda x: tf.where(x < 0, x, tf.math.rsqrt(x)), [-1., 0., 4.])[0], [1.0, -inf, -0.0625])
    same(grad(lambda x: tf.where(x <= 0, x, tf.math.reciprocal(x)), [-1., 0., 4.])[0], [1.0, 1.0, -0.0625])
    # Log has no such rule in TF: 0 * (1 / 0) is NaN there too
    same(grad(lambda x: tf.where(x <= 0, x, tf.math.log(x)), [-1., 0., 4.])[0], [1.0, nan, 0.25])


def test_second_derivatives_compose_table_ops():
    # d2/dx2 lgamma = polygamma(1, x); d2/dx2 digamma = polygamma(2, x)
    for f, n in [(tf.math.lgamma, 1.0), (tf.math.digamma, 2.0)]:
        x = tf.constant([0.7, 2.5], tf.float64)
        with tf.GradientTape() as t2:
            t2.watch(x)
            with tf.GradientTape() as t1:
                t1.watch(x)
                y = f(x)
            d = t1.gradient(y, x)
        same(t2.gradient(d, x).numpy(), tf.math.polygamma(tf.constant(n, tf.float64), x).numpy())


def test_present_but_wrong_fixes_as_tf():
    same(grad(lambda v: tf.fill([2, 3], v), 2.0)[0], 6.0)
    same(grad(lambda a, b: tf.linspace(a, b, 4), 0., 1.), [2.0, 2.0])
    w = tf.constant([[1., 2., 3.], [4., 5., 6.]], tf.float64)
    got = grad(lambda a, b: tf.linspace(a, b, 3, axis=1) * w, [0., 1.], [1., 3.])
    same(got[0], [2.0, 6.5])
    same(got[1], [4.0, 8.5])
    assert tf.linspace([0., 1.], [1., 3.], 3, axis=1).numpy().tolist() == [[0.0, 0.5, 1.0], [1.0, 2.0, 3.0]]
    assert tf.linspace([0., 1.], [2., 3.], 3).numpy().tolist() == [[0.0, 1.0], [1.0, 2.0], [2.0, 3.0]]
    assert tf.linspace(0, 1, 3).dtype == tf.float64 and tf.linspace(0., 1., 0).shape == (0,)
    (clipped,), norm = tf.clip_by_global_norm([tf.constant([3., 4.], tf.float64)], 1.0)
    assert clipped.dtype == tf.float64 and norm.dtype == tf.float64
    same(clipped.numpy(), [0.6000000000000001, 0.8], rtol=0)
