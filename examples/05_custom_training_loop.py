"""Seed 004, section 5.5: a hand-written Keras training loop.

The tutorial trains on California housing (a download); the diabetes data
shipped with fastgrad stands in for it, split and standardised as the
tutorial does with scikit-learn, the target in hundreds so that it has the
scale of the housing prices (units of $100,000).

The loop runs twice. First exactly as the tutorial writes it:
``keras.losses.mean_squared_error(y_hat, y_batch)`` with predictions
[32, 1] and labels [32] broadcasts to [32, 32] in tf.keras (and so in
fastgrad), which trains the model to predict the batch mean; the
validation MSE stays near the variance of the target, as in the
tutorial's own output. Then with labels shaped like the predictions
(``y_batch[:, None]``), which learns.
"""
import numpy as np

import fastgrad as tf
from fastgrad import keras
from fastgrad.datasets import StandardScaler, load_diabetes, train_test_split

# 5.5.1 data and model
X, y = load_diabetes()
y = y / 100.0
X_train_all, X_test, y_train_all, y_test = train_test_split(X, y, random_state=1)
X_train, X_val, y_train, y_val = train_test_split(X_train_all, y_train_all,
                                                  random_state=1)
std_scaler = StandardScaler()
X_train_scaled = std_scaler.fit_transform(X_train)
X_val_scaled = std_scaler.transform(X_val)
X_test_scaled = std_scaler.transform(X_test)
print("train/val/test sizes:", len(X_train), len(X_val), len(X_test))
print(f"variance of y_val: {np.var(y_val):.4f}")

# 5.5.2 a metric keeps a running value until reset
metric = keras.metrics.MeanSquaredError()
print(metric([5.0], [6]))
print(metric([4.0], [6]))

epochs = 100
batch_size = 32
steps = len(X_train) // batch_size


def random_batch(x, y, batch_size=32):
    idx = np.random.randint(0, len(x), size=batch_size)
    return x[idx], y[idx]


def build_model():
    model = keras.models.Sequential()
    model.add(keras.layers.Dense(128, activation='relu', input_shape=X_train.shape[1:]))
    model.add(keras.layers.Dense(1, activation='relu'))
    return model


def train(label_shape):
    np.random.seed(42)
    tf.random.set_seed(42)
    model = build_model()
    optimizer = keras.optimizers.SGD()
    metric = keras.metrics.MeanSquaredError()
    for epoch in range(epochs):
        metric.reset_states()
        for step in range(steps):
            x_batch, y_batch = random_batch(X_train_scaled, y_train, batch_size=32)
            with tf.GradientTape() as tape:
                y_hat = model(x_batch)
                loss = tf.reduce_mean(keras.losses.mean_squared_error(
                    y_hat, label_shape(y_batch)))
                metric(y_batch, y_hat)
            grads = tape.gradient(loss, model.variables)
            grads_and_vars = zip(grads, model.variables)
            optimizer.apply_gradients(grads_and_vars)
        y_valid_hat = model(X_val_scaled)
        valid_loss = tf.reduce_mean(keras.losses.mean_squared_error(
            label_shape(y_val), y_valid_hat))
        if epoch % 20 == 0 or epoch == epochs - 1:
            print('EPOCH:', epoch, 'train_mse', metric.result().numpy(),
                  'valid mse', valid_loss.numpy())
    return model, float(valid_loss)


print("\nthe tutorial's loop, labels [32] against predictions [32, 1]:")
_, valid = train(lambda labels: labels)
print(f"tutorial loop valid mse: {valid:.4f}")

print("\nlabels shaped like the predictions, [32, 1]:")
model, valid = train(lambda labels: labels[:, None])
test_mse = tf.reduce_mean(keras.losses.mean_squared_error(
    y_test[:, None], model(X_test_scaled)))
print(f"final valid mse: {valid:.4f}")
print(f"test mse: {float(test_mse):.4f}")
