"""The small training problem the MPI tests run, with and without MPI.

A 8-16-3 tanh MLP, mean squared error, plain SGD: ``train`` runs ``steps``
steps where each process takes its contiguous slice of every batch and
``wrap_tape`` (DistributedGradientTape) averages the gradients; without a
wrapper, on the whole batch, it is the single-process reference.
"""
import numpy as np

import fastgrad as tf

STEPS, BATCH, LR = 5, 12, 0.1


def data():
    r = np.random.RandomState(7)
    x = r.normal(size=(STEPS, BATCH, 8)).astype(np.float32)
    y = r.normal(size=(STEPS, BATCH, 3)).astype(np.float32)
    return x, y


def weights():
    r = np.random.RandomState(3)
    return [tf.Variable(r.normal(scale=0.5, size=s).astype(np.float32), name=n)
            for n, s in (("w1", (8, 16)), ("b1", (16,)), ("w2", (16, 3)), ("b2", (3,)))]


def loss_fn(v, x, y):
    h = tf.tanh(tf.matmul(x, v[0]) + v[1])
    return tf.reduce_mean(tf.square(tf.matmul(h, v[2]) + v[3] - y))


def train(variables, rank=0, size=1, wrap_tape=None, on_grads=None):
    x, y = data()
    lo, hi = rank * BATCH // size, (rank + 1) * BATCH // size
    losses = []
    for step in range(STEPS):
        with tf.GradientTape() as tape:
            loss = loss_fn(variables, x[step, lo:hi], y[step, lo:hi])
        if wrap_tape is not None:
            tape = wrap_tape(tape)
        grads = tape.gradient(loss, variables)
        if on_grads is not None:
            on_grads(grads)
        for v, g in zip(variables, grads):
            v.assign_sub(LR * g)
        losses.append(float(loss))
    return losses
