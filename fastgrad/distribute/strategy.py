"""``MultiWorkerMirroredStrategy`` with TF's shape, one replica per process.

Each MPI process is one worker holding one replica. Variables are
mirrored: created alike on every worker, and a Keras optimizer built in
``scope()`` sums its gradients over the workers in ``apply_gradients``
(TF's rule: scale the loss by the global batch size). ``Model.fit`` in
the scope takes the global batch, trains each worker on its slice and
averages, so it computes what one process would on the whole batch.

>>> import fastgrad as tf
>>> from fastgrad.distribute import MultiWorkerMirroredStrategy
>>> strategy = MultiWorkerMirroredStrategy()
>>> with strategy.scope():
...     v = tf.Variable(1.0)
>>> float(strategy.reduce("SUM", tf.constant(2.0), axis=None)) == 2.0 * strategy.num_replicas_in_sync
True
"""
import contextlib

import numpy as np

import fastgrad as tf
from fastgrad import _core, nest
from fastgrad.distribute import _context, _world
from fastgrad.distribute._keras import Aggregation

__all__ = ["MultiWorkerMirroredStrategy", "ReduceOp", "InputContext"]


class ReduceOp:
    """How ``Strategy.reduce`` combines the replicas' values (tf.distribute.ReduceOp)."""

    SUM = "SUM"
    MEAN = "MEAN"


class InputContext:
    """What ``distribute_datasets_from_function``'s function is told."""

    def __init__(self, num_input_pipelines=1, input_pipeline_id=0, num_replicas_in_sync=1):
        self.num_input_pipelines = num_input_pipelines
        self.input_pipeline_id = input_pipeline_id
        self.num_replicas_in_sync = num_replicas_in_sync

    def get_per_replica_batch_size(self, global_batch_size):
        if global_batch_size % self.num_replicas_in_sync:
            raise ValueError("The `global_batch_size` %r is not divisible by "
                             "`num_replicas_in_sync` %r " % (global_batch_size,
                                                             self.num_replicas_in_sync))
        return global_batch_size // self.num_replicas_in_sync


def _rows(n, w):
    return w.rank * n // w.size, (w.rank + 1) * n // w.size


def _shard(batch, w):
    """This worker's contiguous slice of every leaf's first axis."""
    def cut(leaf):
        if isinstance(leaf, (np.ndarray, _core._TensorBase)) and len(leaf.shape):
            lo, hi = _rows(int(leaf.shape[0]), w)
            return leaf[lo:hi]
        return leaf
    return nest.map_structure(cut, batch) if nest.is_nested(batch) else cut(batch)


class _DistributedDataset:
    """Iterates the dataset's global batches, yielding this worker's slice
    of each (TF's rebatching: a global batch of B rows gives each of N
    workers B/N)."""

    def __init__(self, dataset, w):
        self._dataset, self._w = dataset, w

    def __iter__(self):
        for batch in self._dataset:
            yield _shard(batch, self._w)


def _is_arrays(x):
    leaves = nest.flatten(x) if isinstance(x, (tuple, dict)) else [x]
    return all(isinstance(leaf, (np.ndarray, _core._TensorBase)) for leaf in leaves)


class MultiWorkerMirroredStrategy:
    """Synchronous data parallelism over the processes of ``mpirun``
    (``tf.distribute.MultiWorkerMirroredStrategy``); the cluster is MPI's
    (no ``TF_CONFIG``)."""

    def __init__(self, cluster_resolver=None, communication_options=None):
        if cluster_resolver is not None:
            raise NotImplementedError("fastgrad's strategy takes its cluster from MPI (mpirun "
                                      "and its hostfile), not a cluster resolver")
        _world.init()
        self._aggregation = Aggregation(_world.SUM, shard=True)

    @property
    def num_replicas_in_sync(self):
        """The number of workers (one replica each)."""
        return _world.world().size

    @contextlib.contextmanager
    def scope(self):
        """Variables, models and optimizers built inside are the strategy's:
        optimizers sum gradients over workers, ``fit`` trains data-parallel."""
        _context.push(self)
        try:
            yield self
        finally:
            _context.pop(self)

    def run(self, fn, args=(), kwargs=None, options=None):
        """Call fn on this worker's replica with its values (this worker's
        slices of distributed batches); returns fn's (per-replica) result."""
        with self.scope():
            return fn(*args, **(kwargs or {}))

    def reduce(self, reduce_op, value, axis=None):
        """Combine every replica's value: ``"SUM"`` or ``"MEAN"``, over the
        replicas only (axis None) or also along ``axis`` of each value (the
        mean then counts the elements of every replica)."""
        op = getattr(reduce_op, "value", reduce_op)
        op = str(op).upper().split(".")[-1]
        if op not in (ReduceOp.SUM, ReduceOp.MEAN):
            raise ValueError("reduce_op must be ReduceOp.SUM or ReduceOp.MEAN, got %r" % (reduce_op,))
        value = tf.convert_to_tensor(value)
        if axis is None:
            (out,) = _world.allreduce_list([value], _world.SUM if op == ReduceOp.SUM
                                           else _world.AVERAGE, what="Strategy.reduce")
            return out
        total = tf.reduce_sum(value, axis=axis)
        (total,) = _world.allreduce_list([total], _world.SUM, what="Strategy.reduce")
        if op == ReduceOp.SUM:
            return total
        axes = [axis] if isinstance(axis, int) else list(axis)
        count = int(np.prod([int(value.shape[a]) for a in axes]))
        counts = sum(_world.allgather_object(count))
        return total / tf.cast(counts, total.dtype)

    def gather(self, value, axis):
        """Every replica's value concatenated along ``axis``, in worker order."""
        value = tf.convert_to_tensor(value)
        arr = np.moveaxis(np.asarray(value), axis, 0)
        out = np.moveaxis(_world.allgather_array(arr, "Strategy.gather"), 0, axis)
        return tf.constant(out)

    def experimental_distribute_dataset(self, dataset, options=None):
        """Shard input over the workers. A dataset (any re-iterable of
        batches: arrays, tensors, or tuples/dicts of them) gives each worker
        its contiguous slice of each global batch; NumPy arrays (or a tuple
        or dict of them) give each worker its slice of their rows.

        >>> import numpy as np
        >>> from fastgrad.distribute import MultiWorkerMirroredStrategy
        >>> s = MultiWorkerMirroredStrategy()
        >>> [b.shape[0] for b in s.experimental_distribute_dataset([np.zeros((4, 2))] * 2)] == [4 // s.num_replicas_in_sync] * 2
        True
        """
        w = _world.world()
        if _is_arrays(dataset):
            return _shard(dataset, w)
        return _DistributedDataset(dataset, w)

    def distribute_datasets_from_function(self, dataset_fn, options=None):
        """dataset_fn(InputContext) builds this worker's own input pipeline."""
        w = _world.world()
        return dataset_fn(InputContext(w.size, w.rank, w.size))

    def __repr__(self):
        return "<MultiWorkerMirroredStrategy num_replicas_in_sync=%d>" % self.num_replicas_in_sync
