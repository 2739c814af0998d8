"""Keras under data parallelism: the optimizers' gradient aggregation, the
``fit`` step, ``DistributedOptimizer`` and Horovod's Keras callbacks.

``Model.fit`` with ``DistributedOptimizer`` runs Keras's own step, one
``fastgrad.function`` whose program holds the fused allreduce of
``apply_gradients`` (a table op). In a strategy's ``scope()`` it runs a
split step: the forward pass and the gradient replay as one function, the
fused allreduce of the loss and gradients and the gathering of this
worker's predictions run between, and the update replays as a second.
"""
import copy

import numpy as np

import fastgrad as tf
from fastgrad.distribute import _world
from fastgrad.keras.callbacks import Callback

__all__ = ["DistributedOptimizer", "BroadcastGlobalVariablesCallback", "MetricAverageCallback"]


class Aggregation:
    """How an optimizer's gradients combine across processes, and the
    ``fit`` step that goes with it.

    ``shard``: ``fit`` gets the global batch and each process trains on its
    slice of it (tf.distribute); otherwise each process's own batch is
    its data (Horovod: the script shards the data)."""

    def __init__(self, op, prescale=1.0, postscale=1.0, shard=False):
        self.op, self.prescale, self.postscale, self.shard = op, prescale, postscale, shard

    def aggregate(self, pairs):
        """``apply_gradients``' (gradient, variable) pairs, gradients reduced."""
        grads = _world.allreduce_list([g for g, _ in pairs], self.op, self.prescale,
                                      self.postscale, "apply_gradients")
        return list(zip(grads, [v for _, v in pairs]))

    def train_step(self, model):
        """``Model._step``'s step(x, y) -> (loss, predictions) for this model."""
        if not self.shard:
            # each process's own batch: Keras's step as it is, one
            # fastgrad.function whose program holds apply_gradients' allreduce
            def train_function(x, y):
                return model._train_step(x, y, model.trainable_variables)
            if isinstance(model._train_function, _SplitStep):
                model._train_function = None
            return model._traced("_train_function", train_function)
        step = model._train_function
        if not isinstance(step, _SplitStep) or step.aggregation is not self:
            step = model._train_function = _SplitStep(model, self)
        if self.shard:
            # every process must draw the same shuffle (fit's np.random.permutation)
            np.random.set_state(_world.broadcast_object(np.random.get_state(), 0))
        return step


class _SplitStep:
    def __init__(self, model, aggregation):
        self.model, self.aggregation = model, aggregation
        self.synced = False

        def gradient_step(x, y):
            tvars = model.trainable_variables
            with tf.GradientTape() as tape:
                y_pred = model(x, training=True)
                loss = model._loss_obj(y, y_pred)
            return loss, y_pred, tape.gradient(loss, tvars)

        def update_step(grads):
            model.optimizer.apply_gradients(zip(grads, model.trainable_variables),
                                            experimental_aggregate_gradients=False)

        if model.run_eagerly:
            self.gradient_step, self.update_step = gradient_step, update_step
        else:
            self.gradient_step, self.update_step = tf.function(gradient_step), tf.function(update_step)

    def __call__(self, x, y):
        model, agg = self.model, self.aggregation
        w = _world.world()
        if not self.synced:
            # tf.distribute's variables start equal on every worker: rank 0's
            values = _world.broadcast_tensors(model.variables, 0, "the model's initial weights")
            for v, value in zip(model.variables, values):
                v.assign(value)
            self.synced = True
        n = int(x.shape[0])
        if n >= w.size:
            lo, hi = w.rank * n // w.size, (w.rank + 1) * n // w.size
            xl, yl, weight = x[lo:hi], y[lo:hi], (hi - lo) / n
        else:
            # fewer rows than processes: each computes the whole batch, weighted 1/size
            xl, yl, weight = x, y, 1.0 / w.size
        loss, y_pred, grads = self.gradient_step(xl, yl)
        # the loss rides in the gradients' buffer: sum of (share x local mean) = global mean
        reduced = _world.allreduce_list([loss] + list(grads), _world.SUM, weight, 1.0,
                                        "Model.fit's gradients")
        self.update_step(reduced[1:])
        if n >= w.size and w.size > 1:
            y_pred = tf.constant(_world.allgather_array(np.asarray(y_pred), "Model.fit's outputs"))
        return reduced[0], y_pred


def DistributedOptimizer(optimizer, name=None, device_dense="", device_sparse="",  # noqa: N802
                         compression=None, sparse_as_dense=False, backward_passes_per_step=1,
                         op=_world.AVERAGE, gradient_predivide_factor=1.0, **kwargs):
    """A copy of a Keras optimizer whose ``apply_gradients`` (and so
    ``minimize`` and ``Model.fit``) first averages the gradients over all
    ranks, fused into one MPI_Allreduce (Horovod's
    ``hvd.DistributedOptimizer``). Scale the learning rate by ``size()`` as
    Horovod advises.

    >>> import fastgrad as tf, fastgrad.distribute as hvd
    >>> hvd.init()
    >>> opt = hvd.DistributedOptimizer(tf.keras.optimizers.SGD(0.1 * hvd.size()))
    >>> v = tf.Variable(1.0)
    >>> _ = opt.apply_gradients([(tf.constant(1.0), v)])
    >>> round(float(v), 6) == round(1.0 - 0.1 * hvd.size(), 6)
    True
    """
    from fastgrad.distribute._horovod import _op
    if backward_passes_per_step != 1:
        raise NotImplementedError("backward_passes_per_step > 1 is not implemented")
    op = _op(op, None, "DistributedOptimizer")
    if gradient_predivide_factor != 1.0 and op != _world.AVERAGE:
        raise ValueError("gradient_predivide_factor not supported with op != Average")
    _world.init()
    new = copy.copy(optimizer)
    new._distribution = Aggregation(op, 1.0 / gradient_predivide_factor, gradient_predivide_factor)
    return new


class BroadcastGlobalVariablesCallback(Callback):
    """Make every rank start from root_rank's weights: the model's before
    the first batch, the optimizer's (slots, iterations) after it, when
    they exist (Horovod's ``hvd.callbacks.BroadcastGlobalVariablesCallback``)."""

    def __init__(self, root_rank=0, device=""):
        super().__init__()
        self.root_rank = root_rank
        self.broadcast_done = False
        self._optimizer_done = False

    def on_train_batch_begin(self, batch, logs=None):
        if not self.broadcast_done:
            from fastgrad.distribute._horovod import broadcast_variables
            broadcast_variables(self.model.variables, self.root_rank)
            self.broadcast_done = True

    def on_train_batch_end(self, batch, logs=None):
        if not self._optimizer_done:
            from fastgrad.distribute._horovod import broadcast_variables
            broadcast_variables(self.model.optimizer.variables, self.root_rank)
            self._optimizer_done = True


class MetricAverageCallback(Callback):
    """Average the epoch's logged metrics over all ranks at each epoch's end,
    in one allreduce (Horovod's ``hvd.callbacks.MetricAverageCallback``)."""

    def on_epoch_end(self, epoch, logs=None):
        if not logs:
            return
        keys = sorted(k for k, v in logs.items() if isinstance(v, (int, float, np.floating)))
        values = tf.constant(np.array([float(logs[k]) for k in keys], np.float64))
        (avg,) = _world.allreduce_list([values], _world.AVERAGE, what="MetricAverageCallback")
        for k, v in zip(keys, avg.numpy().tolist()):
            logs[k] = v
