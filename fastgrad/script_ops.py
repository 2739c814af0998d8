"""``py_function`` and ``numpy_function``: call Python from tensor code, as
TF 2 does.

``py_function`` passes Tensors and is differentiable with respect to its
inputs: the gradient is what a tape sees of the fastgrad ops the function
ran (zero for values it computed outside fastgrad, None for Variables it
read without taking them as inputs, as TF). ``numpy_function`` passes
NumPy arrays and returns values no gradient flows through.

Inside a ``fastgrad.function`` both must call Python at every call, which a
compiled replay cannot do, so such a function runs eagerly (one warning
says so).

>>> import fastgrad as tf
>>> x = tf.constant(3.0)
>>> with tf.GradientTape() as tape:
...     tape.watch(x)
...     y = tf.py_function(lambda a: a ** 3, [x], Tout=tf.float32)
>>> float(y), float(tape.gradient(y, x))
(27.0, 27.0)
"""
import functools
import traceback

import numpy as np

from fastgrad import _core, nest
from fastgrad._core import Variable, _TensorBase, convert_to_tensor
from fastgrad.dtypes import as_dtype

__all__ = ["py_function", "numpy_function", "eager_py_func"]


def _missing_tout():
    return TypeError("Missing required argument: 'Tout'\n  If using tf.py_function as a decorator, "
                     "set `Tout`\n  **by name** above the function:\n  `@tf.py_function(Tout=tout)`")


def _inputs(inp):
    if isinstance(inp, _TensorBase):
        if inp.ndim == 0:
            raise TypeError("Cannot iterate over a scalar tensor.")
        inp = list(inp)
    # Variables are read: a py_function sees (and differentiates) their values
    return [x.value() if isinstance(x, Variable) else convert_to_tensor(x) for x in inp]


def _convert(value, dtype):
    if isinstance(value, Variable):
        raise RuntimeError(
            "Attempting to return a variable from an eagerly executed py_func. Only numeric data "
            "structures like Tensors or NumPy arrays should be returned; to return the value of a "
            "variable, make sure to obtain the Tensor backing it by calling `.read_value()` on the "
            "variable in question: %s" % (value,))
    return convert_to_tensor(value, dtype)


def py_function(func=None, inp=None, Tout=None, name=None):
    """Run ``func`` on ``inp`` (Tensors) and return its results as Tensors
    of the dtypes ``Tout`` (one dtype: a Tensor; a list: a list).

    Usable as ``@tf.py_function(Tout=...)`` too.
    """
    if Tout is None:
        raise _missing_tout()
    if func is None:
        return lambda f: functools.wraps(f)(lambda *args: py_function(f, args, Tout, name))
    if not callable(func):
        raise ValueError("Expected func to be callable. Received func=%s of type %s." % (func, type(func)))
    many = isinstance(Tout, (list, tuple))
    dtypes = [as_dtype(t) for t in (Tout if many else [Tout])]
    args = _inputs(inp)
    _core._trace_unsupported("tf.py_function")
    from fastgrad.gradient_tape import GradientTape, UnconnectedGradients

    sources = [a for a in args if a.dtype.is_floating]
    recording = bool(sources) and _core.tapes_recording()
    inner = GradientTape(persistent=True, watch_accessed_variables=False) if recording else None
    try:
        if recording:
            with inner:
                inner.watch(sources)
                outs = _outputs(func(*args), dtypes)
        else:
            outs = _outputs(func(*args), dtypes)
    except Exception as e:
        raise _op_error(e) from e
    if outs is None:
        return [] if many else None
    if recording:
        outs = [_through(inner, o, sources, UnconnectedGradients.ZERO) if o.dtype.is_floating else o
                for o in outs]
    return outs if many else outs[0]


def _op_error(e):
    """A Python exception raised inside a py_function, as TF reports it: an
    InvalidArgumentError for a ValueError or TypeError, else UnknownError,
    with the exception's name, text and traceback."""
    from fastgrad import errors
    cls = errors.InvalidArgumentError if isinstance(e, (ValueError, TypeError)) else errors.UnknownError
    if isinstance(e, errors.OpError):
        text = "%s: %s" % (type(e).__name__, e)
    else:
        text = "".join(traceback.format_exception_only(type(e), e)).rstrip("\n")
    tb = "".join(traceback.format_tb(e.__traceback__))
    return cls(None, None, "%s\nTraceback (most recent call last):\n\n%s\n%s\n\n [Op:EagerPyFunc]"
               % (text, tb, text))


def _outputs(ret, dtypes):
    if ret is None:
        return None
    if isinstance(ret, (list, tuple)):
        return [_convert(x, d) for x, d in zip(ret, dtypes)]
    return [_convert(ret, dtypes[0])]


def _through(inner, output, sources, zero):
    """output, carrying a rule that sends its gradient to ``sources`` as the
    inner tape saw the function compute it."""
    def rule(dy):
        return inner.gradient(output, sources, output_gradients=dy, unconnected_gradients=zero)
    return _core.record_custom(sources, output, rule)


eager_py_func = py_function


def numpy_function(func=None, inp=None, Tout=None, stateful=True, name=None):
    """Run ``func`` on NumPy copies of ``inp`` and return its results as
    Tensors (one result: a Tensor; several: a list). No gradient flows
    through. As TF's eager ``numpy_function``, the results keep the dtypes
    ``func`` gave them (``Tout`` is required but does not convert).

    >>> import numpy as np
    >>> import fastgrad as tf
    >>> tf.numpy_function(np.sinh, [tf.constant([0.0, 1.0])], tf.float32).numpy()
    array([0.       , 1.1752012], dtype=float32)
    """
    if Tout is None:
        raise _missing_tout()
    if func is None:
        return lambda f: functools.wraps(f)(lambda *args: numpy_function(f, args, Tout, stateful, name))
    _core._trace_unsupported("tf.numpy_function")
    if isinstance(inp, _TensorBase):
        inp = list(inp)
    ret = func(*[np.array(x) for x in inp])
    flat = [x if x is None else convert_to_tensor(x) for x in nest.flatten(ret)]
    return flat[0] if len(flat) == 1 else flat
