"""One process of bench_distribute.py's data-parallel step benchmark.

Run as ``python``, ``mpirun -n 1`` or ``mpirun -n 2`` (FASTGRAD_NUM_THREADS=1
each); rank 0 prints one JSON line per model: the median step time, the
median MPI_Allreduce time per step, the bytes reduced per step.

A step is what Model.fit does under fastgrad.distribute: the forward and
gradient replayed by one fastgrad.function, the gradients reduced by one
fused allreduce (grouped_allreduce: C packing, one MPI_Allreduce), the
Adam update replayed by a second fastgrad.function; "(1 fn)" is the whole
step, DistributedGradientTape included, as one fastgrad.function whose
program holds the allreduce. Each process has its
own batch of the given size (weak scaling, Horovod's convention)."""
import json
import sys
import time

import numpy as np

import fastgrad as tf
import fastgrad.distribute as hvd
from fastgrad import keras

MODELS = {
    "digits": dict(features=64, hidden=(64,), out=10, batch=64),
    "mlp512": dict(features=64, hidden=(512, 512), out=1, batch=256),
}


def bench(name, steps, repeats, one_function):
    cfg = MODELS[name]
    tf.random.set_seed(0)
    layers = [keras.layers.Dense(u, activation="relu") for u in cfg["hidden"]]
    model = keras.models.Sequential(layers + [keras.layers.Dense(cfg["out"])])
    rng = np.random.default_rng(hvd.rank())
    x = tf.constant(rng.normal(size=(cfg["batch"], cfg["features"])).astype(np.float32))
    if cfg["out"] == 1:
        y = tf.constant(rng.normal(size=(cfg["batch"], 1)).astype(np.float32))
        loss_fn = keras.losses.MeanSquaredError()
    else:
        y = tf.constant(rng.integers(0, 10, size=cfg["batch"]))
        loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model(x[:1])
    hvd.broadcast_variables(model.variables, root_rank=0)
    opt = keras.optimizers.Adam(0.001)
    tvars = model.trainable_variables

    @tf.function
    def gradient_step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        return loss, tape.gradient(loss, tvars)

    @tf.function
    def update_step(grads):
        opt.apply_gradients(zip(grads, tvars))

    def split_step():
        loss, grads = gradient_step(x, y)
        update_step(hvd.grouped_allreduce(grads))

    @tf.function
    def whole_step(x, y):
        # the allreduce recorded as an instruction of the program
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = hvd.DistributedGradientTape(tape).gradient(loss, tvars)
        opt.apply_gradients(zip(grads, tvars))

    step = (lambda: whole_step(x, y)) if one_function else split_step

    for _ in range(20):
        step()
    times, reduce_times = [], []
    for _ in range(repeats):
        s0 = hvd.allreduce_stats()
        hvd.allgather_object(None)  # start each block together
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        times.append((time.perf_counter() - t0) / steps)
        s1 = hvd.allreduce_stats()
        reduce_times.append((s1["allreduce_seconds"] - s0["allreduce_seconds"]) / steps)
        nbytes = (s1["allreduce_bytes"] - s0["allreduce_bytes"]) / steps
    return {"model": name + (" (1 fn)" if one_function else ""), "processes": hvd.size(), "mpi": hvd.mpi_enabled(),
            "step_us": 1e6 * float(np.median(times)),
            "allreduce_us": 1e6 * float(np.median(reduce_times)),
            "bytes_per_step": int(nbytes) if hvd.mpi_enabled() else
            4 * sum(int(np.prod(v.shape)) for v in tvars),
            "params": sum(int(np.prod(v.shape)) for v in tvars)}


if __name__ == "__main__":
    hvd.init()
    steps, repeats = int(sys.argv[1]), int(sys.argv[2])
    for name in MODELS:
        for one_function in (False, True):
            r = bench(name, steps, repeats, one_function)
            if hvd.rank() == 0:
                print(json.dumps(r), flush=True)
