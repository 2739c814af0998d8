# Thread settings and the fused optimizer steps (one C call per variable).
# (Included by _core.pyx, in order, so it sees what the parts before define.)

# ------------------------------------------------------------------ threads

def set_num_threads(int n):
    fg_set_num_threads(n)


def get_num_threads():
    return fg_get_num_threads()


def openmp_enabled():
    return bool(fg_openmp_enabled())


def parallel_stats():
    """The busy-machine fallback at work, counted since load: (regions
    run on threads, of those slower than serial, regions run serially by
    the fallback, seconds the slower ones took beyond serial, times the
    fallback went serial)."""
    cdef int64_t out[5]
    fg_parallel_stats(out)
    return (out[0], out[1], out[2], out[3] * 1e-9, out[4])


def forked_serial():
    return bool(fg_forked_serial())


def set_parallel_fallback(bint on):
    """False: large kernels always use their threads, even where they lose
    to serial (for tests of the threaded path); True restores the default."""
    fg_set_parallel_fallback(on)


def _parallel_judge(double wall_s, double alone_s):
    """Feed the busy-machine fallback one region's timing (tests)."""
    fg_parallel_judge(<int64_t>(wall_s * 1e9), <int64_t>(alone_s * 1e9))


def have_blas():
    return bool(fg_have_blas())

# ------------------------------------------------------------ optimizer steps

cdef fg_tensor *_grad_for(Variable var, object grad) except NULL:
    cdef fg_tensor *g = as_fg(grad, var.t.dtype)
    if not fg_same_shape(g, var.t):
        shape = tuple([g.shape[i] for i in range(g.ndim)])
        fg_decref(g)
        raise _errors.InvalidArgumentError(
            "Gradient of shape %s does not match variable %s of shape %s"
            % (shape, var.name, tuple(var.shape)))
    return g


OPTIM_SGD, OPTIM_ADAM, OPTIM_RMSPROP = FG_OPTIM_SGD, FG_OPTIM_ADAM, FG_OPTIM_RMSPROP


def _optimizer_step(int kind, Variable var, grad, slots, Variable iterations, _TensorBase lr,
                    hyper):
    """One fused optimizer update of var and its slot Variables in place
    (csrc/fg_optim.h): the step count is iterations + 1 and the learning
    rate lr's value (a 0-d tensor), both read in C so that a
    fastgrad.function replay reads their values at each call."""
    cdef double h[FG_OPTIM_NHYPER]
    cdef void *sp[FG_OPTIM_MAX_SLOTS]
    cdef fg_tensor **refs[1 + FG_OPTIM_MAX_SLOTS]
    cdef int i, n = len(slots)
    cdef Variable s
    cdef fg_program *prog
    if n > FG_OPTIM_MAX_SLOTS or len(hyper) > FG_OPTIM_NHYPER:
        raise ValueError("an optimizer update takes at most %d slots and %d hyperparameters"
                         % (FG_OPTIM_MAX_SLOTS, FG_OPTIM_NHYPER))
    for i in range(FG_OPTIM_NHYPER):
        h[i] = hyper[i] if i < len(hyper) else 0.0
    if lr.t.ndim != 0 or iterations.t.ndim != 0:
        raise ValueError("the learning rate and iterations must be scalars")
    cdef fg_tensor *g = _grad_for(var, grad)
    try:
        var._writable()
        refs[0] = &var.t
        for i in range(n):
            s = slots[i]
            s._writable()
            sp[i] = s.t.data
            refs[i + 1] = &s.t
        if fg_optim_step(kind, var.t.dtype, var.t.size, var.t.data, g.data, sp, n,
                         lr.t.data, lr.t.dtype, iterations.t.data, iterations.t.dtype, h) < 0:
            raise_error()
        prog = fg_program_tracing()
        if prog != NULL and fg_program_trace_optim(prog, kind, n + 1, refs, g, iterations.t,
                                                   lr.t, h) < 0:
            raise_error()
    finally:
        fg_decref(g)
