"""Array manipulation (issue 13): values, gradients and errors as
TensorFlow 2.21 gives them (each expected value and message below was
probed from TF 2.21 side by side). Runs under either backend
(FASTGRAD_TEST_BACKEND=tensorflow checks the expectations themselves)."""
import numpy as np
import pytest

import fastgrad as tf

E = tf.errors.InvalidArgumentError
X = np.arange(12.0).reshape(3, 4)


def x32():
    return tf.reshape(tf.range(12.0), (3, 4))


def check(f, xs):
    """fastgrad's central-difference check, both modes, to order 2 (TF has
    no check_gradients: under the TF backend the values alone are checked)."""
    if hasattr(tf.test, "check_gradients"):
        tf.test.check_gradients(f, [tf.constant(x) for x in xs], order=2, modes=("rev", "fwd"))


def grad(f, *xs):
    ts = [tf.constant(x) for x in xs]
    with tf.GradientTape() as tape:
        for t in ts:
            tape.watch(t)
        y = f(*ts)
    return [g.numpy() for g in tape.gradient(y, ts)]


# ------------------------------------------------------------------- pad

def test_pad_modes_values():
    x = tf.constant([[1, 2, 3], [4, 5, 6]])
    assert tf.pad(x, [[1, 0], [0, 2]]).numpy().tolist() == [[0, 0, 0, 0, 0], [1, 2, 3, 0, 0], [4, 5, 6, 0, 0]]
    assert tf.pad(x, [[1, 1], [2, 2]], "REFLECT").numpy().tolist() == [
        [6, 5, 4, 5, 6, 5, 4], [3, 2, 1, 2, 3, 2, 1], [6, 5, 4, 5, 6, 5, 4], [3, 2, 1, 2, 3, 2, 1]]
    assert tf.pad(x, [[1, 1], [2, 2]], "SYMMETRIC").numpy().tolist() == [
        [2, 1, 1, 2, 3, 3, 2], [2, 1, 1, 2, 3, 3, 2], [5, 4, 4, 5, 6, 6, 5], [5, 4, 4, 5, 6, 6, 5]]
    assert tf.pad(tf.constant([1, 2]), [[1, 1]], constant_values=7).numpy().tolist() == [7, 1, 2, 7]
    assert tf.pad(x32(), [[1, 0], [0, 0]], "reflect").numpy()[0].tolist() == [4.0, 5.0, 6.0, 7.0]
    assert tf.pad(x32(), [[1, 0], [0, 0]]).dtype == tf.float32


def test_pad_gradients_as_tf():
    w = np.arange(1.0, 8.0)
    # REFLECT [2, 2] on [a b c]: c b a b c b a -> a gets w1+w3+w7, b w2+w4+w6, c w5 (+w1? no)
    g = grad(lambda t: tf.reduce_sum(tf.pad(t, [[2, 2]], "REFLECT") * w), np.array([1.0, 2.0, 3.0]))[0]
    np.testing.assert_array_equal(g, [3 + 7, 2 + 4 + 6, 1 + 5])
    g = grad(lambda t: tf.reduce_sum(tf.pad(t, [[2, 2]], "SYMMETRIC") * w), np.array([1.0, 2.0, 3.0]))[0]
    np.testing.assert_array_equal(g, [2 + 3, 1 + 4 + 7, 5 + 6])
    g = grad(lambda t: tf.reduce_sum(tf.pad(t, [[2, 2]], constant_values=5.0) * w), np.array([1.0, 2.0, 3.0]))[0]
    np.testing.assert_array_equal(g, [3, 4, 5])


def test_pad_errors_as_tf():
    with pytest.raises(E, match=r"Paddings must be non-negative: -1 0 \[Op:Pad\]"):
        tf.pad(x32(), [[-1, 0], [0, 0]])
    with pytest.raises(E, match=r"paddings must be less than the dimension size: 3, 0 not less than 3 \[Op:MirrorPad\]"):
        tf.pad(x32(), [[3, 0], [0, 0]], "REFLECT")
    with pytest.raises(E, match=r"paddings must be no greater than the dimension size: 4, 0 greater than 3"):
        tf.pad(x32(), [[4, 0], [0, 0]], "SYMMETRIC")
    with pytest.raises(E, match=r"The first dimension of paddings must be the rank of inputs\[1,2\] \[3,4\]"):
        tf.pad(x32(), [[1, 0]])
    with pytest.raises(ValueError, match="Value of argument `mode` expected to be one of"):
        tf.pad(x32(), [[1, 0], [0, 0]], "FOO")


# ------------------------------------------------------ gather / scatter

def test_gather_batch_dims_as_tf():
    r = tf.gather(x32(), [[0, 3], [1, 1], [2, 0]], batch_dims=1)
    assert r.numpy().tolist() == [[0.0, 3.0], [5.0, 5.0], [10.0, 8.0]]
    p = np.arange(24.0).reshape(2, 3, 4)
    got = tf.gather(tf.constant(p), [[2, 0], [1, 1]], axis=2, batch_dims=1).numpy()
    want = np.stack([p[0][:, [2, 0]], p[1][:, [1, 1]]])
    np.testing.assert_array_equal(got, want)
    g = grad(lambda t: tf.gather(t, [[0, 0], [3, 1], [2, 2]], batch_dims=1), X)[0]
    np.testing.assert_array_equal(g, [[2, 0, 0, 0], [0, 1, 0, 1], [0, 0, 2, 0]])
    with pytest.raises(E, match=r"indices\[0,1\] = 4 is not in \[0, 4\) \[Op:GatherV2\]"):
        tf.gather(x32(), [[0, 4], [1, 1], [2, 0]], batch_dims=1)
    with pytest.raises(E, match=r"params.shape\[0\]: 3 should be equal to indices.shape\[0\]: 1"):
        tf.gather(x32(), [[0, 1]], batch_dims=1)
    with pytest.raises(E, match=r"indices\[1\] = 5 is not in \[0, 3\) \[Op:GatherV2\]"):
        tf.gather(x32(), [0, 5])


def test_gather_nd_as_tf():
    assert tf.gather_nd(x32(), [[0, 1], [2, 3]]).numpy().tolist() == [1.0, 11.0]
    assert tf.gather_nd(x32(), [[1], [2], [3]][:2]).numpy().tolist() == [[4, 5, 6, 7], [8, 9, 10, 11]]
    assert tf.gather_nd(x32(), [[1], [2], [3]], batch_dims=1).numpy().tolist() == [1.0, 6.0, 11.0]
    g = grad(lambda t: tf.gather_nd(t, [[0, 1], [0, 1], [2, 3]]), X)[0]
    assert g[0, 1] == 2 and g[2, 3] == 1 and g.sum() == 3
    with pytest.raises(E, match=r"indices\[0\] = \[0, 4\] does not index into param shape \[3,4\]"):
        tf.gather_nd(x32(), [[0, 4]])
    with pytest.raises(E, match=r"index innermost dimension length must be <= params rank; saw: 3 vs. 2"):
        tf.gather_nd(x32(), [[0, 1, 2]])


def test_scatter_nd_as_tf():
    assert tf.scatter_nd([[1], [3], [1]], [1.0, 2.0, 3.0], [4]).numpy().tolist() == [0.0, 4.0, 0.0, 2.0]
    r = tf.scatter_nd([[0], [2]], [[5, 5], [6, 6]], [3, 2])
    assert r.numpy().tolist() == [[5, 5], [0, 0], [6, 6]] and r.dtype == tf.int32
    g = grad(lambda u: tf.scatter_nd([[1], [1], [0]], u, [2]) * tf.constant([2.0, 3.0], tf.float64),
             np.array([1.0, 1.0, 1.0]))[0]
    np.testing.assert_array_equal(g, [3.0, 3.0, 2.0])
    with pytest.raises(E, match=r"indices\[0\] = \[3\] does not index into shape \[3\] \[Op:ScatterNd\]"):
        tf.scatter_nd([[3]], [1.0], [3])
    with pytest.raises(E, match=r"indices\[0\] = \[-1\] does not index into shape \[3\]"):
        tf.scatter_nd([[-1]], [1.0], [3])
    with pytest.raises(E, match=r"Dimensions \[0,1\) of indices\[shape=\[1,1\]\] must match dimensions \[0,1\) of "
                                r"updates\[shape=\[2\]\]"):
        tf.scatter_nd([[1]], [1.0, 2.0], [3])


def test_tensor_scatter_family_as_tf():
    t = [1, 2, 3]
    assert tf.tensor_scatter_nd_update(t, [[0], [2]], [7, 9]).numpy().tolist() == [7, 2, 9]
    assert tf.tensor_scatter_nd_add(t, [[0], [0]], [7, 9]).numpy().tolist() == [17, 2, 3]
    assert tf.tensor_scatter_nd_sub(t, [[1]], [7]).numpy().tolist() == [1, -5, 3]
    assert tf.tensor_scatter_nd_min(t, [[1], [2]], [0, 5]).numpy().tolist() == [1, 0, 3]
    assert tf.tensor_scatter_nd_max(x32(), [[1, 1], [1, 1]], [100.0, 7.0]).numpy()[1].tolist() == [4, 100, 6, 7]
    with pytest.raises(E, match=r"indices\[0\] = \[3\] does not index into shape \[3,4\] \[Op:TensorScatterUpdate\]"):
        tf.tensor_scatter_nd_update(x32(), [[3]], [[1.0] * 4])
    with pytest.raises(E, match=r"The inner 1 dimensions of output.shape=\[3,4\] must match the inner 1 dimensions "
                                r"of updates.shape=\[1,3\]"):
        tf.tensor_scatter_nd_update(x32(), [[1]], [[1.0] * 3])


def test_tensor_scatter_gradients_as_tf():
    x, u = np.array([1.0, 2.0, 3.0]), np.array([5.0, 6.0])
    gx, gu = grad(lambda a, b: tf.tensor_scatter_nd_update(a, [[1], [1]], b) * np.array([1.0, 2.0, 3.0]), x, u)
    # TF: the tensor's gradient is zero where updated; every duplicate update gets g
    np.testing.assert_array_equal(gx, [1.0, 0.0, 3.0])
    np.testing.assert_array_equal(gu, [2.0, 2.0])
    gx, gu = grad(lambda a, b: tf.tensor_scatter_nd_sub(a, [[0], [2]], b), x, u)
    np.testing.assert_array_equal(gx, [1, 1, 1])
    np.testing.assert_array_equal(gu, [-1, -1])
    # max: ties share the gradient (TF's indicators)
    gx, gu = grad(lambda a, b: tf.tensor_scatter_nd_max(a, [[0], [1]], b), np.array([5.0, 9.0, 1.0]),
                  np.array([5.0, 2.0]))
    np.testing.assert_array_equal(gx, [0.5, 1.0, 1.0])
    np.testing.assert_array_equal(gu, [0.5, 0.0])
    check(lambda a, b: tf.tensor_scatter_nd_add(a, [[0, 1], [1, 0]], b), [np.ones((2, 2)), np.array([2.0, 3.0])])
    check(lambda a, b: tf.tensor_scatter_nd_min(a, [[2], [0]], b), [np.array([0.3, -0.2, 0.8]), np.array([0.1, 0.9])])


# -------------------------------------------------------------- einsum

EINSUMS = [
    ("ij,jk->ik", [(3, 4), (4, 5)]), ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]), ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]), ("ij->", [(3, 4)]), ("ij->ji", [(3, 4)]), ("i,j->ij", [(3,), (4,)]),
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]), ("bii->bi", [(2, 3, 3)]), ("ij,ij->i", [(3, 4), (3, 4)]),
    ("ijk,kj->i", [(2, 3, 4), (4, 3)]), ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]), ("iji->j", [(3, 2, 3)]),
    ("ab,cd", [(2, 3), (4, 5)]), ("i...->...", [(3, 2, 2)]), ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
]


@pytest.mark.parametrize("eq,shapes", EINSUMS)
def test_einsum_values_and_gradients(eq, shapes):
    rng = np.random.default_rng(3)
    xs = [rng.standard_normal(s) for s in shapes]
    np.testing.assert_allclose(tf.einsum(eq, *[tf.constant(x) for x in xs]).numpy(), np.einsum(eq, *xs),
                               rtol=1e-12, atol=1e-12)
    check(lambda *ts: tf.einsum(eq, *ts), xs)


def test_einsum_dtypes_and_errors_as_tf():
    r = tf.einsum("ij,j->i", tf.constant([[1, 2]]), tf.constant([3, 4]))
    assert r.numpy().tolist() == [11] and r.dtype == tf.int32
    assert float(tf.einsum("ii", tf.eye(3))) == 3.0
    assert tf.linalg.einsum("ij", x32()).numpy().tolist() == X.tolist()
    with pytest.raises(E, match=r"Expected dimension 4 at axis 0 of the input shaped \[3,4\] but got dimension 3"):
        tf.einsum("ij,jk->ik", x32(), x32())
    with pytest.raises(E, match=r"Expected dimension 3 at axis 1 of the input shaped \[3,4\] but got dimension 4"):
        tf.einsum("ii->i", x32())
    with pytest.raises(ValueError, match="Output subscripts contain the label k not present in the input subscripts."):
        tf.einsum("ij->ik", x32())


def test_tensordot_as_tf():
    assert tf.tensordot(x32(), x32(), [[1], [1]]).numpy().tolist() == [[14, 38, 62], [38, 126, 214],
                                                                      [62, 214, 366]]
    a, b = np.arange(24.0).reshape(2, 3, 4), np.arange(12.0).reshape(4, 3)
    np.testing.assert_array_equal(tf.tensordot(a, b, [[1, 2], [1, 0]]).numpy(),
                                  np.tensordot(a, b, [[1, 2], [1, 0]]))
    assert tf.tensordot(tf.ones((2, 3)), tf.ones((3, 4)), 1).shape == (2, 4)
    with pytest.raises(E, match=r"Matrix size-incompatible: In\[0\]: \[4,3\], In\[1\]: \[4,3\]"):
        tf.tensordot(x32(), x32(), [[0], [1]])
    check(lambda u, v: tf.tensordot(u, v, [[1, 2], [1, 0]]), [a / 10, b / 10])


# ------------------------------------------------- masks and rearranging

def test_boolean_mask_as_tf():
    assert tf.boolean_mask(x32(), [True, False, True]).numpy().tolist() == [[0, 1, 2, 3], [8, 9, 10, 11]]
    assert tf.boolean_mask(x32(), [True, False, True, True], axis=1).numpy().tolist() == [
        [0, 2, 3], [4, 6, 7], [8, 10, 11]]
    m = np.array([[True, False, True, False], [False] * 4, [True] * 4])
    assert tf.boolean_mask(x32(), m).numpy().tolist() == [0, 2, 8, 9, 10, 11]
    g = grad(lambda t: tf.boolean_mask(t, [False, True, True]), X)[0]
    np.testing.assert_array_equal(g, [[0] * 4, [1] * 4, [1] * 4])
    with pytest.raises(ValueError, match=r"Shapes \(3,\) and \(2,\) are incompatible"):
        tf.boolean_mask(x32(), [True, False])
    with pytest.raises(ValueError, match="mask cannot be scalar."):
        tf.boolean_mask(x32(), True)


def test_reverse_roll_repeat_as_tf():
    assert tf.reverse(x32(), [1, -2]).numpy().tolist() == np.flip(X).tolist()
    assert tf.roll(x32(), [1, -1], [0, 1]).numpy().tolist() == [[9, 10, 11, 8], [1, 2, 3, 0], [5, 6, 7, 4]]
    assert tf.roll([1, 2, 3, 4], 5, 0).numpy().tolist() == [4, 1, 2, 3]
    assert tf.repeat(x32(), [1, 0, 2], axis=0).numpy().tolist() == [[0, 1, 2, 3], [8, 9, 10, 11], [8, 9, 10, 11]]
    assert tf.repeat(x32(), 2).numpy().tolist() == np.repeat(X, 2).tolist()
    assert tf.repeat([[1, 2]], 2, axis=1).numpy().tolist() == [[1, 1, 2, 2]]
    g = grad(lambda t: tf.repeat(t, [1, 0, 2], axis=0) * 1.0, X)[0]
    np.testing.assert_array_equal(g, [[1] * 4, [0] * 4, [2] * 4])
    g = grad(lambda t: tf.roll(t, 1, 1) * np.arange(4.0), X)[0]
    np.testing.assert_array_equal(g[0], [1, 2, 3, 0])
    with pytest.raises(E, match=r"axis 1 specified more than once. \[Op:ReverseV2\]"):
        tf.reverse(x32(), [1, 1])
    with pytest.raises(E, match=r"'axis'\[0\] = 2 is out of valid range \[0, 1 \[Op:ReverseV2\]"):
        tf.reverse(x32(), [2])
    with pytest.raises(E, match=r"axis 2 is out of range \[Op:Roll\]"):
        tf.roll(x32(), [1], [2])
    with pytest.raises(E, match=r"shift and axis must have the same size \[Op:Roll\]"):
        tf.roll(x32(), [1, 2], [0])
    with pytest.raises(ValueError, match="Dimensions 3 and 2 are not compatible"):
        tf.repeat(x32(), [1, 2], axis=0)


def test_meshgrid_sequence_mask_as_tf():
    a, b = tf.meshgrid([1, 2, 3], [4, 5])
    assert a.numpy().tolist() == [[1, 2, 3], [1, 2, 3]] and b.numpy().tolist() == [[4, 4, 4], [5, 5, 5]]
    a, b = tf.meshgrid([1, 2, 3], [4, 5], indexing="ij")
    assert a.shape == (3, 2) and b.numpy().tolist() == [[4, 5], [4, 5], [4, 5]]
    assert tf.sequence_mask([1, 3], 4).numpy().tolist() == [[True, False, False, False], [True, True, True, False]]
    r = tf.sequence_mask([[1, 3], [0, 2]])
    assert r.shape == (2, 2, 3) and r.numpy()[1].tolist() == [[False] * 3, [True, True, False]]
    r = tf.sequence_mask([1, 3], dtype=tf.float32)
    assert r.dtype == tf.float32 and r.numpy().tolist() == [[1, 0, 0], [1, 1, 1]]


def test_slice_and_strided_slice_as_tf():
    assert tf.slice(x32(), [1, 0], [2, -1]).numpy().tolist() == [[4, 5, 6, 7], [8, 9, 10, 11]]
    assert tf.strided_slice(x32(), [0, 3], [3, 0], [2, -1]).numpy().tolist() == [[3, 2, 1], [11, 10, 9]]
    assert tf.strided_slice(x32(), [0, 1], [1, 3], begin_mask=1, end_mask=2,
                            shrink_axis_mask=1).numpy().tolist() == [1, 2, 3]
    assert tf.strided_slice(x32(), [0, 0, 1], [1, 0, 3], new_axis_mask=2).numpy().tolist() == [[[1, 2]]]
    assert tf.strided_slice(x32(), [0, 1], [0, 3], ellipsis_mask=1).numpy().tolist() == [[1, 2], [5, 6], [9, 10]]
    g = grad(lambda t: tf.strided_slice(t, [0, 3], [3, 0], [2, -1]), X)[0]
    assert g.sum() == 6 and g[0, 0] == 0 and g[2, 3] == 1
    with pytest.raises(E, match=r"Expected size\[0\] in \[0, 2\], but got 3 \[Op:Slice\]"):
        tf.slice(x32(), [1, 0], [3, -1])
    with pytest.raises(E, match=r"Expected begin\[0\] in \[0, 3\], but got -1 \[Op:Slice\]"):
        tf.slice(x32(), [-1, 0], [1, 1])
    with pytest.raises(E, match=r"strides\[0\] must be non-zero \[Op:StridedSlice\]"):
        tf.strided_slice(x32(), [0], [1], [0])
    with pytest.raises(E, match=r"slice index 5 of dimension 0 out of bounds. \[Op:StridedSlice\]"):
        tf.strided_slice(x32(), [5], [6], shrink_axis_mask=1)


def test_unstack_split_num_as_tf():
    assert len(tf.unstack(x32(), num=3)) == 3
    with pytest.raises(E, match=r"Input shape axis 0 must equal 2, got shape \[3,4\] \[Op:Unpack\]"):
        tf.unstack(x32(), num=2)
    a, b = tf.split(x32(), [1, 3], axis=1, num=2)
    assert a.shape == (3, 1) and b.shape == (3, 3)


def test_shapes_identity_ensure_as_tf():
    assert [s.numpy().tolist() for s in tf.shape_n([x32(), tf.zeros([2])])] == [[3, 4], [2]]
    a, b = tf.identity_n([x32(), 1])
    assert a.numpy().tolist() == X.tolist() and int(b) == 1
    assert tf.broadcast_static_shape(tf.TensorShape([3, 1]), tf.TensorShape([4])) == tf.TensorShape([3, 4])
    with pytest.raises(ValueError, match=r"Incompatible shapes for broadcasting.*Received: \(3, 1\) and \(2, 4\)."):
        tf.broadcast_static_shape(tf.TensorShape([3, 1]), tf.TensorShape([2, 4]))
    r = tf.broadcast_dynamic_shape([3, 1], [4])
    assert r.numpy().tolist() == [3, 4] and r.dtype == tf.int32
    with pytest.raises(E, match=r"Incompatible shapes: \[3,2\] vs. \[4\]"):
        tf.broadcast_dynamic_shape([3, 2], [4])
    assert tf.ensure_shape(x32(), [3, None]).shape == (3, 4)
    with pytest.raises(E, match=r"Shape of tensor input \[3,4\] is not compatible with expected shape \[3,5\]."):
        tf.ensure_shape(x32(), [3, 5])
    with pytest.raises(E, match=r"is not compatible with expected shape \[3\]."):
        tf.ensure_shape(x32(), [3])


def test_reverse_sequence_as_tf():
    r = tf.reverse_sequence(x32(), [4, 2, 1], seq_axis=1, batch_axis=0)
    assert r.numpy().tolist() == [[3, 2, 1, 0], [5, 4, 6, 7], [8, 9, 10, 11]]
    r = tf.reverse_sequence(tf.transpose(x32()), [3, 0, 2], seq_axis=0, batch_axis=1)
    assert r.numpy().T.tolist() == [[2, 1, 0, 3], [4, 5, 6, 7], [9, 8, 10, 11]]
    with pytest.raises(E, match=r"seq_lens\(1\) > input.dims\(1\) \[Op:ReverseSequence\]"):
        tf.reverse_sequence(x32(), [4, 5, 1], seq_axis=1, batch_axis=0)
    with pytest.raises(E, match=r"Length of seq_lengths != input.dims\(0\), \(2 vs. 3\)"):
        tf.reverse_sequence(x32(), [4, 2], seq_axis=1, batch_axis=0)
    with pytest.raises(E, match=r"seq_lens\(1\) < 0"):
        tf.reverse_sequence(x32(), [4, -1, 1], seq_axis=1, batch_axis=0)


def test_space_batch_blocks_as_tf():
    x = tf.reshape(tf.range(16.0), [1, 4, 4, 1])
    s = tf.space_to_batch_nd(x, [2, 2], [[0, 0], [0, 0]])
    assert s.shape == (4, 2, 2, 1)
    assert s.numpy()[:, :, :, 0].tolist() == [[[0, 2], [8, 10]], [[1, 3], [9, 11]], [[4, 6], [12, 14]],
                                              [[5, 7], [13, 15]]]
    assert tf.space_to_batch(x, [2, 2], [[0, 0], [0, 0]]).numpy().tolist() == s.numpy().tolist()
    back = tf.batch_to_space(s, [2, 2], [[0, 0], [0, 0]])
    assert back.numpy().tolist() == x.numpy().tolist()
    b = tf.batch_to_space(tf.reshape(tf.range(16.0), [4, 2, 2, 1]), [2, 2], [[0, 0], [0, 0]])
    assert b.numpy()[0, :, :, 0].tolist() == [[0, 4, 1, 5], [8, 12, 9, 13], [2, 6, 3, 7], [10, 14, 11, 15]]
    p = tf.space_to_batch_nd(tf.reshape(tf.range(6.0), [1, 3, 2, 1]), [2, 1], [[1, 0], [0, 0]])
    assert p.numpy()[:, :, :, 0].tolist() == [[[0, 0], [2, 3]], [[0, 1], [4, 5]]]
    with pytest.raises(E, match=r"padded_shape\[0\]=4 is not divisible by block_shape\[0\]=3"):
        tf.space_to_batch_nd(x, [3, 2], [[0, 0], [0, 0]])


def test_dynamic_partition_stitch_as_tf():
    a, b = tf.dynamic_partition(x32(), [0, 1, 0], 2)
    assert a.numpy().tolist() == [[0, 1, 2, 3], [8, 9, 10, 11]] and b.numpy().tolist() == [[4, 5, 6, 7]]
    with pytest.raises(E, match=r"partitions\[1\] = 2 is not in \[0, 2\)"):
        tf.dynamic_partition(x32(), [0, 2, 0], 2)
    assert tf.dynamic_stitch([[0, 2], [1]], [[1.0, 2.0], [3.0]]).numpy().tolist() == [1.0, 3.0, 2.0]
    assert tf.dynamic_stitch([[0, 1], [1]], [[1.0, 2.0], [3.0]]).numpy().tolist() == [1.0, 3.0]
    d0, d1 = tf.constant([1.0, 2.0], tf.float64), tf.constant([3.0], tf.float64)
    with tf.GradientTape() as tape:
        tape.watch([d0, d1])
        y = tf.dynamic_stitch([[0, 1], [1]], [d0, d1]) * tf.constant([10.0, 100.0], tf.float64)
    g0, g1 = tape.gradient(y, [d0, d1])
    # TF: every data element gets the gradient at its index, overwritten or not
    assert g0.numpy().tolist() == [10.0, 100.0] and g1.numpy().tolist() == [100.0]
    with pytest.raises(E, match=r"out of range \[Op:DynamicStitch\]"):
        tf.dynamic_stitch([[0, -1], [1]], [[1.0, 2.0], [3.0]])


def test_unravel_index_invert_permutation_as_tf():
    r = tf.unravel_index([5, 7], [3, 4])
    assert r.numpy().tolist() == [[1, 1], [1, 3]] and r.dtype == tf.int32
    assert tf.unravel_index(-1, [3, 4]).numpy().tolist() == [0, -1]
    with pytest.raises(E, match=r"index is out of bound as with dims \[Op:UnravelIndex\]"):
        tf.unravel_index([12], [3, 4])
    with pytest.raises(E, match=r"Input dims cannot contain a dim of zero, but dims contains zero at index 1"):
        tf.unravel_index(1, [3, 0])
    r = tf.math.invert_permutation([2, 0, 1])
    assert r.numpy().tolist() == [1, 2, 0] and r.dtype == tf.int32
    with pytest.raises(E, match=r"0 is duplicated in the input. \[Op:InvertPermutation\]"):
        tf.math.invert_permutation([2, 0, 0])
    with pytest.raises(E, match=r"3 is not between 0 and 3 \[Op:InvertPermutation\]"):
        tf.math.invert_permutation([3, 0, 1])
    with pytest.raises(E, match=r"invert_permutation expects a 1D vector. \[Op:InvertPermutation\]"):
        tf.math.invert_permutation([[0]])


def test_array_ops_replay_in_function():
    """Composed array ops inside fastgrad.function: value and gradient as eager."""
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.einsum("ij,kj->ik", tf.pad(x, [[1, 0], [0, 0]], "REFLECT"), x)
            y = tf.reduce_sum(tf.roll(y, 1, 0) * tf.reverse(y, [1])) + tf.reduce_sum(
                tf.gather(x, [[1, 0], [2, 2], [0, 1]], batch_dims=1) ** 2)
        return y, tape.gradient(y, x)

    traced = tf.function(step)
    traced(tf.constant(np.ones((3, 4))))
    x = tf.constant(np.random.default_rng(2).standard_normal((3, 4)))
    (a, ga), (b, gb) = traced(x), step(x)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(ga.numpy(), gb.numpy())
