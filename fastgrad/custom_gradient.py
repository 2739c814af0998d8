"""``custom_gradient``: give a function its own gradient (TF's contract).

The decorated function returns ``(y, grad_fn)``; ``grad_fn(upstream)``
returns the gradient for each tensor input.

>>> import fastgrad as tf
>>> @tf.custom_gradient
... def clip_grad(x):
...     def grad(dy):
...         return tf.clip_by_value(dy, -0.5, 0.5)
...     return tf.identity(x), grad
>>> x = tf.constant(3.0)
>>> with tf.GradientTape() as t:
...     t.watch(x)
...     y = clip_grad(x) * 4.0
>>> float(t.gradient(y, x))
0.5
"""
import functools
import inspect

from fastgrad import _core, nest

__all__ = ["custom_gradient"]


def custom_gradient(f=None):
    """Decorator: ``f(*args)`` returns ``(y, grad_fn)``; ``grad_fn(dy)`` gives the input gradients."""
    if f is None:
        return custom_gradient

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        result, grad_fn = f(*args, **kwargs)
        inputs = [a for a in nest.flatten(list(args)) if isinstance(a, _core._TensorBase)]
        params = inspect.signature(grad_fn).parameters
        wants_vars = "variables" in params or any(p.kind == p.VAR_KEYWORD for p in params.values())
        variables = [a for a in inputs if isinstance(a, _core.Variable)]
        n_args = len(inputs) - (len(variables) if wants_vars else 0)

        def rule(dy):
            if wants_vars:
                gi, gv = grad_fn(dy, variables=variables)
                gi = list(gi) if isinstance(gi, (list, tuple)) else [gi]
                return gi + list(gv)
            return grad_fn(dy)

        if wants_vars:
            inputs = [a for a in inputs if not isinstance(a, _core.Variable)] + variables
        del n_args
        flat = nest.flatten(result)
        if len(flat) != 1:
            # One rule per output would call grad_fn once per output with
            # partial upstreams; TF calls it once with all. Not supported.
            raise ValueError("fastgrad.custom_gradient supports functions with one output tensor")
        return _core.record_custom(inputs, flat[0], rule)

    return wrapper
