# Tapes: the GradientTape's C tape and its gradient/jacobian calls.
# (Included by _core.pyx, in order, so it sees what the parts before define.)

# ------------------------------------------------------------------ tapes

cdef class _Tape:
    """The C tape with TF's context-manager protocol; fastgrad.GradientTape
    subclasses it and adds the API semantics (nests, errors, warnings).
    The hot path (enter, exit, a plain gradient) stays in compiled code."""
    cdef fg_tape *tape
    cdef public bint _persistent
    cdef public bint _watch_accessed_variables
    cdef public bint _used
    cdef public bint _recording
    cdef public bint _entered   # TF: a tape never entered has no tape to differentiate
    cdef public list _watched

    def __cinit__(self, persistent=False, watch_accessed_variables=True, *args, **kwargs):
        self._persistent = bool(persistent)
        self._watch_accessed_variables = bool(watch_accessed_variables)
        self._watched = []
        self.tape = fg_tape_new(self._persistent, self._watch_accessed_variables)
        if self.tape == NULL:
            raise_error()

    def __dealloc__(self):
        if self.tape != NULL:
            fg_tape_free(self.tape)
            self.tape = NULL

    def __enter__(self):
        if self._recording:
            raise ValueError("Tape is still recording, This can happen if you try to re-enter an "
                             "already-active tape.")
        if fg_tape_push(self.tape) < 0:
            raise_error()
        self._recording = True
        self._entered = True
        return self

    def __exit__(self, typ, value, traceback):
        if self._recording:
            fg_tape_pop(self.tape)
            self._recording = False

    @property
    def _tape(self):
        # the C-level methods below, under the name the facade uses
        return self

    # Underscored: GradientTape's public methods are TF's; these are the
    # facade's handles on the C tape.
    def _push(self):
        """Make this tape record again (it joins the thread's active tapes)."""
        if fg_tape_push(self.tape) < 0:
            raise_error()
        self._entered = True

    def _pop(self):
        """Stop recording (leave the thread's active tapes); the recording stays."""
        fg_tape_pop(self.tape)

    def _clear(self):
        """Forget the recorded nodes and watched tensors."""
        fg_tape_clear(self.tape)

    def _release(self):
        """Free the recording (a used non-persistent tape); keep watched variables."""
        fg_tape_release(self.tape)

    def _watch_one(self, _TensorBase x):
        """Watch x; False when its dtype is not floating."""
        cdef int r = fg_tape_watch(self.tape, x.t)
        if r < 0:
            raise_error()
        return r == 1

    def _accessed_variable_ids(self):
        """Ids of the trainable Variables read while recording, in order."""
        return [self.tape.accessed[i] for i in range(self.tape.n_accessed)]

    def _gradient_simple(self, target, sources):
        """The common case in compiled code: one target tensor, a tensor or
        a flat list/tuple of float tensors as sources, no output_gradients.
        NotImplemented when the general path must handle it."""
        cdef fg_tensor *tt
        cdef fg_tensor *src[8]
        cdef fg_tensor *res[8]
        cdef int n, i, rc
        if not isinstance(target, _TensorBase):
            return NotImplemented
        tt = (<_TensorBase>target).t
        if isinstance(sources, _TensorBase):
            n = 1
            src[0] = (<_TensorBase>sources).t
            if not fg_dtype_is_float(src[0].dtype):
                return NotImplemented
        elif (type(sources) is list or type(sources) is tuple) and 0 < len(sources) <= 8:
            n = len(sources)
            for i in range(n):
                s = sources[i]
                if not isinstance(s, _TensorBase) or not fg_dtype_is_float((<_TensorBase>s).t.dtype):
                    return NotImplemented
                src[i] = (<_TensorBase>s).t
        else:
            return NotImplemented
        self._used = True
        rc = fg_tape_gradient(self.tape, 1, &tt, NULL, n, src, res)
        if not self._persistent:
            fg_tape_release(self.tape)
        if rc < 0:
            raise_error()
        if isinstance(sources, _TensorBase):
            return None if res[0] == NULL else wrap(res[0])
        out = [None if res[i] == NULL else wrap(res[i]) for i in range(n)]
        return out if type(sources) is list else tuple(out)

    def _sweep(self, list targets, list seeds, list sources):
        """Flat lists in, a flat list of Tensors or None out."""
        cdef int nt = len(targets), ns = len(sources), i
        cdef fg_tensor **tt = <fg_tensor **>malloc((nt + 1) * sizeof(fg_tensor *))
        cdef fg_tensor **ss = <fg_tensor **>malloc((nt + 1) * sizeof(fg_tensor *))
        cdef fg_tensor **src = <fg_tensor **>malloc((ns + 1) * sizeof(fg_tensor *))
        cdef fg_tensor **res = <fg_tensor **>malloc((ns + 1) * sizeof(fg_tensor *))
        cdef int rc
        if tt == NULL or ss == NULL or src == NULL or res == NULL:
            free(tt); free(ss); free(src); free(res)
            raise MemoryError()
        for i in range(nt):
            tt[i] = (<_TensorBase>targets[i]).t
            ss[i] = NULL if seeds[i] is None else (<_TensorBase>seeds[i]).t
        for i in range(ns):
            src[i] = (<_TensorBase>sources[i]).t
        rc = fg_tape_gradient(self.tape, nt, tt, ss, ns, src, res)
        free(tt); free(ss); free(src)
        if rc < 0:
            free(res)
            raise_error()
        out = [None if res[i] == NULL else wrap(res[i]) for i in range(ns)]
        free(res)
        return out


def tapes_recording():
    return fg_tapes_recording()
