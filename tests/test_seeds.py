"""The code examples of the five seed tutorials (/work/shared/seeds), run with
``import fastgrad as tf`` / ``from fastgrad import keras``, asserting the
numbers and strings the tutorials print.

Skipped on purpose: seed 004's California-housing download (its training
loop is run here on synthetic data instead) and TF1 ``Session`` calls (seed
003's graph-mode ``tf.gradients`` examples are written as ``@tf.function``
functions, as that tutorial itself suggests for eager mode).

Values were cross-checked by running this module under TensorFlow 2.21.0 +
tf_keras 2.21.0 (``FASTGRAD_TEST_BACKEND=tensorflow``).  Where the tutorials
show output of older TF versions (``id=...`` in reprs, the old
"GradientTape.gradient can only be called once on non-persistent tapes."
text) the test follows API.md, i.e. TF 2's current behaviour.
"""

import numpy as np
import pytest

import fastgrad as tf
from fastgrad import keras
from _fgutil import IS_TF, PREFIX, assert_close, capture_warnings, fastgrad_only, has

NON_PERSISTENT_MSG = (
    "A non-persistent GradientTape can only be used to compute one set of gradients (or jacobians)"
)


def T(value, dtype="float32"):
    """repr of a scalar tensor as the tutorials print it (prefix per backend)."""
    return "<%s.Tensor: shape=(), dtype=%s, numpy=%s>" % (PREFIX, dtype, value)


def S(value, dtype="float32"):
    """str of a scalar tensor as the tutorials print it."""
    return "%s.Tensor(%s, shape=(), dtype=%s)" % (PREFIX, value, dtype)


# ======================================================================
# seed 000: 自定义求导 tf_diffs
# ======================================================================


def f000(x):
    return 3.0 * x**2 + 2.0 * x - 1


def approximate_derivative(f, x, eps=1e-3):
    return (f(x + eps) - f(x - eps)) / (2.0 * eps)


def g000(x1, x2):
    return (x1 + 5) * (x2**2)


def approximate_gradient(g, x1, x2, eps=1e-3):
    dg_x1 = approximate_derivative(lambda x: g(x, x2), x1, eps)
    dg_x2 = approximate_derivative(lambda x: g(x1, x), x2, eps)
    return dg_x1, dg_x2


def test_000_approximate_derivative_python_floats():
    assert approximate_derivative(f000, 1.0) == 7.999999999999119
    assert approximate_gradient(g000, 2.0, 3.0) == (8.999999999993236, 41.999999999994486)


def test_000_approximate_derivative_float64_tensors():
    # the same central differences on float64 tensors give the seed's digits
    d = approximate_derivative(f000, tf.constant(1.0, tf.float64))
    assert d.dtype == tf.float64
    assert float(d) == 7.999999999999119
    g1, g2 = approximate_gradient(g000, tf.constant(2.0, tf.float64), tf.constant(3.0, tf.float64))
    assert (float(g1), float(g2)) == (8.999999999993236, 41.999999999994486)


def test_000_approximate_derivative_float32_tensor():
    # TF 2.21.0 float32: 8.00013542175293 (every op rounded to float32)
    d = approximate_derivative(f000, tf.constant(1.0))
    assert d.dtype == tf.float32
    assert float(d) == pytest.approx(8.00013542175293, abs=1e-9)


@pytest.mark.skipif(IS_TF or not has(tf, "test") or not has(tf.test, "approximate_derivative"),
                    reason="fastgrad.test.approximate_derivative not available")
def test_000_fastgrad_test_approximate_derivative():
    assert tf.test.approximate_derivative(f000, 1.0) == 7.999999999999119


def test_000_tape_on_variables():
    x1 = tf.Variable(2.0)
    x2 = tf.Variable(3.0)
    with tf.GradientTape() as tape:
        z = g000(x1, x2)
    dz_x1 = tape.gradient(z, x1)
    assert str(dz_x1) == S("9.0")
    with pytest.raises(RuntimeError) as ei:
        tape.gradient(z, x2)
    assert str(ei.value) == NON_PERSISTENT_MSG


def test_000_persistent():
    x1 = tf.Variable(2.0)
    x2 = tf.Variable(3.0)
    with tf.GradientTape(persistent=True) as tape:
        z = g000(x1, x2)
    dz_x1 = tape.gradient(z, x1)
    dz_x2 = tape.gradient(z, x2)
    assert (str(dz_x1), str(dz_x2)) == (S("9.0"), S("42.0"))
    del tape


def test_000_list_of_sources():
    x1 = tf.Variable(2.0)
    x2 = tf.Variable(3.0)
    with tf.GradientTape() as tape:
        z = g000(x1, x2)
    dz_x1x2 = tape.gradient(z, [x1, x2])
    assert repr(dz_x1x2) == "[%s, %s]" % (T("9.0"), T("42.0"))


def test_000_constants_unwatched_then_watched():
    x1 = tf.constant(2.0)
    x2 = tf.constant(3.0)
    with tf.GradientTape() as tape:
        z = g000(x1, x2)
    assert tape.gradient(z, [x1, x2]) == [None, None]

    with tf.GradientTape() as tape:
        tape.watch(x1)
        tape.watch(x2)
        z = g000(x1, x2)
    assert repr(tape.gradient(z, [x1, x2])) == "[%s, %s]" % (T("9.0"), T("42.0"))


def test_000_and_004_two_targets():
    # seeds 000 and 004 print the same example
    x = tf.Variable(5.0)
    with tf.GradientTape() as tape:
        z1 = 3 * x
        z2 = x**2
    assert repr(tape.gradient([z1, z2], x)) == T("13.0")


def test_000_second_order_hessian():
    x1 = tf.Variable(2.0)
    x2 = tf.Variable(3.0)
    with tf.GradientTape(persistent=True) as outer_tape:
        with tf.GradientTape(persistent=True) as inner_tape:
            z = g000(x1, x2)
        inner_grads = inner_tape.gradient(z, [x1, x2])
    outer_grads = [outer_tape.gradient(inner_grad, [x1, x2]) for inner_grad in inner_grads]
    assert repr(outer_grads) == "[[None, %s], [%s, %s]]" % (T("6.0"), T("6.0"), T("14.0"))
    del inner_tape
    del outer_tape


def _gd_000():
    learning_rate = 0.1
    x = tf.Variable(0.0)
    for _ in range(100):
        with tf.GradientTape() as tape:
            z = f000(x)
        dz_dx = tape.gradient(z, x)
        x.assign_sub(learning_rate * dz_dx)
    return x


def test_000_gradient_descent_values():
    x = _gd_000()
    assert x.dtype == tf.float32
    assert str(x.numpy()) == "-0.3333333"
    assert x.numpy() == np.float32(-0.3333333134651184)


@fastgrad_only
def test_000_gradient_descent_print():
    # the tutorial's print(x); TF 2.21 + NumPy 2 would print numpy=-0.3333333134651184
    x = _gd_000()
    assert repr(x) == "<fastgrad.Variable 'Variable:0' shape=() dtype=float32, numpy=-0.3333333>"
    assert str(x) == repr(x)


def _sgd_000(make_optimizer):
    learning_rate = 0.1
    x = tf.Variable(0.0)
    optimizer = make_optimizer(learning_rate)
    for _ in range(100):
        with tf.GradientTape() as tape:
            z = f000(x)
        dz_dx = tape.gradient(z, x)
        optimizer.apply_gradients([(dz_dx, x)])
    return x


@fastgrad_only
def test_000_keras_sgd_legacy_lr():
    # The tutorial's keras.optimizers.SGD(lr=...).  (tf_keras 2.21 warns that
    # lr is deprecated and silently uses the default 0.01, ending at
    # -0.33264837; Keras 3 rejects lr.  fastgrad honours it, per API.md.)
    x = _sgd_000(lambda lr: keras.optimizers.SGD(lr=lr))
    assert str(x.numpy()) == "-0.3333333"
    assert repr(x) == "<fastgrad.Variable 'Variable:0' shape=() dtype=float32, numpy=-0.3333333>"


def test_000_keras_sgd_learning_rate():
    x = _sgd_000(lambda lr: keras.optimizers.SGD(learning_rate=lr))
    assert str(x.numpy()) == "-0.3333333"
    assert x.numpy() == np.float32(-0.3333333134651184)


def test_000_apply_gradients_all_none():
    # TF/Keras: ValueError('No gradients provided for any variable...')
    opt = keras.optimizers.SGD(learning_rate=0.1)
    with pytest.raises(ValueError, match="No gradients provided for any variable"):
        opt.apply_gradients([(None, tf.Variable(1.0))])


# ======================================================================
# seed 001: TF梯度下降法的核心自动微分和梯度带 (official tutorial translation)
# ======================================================================


def test_001_gradient_of_sum_squared():
    x = tf.ones((2, 2))
    with tf.GradientTape() as t:
        t.watch(x)
        y = tf.reduce_sum(x)
        z = tf.multiply(y, y)
    dz_dx = t.gradient(z, x)
    for i in [0, 1]:
        for j in [0, 1]:
            assert dz_dx[i][j].numpy() == 8.0


def test_001_gradient_wrt_intermediate():
    x = tf.ones((2, 2))
    with tf.GradientTape() as t:
        t.watch(x)
        y = tf.reduce_sum(x)
        z = tf.multiply(y, y)
    dz_dy = t.gradient(z, y)
    assert dz_dy.numpy() == 8.0


def test_001_persistent():
    x = tf.constant(3.0)
    with tf.GradientTape(persistent=True) as t:
        t.watch(x)
        y = x * x
        z = y * y
    dz_dx = t.gradient(z, x)  # 108.0 (4*x^3 at x = 3)
    dy_dx = t.gradient(y, x)  # 6.0
    del t
    assert dz_dx.numpy() == 108.0
    assert dy_dx.numpy() == 6.0


def test_001_control_flow():
    def f(x, y):
        output = 1.0
        for i in range(y):
            if i > 1 and i < 5:
                output = tf.multiply(output, x)
        return output

    def grad(x, y):
        with tf.GradientTape() as t:
            t.watch(x)
            out = f(x, y)
        return t.gradient(out, x)

    x = tf.convert_to_tensor(2.0)
    assert grad(x, 6).numpy() == 12.0
    assert grad(x, 5).numpy() == 12.0
    assert grad(x, 4).numpy() == 4.0


def test_001_higher_order():
    x = tf.Variable(1.0)
    with tf.GradientTape() as t:
        with tf.GradientTape() as t2:
            y = x * x * x
        dy_dx = t2.gradient(y, x)
    d2y_dx2 = t.gradient(dy_dx, x)
    assert dy_dx.numpy() == 3.0
    assert d2y_dx2.numpy() == 6.0


# ======================================================================
# seed 002: Tensorflow实现自动求梯度
# ======================================================================

REPR_X_002 = (
    "<%s.Tensor: shape=(4, 1), dtype=float32, numpy=\n"
    "array([[0.],\n"
    "       [1.],\n"
    "       [2.],\n"
    "       [3.]], dtype=float32)>"
)
REPR_DY_002 = (
    "<%s.Tensor: shape=(4, 1), dtype=float32, numpy=\n"
    "array([[ 0.],\n"
    "       [ 4.],\n"
    "       [ 8.],\n"
    "       [12.]], dtype=float32)>"
)


def _x_002():
    return tf.reshape(tf.Variable(range(4), dtype=tf.float32), (4, 1))


def test_002_simple():
    x = _x_002()
    assert repr(x) == REPR_X_002 % PREFIX  # the tutorial's 'id=10, ' is TF 2.0-only
    with tf.GradientTape() as t:
        t.watch(x)
        y = 2 * tf.matmul(tf.transpose(x), x)
    dy_dx = t.gradient(y, x)
    assert repr(dy_dx) == REPR_DY_002 % PREFIX
    np.testing.assert_array_equal(dy_dx.numpy(), [[0.0], [4.0], [8.0], [12.0]])


def test_002_persistent_gradient_inside_context():
    x = _x_002()
    with capture_warnings() as msgs:
        with tf.GradientTape(persistent=True) as g:
            g.watch(x)
            y = x * x
            z = y * y
            dz_dx = g.gradient(z, x)
            dy_dx = g.gradient(y, x)
    np.testing.assert_array_equal(dz_dx.numpy(), [[0.0], [4.0], [32.0], [108.0]])
    np.testing.assert_array_equal(dy_dx.numpy(), [[0.0], [2.0], [4.0], [6.0]])
    # the tutorial shows the warning twice, once per call
    hits = [m for m in msgs if "Calling GradientTape.gradient on a persistent tape inside its context" in m]
    assert len(hits) >= 2, msgs
    assert repr(dz_dx) == (
        "<%s.Tensor: shape=(4, 1), dtype=float32, numpy=\n"
        "array([[  0.],\n"
        "       [  4.],\n"
        "       [ 32.],\n"
        "       [108.]], dtype=float32)>" % PREFIX
    )


def test_002_linear_regression_example():
    # the TF 2.0 linear-regression example appended to the seed page
    x_train = [1.0, 2.0, 3.0, 4.0]
    y_train = [2.0, 4.0, 6.0, 8.0]
    W = tf.Variable(1.0)
    b = tf.Variable(1.0)

    def model(x):
        return W * x + b

    def loss(predicted_y, desired_y):
        return tf.reduce_mean(tf.square(predicted_y - desired_y))

    def train(x, y, learning_rate):
        with tf.GradientTape() as t:
            current_loss = loss(model(x), y)
        dW, db = t.gradient(current_loss, [W, b])
        W.assign_sub(learning_rate * dW)
        b.assign_sub(learning_rate * db)

    losses = []
    for epoch in range(100):
        for x, y in zip(x_train, y_train):
            train(x, y, learning_rate=0.01)
        current_loss = loss(model(x_train), y_train)
        losses.append(float(current_loss.numpy()))
    x_test = [5.0, 6.0, 7.0, 8.0]
    predicted_y = model(x_test)
    # TF 2.21.0 float32 results
    assert_close(losses[0], 0.8492293357849121, rtol=1e-5, atol=0)
    assert_close(losses[1], 0.3284263610839844, rtol=1e-5, atol=0)
    assert_close(losses[-1], 0.020310187712311745, rtol=1e-4, atol=0)
    assert_close([W.numpy(), b.numpy()], [1.892736554145813, 0.3451545536518097], rtol=1e-5, atol=0)
    assert_close(predicted_y.numpy(), [9.808837890625, 11.701574325561523, 13.594310760498047, 15.48704719543457], rtol=1e-5, atol=0)
    assert predicted_y.dtype == tf.float32


# ======================================================================
# seed 003: 求梯度测试 (tf.gradients in graph mode; GradientTape)
# ======================================================================

needs_function = pytest.mark.skipif(
    not has(tf, "function") or not has(tf, "gradients"),
    reason="fastgrad.function / fastgrad.gradients not built yet",
)


def gra_fun(X):
    w = tf.constant([[2.0], [1.0]])
    y = tf.tanh(tf.matmul(X, w))
    return y


@needs_function
def test_003_tf_gradients_linear():
    # the tutorial's tf.ones([4.0, 1.0]) is TF1-only (TF2: TypeError for float dims)
    @tf.function
    def graph():
        x = tf.ones([4, 1])
        t = tf.ones([4, 1])
        X = tf.concat([x, t], 1)
        w = tf.constant([[2.0], [1.0]])
        y = tf.matmul(X, w)
        g1 = tf.gradients(y, x)
        g2 = tf.gradients(y, t)
        return g1, g2

    g1, g2 = graph()
    assert isinstance(g1, list) and len(g1) == 1
    np.testing.assert_array_equal(np.asarray(g1[0]), [[2.0]] * 4)
    np.testing.assert_array_equal(np.asarray(g2[0]), [[1.0]] * 4)


@needs_function
def test_003_tf_gradients_tanh_higher_order():
    @tf.function
    def graph():
        x = tf.ones([4, 1])
        t = tf.ones([4, 1])
        X = tf.concat([x, t], 1)
        y = gra_fun(X)
        g1 = tf.gradients(y, x)
        g2 = tf.gradients(y, t)
        gg1 = tf.gradients(g1, x)
        ggg1 = tf.gradients(gg1, x)
        g12 = tf.gradients(y, [x, t])
        return g1, g2, gg1, ggg1, g12

    g1, g2, gg1, ggg1, g12 = graph()
    # the tutorial's numbers: 0.01973224, 0.00986612, -0.07853862, 0.31104344.
    # tanh'(3) = 1 - tanh(3)**2 cancels ~5 digits in float32, and TF's (Eigen's)
    # float32 tanh(3) is 1 ulp below the correctly rounded value, so only
    # ~1e-4 relative agreement is meaningful here.
    np.testing.assert_allclose(np.asarray(g1[0]), [[0.01973224]] * 4, rtol=1e-4)
    np.testing.assert_allclose(np.asarray(g2[0]), [[0.00986612]] * 4, rtol=1e-4)
    np.testing.assert_allclose(np.asarray(gg1[0]), [[-0.07853862]] * 4, rtol=1e-4)
    np.testing.assert_allclose(np.asarray(ggg1[0]), [[0.31104344]] * 4, rtol=1e-4)
    np.testing.assert_allclose(np.asarray(g12[0]), [[0.01973224]] * 4, rtol=1e-4)
    np.testing.assert_allclose(np.asarray(g12[1]), [[0.00986612]] * 4, rtol=1e-4)


def test_003_tf_gradients_eager_raises():
    if not has(tf, "gradients"):
        pytest.skip("fastgrad.gradients not built yet")
    # TF: RuntimeError('tf.gradients is not supported when eager execution is
    # enabled. Use tf.GradientTape instead.')
    x = tf.ones([4, 1])
    with pytest.raises(RuntimeError, match="GradientTape"):
        tf.gradients(x * 2.0, x)


def test_003_tape_wrt_unwatched_small_x_is_none():
    # "如果只对最后一个小x求导,可运行,但xiaox求导结果为0": x feeds X before the
    # tapes start, so the tape has nothing linking g1 to x -> None.
    x = tf.ones([4, 1])
    t = tf.ones([4, 1])
    X = tf.concat([x, t], 1)
    with tf.GradientTape() as tape1:
        tape1.watch(X)
        with tf.GradientTape() as tape2:
            tape2.watch(X)
            y = gra_fun(X)
            g1 = tape2.gradient(y, X)
        gg1 = tape1.gradient(g1, x)
    assert gg1 is None
    # TF 2.21: 0.019732236862182617, 0.009866118431091309 (see the float32
    # tanh-cancellation note above: 1e-4 relative is what float32 supports)
    np.testing.assert_allclose(g1.numpy(), [[0.019732236862182617, 0.009866118431091309]] * 4, rtol=1e-4)


def _nested_003(fun, X):
    with tf.GradientTape() as tape1:
        tape1.watch(X)
        with tf.GradientTape() as tape2:
            tape2.watch(X)
            y = fun(X)
            g1 = tape2.gradient(y, X)
        gg1 = tape1.gradient(g1, X)
    return g1, gg1


def test_003_tape_block2_printed_results_x4():
    # The printed [[4, 32]]*4 / [[12]]*4 belong to y = X**4 (the "又测试了y=X^4" run).
    x = tf.ones([4, 1])
    t = tf.ones([4, 1]) * 2.0
    X = tf.concat([x, t], 1)
    g1, gg1 = _nested_003(lambda X: X * X * X * X, X)
    np.testing.assert_array_equal(g1.numpy(), [[4.0, 32.0]] * 4)
    np.testing.assert_array_equal(gg1[:, 0:1].numpy(), [[12.0]] * 4)


def test_003_tape_block2_as_written():
    # gra_fun as the code is written; TF 2.21.0 values
    x = tf.ones([4, 1])
    t = tf.ones([4, 1]) * 2.0
    X = tf.concat([x, t], 1)
    g1, gg1 = _nested_003(gra_fun, X)
    # tanh(4) saturates: 1 - y**2 keeps ~3 float32 digits, so rtol 3e-4
    np.testing.assert_allclose(g1.numpy(), [[0.0026819705963134766, 0.0013409852981567383]] * 4, rtol=3e-4)
    np.testing.assert_allclose(gg1.numpy(), [[-0.016081029549241066, -0.008040514774620533]] * 4, rtol=3e-4)


def test_003_eager_x4():
    x = tf.constant([[4.0], [1.0]])
    t = tf.constant([[4.0], [1.0]]) * 2.0
    X = tf.concat([x, t], 1)
    g1, gg1 = _nested_003(lambda X: X * X * X * X, X)
    np.testing.assert_array_equal(g1.numpy(), [[256.0, 2048.0], [4.0, 32.0]])
    np.testing.assert_array_equal(gg1.numpy(), [[192.0, 768.0], [12.0, 48.0]])


def test_003_partial_derivative_via_slice():
    x = tf.constant([[4.0], [1.0]])
    t = tf.constant([[4.0], [1.0]]) * 2.0
    X = tf.concat([x, t], 1)
    with tf.GradientTape() as tape1:
        tape1.watch(X)
        with tf.GradientTape() as tape2:
            tape2.watch(X)
            y = X * X * X * X  # "这里也可以调用y=fun(x)"; printed numbers are X**4's
            g1 = tape2.gradient(y, X)
        g1_t = g1[:, 1:2]
        gg1_t = tape1.gradient(g1_t, X)
    np.testing.assert_array_equal(g1.numpy(), [[256.0, 2048.0], [4.0, 32.0]])
    np.testing.assert_array_equal(g1_t.numpy(), [[2048.0], [32.0]])
    np.testing.assert_array_equal(gg1_t.numpy(), [[0.0, 768.0], [0.0, 48.0]])


def test_003_partial_derivative_via_slice_gra_fun():
    # the same code with gra_fun, as written; TF 2.21.0 values
    x = tf.constant([[4.0], [1.0]])
    t = tf.constant([[4.0], [1.0]]) * 2.0
    X = tf.concat([x, t], 1)
    with tf.GradientTape() as tape1:
        tape1.watch(X)
        with tf.GradientTape() as tape2:
            tape2.watch(X)
            y = gra_fun(X)
            g1 = tape2.gradient(y, X)
        g1_t = g1[:, 1:2]
        gg1_t = tape1.gradient(g1_t, X)
    # (tanh(10) == 1.0 in float32, so row 0 is exactly 0; row 1 as in block 2)
    np.testing.assert_allclose(g1.numpy(), [[0.0, 0.0], [0.0026819705963134766, 0.0013409852981567383]], rtol=3e-4, atol=1e-12)
    np.testing.assert_allclose(g1_t.numpy(), [[0.0], [0.0013409852981567383]], rtol=3e-4, atol=1e-12)
    np.testing.assert_allclose(gg1_t.numpy(), [[0.0, 0.0], [-0.0053603434935212135, -0.0026801717467606068]], rtol=3e-4, atol=1e-12)


# ======================================================================
# seed 004: tf中的求导
# ======================================================================


def f004a(x):
    return 3.0 * x**2 + 2 * x - 1


def approximae_derivative(f, x, eta=1e-3):
    return (f(x + eta) - f(x - eta)) / (2 * eta)


def test_004_approximate():
    assert approximae_derivative(f004a, 1.0) == 7.999999999999119
    assert float(approximae_derivative(f004a, tf.constant(1.0, tf.float64))) == 7.999999999999119


def test_004_basic_tape():
    x1 = tf.Variable(2.0)
    x2 = tf.Variable(3.0)
    with tf.GradientTape() as tape:
        z = x1**2 + x2**3
    dz_x1 = tape.gradient(z, x1)
    assert str(dz_x1) == S("4.0")
    with pytest.raises(RuntimeError) as ei:
        tape.gradient(z, x2)
    # the seed shows TF 2.0's "GradientTape.gradient can only be called once on
    # non-persistent tapes."; API.md pins TF 2's current text
    assert str(ei.value) == NON_PERSISTENT_MSG


def test_004_persistent():
    x1 = tf.Variable(2.0)
    x2 = tf.Variable(3.0)
    with tf.GradientTape(persistent=True) as tape:
        z = x1**2 + x2**3
    assert str(tape.gradient(z, x1)) == S("4.0")
    assert str(tape.gradient(z, x2)) == S("27.0")
    del tape


def test_004_list_and_watch():
    x1 = tf.Variable(2.0)
    x2 = tf.Variable(3.0)
    with tf.GradientTape() as tape:
        z = x1**2 + x2**3
    assert repr(tape.gradient(z, [x1, x2])) == "[%s, %s]" % (T("4.0"), T("27.0"))
    del tape

    x1 = tf.constant(2.0)
    x2 = tf.constant(3.0)
    with tf.GradientTape() as tape:
        tape.watch(x1)
        tape.watch(x2)
        z = x1**2 + x2**3
    assert repr(tape.gradient(z, [x1, x2])) == "[%s, %s]" % (T("4.0"), T("27.0"))


def test_004_second_order_with_nones():
    x1 = tf.Variable(2.0)
    x2 = tf.Variable(3.0)
    with tf.GradientTape(persistent=True) as outer_tape:
        with tf.GradientTape(persistent=True) as inner_tape:
            z = x1**2 + x2 + 1
        inner_grads = inner_tape.gradient(z, [x1, x2])
    outer_grads = [outer_tape.gradient(inner_grad, [x1, x2]) for inner_grad in inner_grads]
    # dz/dx2 == 1 is a constant: nothing connects it to x1 or x2
    assert repr(outer_grads) == "[[%s, None], [None, None]]" % T("2.0")
    del inner_tape
    del outer_tape


def f004b(x):
    return x**2 - x * 2 + 1


def test_004_gradient_descent():
    lerning_rate = 0.1
    x = tf.Variable(0.0)
    for _ in range(100):
        with tf.GradientTape() as tape:
            z = f004b(x)
        grad = tape.gradient(z, x)
        x.assign_sub(lerning_rate * grad)
    assert str(x.numpy()) == "0.9999999"
    assert x.numpy() == np.float32(0.9999998807907104)
    if not IS_TF:
        assert repr(x) == "<fastgrad.Variable 'Variable:0' shape=() dtype=float32, numpy=0.9999999>"


@pytest.mark.parametrize("legacy_lr", [pytest.param(True, marks=fastgrad_only), False])
def test_004_optimizer(legacy_lr):
    learning_rate = 0.1
    x = tf.Variable(0.0)
    if legacy_lr:
        optimizer = keras.optimizers.SGD(lr=learning_rate)
    else:
        optimizer = keras.optimizers.SGD(learning_rate=learning_rate)
    for _ in range(100):
        with tf.GradientTape() as tape:
            z = f004b(x)
        grad = tape.gradient(z, x)
        optimizer.apply_gradients([(grad, x)])
    assert str(x.numpy()) == "0.9999999"
    if not IS_TF:
        assert repr(x) == "<fastgrad.Variable 'Variable:0' shape=() dtype=float32, numpy=0.9999999>"


def test_004_metric():
    metric = keras.metrics.MeanSquaredError()
    assert str(metric([5.0], [6])) == S("1.0")
    assert str(metric([4.0], [6])) == S("2.5")
    assert float(metric.result()) == 2.5
    metric.reset_states()
    assert float(metric.result()) == 0.0
    assert str(metric([4.0], [6])) == S("4.0")
    metric.reset_state()
    assert float(metric.result()) == 0.0


def _synthetic_housing(n, rng):
    # stands in for the California-housing download: 8 standardized features,
    # positive targets around 2 (the last layer is a ReLU, as in the seed)
    X = rng.normal(size=(n, 8))
    w = rng.normal(size=8) * 0.3
    y = np.clip(2.0 + X @ w + 0.1 * rng.normal(size=n), 0.2, None)
    return X, y


def test_004_keras_custom_training_loop():
    rng = np.random.default_rng(7)
    X_train_scaled, y_train = _synthetic_housing(640, rng)
    X_val_scaled, y_val = _synthetic_housing(200, rng)
    tf.random.set_seed(3)
    np.random.seed(3)

    model = keras.models.Sequential()
    model.add(keras.layers.Dense(128, activation="relu", input_shape=X_train_scaled.shape[1:]))
    model.add(keras.layers.Dense(1, activation="relu"))
    assert [tuple(v.shape) for v in model.variables] == [(8, 128), (128,), (128, 1), (1,)]

    epochs = 10
    batch_size = 32
    steps = len(X_train_scaled) // batch_size
    optimizer = keras.optimizers.SGD()
    metric = keras.metrics.MeanSquaredError()

    def random_batch(x, y, batch_size=32):
        idx = np.random.randint(0, len(x), size=batch_size)
        return x[idx], y[idx]

    def valid_mse():
        y_valid_hat = model(X_val_scaled)
        return float(tf.reduce_mean(keras.losses.mean_squared_error(y_val.reshape(-1, 1), y_valid_hat)))

    before = valid_mse()
    for epoch in range(epochs):
        metric.reset_states()
        for step in range(steps):
            x_batch, y_batch = random_batch(X_train_scaled, y_train, batch_size=32)
            with tf.GradientTape() as tape:
                y_hat = model(x_batch)
                loss = tf.reduce_mean(keras.losses.mean_squared_error(y_hat, y_batch))
                metric(y_batch, y_hat)
            grads = tape.gradient(loss, model.variables)
            assert all(g is not None for g in grads)
            grads_and_vars = zip(grads, model.variables)
            optimizer.apply_gradients(grads_and_vars)
        train_mse = metric.result().numpy()
        assert np.isfinite(train_mse)
    after = valid_mse()
    assert y_hat.shape == (32, 1)
    assert after < 0.5 * before, (before, after)
    # The seed's loss, mean_squared_error(y_hat (32, 1), y_batch (32,)),
    # broadcasts to (32, 32) under Keras 2, so the model learns little more than
    # the target mean: the seed's valid mse (~1.30) is the housing target's
    # variance.  Either Keras semantics gets within the variance here.
    assert after < 1.5 * np.var(y_val), (after, np.var(y_val))
