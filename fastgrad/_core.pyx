# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Glue between the C core (csrc/) and Python: tensors, op application,
tapes. No numerics here: every op is one call into C.

The module is this file's cimports followed by its parts, included in
order (each sees what the ones before it define):
_runtime.pxi (hooks, errors, dtypes), _tensor.pxi (tensors, Variable),
_ops.pxi (op application, conversions), _tape.pxi, _custom.pxi (custom
gradients), _threads_optim.pxi (threads, optimizer steps), _forward.pxi
(forward mode, Jacobians), _program.pxi (fastgrad.function).
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

import inspect as _inspect
import math
import weakref
import numpy as np

from fastgrad import errors as _errors
from fastgrad.dtypes import _BY_ENUM, as_dtype, DType
from fastgrad.tensor_shape import TensorShape
from fastgrad._name_scope import variable_name as _variable_name
from fastgrad import variables as _variables
_new_tuple = tuple.__new__

cnp.import_array()

include "_runtime.pxi"
include "_tensor.pxi"
include "_ops.pxi"
include "_tape.pxi"
include "_custom.pxi"
include "_threads_optim.pxi"
include "_forward.pxi"
include "_program.pxi"

# ------------------------------------------------------------ fastgrad.distribute

include "_distribute.pxi"

# ------------------------------------------------------------ linalg (LAPACK)

include "_linalg.pxi"
