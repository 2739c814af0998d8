"""mpirun -n 2: Horovod's collectives and the strategy's reduce (tests/test_distribute.py).

Every rank writes OUT/rank<r>.json with what each call returned."""
import json
import sys

import numpy as np

import fastgrad as tf
import fastgrad.distribute as hvd
from fastgrad.distribute import MultiWorkerMirroredStrategy, ReduceOp

out = sys.argv[1]
hvd.init()
r, n = hvd.rank(), hvd.size()
res = {"rank": r, "size": n, "local_rank": hvd.local_rank(), "local_size": hvd.local_size()}
x = tf.constant(np.arange(6, dtype=np.float32).reshape(2, 3) * (r + 1))
res["average"] = hvd.allreduce(x).numpy().tolist()
res["sum"] = hvd.allreduce(x, op=hvd.Sum).numpy().tolist()
res["min"] = hvd.allreduce(x, op=hvd.Min).numpy().tolist()
res["max"] = hvd.allreduce(x, op=hvd.Max).numpy().tolist()
res["scaled"] = hvd.allreduce(x, op=hvd.Sum, prescale_factor=2.0, postscale_factor=0.25).numpy().tolist()
res["average_f64"] = hvd.allreduce(tf.constant([1.0, 2.0], dtype=tf.float64) * (r + 1)).numpy().tolist()
res["grouped"] = [t.numpy().tolist() for t in hvd.grouped_allreduce(
    [x, tf.constant([float(r)]), tf.constant([r, 10], dtype=tf.int32)], op=hvd.Sum)]
res["allgather"] = hvd.allgather(tf.fill([r + 1, 2], float(r))).numpy().tolist()
res["broadcast1"] = hvd.broadcast(x, root_rank=1).numpy().tolist()
v = [tf.Variable(np.full((3, 2), r, np.float32)), tf.Variable(np.full(4, r, np.float64)),
     tf.Variable(np.int32(r + 5))]
hvd.broadcast_variables(v, root_rank=0)
res["broadcast_variables"] = [var.numpy().tolist() for var in v]
res["broadcast_object"] = hvd.broadcast_object({"from": r}, root_rank=1)
res["allgather_object"] = hvd.allgather_object({"rank": r})
# the gradient of an allreduce (Sum) is the allreduce of the upstream gradient
w = tf.Variable([1.0, 2.0])
with tf.GradientTape() as tape:
    y = hvd.allreduce(w * float(r + 1), op=hvd.Sum)
    loss = tf.reduce_sum(y * y)
res["allreduce_grad"] = tape.gradient(loss, w).numpy().tolist()

strategy = MultiWorkerMirroredStrategy()
res["replicas"] = strategy.num_replicas_in_sync
res["reduce_sum"] = float(strategy.reduce(ReduceOp.SUM, tf.constant(float(r + 1)), axis=None))
res["reduce_mean_axis"] = float(strategy.reduce("MEAN", tf.constant([float(r)] * (r + 1)), axis=0))
res["gather"] = strategy.gather(tf.constant([[float(r)]]), axis=1).numpy().tolist()
res["dataset"] = [b.tolist() for b in strategy.experimental_distribute_dataset(
    [np.arange(4.0), np.arange(4.0, 8.0)])]
res["arrays"] = [a.tolist() for a in strategy.experimental_distribute_dataset(
    (np.arange(6.0), np.arange(6))) ]
with open(f"{out}/rank{r}.json", "w") as f:
    json.dump(res, f)
