"""A short tour of fastgrad, run by ``python -m fastgrad``.

It runs the TensorFlow tutorial examples (numeric derivatives, tapes and
``watch``, persistent and nested tapes, gradient descent by hand and with
``keras.optimizers.SGD``), trains a small regressor (Dense(128, relu) ->
Dense(1)) on the diabetes data with ``model.fit`` and its progress bar, and
times one step of a custom training loop. ``--plot FILE.png`` saves the training and
validation loss curves (needs matplotlib).
"""
import argparse
import statistics
import sys
import time

import numpy as np

import fastgrad as tf
from fastgrad import keras
from fastgrad.datasets import StandardScaler, load_diabetes, train_test_split

__all__ = ["main"]


def _duration(seconds):
    """A duration in the unit its magnitude reads best in: 850 ns, 12.3 µs, 29.0 ms, 1.2 s."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return "%.1f %s" % (seconds / scale, unit)
    return "%.0f ns" % (seconds * 1e9)


def _section(title):
    print(f"\n== {title} ==")


def numeric_derivative():
    _section("1. a derivative by central differences, and by tape")

    def f(x):
        return 3. * x ** 2 + 2. * x - 1

    def approximate_derivative(f, x, eps=1e-3):
        return (f(x + eps) - f(x - eps)) / (2. * eps)

    print("approximate_derivative(f, 1.) =", approximate_derivative(f, 1.))
    x = tf.Variable(1.0)
    with tf.GradientTape() as tape:
        y = f(x)
    print("tape.gradient(f(x), x)        =", tape.gradient(y, x))


def tapes():
    _section("2. GradientTape and watch")
    x1, x2 = tf.Variable(2.0), tf.Variable(3.0)
    with tf.GradientTape() as tape:
        z = (x1 + 5) * (x2 ** 2)
    print("d/dx1, d/dx2 of (x1 + 5) * x2**2:", tape.gradient(z, [x1, x2]))
    try:
        tape.gradient(z, x2)
    except RuntimeError as ex:
        print("a second call on the same tape:", ex)
    c1, c2 = tf.constant(2.0), tf.constant(3.0)
    with tf.GradientTape() as tape:
        z = (c1 + 5) * (c2 ** 2)
    print("constants, not watched:", tape.gradient(z, [c1, c2]))
    with tf.GradientTape() as tape:
        tape.watch(c1)
        z = (c1 + 5) * (c2 ** 2)
    print("c1 watched:", tape.gradient(z, [c1, c2]))


def higher_order():
    _section("3. persistent and nested tapes")
    x1, x2 = tf.Variable(2.0), tf.Variable(3.0)
    with tf.GradientTape(persistent=True) as outer:
        with tf.GradientTape(persistent=True) as inner:
            z = (x1 + 5) * (x2 ** 2)
        inner_grads = inner.gradient(z, [x1, x2])
    hessian = [outer.gradient(g, [x1, x2]) for g in inner_grads]
    del inner, outer
    print("second derivatives of (x1 + 5) * x2**2:")
    for row in hessian:
        print("   ", [None if h is None else float(h) for h in row])


def gradient_descent():
    _section("4. gradient descent: by hand, then with keras.optimizers.SGD")

    def f(x):
        return x ** 2 - x * 2 + 1

    x = tf.Variable(0.0)
    for _ in range(100):
        with tf.GradientTape() as tape:
            z = f(x)
        x.assign_sub(0.1 * tape.gradient(z, x))
    print("assign_sub:      ", x)
    x = tf.Variable(0.0)
    optimizer = keras.optimizers.SGD(lr=0.1)
    for _ in range(100):
        with tf.GradientTape() as tape:
            z = f(x)
        optimizer.apply_gradients([(tape.gradient(z, x), x)])
    print("apply_gradients: ", x)


def diabetes_data():
    X, y = load_diabetes()
    y = y / 100.0  # in hundreds: the scale of the tutorial's housing target
    X_train_all, X_test, y_train_all, y_test = train_test_split(X, y, random_state=1)
    X_train, X_val, y_train, y_val = train_test_split(X_train_all, y_train_all,
                                                      random_state=1)
    scaler = StandardScaler()
    return (scaler.fit_transform(X_train), y_train,
            scaler.transform(X_val), y_val)


def regressor(n_features):
    model = keras.models.Sequential()
    model.add(keras.layers.Dense(128, activation="relu", input_shape=(n_features,)))
    model.add(keras.layers.Dense(1, activation="relu"))
    return model


def train(epochs):
    _section("5. a Dense(128, relu) -> Dense(1) regressor on the diabetes data, with model.fit")
    np.random.seed(42)
    tf.random.set_seed(42)
    X_train, y_train, X_val, y_val = diabetes_data()
    model = regressor(X_train.shape[1])
    model.summary()
    model.compile(optimizer=keras.optimizers.SGD(), loss="mse", metrics=["mae"])
    history = model.fit(X_train, y_train, epochs=epochs, batch_size=32,
                        validation_data=(X_val, y_val))
    print(f"final validation MSE {history.history['val_loss'][-1]:.4f}, "
          f"variance of the target {np.var(y_val):.4f}")
    return model, history, (X_train, y_train)


def time_training_step(model, x_batch, y_batch, steps=200, repeats=5, traced=False):
    """Median seconds of one step of a custom training loop: forward pass,
    loss, gradient and SGD update on one batch; with ``traced`` the step
    is a fastgrad.function (recorded once, replayed in C)."""
    optimizer = keras.optimizers.SGD(learning_rate=1e-4)
    x_batch = tf.constant(np.asarray(x_batch, dtype=np.float32))
    y_batch = tf.constant(np.asarray(y_batch, dtype=np.float32).reshape(-1, 1))
    variables = model.trainable_variables

    def step():
        with tf.GradientTape() as tape:
            y_hat = model(x_batch)
            loss = tf.reduce_mean(keras.losses.mean_squared_error(y_batch, y_hat))
        grads = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(grads, variables))

    if traced:
        step = tf.function(step)
    for _ in range(10):
        step()
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        timings.append((time.perf_counter() - start) / steps)
    return statistics.median(timings)


def speed(model, X, y):
    _section("6. speed")
    rng = np.random.default_rng(0)
    idx = rng.integers(0, len(X), size=32)
    eager = time_training_step(model, X[idx], y[idx])
    traced = time_training_step(model, X[idx], y[idx], traced=True)
    print(f"one training step: {_duration(eager)} eager, {_duration(traced)} as a fastgrad.function "
          "(Dense(128, relu) -> Dense(1), batch 32; forward + gradient + SGD update)")
    mlp = keras.models.Sequential([
        keras.layers.Dense(512, activation="relu", input_shape=(64,)),
        keras.layers.Dense(512, activation="relu"),
        keras.layers.Dense(1)])
    x = rng.normal(size=(256, 64))
    t = time_training_step(mlp, x, x[:, 0], steps=20, repeats=3)
    print(f"one training step: {_duration(t)} (64 -> 512 -> 512 -> 1 MLP, batch 256)")


def plot(history, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    epochs = range(1, len(history.history["loss"]) + 1)
    ax.plot(epochs, history.history["loss"], label="training loss")
    ax.plot(epochs, history.history["val_loss"], label="validation loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean squared error")
    ax.set_title("Dense(128, relu) -> Dense(1) on the diabetes data")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m fastgrad",
        description="A short tour of fastgrad: the TensorFlow tutorial examples, "
                    "a Keras-style training run and the time of one step.")
    parser.add_argument("--plot", metavar="FILE.png",
                        help="save the training and validation loss curves")
    parser.add_argument("--epochs", type=int, default=30,
                        help="epochs of the training run (default 30)")
    args = parser.parse_args(argv)
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            print("python -m fastgrad: --plot needs matplotlib, which is not "
                  "installed (pip install matplotlib)", file=sys.stderr)
            return 2

    start = time.perf_counter()
    print(f"fastgrad {getattr(tf, '__version__', '')}".rstrip())
    numeric_derivative()
    tapes()
    higher_order()
    gradient_descent()
    model, history, (X, y) = train(args.epochs)
    speed(model, X, y)
    if args.plot:
        plot(history, args.plot)
        print(f"loss curves saved to {args.plot}")
    print(f"\ntour finished in {time.perf_counter() - start:.1f} s")
    return 0
