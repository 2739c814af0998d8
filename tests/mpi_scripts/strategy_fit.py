"""Model.fit under MultiWorkerMirroredStrategy (tests/test_distribute.py).

Run by mpirun -n 2, or by plain python as the one-process reference: the
same script, the same global batches. Writes OUT/<size>_rank<r>.npz."""
import sys

import numpy as np

import fastgrad as tf
from fastgrad import keras
from fastgrad.datasets import load_digits
from fastgrad.distribute import MultiWorkerMirroredStrategy

out, shuffle = sys.argv[1], sys.argv[2] == "shuffle"
strategy = MultiWorkerMirroredStrategy()
import fastgrad.distribute as hvd  # noqa: E402

x, y = load_digits()
x = (x / 16.0).astype(np.float32)[:250]
y = y[:250]
tf.random.set_seed(hvd.rank())  # the strategy must start every worker from rank 0's weights
with strategy.scope():
    model = keras.models.Sequential([keras.layers.Dense(16, activation="tanh", input_shape=(64,)),
                                     keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(0.2), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
model(x[:1])
np.random.seed(123 + hvd.rank())  # fit's shuffle: the strategy uses rank 0's draws
# 250 rows in batches of 32: the last batch (26 rows) splits 13/13, and 250 % 32 = 26
history = model.fit(x, y, batch_size=32, epochs=3, verbose=0, shuffle=shuffle)
np.savez(f"{out}/{strategy.num_replicas_in_sync}_rank{hvd.rank()}.npz", *model.get_weights(),
         loss=np.array(history.history["loss"]), accuracy=np.array(history.history["accuracy"]))
