"""tf.data.Dataset: in-memory pipelines; expected values and messages are TF
2.21's (run with FASTGRAD_TEST_BACKEND=tensorflow to check them there)."""
import collections
import re

import numpy as np
import pytest

import fastgrad as tf
from _fgutil import IS_TF, fastgrad_only


def spec(shape, dtype):
    return tf.TensorSpec(shape, dtype)


def np_list(ds):
    return [np.asarray(v).tolist() for v in ds.as_numpy_iterator()]


def test_from_tensor_slices_structures_and_specs():
    ds = tf.data.Dataset.from_tensor_slices([1, 2, 3])
    assert ds.element_spec == spec((), tf.int32)
    assert repr(ds) == ("<_TensorSliceDataset element_spec=TensorSpec(shape=(), dtype=tf.int32, "
                        "name=None)>")
    assert [int(t) for t in ds] == [1, 2, 3]
    assert [type(v).__name__ for v in ds.as_numpy_iterator()] == ["int32"] * 3
    assert len(ds) == 3 and int(ds.cardinality()) == 3 and ds.cardinality().dtype == tf.int64
    d = tf.data.Dataset.from_tensor_slices({"a": np.arange(6.).reshape(3, 2), "b": [1, 2, 3]})
    assert d.element_spec == {"a": spec((2,), tf.float64), "b": spec((), tf.int32)}
    first = next(iter(d.as_numpy_iterator()))
    assert first["a"].tolist() == [0.0, 1.0] and first["b"] == 1
    t = tf.data.Dataset.from_tensor_slices((np.arange(3), [[1., 2], [3, 4], [5, 6]]))
    assert t.element_spec == (spec((), tf.int64), spec((2,), tf.float32))
    P = collections.namedtuple("P", "x y")
    n = tf.data.Dataset.from_tensor_slices(P([1., 2.], [3, 4])).map(lambda p: P(p.y, p.x))
    assert [(int(e.x), float(e.y)) for e in n] == [(3, 1.0), (4, 2.0)]
    assert tf.data.Dataset.from_tensors([1, 2, 3]).element_spec == spec((3,), tf.int32)
    with pytest.raises(ValueError, match="Dimensions 2 and 3 are not compatible"):
        tf.data.Dataset.from_tensor_slices(([1, 2], [3, 4, 5]))
    with pytest.raises(ValueError, match="Unbatching a tensor is only supported for rank >= 1"):
        tf.data.Dataset.from_tensor_slices(1)


def test_range_zip_enumerate_concatenate():
    assert np_list(tf.data.Dataset.range(2, 10, 3)) == [2, 5, 8]
    assert np_list(tf.data.Dataset.range(5, 0, -2)) == [5, 3, 1]
    assert tf.data.Dataset.range(3, output_type=tf.int32).element_spec == spec((), tf.int32)
    assert int(tf.data.Dataset.range(2, 10, 3).cardinality()) == 3
    ds = tf.data.Dataset.range(10)
    z = tf.data.Dataset.zip({"a": ds, "b": ds.batch(2)})
    assert z.element_spec == {"a": spec((), tf.int64), "b": spec((None,), tf.int64)}
    assert int(tf.data.Dataset.zip((ds, ds.take(2))).cardinality()) == 2
    assert len(tf.data.Dataset.zip(ds, ds)) == 10
    e = tf.data.Dataset.from_tensor_slices([5., 6.]).enumerate(3)
    assert type(e).__name__ == "_ZipDataset"
    assert [(int(i), float(v)) for i, v in e] == [(3, 5.0), (4, 6.0)]
    s = tf.data.Dataset.from_tensor_slices([1, 2, 3])
    assert np_list(s.concatenate(s)) == [1, 2, 3, 1, 2, 3]
    with pytest.raises(TypeError, match="Python `list` is not supported and you should use `tuple`"):
        tf.data.Dataset.zip((ds, [1, 2]))
    with pytest.raises(TypeError, match="but encountered object of type <class 'int'>"):
        tf.data.Dataset.zip((ds, 3))


def test_batch_unbatch_padded_batch():
    ds = tf.data.Dataset.from_tensor_slices(np.arange(10.))
    assert np_list(ds.batch(3, drop_remainder=True)) == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert np_list(ds.batch(4)) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert ds.batch(4).element_spec == spec((None,), tf.float64)
    assert ds.batch(4, drop_remainder=True).element_spec == spec((4,), tf.float64)
    assert (len(ds.batch(4)), len(ds.batch(4, drop_remainder=True))) == (3, 2)
    assert np_list(ds.batch(4).unbatch()) == list(range(10))
    assert int(ds.batch(4).unbatch().cardinality()) == tf.data.UNKNOWN_CARDINALITY
    u = tf.data.Dataset.from_tensors({"a": [1, 2], "b": [[1.], [2.]]}).unbatch()
    assert [(int(e["a"]), e["b"].numpy().tolist()) for e in u] == [(1, [1.0]), (2, [2.0])]
    with pytest.raises(ValueError, match="Cannot unbatch an input with scalar components."):
        ds.unbatch()
    # a non-tensor-slice source is stacked element by element
    mapped = tf.data.Dataset.range(5).map(lambda x: (x, tf.cast(x, tf.float32) * 2.0))
    assert [(a.tolist(), b.tolist()) for a, b in mapped.batch(2).as_numpy_iterator()] == [
        ([0, 1], [0.0, 2.0]), ([2, 3], [4.0, 6.0]), ([4], [8.0])]

    ragged = tf.data.Dataset.range(1, 5).map(lambda x: tf.fill([x], x))
    assert ragged.element_spec == spec((None,), tf.int64)
    # (TF names the two shapes in either order, run to run)
    with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape(
            "Cannot add tensor to the batch: number of elements does not match. Shapes are: "
            "[tensor]: [")):
        list(ragged.batch(2))
    padded = ragged.padded_batch(2)
    assert padded.element_spec == spec((None, None), tf.int64)
    assert np_list(padded) == [[[1, 0], [2, 2]], [[3, 3, 3, 0], [4, 4, 4, 4]]]
    assert np_list(ragged.take(2).padded_batch(
        2, padded_shapes=[4], padding_values=tf.constant(-1, tf.int64))) == [
        [[1, -1, -1, -1], [2, 2, -1, -1]]]
    assert ragged.padded_batch(2, drop_remainder=True).element_spec == spec((2, None), tf.int64)
    two_d = tf.data.Dataset.range(1, 3).map(lambda x: tf.fill([x, 2], x))
    assert np_list(two_d.padded_batch(2, padded_shapes=[None, 3])) == [
        [[[1, 1, 0], [0, 0, 0]], [[2, 2, 0], [2, 2, 0]]]]
    with pytest.raises(tf.errors.DataLossError,
                       match="Attempted to pad to a smaller size than the input element."):
        list(ragged.padded_batch(2, padded_shapes=[2]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="Batch size must be greater than zero."):
        ds.batch(0)


def test_repeat_take_skip_cardinality():
    ds = tf.data.Dataset.range(10)
    assert np_list(ds.repeat().take(12)) == list(range(10)) + [0, 1]
    assert np_list(ds.skip(3).take(2)) == [3, 4]
    assert int(ds.repeat().cardinality()) == tf.data.INFINITE_CARDINALITY == -1
    assert int(ds.repeat(2).cardinality()) == 20
    assert [int(ds.take(k).cardinality()) for k in (-1, 0, 2, 15)] == [10, 0, 2, 10]
    assert [int(ds.skip(k).cardinality()) for k in (-1, 0, 2, 15)] == [0, 10, 8, 0]
    with pytest.raises(TypeError, match="The dataset is infinite."):
        len(ds.repeat())
    with pytest.raises(TypeError, match="The dataset length is unknown."):
        len(ds.filter(lambda x: x > 1))
    assert (tf.data.AUTOTUNE, tf.data.experimental.AUTOTUNE, tf.data.UNKNOWN_CARDINALITY) == (-1, -1, -2)


def test_map_filter_reduce_cache_prefetch():
    calls = []

    def double(x):
        calls.append(1)  # a Python side effect: runs when traced, not per element
        return x * 2

    m = tf.data.Dataset.range(10).map(double, num_parallel_calls=tf.data.AUTOTUNE)
    assert type(m).__name__ == "_ParallelMapDataset"
    assert np_list(m) == [2 * i for i in range(10)]
    assert len(calls) == 1
    assert tf.data.Dataset.range(10).batch(4).map(lambda x: x * 2).element_spec == spec((None,), tf.int64)
    assert (tf.data.Dataset.range(10).batch(4).map(tf.reduce_sum).element_spec
            == spec((), tf.int64))
    assert tf.data.Dataset.range(3).map(lambda x: [x, x]).element_spec == (
        spec((), tf.int64), spec((), tf.int64))
    d = tf.data.Dataset.from_tensor_slices({"a": [1., 2.], "b": [3, 4]})
    assert d.map(lambda e: {"s": e["a"] * 2, "t": e["b"]}).element_spec == {
        "s": spec((), tf.float32), "t": spec((), tf.int32)}
    pairs = tf.data.Dataset.from_tensor_slices(([1, 2], [3, 4])).map(lambda a, b: a + b)
    assert np_list(pairs) == [4, 6]

    f = tf.data.Dataset.range(10).filter(lambda x: tf.math.equal(x % 3, 0))
    assert np_list(f) == [0, 3, 6, 9] and int(f.cardinality()) == -2
    with pytest.raises(ValueError, match=re.escape(
            "Invalid `predicate`. `predicate` must return a `tf.bool` scalar tensor, but its "
            "return type is TensorSpec(shape=(), dtype=tf.int64, name=None).")):
        tf.data.Dataset.range(3).filter(lambda x: x)
    assert int(tf.data.Dataset.range(5).reduce(np.int64(0), lambda s, x: s + x)) == 10

    cached = tf.data.Dataset.range(5).map(lambda x: x + 1).cache()
    assert type(cached).__name__ == "CacheDataset"
    assert np_list(cached) == np_list(cached) == [1, 2, 3, 4, 5]
    assert np_list(tf.data.Dataset.range(3).prefetch(tf.data.AUTOTUNE)) == [0, 1, 2]
    assert np_list(tf.data.Dataset.range(5).apply(lambda d: d.take(2))) == [0, 1]


def test_iterators():
    ds = tf.data.Dataset.from_tensor_slices([1, 2, 3])
    it = iter(ds)
    assert int(it.get_next()) == 1 and it.element_spec == spec((), tf.int32)
    assert int(next(it)) == 2 and int(next(it)) == 3
    with pytest.raises(StopIteration):
        next(it)
    with pytest.raises(tf.errors.OutOfRangeError, match="End of sequence"):
        it.get_next()
    assert repr(ds.as_numpy_iterator()).startswith("NumpyIterator(iterator=<")
    assert (len(list(ds)), len(list(ds))) == (3, 3)  # each iteration starts afresh


def test_shuffle_is_a_seeded_permutation():
    ds = tf.data.Dataset.range(10)
    assert sorted(np_list(ds.shuffle(4))) == list(range(10))
    s = ds.shuffle(10, seed=3)
    orders = [np_list(s) for _ in range(4)]
    assert len({tuple(o) for o in orders}) > 1  # reshuffled each iteration
    fixed = ds.shuffle(10, seed=3, reshuffle_each_iteration=False)
    assert np_list(fixed) == np_list(fixed)
    assert np_list(ds.shuffle(10, seed=3)) == np_list(ds.shuffle(10, seed=3))
    tf.random.set_seed(5)
    a = np_list(ds.shuffle(10))
    tf.random.set_seed(5)
    assert np_list(ds.shuffle(10)) == a
    assert sorted(np_list(ds.shuffle(10).repeat(2))) == sorted(list(range(10)) * 2)
    batches = tf.data.Dataset.from_tensor_slices(np.arange(10.)).shuffle(5).batch(3)
    assert sorted(sum(np_list(batches), [])) == list(range(10))


@fastgrad_only
def test_shuffle_buffer_of_one_keeps_order_and_batches_gather_rows():
    x = np.arange(12.).reshape(6, 2)
    ds = tf.data.Dataset.from_tensor_slices((x, np.arange(6)))
    assert np_list(ds.shuffle(1).batch(4).map(lambda a, b: b)) == [[0, 1, 2, 3], [4, 5]]
    for xb, yb in ds.shuffle(6, seed=1).batch(4):  # rows stay paired
        assert xb.numpy().tolist() == x[yb.numpy()].tolist()


def test_fit_evaluate_predict_accept_a_dataset():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = (x @ np.array([[1.], [2.], [-1.]], "float32")).astype("float32")
    model = tf.keras.Sequential([tf.keras.layers.Dense(1, input_shape=(3,),
                                                       kernel_initializer="zeros")])
    model.compile(optimizer=tf.keras.optimizers.SGD(0.1), loss="mse")
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    history = model.fit(ds, epochs=3, verbose=0)
    np.testing.assert_allclose(history.history["loss"], [3.0763, 0.7649, 0.2057], atol=1e-4)
    np.testing.assert_allclose(model.evaluate(ds, verbose=0), 0.08477, atol=1e-5)
    assert model.predict(ds.map(lambda a, b: a), verbose=0).shape == (64, 1)
    # with steps_per_epoch the epochs continue one iterator, as tf.keras's do
    history = model.fit(ds.repeat(), epochs=2, steps_per_epoch=3, verbose=0, validation_data=ds)
    np.testing.assert_allclose(history.history["val_loss"], [0.0327, 0.0119], atol=1e-4)
    with pytest.raises(ValueError, match="`y` argument is not supported when using dataset"):
        model.fit(ds, y, verbose=0)
    with pytest.raises(ValueError, match="When providing an infinite dataset, you must specify"):
        model.fit(ds.repeat(), verbose=0)


@pytest.mark.skipif(IS_TF, reason="fastgrad's own: iteration inside fastgrad.function")
def test_iterating_inside_a_traced_function():
    ds = tf.data.Dataset.from_tensor_slices([1.0, 2.0, 3.0])

    @tf.function
    def total(scale):
        s = tf.constant(0.0)
        for v in ds:
            s = s + v * scale
        return s

    assert [float(total(tf.constant(k))) for k in (1.0, 2.0)] == [6.0, 12.0]

