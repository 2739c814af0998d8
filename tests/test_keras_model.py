"""keras.Model subclassing, keras.layers.Layer subclassing and the
functional API (Input, Model(inputs, outputs), Lambda, Concatenate, Add),
with fit/evaluate/predict on both kinds of model.

Expected values were probed from tf_keras 2.21 (TF_USE_LEGACY_KERAS=1);
the tests run against it with FASTGRAD_TEST_BACKEND=tensorflow.
"""
import numpy as np
import pytest

import fastgrad as tf
from _fgutil import fastgrad_only

keras = tf.keras


@pytest.fixture(autouse=True)
def _fresh_names():
    keras.backend.clear_session()


X = np.arange(8, dtype="float32").reshape(2, 4)
Y = np.ones((2, 2), "float32")


class TwoDense(keras.Model):
    def __init__(self):
        super().__init__()
        self.d1 = keras.layers.Dense(3, kernel_initializer="ones",
                                     kernel_regularizer=keras.regularizers.L2(0.1))
        self.d2 = keras.layers.Dense(2, kernel_initializer="ones")
        self.w = tf.Variable(2.0)

    def call(self, x, training=False):
        h = self.d2(self.d1(x))
        return h * self.w if training else h


def _functional():
    i = keras.Input((4,))
    h = keras.layers.Dense(3, name="a", kernel_initializer="ones")(i)
    o = keras.layers.Dense(2, name="b", kernel_initializer="ones")(h)
    return i, o, keras.Model(i, o)


def test_subclassed_model_tracks_nested_layers_and_variables():
    m = TwoDense()
    assert len(m.weights) == 1  # only the Variable before the first call
    np.testing.assert_array_equal(m(X).numpy(), [[18, 18], [66, 66]])
    np.testing.assert_array_equal(m(X, training=True).numpy(), [[36, 36], [132, 132]])
    names = ["two_dense/dense/kernel:0", "two_dense/dense/bias:0",
             "two_dense/dense_1/kernel:0", "two_dense/dense_1/bias:0", "Variable:0"]
    assert [v.name for v in m.weights] == names
    assert [v.name for v in m.trainable_variables] == names
    assert [float(l) for l in m.losses] == pytest.approx([1.2000000476837158], abs=0)
    assert [l.name for l in m.layers] == ["dense", "dense_1"]


def test_subclassed_model_summary_says_multiple():
    m = TwoDense()
    m(X)
    lines = []
    m.summary(print_fn=lines.append)
    assert lines[0] == 'Model: "two_dense"'
    assert lines[4].rstrip() == " dense (Dense)               multiple                  15"
    assert lines[6].rstrip() == " dense_1 (Dense)             multiple                  8"
    assert "Total params: 24 (96.00 Byte)" in lines


def test_training_argument_reaches_nested_layers():
    seen = []

    class Probe(keras.layers.Layer):
        def call(self, x, training=None):
            seen.append(training)
            return x

    class Outer(keras.Model):
        def __init__(self):
            super().__init__()
            self.p = Probe()

        def call(self, x):
            return self.p(x)

    m = Outer()
    m(X, training=True)
    m(X, training=False)
    m(X)
    assert seen == [True, False, None]


def test_layer_subclass_with_add_weight():
    class L(keras.layers.Layer):
        def build(self, shape):
            self.k = self.add_weight("k", (shape[-1], 2), initializer="ones")
            self.b = self.add_weight(name="b", shape=(2,), initializer="zeros",
                                     trainable=False)

        def call(self, x):
            return tf.matmul(x, self.k) + self.b

    layer = L()
    np.testing.assert_array_equal(layer(tf.ones((1, 3))).numpy(), [[3, 3]])
    assert [v.name for v in layer.weights] == ["l/k:0", "l/b:0"]
    assert len(layer.trainable_weights) == 1 and len(layer.non_trainable_weights) == 1
    layer.trainable = False
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 2


def test_functional_model_structure_and_values():
    i, o, f = _functional()
    assert tuple(i.shape) == (None, 4) and tuple(o.shape) == (None, 2)
    assert [l.name for l in f.layers] == ["input_1", "a", "b"]
    assert [v.name for v in f.weights] == ["a/kernel:0", "a/bias:0", "b/kernel:0", "b/bias:0"]
    np.testing.assert_array_equal(f(X).numpy(), [[18, 18], [66, 66]])
    lines = []
    f.summary(print_fn=lines.append)
    assert lines[4].rstrip() == " input_1 (InputLayer)        [(None, 4)]               0"
    assert lines[6].rstrip() == " a (Dense)                   (None, 3)                 15"
    assert "Total params: 23 (92.00 Byte)" in lines


def test_merge_layers_and_lambda_in_a_graph():
    i = keras.Input((4,))
    i2 = keras.Input((4,))
    c = keras.layers.Concatenate()([i, i2])
    a = keras.layers.Add()([i, i2])
    o = keras.layers.Dense(1, kernel_initializer="ones")(c)
    assert tuple(c.shape) == (None, 8) and tuple(a.shape) == (None, 4)
    g = keras.Model([i, i2], [o, a])
    out = g([X, X])
    assert out[0].numpy().tolist() == [[12.0], [44.0]]
    assert out[1].numpy().tolist() == [[0, 2, 4, 6], [8, 10, 12, 14]]
    lam = keras.Model(i, keras.layers.Lambda(lambda t: t * 2.0)(i))
    assert lam(X).numpy().tolist() == [[0, 2, 4, 6], [8, 10, 12, 14]]


def test_graph_disconnected_raises():
    i, i2 = keras.Input((4,)), keras.Input((4,))
    out = keras.layers.Add()([i, i2])
    with pytest.raises(ValueError, match="Graph disconnected"):
        keras.Model(i, out)


def test_train_and_evaluate_subclassed_model():
    m = TwoDense()
    m.compile("sgd", "mse")
    assert m.train_on_batch(X, Y) == pytest.approx(9194.2001953125, rel=1e-6)
    assert m.evaluate(X, Y, verbose=0) == pytest.approx(506203040.0, rel=1e-6)


def test_fit_and_predict_functional_model():
    _, _, f = _functional()
    f.compile(keras.optimizers.SGD(0.01), "mse")
    h = f.fit(X, Y, epochs=2, verbose=0, batch_size=2)
    np.testing.assert_allclose(h.history["loss"], [2257.0, 994048.5], rtol=1e-6)
    np.testing.assert_allclose(f.predict(X, verbose=0),
                               [[5.7452925e+06] * 2, [1.8293436e+07] * 2], rtol=1e-6)


def test_sequential_accepts_an_input_tensor():
    s = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, kernel_initializer="ones")])
    assert s(X).numpy().tolist() == [[6.0, 6.0], [22.0, 22.0]]


@fastgrad_only  # the trace count is fastgrad's
def test_fit_of_a_subclassed_model_replays_its_step():
    m = TwoDense()
    m.compile(keras.optimizers.SGD(1e-4), "mse")
    m.fit(X, Y, epochs=3, verbose=0)
    eager = TwoDense()
    eager.compile(keras.optimizers.SGD(1e-4), "mse", run_eagerly=True)
    eager.fit(X, Y, epochs=3, verbose=0)
    for a, b in zip(m.get_weights(), eager.get_weights()):
        np.testing.assert_array_equal(a, b)
