"""Small TF 2 framework functions that eager and traced code calls:
``get_static_value``, ``init_scope`` and TF 1's ``hessians``.

>>> import fastgrad as tf
>>> tf.get_static_value(tf.constant([1, 2]))
array([1, 2], dtype=int32)
"""
import contextlib

from fastgrad import _core, nest
from fastgrad._core import Variable, _TensorBase

__all__ = ["get_static_value", "init_scope", "hessians"]


def get_static_value(tensor, partial=False):
    """The NumPy value of a Tensor (None for a Variable, whose value may
    change; other values are returned as they are), as TF's eager
    ``tf.get_static_value``."""
    if isinstance(tensor, Variable):
        return None
    if isinstance(tensor, _TensorBase):
        return tensor.numpy()
    return tensor


@contextlib.contextmanager
def init_scope():
    """TF's context for code that must run once, outside any trace
    (creating Variables). fastgrad executes eagerly, so it only marks the
    block.

    >>> import fastgrad as tf
    >>> with tf.init_scope():
    ...     v = tf.Variable(1.0)
    """
    yield None


def hessians(ys, xs, gate_gradients=False, aggregation_method=None, name="hessians"):
    """TF 1's ``tf.hessians``: for each x, the Hessian of sum(ys) with
    respect to x, shaped ``x.shape + x.shape``. Inside a traced function
    only; eagerly it raises RuntimeError, as TF does.

    >>> import fastgrad as tf
    >>> @tf.function
    ... def h(x):
    ...     return tf.hessians(tf.reduce_sum(x ** 3), x)[0]
    >>> h(tf.constant([1.0, 2.0])).numpy().tolist()
    [[6.0, 0.0], [0.0, 12.0]]
    """
    from fastgrad.array_ops import reshape, stack
    from fastgrad.function_api import gradients

    xs = nest.flatten(xs)
    out = []
    for x, g in zip(xs, gradients(ys, xs)):
        n = x.shape.num_elements()
        flat = reshape(g, [n])
        rows = [gradients(flat[i], x)[0] for i in range(n)]
        rows = [r if r is not None else _core.zeros(tuple(x.shape), x.dtype._enum) for r in rows]
        out.append(reshape(stack(rows), list(x.shape) + list(x.shape)))
    return out
