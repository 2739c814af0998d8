# fastgrad/_program.pxi: glue for csrc/fg_program.h (fastgrad.function).
# Included by _core.pyx, so it reaches Tensor and Variable internals. The
# semantics (signatures, caching, retracing, warnings) are in
# fastgrad/function_api.py; this file moves pointers between the two.

cdef fg_tensor **_resolve_variable(int64_t id) noexcept with gil:
    # the address of the Variable's tensor pointer: a replay reads (and
    # copy-on-write replaces) the value the Variable holds at call time
    v = _VARIABLES.get(id)
    if v is None:
        return NULL
    return &(<Variable>v).t

fg_program_set_var_resolver(_resolve_variable)


cdef inline int _trace_guard(fg_tensor *t) except -1:
    cdef fg_program *prog = fg_program_tracing()
    if prog != NULL and fg_program_trace_guard(prog, t) < 0:
        raise_error()
    return 0


cdef inline int _trace_alias(fg_tensor *src, fg_tensor *dst) except -1:
    """dst shares src's value outside fg_apply (stop_gradient, custom_gradient)."""
    cdef fg_program *prog = fg_program_tracing()
    if prog != NULL and fg_program_trace_op(prog, OP_IDENTITY, 1, &src, NULL, 0, dst) < 0:
        raise_error()
    return 0


cdef inline int _trace_assign(fg_tensor **ref, int kind, fg_tensor *value) except -1:
    cdef fg_program *prog = fg_program_tracing()
    if prog != NULL and fg_program_trace_assign(prog, ref, kind, value) < 0:
        raise_error()
    return 0


def _trace_unsupported(str what):
    """Mark the program being traced (if any) as not replayable."""
    cdef fg_program *prog = fg_program_tracing()
    if prog != NULL:
        fg_program_trace_unsupported(prog, what.encode())


def tracing():
    """True while a fastgrad.function traces on this thread."""
    return fg_program_tracing() != NULL


def _graph_tape():
    """A persistent tape on which every floating value is a source: what
    fastgrad.gradients sweeps inside a traced function (TF's graph)."""
    cdef _Tape t = _Tape(True, False)
    t.tape.watch_all = 1
    return t


def program_buffer_limit(limit=None):
    """The bound on all traced programs' replay buffers together (bytes);
    set it when limit is given. Returns the bound in force."""
    if limit is not None:
        fg_program_set_buffer_limit(<int64_t>int(limit))
    return fg_program_buffer_limit()


def program_warm_bytes():
    """Replay buffers the traced programs hold now (bytes)."""
    return fg_program_warm_bytes()


cdef object _MISS = object()   # a guard failed: try another program or retrace
cdef object _BUSY = object()   # the program is replaying already (another thread)


cdef class _Program:
    """One trace of a function: the C program plus what the facade needs
    to call it (argument spec for the fast path, output packing)."""
    cdef fg_program *p
    cdef public list variables     # closure variables, kept alive with the program
    cdef public object packer      # callable(list of outputs) -> result, or None
    cdef public int out_mode       # 0: returns None, 1: one tensor, 2: packer
    cdef public int n_outputs
    cdef public bint finalized
    cdef int n_fast                # positional Tensor arguments (fast path), -1: no fast path
    cdef int fast_dtype[8]
    cdef int fast_ndim[8]
    cdef int64_t fast_shape[8][16]

    def __cinit__(self):
        self.p = fg_program_new()
        if self.p == NULL:
            raise_error()
        self.variables = []
        self.n_fast = -1

    def __dealloc__(self):
        if self.p != NULL:
            fg_program_free(self.p)
            self.p = NULL

    def begin(self):
        if fg_program_begin(self.p) < 0:
            raise_error()

    def end(self):
        fg_program_end(self.p)

    def add_arg(self, _TensorBase t):
        if fg_program_add_arg(self.p, t.t) < 0:
            raise_error()

    def add_var_arg(self, Variable v):
        if fg_program_add_var_arg(self.p, &v.t) < 0:
            raise_error()

    def set_outputs(self, list outs):
        cdef int n = len(outs), i
        cdef fg_tensor **ts = <fg_tensor **>malloc((n + 1) * sizeof(fg_tensor *))
        if ts == NULL:
            raise MemoryError()
        for i in range(n):
            ts[i] = (<_TensorBase?>outs[i]).t
        cdef int rc = fg_program_set_outputs(self.p, n, ts)
        free(ts)
        if rc < 0:
            raise_error()
        self.n_outputs = n

    def unsupported(self):
        cdef const char *why = fg_program_unsupported(self.p)
        return None if why == NULL else why.decode()

    def finalize(self):
        cdef int is_arg = 0
        cdef int64_t i, vid
        cdef fg_program_stats st
        if fg_program_finalize(self.p) < 0:
            raise_error()
        fg_program_get_stats(self.p, &st)
        for i in range(st.n_vars):
            vid = fg_program_var_id(self.p, i, &is_arg)
            if not is_arg:
                v = _VARIABLES.get(vid)
                if v is not None:
                    self.variables.append(v)
        self.finalized = True

    def set_fast_spec(self, list tensors):
        """Enable the compiled fast path for calls whose arguments are
        exactly these dtypes and shapes, positionally (<= 8 Tensors)."""
        cdef int i, d
        cdef fg_tensor *t
        if len(tensors) > 8:
            self.n_fast = -1
            return
        for i in range(len(tensors)):
            t = (<_TensorBase>tensors[i]).t
            self.fast_dtype[i] = t.dtype
            self.fast_ndim[i] = t.ndim
            for d in range(t.ndim):
                self.fast_shape[i][d] = t.shape[d]
        self.n_fast = len(tensors)

    def stats(self):
        cdef fg_program_stats st
        fg_program_get_stats(self.p, &st)
        return dict(traced=st.n_traced, instructions=st.n_instrs, slots=st.n_slots,
                    guards=st.n_guards, assigns=st.n_assigns, registers=st.n_registers,
                    buffers=st.n_buffers, buffer_bytes=st.buffer_bytes, fused=st.n_fused,
                    direct=st.n_direct, generic=st.n_generic, chained=st.n_chained,
                    outputs=st.n_outputs, args=st.n_args, var_args=st.n_var_args,
                    variables=st.n_vars)

    cdef object _outputs(self, fg_tensor **outs):
        cdef int i
        if self.out_mode == 0:
            return None
        if self.out_mode == 1:
            return wrap(outs[0])
        flat = [wrap(outs[i]) for i in range(self.n_outputs)]
        return self.packer(flat)

    cdef object _run(self, fg_tensor **args, fg_tensor ***var_args):
        cdef fg_tensor *small[8]
        cdef fg_tensor **outs = small
        cdef int rc, n = self.n_outputs
        if n > 8:
            outs = <fg_tensor **>malloc(n * sizeof(fg_tensor *))
            if outs == NULL:
                raise MemoryError()
        rc = fg_program_run(self.p, args, var_args, outs)
        try:
            if rc < 0:
                raise_error()
            if rc == FG_RUN_BUSY:
                return _BUSY
            if rc != FG_RUN_OK:
                return _MISS
            return self._outputs(outs)
        finally:
            if outs != small:
                free(outs)

    def run(self, list args, list var_args):
        """Replay on these tensors and variables; the result, or the
        module's miss marker when a guard failed or the program is busy."""
        cdef int na = len(args), nv = len(var_args), i
        cdef fg_tensor **a = <fg_tensor **>malloc((na + 1) * sizeof(fg_tensor *))
        cdef fg_tensor ***v = <fg_tensor ***>malloc((nv + 1) * sizeof(fg_tensor **))
        if a == NULL or v == NULL:
            free(a); free(v)
            raise MemoryError()
        try:
            for i in range(na):
                a[i] = (<_TensorBase?>args[i]).t
            for i in range(nv):
                v[i] = &(<Variable?>var_args[i]).t
            return self._run(a, v)
        finally:
            free(a)
            free(v)

    cdef object _try_fast(self, tuple args):
        cdef int n = len(args), i, d
        cdef fg_tensor *ts[8]
        cdef fg_tensor *t
        if n != self.n_fast:
            return _MISS
        for i in range(n):
            a = args[i]
            if type(a) is not Tensor:
                return _MISS
            t = (<Tensor>a).t
            if t.dtype != self.fast_dtype[i] or t.ndim != self.fast_ndim[i]:
                return _MISS
            for d in range(t.ndim):
                if t.shape[d] != self.fast_shape[i][d]:
                    return _MISS
            ts[i] = t
        return self._run(ts, NULL)


MISS = _MISS
BUSY = _BUSY


cdef class _FunctionCore:
    """The compiled part of fastgrad.function's callable: a call whose
    arguments match the last replayed program goes straight to C. The
    facade (function_api.Function) subclasses it with everything else."""
    cdef public _Program _fast_program

    def __call__(self, *args, **kwargs):
        cdef _Program prog = self._fast_program
        if prog is not None and not kwargs and fg_program_tracing() == NULL and fg_tapes_recording() == 0:
            r = prog._try_fast(args)
            if r is not _MISS and r is not _BUSY:
                return r
        return self._call(args, kwargs)
