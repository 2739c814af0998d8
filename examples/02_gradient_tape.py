"""Seeds 000, 001, 002 and 004: GradientTape, watch, several sources and
targets, gradients of intermediate values and of Python control flow."""
import fastgrad as tf


def g(x1, x2):
    return (x1 + 5) * (x2 ** 2)


# one tape, one gradient (seed 000)
x1 = tf.Variable(2.0)
x2 = tf.Variable(3.0)
with tf.GradientTape() as tape:
    z = g(x1, x2)
dz_x1 = tape.gradient(z, x1)
print(dz_x1)                                    # 9.0

# a non-persistent tape is used up by one gradient call
try:
    dz_x2 = tape.gradient(z, x2)
except RuntimeError as ex:
    print(ex)

# both partial derivatives at once
x1 = tf.Variable(2.0)
x2 = tf.Variable(3.0)
with tf.GradientTape() as tape:
    z = g(x1, x2)
print(tape.gradient(z, [x1, x2]))               # [9.0, 42.0]

# constants are not watched ...
x1 = tf.constant(2.0)
x2 = tf.constant(3.0)
with tf.GradientTape() as tape:
    z = g(x1, x2)
print(tape.gradient(z, [x1, x2]))               # [None, None]

# ... unless asked to
with tf.GradientTape() as tape:
    tape.watch(x1)
    tape.watch(x2)
    z = g(x1, x2)
print(tape.gradient(z, [x1, x2]))               # [9.0, 42.0]

# seed 004: z = x1**2 + x2**3
x1 = tf.Variable(2.0)
x2 = tf.Variable(3.0)
with tf.GradientTape() as tape:
    z = x1 ** 2 + x2 ** 3
print(tape.gradient(z, [x1, x2]))               # [4.0, 27.0]

# several targets: the gradient of their sum
x = tf.Variable(5.0)
with tf.GradientTape() as tape:
    z1 = 3 * x
    z2 = x ** 2
print(tape.gradient([z1, z2], x))               # 13.0

# seed 001: reduce_sum and multiply; gradients of an intermediate value
x = tf.ones((2, 2))
with tf.GradientTape(persistent=True) as t:
    t.watch(x)
    y = tf.reduce_sum(x)
    z = tf.multiply(y, y)
dz_dx = t.gradient(z, x)
for i in [0, 1]:
    for j in [0, 1]:
        assert dz_dx[i][j].numpy() == 8.0
dz_dy = t.gradient(z, y)
assert dz_dy.numpy() == 8.0
del t
print("dz/dx =", dz_dx.numpy().tolist(), " dz/dy =", dz_dy.numpy())


# seed 001: Python control flow is recorded as it runs
def f(x, y):
    output = 1.0
    for i in range(y):
        if i > 1 and i < 5:
            output = tf.multiply(output, x)
    return output


def grad(x, y):
    with tf.GradientTape() as t:
        t.watch(x)
        out = f(x, y)
    return t.gradient(out, x)


x = tf.convert_to_tensor(2.0)
assert grad(x, 6).numpy() == 12.0
assert grad(x, 5).numpy() == 12.0
assert grad(x, 4).numpy() == 4.0
print("control flow:", grad(x, 6).numpy(), grad(x, 5).numpy(), grad(x, 4).numpy())

# seed 002: y = 2 x^T x for a column vector; dy/dx = 4x
x = tf.reshape(tf.Variable(range(4), dtype=tf.float32), (4, 1))
with tf.GradientTape() as t:
    t.watch(x)
    y = 2 * tf.matmul(tf.transpose(x), x)
dy_dx = t.gradient(y, x)
print(dy_dx)                                    # [[0], [4], [8], [12]]
