"""``GradientTape.jacobian`` and ``batch_jacobian``: one reverse sweep per
output element over the tape's recording, rows written into the result.
"""
import numpy as np

from fastgrad import _core, nest
from fastgrad.gradient_tape import UnconnectedGradients


def _sweeps(tape, target, sources):
    """Yield (row index, flat list of source gradients) per target element."""
    tape._check_usable()
    if tape._recording and not tape._persistent:
        tape._tape.pop()
        tape._recording = False
    t = target if isinstance(target, _core._TensorBase) else _core.convert_to_tensor(target)
    n = int(np.prod(t.shape)) if t.ndim else 1
    was = tape._tape.persistent
    tape._tape.persistent = True
    tape._used = True
    try:
        seed = np.zeros(n, dtype=t.dtype.as_numpy_dtype)
        for i in range(n):
            seed[i] = 1
            s = _core.constant(seed.reshape(tuple(t.shape)))
            seed[i] = 0
            yield i, tape._tape._sweep([t], [s], sources)
    finally:
        tape._tape.persistent = was
        if not was:
            tape._tape.clear()


def tape_jacobian(tape, target, sources, unconnected_gradients=UnconnectedGradients.NONE):
    flat_sources = nest.flatten(sources)
    t = target if isinstance(target, _core._TensorBase) else _core.convert_to_tensor(target)
    tshape = tuple(t.shape)
    rows = [[] for _ in flat_sources]
    connected = [False] * len(flat_sources)
    for _, grads in _sweeps(tape, t, flat_sources):
        for k, (g, s) in enumerate(zip(grads, flat_sources)):
            if g is None:
                rows[k].append(np.zeros(tuple(s.shape), dtype=s.dtype.as_numpy_dtype))
            else:
                connected[k] = True
                rows[k].append(g.numpy())
    out = []
    unconnected = UnconnectedGradients(unconnected_gradients)
    for k, s in enumerate(flat_sources):
        if not connected[k] and unconnected is UnconnectedGradients.NONE:
            out.append(None)
            continue
        arr = np.stack(rows[k]) if rows[k] else np.zeros((0,) + tuple(s.shape), s.dtype.as_numpy_dtype)
        out.append(_core.constant(arr.reshape(tshape + tuple(s.shape))))
    return nest.pack_sequence_as(sources, out)


def tape_batch_jacobian(tape, target, source, unconnected_gradients=UnconnectedGradients.NONE):
    t = target if isinstance(target, _core._TensorBase) else _core.convert_to_tensor(target)
    for x in (t, source):
        if x.ndim < 2:
            # TF: TensorShape.with_rank_at_least(2)
            raise ValueError("Shape %s must have rank at least 2" % (tuple(x.shape),))
    if t.shape[0] != source.shape[0]:
        raise ValueError("Need first dimension of target shape (%s) and source shape (%s) to match."
                         % (list(t.shape), list(source.shape)))
    b = t.shape[0]
    per_t = tuple(t.shape[1:])
    per_s = tuple(source.shape[1:])
    m = int(np.prod(per_t)) if per_t else 1
    out = np.zeros((b, m) + per_s, dtype=source.dtype.as_numpy_dtype)
    # Row j of every example at once: seed element j of each example's output.
    tape._check_usable()
    if tape._recording and not tape._persistent:
        tape._tape.pop()
        tape._recording = False
    was = tape._tape.persistent
    tape._tape.persistent = True
    tape._used = True
    try:
        for j in range(m):
            seed = np.zeros((b, m), dtype=t.dtype.as_numpy_dtype)
            seed[:, j] = 1
            g, = tape._tape._sweep([t], [_core.constant(seed.reshape(t.shape))], [source])
            if g is not None:
                out[:, j] = g.numpy()
    finally:
        tape._tape.persistent = was
        if not was:
            tape._tape.clear()
    return _core.constant(out.reshape((b,) + per_t + per_s))
