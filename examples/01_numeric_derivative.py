"""Seeds 000 and 004: derivatives by central differences, then by tape.

Plain Python first, exactly as the tutorials compute it, then
``fastgrad.test.approximate_derivative`` which does the same thing on the
values as given, and finally the exact derivative from a GradientTape.
"""
import fastgrad as tf


def f(x):
    return 3. * x ** 2 + 2. * x - 1


def approximate_derivative(f, x, eps=1e-3):
    return (f(x + eps) - f(x - eps)) / (2. * eps)


print(approximate_derivative(f, 1.))            # 7.999999999999119


def g(x1, x2):
    return (x1 + 5) * (x2 ** 2)


def approximate_gradient(g, x1, x2, eps=1e-3):
    dg_x1 = approximate_derivative(lambda x: g(x, x2), x1, eps)
    dg_x2 = approximate_derivative(lambda x: g(x1, x), x2, eps)
    return dg_x1, dg_x2


print(approximate_gradient(g, 2., 3.))          # (8.999999999993236, 41.999999999994486)

# fastgrad ships the same helper
print(tf.test.approximate_derivative(f, 1.))    # 7.999999999999119

# and the tape gives the exact value
x = tf.Variable(1.0)
with tf.GradientTape() as tape:
    y = f(x)
print(tape.gradient(y, x))                      # 8.0
