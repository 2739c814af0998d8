# tf.custom_gradient: a Python gradient function recorded as a C node whose
# backward rule calls back into Python.
# (Included by _core.pyx, in order, so it sees what the parts before define.)

# ------------------------------------------------------------ custom gradient

cdef int _custom_call(void *user, fg_tensor *g, int n_in, fg_tensor **gin) noexcept with gil:
    global _pending_exception
    cdef int i
    cdef fg_tensor *t
    try:
        fg_incref(g)
        grads = (<object>user)(wrap(g))
        if n_in == 1 and not isinstance(grads, (list, tuple)):
            grads = [grads]
        grads = list(grads)
        if len(grads) != n_in:
            raise ValueError("custom_gradient function expected to return %d gradients, "
                             "but returned %d instead." % (n_in, len(grads)))
        for i in range(n_in):
            gin[i] = NULL
        for i in range(n_in):
            if grads[i] is not None:
                gin[i] = as_fg(grads[i], -1)
        return 0
    except BaseException as e:
        for i in range(n_in):
            if gin[i] != NULL:
                fg_decref(gin[i])
                gin[i] = NULL
        _pending_exception = e
        fg_error_set(FG_ERR_RUNTIME, b"custom gradient failed")
        return -1


cdef void _custom_retain(void *user) noexcept with gil:
    Py_INCREF(<object>user)


cdef void _custom_release(void *user) noexcept with gil:
    Py_DECREF(<object>user)


fg_set_custom_hooks(_custom_call, _custom_release, _custom_retain)


def record_custom(inputs, output, grad_fn):
    """Make output's gradient flow to inputs through grad_fn(upstream).

    Returns a new tensor (an alias of output) carrying the custom rule.
    """
    cdef int n = len(inputs), i
    cdef fg_tensor **ins = <fg_tensor **>malloc((n + 1) * sizeof(fg_tensor *))
    cdef fg_tensor *o = as_fg(output, -1)
    cdef fg_tensor *alias = fg_tensor_alias(o, o.ndim, o.shape)
    if alias != NULL:
        try:
            _trace_alias(o, alias)
        except BaseException:
            fg_decref(o)
            fg_decref(alias)
            free(ins)
            raise
    if alias == NULL or ins == NULL:
        fg_decref(o)
        free(ins)
        raise_error()
    result = wrap(alias)
    for i in range(n):
        ins[i] = (<_TensorBase?>inputs[i]).t
    cdef int rc = fg_tape_record_custom(n, ins, alias, <void *>grad_fn)
    if rc == 0 and fg_acc_visible():
        # forward accumulators: as TF eager, the output carries the tangent
        # of the ops inside the function; where it has none (computed
        # outside fastgrad), the double-VJP rule of fg_jvp.c
        rc = fg_acc_record(OP_IDENTITY, 1, &o, NULL, 0, alias, NULL)
        if rc == 0:
            rc = fg_acc_record(OP_CUSTOM, n, ins, NULL, 0, alias, <void *>grad_fn)
    fg_decref(o)
    free(ins)
    if rc < 0:
        raise_error()
    return result
