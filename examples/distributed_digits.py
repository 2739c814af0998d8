"""The digits classifier of 06_digits_classifier.py, trained data-parallel:

    mpirun -n 2 python examples/distributed_digits.py

Each process is one worker of a MultiWorkerMirroredStrategy: ``fit`` hands
every worker its half of each global batch of 128, the gradients are
averaged over the workers by one fused MPI_Allreduce a step, and every
worker ends with the same weights. Run with plain ``python`` it trains in
one process, and computes the same numbers (to float rounding)."""
import numpy as np

import fastgrad as tf
import fastgrad.distribute as dist
from fastgrad import keras
from fastgrad.datasets import load_digits, train_test_split

strategy = dist.MultiWorkerMirroredStrategy()
chief = dist.rank() == 0            # only one worker prints
np.random.seed(0)                   # fit's shuffle: the strategy uses worker 0's draws
tf.random.set_seed(0)

X, y = load_digits()
X = (X / 16.0).astype(np.float32)   # pixel counts 0..16 -> 0..1
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)

with strategy.scope():
    model = keras.models.Sequential([
        keras.layers.Dense(64, activation="relu", input_shape=(64,)),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.005),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])

model.fit(X_train, y_train, epochs=20, batch_size=128, verbose=2 if chief else 0)
loss, accuracy = model.evaluate(X_test, y_test, verbose=0)

# every worker holds the same model: compare a checksum of the weights
checksum = float(sum(np.abs(w).sum() for w in model.get_weights()))
same = len(set(dist.allgather_object(checksum))) == 1
stats = dist.allreduce_stats()
if chief:
    print(f"workers: {strategy.num_replicas_in_sync}")
    print(f"test loss: {loss:.4f}")
    print(f"test accuracy: {accuracy:.4f}")
    print(f"identical weights on every worker: {same}")
    if stats["allreduce_calls"]:
        print(f"allreduce: {stats['allreduce_calls']} calls, "
              f"{stats['allreduce_bytes'] / stats['allreduce_calls']:.0f} bytes each, "
              f"{1e6 * stats['allreduce_seconds'] / stats['allreduce_calls']:.0f} us each")
