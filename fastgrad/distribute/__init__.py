"""Data-parallel training over MPI: Horovod's TF 2 API and tf.distribute's
``MultiWorkerMirroredStrategy``.

Every process computes gradients on its shard of the data; an allreduce
averages them so every replica takes the same step. The gradients of a
step are fused into one contiguous buffer (packed and unpacked in C) and
reduced in place by one ``MPI_Allreduce`` through mpi4py (the optional
``[mpi]`` extra). Without mpi4py, or outside ``mpirun``, the group is this
one process, and scripts run unchanged.

Horovod scripts port by changing the import:

>>> import fastgrad as tf
>>> import fastgrad.distribute as hvd      # was: import horovod.tensorflow as hvd
>>> hvd.init()
>>> w = tf.Variable([1.0, 2.0])
>>> hvd.broadcast_variables([w], root_rank=0)
>>> with tf.GradientTape() as tape:
...     loss = tf.reduce_sum(w * w)
>>> tape = hvd.DistributedGradientTape(tape)
>>> tape.gradient(loss, [w])[0].numpy().tolist()
[2.0, 4.0]

Run with ``mpirun -n 2 python train.py``. Environment:
``FASTGRAD_FUSION_THRESHOLD`` (bytes per fused allreduce, default 64 MiB;
0 reduces each tensor alone), ``FASTGRAD_DISTRIBUTE_TIMEOUT`` (seconds a
collective may wait for the other ranks before raising),
``FASTGRAD_DISTRIBUTE_CHECK=0`` (skip the per-call check that all ranks
reduce the same list of tensors).

``fastgrad.function`` and collectives: the fused allreduce (Sum/Average
of floats: ``allreduce``, ``grouped_allreduce``, ``DistributedGradientTape``)
is a table op, recorded and replayed as an instruction of the program;
other collectives make the signature run eagerly, with one warning.
"""
from fastgrad.distribute._horovod import *  # noqa: F401,F403
from fastgrad.distribute.strategy import InputContext, MultiWorkerMirroredStrategy, ReduceOp
from fastgrad.distribute._keras import (BroadcastGlobalVariablesCallback, DistributedOptimizer,
                                        MetricAverageCallback)


class callbacks:  # noqa: N801 - Horovod's hvd.callbacks namespace
    """``hvd.callbacks``: the Keras callbacks, as Horovod's Keras module names them."""

    BroadcastGlobalVariablesCallback = BroadcastGlobalVariablesCallback
    MetricAverageCallback = MetricAverageCallback


def allreduce_stats():
    """Counters since init: MPI_Allreduce calls of fused gradients, bytes
    reduced and seconds spent in them (what benchmarks report).

    >>> import fastgrad.distribute as hvd
    >>> hvd.init()
    >>> sorted(hvd.allreduce_stats())
    ['allreduce_bytes', 'allreduce_calls', 'allreduce_seconds']
    """
    from fastgrad.distribute._world import world
    return dict(world().stats)


# spelled out for type checkers (mypy cannot follow a computed list);
# tests/test_namespace.py checks it against _horovod's
__all__ = [
    "init", "shutdown", "is_initialized", "mpi_enabled", "rank", "size", "local_rank",
    "local_size", "cross_rank", "cross_size", "Average", "Sum", "Min", "Max", "Adasum",
    "Compression", "allreduce", "grouped_allreduce", "allgather", "broadcast",
    "broadcast_variables", "broadcast_object", "allgather_object", "DistributedGradientTape",
    "MultiWorkerMirroredStrategy", "ReduceOp", "InputContext", "DistributedOptimizer",
    "BroadcastGlobalVariablesCallback", "MetricAverageCallback", "callbacks", "allreduce_stats",
]
