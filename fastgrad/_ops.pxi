# Op application: the op table's codes, binary/unary/apply (one call into C
# per op) and the ops that need argument conversion first (cast, matmul,
# constant, fill, ...).
# (Included by _core.pyx, in order, so it sees what the parts before define.)

# ------------------------------------------------------------------ ops

cdef dict _OPS = {}
for _i in range(FG_NUM_OPS):
    _OPS[fg_op_name(_i).decode()] = _i

cdef int OP_ADD = _OPS["add"], OP_SUB = _OPS["subtract"], OP_MUL = _OPS["multiply"]
cdef int OP_DIV = _OPS["divide"], OP_FLOORDIV = _OPS["floordiv"], OP_POW = _OPS["pow"]
cdef int OP_FLOOR = _OPS["floor"], OP_FLOORMOD = _OPS["floormod"]
cdef int OP_NEG = _OPS["negative"], OP_ABS = _OPS["abs"], OP_LOGICAL_NOT = _OPS["logical_not"]
cdef int OP_LOGICAL_AND = _OPS["logical_and"], OP_LOGICAL_OR = _OPS["logical_or"]
cdef int OP_LESS = _OPS["less"], OP_LESS_EQUAL = _OPS["less_equal"]
cdef int OP_GREATER = _OPS["greater"], OP_GREATER_EQUAL = _OPS["greater_equal"]
cdef int OP_EQUAL = _OPS["equal"], OP_NOT_EQUAL = _OPS["not_equal"]
cdef int OP_CAST = _OPS["cast"], OP_MATMUL = _OPS["matmul"], OP_RESHAPE = _OPS["reshape"]
cdef int OP_REDUCE_SUM = _OPS["reduce_sum"], OP_IDENTITY = _OPS["identity"]

OPS = dict(_OPS)
# each op's attribute layout (csrc/fg_ops.def), e.g. 'aff' for cumsum's [axis, exclusive, reverse]
OP_ATTRS = {fg_op_name(i).decode(): fg_op_attrs(i).decode() for i in range(FG_NUM_OPS)}


cdef inline int operand_dtype(object a, object b):
    if isinstance(a, _TensorBase):
        return (<_TensorBase>a).t.dtype
    if isinstance(b, _TensorBase):
        return (<_TensorBase>b).t.dtype
    return -1


cdef _add_conversion_error(object a, object b):
    """TF's tensor + value converts the value on its own, so it fails in
    AddV2 rather than in the conversion (other operators raise TypeError)."""
    try:
        other = convert_to_tensor(b)
    except (TypeError, ValueError):
        return
    raise _errors.InvalidArgumentError(
        "cannot compute AddV2 as input #1(zero-based) was expected to be a %s tensor "
        "but is a %s tensor [Op:AddV2]" % (_tf_dtype_name((<_TensorBase>a).t.dtype),
                                          _tf_dtype_name((<_TensorBase>other).t.dtype)))


cpdef object binary(int op, object a, object b):
    """Apply a two-input op; a non-tensor operand takes the other's dtype."""
    cdef fg_tensor *ins[2]
    cdef fg_tensor *out
    cdef int dt = operand_dtype(a, b)
    ins[0] = as_fg(a, dt if not isinstance(a, _TensorBase) else -1)
    try:
        ins[1] = as_fg(b, ins[0].dtype if not isinstance(b, _TensorBase) else -1)
    except TypeError:
        fg_decref(ins[0])
        if op == OP_ADD and isinstance(a, _TensorBase):
            _add_conversion_error(a, b)
        raise
    except BaseException:
        fg_decref(ins[0])
        raise
    out = fg_apply(op, 2, ins, NULL, 0)
    fg_decref(ins[0])
    fg_decref(ins[1])
    return wrap(out)


cpdef object unary(int op, object x):
    cdef fg_tensor *t = as_fg(x, -1)
    cdef fg_tensor *out = fg_apply(op, 1, &t, NULL, 0)
    fg_decref(t)
    return wrap(out)


def apply(int op, inputs, attrs=(), int dtype=-1):
    """Apply op to a sequence of inputs with integer attributes.

    Non-tensor inputs take `dtype` if given, else the first tensor's dtype.
    """
    cdef int n = len(inputs), na = len(attrs), i
    cdef fg_tensor *ins_small[4]
    cdef int64_t at_small[8]
    cdef fg_tensor **ins = &ins_small[0]
    cdef int64_t *at = &at_small[0]
    if n > 4:
        ins = <fg_tensor **>malloc(n * sizeof(fg_tensor *))
    if na > 8:
        at = <int64_t *>malloc(na * sizeof(int64_t))
    if ins == NULL or at == NULL:
        raise MemoryError()
    cdef fg_tensor *out = NULL
    cdef int made = 0
    if dtype < 0:
        for x in inputs:
            if isinstance(x, _TensorBase):
                dtype = (<_TensorBase>x).t.dtype
                break
    try:
        for i in range(na):
            at[i] = attrs[i]
        for i in range(n):
            x = inputs[i]
            ins[i] = as_fg(x, -1 if isinstance(x, _TensorBase) else dtype)
            made += 1
        # the table's attribute layout says how many attributes the op reads
        if n and fg_attrs_check(op, ins[0].ndim, at, na) < 0:
            raise_error()
        out = fg_apply(op, n, ins, at, na)
    finally:
        for i in range(made):
            fg_decref(ins[i])
        if ins != &ins_small[0]:
            free(ins)
        if at != &at_small[0]:
            free(at)
    return wrap(out)


def truediv(a, b):
    """a / b; integers divide as float64, as TF's truediv does."""
    cdef int dt = operand_dtype(a, b)
    if not isinstance(a, _TensorBase):
        a = _convert_hinted(a, dt)
    if not isinstance(b, _TensorBase):
        b = _convert_hinted(b, (<_TensorBase>a).t.dtype)
    if (<_TensorBase>a).t.dtype != (<_TensorBase>b).t.dtype:
        raise TypeError("`x` and `y` must have the same dtype, got tf.%s != tf.%s."
                        % (a.dtype.name, b.dtype.name))
    dt = (<_TensorBase>a).t.dtype
    if dt == FG_I32 or dt == FG_I64:
        a = cast(a, FG_F64)
        b = cast(b, FG_F64)
    return binary(OP_DIV, a, b)


def floordiv(a, b):
    """TF's FloorDiv: floor(a / b) (integers: floor division; not differentiable)."""
    q = binary(OP_FLOORDIV, a, b)
    if (<_TensorBase>q).t.dtype == FG_F32 or (<_TensorBase>q).t.dtype == FG_F64:
        # the kernel divides; TF floors the quotient (Eigen numext::floor(x / y)),
        # a table op so that a fastgrad.function trace records it
        q = unary(OP_FLOOR, q)
    return q


def floormod(a, b):
    """TF's FloorMod: the remainder with b's sign (fmod, then + b where the
    signs differ: exact for any quotient). Differentiable as TF's:
    d/da = 1, d/db = -floor(a / b)."""
    return binary(OP_FLOORMOD, a, b)


cdef object _convert_hinted(object v, int hint):
    """convert_to_tensor(v, dtype_hint=hint): the hint if v converts to it."""
    if hint >= 0:
        try:
            return wrap(as_fg(v, hint))
        except (TypeError, ValueError):
            pass
    return wrap(as_fg(v, -1))


def cast(x, int dtype):
    cdef fg_tensor *t = as_fg(x, -1)
    cdef int64_t at = dtype
    cdef fg_tensor *out = fg_apply(OP_CAST, 1, &t, &at, 1)
    fg_decref(t)
    return wrap(out)


def matmul(a, b, bint transpose_a=False, bint transpose_b=False):
    cdef fg_tensor *ins[2]
    cdef int64_t at[2]
    at[0] = transpose_a
    at[1] = transpose_b
    cdef int dt = operand_dtype(a, b)
    ins[0] = as_fg(a, dt if not isinstance(a, _TensorBase) else -1)
    try:
        ins[1] = as_fg(b, ins[0].dtype if not isinstance(b, _TensorBase) else -1)
    except BaseException:
        fg_decref(ins[0])
        raise
    cdef fg_tensor *out = fg_apply(OP_MATMUL, 2, ins, at, 2)
    fg_decref(ins[0])
    fg_decref(ins[1])
    return wrap(out)


def reduce_mean(x, mask, bint keepdims):
    cdef fg_tensor *t = as_fg(x, -1)
    cdef uint8_t m[16]
    cdef int i
    for i in range(t.ndim):
        m[i] = mask[i]
    cdef fg_tensor *out = fg_reduce_mean(t, m, keepdims)
    fg_decref(t)
    return wrap(out)


def constant(value, dtype=None, shape=None, name=None):
    cdef int dt = -1 if dtype is None else as_dtype(dtype)._enum
    cdef Tensor t
    if isinstance(value, _TensorBase):
        t = wrap(as_fg(value, -1))
        if dt >= 0 and t.t.dtype != dt:
            raise TypeError("Expected tensor %s with dtype tf.%s, but got dtype tf.%s."
                            % (numpy_view(t), _DTYPE_OBJS[dt].name, t.dtype.name))
    else:
        t = wrap(as_fg(value, dt))
    if shape is not None:
        given = shape
        shape = [int(s) for s in shape]
        if t.t.size == 1 and t.t.ndim <= len(shape):
            return fill(shape, t)
        n = math.prod(shape)  # exact: np.prod wraps past 2**63
        if n != t.t.size:
            raise TypeError("Eager execution of tf.constant with unsupported shape. Tensor %s "
                            "(converted from %r) has %d elements, but got `shape` %s with %d elements)."
                            % (numpy_view(t), value, t.t.size, tuple(shape), n))
        return apply(OP_RESHAPE, [t], [len(shape)] + shape)
    return t


cdef int _shape_arg(object dims, int64_t *shape) except -1:
    """dims into shape[FG_MAX_NDIM]; its rank, or TF's error type past 16
    dims (they overran the caller's stack array)."""
    cdef int i, nd = len(dims)
    if nd > FG_MAX_NDIM:
        raise _errors.InvalidArgumentError("rank %d exceeds the maximum of %d" % (nd, FG_MAX_NDIM))
    for i in range(nd):
        shape[i] = dims[i]
    return nd


def fill(dims, value, dtype=None):
    """A tensor of shape dims filled with value (not recorded)."""
    cdef int64_t shape[16]
    cdef int i, nd = _shape_arg(dims, shape)
    cdef int dt = -1 if dtype is None else as_dtype(dtype)._enum
    cdef fg_tensor *v = as_fg(value, dt)
    if v.size != 1:
        fg_decref(v)
        raise _errors.InvalidArgumentError("value must be a scalar. Received: %r" % (value,))
    cdef fg_tensor *t = fg_tensor_new(v.dtype, nd, shape)
    cdef int64_t at[17]
    cdef fg_program *prog = fg_program_tracing()
    if t != NULL:
        fg_k_broadcast_to(v.dtype, v.data, 0, shape, t.data, nd, shape)
        if prog != NULL:
            # a traced fill value: the replay broadcasts it again
            at[0] = nd
            for i in range(nd):
                at[1 + i] = shape[i]
            if fg_program_trace_op(prog, _OPS["broadcast_to"], 1, &v, at, nd + 1, t) < 0:
                fg_decref(v)
                fg_decref(t)
                raise_error()
    fg_decref(v)
    return wrap(t)


def zeros(shape, int dtype):
    cdef int64_t s[16]
    cdef int nd = _shape_arg(shape, s)
    return wrap(fg_tensor_zeros(dtype, nd, s))


def range_(int64_t n, double start, double delta, int dtype):
    cdef int64_t s = n
    cdef fg_tensor *t = fg_tensor_new(dtype, 1, &s)
    if t != NULL:
        fg_k_range(dtype, t.data, n, start, delta)
    return wrap(t)


def stop_gradient(x):
    """The value of x, cut from every tape (a fresh id shares the data)."""
    cdef fg_tensor *t = as_fg(x, -1)
    cdef fg_tensor *out = fg_tensor_alias(t, t.ndim, t.shape)
    if out != NULL:
        try:
            _trace_alias(t, out)
        except BaseException:
            fg_decref(t)
            fg_decref(out)
            raise
    fg_decref(t)
    return wrap(out)


def tensor_id(x):
    return (<_TensorBase?>x).t.id
