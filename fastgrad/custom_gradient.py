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
from fastgrad.errors import InvalidArgumentError

__all__ = ["custom_gradient"]


def _checked(grads, inputs):
    """A gradient must have its input's shape and dtype: the sweep would
    otherwise sum a broadcastable wrong shape down to the input's shape (a
    silent wrong number) or carry a float64 gradient to a float32 input.
    TF fails later (AddN, Mul) or returns the wrong tensor; this fails here."""
    flat = list(grads) if isinstance(grads, (list, tuple)) else [grads]
    if len(flat) != len(inputs):
        return grads  # the count error is raised, with TF's text, by the binding
    for i, (g, x) in enumerate(zip(flat, inputs)):
        if not isinstance(g, _core._TensorBase):
            continue
        if g.dtype != x.dtype:
            raise InvalidArgumentError(
                "custom_gradient function returned a gradient of dtype %s for input #%d(zero-based) "
                "of dtype %s" % (g.dtype.name, i, x.dtype.name))
        if tuple(g.shape) != tuple(x.shape):
            raise InvalidArgumentError(
                "custom_gradient function returned a gradient of shape %s for input #%d(zero-based) "
                "of shape %s" % (list(g.shape), i, list(x.shape)))
    return grads


def custom_gradient(f=None):
    """Decorator: ``f(*args)`` returns ``(y, grad_fn)``; ``grad_fn(dy)`` gives the input gradients.

    When f reads trainable Variables, TF's contract holds: ``grad_fn`` must
    take a ``variables`` keyword and return ``(input_grads, variable_grads)``,
    the latter one per Variable in ``variables``; a ``grad_fn`` without it
    raises TypeError, as TF's does.

    >>> import fastgrad as tf
    >>> w = tf.Variable(2.0)
    >>> @tf.custom_gradient
    ... def scale(x):
    ...     def grad(dy, variables=None):
    ...         return dy * w, [dy * x]
    ...     return x * w, grad
    >>> with tf.GradientTape() as tape:
    ...     y = scale(tf.constant(3.0))
    >>> float(tape.gradient(y, w))
    3.0
    """
    if f is None:
        return custom_gradient

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        from fastgrad.gradient_tape import GradientTape

        # which Variables f reads: a tape watches them on access
        watcher = GradientTape(persistent=True)
        with watcher:
            result, grad_fn = f(*args, **kwargs)
        inputs = [a for a in nest.flatten(list(args)) if isinstance(a, _core._TensorBase)]
        ids = {id(a) for a in inputs}
        variables = [v for v in watcher.watched_variables() if id(v) not in ids]
        params = inspect.signature(grad_fn).parameters
        wants_vars = "variables" in params or any(p.kind == p.VAR_KEYWORD for p in params.values())
        if variables and not wants_vars:
            raise TypeError("@tf.custom_gradient grad_fn must accept keyword argument 'variables', "
                            "since function uses variables: %r" % (variables,))

        def rule(dy):
            if wants_vars:
                gi, gv = grad_fn(dy, variables=variables)
                gi = list(gi) if isinstance(gi, (list, tuple)) else [gi]
                return _checked(gi + list(gv), inputs)
            return _checked(grad_fn(dy), inputs)

        flat = nest.flatten(result)
        if len(flat) != 1:
            # One rule per output would call grad_fn once per output with
            # partial upstreams; TF calls it once with all. Not supported.
            raise ValueError("fastgrad.custom_gradient supports functions with one output tensor")
        return _core.record_custom(inputs + (variables if wants_vars else []), flat[0], rule)

    return wrapper
