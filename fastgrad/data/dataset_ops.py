"""``fastgrad.data.Dataset``: TF 2's in-memory input pipelines, iterated in
Python.

A Dataset is a recipe: each iteration (a ``for`` loop, ``iter()``, one
epoch of ``Model.fit``) runs it afresh and yields elements, which are
Tensors or tuples, namedtuples and dicts of Tensors (a Python list is one
value, converted to a tensor, as TF reads it). Transformations return new
Datasets and do not change their input. Batching, slicing and padding are
fastgrad ops; batches of ``from_tensor_slices`` (shuffled, repeated, taken
or skipped) are cut with one slice or gather per component rather than
stacked element by element.

Where this differs from TF:

- ``shuffle`` draws with NumPy's generator, so a seeded shuffle is
  reproducible run to run but its order is not TF's.
- ``map`` and ``filter`` functions are traced once with
  ``fastgrad.function`` (Python side effects run once, as in TF); a
  function that draws random numbers runs eagerly for each element. The
  ``element_spec`` of a mapped dataset comes from its first element: a
  dimension is ``None`` only where it is the unknown batch dimension of
  the input.
- ``prefetch`` and ``num_parallel_calls`` are accepted and change nothing
  (elements are produced on the calling thread, in order).

>>> import fastgrad as tf
>>> ds = tf.data.Dataset.from_tensor_slices(([1, 2, 3, 4], [10, 20, 30, 40]))
>>> ds = ds.map(lambda x, y: x + y).batch(3)
>>> [b.numpy().tolist() for b in ds]
[[11, 22, 33], [44]]
"""
import itertools
import math

import numpy as np

from fastgrad import _core, errors
from fastgrad import random as _random
from fastgrad.array_ops import concat, fill, gather, stack
from fastgrad.dtypes import as_dtype, bool as _bool, int64
from fastgrad.function_api import Function, TensorSpec
from . import _structure as st

__all__ = ["Dataset", "AUTOTUNE", "INFINITE_CARDINALITY", "UNKNOWN_CARDINALITY"]

AUTOTUNE = -1
INFINITE_CARDINALITY = -1
UNKNOWN_CARDINALITY = -2
INFINITE, UNKNOWN = INFINITE_CARDINALITY, UNKNOWN_CARDINALITY


class Dataset:
    """A sequence of elements built from tensors and transformed lazily.

    >>> import fastgrad as tf
    >>> ds = tf.data.Dataset.range(6).filter(lambda x: x % 2 == 0)
    >>> list(ds.as_numpy_iterator())
    [np.int64(0), np.int64(2), np.int64(4)]
    """

    # ---------------------------------------------------------- sources
    @staticmethod
    def from_tensor_slices(tensors, name=None):
        """One element per row of ``tensors`` (a tensor or a nest of them,
        all with the same first dimension)."""
        return _TensorSliceDataset(tensors)

    @staticmethod
    def from_tensors(tensors, name=None):
        """A single element: ``tensors`` itself."""
        return _TensorDataset(tensors)

    @staticmethod
    def range(*args, output_type=int64, name=None):
        """``range(stop)``, ``range(start, stop[, step])`` as scalar int64
        elements (or ``output_type``)."""
        return _RangeDataset(args, output_type)

    @staticmethod
    def zip(*datasets, name=None):
        """Elements of several datasets side by side, in the given nest
        (``zip((a, b))`` or ``zip(a, b)``), until the shortest ends."""
        if len(datasets) == 1:
            datasets = datasets[0]
        return _ZipDataset(datasets)

    # ---------------------------------------------------------- the protocol
    def _elements(self):
        """A generator of this dataset's elements, started afresh (each kind
        of dataset below defines it; Dataset itself is abstract, as TF's)."""
        raise NotImplementedError("%s does not define _elements" % type(self).__name__)

    def _cardinality(self):
        """The element count, or INFINITE/UNKNOWN (defined by each kind)."""
        raise NotImplementedError("%s does not define _cardinality" % type(self).__name__)

    def _indexed(self):
        """``(source, indices)`` when every element is row ``i`` of a
        ``from_tensor_slices`` source, ``indices()`` generating the rows in
        order (so a batch is one gather); else None."""
        return None

    def _head(self, k):
        """Up to the first ``k`` elements, for element specs (no epoch is
        counted)."""
        return list(itertools.islice(self._elements(), k))

    @property
    def element_spec(self):
        """The TensorSpec nest of one element."""
        return self._spec

    # ---------------------------------------------------------- iteration
    def __iter__(self):
        return OwnedIterator(self)

    def __bool__(self):
        return True

    def __len__(self):
        n = self._cardinality()
        if n == INFINITE:
            raise TypeError("The dataset is infinite.")
        if n == UNKNOWN:
            raise TypeError("The dataset length is unknown.")
        return n

    def cardinality(self):
        """The number of elements as an int64 scalar: ``INFINITE_CARDINALITY``
        (-1) for an endless dataset, ``UNKNOWN_CARDINALITY`` (-2) after
        ``filter``."""
        return _core.constant(np.int64(self._cardinality()))

    def as_numpy_iterator(self):
        """An iterator of the elements with NumPy values in place of Tensors."""
        return NumpyIterator(iter(self))

    def __repr__(self):
        return "<%s element_spec=%r>" % (type(self).__name__, self.element_spec)

    def reduce(self, initial_state, reduce_func, name=None):
        """Fold the elements into a state: ``reduce_func(state, element)``."""
        state = st.to_tensors(initial_state)
        for element in self._elements():
            state = st.to_tensors(st.lists_to_tuples(reduce_func(state, element)))
        return state

    def apply(self, transformation_func):
        """``transformation_func(self)``, for chaining."""
        return transformation_func(self)

    # ---------------------------------------------------------- transformations
    def batch(self, batch_size, drop_remainder=False, num_parallel_calls=None,
              deterministic=None, name=None):
        """Stack ``batch_size`` consecutive elements; the last batch may be
        smaller unless ``drop_remainder``."""
        return _BatchDataset(self, batch_size, drop_remainder)

    def padded_batch(self, batch_size, padded_shapes=None, padding_values=None,
                     drop_remainder=False, name=None):
        """Batch elements of different shapes, padding each component to
        ``padded_shapes`` (a ``None`` dimension: the batch's longest) with
        ``padding_values`` (0, or False for bool)."""
        return _PaddedBatchDataset(self, batch_size, padded_shapes, padding_values,
                                   drop_remainder)

    def unbatch(self, name=None):
        """Split each element along its first dimension."""
        return _UnbatchDataset(self)

    def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=True, name=None):
        """Randomly shuffle through a buffer of ``buffer_size`` elements;
        each iteration draws another order unless
        ``reshuffle_each_iteration=False``. Seeded by ``seed`` or, without
        one, by ``fastgrad.random.set_seed``'s generator."""
        return _ShuffleDataset(self, buffer_size, seed, reshuffle_each_iteration)

    def repeat(self, count=None, name=None):
        """The elements ``count`` times over (forever for None or -1)."""
        return _RepeatDataset(self, count)

    def take(self, count, name=None):
        """At most the first ``count`` elements (-1: all)."""
        return _TakeDataset(self, count)

    def skip(self, count, name=None):
        """All but the first ``count`` elements (-1: none left)."""
        return _SkipDataset(self, count)

    def map(self, map_func, num_parallel_calls=None, deterministic=None, name=None):
        """``map_func(element)`` for each element; a tuple element is
        passed as separate arguments."""
        return _MapDataset(self, map_func, parallel=num_parallel_calls is not None)

    def filter(self, predicate, name=None):
        """The elements for which ``predicate`` returns a true bool scalar."""
        return _FilterDataset(self, predicate)

    def enumerate(self, start=0, name=None):
        """``(index, element)`` pairs, the index an int64 from ``start``."""
        return _ZipDataset((_RangeDataset((start, np.iinfo(np.int64).max), int64), self))

    def concatenate(self, dataset, name=None):
        """This dataset's elements, then ``dataset``'s."""
        return _ConcatenateDataset(self, dataset)

    def cache(self, filename="", name=None):
        """Keep the elements in memory after the first full iteration."""
        if filename:
            raise NotImplementedError("fastgrad.data caches in memory only (filename='')")
        return CacheDataset(self)

    def prefetch(self, buffer_size, name=None):
        """Accepted for TF code; elements are produced when asked for."""
        return _PrefetchDataset(self)


class OwnedIterator:
    """The iterator ``iter(dataset)`` returns: ``next()`` raises
    StopIteration at the end, ``get_next()`` TF's OutOfRangeError."""

    def __init__(self, dataset):
        self._dataset = dataset
        self._it = dataset._elements()

    @property
    def element_spec(self):
        return self._dataset.element_spec

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._it)

    def get_next(self):
        try:
            return next(self._it)
        except StopIteration:
            raise errors.OutOfRangeError(None, None, "End of sequence [Op:IteratorGetNext]") from None


class NumpyIterator:
    """Iterates a dataset's elements as NumPy values (``as_numpy_iterator``)."""

    def __init__(self, iterator):
        self._iterator = iterator

    def __iter__(self):
        return self

    def __next__(self):
        return st.map_leaves(lambda t: t.numpy(), next(self._iterator))

    def __repr__(self):
        return "NumpyIterator(iterator=%r)" % (self._iterator,)


def _count(n):
    """A take/skip/repeat count; any negative one means 'all' (-1), as TF
    reads it."""
    n = int(n)
    return -1 if n < 0 else n


# ---------------------------------------------------------------- sources

class _TensorSliceDataset(Dataset):
    def __init__(self, tensors):
        self._tensors = st.to_tensors(tensors)
        leaves = st.flatten(self._tensors)
        for t in leaves:
            if t.ndim == 0:
                raise ValueError("Unbatching a tensor is only supported for rank >= 1")
        n = leaves[0].shape[0]
        for t in leaves[1:]:
            if t.shape[0] != n:
                raise ValueError("Dimensions %d and %d are not compatible" % (n, t.shape[0]))
        self._n = n
        self._leaves = leaves
        self._spec = st.map_leaves(lambda t: TensorSpec(tuple(t.shape[1:]), t.dtype), self._tensors)

    def _element(self, i):
        return st.pack(self._tensors, [t[i] for t in self._leaves])

    def _rows(self, idx):
        """The rows ``idx`` (a list) of every component, as one batch."""
        if idx[-1] - idx[0] + 1 == len(idx) and all(b == a + 1 for a, b in zip(idx, idx[1:])):
            cut = slice(idx[0], idx[-1] + 1)
            return st.pack(self._tensors, [t[cut] for t in self._leaves])
        where = _core.constant(np.asarray(idx, dtype=np.int64))
        return st.pack(self._tensors, [gather(t, where) for t in self._leaves])

    def _elements(self):
        for i in range(self._n):
            yield self._element(i)

    def _indexed(self):
        return self, lambda: iter(range(self._n))

    def _cardinality(self):
        return self._n


class _TensorDataset(Dataset):
    def __init__(self, tensors):
        self._tensors = st.to_tensors(tensors)
        self._spec = st.spec_of(self._tensors)

    def _elements(self):
        yield self._tensors

    def _cardinality(self):
        return 1


class _RangeDataset(Dataset):
    def __init__(self, args, dtype):
        if not 1 <= len(args) <= 3:
            raise ValueError("Invalid `args`. The length of `args` should be between 1 and 3 "
                             "but was %d." % len(args))
        bounds = (0,) + tuple(int(a) for a in args) if len(args) == 1 else tuple(int(a) for a in args)
        self._start, self._stop = bounds[0], bounds[1]
        self._step = bounds[2] if len(bounds) > 2 else 1
        if self._step == 0:
            raise errors.InvalidArgumentError(None, None, "step must be a non-zero integer.")
        self._dtype = as_dtype(dtype)
        self._spec = TensorSpec((), self._dtype)

    def _elements(self):
        np_type = self._dtype.as_numpy_dtype
        for i in range(self._start, self._stop, self._step):
            yield _core.constant(np_type(i))

    def _cardinality(self):
        return max(0, math.ceil((self._stop - self._start) / self._step))


class _ZipDataset(Dataset):
    def __init__(self, datasets):
        for d in st.flatten(datasets):
            if isinstance(d, list):
                raise TypeError("Invalid input to `zip`. Inputs are expected to be (nested) "
                                "structures of `tf.data.Dataset` objects. Python `list` is not "
                                "supported and you should use `tuple` instead.")
            if not isinstance(d, Dataset):
                raise TypeError("Invalid input to `zip`. Inputs are expected to be (nested) "
                                "structures of `tf.data.Dataset` objects but encountered object "
                                "of type %s." % type(d))
        self._datasets = datasets
        self._spec = st.map_leaves(lambda d: d.element_spec, datasets)

    def _elements(self):
        its = [d._elements() for d in st.flatten(self._datasets)]
        for parts in zip(*its):
            yield st.pack(self._datasets, parts)

    def _cardinality(self):
        ns = [d._cardinality() for d in st.flatten(self._datasets)]
        finite = [n for n in ns if n >= 0]
        if finite:
            return min(finite)
        return UNKNOWN if UNKNOWN in ns else INFINITE


# ---------------------------------------------------------------- batching

def _check_batch_size(batch_size):
    batch_size = int(batch_size)
    if batch_size <= 0:
        raise errors.InvalidArgumentError(None, None,
                                          "Batch size must be greater than zero. [Op:BatchDatasetV2]")
    return batch_size


def _batched_cardinality(n, size, drop):
    if n < 0:
        return n
    return n // size if drop else math.ceil(n / size)


def _chunks(iterator, size, drop):
    chunk = []
    for item in iterator:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk and not drop:
        yield chunk


def _stack_component(values, component):
    first = values[0]
    for i, v in enumerate(values[1:], 1):
        if v.shape != first.shape:
            if v.shape.num_elements() != first.shape.num_elements():
                raise errors.InvalidArgumentError(
                    None, None, "Cannot add tensor to the batch: number of elements does not match. "
                    "Shapes are: [tensor]: %s, [batch]: %s [Op:IteratorGetNext]"
                    % (_dims(first.shape), _dims(v.shape)))
            raise errors.InvalidArgumentError(
                None, None, "Cannot batch tensors with different shapes in component %d. First "
                "element had shape %s and element %d had shape %s. [Op:IteratorGetNext]"
                % (component, _dims(first.shape), i, _dims(v.shape)))
    return stack(values)


def _dims(shape):
    return "[%s]" % ",".join(str(d) for d in shape)


class _BatchDataset(Dataset):
    def __init__(self, dataset, batch_size, drop_remainder):
        self._input = dataset
        self._size = _check_batch_size(batch_size)
        self._drop = bool(drop_remainder)
        self._spec = st.relax(dataset.element_spec, self._size if self._drop else None)

    def _elements(self):
        indexed = self._input._indexed()
        if indexed is not None:
            source, indices = indexed
            for idx in _chunks(indices(), self._size, self._drop):
                yield source._rows(idx)
            return
        structure = self._input.element_spec
        for chunk in _chunks(self._input._elements(), self._size, self._drop):
            columns = zip(*(st.flatten(e) for e in chunk))
            yield st.pack(structure, [_stack_component(list(c), k) for k, c in enumerate(columns)])

    def _cardinality(self):
        return _batched_cardinality(self._input._cardinality(), self._size, self._drop)


class _PaddedBatchDataset(Dataset):
    def __init__(self, dataset, batch_size, padded_shapes, padding_values, drop_remainder):
        self._input = dataset
        self._size = _check_batch_size(batch_size)
        self._drop = bool(drop_remainder)
        spec = dataset.element_spec
        leaves = st.flatten(spec)
        if padded_shapes is None:
            # the spec's dimensions, padded to the batch's longest (a known
            # one has one size, so padding to the longest is the same)
            shapes = [s.shape for s in leaves]
            self._pad_dims = [(None,) * len(s.shape) for s in leaves]
        else:
            shapes = [tuple(None if d is None or int(d) < 0 else int(d) for d in _as_shape(p))
                      for p in _flatten_up_to(spec, padded_shapes)]
            self._pad_dims = shapes
        for s, p in zip(leaves, shapes):
            if len(p) != len(s.shape):
                raise ValueError("The padded shape %s is not compatible with the shape %s of the "
                                 "corresponding input component." % (p, s.shape))
        if padding_values is None:
            values = [False if s.dtype == _bool else 0 for s in leaves]
        else:
            values = _flatten_up_to(spec, padding_values)
        self._values = [_core.convert_to_tensor(v, s.dtype) for v, s in zip(values, leaves)]
        self._spec = st.pack(spec, [TensorSpec((self._size if self._drop else None,) + tuple(p), s.dtype)
                                    for s, p in zip(leaves, shapes)])

    def _elements(self):
        structure = self._input.element_spec
        for chunk in _chunks(self._input._elements(), self._size, self._drop):
            columns = list(zip(*(st.flatten(e) for e in chunk)))
            out = []
            for values, shape, pad in zip(columns, self._pad_dims, self._values):
                target = [max(v.shape[d] for v in values) if n is None else n
                          for d, n in enumerate(shape)]
                out.append(stack([_pad_to(v, target, pad) for v in values]))
            yield st.pack(structure, out)

    def _cardinality(self):
        return _batched_cardinality(self._input._cardinality(), self._size, self._drop)


def _as_shape(p):
    if isinstance(p, int):
        return (p,)
    if hasattr(p, "as_list"):
        return p.as_list()
    if isinstance(p, _core._TensorBase):
        return [int(d) for d in p.numpy().reshape(-1)]
    return list(p)


def _flatten_up_to(spec, values):
    """``values`` flattened to the leaves of ``spec`` (a shape, a list, is one
    leaf there)."""
    if isinstance(spec, TensorSpec):
        return [values]
    if isinstance(spec, dict):
        return [leaf for k in sorted(spec, key=st.nest._sort_key)
                for leaf in _flatten_up_to(spec[k], values[k])]
    return [leaf for s, v in zip(spec, values) for leaf in _flatten_up_to(s, v)]


def _pad_to(value, target, pad):
    """``value`` padded at the end of each dimension up to ``target``."""
    for axis, (have, want) in enumerate(zip(value.shape, target)):
        if have > want:
            raise errors.DataLossError(
                None, None, "Attempted to pad to a smaller size than the input element. "
                "[Op:IteratorGetNext]")
        if have < want:
            shape = list(value.shape)
            shape[axis] = want - have
            value = concat([value, fill(shape, pad)], axis)
    return value


class _UnbatchDataset(Dataset):
    def __init__(self, dataset):
        self._input = dataset
        leaves = st.flatten(dataset.element_spec)
        if any(len(s.shape) == 0 for s in leaves):
            raise ValueError("Cannot unbatch an input with scalar components.")
        self._spec = st.map_leaves(lambda s: TensorSpec(s.shape[1:], s.dtype), dataset.element_spec)

    def _elements(self):
        structure = self._input.element_spec
        for element in self._input._elements():
            leaves = st.flatten(element)
            n = leaves[0].shape[0]
            if any(t.shape[0] != n for t in leaves):
                raise errors.InvalidArgumentError(
                    None, None, "Input element must have the same batch size in each component. "
                    "Component 0 had size %d but component %d had size %d. [Op:IteratorGetNext]"
                    % ((n,) + next((k, t.shape[0]) for k, t in enumerate(leaves) if t.shape[0] != n)))
            for i in range(n):
                yield st.pack(structure, [t[i] for t in leaves])

    def _cardinality(self):
        return UNKNOWN if self._input._cardinality() != INFINITE else INFINITE


# ---------------------------------------------------------------- order and count

class _ShuffleDataset(Dataset):
    def __init__(self, dataset, buffer_size, seed, reshuffle):
        self._input = dataset
        self._buffer = int(buffer_size)
        if self._buffer == AUTOTUNE:
            self._buffer = max(dataset._cardinality(), 1)
        if self._buffer <= 0:
            raise errors.InvalidArgumentError(None, None, "buffer_size must be greater than zero.")
        # without a seed, draw one from fastgrad.random's generator, so that
        # set_seed makes the order reproducible as in TF
        self._seed = int(seed) if seed is not None else int(_random._gen(None).integers(2 ** 62))
        self._reshuffle = bool(reshuffle)
        self._epoch = 0
        self._spec = dataset.element_spec

    def _rng(self):
        epoch = self._epoch if self._reshuffle else 0
        self._epoch += 1
        if self._reshuffle:
            # a replayed fastgrad.function would repeat one epoch's order
            _core._trace_unsupported("a reshuffling tf.data.Dataset")
        return np.random.default_rng([self._seed, epoch])

    def _shuffled(self, items, rng):
        buffer = []
        for item in items:
            buffer.append(item)
            if len(buffer) == self._buffer:
                k = int(rng.integers(len(buffer)))
                buffer[k], buffer[-1] = buffer[-1], buffer[k]
                yield buffer.pop()
        while buffer:
            k = int(rng.integers(len(buffer)))
            buffer[k], buffer[-1] = buffer[-1], buffer[k]
            yield buffer.pop()

    def _elements(self):
        return self._shuffled(self._input._elements(), self._rng())

    def _indexed(self):
        indexed = self._input._indexed()
        if indexed is None:
            return None
        source, indices = indexed
        return source, lambda: self._shuffled(indices(), self._rng())

    def _head(self, k):
        return self._input._head(k)

    def _cardinality(self):
        return self._input._cardinality()


class _RepeatDataset(Dataset):
    def __init__(self, dataset, count):
        self._input = dataset
        self._count = -1 if count is None else _count(count)
        self._spec = dataset.element_spec

    def _epochs(self):
        k = 0
        while self._count == -1 or k < self._count:
            yield k
            k += 1

    def _elements(self):
        for _ in self._epochs():
            empty = True
            for element in self._input._elements():
                empty = False
                yield element
            if empty:  # TF: repeating nothing ends at once
                return

    def _indexed(self):
        indexed = self._input._indexed()
        if indexed is None:
            return None
        source, indices = indexed

        def repeated():
            for _ in self._epochs():
                if source._n == 0:
                    return
                yield from indices()
        return source, repeated

    def _head(self, k):
        return self._input._head(k)

    def _cardinality(self):
        n = self._input._cardinality()
        if self._count == 0 or n == 0:
            return 0
        if n < 0:
            return n
        return INFINITE if self._count == -1 else n * self._count


class _TakeDataset(Dataset):
    def __init__(self, dataset, count):
        self._input = dataset
        self._count = _count(count)
        self._spec = dataset.element_spec

    def _take(self, items):
        if self._count == -1:
            yield from items
            return
        for k, item in zip(range(self._count), items):
            yield item

    def _elements(self):
        return self._take(self._input._elements())

    def _indexed(self):
        indexed = self._input._indexed()
        if indexed is None:
            return None
        source, indices = indexed
        return source, lambda: self._take(indices())

    def _head(self, k):
        return self._input._head(k if self._count == -1 else min(k, self._count))

    def _cardinality(self):
        n = self._input._cardinality()
        if self._count == -1:
            return n
        if n == UNKNOWN:
            return UNKNOWN
        return self._count if n == INFINITE else min(n, self._count)


class _SkipDataset(Dataset):
    def __init__(self, dataset, count):
        self._input = dataset
        self._count = _count(count)
        self._spec = dataset.element_spec

    def _skip(self, items):
        if self._count == -1:
            return
        k = 0
        for item in items:
            if k >= self._count:
                yield item
            k += 1

    def _elements(self):
        return self._skip(self._input._elements())

    def _indexed(self):
        indexed = self._input._indexed()
        if indexed is None:
            return None
        source, indices = indexed
        return source, lambda: self._skip(indices())

    def _cardinality(self):
        n = self._input._cardinality()
        if n < 0:
            return n
        return 0 if self._count == -1 else max(n - self._count, 0)


class _ConcatenateDataset(Dataset):
    def __init__(self, first, second):
        a, b = first.element_spec, second.element_spec
        fa, fb = st.flatten(a), st.flatten(b)
        if len(fa) != len(fb) or any(x.dtype != y.dtype for x, y in zip(fa, fb)):
            raise TypeError("Incompatible dataset elements:\n  %r vs.   %r" % (a, b))
        self._parts = (first, second)
        self._spec = st.pack(a, [TensorSpec(tuple(d if d == e else None for d, e in zip(x.shape, y.shape))
                                            if len(x.shape) == len(y.shape) else x.shape, x.dtype)
                                 for x, y in zip(fa, fb)])

    def _elements(self):
        for part in self._parts:
            yield from part._elements()

    def _cardinality(self):
        ns = [p._cardinality() for p in self._parts]
        if INFINITE in ns:
            return INFINITE
        return UNKNOWN if UNKNOWN in ns else sum(ns)


class CacheDataset(Dataset):
    def __init__(self, dataset):
        self._input = dataset
        self._cache = None
        self._spec = dataset.element_spec

    def _elements(self):
        if self._cache is not None:
            yield from self._cache
            return
        seen = []
        for element in self._input._elements():
            seen.append(element)
            yield element
        self._cache = seen  # only a complete pass is kept, as in TF

    def _head(self, k):
        return self._cache[:k] if self._cache is not None else self._input._head(k)

    def _cardinality(self):
        return self._input._cardinality()


class _PrefetchDataset(Dataset):
    def __init__(self, dataset):
        self._input = dataset
        self._spec = dataset.element_spec

    def _elements(self):
        return self._input._elements()

    def _indexed(self):
        return self._input._indexed()

    def _head(self, k):
        return self._input._head(k)

    def _cardinality(self):
        return self._input._cardinality()


# ---------------------------------------------------------------- functions

def _traced(func, spec, what):
    """``func`` wrapped as a fastgrad.function of one element, called
    with the element unpacked when it is a plain tuple (TF's rule)."""
    unpack = type(spec) is tuple

    def element_function(element):
        out = func(*element) if unpack else func(element)
        return st.lists_to_tuples(out)  # TF reads a returned list as a tuple

    fn = Function(element_function, input_signature=[spec],
                  name=getattr(func, "__name__", what))
    # a function drawing random numbers runs eagerly for each element,
    # silently: that is what a map of random augmentations means
    fn._eager_warned = True
    return fn


def _probe_elements(dataset):
    """Elements to learn a function's output structure from: the first
    two, or zeros in the element spec's shapes (unknown sizes 1)."""
    head = dataset._head(2)
    if head:
        return head
    return [st.map_leaves(lambda s: _core.zeros([1 if d is None else d for d in s.shape],
                                                s.dtype._enum), dataset.element_spec)]


class _MapDataset(Dataset):
    def __init__(self, dataset, func, parallel=False):
        self._input = dataset
        self._fn = _traced(func, dataset.element_spec, "map")
        if parallel:
            self.__class__ = _ParallelMapDataset
        probes = _probe_elements(dataset)
        outs = [st.to_tensors(self._fn(p)) for p in probes]
        self._spec = _output_spec(dataset.element_spec, probes[0], outs)
        self._head_out = outs if dataset._head(1) else []

    def _elements(self):
        fn = self._fn
        for element in self._input._elements():
            yield st.to_tensors(fn(element))

    def _head(self, k):
        if k <= len(self._head_out):
            return self._head_out[:k]
        return super()._head(k)

    def _cardinality(self):
        return self._input._cardinality()


class _ParallelMapDataset(_MapDataset):
    pass


def _output_spec(in_spec, probe, outs):
    """A function output's spec from its outputs on the probe elements: a
    dimension is unknown where the outputs differ, or where the input's
    batch dimension is unknown and the output has the same size there."""
    leaves = st.flatten(in_spec)
    batch = None
    if leaves and all(len(s.shape) and s.shape[0] is None for s in leaves):
        batch = st.flatten(probe)[0].shape[0]

    def spec(t, *others):
        shape = list(t.shape)
        for o in others:
            if len(o.shape) != len(shape):
                raise ValueError("the function returned tensors of rank %d and %d for different "
                                 "elements" % (len(shape), len(o.shape)))
            shape = [d if d == e else None for d, e in zip(shape, o.shape)]
        if batch is not None and shape and shape[0] == batch:
            shape[0] = None
        return TensorSpec(tuple(shape), t.dtype)
    flats = [st.flatten(o) for o in outs]
    return st.pack(outs[0], [spec(*leaves) for leaves in zip(*flats)])


class _FilterDataset(Dataset):
    def __init__(self, dataset, predicate):
        self._input = dataset
        self._fn = _traced(predicate, dataset.element_spec, "filter")
        out = self._fn(_probe_elements(dataset)[0])
        if not (isinstance(out, _core._TensorBase) and out.dtype == _bool and out.ndim == 0):
            out_spec = (TensorSpec(tuple(out.shape), out.dtype)
                        if isinstance(out, _core._TensorBase) else st.spec_of(st.to_tensors(out)))
            raise ValueError("Invalid `predicate`. `predicate` must return a `tf.bool` scalar "
                             "tensor, but its return type is %r." % (out_spec,))
        self._spec = dataset.element_spec

    def _elements(self):
        fn = self._fn
        for element in self._input._elements():
            if bool(fn(element)):
                yield element

    def _cardinality(self):
        return UNKNOWN

