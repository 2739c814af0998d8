# Forward mode and Jacobians: glue over csrc/fg_forward.h (included at the
# end of _core.pyx, so it sees the Tensor and tape types). No numerics.

from fastgrad._cforward cimport *

cdef int OP_CUSTOM = _OPS["custom_gradient"]
cdef dict _JAC_MODES = {None: FG_JAC_AUTO, "rev": FG_JAC_REV, "fwd": FG_JAC_FWD}


cdef fg_tensor **tensor_array(list xs) except NULL:
    """A malloc'd array of the fg_tensors of xs (borrowed)."""
    cdef int n = len(xs), i
    cdef fg_tensor **a = <fg_tensor **>malloc((n + 1) * sizeof(fg_tensor *))
    if a == NULL:
        raise MemoryError()
    for i in range(n):
        a[i] = (<_TensorBase?>xs[i]).t
    return a


cdef class _ForwardAccumulator:
    """The C forward accumulator: a map from tensors to tangents, filled at
    op time while on this thread's stack. fastgrad.autodiff.ForwardAccumulator
    subclasses it with TF's API semantics."""
    cdef fg_accumulator *acc

    def __cinit__(self, *args, **kwargs):
        self.acc = fg_acc_new()
        if self.acc == NULL:
            raise_error()

    def __dealloc__(self):
        if self.acc != NULL:
            fg_acc_free(self.acc)
            self.acc = NULL

    def _push(self):
        if fg_acc_push(self.acc) < 0:
            raise_error()

    def _pop(self):
        fg_acc_pop(self.acc)

    @property
    def _active(self):
        return bool(self.acc.active)

    def _watch(self, _TensorBase primal, _TensorBase tangent):
        if fg_acc_watch(self.acc, primal.t, tangent.t) < 0:
            raise_error()

    def _tangent(self, _TensorBase x):
        """x's tangent as a Tensor, or None."""
        cdef fg_tensor *t = fg_acc_tangent(self.acc, x.t.id)
        if t == NULL:
            return None
        fg_incref(t)
        return wrap(t)


def tape_forward(_Tape tape, list sources, list tangents, list targets, int nb=0):
    """Forward sweep over tape's recording: tangents (None: zero, nb leading
    batch dims) for sources in, a list of target tangents (or None) out."""
    cdef int ns = len(sources), nt = len(targets), i, rc
    cdef fg_tensor **src = tensor_array(sources)
    cdef fg_tensor **tan = <fg_tensor **>malloc((ns + 1) * sizeof(fg_tensor *))
    cdef fg_tensor **tgt = NULL
    cdef fg_tensor **res = <fg_tensor **>malloc((nt + 1) * sizeof(fg_tensor *))
    try:
        tgt = tensor_array(targets)
        if tan == NULL or res == NULL:
            raise MemoryError()
        for i in range(ns):
            tan[i] = NULL if tangents[i] is None else (<_TensorBase?>tangents[i]).t
        rc = fg_tape_forward(tape.tape, nb, ns, src, tan, nt, tgt, res)
        if rc < 0:
            raise_error()
        return [None if res[i] == NULL else wrap(res[i]) for i in range(nt)]
    finally:
        free(src); free(tan); free(tgt); free(res)


def tape_jacobian(_Tape tape, _TensorBase target, list sources, mode=None):
    """d target / d sources[k] for each k (None when unconnected), in C."""
    cdef int ns = len(sources), i, rc
    cdef int m = _JAC_MODES[mode]
    cdef fg_tensor **src = tensor_array(sources)
    cdef fg_tensor **out = <fg_tensor **>malloc((ns + 1) * sizeof(fg_tensor *))
    if out == NULL:
        free(src)
        raise MemoryError()
    rc = fg_tape_jacobian(tape.tape, target.t, ns, src, m, out)
    free(src)
    if rc < 0:
        free(out)
        raise_error()
    result = [None if out[i] == NULL else wrap(out[i]) for i in range(ns)]
    free(out)
    return result


def tape_batch_jacobian(_Tape tape, _TensorBase target, _TensorBase source, mode=None):
    cdef fg_tensor *out = NULL
    if fg_tape_batch_jacobian(tape.tape, target.t, source.t, _JAC_MODES[mode], &out) < 0:
        raise_error()
    return wrap(out)


def accumulators_visible():
    return fg_acc_visible()
