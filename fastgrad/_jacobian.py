"""``GradientTape.jacobian`` and ``batch_jacobian``: TF's semantics over
the C loops of csrc/fg_jacobian.c (one recording, then one sweep when the
Jacobian is diagonal, else per-row reverse sweeps or one batched forward
sweep, whichever is fewer, written straight into the result).
"""
from fastgrad import _core, nest
from fastgrad.gradient_tape import UnconnectedGradients


def _prepare(tape):
    """TF: a non-persistent tape answers one jacobian; stop recording it."""
    tape._check_usable()
    if tape._recording and not tape._persistent:
        tape._tape._pop()
        tape._recording = False
    tape._used = True


def _finish(tape):
    if not tape._persistent:
        tape._tape._release()


def _as_tensor(target):
    return target if isinstance(target, _core._TensorBase) else _core.convert_to_tensor(target)


def tape_jacobian(tape, target, sources, unconnected_gradients=UnconnectedGradients.NONE,
                  mode=None):
    """d target / d each source: shape target.shape + source.shape."""
    unconnected = UnconnectedGradients(unconnected_gradients)
    if isinstance(sources, _core._TensorBase):
        flat_sources = [sources]
    elif type(sources) in (list, tuple) and all(isinstance(s, _core._TensorBase) for s in sources):
        flat_sources = list(sources)
    else:
        flat_sources = nest.flatten(sources)
    for s in flat_sources:
        if not isinstance(s, _core._TensorBase):
            raise ValueError("sources must be Tensors or Variables, got %r" % (s,))
    t = _as_tensor(target)
    _prepare(tape)
    try:
        out = _core.tape_jacobian(tape, t, flat_sources, mode)
    finally:
        _finish(tape)
    if unconnected is UnconnectedGradients.ZERO:
        out = [j if j is not None else
               _core.zeros(tuple(t.shape) + tuple(s.shape), s.dtype._enum)
               for j, s in zip(out, flat_sources)]
    if isinstance(sources, _core._TensorBase):
        return out[0]
    if type(sources) in (list, tuple) and len(out) == len(sources):
        return type(sources)(out)
    return nest.pack_sequence_as(sources, out)


def tape_batch_jacobian(tape, target, source, unconnected_gradients=UnconnectedGradients.NONE,
                        mode=None):
    """Per-example Jacobians: [batch] + target.shape[1:] + source.shape[1:]."""
    t = _as_tensor(target)
    for x in (t, source):
        if x.ndim < 2:
            # TF: TensorShape.with_rank_at_least(2)
            raise ValueError("Shape %s must have rank at least 2" % (tuple(x.shape),))
    if t.shape[0] != source.shape[0]:
        raise ValueError("Need first dimension of target shape (%s) and source shape (%s) to match."
                         % (tuple(t.shape), tuple(source.shape)))
    _prepare(tape)
    try:
        return _core.tape_batch_jacobian(tape, t, source, mode)
    finally:
        _finish(tape)
