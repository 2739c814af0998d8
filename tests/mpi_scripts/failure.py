"""mpirun -n 2: ranks that fail (tests/test_distribute.py). argv[1]:

raise     rank 1 raises in its third step: the job must end (MPI_Abort), not hang
mismatch  rank 1 reduces one more gradient: both ranks raise ValueError naming it
timeout   rank 1 returns before its collective; rank 0 gives up after
          FASTGRAD_DISTRIBUTE_TIMEOUT and its error aborts the job
"""
import sys

import numpy as np

import fastgrad as tf
import fastgrad.distribute as hvd

mode = sys.argv[1]
hvd.init()
rank = hvd.rank()
v = [tf.Variable(np.ones((4, 3), np.float32)), tf.Variable(np.zeros(3, np.float32))]
extra = tf.Variable(np.ones(5, np.float32))


def step(i):
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.matmul(tf.ones((2, 4)), v[0]) + v[1])
        if mode == "mismatch" and rank == 1:
            loss = loss + tf.reduce_sum(extra)
    sources = v + [extra] if mode == "mismatch" and rank == 1 else v
    return hvd.DistributedGradientTape(tape).gradient(loss, sources)


for i in range(5):
    if mode == "raise" and rank == 1 and i == 2:
        raise RuntimeError("rank 1 fails on purpose")
    if mode == "timeout" and rank == 1 and i == 2:
        sys.exit(0)
    if mode == "mismatch":
        try:
            step(i)
        except ValueError as e:
            print("rank %d: ValueError: %s" % (rank, e), flush=True)
            sys.exit(0)
    else:
        step(i)
print("rank %d finished" % rank, flush=True)
