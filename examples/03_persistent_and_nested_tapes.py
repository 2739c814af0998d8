"""Seeds 000-004: persistent tapes, higher-order derivatives with nested
tapes, and TF 1's ``tf.gradients`` inside a ``tf.function`` (seed 003)."""
import warnings

import fastgrad as tf


def g(x1, x2):
    return (x1 + 5) * (x2 ** 2)


# persistent: several gradient calls (seed 000)
x1 = tf.Variable(2.0)
x2 = tf.Variable(3.0)
with tf.GradientTape(persistent=True) as tape:
    z = g(x1, x2)
dz_x1 = tape.gradient(z, x1)
dz_x2 = tape.gradient(z, x2)
print(dz_x1, dz_x2)                             # 9.0 42.0
del tape

# seed 004: x1**2 + x2**3
x1 = tf.Variable(2.0)
x2 = tf.Variable(3.0)
with tf.GradientTape(persistent=True) as tape:
    z = x1 ** 2 + x2 ** 3
print(tape.gradient(z, x1))                     # 4.0
print(tape.gradient(z, x2))                     # 27.0
del tape

# seed 001: y = x*x, z = y*y at x = 3
x = tf.constant(3.0)
with tf.GradientTape(persistent=True) as t:
    t.watch(x)
    y = x * x
    z = y * y
dz_dx = t.gradient(z, x)  # 108.0 (4*x^3 at x = 3)
dy_dx = t.gradient(y, x)  # 6.0
del t
print(dz_dx.numpy(), dy_dx.numpy())             # 108.0 6.0

# seed 002: gradient inside the persistent tape's context (warns, as TF)
x = tf.reshape(tf.Variable(range(4), dtype=tf.float32), (4, 1))
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    with tf.GradientTape(persistent=True) as g_tape:
        g_tape.watch(x)
        y = x * x
        z = y * y
        dz_dx = g_tape.gradient(z, x)
        dy_dx = g_tape.gradient(y, x)
print(dz_dx.numpy().ravel().tolist(), dy_dx.numpy().ravel().tolist())
# [0, 4, 32, 108] [0, 2, 4, 6]

# second derivatives with nested tapes (seed 000)
x1 = tf.Variable(2.0)
x2 = tf.Variable(3.0)
with tf.GradientTape(persistent=True) as outer_tape:
    with tf.GradientTape(persistent=True) as inner_tape:
        z = g(x1, x2)
    inner_grads = inner_tape.gradient(z, [x1, x2])
outer_grads = [outer_tape.gradient(inner_grad, [x1, x2])
               for inner_grad in inner_grads]
print(outer_grads)                              # [[None, 6.0], [6.0, 14.0]]
del inner_tape
del outer_tape

# seed 004: z = x1**2 + x2 + 1
x1 = tf.Variable(2.0)
x2 = tf.Variable(3.0)
with tf.GradientTape(persistent=True) as outer_tape:
    with tf.GradientTape(persistent=True) as inner_tape:
        z = x1 ** 2 + x2 + 1
    inner_grads = inner_tape.gradient(z, [x1, x2])
outer_grads = [outer_tape.gradient(inner_grad, [x1, x2])
               for inner_grad in inner_grads]
print(outer_grads)                              # [[2.0, None], [None, None]]
del inner_tape
del outer_tape

# seed 001: the gradient taken inside the outer tape is differentiable
x = tf.Variable(1.0)
with tf.GradientTape() as t:
    with tf.GradientTape() as t2:
        y = x * x * x
    dy_dx = t2.gradient(y, x)
d2y_dx2 = t.gradient(dy_dx, x)
assert dy_dx.numpy() == 3.0
assert d2y_dx2.numpy() == 6.0
print(dy_dx.numpy(), d2y_dx2.numpy())           # 3.0 6.0

# seed 003: nested tapes through concat, y = X**4
x = tf.constant([[4.0], [1.0]])
t = tf.constant([[4.0], [1.0]]) * 2.0
X = tf.concat([x, t], 1)
with tf.GradientTape() as tape1:
    tape1.watch(X)
    with tf.GradientTape() as tape2:
        tape2.watch(X)
        y = X * X * X * X
        g1 = tape2.gradient(y, X)
    gg1 = tape1.gradient(g1, X)
print(g1.numpy().tolist())                      # [[256, 2048], [4, 32]]
print(gg1.numpy().tolist())                     # [[192, 768], [12, 48]]

# ... and one mixed partial: d/dX of the second column of the gradient
with tf.GradientTape() as tape1:
    tape1.watch(X)
    with tf.GradientTape() as tape2:
        tape2.watch(X)
        y = X * X * X * X
        g1 = tape2.gradient(y, X)
    g1_t = g1[:, 1:2]
gg1_t = tape1.gradient(g1_t, X)
print(g1_t.numpy().tolist())                    # [[2048], [32]]
print(gg1_t.numpy().tolist())                   # [[0, 768], [0, 48]]


# seed 003: TF 1's tf.gradients works inside a tf.function ...
def gra_fun(X):
    w = tf.constant([[2.0], [1.0]])
    return tf.tanh(tf.matmul(X, w))


@tf.function
def graph_gradients(x, t):
    X = tf.concat([x, t], 1)
    y = gra_fun(X)
    g1 = tf.gradients(y, x)[0]
    g2 = tf.gradients(y, t)[0]
    gg1 = tf.gradients(g1, x)[0]
    ggg1 = tf.gradients(gg1, x)[0]
    return g1, g2, gg1, ggg1


ones = tf.ones([4, 1])
for name, value in zip(["g1", "g2", "gg1", "ggg1"], graph_gradients(ones, ones)):
    print(name, f"{float(value[0, 0]):.8f}")
# g1 0.01973224, g2 0.00986612, gg1 -0.07853862, ggg1 0.31104344

# ... and eagerly tells you to use a GradientTape
try:
    tf.gradients(ones, ones)
except RuntimeError as ex:
    print("eager tf.gradients:", type(ex).__name__)
