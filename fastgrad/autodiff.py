"""``fastgrad.autodiff``: TF's forward-mode API.

``ForwardAccumulator(primals, tangents)`` carries a tangent along with every
value computed from the primals while it is active: each op runs its JVP
rule (in C, from the op table) right after its forward kernel, so
``acc.jvp(y)`` is ready as soon as ``y`` is. It nests with
``GradientTape`` both ways (forward-over-reverse Hessian-vector products,
reverse-over-forward) and with other accumulators (higher orders).

>>> import fastgrad as tf
>>> x = tf.constant([1.0, 2.0])
>>> with tf.autodiff.ForwardAccumulator(x, tf.constant([1.0, 0.0])) as acc:
...     y = tf.reduce_sum(x ** 3.0)
>>> float(acc.jvp(y))
3.0
"""
from fastgrad import _core, nest
from fastgrad.gradient_tape import GradientTape, UnconnectedGradients

__all__ = ["ForwardAccumulator", "GradientTape"]


class ForwardAccumulator(_core._ForwardAccumulator):
    """Compute Jacobian-vector products in forward mode (``tf.autodiff.ForwardAccumulator``).

    ``primals`` is a tensor, a Variable or a nest of them; ``tangents`` has
    the same structure, each tangent the shape of its primal. Inside the
    ``with`` block, every op on a watched value propagates the tangent;
    ``jvp(target)`` then returns the tangent of any value computed there.

    Forward-over-reverse (a Hessian-vector product):

    >>> import fastgrad as tf
    >>> x = tf.constant([1.0, 2.0])
    >>> with tf.autodiff.ForwardAccumulator(x, tf.constant([1.0, 0.0])) as acc:
    ...     with tf.GradientTape() as tape:
    ...         tape.watch(x)
    ...         y = tf.reduce_sum(x ** 3.0)
    ...     g = tape.gradient(y, x)
    >>> acc.jvp(g).numpy().tolist()
    [6.0, 0.0]

    Unlike TF, a tangent whose shape differs from its primal's raises
    ``ValueError`` (TF accepts it and computes with it silently).
    A ``custom_gradient`` function's output takes the tangent of the ops
    inside the function, as in TF eager; where those ops give none, the
    JVP comes from its gradient function (TF's double-VJP trick).
    """

    def __init__(self, primals, tangents):
        flat_p = nest.flatten(primals)
        flat_t = nest.flatten(tangents)
        if len(flat_p) != len(flat_t):
            raise ValueError("primals and tangents must have the same structure: %d primals, "
                             "%d tangents" % (len(flat_p), len(flat_t)))
        seen = set()
        for p, t in zip(flat_p, flat_t):
            if not isinstance(p, _core._TensorBase):
                p = _core.convert_to_tensor(p)
            if id(p) in seen or _core.tensor_id(p) in seen:
                raise ValueError(
                    "Tensor %s was specified as a primal multiple times. This may indicate an "
                    "error. If it was intended, please sum the corresponding tangents." % (p,))
            seen.add(_core.tensor_id(p))
            if not p.dtype.is_floating:
                continue  # TF: an integer primal carries no tangent
            t = _core.convert_to_tensor(t, dtype=p.dtype)
            if tuple(t.shape) != tuple(p.shape):
                raise ValueError("tangent of shape %s for a primal of shape %s"
                                 % (tuple(t.shape), tuple(p.shape)))
            self._watch(p, t)

    def __enter__(self):
        if self._active:
            raise ValueError("Accumulator is already recording.")
        self._push()
        return self

    def __exit__(self, typ, value, traceback):
        self._pop()

    def jvp(self, primals, unconnected_gradients=UnconnectedGradients.NONE):
        """The tangent of each tensor in ``primals`` (a tensor or nest).

        A tensor not computed from the watched primals while the
        accumulator was active has no tangent: ``None``, or zeros with
        ``unconnected_gradients=UnconnectedGradients.ZERO``.

        >>> import fastgrad as tf
        >>> x = tf.constant(2.0)
        >>> with tf.autodiff.ForwardAccumulator(x, 1.0) as acc:
        ...     y = x * x
        >>> float(acc.jvp(y))
        4.0
        """
        unconnected = UnconnectedGradients(unconnected_gradients)
        out = []
        for p in nest.flatten(primals):
            if not isinstance(p, _core._TensorBase):
                raise TypeError("ForwardAccumulator.jvp takes tensors, got %r" % (p,))
            t = self._tangent(p)
            if t is None and unconnected is UnconnectedGradients.ZERO:
                t = _core.zeros(tuple(p.shape), p.dtype._enum)
            out.append(t)
        return nest.pack_sequence_as(primals, out)
