"""model.save_weights/load_weights (.weights.h5, Keras 3's layout) and
model.save / keras.models.load_model (.keras) round trips. Skipped
without h5py; fastgrad's own files (tf_keras 2.21 writes another layout
for .h5 weights), hence fastgrad_only."""
import numpy as np
import pytest

import fastgrad as tf
from _fgutil import fastgrad_only

h5py = pytest.importorskip("h5py")
keras = tf.keras
pytestmark = fastgrad_only

X = np.arange(8, dtype="float32").reshape(2, 4)


def _sequential():
    return keras.Sequential([keras.layers.Dense(3, activation="relu", input_shape=(4,),
                                                kernel_regularizer=keras.regularizers.L2(0.1)),
                             keras.layers.Dense(2)])


def _functional():
    a, b = keras.Input((4,)), keras.Input((4,))
    c = keras.layers.Concatenate()([a, b])
    return keras.Model([a, b], [keras.layers.Dense(2)(c), keras.layers.Add()([a, b])])


def test_weights_h5_layout_and_round_trip(tmp_path):
    keras.backend.clear_session()
    m = _sequential()
    path = tmp_path / "m.weights.h5"
    m.save_weights(path)
    with h5py.File(path, "r") as f:
        assert sorted(f["layers"]) == ["dense", "dense_1"]
        np.testing.assert_array_equal(f["layers/dense/vars/0"][()], m.layers[0].kernel.numpy())
        np.testing.assert_array_equal(f["layers/dense_1/vars/1"][()], m.layers[1].bias.numpy())
    m2 = _sequential()
    m2.load_weights(path)
    for a, b in zip(m.get_weights(), m2.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_load_weights_rejects_another_architecture(tmp_path):
    m = _sequential()
    m.save_weights(tmp_path / "m.weights.h5")
    other = keras.Sequential([keras.layers.Dense(3, input_shape=(4,))])
    with pytest.raises(ValueError):
        other.load_weights(tmp_path / "m.weights.h5")


def test_subclassed_model_weights_round_trip(tmp_path):
    class M(keras.Model):
        def __init__(self):
            super().__init__()
            self.d1 = keras.layers.Dense(3)
            self.d2 = keras.layers.Dense(1)

        def call(self, x):
            return self.d2(self.d1(x))
    m, m2 = M(), M()
    m(X)
    m2(X)
    m.save_weights(tmp_path / "s.weights.h5")
    with h5py.File(tmp_path / "s.weights.h5", "r") as f:
        assert sorted(f) == ["d1", "d2", "vars"]
    m2.load_weights(tmp_path / "s.weights.h5")
    np.testing.assert_array_equal(m(X).numpy(), m2(X).numpy())


def test_save_and_load_model_sequential_exactly(tmp_path):
    m = _sequential()
    m.compile(keras.optimizers.Adam(0.01), "mse")
    path = tmp_path / "m.keras"
    m.save(path)
    m2 = keras.models.load_model(path)
    assert [l.name for l in m2.layers] == [l.name for l in m.layers]
    np.testing.assert_array_equal(m(X).numpy(), m2(X).numpy())
    assert m2.layers[0].kernel_regularizer.l2 == pytest.approx(0.1)
    assert isinstance(m2.optimizer, keras.optimizers.Adam)
    m2.fit(X, np.zeros((2, 2), "float32"), verbose=0)


def test_save_and_load_model_functional_exactly(tmp_path):
    m = _functional()
    m.save(tmp_path / "f.keras")
    m2 = keras.models.load_model(tmp_path / "f.keras")
    for a, b in zip(m([X, X]), m2([X, X])):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert [l.name for l in m2.layers] == [l.name for l in m.layers]


def test_model_checkpoint_saves_the_best_weights(tmp_path):
    keras.backend.clear_session()
    m = _sequential()
    m.compile(keras.optimizers.SGD(0.01), "mse")
    path = str(tmp_path / "best.weights.h5")
    cb = keras.callbacks.ModelCheckpoint(path, monitor="loss", save_best_only=True,
                                         save_weights_only=True)
    m.fit(X, np.zeros((2, 2), "float32"), epochs=3, verbose=0, callbacks=[cb])
    m2 = _sequential()
    m2.load_weights(path)
    for a, b in zip(m.get_weights(), m2.get_weights()):
        np.testing.assert_array_equal(a, b)  # the loss decreased every epoch
