"""``fastgrad.test``: checking derivatives against central differences.

The seed tutorials check a tape's gradient by hand with a central
difference; these helpers do the same, the TF way (``compute_gradient``
lays its Jacobians out as ``tf.test.compute_gradient`` does) and as an
assertion (``check_gradients``).

>>> import fastgrad as tf
>>> tf.test.approximate_derivative(lambda x: 3. * x ** 2 + 2. * x - 1, 1.)
7.999999999999119
"""
import numpy as np

from fastgrad import _core
from fastgrad.gradient_tape import GradientTape

__all__ = ["approximate_derivative", "compute_gradient", "check_gradients"]


def approximate_derivative(f, x, eps=1e-3):
    """Central difference ``(f(x + eps) - f(x - eps)) / (2 * eps)``.

    Computed on ``x`` exactly as given: Python floats stay Python floats
    (so the seeds' ``7.999999999999119`` comes back), Tensors use tensor
    arithmetic in their own dtype.

    >>> approximate_derivative(lambda x: x * x, 3.0)
    5.999999999999339
    """
    return (f(x + eps) - f(x - eps)) / (2. * eps)


def _as_array(v):
    if isinstance(v, _core._TensorBase):
        return v.numpy()
    return np.asarray(v)


def _float_inputs(xs, fname):
    if not isinstance(xs, (list, tuple)):
        raise ValueError("`x` must be a list or tuple of tensors (the arguments of f), got %r"
                         % type(xs).__name__)
    out = []
    for i, x in enumerate(xs):
        t = x if isinstance(x, _core._TensorBase) else _core.convert_to_tensor(x)
        if not t.dtype.is_floating:
            raise TypeError("%s: argument %d has dtype %s; derivatives need a floating dtype"
                            % (fname, i, t.dtype.name))
        out.append(np.array(t.numpy(), copy=True))
    return out


def _theoretical(f, arrays, y_size):
    """Rows of the Jacobian, one reverse sweep per output element."""
    xs = [_core.constant(a) for a in arrays]
    with GradientTape(persistent=True) as tape:
        for x in xs:
            tape.watch(x)
        y = _core.convert_to_tensor(f(*xs))
    jac = tape.jacobian(y, xs, unconnected_gradients="zero")
    return [np.asarray(j.numpy(), dtype=a.dtype).reshape(y_size, a.size)
            for j, a in zip(jac, arrays)]


def _numerical(f, arrays, delta, y_size):
    out = []
    for k, a in enumerate(arrays):
        jac = np.zeros((y_size, a.size), dtype=a.dtype)
        flat = a.reshape(-1)
        for j in range(a.size):
            orig = flat[j]
            flat[j] = orig + delta
            y_pos = _as_array(f(*[_core.constant(b) for b in arrays])).astype(np.float64)
            flat[j] = orig - delta
            y_neg = _as_array(f(*[_core.constant(b) for b in arrays])).astype(np.float64)
            flat[j] = orig
            jac[:, j] = ((y_pos - y_neg) / (2 * delta)).reshape(-1)
        out.append(jac)
    return out


def compute_gradient(f, xs, delta=None):
    """Theoretical and numerical Jacobians of ``f(*xs)``, as ``tf.test.compute_gradient``.

    Returns ``(theoretical, numerical)``: tuples with one 2-D array per
    argument, of shape ``(y.size, x.size)``. ``delta`` (default 1/1024,
    exact in binary, as TF) is the central-difference step.

    >>> import fastgrad as tf
    >>> th, nu = tf.test.compute_gradient(lambda x: x * x, [tf.constant([1.0, 2.0])])
    >>> th[0].tolist()
    [[2.0, 0.0], [0.0, 4.0]]
    """
    arrays = _float_inputs(xs, "compute_gradient")
    if delta is None:
        delta = 1.0 / 1024
    y = _as_array(f(*[_core.constant(a) for a in arrays]))
    theoretical = _theoretical(f, arrays, y.size)
    numerical = _numerical(f, arrays, delta, y.size)
    return tuple(theoretical), tuple(numerical)


def _gradient_function(f):
    """xs -> the gradients of sum(f(xs)) w.r.t. every x, flattened and
    concatenated: its Jacobian holds every second derivative."""
    from fastgrad.array_ops import concat, reshape

    def grads(*xs):
        with GradientTape() as tape:
            for x in xs:
                tape.watch(x)
            y = _core.convert_to_tensor(f(*xs))
        gs = tape.gradient(y, list(xs), unconnected_gradients="zero")
        return concat([reshape(g, [-1]) for g in gs], 0)
    return grads


def _default_step(dtype):
    # central differences: truncation ~h^2, rounding ~eps/h; h ~ eps^(1/3)
    return 2.0 ** -17 if dtype == np.float64 else 2.0 ** -7


def _default_tols(dtype):
    return (1e-6, 1e-7) if dtype == np.float64 else (2e-2, 2e-3)


def check_gradients(f, xs, order=1, modes=("rev",), rtol=None, atol=None, delta=None):
    """Assert that f's derivatives (to ``order``) match central differences.

    ``modes`` chooses how the analytic Jacobian is computed: ``"rev"``
    (reverse sweeps) and ``"fwd"`` (a batched forward sweep, the op
    table's JVP rules; at ``order=2`` forward-over-reverse). The
    ``AssertionError`` names the worst element: which output, which
    argument and index, both values and the error.

    >>> import fastgrad as tf
    >>> tf.test.check_gradients(tf.sin, [tf.constant([0.5, 1.0], tf.float64)], order=2)
    >>> tf.test.check_gradients(tf.exp, [tf.constant([0.5, 1.0], tf.float64)], modes=("rev", "fwd"))
    """
    arrays = _float_inputs(xs, "check_gradients")
    if order not in (1, 2):
        raise ValueError("order must be 1 or 2, got %r" % (order,))
    dtype = np.result_type(*[a.dtype for a in arrays])
    r0, a0 = _default_tols(dtype)
    rtol = r0 if rtol is None else rtol
    atol = a0 if atol is None else atol
    step = _default_step(dtype) if delta is None else delta
    fn = f if order == 1 else _gradient_function(f)
    y = _as_array(fn(*[_core.constant(a) for a in arrays]))
    numerical = _numerical(fn, arrays, step, y.size)
    for mode in modes:
        analytic = _analytic(fn, arrays, y.size, mode)
        _compare(analytic, numerical, rtol, atol, mode, order)


def _analytic(fn, arrays, y_size, mode):
    if mode == "rev":
        return _theoretical(fn, arrays, y_size)
    if mode == "fwd":
        from fastgrad.functional import jacobian
        jac = jacobian(fn, argnums=tuple(range(len(arrays))), mode="fwd")(
            *[_core.constant(a) for a in arrays])
        return [np.asarray(_as_array(j), dtype=a.dtype).reshape(y_size, a.size)
                for j, a in zip(jac, arrays)]
    raise ValueError("modes must be drawn from ('rev', 'fwd'), got %r" % (mode,))


def _compare(analytic, numerical, rtol, atol, mode, order):
    worst = None
    for k, (an, nu) in enumerate(zip(analytic, numerical)):
        an = an.astype(np.float64)
        nu = nu.astype(np.float64)
        excess = np.abs(an - nu) - (atol + rtol * np.abs(nu))
        bad = ~(excess <= 0)  # NaN counts as bad
        if bad.any():
            flat = np.where(np.isnan(excess), np.inf, excess)
            i, j = np.unravel_index(int(np.argmax(flat)), flat.shape)
            if worst is None or flat[i, j] > worst[0]:
                worst = (flat[i, j], k, i, j, an[i, j], nu[i, j], int(bad.sum()))
    if worst is not None:
        _, k, i, j, a, n, count = worst
        what = "gradient" if order == 1 else "second derivative"
        raise AssertionError(
            "%s check failed (mode %r): %d element(s) out of tolerance; worst: d output[%d] / "
            "d xs[%d][flat %d]: analytic %.17g vs numerical %.17g (abs err %.3g, rtol %g, atol %g)"
            % (what, mode, count, i, k, j, a, n, abs(a - n), rtol, atol))
