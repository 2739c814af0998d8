"""A Gaussian process on the diabetes data shipped with fastgrad: disease
progression from three features (bmi, blood pressure, s5) with a
squared-exponential kernel, one length scale per feature (ARD), an
amplitude and a noise level -- five log-parameters fitted with Adam on the
negative log marginal likelihood

    0.5 y^T K^-1 y + sum(log(diag(L))) + n/2 log(2 pi),   K = L L^T,

written with ``tf.linalg.cholesky`` and ``tf.linalg.triangular_solve``.
The step is one ``fastgrad.function``; its gradient runs through the
Cholesky rule (Murray 2016). Then the posterior mean predicts held-out
patients better than their mean does."""
import numpy as np

import fastgrad as tf
from fastgrad import keras
from fastgrad.datasets import load_diabetes, train_test_split

X, y = load_diabetes(scaled=False)
X = X[:, [2, 3, 8]]                                   # bmi, bp, s5
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
mu, sd = X_train.mean(axis=0), X_train.std(axis=0)
y_mu, y_sd = y_train.mean(), y_train.std()
X_train, X_test = (X_train - mu) / sd, (X_test - mu) / sd
y_train, y_test = (y_train - y_mu) / y_sd, (y_test - y_mu) / y_sd
x = tf.constant(X_train)
yv = tf.constant(y_train[:, None])
n = X_train.shape[0]

log_ls = tf.Variable(np.zeros(3))                   # length scales 1 (standardised inputs)
log_amp = tf.Variable(0.0, dtype=tf.float64)
log_noise = tf.Variable(np.log(0.5), dtype=tf.float64)
params = [log_ls, log_amp, log_noise]


def kernel(a, b):
    ls = tf.exp(log_ls)
    d = tf.expand_dims(a / ls, 1) - tf.expand_dims(b / ls, 0)
    return tf.exp(2.0 * log_amp) * tf.exp(-0.5 * tf.reduce_sum(d * d, axis=-1))


def neg_log_marginal_likelihood():
    k = kernel(x, x) + tf.exp(2.0 * log_noise) * tf.eye(n, dtype=tf.float64)
    chol = tf.linalg.cholesky(k)
    alpha = tf.linalg.triangular_solve(chol, yv, lower=True)
    return (0.5 * tf.reduce_sum(tf.square(alpha))
            + tf.reduce_sum(tf.math.log(tf.linalg.diag_part(chol)))
            + 0.5 * n * np.log(2 * np.pi))


optimizer = keras.optimizers.Adam(learning_rate=0.05)


@tf.function
def step():
    with tf.GradientTape() as tape:
        loss = neg_log_marginal_likelihood()
    optimizer.apply_gradients(zip(tape.gradient(loss, params), params))
    return loss


print(f"initial negative log marginal likelihood: {float(neg_log_marginal_likelihood()):.3f}")
for i in range(100):
    loss = step()
    if i % 25 == 0:
        print(f"step {i:3d}: {float(loss):.3f}")
print(f"final negative log marginal likelihood: {float(neg_log_marginal_likelihood()):.3f}")
print("length scales (bmi, bp, s5):", np.round(np.exp(log_ls.numpy()), 3).tolist())
print(f"amplitude {np.exp(float(log_amp)):.3f}, noise {np.exp(float(log_noise)):.3f}")

# posterior mean at the held-out patients: K_* (K + s^2 I)^-1 y
k = kernel(x, x) + tf.exp(2.0 * log_noise) * tf.eye(n, dtype=tf.float64)
weights = tf.linalg.cholesky_solve(tf.linalg.cholesky(k), yv)
pred = tf.matmul(kernel(tf.constant(X_test), x), weights).numpy()[:, 0]
rmse = np.sqrt(np.mean((pred - y_test) ** 2)) * y_sd
baseline = np.sqrt(np.mean(y_test ** 2)) * y_sd
print(f"test rmse: {rmse:.2f} (predicting the training mean: {baseline:.2f})")
