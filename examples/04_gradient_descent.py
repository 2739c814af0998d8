"""Seeds 000 and 004: gradient descent by hand with ``assign_sub``, then
with ``keras.optimizers.SGD`` and ``apply_gradients``."""
import fastgrad as tf
from fastgrad import keras


def f(x):
    return 3. * x ** 2 + 2. * x - 1             # minimum at x = -1/3


# by hand (seed 000)
learning_rate = 0.1
x = tf.Variable(0.0)
for _ in range(100):
    with tf.GradientTape() as tape:
        z = f(x)
    dz_dx = tape.gradient(z, x)
    x.assign_sub(learning_rate * dz_dx)
print(x)                                        # -0.3333333

# with an optimizer
x = tf.Variable(0.0)
optimizer = keras.optimizers.SGD(lr=learning_rate)
for _ in range(100):
    with tf.GradientTape() as tape:
        z = f(x)
    dz_dx = tape.gradient(z, x)
    optimizer.apply_gradients([(dz_dx, x)])
print(x)                                        # -0.3333333


def f(x):
    return x**2 - x*2 + 1                       # minimum at x = 1 (seed 004)


lerning_rate = 0.1
x = tf.Variable(0.0)
for _ in range(100):
    with tf.GradientTape() as tape:
        z = f(x)
    grad = tape.gradient(z, x)
    x.assign_sub(lerning_rate * grad)
print(x)                                        # 0.9999999

x = tf.Variable(0.0)
optimizer = keras.optimizers.SGD(lr=learning_rate)
for _ in range(100):
    with tf.GradientTape() as tape:
        z = f(x)
    grad = tape.gradient(z, x)
    optimizer.apply_gradients([(grad, x)])
print(x)                                        # 0.9999999
