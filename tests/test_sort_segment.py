"""Sorting, segments, counting and norms: values, gradients and errors as
TensorFlow 2.21 gives them (the expected numbers and messages were probed
from TF side by side; tests/test_tfdiff_sortseg.py compares with TF live).
"""
import numpy as np
import pytest

import fastgrad as tf
from _fgutil import fastgrad_only

pytestmark = fastgrad_only
InvalidArgumentError = tf.errors.InvalidArgumentError


def grad(f, x):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = f(x)
    return tape.gradient(y, x)


# ------------------------------------------------------------------ sort


def test_sort_and_argsort_are_stable_as_tf():
    assert tf.argsort(tf.constant([3, 1, 2, 1])).numpy().tolist() == [1, 3, 2, 0]
    assert tf.argsort([1.0, 3.0, 3.0, 2.0], direction="DESCENDING").numpy().tolist() == [1, 2, 3, 0]
    # 0 and -0 are equal: their order is kept
    assert tf.argsort([0.0, -0.0, 0.0]).numpy().tolist() == [0, 1, 2]
    s = tf.sort([0.0, -0.0, 0.0]).numpy()
    assert np.signbit(s).tolist() == [False, True, False]
    assert tf.sort(tf.constant([3, -2147483648, 2, 1])).numpy().tolist() == [-2147483648, 1, 2, 3]
    assert tf.sort([[3.0, 1.0], [2.0, 4.0]], axis=0).numpy().tolist() == [[2.0, 1.0], [3.0, 4.0]]
    assert tf.argsort([2.0, 1.0], stable=True).dtype == tf.int32
    assert tf.sort(tf.zeros([2, 0])).shape == (2, 0)


def test_sort_long_rows_match_numpy_stable_sort():
    rng = np.random.default_rng(0)
    for n in (1000, 200_003):  # one chunk; several merged chunks
        x = rng.integers(0, 50, n).astype(np.float64)
        np.testing.assert_array_equal(tf.argsort(tf.constant(x)).numpy(), np.argsort(x, kind="stable"))
        np.testing.assert_array_equal(tf.argsort(tf.constant(x), direction="DESCENDING").numpy(),
                                      np.argsort(-x, kind="stable"))
    x = rng.normal(size=(64, 300)).astype(np.float32)
    np.testing.assert_array_equal(tf.sort(tf.constant(x), axis=-1).numpy(), np.sort(x, axis=-1))


def test_sort_is_the_same_at_any_thread_count():
    x = np.random.default_rng(1).integers(0, 1000, 300_000).astype(np.float32)
    prev = tf.get_num_threads()
    try:
        tf.set_num_threads(1)
        one = tf.argsort(tf.constant(x)).numpy()
        tf.set_num_threads(2)
        two = tf.argsort(tf.constant(x)).numpy()
    finally:
        tf.set_num_threads(prev)
    np.testing.assert_array_equal(one, two)


def test_sort_gradient_goes_back_to_the_source():
    g = grad(lambda x: tf.sort(x) * tf.constant([1.0, 10.0, 100.0]), [3.0, 1.0, 2.0])
    assert g.numpy().tolist() == [100.0, 1.0, 10.0]


def test_sort_errors_as_tf():
    with pytest.raises(ValueError, match="Argument `direction` should be one of ASCENDING, DESCENDING. "
                                         "Received: direction=UP"):
        tf.sort([1.0, 2.0], direction="UP")
    with pytest.raises(InvalidArgumentError, match="slice index 2 of dimension 0 out of bounds"):
        tf.sort([[1.0, 2.0]], axis=2)
    with pytest.raises(InvalidArgumentError, match="slice index -1 of dimension 0 out of bounds"):
        tf.sort(tf.constant(1.0))
    with pytest.raises(InvalidArgumentError, match="Value for attr 'T' of bool"):
        tf.sort(tf.constant([True, False]))


# ----------------------------------------------------------------- top_k


def test_top_k_as_tf():
    r = tf.math.top_k([1.0, 3.0, 3.0, 2.0, 3.0], 2)
    assert type(r).__name__ == "TopKV2" and r._fields == ("values", "indices")
    assert r.values.numpy().tolist() == [3.0, 3.0] and r.indices.numpy().tolist() == [1, 2]
    assert tf.nn.top_k(tf.constant([1, 5, 3]), 2).values.numpy().tolist() == [5, 3]
    assert tf.math.top_k([1.0, 2.0], 1, index_type=tf.int64).indices.dtype == tf.int64
    assert tf.math.top_k([[1.0, 2.0]], 0).values.shape == (1, 0)
    v, i = tf.math.top_k([1.0, 5.0, 3.0, 2.0, 4.0, 0.0, 7.0], 3, sorted=False)
    assert sorted(v.numpy().tolist()) == [4.0, 5.0, 7.0] and sorted(i.numpy().tolist()) == [1, 4, 6]
    # a small k of a long row takes the heap path: the same as the full sort's head
    x = np.random.default_rng(2).integers(0, 9, (3, 500)).astype(np.float64)
    v, i = tf.math.top_k(tf.constant(x), 7)
    want = np.argsort(-x, axis=-1, kind="stable")[:, :7]
    np.testing.assert_array_equal(i.numpy(), want)
    np.testing.assert_array_equal(v.numpy(), np.take_along_axis(x, want, -1))


def test_top_k_gradient_and_errors_as_tf():
    g = grad(lambda x: tf.math.top_k(x, 2).values * tf.constant([1.0, 10.0]), [3.0, 1.0, 2.0])
    assert g.numpy().tolist() == [1.0, 0.0, 10.0]
    with pytest.raises(InvalidArgumentError, match=r"input must have at least k columns. Had 2, needed 3"):
        tf.math.top_k([1.0, 2.0], 3)
    with pytest.raises(InvalidArgumentError, match="Need k >= 0, got -1"):
        tf.math.top_k([1.0, 2.0], -1)
    with pytest.raises(InvalidArgumentError, match=r"input must be >= 1-D, got shape \[\]"):
        tf.math.top_k(tf.constant(1.0), 1)


def test_approx_max_k_and_min_k_are_exact():
    v, i = tf.math.approx_max_k([[1.0, 5.0, 3.0, 2.0]], 2)
    assert v.numpy().tolist() == [[5.0, 3.0]] and i.numpy().tolist() == [[1, 2]]
    assert tf.nn.approx_max_k([3.0, 3.0, 3.0, 2.0], 2).indices.numpy().tolist() == [0, 1]
    v, i = tf.math.approx_min_k([[1.0, 5.0, 3.0, 2.0], [4.0, 4.0, 1.0, 0.0]], 3)
    assert v.numpy().tolist() == [[1.0, 2.0, 3.0], [0.0, 1.0, 4.0]] and i.numpy().tolist() == [[0, 3, 2], [3, 2, 0]]
    v, i = tf.math.approx_max_k([[1.0, 5.0], [3.0, 2.0]], 1, reduction_dimension=0)
    assert v.numpy().tolist() == [[3.0, 5.0]] and i.numpy().tolist() == [[1, 0]]
    with pytest.raises(InvalidArgumentError, match=r"Had 2, needed 3 \[Op:ApproxTopK\]"):
        tf.math.approx_max_k([1.0, 2.0], 3)


# -------------------------------------------------------------- segments

D = [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]


def test_sorted_segments_as_tf():
    assert tf.math.segment_sum(D, [0, 0, 2]).numpy().tolist() == [[4, 6], [0, 0], [5, 6]]
    assert tf.math.segment_max(D, [0, 0, 2]).numpy().tolist() == [[3, 4], [0, 0], [5, 6]]
    assert tf.math.segment_min(D, [0, 0, 2]).numpy().tolist() == [[1, 2], [0, 0], [5, 6]]
    assert tf.math.segment_mean(D, [0, 0, 2]).numpy().tolist() == [[2, 3], [0, 0], [5, 6]]
    assert tf.math.segment_prod(D, [0, 0, 2]).numpy().tolist() == [[3, 8], [1, 1], [5, 6]]
    m = tf.math.segment_mean(tf.constant([1, 2, 4]), [0, 0, 0])
    assert m.numpy().tolist() == [2] and m.dtype == tf.int32  # truncated
    assert tf.math.segment_sum(D, tf.constant([0, 0, 1], tf.int64)).shape == (2, 2)
    assert tf.math.segment_sum(tf.zeros([0, 2]), tf.zeros([0], tf.int32)).shape == (0, 2)
    # NaN never wins a max
    assert tf.math.segment_max([float("nan"), 1.0, 3.0], [0, 0, 0]).numpy().tolist() == [3.0]


def test_unsorted_segments_as_tf():
    lo = float(np.finfo(np.float32).min)
    assert tf.math.unsorted_segment_max(D, [2, -1, 2], 4).numpy().tolist() == [[lo, lo], [lo, lo], [5, 6], [lo, lo]]
    assert tf.math.unsorted_segment_min(tf.constant([1, 2]), [0, 0], 2).numpy().tolist() == [1, 2147483647]
    assert tf.math.unsorted_segment_max(tf.constant([1, 2]), [0, 0], 2).numpy().tolist() == [2, -2147483648]
    assert tf.math.unsorted_segment_prod(D, [2, -1, 2], 3).numpy().tolist() == [[1, 1], [1, 1], [5, 12]]
    assert tf.math.unsorted_segment_mean(D, [2, -1, 2], 3).numpy().tolist() == [[0, 0], [0, 0], [3, 4]]
    np.testing.assert_allclose(tf.math.unsorted_segment_sqrt_n(D, [2, -1, 2], 3).numpy()[2],
                               np.array([6.0, 8.0]) / np.sqrt(2), rtol=1e-6)
    m = tf.math.unsorted_segment_mean(tf.constant([1, 2]), [0, 0], 2)
    assert m.dtype == tf.float64 and m.numpy().tolist() == [1.5, 0.0]
    assert tf.math.unsorted_segment_sum(D, [[0, 1], [1, 0], [2, 2]], 3).numpy().tolist() == [5, 5, 11]
    assert tf.math.unsorted_segment_sum(D, 0, 2).shape == (2, 3, 2)


def test_segment_gradients_as_tf():
    # max: shared among ties; the empty-free segment 1 takes it whole
    g = grad(lambda x: tf.math.segment_max(x, [0, 0, 0, 1]) * tf.constant([1.0, 10.0]), [3.0, 3.0, 1.0, 2.0])
    assert g.numpy().tolist() == [0.5, 0.5, 0.0, 10.0]
    # prod with zeros: one zero gets the product of the rest, two zeros give 0
    g = grad(lambda x: tf.math.unsorted_segment_prod(x, [0, 0, 1, 1, 1, -1], 3), [0.0, 2.0, 0.0, 0.0, 3.0, 5.0])
    assert g.numpy().tolist() == [2.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    g = grad(lambda x: tf.math.unsorted_segment_prod(x, [0, 0, 1, 1], 3), [0.0, 2.0, 4.0, 3.0])
    assert g.numpy().tolist() == [2.0, 0.0, 3.0, 4.0]
    g = grad(lambda x: tf.math.unsorted_segment_mean(x, [0, 0, -1], 2), [1.0, 2.0, 3.0])
    assert g.numpy().tolist() == [0.5, 0.5, 0.0]
    g = grad(lambda x: tf.math.unsorted_segment_sqrt_n(x, [0, 0, -1], 2), [1.0, 2.0, 3.0])
    np.testing.assert_allclose(g.numpy(), [0.70710677, 0.70710677, 0.0], rtol=1e-6)
    g = grad(lambda x: tf.math.segment_mean(x, [0, 0, 2]), [1.0, 2.0, 3.0])
    assert g.numpy().tolist() == [0.5, 0.5, 1.0]


def test_segment_errors_as_tf():
    cases = [
        (lambda: tf.math.segment_sum(D, [1, 0, 2]), r"segment ids are not increasing \[Op:SegmentSum\]"),
        (lambda: tf.math.segment_sum(D, [-1, 0, 2]),
         r"Segment id -1 out of range \[0, 3\), possibly because 'segment_ids' input is not sorted."),
        (lambda: tf.math.segment_sum(D, [0, 0]), "segment_ids should be the same size as dimension 0 of input."),
        (lambda: tf.math.segment_sum(D, [[0, 0, 1]]), "segment_ids should be a vector."),
        (lambda: tf.math.segment_sum(D, tf.constant([0.0, 0.0, 1.0])),
         "Value for attr 'Tindices' of float is not in the list of allowed values: int32, int64"),
        (lambda: tf.math.segment_sum(tf.constant(1.0), [0]), "input must be at least rank 1"),
        (lambda: tf.math.unsorted_segment_sum(D, [0, 5, 1], 3),
         r"segment_ids\[1\] = 5 is out of range \[0, 3\) \[Op:UnsortedSegmentSum\]"),
        (lambda: tf.math.unsorted_segment_sum(D, [0, 1], 3),
         r"data.shape = \[3,2\] does not start with segment_ids.shape = \[2\]"),
        (lambda: tf.math.unsorted_segment_max(D, [0, 1, 1], -1),
         r"Input num_segments == -1 must not be negative. \[Op:UnsortedSegmentMax\]"),
        (lambda: tf.math.unsorted_segment_sum(tf.constant([True]), [0], 1), "Value for attr 'T' of bool"),
    ]
    for f, msg in cases:
        with pytest.raises(InvalidArgumentError, match=msg):
            f()


def test_sorted_segment_replays_and_retraces_on_a_new_count():
    f = tf.function(lambda x, s: tf.math.segment_sum(x, s))
    x = tf.constant([1.0, 2.0, 3.0])
    assert f(x, tf.constant([0, 0, 1])).numpy().tolist() == [3.0, 3.0]
    assert f(x, tf.constant([0, 1, 1])).numpy().tolist() == [1.0, 5.0]
    assert f(x, tf.constant([0, 1, 2])).numpy().tolist() == [1.0, 2.0, 3.0]


# ------------------------------------------------------ counting, search


def test_unique_as_tf():
    y, idx = tf.unique([3, 1, 3, 2, 1])
    assert y.numpy().tolist() == [3, 1, 2] and idx.numpy().tolist() == [0, 1, 0, 2, 1]
    r = tf.unique([0.0, -0.0, float("nan"), float("nan")])
    assert r.y.shape == (3,) and r.idx.numpy().tolist() == [0, 0, 1, 2]  # NaN != NaN
    assert tf.unique([3, 1], out_idx=tf.int64).idx.dtype == tf.int64
    assert tf.unique([True, False, True]).y.numpy().tolist() == [True, False]
    r = tf.unique_with_counts([3, 1, 3])
    assert r._fields == ("y", "idx", "count") and r.count.numpy().tolist() == [2, 1]
    with pytest.raises(InvalidArgumentError, match=r"unique expects a 1D vector. \[Op:Unique\]"):
        tf.unique([[1, 2]])
    with pytest.raises(InvalidArgumentError, match="Value for attr 'out_idx' of float"):
        tf.unique([1], out_idx=tf.float32)


def test_bincount_as_tf():
    assert tf.math.bincount([1, 1, 4]).numpy().tolist() == [0, 2, 0, 0, 1]
    w = tf.math.bincount([1, 1, 4], weights=[0.5, 1.0, 2.0])
    assert w.dtype == tf.float32 and w.numpy().tolist() == [0, 1.5, 0, 0, 2]
    assert tf.math.bincount([1, 1, 4], minlength=7).shape == (7,)
    assert tf.math.bincount([1, 1, 4], maxlength=3).numpy().tolist() == [0, 2, 0]
    assert tf.math.bincount(tf.zeros([0], tf.int32)).shape == (0,)
    assert tf.math.bincount([1, 1], dtype=tf.float32).dtype == tf.float32
    assert tf.math.bincount([1, 1, 3], binary_output=True).numpy().tolist() == [0, 1, 0, 1]
    assert tf.math.bincount([[1, 1], [0, 2]]).numpy().tolist() == [1, 2, 1]
    assert tf.math.bincount([[1, 1], [0, 2]], axis=-1).numpy().tolist() == [[0, 2, 0], [1, 0, 1]]
    assert tf.math.bincount([1.0, 2.0]).numpy().tolist() == [0, 1, 1]
    assert tf.math.bincount([1, 1], weights=tf.constant([2.0, 3.0], tf.float64)).dtype == tf.float64
    with pytest.raises(InvalidArgumentError, match="Input arr must be non-negative!"):
        tf.math.bincount([1, -1, 4])


def test_searchsorted_as_tf():
    assert tf.searchsorted([[1.0, 3.0, 5.0]], [[0.0, 3.0, 6.0]]).numpy().tolist() == [[0, 1, 3]]
    assert tf.searchsorted([1.0, 3.0, 3.0, 5.0], [3.0], side="right").numpy().tolist() == [3]
    assert tf.searchsorted([1.0, 3.0, 3.0, 5.0], [3.0]).numpy().tolist() == [1]
    assert tf.searchsorted([1.0, 3.0], [3.0], out_type=tf.int64).dtype == tf.int64
    with pytest.raises(ValueError, match="Argument `side` must be either 'right' or 'left'"):
        tf.searchsorted([1.0, 3.0], [3.0], side="middle")
    with pytest.raises(InvalidArgumentError, match=r"Leading dim_size of both tensors must match. \[Op:LowerBound\]"):
        tf.searchsorted([[1.0, 3.0], [1.0, 2.0]], [[3.0]])
    with pytest.raises(InvalidArgumentError, match="was expected to be a float tensor but is a int32 tensor"):
        tf.searchsorted([1.0, 3.0], [3])


def test_in_top_k_as_tf():
    p = [[0.1, 0.9, 0.5], [0.3, 0.3, 0.4], [0.2, 0.2, 0.6]]
    assert tf.math.in_top_k([1, 0, 2], p, 1).numpy().tolist() == [True, False, True]
    assert tf.nn.in_top_k([0, 1], [[0.5, 0.5, 0.1], [0.5, 0.5, 0.1]], 1).numpy().tolist() == [True, True]
    nan, inf = float("nan"), float("inf")
    assert tf.math.in_top_k([0, 1], [[nan, 0.5, 0.1], [inf, 0.5, 0.1]], 2).numpy().tolist() == [False, False]
    assert tf.math.in_top_k([5, -1], [[0.5, 0.5, 0.1]] * 2, 1).numpy().tolist() == [False, False]
    assert tf.math.in_top_k([0], [[0.5, 0.5, 0.1]], -1).numpy().tolist() == [False]
    with pytest.raises(InvalidArgumentError, match="First dimension of predictions 1 must match length of targets 2"):
        tf.math.in_top_k([0, 1], [[0.5, 0.5, 0.1]], 1)
    with pytest.raises(InvalidArgumentError, match="predictions must be 2-dimensional"):
        tf.math.in_top_k([0], [0.5, 0.5, 0.1], 1)


def test_confusion_matrix_as_tf():
    cm = tf.math.confusion_matrix([1, 2, 4], [2, 2, 4])
    want = np.zeros((5, 5), np.int32)
    want[1, 2] = want[2, 2] = want[4, 4] = 1
    assert cm.dtype == tf.int32 and cm.numpy().tolist() == want.tolist()
    cm = tf.math.confusion_matrix([1, 2], [2, 2], num_classes=3, weights=[0.5, 2.0], dtype=tf.float64)
    assert cm.dtype == tf.float64 and cm.numpy().tolist() == [[0, 0, 0], [0, 0, 0.5], [0, 0, 2.0]]
    with pytest.raises(InvalidArgumentError, match="`labels` contains negative values."):
        tf.math.confusion_matrix([-1, 2], [2, 2])
    with pytest.raises(InvalidArgumentError, match="`labels` out of bound"):
        tf.math.confusion_matrix([1, 3], [2, 2], num_classes=3)


# --------------------------------------------------------- reductions


def test_norms_as_tf():
    m = tf.constant([[1.0, -2.0], [3.0, 4.0]])
    cases = [("euclidean", None, 5.477226), ("euclidean", [0, 1], 5.477226), ("fro", (-2, -1), 5.477226),
             (1, None, 10.0), (1, [0, 1], 6.0), (2, None, 5.477226), (np.inf, None, 4.0), (np.inf, [0, 1], 7.0),
             (3, None, 4.641589), (0.5, None, 37.77657)]
    for ord, axis, want in cases:
        np.testing.assert_allclose(float(tf.norm(m, ord=ord, axis=axis)), want, rtol=1e-6)
    np.testing.assert_allclose(tf.norm(m, ord=1, axis=0).numpy(), [4.0, 6.0])
    np.testing.assert_allclose(tf.linalg.norm(m, ord=np.inf, axis=0).numpy(), [3.0, 4.0])
    assert tf.norm(m, ord=1, axis=[0, 1], keepdims=True).shape == (1, 1)
    np.testing.assert_allclose(tf.norm(tf.ones([2, 2, 2]), "fro", axis=[1, 2]).numpy(), [2.0, 2.0])
    assert float(tf.norm(tf.ones([2, 2, 2]), 1)) == 8.0
    errors = [(dict(ord="fro"), "'ord' must be a supported vector norm, got fro"),
              (dict(ord=0), "'ord' must be a supported vector norm, got 0"),
              (dict(ord=-np.inf), "'ord' must be a supported vector norm, got -inf"),
              (dict(ord=3, axis=[0, 1]), r"'ord' must be a supported matrix norm in \['euclidean', 'fro', 1, 2, inf\], got 3"),
              (dict(axis=[1, 1]), r"'axis' must be None, an integer, or a tuple of 2 unique integers, got \(1, 1\)"),
              (dict(axis=[0, 1, 2]), r"'axis' must be None, an integer, or a tuple of 2 unique integers, got \[0, 1, 2\]")]
    for kw, msg in errors:
        with pytest.raises(ValueError, match=msg):
            tf.norm(m, **kw)


def test_norm_gradients_as_tf():
    assert grad(lambda x: tf.norm(x, 1), [0.0, -2.0]).numpy().tolist() == [0.0, -1.0]
    assert grad(lambda x: tf.norm(x, np.inf), [2.0, -2.0]).numpy().tolist() == [0.5, -0.5]
    assert np.isnan(grad(lambda x: tf.math.reduce_euclidean_norm(x), [0.0, 0.0]).numpy()).all()


def test_count_nonzero_and_euclidean_norm_as_tf():
    c = tf.math.count_nonzero([[0.0, 1.0], [2.0, 0.0]])
    assert c.dtype == tf.int64 and int(c) == 2
    c = tf.math.count_nonzero([[0.0, 1.0], [2.0, 0.0]], axis=1, keepdims=True, dtype=tf.int32)
    assert c.dtype == tf.int32 and c.numpy().tolist() == [[1], [1]]
    assert int(tf.math.count_nonzero([True, False])) == 1
    assert int(tf.math.count_nonzero([float("nan"), -0.0])) == 1
    assert tf.math.reduce_euclidean_norm([[3.0, 4.0], [0.0, 0.0]], axis=1).numpy().tolist() == [5.0, 0.0]
    r = tf.math.reduce_euclidean_norm(tf.constant([[3, 4], [1, 1]]), axis=1)
    assert r.dtype == tf.int32 and r.numpy().tolist() == [5, 1]


def test_cumulative_logsumexp_as_tf():
    np.testing.assert_allclose(tf.math.cumulative_logsumexp([0.0, 1.0, 2.0]).numpy(), [0.0, 1.3132617, 2.4076061],
                               rtol=1e-6)
    np.testing.assert_allclose(tf.math.cumulative_logsumexp([0.0, 1.0, 2.0], exclusive=True, reverse=True).numpy(),
                               [2.3132617, 2.0, -np.inf], rtol=1e-6)
    assert tf.math.cumulative_logsumexp([-np.inf, -np.inf, 1.0]).numpy().tolist() == [-np.inf, -np.inf, 1.0]
    r = tf.math.cumulative_logsumexp([np.inf, 1.0, np.inf]).numpy()
    assert r[:2].tolist() == [np.inf, np.inf] and np.isnan(r[2])
    g = grad(lambda x: tf.math.cumulative_logsumexp(x) * tf.constant([1.0, -2.0, 3.0]), [0.0, 1.0, 2.0])
    np.testing.assert_allclose(g.numpy(), [0.73220885, -0.72793174, 1.9957225], rtol=1e-5)
    g = grad(lambda x: tf.math.cumulative_logsumexp(x, exclusive=True) * tf.constant([1.0, -2.0, 3.0]),
             [0.0, 1.0, 2.0])
    np.testing.assert_allclose(g.numpy(), [-1.1931758, 2.1931756, 0.0], rtol=1e-5, atol=1e-6)
    with pytest.raises(InvalidArgumentError, match="Value for attr 'T' of int32"):
        tf.math.cumulative_logsumexp([1, 2])
    with pytest.raises(InvalidArgumentError, match=r"Expected scan axis in the range \[-1, 1\), but got 1"):
        tf.math.cumulative_logsumexp([1.0, 2.0], axis=1)
