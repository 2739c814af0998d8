"""tf.random on Philox-4x32-10 (csrc/fg_random.c).

The expected bits below were printed by TensorFlow 2.21 (CPU) for the same
calls; tests/test_tfdiff_random.py compares with TF itself when installed.
"""
import numpy as np
import pytest

import fastgrad as tf
from _fgutil import fastgrad_only

pytestmark = pytest.mark.skipif(
    not hasattr(tf.random, "stateless_uniform"), reason="fastgrad's tf.random")


def _np(t):
    return np.asarray(t.numpy())


# ------------------------------------------------------------ TF's bits

def test_stateless_float_draws_are_tfs_bits():
    assert tf.random.stateless_uniform([5], seed=[1, 2]).numpy().tolist() == [
        0.8440604209899902, 0.19204533100128174, 0.9962232112884521, 0.16038739681243896,
        0.27199018001556396]
    assert tf.random.stateless_uniform([3], seed=[1, 2], dtype=tf.float64).numpy().tolist() == [
        0.7524837538451801, 0.9697857725627486, 0.17592233912897481]
    assert tf.random.stateless_normal([5], seed=[1, 2]).numpy().tolist() == [
        0.544110119342804, 0.20738030970096588, 0.0735643208026886, 0.04643455147743225,
        -1.301589846611023]
    assert tf.random.stateless_normal([3], seed=[1, 2], dtype=tf.float64).numpy().tolist() == [
        -0.1423118100189212, 0.7406072461585091, -1.469047669443883]
    # the 5th value comes from the second group, 256 counters on
    assert tf.random.stateless_truncated_normal([6], seed=[1, 2]).numpy().tolist() == [
        0.544110119342804, 0.20738030970096588, 0.0735643208026886, 0.04643455147743225,
        0.16820591688156128, -1.6850333213806152]
    assert tf.random.stateless_truncated_normal([5], seed=[1, 2], dtype=tf.float64).numpy().tolist() == [
        -0.1423118100189212, 0.7406072461585091, -0.552387756244845, -0.734450092480207,
        -0.39842023956588357]


def test_stateless_int_draws_split_and_fold_in_are_tfs_bits():
    got = tf.random.stateless_uniform([6], seed=[1, 2], minval=0, maxval=10, dtype=tf.int32)
    assert got.dtype == tf.int32 and got.numpy().tolist() == [0, 9, 4, 9, 7, 5]
    got = tf.random.stateless_uniform([3], seed=[1, 2], minval=-5, maxval=10 ** 12, dtype=tf.int64)
    assert got.numpy().tolist() == [146243290039, 637750006048, 318077103687]
    got = tf.random.stateless_uniform([3], seed=[1, 2], minval=None, maxval=None, dtype=tf.int64)
    assert got.numpy().tolist() == [7464880146280614444, 1591045637757961278, -1057468755545501549]
    assert tf.random.split([1, 2], 3).numpy().tolist() == [
        [1105988140, 1738052849], [-335576002, 370444179], [10670227, -246211131]]
    assert tf.random.experimental.stateless_fold_in([1, 2], 3).numpy().tolist() == [1105988140, 3]
    assert tf.random.experimental.stateless_split([1, 2], 1).dtype == tf.int32


def test_generator_draws_and_state_are_tfs():
    g = tf.random.Generator.from_seed(1)
    assert g.state.numpy().tolist() == [1, 0, 0]
    assert g.normal([5]).numpy().tolist() == [
        0.4384227395057678, -0.5343984365463257, -0.07710261642932892, 1.5658046007156372,
        -0.10123450309038162]
    assert g.state.numpy().tolist() == [1281, 0, 0]  # 256 counters per element
    assert g.uniform([3]).numpy().tolist() == [0.8704671859741211, 0.242792010307312, 0.6118762493133545]
    assert g.uniform([3], dtype=tf.float64).numpy().tolist() == [
        0.6175796784138412, 0.31551359382642463, 0.20707454526498315]
    assert g.truncated_normal([3]).numpy().tolist() == [
        -1.0439486503601074, -0.2353706657886505, 0.5547064542770386]
    assert g.uniform([3], minval=0, maxval=10, dtype=tf.int32).numpy().tolist() == [9, 7, 1]
    assert g.make_seeds(2).numpy().tolist() == [[-3206527474837102847, -822974215341821412], [0, 0]]
    assert [s.state.numpy().tolist() for s in g.split(2)] == [
        [0, 0, -7204024886673235746], [0, 0, -4472212563072582704]]
    assert g.state.numpy().tolist() == [5377, 0, 0]
    assert tf.random.Generator.from_seed(-3).state.numpy().tolist() == [-3, -1, -1]
    assert tf.random.Generator.from_seed(2 ** 70 + 5).state.numpy().tolist() == [5, 64, 0]


# -------------------------------------------------- determinism, threads

@fastgrad_only
def test_results_do_not_depend_on_the_thread_count():
    n0 = tf.get_num_threads()
    try:
        outs = []
        for n in (1, 2, 4):
            tf.set_num_threads(n)
            outs.append([_np(tf.random.stateless_normal([100003], seed=[7, 8])),
                         _np(tf.random.stateless_truncated_normal([50001], seed=[7, 8], dtype=tf.float64)),
                         _np(tf.random.stateless_uniform([70001], seed=[7, 8], minval=3, maxval=99,
                                                         dtype=tf.int64))])
        for o in outs[1:]:
            for a, b in zip(outs[0], o):
                assert a.tobytes() == b.tobytes()
    finally:
        tf.set_num_threads(n0)


def test_a_prefix_is_the_shorter_draw():
    # each element's counter is its index: a longer draw extends a shorter
    long = _np(tf.random.stateless_uniform([1000], seed=[5, 6]))
    assert long[:333].tobytes() == _np(tf.random.stateless_uniform([333], seed=[5, 6])).tobytes()
    assert not np.array_equal(long[:333], _np(tf.random.stateless_uniform([333], seed=[6, 5])))


def test_shapes_dtypes_and_seed_dtypes():
    x = tf.random.stateless_normal([2, 0, 3], seed=[1, 2])
    assert x.shape == (2, 0, 3) and x.dtype == tf.float32
    a = tf.random.stateless_uniform([4], seed=tf.constant([1, 2], tf.int64))
    b = tf.random.stateless_uniform([4], seed=tf.constant([1, 2], tf.int32))
    assert _np(a).tolist() == _np(b).tolist()
    assert tf.random.split(tf.constant([1, 2], tf.int64)).dtype == tf.int64
    with pytest.raises(ValueError):
        tf.random.stateless_uniform([2], seed=[1, 2], maxval=5, minval=None, dtype=tf.int32)
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.random.stateless_uniform([2], seed=[1, 2, 3])
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.random.stateless_uniform([2], seed=[1, 2], minval=5, maxval=5, dtype=tf.int32)


# ------------------------------------------------------ distributions

def test_moments_and_ranges():
    u = _np(tf.random.stateless_uniform([200000], seed=[1, 1], minval=-2.0, maxval=3.0))
    assert u.min() >= -2.0 and u.max() < 3.0
    assert abs(u.mean() - 0.5) < 0.02 and abs(u.var() - 25 / 12) < 0.03
    n = _np(tf.random.stateless_normal([200000], seed=[2, 2], mean=1.0, stddev=3.0, dtype=tf.float64))
    assert abs(n.mean() - 1.0) < 0.03 and abs(n.std() - 3.0) < 0.03
    t = _np(tf.random.stateless_truncated_normal([200000], seed=[3, 3]))
    assert np.abs(t).max() < 2.0
    assert abs(t.mean()) < 0.01 and abs(t.var() - 0.7737) < 0.01  # variance of N(0,1) cut at 2
    i = _np(tf.random.stateless_uniform([100000], seed=[4, 4], minval=-3, maxval=4, dtype=tf.int32))
    assert i.min() == -3 and i.max() == 3
    assert np.all(np.abs(np.bincount(i + 3) / 1e5 - 1 / 7) < 0.01)


def test_categorical_follows_softmax():
    logits = tf.constant([[0.0, np.log(3.0)], [np.log(4.0), 0.0]])
    s = _np(tf.random.stateless_categorical(logits, 20000, seed=[1, 9]))
    assert s.shape == (2, 20000) and s.dtype == np.int64
    assert abs(s[0].mean() - 0.75) < 0.02 and abs(s[1].mean() - 0.2) < 0.02
    again = _np(tf.random.stateless_categorical(logits, 20000, seed=[1, 9]))
    assert np.array_equal(s, again)


def test_stateless_categorical_is_tfs_bits():
    logits = [[0.0, 1.0, 2.0], [np.log(4.0), 0.0, -np.inf]]  # -inf never drawn
    assert tf.random.stateless_categorical(logits, 7, seed=[1, 2]).numpy().tolist() == [
        [2, 2, 1, 2, 2, 2, 2], [0, 1, 1, 0, 0, 0, 0]]
    got = tf.random.stateless_categorical(tf.constant(logits, tf.float64), 5, seed=[3, 4], dtype=tf.int32)
    assert got.dtype == tf.int32 and got.numpy().tolist() == [[2, 2, 1, 2, 2], [0, 0, 0, 0, 0]]
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.random.stateless_categorical([1.0, 2.0], 3, seed=[1, 2])


def test_op_level_draws_follow_set_seed():
    tf.random.set_seed(11)
    a = [_np(tf.random.normal([3])), _np(tf.random.uniform([2])), _np(tf.random.shuffle(tf.range(5)))]
    tf.random.set_seed(11)
    b = [_np(tf.random.normal([3])), _np(tf.random.uniform([2])), _np(tf.random.shuffle(tf.range(5)))]
    for x, y in zip(a, b):
        assert np.array_equal(x, y)
    assert sorted(b[2].tolist()) == [0, 1, 2, 3, 4]
    assert not np.array_equal(a[0], _np(tf.random.normal([3])))


# --------------------------------------------------- generator in functions

def test_generator_draws_replay_new_numbers_in_a_function():
    g = tf.random.Generator.from_seed(42)
    ref = tf.random.Generator.from_seed(42)

    @tf.function
    def f(x):
        return x + g.normal([4]), g.uniform([2], minval=0, maxval=100, dtype=tf.int64)

    outs = [f(tf.zeros([4])) for _ in range(3)]
    assert f.experimental_get_tracing_count() == 1
    for n, u in outs:  # each call continues the stream, as eagerly
        assert _np(n).tolist() == _np(ref.normal([4])).tolist()
        assert _np(u).tolist() == _np(ref.uniform([2], minval=0, maxval=100, dtype=tf.int64)).tolist()
    assert g.state.numpy().tolist() == ref.state.numpy().tolist() == [42 + 3 * 6 * 256, 0, 0]


def test_global_generator_and_reset():
    g = tf.random.Generator.from_seed(3)
    tf.random.set_global_generator(g)
    assert tf.random.get_global_generator() is g
    a = _np(g.normal([3]))
    g.reset_from_seed(3)
    assert np.array_equal(a, _np(tf.random.get_global_generator().normal([3])))
    c = tf.random.Generator(copy_from=g)
    assert np.array_equal(_np(c.uniform([4])), _np(g.uniform([4])))
    s = tf.random.Generator.from_non_deterministic_state()
    assert not np.array_equal(_np(s.normal([8])), _np(tf.random.Generator.from_non_deterministic_state().normal([8])))


def test_stateless_dropout_has_tfs_bits():
    # TF 2.21 prints exactly these (its stateless uniform, then x * 1/(1-rate) * mask)
    import fastgrad as tf
    x = tf.constant(np.arange(1, 9, dtype=np.float32) * 0.37)
    got = tf.nn.experimental.stateless_dropout(x, 0.3, seed=[1, 2]).numpy().tolist()
    assert got == [0.5285714268684387, 0.0, 1.585714340209961, 0.0, 0.0, 3.171428680419922, 0.0, 0.0]
    got = tf.nn.experimental.stateless_dropout(tf.reshape(x, [2, 4]), 0.5, seed=[7, 3], noise_shape=[2, 1])
    assert got.numpy().tolist() == [[0.7400000095367432, 1.4800000190734863, 2.2200000286102295,
                                     2.9600000381469727], [0.0, 0.0, 0.0, 0.0]]
