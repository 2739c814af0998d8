"""tf.random against TensorFlow itself: the same Philox bits for the same
seeds and generator states (skipped without TF; see tests/_tfdiff.py)."""
import numpy as np
import pytest

import fastgrad as fg
from tests._tfdiff import real_tf

SHAPES = [[], [1], [7], [3, 5], [1031]]
SEEDS = [[1, 2], [0, 0], [-7, 123456789], [2 ** 31 - 1, -2 ** 31]]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", ["uniform", "normal", "truncated_normal", "int32", "int64", "full"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_stateless_bits_as_tf(kind, shape, seed, dtype):
    tf = real_tf()

    def run(lib):
        if kind == "uniform":
            return lib.random.stateless_uniform(shape, seed, minval=-1.5, maxval=2.0, dtype=dtype)
        if kind == "normal":
            return lib.random.stateless_normal(shape, seed, mean=0.5, stddev=2.0, dtype=dtype)
        if kind == "truncated_normal":
            return lib.random.stateless_truncated_normal(shape, seed, dtype=dtype)
        if kind == "full":
            return lib.random.stateless_uniform(shape, seed, minval=None, maxval=None,
                                                dtype="int32" if dtype == "float32" else "int64")
        return lib.random.stateless_uniform(shape, seed, minval=-1000, maxval=77777, dtype=kind)

    want, got = run(tf).numpy(), run(fg).numpy()
    assert got.dtype == want.dtype and got.shape == want.shape
    assert got.tobytes() == want.tobytes()


def test_split_fold_in_and_generator_as_tf():
    tf = real_tf()
    for seed in SEEDS:
        assert np.array_equal(fg.random.split(seed, 4).numpy(), tf.random.split(seed, 4).numpy())
        assert np.array_equal(fg.random.fold_in(seed, 9).numpy(), tf.random.fold_in(seed, 9).numpy())
    for s in (0, 1, 2 ** 64 + 3, -5):
        a, b = fg.random.Generator.from_seed(s), tf.random.Generator.from_seed(s)
        for _ in range(2):
            assert a.normal([9]).numpy().tobytes() == b.normal([9]).numpy().tobytes()
            assert a.truncated_normal([5], dtype="float64").numpy().tobytes() == \
                b.truncated_normal([5], dtype="float64").numpy().tobytes()
            assert np.array_equal(a.uniform([6], 3, 40, dtype="int64").numpy(),
                                  b.uniform([6], 3, 40, dtype="int64").numpy())
            assert np.array_equal(a.make_seeds(3).numpy(), b.make_seeds(3).numpy())
            assert np.array_equal(a.state.numpy(), b.state.numpy())


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_stateless_categorical_as_tf(seed, dtype):
    tf = real_tf()
    logits = np.linspace(-3, 3, 70).reshape(7, 10).astype(dtype)
    logits[2, 3] = -np.inf
    for ns in (1, 4, 33):
        want = tf.random.stateless_categorical(logits, ns, seed=seed).numpy()
        got = fg.random.stateless_categorical(logits, ns, seed=seed).numpy()
        assert np.array_equal(got, want)
