# Tensors: conversion of Python values and arrays into fg_tensors, the
# NumPy view of a tensor, and the Tensor and Variable types.
# (Included by _core.pyx, in order, so it sees what the parts before define.)

# ------------------------------------------------------------------ tensors

cdef inline Tensor wrap(fg_tensor *t):
    """A Tensor owning the new reference t (NULL: raise the C error)."""
    if t == NULL:
        raise_error()
    cdef Tensor r = Tensor.__new__(Tensor)
    r.t = t
    return r


cdef object _NO_LEAF = object()


cdef object _unsupported_leaf(object value):
    """The first leaf of value that is no number, string, array or tensor
    (TF names it in its conversion error), else _NO_LEAF."""
    if isinstance(value, (list, tuple)):
        for v in value:
            leaf = _unsupported_leaf(v)
            if leaf is not _NO_LEAF:
                return leaf
        return _NO_LEAF
    if isinstance(value, (bool, int, float, complex, str, bytes, np.ndarray, np.generic, _TensorBase)):
        return _NO_LEAF
    return value


cdef int _check_convertible(object value, cnp.ndarray arr) except -1:
    """TF's ValueError for objects of types it cannot convert (strings get
    the callers' TypeError: TF would make a string tensor)."""
    if arr.dtype.kind != "O":
        return 0
    leaf = _unsupported_leaf(value)
    if leaf is not _NO_LEAF:
        raise ValueError("Attempt to convert a value (%r) with an unsupported type (%s) to a Tensor."
                         % (leaf, type(leaf)))
    return 0


cdef object _first_leaf(object value):
    while isinstance(value, (list, tuple)) and len(value):
        value = value[0]
    return value


cdef bint _out_of_int64(object value, cnp.ndarray arr, bint numpy_data):
    """Integers no fastgrad dtype holds: uint64 past 2**63 - 1, Python ints
    past 64 bits (NumPy makes those an object array, or float64 beside
    smaller ones)."""
    if arr.dtype.kind == "u":
        return arr.dtype.itemsize == 8 and int(arr.max()) > 2**63 - 1
    if numpy_data:
        return False
    flat = arr.ravel() if arr.dtype.kind == "O" else np.asarray(value, dtype=object).ravel()
    return all(type(v) is int for v in flat) and any(not -2**63 <= v < 2**63 for v in flat)


cdef fg_tensor *from_array(object value, int dtype) except NULL:
    """New fg_tensor holding a copy of value (anything np.asarray takes)."""
    cdef cnp.ndarray arr
    cdef int64_t shape[16]
    cdef int i, nd
    if value is None:
        raise ValueError("Attempt to convert a value (None) with an unsupported type "
                         "(<class 'NoneType'>) to a Tensor.")
    cdef bint numpy_data = isinstance(value, (np.ndarray, np.generic))
    try:
        arr = np.asarray(value)
    except ValueError as e:
        if "inhomogeneous" in str(e):
            raise ValueError("Can't convert non-rectangular Python sequence to Tensor.") from None
        raise
    if arr.size and (arr.dtype.kind in "uO" or (arr.dtype.kind == "f" and not numpy_data and
                                               type(_first_leaf(value)) is int)) \
            and _out_of_int64(value, arr, numpy_data):
        # TF's text; np.asarray made 2**63 a uint64 and the int64 copy wrapped it
        raise ValueError("Can't convert Python sequence with out-of-range integer to Tensor.")
    _check_convertible(value, arr)
    if dtype < 0:
        if arr.dtype.kind == "f" and not numpy_data:
            # Python floats become float32, as in TF; a list whose first
            # leaf is NumPy float64 stays float64 (TF's sequence conversion)
            leaf = _first_leaf(value)
            dtype = FG_F64 if isinstance(leaf, (np.ndarray, np.generic)) and leaf.dtype == np.float64 else FG_F32
        elif arr.dtype.kind in "iu" and not numpy_data:
            dtype = FG_I32 if arr.size == 0 or (arr.min() >= -2**31 and arr.max() < 2**31) else FG_I64
        elif arr.dtype.kind == "O" or arr.dtype.kind in "US":
            raise TypeError("Cannot convert %r to a fastgrad Tensor" % (value,))
        else:
            dtype = np_enum(arr.dtype)
    else:
        if arr.dtype.kind in "OUS":
            raise TypeError("Cannot convert %r to EagerTensor of dtype %s"
                            % (value, _tf_dtype_name(dtype)))
        if not numpy_data and ((dtype in (FG_I32, FG_I64) and arr.dtype.kind == "f")
                               or (dtype == FG_BOOL and arr.dtype.kind in "iuf")):
            # TF refuses Python floats for integer dtypes (even 2.0) and
            # Python numbers for bool
            raise TypeError("Cannot convert %r to EagerTensor of dtype %s"
                            % (value, _DTYPE_OBJS[dtype].name))
    arr = np.asarray(arr, dtype=_DTYPE_OBJS[dtype].as_numpy_dtype, order="C")
    nd = arr.ndim
    if nd > FG_MAX_NDIM:
        raise ValueError("fastgrad tensors have at most %d dimensions" % FG_MAX_NDIM)
    for i in range(nd):
        shape[i] = arr.shape[i]
    cdef fg_tensor *t = fg_tensor_new(dtype, nd, shape)
    if t == NULL:
        raise_error()
    memcpy(t.data, cnp.PyArray_DATA(arr), <size_t>t.size * fg_dtype_size(dtype))
    return t


cdef fg_tensor *scalar_of(object v, int dtype) except NULL:
    """A 0-d tensor of `dtype` from a Python number (the operator fast path)."""
    cdef fg_tensor *t
    if type(v) is float:
        if dtype == FG_I32 or dtype == FG_I64 or dtype == FG_BOOL:
            raise TypeError("Cannot convert %r to EagerTensor of dtype %s"
                            % (v, _DTYPE_OBJS[dtype].name))
        t = fg_tensor_scalar(dtype, <double>v)
    elif type(v) is int and -2**53 < v < 2**53:
        if dtype == FG_BOOL:
            raise TypeError("Cannot convert %r to EagerTensor of dtype bool" % (v,))
        t = fg_tensor_scalar(dtype, <double>v)
    else:
        return from_array(v, dtype)
    if t == NULL:
        raise_error()
    return t


cdef fg_tensor *as_fg(object v, int dtype) except NULL:
    """A new reference to v as an fg_tensor, converted to dtype (-1: infer)."""
    cdef fg_tensor *t
    if isinstance(v, _TensorBase):
        t = (<_TensorBase>v).t
        if dtype >= 0 and t.dtype != dtype:
            raise _errors.InvalidArgumentError(
                "Tensor conversion requested dtype %s for Tensor with dtype %s: %r"
                % (_DTYPE_OBJS[dtype].name, _DTYPE_OBJS[t.dtype].name, v))
        fg_incref(t)
        return t
    if type(v) is float:
        return scalar_of(v, dtype if dtype >= 0 else FG_F32)
    if type(v) is int and -2**31 <= v < 2**31:
        return scalar_of(v, dtype if dtype >= 0 else FG_I32)
    if type(v) is bool:
        if dtype >= 0 and dtype != FG_BOOL:
            return from_array(v, dtype)
        t = fg_tensor_scalar(FG_BOOL, 1.0 if v else 0.0)
        return t
    if hasattr(v, "__fastgrad_tensor__"):
        return as_fg(v.__fastgrad_tensor__(), dtype)
    return from_array(v, dtype)


def convert_to_tensor(value, dtype=None, dtype_hint=None, name=None):
    """Convert a Python value, NumPy array or Tensor to a Tensor.

    Python floats become float32, ints int32; NumPy arrays keep their dtype.

    >>> convert_to_tensor([1.0, 2.0]).dtype.name
    'float32'
    """
    cdef int dt = -1
    if dtype is not None:
        dt = as_dtype(dtype)._enum
    if type(value) is Tensor and dt < 0:
        return value
    if dt < 0 and dtype_hint is not None and not isinstance(value, (_TensorBase, np.ndarray)):
        try:
            return wrap(as_fg(value, as_dtype(dtype_hint)._enum))
        except (TypeError, ValueError):
            pass
    if isinstance(value, Variable) and dt >= 0 and (<Variable>value).t.dtype != dt:
        raise ValueError("Tensor conversion requested dtype %s for variable with dtype %s"
                         % (_DTYPE_OBJS[dt].name, value.dtype.name))
    return wrap(as_fg(value, dt))


cdef object numpy_view(_TensorBase owner, bint guard=True, bint readonly=True):
    """A read-only NumPy array over owner's data (owner kept alive).

    While a fastgrad.function traces, the value becomes a Python value
    here: record a guard (repr/str pass guard=False: printing is a
    trace-time side effect, as in TF). readonly=False only for a DLPack
    export that cannot say read-only (see __dlpack__)."""
    cdef fg_tensor *t = owner.t
    if guard:
        _trace_guard(t)
    cdef cnp.npy_intp dims[16]
    cdef int i
    for i in range(t.ndim):
        dims[i] = t.shape[i]
    cdef cnp.ndarray arr = cnp.PyArray_SimpleNewFromData(t.ndim, dims, _NPY_TYPES[t.dtype], t.data)
    Py_INCREF(owner)
    cnp.PyArray_SetBaseObject(arr, owner)
    if readonly:
        cnp.PyArray_CLEARFLAGS(arr, cnp.NPY_ARRAY_WRITEABLE)
    return arr


cdef str numpy_text(object arr, bint is_repr):
    # A scalar shows as NumPy's str (float32 0.1 -> 0.1), as the seed tutorials
    # print it (TF <= 2.15); TF 2.21 + NumPy 2 shows repr(.item()) instead
    # (0.10000000149011612). The seeds are the contract here.
    text = (repr(arr) if arr.ndim else str(arr[()])) if is_repr else str(arr if arr.ndim else arr[()])
    if "\n" in text:
        text = "\n" + text
    return text


cdef void _release_owner(void *owner) noexcept with gil:
    """fg_tensor_borrow's release: drop the reference _borrow_array took."""
    Py_DECREF(<object>owner)


def _borrow_array(object arr):
    """A Tensor over a NumPy array's memory, without a copy (from_dlpack).

    The Tensor holds ``arr`` until its last reference goes; fastgrad never
    writes into it. Arrays fastgrad cannot use in place (strided,
    misaligned, byte-swapped, or of a dtype it computes in another type)
    are converted as ``constant`` converts them.
    """
    cdef cnp.ndarray a = arr
    cdef int64_t shape[FG_MAX_NDIM]
    cdef int dt = _NP_TO_ENUM.get(a.dtype, -1)
    if (dt < 0 or a.ndim > FG_MAX_NDIM or not a.flags.c_contiguous or not a.flags.aligned
            or not a.dtype.isnative):
        return convert_to_tensor(a)
    for i in range(a.ndim):
        shape[i] = a.shape[i]
    Py_INCREF(a)
    cdef fg_tensor *t = fg_tensor_borrow(dt, a.ndim, shape, cnp.PyArray_DATA(a), _release_owner,
                                         <void *>a)
    if t == NULL:
        Py_DECREF(a)
        raise_error()
    return wrap(t)


@cython.freelist(64)
cdef class _TensorBase:
    """What Tensor and Variable share: a value and its operators."""
    cdef fg_tensor *t

    # As TF's EagerTensor: no __array_ufunc__ (nor __array_function__), so
    # NumPy functions convert through __array__ and return NumPy values
    # (np.sin(t), np.sum(t)), while an array or NumPy scalar on the left of
    # an operator defers to our reflected operator by this priority
    # (NumPy's legacy rule), which returns a Tensor and is recorded on tapes.
    __array_priority__ = 1000

    def __dealloc__(self):
        if self.t != NULL:
            fg_decref(self.t)
            self.t = NULL

    @property
    def shape(self):
        # tuple.__new__ skips TensorShape's per-dim int() conversion: the
        # dims are C ints already, and .shape is on every hot path
        return _new_tuple(TensorShape, [self.t.shape[i] for i in range(self.t.ndim)])

    @property
    def dtype(self):
        return _DTYPE_OBJS[self.t.dtype]

    @property
    def ndim(self):
        return self.t.ndim

    @property
    def _id(self):
        return self.t.id

    @property
    def device(self):
        return "/job:localhost/replica:0/task:0/device:CPU:0"

    def get_shape(self):
        return self.shape

    def numpy(self):
        """The value as a NumPy array (a scalar for 0-d), read-only for Tensors."""
        arr = numpy_view(self)
        return arr[()] if self.t.ndim == 0 else arr

    def __array__(self, dtype=None, copy=None):
        arr = numpy_view(self)
        if copy:
            arr = arr.copy()
        if dtype is not None and arr.dtype != dtype:
            if copy is False:
                raise ValueError("converting dtype needs a copy")
            arr = arr.astype(dtype)
        return arr

    def __dlpack__(self, **kwargs):
        """A DLPack capsule over the tensor's memory (no copy).

        A consumer that speaks DLPack >= 1.0 is told it is read-only; a
        legacy capsule (tf.experimental.dlpack.to_dlpack's, TF's and
        PyTorch's default) cannot say so, and shares the memory as TF's
        does (writing through it would change the tensor).
        """
        legacy = (kwargs.get("max_version") or (0, 0))[0] < 1
        return numpy_view(self, True, not legacy).__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return (1, 0)

    def __len__(self):
        if self.t.ndim == 0:
            raise TypeError("Scalar tensor has no `len()`")
        return self.t.shape[0]

    def __iter__(self):
        if self.t.ndim == 0:
            raise TypeError("Cannot iterate over a scalar tensor.")
        return (self[i] for i in range(self.t.shape[0]))

    def __bool__(self):
        if self.t.size != 1:
            raise ValueError("The truth value of an array with more than one element is "
                             "ambiguous. Use a.any() or a.all()")
        return bool(numpy_view(self).reshape(()))

    def __float__(self):
        return float(self._scalar())

    def __int__(self):
        return int(self._scalar())

    def __index__(self):
        if self.t.dtype not in (FG_I32, FG_I64):
            raise TypeError("Only integer tensors can be used as an index")
        return int(self._scalar())

    def _scalar(self):
        if self.t.ndim != 0:  # NumPy 2's rule, which TF's float()/int() follow
            raise TypeError("only 0-dimensional arrays can be converted to Python scalars")
        return numpy_view(self).reshape(())[()]

    def __hash__(self):
        if isinstance(self, Variable):
            raise TypeError("Variable is unhashable. Instead, use variable.ref() as the key. "
                            "(Variable: %r)" % (self,))
        raise TypeError("Tensor is unhashable. Instead, use tensor.ref() as the key.")

    def ref(self):
        return _Ref(self)

    def __format__(self, spec):
        # TF: self._numpy().__format__(spec), so f"{t}" of a vector is "[1. 2.]"
        if self.t.ndim == 0:
            return format(self._scalar(), spec)
        return format(numpy_view(self), spec)

    # operators: each one call into C
    def __add__(self, other):
        return binary(OP_ADD, self, other)

    def __radd__(self, other):
        return binary(OP_ADD, other, self)

    def __sub__(self, other):
        return binary(OP_SUB, self, other)

    def __rsub__(self, other):
        return binary(OP_SUB, other, self)

    def __mul__(self, other):
        return binary(OP_MUL, self, other)

    def __rmul__(self, other):
        return binary(OP_MUL, other, self)

    def __truediv__(self, other):
        return truediv(self, other)

    def __rtruediv__(self, other):
        return truediv(other, self)

    def __floordiv__(self, other):
        return floordiv(self, other)

    def __rfloordiv__(self, other):
        return floordiv(other, self)

    def __mod__(self, other):
        return floormod(self, other)

    def __rmod__(self, other):
        return floormod(other, self)

    def __pow__(self, other, mod):
        return binary(OP_POW, self, other)

    def __rpow__(self, other, mod):
        return binary(OP_POW, other, self)

    def __matmul__(self, other):
        return matmul(self, other)

    def __rmatmul__(self, other):
        return matmul(other, self)

    def __neg__(self):
        return unary(OP_NEG, self)

    def __pos__(self):
        return self

    def __abs__(self):
        return unary(OP_ABS, self)

    def __invert__(self):
        return unary(OP_LOGICAL_NOT, self)

    def __and__(self, other):
        return binary(OP_LOGICAL_AND, self, other)

    def __rand__(self, other):
        return binary(OP_LOGICAL_AND, other, self)

    def __or__(self, other):
        return binary(OP_LOGICAL_OR, self, other)

    def __ror__(self, other):
        return binary(OP_LOGICAL_OR, other, self)

    def __lt__(self, other):
        return binary(OP_LESS, self, other)

    def __le__(self, other):
        return binary(OP_LESS_EQUAL, self, other)

    def __gt__(self, other):
        return binary(OP_GREATER, self, other)

    def __ge__(self, other):
        return binary(OP_GREATER_EQUAL, self, other)

    def __eq__(self, other):
        # TF: equal(..., incompatible_shape_error=False); None compares unequal
        if other is None:
            return False
        try:
            return binary(OP_EQUAL, self, other)
        except _errors.InvalidArgumentError as e:
            if "Incompatible shapes" not in str(e):
                raise
            return wrap(fg_tensor_scalar(FG_BOOL, 0.0))

    def __ne__(self, other):
        if other is None:
            return True
        try:
            return binary(OP_NOT_EQUAL, self, other)
        except _errors.InvalidArgumentError as e:
            if "Incompatible shapes" not in str(e):
                raise
            return wrap(fg_tensor_scalar(FG_BOOL, 1.0))

    def __getitem__(self, key):
        from fastgrad._indexing import getitem
        return getitem(self, key)


cdef class _Ref:
    """A hashable handle to a tensor or variable (``t.ref()``)."""
    cdef object _obj

    def __init__(self, obj):
        self._obj = obj

    def deref(self):
        return self._obj

    def __hash__(self):
        return id(self._obj)

    def __eq__(self, other):
        return isinstance(other, _Ref) and (<_Ref>other)._obj is self._obj


cdef class Tensor(_TensorBase):
    """An immutable n-d array value (``tf.Tensor``).

    >>> import fastgrad as tf
    >>> tf.constant([1.0, 2.0]) * 3
    <fastgrad.Tensor: shape=(2,), dtype=float32, numpy=array([3., 6.], dtype=float32)>
    """

    def __init__(self, *args, **kwargs):
        raise TypeError("Tensors are made by fastgrad.constant or by ops, not Tensor().")

    def __repr__(self):
        return "<fastgrad.Tensor: shape=%s, dtype=%s, numpy=%s>" % (
            self.shape, self.dtype.name, numpy_text(numpy_view(self, False), True))

    def __str__(self):
        return "fastgrad.Tensor(%s, shape=%s, dtype=%s)" % (
            numpy_text(numpy_view(self, False), False), self.shape, self.dtype.name)

    def __reduce__(self):
        return (convert_to_tensor, (np.array(numpy_view(self)),))


# Variables are registered by id so that tapes, which know ids, can name
# the variables they watched.
_VARIABLES = weakref.WeakValueDictionary()


cdef class Variable(_TensorBase):
    """A mutable tensor (``tf.Variable``); reading it in a tape watches it.

    >>> import fastgrad as tf
    >>> v = tf.Variable(1.0)
    >>> _ = v.assign_sub(0.25)
    >>> v
    <fastgrad.Variable 'Variable:0' shape=() dtype=float32, numpy=0.75>
    """
    cdef public object _name
    cdef bint _trainable
    cdef object __weakref__
    cdef public object _constraint, _synchronization, _aggregation

    # __init__ is a type slot, which inspect cannot read: state its signature
    __signature__ = _inspect.Signature(
        [_inspect.Parameter(n, _inspect.Parameter.POSITIONAL_OR_KEYWORD, default=d)
         for n, d in (("initial_value", None), ("trainable", True), ("name", None),
                      ("dtype", None), ("validate_shape", True))]
        + [_inspect.Parameter("kwargs", _inspect.Parameter.VAR_KEYWORD)])

    def __init__(self, initial_value=None, trainable=True, name=None, dtype=None,
                 validate_shape=True, caching_device=None, constraint=None,
                 synchronization=None, aggregation=None, shape=None,
                 experimental_enable_variable_lifting=True, **kwargs):
        if constraint is not None and not callable(constraint):
            raise ValueError("Argument `constraint` must be None or a callable. a callable. "
                             "Got a %s:  %s" % (type(constraint), constraint))
        # accepted for distribution-strategy code; one device has nothing to sync
        self._constraint = constraint
        self._synchronization = _variables.VariableSynchronization(
            0 if synchronization is None else synchronization)
        self._aggregation = _variables.VariableAggregation(
            0 if aggregation is None else aggregation)
        if initial_value is None:
            raise ValueError("The `initial_value` arg to `tf.Variable` must be specified except when "
                             "you are not providing a `variable_def`. You provided neither.")
        if callable(initial_value):
            initial_value = initial_value()
        cdef int dt = -1 if dtype is None else as_dtype(dtype)._enum
        cdef fg_tensor *src = as_fg(initial_value, dt)
        self.t = fg_tensor_copy(src)
        fg_decref(src)
        if self.t == NULL:
            raise_error()
        self._trainable = bool(trainable) if trainable is not None else True
        self.t.flags = FG_FLAG_VARIABLE | (FG_FLAG_TRAINABLE if self._trainable else 0)
        self._name = _variable_name(name)  # TF's: the name scope + name + ':0'
        _VARIABLES[self.t.id] = self
        _trace_unsupported("a Variable was created")

    @property
    def name(self):
        return self._name

    @property
    def trainable(self):
        return self._trainable

    @property
    def constraint(self):
        """The projection function given (Keras optimizers apply it after
        each update), or None."""
        return self._constraint

    @property
    def synchronization(self):
        return self._synchronization

    @property
    def aggregation(self):
        return self._aggregation

    @property
    def initializer(self):
        """None: TF 2's eager Variables are initialized when created."""
        return None

    @property
    def initial_value(self):
        raise RuntimeError("This property is not supported when eager execution is enabled.")

    @property
    def handle(self):
        return self

    def numpy(self):
        """A copy of the current value (Variables change in place)."""
        arr = np.array(numpy_view(self))
        return arr[()] if self.t.ndim == 0 else arr

    def __array__(self, dtype=None, copy=None):
        if copy is False:
            raise ValueError("a Variable's value cannot be viewed without a copy")
        arr = np.array(numpy_view(self))
        return arr if dtype is None else arr.astype(dtype)

    def value(self):
        """The current value as a Tensor (a snapshot: later assigns copy)."""
        fg_incref(self.t)
        return wrap(self.t)

    def read_value(self):
        return self.value()

    def __fastgrad_tensor__(self):
        return self.value()

    cdef int _writable(self) except -1:
        """Make self.t exclusively ours before an in-place update (tapes
        and Tensors that read the old value keep it)."""
        cdef fg_tensor *fresh
        if self.t.refcnt > 1:
            fresh = fg_tensor_copy(self.t)
            if fresh == NULL:
                raise_error()
            fresh.id = self.t.id
            fresh.flags = self.t.flags
            fg_decref(self.t)
            self.t = fresh
        elif fg_tensor_make_writable(self.t) < 0:
            raise_error()
        return 0

    cdef fg_tensor *_operand(self, object value, str op) except NULL:
        cdef fg_tensor *v
        if isinstance(value, _TensorBase) and (<_TensorBase>value).t.dtype != self.t.dtype:
            # TF converts the value to the variable's dtype first (all three ops)
            raise ValueError("Tensor conversion requested dtype %s for Tensor with dtype %s: %r"
                             % (self.dtype.name, value.dtype.name, value))
        return as_fg(value, self.t.dtype)

    def assign(self, value, use_locking=None, name=None, read_value=True):
        """Set the value in place; the shape and dtype must match."""
        cdef fg_tensor *v = self._operand(value, "AssignVariableOp")
        try:
            if not fg_same_shape(v, self.t):
                raise ValueError(
                    "Cannot assign value to variable ' %s': Shape mismatch.The variable shape %s, "
                    "and the assigned value shape %s are incompatible."
                    % (self._name, self.shape, TensorShape([v.shape[i] for i in range(v.ndim)])))
            self._writable()
            memcpy(self.t.data, v.data, <size_t>v.size * fg_dtype_size(v.dtype))
            _trace_assign(&self.t, FG_ASSIGN, v)
        finally:
            fg_decref(v)
        return self if read_value else None  # TF: read_value=False returns None

    cdef _update(self, object delta, int kind, str op):
        cdef fg_tensor *v = self._operand(delta, op)
        cdef int rc
        try:
            if not fg_same_shape(v, self.t):
                raise _errors.InvalidArgumentError(
                    "Cannot update variable with shape %s using a Tensor with shape %s, "
                    "shapes must be equal. [Op:%s]"
                    % (list(self.shape), [v.shape[i] for i in range(v.ndim)], op))
            self._writable()
            rc = fg_k_binary(kind, self.t.dtype, self.t.data, self.t.ndim, self.t.shape,
                             v.data, v.ndim, v.shape, self.t.data, self.t.ndim, self.t.shape)
            if rc < 0:
                raise_error()
            _trace_assign(&self.t, FG_ASSIGN_ADD if kind == FG_B_ADD else FG_ASSIGN_SUB, v)
        finally:
            fg_decref(v)
        return self

    def assign_add(self, delta, use_locking=None, name=None, read_value=True):
        """Add delta in place (one pass, no new tensor)."""
        r = self._update(delta, FG_B_ADD, "AssignAddVariableOp")
        return r if read_value else None

    def assign_sub(self, delta, use_locking=None, name=None, read_value=True):
        """Subtract delta in place (one pass, no new tensor)."""
        r = self._update(delta, FG_B_SUB, "AssignSubVariableOp")
        return r if read_value else None

    def __repr__(self):
        return "<fastgrad.Variable '%s' shape=%s dtype=%s, numpy=%s>" % (
            self._name, self.shape, self.dtype.name, numpy_text(np.array(numpy_view(self, False)), True))

    def __str__(self):
        return self.__repr__()

    def __format__(self, spec):
        # TF's variables have object's __format__: str() for "", else TypeError
        return object.__format__(self, spec)

    def _base_name(self):
        # 'outer/w:0' -> 'outer/w/': a copy keeps the name whatever scope it is made in
        return self._name[:-2] + "/"

    def __reduce__(self):
        return (Variable, (self.numpy(), self._trainable, self._base_name()))

    def __deepcopy__(self, memo):
        return Variable(self.numpy(), self._trainable, self._base_name())


def _tf_dtype_name(int dtype):
    return ("float", "double", "int32", "int64", "bool")[dtype]
