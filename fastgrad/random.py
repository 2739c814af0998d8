"""Random tensors (``tf.random``), drawn with TensorFlow's Philox-4x32-10.

The draws run in C (csrc/fg_random.c) from a counter-based generator: the
stateless ops (``stateless_uniform``, ``stateless_normal``, ...) give
TensorFlow's numbers bit for bit for the same seed, and a
``tf.random.Generator`` keeps its state in a Variable that a
``fastgrad.function`` reads and advances, so a traced function draws new
numbers on every call without retracing. ``set_seed`` makes the sequence
of ``tf.random.normal``/``uniform``/... draws reproducible.

>>> import fastgrad as tf
>>> tf.random.stateless_uniform([2], seed=[1, 2]).numpy().tolist()
[0.8440604209899902, 0.19204533100128174]
>>> tf.random.set_seed(0)
>>> a = tf.random.normal((2,))
>>> tf.random.set_seed(0)
>>> bool(tf.reduce_all(a == tf.random.normal((2,))))
True
"""
import os

import numpy as np

from fastgrad import _core
from fastgrad.dtypes import as_dtype, float32, int32, int64

__all__ = ["set_seed", "normal", "uniform", "truncated_normal", "shuffle", "categorical",
           "stateless_uniform", "stateless_normal", "stateless_truncated_normal",
           "stateless_categorical", "split", "fold_in", "Generator", "get_global_generator",
           "set_global_generator", "create_rng_state", "Algorithm"]

_OPS = _core.OPS
# distributions of the random_philox op (fg_random.c)
_UNIFORM, _NORMAL, _TRUNCATED, _FULL_INT = 0, 1, 2, 3
# TF's stateful generators reserve 256 Philox counters per element drawn
_SKIP_PER_ELEMENT = 256
_STATE_SIZE = 3

_rng = np.random.default_rng()


class Algorithm:
    """The RNG algorithms (only Philox is implemented)."""
    PHILOX = 1
    THREEFRY = 2
    AUTO_SELECT = 3


def _gen(seed):
    # host-side seeds for tf.data's shuffles (not tensor values)
    _core._trace_unsupported("random ops")
    return _rng if seed is None else np.random.default_rng(seed)


def _shape(shape):
    if isinstance(shape, _core._TensorBase):
        shape = shape.numpy()
    return tuple(int(s) for s in np.ravel(shape)) if not isinstance(shape, int) else (shape,)


def _check_alg(alg):
    if alg is None or alg in ("philox", "auto_select", Algorithm.PHILOX, Algorithm.AUTO_SELECT):
        return
    if isinstance(alg, str) and alg.lower() in ("philox", "auto_select"):
        return
    raise NotImplementedError("fastgrad implements only the Philox RNG algorithm, not %r" % (alg,))


def _philox(state, dist, shape, dtype):
    shape = _shape(shape)
    return _core.apply(_OPS["random_philox"], [state], [dist, dtype._enum, len(shape), *shape])


def _uniform_int(state, shape, minval, maxval, dtype):
    shape = _shape(shape)
    lo = _core.convert_to_tensor(minval, dtype)
    hi = _core.convert_to_tensor(maxval, dtype)
    return _core.apply(_OPS["random_uniform_int"], [state, lo, hi], [len(shape), *shape])


def _key_counter(seed):
    seed = _core.convert_to_tensor(seed)
    if seed.dtype not in (int32, int64):
        seed = _core.convert_to_tensor(seed, int64) if seed.dtype.is_integer else seed
    return _core.apply(_OPS["random_key_counter"], [seed], [])


def _scale(rnd, a, b, dtype, uniform):
    """TF's rnd * (maxval - minval) + minval, or rnd * stddev + mean."""
    a = _core.convert_to_tensor(a, dtype)
    b = _core.convert_to_tensor(b, dtype)
    return rnd * (b - a) + a if uniform else rnd * b + a


def _uniform_from(state, shape, minval, maxval, dtype, full_int_ok):
    dt = as_dtype(dtype)
    if dt.is_integer:
        if dt not in (int32, int64):
            raise ValueError("dtype %s is not supported; use int32 or int64" % dt.name)
        if full_int_ok and minval is None and maxval is None:
            return _philox(state, _FULL_INT, shape, dt)
        if (minval is None) != (maxval is None) or maxval is None:
            raise ValueError("For integer dtype {}, minval and maxval must be both `None` or both "
                             "non-`None`; got minval={} and maxval={}".format(dt, minval, maxval))
        return _uniform_int(state, shape, minval, maxval, dt)
    if not dt.is_floating:
        raise ValueError("dtype %s is not supported" % dt.name)
    if minval is None:
        minval = 0
    if maxval is None:
        maxval = 1
    return _scale(_philox(state, _UNIFORM, shape, dt), minval, maxval, dt, True)


# ------------------------------------------------------------ stateless


def stateless_uniform(shape, seed, minval=0, maxval=None, dtype=float32, name=None, alg="auto_select"):
    """Uniform draws in [minval, maxval), a pure function of ``seed`` (shape [2]).

    Integer dtypes need both bounds (uniform ints) or neither (all bits).

    >>> import fastgrad as tf
    >>> tf.random.stateless_uniform([3], seed=[1, 2], minval=0, maxval=10, dtype=tf.int32).numpy().tolist()
    [0, 9, 4]
    """
    _check_alg(alg)
    return _uniform_from(_key_counter(seed), shape, minval, maxval, dtype, True)


def stateless_normal(shape, seed, mean=0.0, stddev=1.0, dtype=float32, name=None, alg="auto_select"):
    """Normal draws (Box-Muller on Philox bits), a pure function of ``seed``.

    >>> import fastgrad as tf
    >>> round(float(tf.random.stateless_normal([1], seed=[1, 2])[0]), 4)
    0.5441
    """
    _check_alg(alg)
    dt = as_dtype(dtype)
    return _scale(_philox(_key_counter(seed), _NORMAL, shape, dt), mean, stddev, dt, False)


def stateless_truncated_normal(shape, seed, mean=0.0, stddev=1.0, dtype=float32, name=None,
                               alg="auto_select"):
    """Normal draws resampled until within two standard deviations.

    >>> import fastgrad as tf
    >>> bool(tf.reduce_all(tf.abs(tf.random.stateless_truncated_normal([100], seed=[3, 4])) < 2))
    True
    """
    _check_alg(alg)
    dt = as_dtype(dtype)
    return _scale(_philox(_key_counter(seed), _TRUNCATED, shape, dt), mean, stddev, dt, False)


def split(seed, num=2, alg="auto_select"):
    """``num`` new seeds from ``seed``: shape [num, 2], the dtype of ``seed``.

    >>> import fastgrad as tf
    >>> tf.random.split([1, 2], num=2).numpy().tolist()
    [[1105988140, 1738052849], [-335576002, 370444179]]
    """
    seed = _core.convert_to_tensor(seed)
    return stateless_uniform([int(num), 2], seed, minval=None, maxval=None, dtype=seed.dtype, alg=alg)


def fold_in(seed, data, alg="auto_select"):
    """A new seed from ``seed`` and an integer ``data`` (e.g. a replica id).

    >>> import fastgrad as tf
    >>> tf.random.fold_in([1, 2], 3).numpy().tolist()
    [1105988140, 3]
    """
    from fastgrad.array_ops import stack
    data = _core.convert_to_tensor(data)
    seed1 = stateless_uniform([], seed, minval=None, maxval=None, dtype=data.dtype, alg=alg)
    return stack([seed1, data])


def _categorical_from(state, logits, num_samples, dtype):
    logits = _core.convert_to_tensor(logits)
    dt = as_dtype(dtype or int64)
    return _core.apply(_OPS["random_categorical"], [state, logits], [int(num_samples), dt._enum])


def stateless_categorical(logits, num_samples, seed, dtype=int64, name=None):
    """``num_samples`` class indices per row of ``logits`` ([batch, classes]).

    TF's numbers (its CPU sampler: inverse CDF of one Philox stream read
    row after row).

    >>> import fastgrad as tf
    >>> tf.random.stateless_categorical([[0.0, -1e9]], 3, seed=[1, 2]).numpy().tolist()
    [[0, 0, 0]]
    """
    return _categorical_from(_key_counter(seed), logits, num_samples, dtype)


# ---------------------------------------------------------------- Generator


def _make_1d_state(seed):
    """TF's _make_1d_state: a Python int chopped into 64-bit words, an array
    truncated or zero-padded to the state size."""
    if isinstance(seed, (int, np.integer)):
        seed, words = int(seed), []
        for _ in range(_STATE_SIZE):
            w = seed & 0xFFFFFFFFFFFFFFFF
            words.append(w - (1 << 64) if w >= 1 << 63 else w)
            seed >>= 64
        return np.asarray(words, dtype=np.int64)
    seed = np.asarray(seed.numpy() if isinstance(seed, _core._TensorBase) else seed, dtype=np.int64)
    if seed.ndim != 1:
        raise ValueError("seed should only have one dimension; got shape: %s" % (seed.shape,))
    seed = seed[:_STATE_SIZE]
    return np.pad(seed, [(0, _STATE_SIZE - seed.shape[0])])


def create_rng_state(seed, alg):
    """The int64 state [counter_lo, counter_hi, key] a seed gives (TF's layout).

    >>> import fastgrad as tf
    >>> tf.random.create_rng_state(1, "philox").tolist()
    [1, 0, 0]
    """
    _check_alg(alg)
    return _make_1d_state(seed)


class Generator:
    """A Philox random generator whose state is a Variable (TF's layout).

    Each draw reads the state and advances its counter by 256 per element,
    as TensorFlow's stateful ops do, so the numbers equal TF's for the same
    state, and a ``fastgrad.function`` replays fresh draws on every call.

    >>> import fastgrad as tf
    >>> g = tf.random.Generator.from_seed(1)
    >>> round(float(g.normal([1])[0]), 4), g.state.numpy().tolist()
    (0.4384, [257, 0, 0])
    """

    def __init__(self, copy_from=None, state=None, alg=None):
        from fastgrad import Variable
        _check_alg(alg)
        if copy_from is not None:
            state = copy_from.state.numpy()
        elif state is None:
            raise ValueError("When `copy_from` is None, `state` must not be None")
        state = _make_1d_state(state)
        self._state_var = Variable(state, trainable=False, dtype=int64)

    @classmethod
    def from_seed(cls, seed, alg=None):
        """A generator whose state comes from an integer seed."""
        return cls(state=create_rng_state(seed, alg), alg=alg)

    @classmethod
    def from_state(cls, state, alg):
        """A generator with the given [counter_lo, counter_hi, key] state."""
        return cls(state=state, alg=alg)

    @classmethod
    def from_key_counter(cls, key, counter, alg):
        """A generator with Philox ``counter`` (2 words) and ``key`` (1 word)."""
        c = np.ravel(np.asarray(counter, dtype=np.int64))
        k = np.ravel(np.asarray(key, dtype=np.int64))
        return cls(state=np.concatenate([c, k]), alg=alg)

    @classmethod
    def from_non_deterministic_state(cls, alg=None):
        """A generator seeded from the operating system's entropy."""
        return cls(state=np.frombuffer(os.urandom(8 * _STATE_SIZE), dtype=np.int64).copy(), alg=alg)

    @property
    def state(self):
        """The state Variable, int64 [counter_lo, counter_hi, key]."""
        return self._state_var

    @property
    def algorithm(self):
        return Algorithm.PHILOX

    @property
    def key(self):
        return self._state_var[-1]

    def reset(self, state):
        """Sets the state."""
        self._state_var.assign(_make_1d_state(state))

    def reset_from_seed(self, seed):
        """Sets the state from a seed, as ``from_seed``."""
        self.reset(create_rng_state(seed, None))

    def reset_from_key_counter(self, key, counter):
        c = np.ravel(np.asarray(counter, dtype=np.int64))
        self.reset(np.concatenate([c, np.ravel(np.asarray(key, dtype=np.int64))]))

    def skip(self, delta):
        """Advances the counter by ``delta`` (in Philox calls)."""
        self._advance(int(delta))

    def _advance(self, delta):
        self._state_var.assign(_core.apply(_OPS["random_skip"], [self._state_var], [delta]))

    def _draw(self, make, shape):
        n = int(np.prod(_shape(shape), dtype=np.int64))
        out = make(self._state_var)
        self._advance(n * _SKIP_PER_ELEMENT)
        return out

    def normal(self, shape, mean=0.0, stddev=1.0, dtype=float32, name=None):
        """Normal draws."""
        dt = as_dtype(dtype)
        rnd = self._draw(lambda s: _philox(s, _NORMAL, shape, dt), shape)
        return _scale(rnd, mean, stddev, dt, False)

    def truncated_normal(self, shape, mean=0.0, stddev=1.0, dtype=float32, name=None):
        """Normal draws within two standard deviations."""
        dt = as_dtype(dtype)
        rnd = self._draw(lambda s: _philox(s, _TRUNCATED, shape, dt), shape)
        return _scale(rnd, mean, stddev, dt, False)

    def uniform(self, shape, minval=0, maxval=None, dtype=float32, name=None):
        """Uniform draws in [minval, maxval); integer dtypes need maxval
        (or both bounds None for all bits)."""
        dt = as_dtype(dtype)
        if dt.is_integer and minval is None and maxval is None:
            return self.uniform_full_int(shape, dt)
        return self._draw(lambda s: _uniform_from(s, shape, minval, maxval, dt, False), shape)

    def uniform_full_int(self, shape, dtype=int64, name=None):
        """Integers over the dtype's whole range."""
        dt = as_dtype(dtype)
        return self._draw(lambda s: _philox(s, _FULL_INT, shape, dt), shape)

    def make_seeds(self, count=1):
        """``count`` seeds for stateless ops, shape [2, count] int64."""
        from fastgrad.array_ops import stack, zeros_like
        keys = self.uniform_full_int([int(count)], int64)
        return stack([keys, zeros_like(keys)])

    def split(self, count=1):
        """``count`` new independent generators (keys drawn from this one)."""
        keys = self.uniform_full_int([int(count)], int64).numpy()
        return [Generator(state=[0, 0, int(k)]) for k in keys]


_global_generator = None


def get_global_generator():
    """The global Generator (created from OS entropy on first use)."""
    global _global_generator
    if _global_generator is None:
        _global_generator = Generator.from_non_deterministic_state()
    return _global_generator


def set_global_generator(generator):
    """Replaces the global Generator (functions traced with the old one keep it)."""
    global _global_generator
    _global_generator = generator


# ------------------------------------------------------- seeded op-level draws

# tf.random.normal/uniform/... draw from this generator: set_seed resets its
# state (an assign, so functions already traced see the new state)
_op_gen = Generator.from_non_deterministic_state()
_global_seed = None


def set_seed(seed):
    """Seed the draws of tf.random.normal/uniform/truncated_normal/shuffle."""
    global _rng, _global_seed
    _rng = np.random.default_rng(seed)
    _global_seed = None if seed is None else int(seed)
    if seed is None:
        _op_gen.reset(np.frombuffer(os.urandom(8 * _STATE_SIZE), dtype=np.int64).copy())
    else:
        _op_gen.reset_from_seed(int(seed))


def normal(shape, mean=0.0, stddev=1.0, dtype=float32, seed=None, name=None):
    """Samples from a normal distribution.

    >>> import fastgrad as tf
    >>> tf.random.normal([2, 3]).shape
    TensorShape([2, 3])
    """
    if seed is not None:
        return stateless_normal(shape, [_global_seed or 0, int(seed)], mean, stddev, dtype)
    return _op_gen.normal(shape, mean, stddev, dtype)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=float32, seed=None, name=None):
    """Normal samples redrawn until within two standard deviations."""
    if seed is not None:
        return stateless_truncated_normal(shape, [_global_seed or 0, int(seed)], mean, stddev, dtype)
    return _op_gen.truncated_normal(shape, mean, stddev, dtype)


def uniform(shape, minval=0, maxval=None, dtype=float32, seed=None, name=None):
    """Samples from [minval, maxval) (maxval defaults to 1 for floats)."""
    dt = as_dtype(dtype)
    if dt.is_integer and maxval is None:
        raise ValueError("Must specify maxval for integer dtype %r" % dt)
    if seed is not None:
        return stateless_uniform(shape, [_global_seed or 0, int(seed)], minval, maxval, dt)
    return _op_gen.uniform(shape, minval, maxval, dt)


def categorical(logits, num_samples, dtype=None, seed=None, name=None):
    """``num_samples`` class indices per row of ``logits`` ([batch, classes])."""
    if seed is not None:
        return stateless_categorical(logits, num_samples, [_global_seed or 0, int(seed)], dtype or int64)
    logits = _core.convert_to_tensor(logits)
    # TF reserves (samples rounded up to 4) x 2 x 256 counters per row
    n = (int(num_samples) + 3) // 4 * 4 * 2 * int(logits.shape[0])
    return _op_gen._draw(lambda s: _categorical_from(s, logits, num_samples, dtype), (n,))


def shuffle(value, seed=None, name=None):
    """value with its first dimension permuted (argsort of random keys).

    >>> import fastgrad as tf
    >>> sorted(tf.random.shuffle([1, 2, 3]).numpy().tolist())
    [1, 2, 3]
    """
    from fastgrad.array_ops import gather
    from fastgrad.sort_ops import argsort
    value = _core.convert_to_tensor(value)
    n = [int(value.shape[0])]
    if seed is not None:
        keys = stateless_uniform(n, [_global_seed or 0, int(seed)], None, None, int64)
    else:
        keys = _op_gen.uniform_full_int(n, int64)
    return gather(value, argsort(keys, stable=True))


# tf.random.experimental: the same functions under their other names
from fastgrad import _random_experimental as experimental  # noqa: E402
