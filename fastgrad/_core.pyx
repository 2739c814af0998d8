# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Glue between the C core (csrc/) and Python: tensors, op application,
tapes. No numerics here: every op is one call into C.
"""
cimport cython
cimport numpy as cnp
from cpython.pycapsule cimport PyCapsule_GetPointer, PyCapsule_GetName
from cpython.ref cimport Py_INCREF, Py_DECREF, PyObject
from libc.stdint cimport int64_t, uint8_t, int32_t
from libc.string cimport memcpy
from libc.stdlib cimport malloc, free

from fastgrad._ctensor cimport *
from fastgrad._cops cimport *
from fastgrad._ctape cimport *
from fastgrad._ckernels cimport *
from fastgrad._cparallel cimport *
from fastgrad._cgil cimport *
from fastgrad._cprogram cimport *
from fastgrad._coptim cimport *

import weakref
import numpy as np

from fastgrad import errors as _errors
from fastgrad.dtypes import _BY_ENUM, as_dtype, DType
from fastgrad.tensor_shape import TensorShape
_new_tuple = tuple.__new__

cnp.import_array()

# ------------------------------------------------------------------ hooks

cdef extern from "Python.h":
    void *PyEval_SaveThread() nogil
    void PyEval_RestoreThread(void *) nogil

cdef void *_release_gil() noexcept nogil:
    return PyEval_SaveThread()

cdef void _acquire_gil(void *token) noexcept nogil:
    PyEval_RestoreThread(token)

fg_set_gil_hooks(_release_gil, _acquire_gil)


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
    _check_convertible(value, arr)
    if dtype < 0:
        if arr.dtype.kind == "f" and not numpy_data:
            dtype = FG_F32            # Python floats become float32, as in TF
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


cdef object numpy_view(_TensorBase owner, bint guard=True):
    """A read-only NumPy array over owner's data (owner kept alive).

    While a fastgrad.function traces, the value becomes a Python value
    here: record a guard (repr/str pass guard=False: printing is a
    trace-time side effect, as in TF)."""
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


@cython.freelist(64)
cdef class _TensorBase:
    """What Tensor and Variable share: a value and its operators."""
    cdef fg_tensor *t

    __array_priority__ = 1000
    __array_ufunc__ = None   # NumPy on the left defers to our operators

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
        return numpy_view(self).__dlpack__(**kwargs)

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

    def __init__(self, initial_value=None, trainable=True, name=None, dtype=None,
                 validate_shape=True, **kwargs):
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
        self._name = (name if name is not None else "Variable") + ":0" \
            if name is None or ":" not in str(name) else name
        _VARIABLES[self.t.id] = self
        _trace_unsupported("a Variable was created")

    @property
    def name(self):
        return self._name

    @property
    def trainable(self):
        return self._trainable

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

    def __reduce__(self):
        return (Variable, (self.numpy(), self._trainable, self._name.split(":")[0]))

    def __deepcopy__(self, memo):
        return Variable(self.numpy(), self._trainable, self._name.split(":")[0])


def _tf_dtype_name(int dtype):
    return ("float", "double", "int32", "int64", "bool")[dtype]

# ------------------------------------------------------------------ ops

cdef dict _OPS = {}
for _i in range(FG_NUM_OPS):
    _OPS[fg_op_name(_i).decode()] = _i

cdef int OP_ADD = _OPS["add"], OP_SUB = _OPS["subtract"], OP_MUL = _OPS["multiply"]
cdef int OP_DIV = _OPS["divide"], OP_FLOORDIV = _OPS["floordiv"], OP_POW = _OPS["pow"]
cdef int OP_NEG = _OPS["negative"], OP_ABS = _OPS["abs"], OP_LOGICAL_NOT = _OPS["logical_not"]
cdef int OP_LOGICAL_AND = _OPS["logical_and"], OP_LOGICAL_OR = _OPS["logical_or"]
cdef int OP_LESS = _OPS["less"], OP_LESS_EQUAL = _OPS["less_equal"]
cdef int OP_GREATER = _OPS["greater"], OP_GREATER_EQUAL = _OPS["greater_equal"]
cdef int OP_EQUAL = _OPS["equal"], OP_NOT_EQUAL = _OPS["not_equal"]
cdef int OP_CAST = _OPS["cast"], OP_MATMUL = _OPS["matmul"], OP_RESHAPE = _OPS["reshape"]
cdef int OP_REDUCE_SUM = _OPS["reduce_sum"], OP_IDENTITY = _OPS["identity"]

OPS = dict(_OPS)


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
        # the kernel divides; TF floors the quotient (Eigen numext::floor(x / y))
        q = wrap(as_fg(np.floor(numpy_view(q)), -1))
    return q


def floormod(a, b):
    """TF's FloorMod: a - floordiv(a, b) * b, the result taking b's sign.

    Differentiable as TF's: d/da = 1, d/db = -floordiv(a, b).
    """
    cdef int dt = operand_dtype(a, b)
    if not isinstance(a, _TensorBase):
        a = wrap(as_fg(a, dt))
    if not isinstance(b, _TensorBase):
        b = wrap(as_fg(b, (<_TensorBase>a).t.dtype))
    try:
        q = floordiv(a, b)
    except _errors.InvalidArgumentError as e:
        raise _errors.InvalidArgumentError(str(e).replace("[Op:FloorDiv]", "[Op:FloorMod]")) from None
    return binary(OP_SUB, a, binary(OP_MUL, q, b))


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


def constant(value, dtype=None, shape=None):
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
        if int(np.prod(shape)) != t.t.size:
            raise TypeError("Eager execution of tf.constant with unsupported shape. Tensor %s "
                            "(converted from %r) has %d elements, but got `shape` %s with %d elements)."
                            % (numpy_view(t), value, t.t.size, tuple(shape), int(np.prod(shape))))
        return apply(OP_RESHAPE, [t], [len(shape)] + shape)
    return t


def fill(dims, value, dtype=None):
    """A tensor of shape dims filled with value (not recorded)."""
    cdef int64_t shape[16]
    cdef int i, nd = len(dims)
    cdef int dt = -1 if dtype is None else as_dtype(dtype)._enum
    cdef fg_tensor *v = as_fg(value, dt)
    if v.size != 1:
        fg_decref(v)
        raise _errors.InvalidArgumentError("value must be a scalar. Received: %r" % (value,))
    for i in range(nd):
        shape[i] = dims[i]
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
    cdef int i
    for i in range(len(shape)):
        s[i] = shape[i]
    return wrap(fg_tensor_zeros(dtype, len(shape), s))


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

    def push(self):
        if fg_tape_push(self.tape) < 0:
            raise_error()
        self._entered = True

    def pop(self):
        fg_tape_pop(self.tape)

    @property
    def num_nodes(self):
        return self.tape.n_nodes

    @property
    def persistent(self):
        return bool(self.tape.persistent)

    @persistent.setter
    def persistent(self, bint value):
        # jacobian sweeps a non-persistent tape once per row: it keeps the
        # nodes for the duration
        self.tape.persistent = value

    def clear(self):
        fg_tape_clear(self.tape)

    def release(self):
        """Free the recording (a used non-persistent tape); keep watched variables."""
        fg_tape_release(self.tape)

    def _watch_one(self, _TensorBase x):
        """Watch x; False when its dtype is not floating."""
        cdef int r = fg_tape_watch(self.tape, x.t)
        if r < 0:
            raise_error()
        return r == 1

    def is_watched(self, _TensorBase x):
        return fg_tape_slot(self.tape, x.t.id) >= 0

    def accessed_variable_ids(self):
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

# ------------------------------------------------------------------ threads

def set_num_threads(int n):
    fg_set_num_threads(n)


def get_num_threads():
    return fg_get_num_threads()


def openmp_enabled():
    return bool(fg_openmp_enabled())


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


# ------------------------------------------------------------ forward mode

include "_forward.pxi"

# ------------------------------------------------------------ fastgrad.function

include "_program.pxi"

# ------------------------------------------------------------ linalg (LAPACK)

include "_linalg.pxi"
