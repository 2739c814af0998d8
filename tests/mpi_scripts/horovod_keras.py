"""A Horovod Keras script, ported by its import (tests/test_distribute.py).

Under mpirun -n 2 each rank trains on its own shard (every other row) of
the digits with DistributedOptimizer and Horovod's callbacks, 32 rows a
step; run by plain python it is the one-process reference on the 64-row
batches the two ranks' batches make together. Writes OUT/<size>_rank<r>.npz
with the final weights, the per-epoch (averaged) logs and the step count."""
import sys

import numpy as np

import fastgrad as tf
import fastgrad.distribute as hvd     # was: import horovod.tensorflow.keras as hvd
from fastgrad import keras
from fastgrad.datasets import load_digits

out = sys.argv[1]
hvd.init()
tf.random.set_seed(hvd.rank())        # different initial weights: the callback must fix them

x, y = load_digits()
x = (x / 16.0).astype(np.float32)[:600]
y = y[:600]
x, y = x[hvd.rank()::hvd.size()], y[hvd.rank()::hvd.size()]

model = keras.models.Sequential([keras.layers.Dense(32, activation="relu", input_shape=(64,)),
                                 keras.layers.Dense(10, activation="softmax")])
# the global batch (64 rows) is fixed here, so the learning rate is too
opt = hvd.DistributedOptimizer(keras.optimizers.Adam(0.005))
model.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit(x, y, batch_size=64 // hvd.size(), epochs=4, verbose=0, shuffle=False,
                    callbacks=[hvd.callbacks.BroadcastGlobalVariablesCallback(0),
                               hvd.callbacks.MetricAverageCallback()])
np.savez(f"{out}/{hvd.size()}_rank{hvd.rank()}.npz", *model.get_weights(),
         loss=np.array(history.history["loss"]), accuracy=np.array(history.history["accuracy"]),
         iterations=np.array(int(opt.iterations.numpy())))
