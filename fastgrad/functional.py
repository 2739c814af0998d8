"""Functional transforms, as in JAX: ``grad``, ``value_and_grad``,
``jacobian``, ``hessian``, ``hvp``, ``vjp``, ``jvp``.

Each transform runs the function once under a tape or a forward
accumulator and differentiates that recording in C; they compose with each
other (``grad(grad(f))``) and with ``GradientTape`` in either order.
Arguments may be Tensors, NumPy arrays, Python floats or nests (lists,
tuples, dicts) of them; arguments not in ``argnums`` pass through as
given. A differentiated input that the output does not depend on gets
zeros (JAX's convention, not TF's ``None``).

>>> import fastgrad as tf
>>> float(tf.grad(lambda x: x ** 3)(2.0))
12.0
>>> tf.hessian(lambda x: tf.reduce_sum(x ** 3))(tf.constant([1.0, 2.0])).numpy().tolist()
[[6.0, 0.0], [0.0, 12.0]]
"""
import functools
import inspect

from fastgrad import _core, nest
from fastgrad._jacobian import tape_jacobian
from fastgrad.autodiff import ForwardAccumulator
from fastgrad.gradient_tape import GradientTape, UnconnectedGradients

__all__ = ["grad", "value_and_grad", "jacobian", "hessian", "hvp", "vjp", "jvp"]

_ZERO = UnconnectedGradients.ZERO


def _arg_name(f, i):
    try:
        params = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):
        return None
    if i < len(params) and params[i].kind in (params[i].POSITIONAL_ONLY,
                                              params[i].POSITIONAL_OR_KEYWORD):
        return params[i].name
    return None


def _flatten(x):
    # the common case, one tensor, without walking a nest
    return [x] if isinstance(x, _core._TensorBase) else nest.flatten(x)


def _pack(structure, flat):
    if isinstance(structure, _core._TensorBase):
        return flat[0]
    if type(structure) is tuple and all(isinstance(s, _core._TensorBase) for s in structure):
        return tuple(flat)
    return nest.pack_sequence_as(structure, flat)


def _to_float_tensors(f, fname, i, value):
    """value (a nest) with every leaf a floating Tensor; TypeError naming
    argument i otherwise."""
    if isinstance(value, _core._TensorBase) and value.dtype.is_floating:
        return value
    if type(value) is float:
        return _core.convert_to_tensor(value)

    def convert(leaf):
        t = leaf if isinstance(leaf, _core._TensorBase) else _core.convert_to_tensor(leaf)
        if not t.dtype.is_floating:
            name = _arg_name(f, i)
            raise TypeError(
                "%s requires real-valued inputs (a floating dtype), but argument %d%s has dtype "
                "%s. Pass it as a float (e.g. 2.0, not 2), or leave it out of argnums."
                % (fname, i, " (%r)" % name if name else "", t.dtype.name))
        return t
    return nest.map_structure(convert, value)


def _normalize_argnums(argnums, n_args, fname):
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)
    for a in nums:
        if not isinstance(a, int) or not -n_args <= a < n_args:
            raise ValueError("%s: argnums %r out of range for a function called with %d "
                             "positional arguments" % (fname, argnums, n_args))
    return single, tuple(a % n_args for a in nums)


def _diff_args(f, fname, args, argnums):
    """(args with the differentiated ones converted, the structure to
    differentiate with respect to, its flat leaves)."""
    args = list(args)
    single, nums = _normalize_argnums(argnums, len(args), fname)
    for a in nums:
        args[a] = _to_float_tensors(f, fname, a, args[a])
    wrt = args[nums[0]] if single else tuple(args[a] for a in nums)
    return args, wrt, _flatten(wrt)


def _scalar(out, fname):
    y = out if isinstance(out, _core._TensorBase) else _core.convert_to_tensor(out)
    if y.ndim != 0:
        raise ValueError("%s requires a scalar output of f, got an output of shape %s. Use "
                         "jacobian (or vjp) for non-scalar outputs."
                         % (fname, tuple(y.shape)))
    if not y.dtype.is_floating:
        raise TypeError("%s requires a floating scalar output, got dtype %s"
                        % (fname, y.dtype.name))
    return y


def value_and_grad(f, argnums=0, has_aux=False):
    """f and its gradient in one call: ``(value, grad)``, or
    ``((value, aux), grad)`` with ``has_aux=True``.

    >>> import fastgrad as tf
    >>> v, g = tf.value_and_grad(lambda x: x * x)(3.0)
    >>> float(v), float(g)
    (9.0, 6.0)
    """
    @functools.wraps(f)
    def value_and_grad_f(*args, **kwargs):
        args, wrt, leaves = _diff_args(f, "grad", args, argnums)
        with GradientTape() as tape:
            tape.watch(leaves)
            out = f(*args, **kwargs)
        if has_aux:
            if not (isinstance(out, (tuple, list)) and len(out) == 2):
                raise TypeError("has_aux=True requires f to return a pair (output, aux)")
            out, aux = out
        y = _scalar(out, "grad")
        g = tape.gradient(y, wrt, unconnected_gradients=_ZERO)
        return ((y, aux) if has_aux else y), g
    return value_and_grad_f


def grad(f, argnums=0, has_aux=False):
    """The gradient of a scalar function, as a function.

    ``argnums`` (an int or a tuple of ints) picks the arguments; the
    result has their structure (a tuple for a tuple of argnums). With
    ``has_aux=True``, f returns ``(output, aux)`` and the result is
    ``(grad, aux)``. Python control flow in f is fine: it is recorded as
    it runs.

    >>> import fastgrad as tf
    >>> float(tf.grad(tf.sin)(0.0))
    1.0
    >>> float(tf.grad(tf.grad(lambda x: x ** 3))(2.0))
    12.0
    """
    vg = value_and_grad(f, argnums, has_aux)

    @functools.wraps(f)
    def grad_f(*args, **kwargs):
        value, g = vg(*args, **kwargs)
        return (g, value[1]) if has_aux else g
    return grad_f


def jacobian(f, argnums=0, mode=None):
    """The Jacobian of f, as a function: ``out.shape + arg.shape`` per
    output and argument.

    ``mode='rev'`` takes one reverse sweep per output element, ``'fwd'``
    one batched forward sweep over the input elements; ``None`` picks the
    fewer sweeps (and one sweep when the recording shows f is
    elementwise). Outputs may be nests: the result has the output's
    structure, each leaf the structure of the differentiated arguments.

    >>> import fastgrad as tf
    >>> tf.jacobian(lambda x: x * x)(tf.constant([1.0, 2.0])).numpy().tolist()
    [[2.0, 0.0], [0.0, 4.0]]
    """
    if mode not in (None, "rev", "fwd"):
        raise ValueError("mode must be None, 'rev' or 'fwd', got %r" % (mode,))

    @functools.wraps(f)
    def jacobian_f(*args, **kwargs):
        args, wrt, leaves = _diff_args(f, "jacobian", args, argnums)
        with GradientTape(persistent=True) as tape:
            tape.watch(leaves)
            out = f(*args, **kwargs)
        jacs = []
        for o in _flatten(out):
            o = o if isinstance(o, _core._TensorBase) else _core.convert_to_tensor(o)
            if not o.dtype.is_floating:
                raise TypeError("jacobian requires floating outputs, got dtype %s" % o.dtype.name)
            j = tape_jacobian(tape, o, leaves, _ZERO, mode)
            jacs.append(_pack(wrt, j))
        return _pack(out, jacs)
    return jacobian_f


def hessian(f, argnums=0):
    """The Hessian of a scalar function, forward-over-reverse: one
    recording of f and its gradient, then one batched forward sweep.

    For a tuple of argnums the result is nested: ``H[i][j]`` is
    ``d^2 f / d arg_i d arg_j``.

    >>> import fastgrad as tf
    >>> float(tf.hessian(lambda x, y: x * x * y, argnums=(0, 1))(3.0, 2.0)[0][1])
    6.0
    """
    return jacobian(grad(f, argnums), argnums, mode="fwd")


def _as_args(xs):
    return (tuple(xs), False) if isinstance(xs, (tuple, list)) else ((xs,), True)


def jvp(f, primals, tangents):
    """``(f(*primals), J v)`` in one forward pass (a forward accumulator).

    ``primals`` and ``tangents`` are tuples (one entry per argument of f)
    of the same structure; a single tensor is taken as a one-tuple.

    >>> import fastgrad as tf
    >>> y, t = tf.jvp(tf.sin, (0.0,), (2.0,))
    >>> float(y), float(t)
    (0.0, 2.0)
    """
    args, _ = _as_args(primals)
    tans, _ = _as_args(tangents)
    if len(args) != len(tans):
        raise ValueError("jvp: %d primals but %d tangents" % (len(args), len(tans)))
    args = [_to_float_tensors(f, "jvp", i, a) for i, a in enumerate(args)]
    flat_p = nest.flatten(args)
    flat_t = nest.flatten(list(tans))
    if len(flat_p) != len(flat_t):
        raise ValueError("jvp: primals and tangents must have the same structure")
    with ForwardAccumulator(flat_p, flat_t) as acc:
        out = f(*args)
    out_t = nest.map_structure(
        lambda o: o if isinstance(o, _core._TensorBase) else _core.convert_to_tensor(o), out)
    return out_t, acc.jvp(out_t, unconnected_gradients=_ZERO)


def hvp(f, primals, tangents):
    """H·v for a scalar f: forward mode over f's gradient, no Hessian formed.

    ``primals`` and ``tangents`` as for :func:`jvp`; the result has the
    structure of ``primals``, except that one argument gives its tensor,
    not a 1-tuple: JAX's recipe ``jvp(grad(f), (x,), (v,))[1]`` returns
    the array.

    >>> import fastgrad as tf
    >>> x = tf.constant([1.0, 2.0])
    >>> tf.hvp(lambda x: tf.reduce_sum(x ** 3), x, tf.constant([1.0, 0.0])).numpy().tolist()
    [6.0, 0.0]
    """
    args, single = _as_args(primals)
    tans, _ = _as_args(tangents)
    argnums = tuple(range(len(args)))
    g = grad(f, argnums)
    _, hv = jvp(lambda *a: g(*a), tuple(args), tuple(tans))
    return hv[0] if single or len(args) == 1 else hv


def vjp(f, *primals):
    """``(f(*primals), vjp_fn)``; ``vjp_fn(ct)`` returns a tuple with the
    cotangent of each primal (``ct`` has the structure of the output).
    ``vjp_fn`` may be called any number of times.

    >>> import fastgrad as tf
    >>> y, back = tf.vjp(lambda x: x * x, tf.constant([1.0, 2.0]))
    >>> back(tf.constant([1.0, 1.0]))[0].numpy().tolist()
    [2.0, 4.0]
    """
    args = tuple(_to_float_tensors(f, "vjp", i, a) for i, a in enumerate(primals))
    with GradientTape(persistent=True) as tape:
        tape.watch(nest.flatten(list(args)))
        out = f(*args)
    out = nest.map_structure(
        lambda o: o if isinstance(o, _core._TensorBase) else _core.convert_to_tensor(o), out)

    def vjp_fn(ct):
        cts = nest.flatten(ct)
        if len(cts) != len(nest.flatten(out)):
            raise ValueError("vjp_fn: the cotangent must have the structure of f's output")
        g = tape.gradient(out, args, output_gradients=ct, unconnected_gradients=_ZERO)
        return tuple(g)
    return out, vjp_fn
