# The runtime glue every later part uses: the GIL and BLAS hooks the C core
# calls, C errors raised as TF's exceptions, NumPy dtypes to fastgrad's codes.
# (Included by _core.pyx, in order, so it sees what the parts before define.)

# ------------------------------------------------------------------ hooks

cdef extern from "Python.h":
    void *PyEval_SaveThread() nogil
    void PyEval_RestoreThread(void *) nogil

cdef void *_release_gil() noexcept nogil:
    return PyEval_SaveThread()

cdef void _acquire_gil(void *token) noexcept nogil:
    PyEval_RestoreThread(token)

fg_set_gil_hooks(_release_gil, _acquire_gil)

cdef extern from "Python.h":
    int PyErr_CheckSignals() except -1


def _install_interrupt():
    """Let Ctrl-C stop long kernels between chunks (csrc/fg_interrupt.h).

    Only over Python's default SIGINT handler, from the main thread (the
    one that receives KeyboardInterrupt): a program with its own handler
    keeps exactly its behaviour. signal.signal(SIGINT, ...) later replaces
    the C handler, which turns this off again, harmlessly."""
    import signal, threading
    if threading.current_thread() is not threading.main_thread():
        return False
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return False
    return fg_interrupt_install() == 0

_INTERRUPTIBLE = _install_interrupt()


def _install_blas():
    """Take sgemm/dgemm from SciPy's BLAS (the OpenBLAS SciPy ships)."""
    try:
        from scipy.linalg import cython_blas
    except ImportError:
        return False
    capi = cython_blas.__pyx_capi__
    cdef object s = capi["sgemm"], d = capi["dgemm"]
    fg_set_blas(<fg_sgemm_fn>PyCapsule_GetPointer(s, PyCapsule_GetName(s)),
                <fg_dgemm_fn>PyCapsule_GetPointer(d, PyCapsule_GetName(d)))
    return True

_HAVE_SCIPY_BLAS = _install_blas()

# ------------------------------------------------------------------ errors

cdef object _pending_exception = None

cdef int raise_error() except -1:
    """Raise the C error (or a Python exception a hook stored) as TF's class."""
    global _pending_exception
    if _pending_exception is not None:
        exc, _pending_exception = _pending_exception, None
        fg_error_clear()
        raise exc
    kind = fg_error_kind()
    msg = fg_error_message().decode("utf-8", "replace")
    fg_error_clear()
    if kind == FG_ERR_INTERRUPTED:
        # Ctrl-C cut a kernel short (its output is freed). Python's handler
        # is pending too: run it now so it raises (KeyboardInterrupt) here,
        # not at some later bytecode; raise it ourselves if it did not.
        fg_interrupt_clear()
        PyErr_CheckSignals()
        raise KeyboardInterrupt
    if kind == FG_ERR_NOMEM:
        raise _errors.ResourceExhaustedError(msg)
    if kind == FG_ERR_RUNTIME:
        raise _errors.InternalError(msg)
    raise _errors.InvalidArgumentError(msg)

# ------------------------------------------------------------------ dtypes

cdef dict _NP_TO_ENUM = {
    np.dtype(np.float32): FG_F32, np.dtype(np.float64): FG_F64,
    np.dtype(np.int32): FG_I32, np.dtype(np.int64): FG_I64, np.dtype(np.bool_): FG_BOOL,
}
cdef int _NPY_TYPES[5]
_NPY_TYPES[:] = [cnp.NPY_FLOAT32, cnp.NPY_FLOAT64, cnp.NPY_INT32, cnp.NPY_INT64, cnp.NPY_BOOL]
cdef tuple _DTYPE_OBJS = tuple(_BY_ENUM)


cdef int np_enum(cnp.dtype d) except -2:
    """fastgrad enum for a NumPy dtype; -1 for kinds fastgrad narrows."""
    r = _NP_TO_ENUM.get(d)
    if r is not None:
        return r
    if d.kind == "f":
        return FG_F32 if d.itemsize < 4 else FG_F64
    if d.kind in "iu":
        return FG_I64 if d.itemsize >= 4 else FG_I32
    if d.kind == "b":
        return FG_BOOL
    raise TypeError("fastgrad cannot hold values of dtype %s" % d)
