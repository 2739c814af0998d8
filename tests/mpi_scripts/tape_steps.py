"""mpirun -n 2: DistributedGradientTape steps on batch shards (tests/test_distribute.py).

Writes OUT/rank<r>.npz: the final weights; the per-step gradient bytes of
every rank (to check they are bitwise identical); the same run with a
fusion threshold small enough to split the gradients, and its allreduce
count; and a fastgrad.function step containing the tape."""
import contextlib
import logging
import sys
import warnings

import numpy as np

import fastgrad as tf
import fastgrad.distribute as hvd
from fastgrad.distribute import _world
from _problem import train, weights

@contextlib.contextmanager
def caught_messages():
    """fastgrad's warnings (its logger: the one channel) and Python warnings."""
    msgs = []
    handler = logging.Handler()
    handler.emit = lambda record: msgs.append(record.getMessage())
    tf.get_logger().addHandler(handler)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield msgs
        finally:
            tf.get_logger().removeHandler(handler)
            msgs.extend(str(w.message) for w in caught)


out = sys.argv[1]
hvd.init()
rank, size = hvd.rank(), hvd.size()
result = {}

same_bits = []


def check_bits(grads):
    blob = b"".join(np.asarray(g).tobytes() for g in grads)
    same_bits.append(len(set(hvd.allgather_object(blob))) == 1)


v = weights()
hvd.broadcast_variables(v, root_rank=0)
calls0 = hvd.allreduce_stats()["allreduce_calls"]
train(v, rank, size, hvd.DistributedGradientTape, check_bits)
result["fused_calls"] = hvd.allreduce_stats()["allreduce_calls"] - calls0
for var in v:
    result[var.name.split(":")[0]] = var.numpy()
result["same_bits"] = np.array(same_bits)

# a threshold of 300 bytes: w1 (512 B) alone, then b1 + w2 + b2 (268 B): 2 buffers
_world.world().fusion_threshold = 300
v = weights()
calls0 = hvd.allreduce_stats()["allreduce_calls"]
train(v, rank, size, hvd.DistributedGradientTape)
result["split_calls"] = hvd.allreduce_stats()["allreduce_calls"] - calls0
result["split_w1"] = v[0].numpy()
_world.world().fusion_threshold = _world.DEFAULT_FUSION_THRESHOLD

# inside fastgrad.function: the fused allreduce is an instruction of the
# recorded program, replayed with the rest
v = weights()


@tf.function
def step(x, y):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(tf.matmul(tf.tanh(tf.matmul(x, v[0]) + v[1]), v[2]) + v[3] - y))
    grads = hvd.DistributedGradientTape(tape).gradient(loss, v)
    for var, g in zip(v, grads):
        var.assign_sub(0.1 * g)
    return loss


from _problem import data, BATCH  # noqa: E402
x, y = data()
lo, hi = rank * BATCH // size, (rank + 1) * BATCH // size
calls0 = hvd.allreduce_stats()["allreduce_calls"]
with caught_messages() as caught:
    for s in range(x.shape[0]):
        step(tf.constant(x[s, lo:hi]), tf.constant(y[s, lo:hi]))
result["function_w1"] = v[0].numpy()
result["function_calls"] = hvd.allreduce_stats()["allreduce_calls"] - calls0
result["function_tracing_count"] = step.experimental_get_tracing_count()
result["function_warnings"] = np.array(caught + [""])


# a collective the table does not hold (Max) makes the signature run eagerly, with a note
@tf.function
def biggest(x):
    return hvd.allreduce(x, op=hvd.Max)


with caught_messages() as caught:
    maxima = [biggest(tf.constant([float(rank + i)])).numpy()[0] for i in range(3)]
result["max_values"] = np.array(maxima)
result["max_warning"] = np.array([m for m in caught if "eagerly" in m][:1])
np.savez(f"{out}/rank{rank}.npz", **result)
