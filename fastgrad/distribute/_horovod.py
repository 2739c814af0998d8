"""Horovod's TensorFlow 2 API over fastgrad.distribute's MPI world.

A Horovod script ports by changing its import::

    import fastgrad as tf
    import fastgrad.distribute as hvd     # was: import horovod.tensorflow as hvd
"""
import numpy as np

from fastgrad import _core, nest
from fastgrad.distribute import _world
from fastgrad.distribute._world import init, shutdown, is_initialized, mpi_enabled  # noqa: F401

__all__ = ["init", "shutdown", "is_initialized", "mpi_enabled", "rank", "size", "local_rank",
           "local_size", "cross_rank", "cross_size", "Average", "Sum", "Min", "Max", "Adasum",
           "Compression", "allreduce", "grouped_allreduce", "allgather", "broadcast",
           "broadcast_variables", "broadcast_object", "allgather_object",
           "DistributedGradientTape"]

#: reduction ops, Horovod's names
Average, Sum, Min, Max = _world.AVERAGE, _world.SUM, _world.MIN, _world.MAX
Adasum = "adasum"


def rank():
    """This process's rank in the group, 0..size()-1 (``hvd.rank``)."""
    return _world.world().rank


def size():
    """The number of processes in the group (``hvd.size``)."""
    return _world.world().size


def local_rank():
    """This process's rank among the processes on its node."""
    return _world.world().local_rank


def local_size():
    """The number of processes on this node."""
    return _world.world().local_size


def cross_rank():
    """The rank of this node among the nodes (processes of equal local rank)."""
    return _world.world().cross_rank


def cross_size():
    """The number of nodes (processes of this local rank)."""
    return _world.world().cross_size


class Compression:
    """Horovod's gradient compression choices; fastgrad reduces at full
    precision (it has no float16), so ``none`` is the one there is."""

    class none:  # noqa: N801 - Horovod's spelling
        pass


def _op(op, average, name):
    if average is not None:
        if op is not None:
            raise ValueError("The op parameter supersedes average; give only one of them.")
        op = Average if average else Sum
    op = Average if op is None else op
    if op == Adasum:
        raise NotImplementedError("fastgrad.distribute does not implement Adasum; use Average or Sum")
    if op not in (Average, Sum, Min, Max):
        raise ValueError("%s: unknown reduction op %r" % (name, op))
    return op


def _check_compression(compression):
    if compression is not Compression.none:
        raise NotImplementedError("fastgrad.distribute reduces at full precision: only "
                                  "Compression.none is available")


def allreduce(tensor, average=None, device_dense="", device_sparse="", compression=Compression.none,
              op=None, prescale_factor=1.0, postscale_factor=1.0, name=None, process_set=None):
    """The tensor reduced over all ranks: ``op=Average`` (the default) or
    ``Sum``, ``Min``, ``Max``; multiplied by ``prescale_factor`` before and
    ``postscale_factor`` after. Differentiable: the gradient is the
    allreduce of the upstream gradient (Sum/Average).

    >>> import fastgrad as tf, fastgrad.distribute as hvd
    >>> hvd.init()
    >>> hvd.allreduce(tf.constant([1.0, 2.0]), op=hvd.Sum).numpy() / hvd.size()
    array([1., 2.], dtype=float32)
    """
    _check_compression(compression)
    op = _op(op, average, "allreduce")
    x = tensor if isinstance(tensor, _core._TensorBase) else _core.convert_to_tensor(tensor)
    (y,) = _world.allreduce_list([x], op, prescale_factor, postscale_factor,
                                 name or "allreduce")
    if op in (Average, Sum) and x.dtype.is_floating and not _core.tracing():
        # (traced, the reduction is the table's allreduce op, with its own rule)
        def rule(dy):
            (g,) = _world.allreduce_list([dy], op, prescale_factor, postscale_factor,
                                         "the gradient of " + (name or "allreduce"))
            return [g]
        y = _core.record_custom([x], y, rule)
    return y


def grouped_allreduce(tensors, average=None, device_dense="", device_sparse="",
                      compression=Compression.none, op=None, prescale_factor=1.0,
                      postscale_factor=1.0, name=None, process_set=None):
    """``allreduce`` of each tensor of a list, fused into as few
    MPI_Allreduce calls as the fusion threshold allows (one for most
    models). Not recorded by tapes (reduce gradients, not values to
    differentiate).

    >>> import fastgrad as tf, fastgrad.distribute as hvd
    >>> hvd.init()
    >>> [t.shape for t in hvd.grouped_allreduce([tf.ones([2, 3]), tf.ones([4])])]
    [TensorShape([2, 3]), TensorShape([4])]
    """
    _check_compression(compression)
    return _world.allreduce_list(list(tensors), _op(op, average, "grouped_allreduce"),
                                 prescale_factor, postscale_factor, name or "grouped_allreduce")


def allgather(tensor, name=None, ignore_name_scope=False, process_set=None):
    """The tensors of all ranks concatenated along the first dimension (which
    may differ between ranks), in rank order. Differentiable: each rank's
    gradient is its slice of the summed upstream gradient.

    >>> import fastgrad as tf, fastgrad.distribute as hvd
    >>> hvd.init()
    >>> hvd.allgather(tf.constant([[1.0, 2.0]])).shape[0] == hvd.size()
    True
    """
    x = tensor if isinstance(tensor, _core._TensorBase) else _core.convert_to_tensor(tensor)
    if _core.tracing():
        _core._trace_unsupported("an MPI collective (fastgrad.distribute)")
    if x.shape.rank == 0:
        raise ValueError("allgather needs a tensor of rank 1 or more, got a scalar")
    w = _world.world()
    y = _core.convert_to_tensor(_world.allgather_array(np.asarray(x), name or "allgather"))
    if x.dtype.is_floating:
        offsets = np.cumsum([0] + _world.allgather_object(int(x.shape[0])))
        lo, hi = int(offsets[w.rank]), int(offsets[w.rank + 1])

        def rule(dy):
            (g,) = _world.allreduce_list([dy], Sum, 1.0, 1.0, "the gradient of allgather")
            return [g[lo:hi]]
        y = _core.record_custom([x], y, rule)
    return y


def broadcast(tensor, root_rank, name=None, ignore_name_scope=False, process_set=None):
    """root_rank's value of the tensor, on every rank.

    >>> import fastgrad as tf, fastgrad.distribute as hvd
    >>> hvd.init()
    >>> float(hvd.broadcast(tf.constant(float(hvd.rank())), root_rank=0))
    0.0
    """
    x = tensor if isinstance(tensor, _core._TensorBase) else _core.convert_to_tensor(tensor)
    (y,) = _world.broadcast_tensors([x], root_rank, name or "broadcast")
    return y


def broadcast_variables(variables, root_rank, process_set=None, inplace=None):
    """Assign root_rank's values to the Variables on every rank, so all ranks
    start from the same weights: one fused broadcast per dtype.

    >>> import fastgrad as tf, fastgrad.distribute as hvd
    >>> hvd.init()
    >>> v = tf.Variable([1.0, 2.0])
    >>> hvd.broadcast_variables([v], root_rank=0)
    >>> v.numpy().tolist()
    [1.0, 2.0]
    """
    variables = list(variables)
    values = _world.broadcast_tensors(variables, root_rank, "broadcast_variables")
    for v, value in zip(variables, values):
        v.assign(value)


def broadcast_object(obj, root_rank=0, session=None, name=None, process_set=None):
    """root_rank's Python object (pickled), on every rank.

    >>> import fastgrad.distribute as hvd
    >>> hvd.init()
    >>> hvd.broadcast_object({"epoch": 3}, root_rank=0)
    {'epoch': 3}
    """
    return _world.broadcast_object(obj, root_rank)


def allgather_object(obj, session=None, name=None, process_set=None):
    """The list of every rank's Python object (pickled), in rank order.

    >>> import fastgrad.distribute as hvd
    >>> hvd.init()
    >>> len(hvd.allgather_object(hvd.rank())) == hvd.size()
    True
    """
    return _world.allgather_object(obj)


class DistributedGradientTape:
    """A GradientTape whose ``gradient`` averages (``op``) the gradients over
    all ranks: the gradient list is fused into one buffer (per dtype and
    fusion threshold), reduced with one MPI_Allreduce and unpacked in C.
    Wrap the tape after (or around) the ``with`` block, as in Horovod.

    ``gradient_predivide_factor`` f splits the average's division: each rank
    scales by 1/f before the sum and by f/size after it.

    >>> import fastgrad as tf, fastgrad.distribute as hvd
    >>> hvd.init()
    >>> w = tf.Variable(2.0)
    >>> with tf.GradientTape() as tape:
    ...     loss = w * w
    >>> tape = hvd.DistributedGradientTape(tape)
    >>> float(tape.gradient(loss, w))
    4.0
    """

    def __init__(self, gradtape, device_dense="", device_sparse="", compression=Compression.none,
                 sparse_as_dense=False, op=Average, gradient_predivide_factor=1.0,
                 num_groups=0, groups=None, process_set=None):
        _check_compression(compression)
        self._tape = gradtape
        self._op = _op(op, None, "DistributedGradientTape")
        if gradient_predivide_factor != 1.0 and self._op != Average:
            raise ValueError("gradient_predivide_factor not supported with op != Average")
        self._prescale = 1.0 / gradient_predivide_factor
        self._postscale = gradient_predivide_factor

    def __enter__(self):
        self._tape.__enter__()
        return self

    def __exit__(self, *exc):
        return self._tape.__exit__(*exc)

    def __getattr__(self, name):
        return getattr(self._tape, name)

    def gradient(self, target, sources, output_gradients=None, unconnected_gradients=None, **kw):
        """The tape's gradient, reduced over ranks; the structure of ``sources``."""
        if unconnected_gradients is not None:
            kw["unconnected_gradients"] = unconnected_gradients
        grads = self._tape.gradient(target, sources, output_gradients=output_gradients, **kw)
        flat = nest.flatten(grads)
        reduced = _world.allreduce_list(flat, self._op, self._prescale, self._postscale,
                                        "DistributedGradientTape.gradient")
        return nest.pack_sequence_as(grads, reduced)
