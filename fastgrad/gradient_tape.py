"""``GradientTape``: TF 2's tape, over fastgrad's C tape.

The tape itself (recording, the reverse sweep) is C; this module holds the
API semantics: nests of targets and sources, TF's errors and warnings.

>>> import fastgrad as tf
>>> x = tf.Variable(3.0)
>>> with tf.GradientTape() as tape:
...     y = x * x
>>> tape.gradient(y, x)
<fastgrad.Tensor: shape=(), dtype=float32, numpy=6.0>
"""
import enum
import inspect

from fastgrad import _core, nest
from fastgrad._logging import get_logger, warn as _warn
from fastgrad._core import Variable, _TensorBase

__all__ = ["GradientTape", "UnconnectedGradients"]


class UnconnectedGradients(enum.Enum):
    """What ``gradient`` returns for a source the target does not reach."""

    NONE = "none"
    ZERO = "zero"


_PERSISTENT_IN_CONTEXT = (
    "Calling GradientTape.gradient on a persistent tape inside its context is significantly "
    "less efficient than calling it outside the context (it causes the gradient ops to be "
    "recorded on the tape, leading to increased CPU and memory usage). Only call "
    "GradientTape.gradient inside the context if you actually want to trace the gradient in "
    "order to compute higher order derivatives."
)
_USED = ("A non-persistent GradientTape can only be used to compute one set of gradients "
         "(or jacobians)")


class GradientTape(_core._Tape):
    """Record operations for automatic differentiation (``tf.GradientTape``).

    Operations run inside the ``with`` block on watched tensors (trainable
    Variables are watched on access) are recorded; ``gradient`` runs the
    reverse sweep in C. Nested tapes give higher-order derivatives.

    Parameters
    ----------
    persistent : bool, default False
        Allow more than one ``gradient``/``jacobian`` call on the tape (the
        recording is then kept until the tape is garbage collected).
    watch_accessed_variables : bool, default True
        Watch every trainable Variable read inside the context; with
        ``False`` only what ``watch`` names is watched.

    Examples
    --------
    >>> import fastgrad as tf
    >>> x = tf.constant(3.0)
    >>> with tf.GradientTape() as g:
    ...     g.watch(x)
    ...     y = x * x
    >>> float(g.gradient(y, x))
    6.0
    >>> v = tf.Variable(2.0)
    >>> with tf.GradientTape(persistent=True) as g:
    ...     y = v ** 3
    ...     z = v * 4
    >>> float(g.gradient(y, v)), float(g.gradient(z, v))
    (12.0, 4.0)
    """

    # The compiled _Tape's __cinit__ takes the arguments (no Python __init__:
    # eager steps create a tape per step); the signature is stated for
    # inspect.signature and help().
    __signature__ = inspect.Signature([
        inspect.Parameter("persistent", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=False),
        inspect.Parameter("watch_accessed_variables", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                          default=True),
    ])

    def watch(self, tensor):
        """Watch a tensor, a Variable or a nest of them, so ops on it are recorded.

        Non-floating tensors are not watched (a warning says so, as TF).

        >>> import fastgrad as tf
        >>> x = tf.constant([1.0, 2.0])
        >>> with tf.GradientTape() as g:
        ...     g.watch(x)
        ...     y = tf.reduce_sum(x * x)
        >>> g.gradient(y, x).numpy().tolist()
        [2.0, 4.0]
        """
        for t in nest.flatten(tensor):
            if not isinstance(t, _TensorBase):
                raise ValueError("Passed in object %s of type '%s', not tf.Tensor or tf.Variable or "
                                 "ExtensionType." % (t, type(t).__name__))
            if not self._watch_one(t):
                _warn("The dtype of the watched tensor must be floating (e.g. tf.float32), got %r"
                      % (t.dtype,))
            elif isinstance(t, Variable) and not any(t is w for w in self._watched):
                self._watched.append(t)

    def stop_recording(self):
        """Context manager: ops inside it are not recorded on this tape.

        >>> import fastgrad as tf
        >>> x = tf.Variable(2.0)
        >>> with tf.GradientTape() as t:
        ...     with t.stop_recording():
        ...         y = x * x
        >>> print(t.gradient(y, x))
        None
        """
        return _StopRecording(self)

    def reset(self):
        """Forget everything recorded so far (the tape keeps recording).

        Only inside the tape's context, as TF (elsewhere: ValueError).

        >>> import fastgrad as tf
        >>> x = tf.Variable(2.0)
        >>> with tf.GradientTape() as g:
        ...     y = x * x
        ...     g.reset()
        ...     y = x * 5
        >>> float(g.gradient(y, x))
        5.0
        """
        if not self._recording:
            raise ValueError("Tape is not recording.")
        self._clear()
        self._watched = []
        self._used = False

    def watched_variables(self):
        """The Variables this tape watched, in order of construction (TF's).

        >>> import fastgrad as tf
        >>> a, b = tf.Variable(1.0, name="a"), tf.Variable(2.0, name="b")
        >>> with tf.GradientTape() as g:
        ...     y = b * a
        >>> [v.name for v in g.watched_variables()]
        ['a:0', 'b:0']
        """
        seen = {}
        for v in self._watched:
            seen.setdefault(id(v), v)
        for vid in self._accessed_variable_ids():
            v = _core._VARIABLES.get(vid)
            if v is not None:
                seen.setdefault(id(v), v)
        return tuple(sorted(seen.values(), key=_core.tensor_id))

    def _check_usable(self):
        if self._used and not self._persistent:
            raise RuntimeError(_USED)

    def gradient(self, target, sources, output_gradients=None,
                 unconnected_gradients=UnconnectedGradients.NONE):
        """Gradient of ``target`` with respect to ``sources``.

        Parameters
        ----------
        target : Tensor or nest of Tensors
            What to differentiate; several targets are summed.
        sources : Tensor, Variable or nest of them
            The result has their structure.
        output_gradients : Tensor or nest, optional
            One seed per target (the vector of a vector-Jacobian product);
            ones by default.
        unconnected_gradients : UnconnectedGradients or str, default "none"
            What a source the target does not reach gets: ``None`` or zeros.

        Returns
        -------
        Tensor, None or nest of them

        Examples
        --------
        >>> import fastgrad as tf
        >>> x, y = tf.Variable(2.0), tf.Variable(3.0)
        >>> with tf.GradientTape() as g:
        ...     z = x * y
        >>> [float(d) for d in g.gradient(z, [x, y])]
        [3.0, 2.0]
        """
        if (self._used and not self._persistent) or not self._entered:
            raise RuntimeError(_USED)
        if self._recording:
            if not self._persistent:
                self._pop()
                self._recording = False
            else:
                _warn(_PERSISTENT_IN_CONTEXT)
        if output_gradients is None and unconnected_gradients is UnconnectedGradients.NONE:
            result = self._gradient_simple(target, sources)
            if result is not NotImplemented:
                return result
        if target is None:
            raise TypeError("Argument `target` should be a list or nested structure of Tensors, "
                            "Variables or CompositeTensors to be differentiated, but received None.")
        try:
            unconnected = UnconnectedGradients(unconnected_gradients)
        except ValueError:
            raise ValueError("Unknown value for unconnected_gradients: %r" % (unconnected_gradients,)) from None
        flat_sources = nest.flatten(sources)
        for s in flat_sources:
            if not isinstance(s, _TensorBase):
                raise ValueError("sources must be Tensors or Variables, got %r" % (s,))
        flat_targets = [t if isinstance(t, _TensorBase) else _core.convert_to_tensor(t)
                        for t in nest.flatten(target)]
        if output_gradients is not None:
            flat_seeds = nest.flatten(output_gradients)
            # TF flattens output_gradients and pairs the seeds with the targets
            # in order: output_gradients=[1.0, 2.0] for one target seeds it with 1.0
            flat_seeds = flat_seeds[:len(flat_targets)]
            if len(flat_seeds) != len(flat_targets):
                raise ValueError("output_gradients must have the structure of target")
            flat_seeds = [None if g is None else _core.convert_to_tensor(g, dtype=t.dtype)
                          for g, t in zip(flat_seeds, flat_targets)]
        else:
            flat_seeds = [None] * len(flat_targets)
        for s in flat_sources:
            if not s.dtype.is_floating:
                # TF's vlog(1): not shown at the default verbosity
                get_logger().debug("The dtype of the source tensor must be floating (e.g. tf.float32) "
                                   "when calling GradientTape.gradient, got %r", s.dtype)
        self._used = True
        grads = self._sweep(flat_targets, flat_seeds, flat_sources)
        if unconnected is UnconnectedGradients.ZERO:
            grads = [g if g is not None else _core.zeros(s.shape, s.dtype._enum)
                     for g, s in zip(grads, flat_sources)]
        if not self._persistent:
            self._release()
        return nest.pack_sequence_as(sources, grads)

    def jacobian(self, target, sources, unconnected_gradients=UnconnectedGradients.NONE,
                 parallel_iterations=None, experimental_use_pfor=True):
        """Jacobian of ``target`` with respect to each source.

        Each result has shape ``target.shape + source.shape``. One sweep when
        the path is elementwise, else one reverse sweep per target element or
        one batched forward sweep over the source's elements, whichever is
        fewer; ``parallel_iterations`` and ``experimental_use_pfor`` are
        accepted for TF's signature and change nothing.

        >>> import fastgrad as tf
        >>> x = tf.constant([1.0, 2.0])
        >>> with tf.GradientTape() as g:
        ...     g.watch(x)
        ...     y = x * x
        >>> g.jacobian(y, x).numpy().tolist()
        [[2.0, 0.0], [0.0, 4.0]]
        """
        from fastgrad._jacobian import tape_jacobian
        return tape_jacobian(self, target, sources, unconnected_gradients)

    def batch_jacobian(self, target, source, unconnected_gradients=UnconnectedGradients.NONE,
                       parallel_iterations=None, experimental_use_pfor=True):
        """Per-example Jacobians, of shape ``[batch] + target.shape[1:] + source.shape[1:]``.

        Row ``i`` of ``target`` must depend only on row ``i`` of ``source``.

        >>> import fastgrad as tf
        >>> x = tf.constant([[1.0, 2.0], [3.0, 4.0]])
        >>> with tf.GradientTape() as g:
        ...     g.watch(x)
        ...     y = x * x
        >>> g.batch_jacobian(y, x).numpy().tolist()
        [[[2.0, 0.0], [0.0, 4.0]], [[6.0, 0.0], [0.0, 8.0]]]
        """
        if self._used and not self._persistent:
            # TF 2.21's text for batch_jacobian lacks a space ('tocompute')
            raise RuntimeError(_USED.replace("to compute", "tocompute"))
        from fastgrad._jacobian import tape_batch_jacobian
        return tape_batch_jacobian(self, target, source, unconnected_gradients)


class _StopRecording:
    __slots__ = ("_tape", "_was")

    def __init__(self, tape):
        self._tape = tape

    def __enter__(self):
        if not self._tape._recording:
            raise RuntimeError("Trying to stop recording a tape which is not recording.")
        self._tape._tape._pop()
        self._tape._recording = False

    def __exit__(self, *exc):
        self._tape._tape._push()
        self._tape._recording = True
