"""fastgrad: C-accelerated automatic differentiation with TF 2's tape API.

Write ``import fastgrad as tf`` in GradientTape code and get the same
numbers, faster.

>>> import fastgrad as tf
>>> x = tf.Variable(2.0)
>>> with tf.GradientTape() as tape:
...     y = x ** 3
>>> float(tape.gradient(y, x))
12.0
"""
import os as _os

# OpenMP threads should not spin for long on a shared machine, but a purely
# passive wait (OMP_WAIT_POLICY=PASSIVE) makes every parallel region wake its
# threads through the kernel: measured 40-50 us a region on a 2-core VM, so
# 2 threads were no faster than 1 even on 4M-element kernels. libgomp's
# default policy spins briefly before sleeping; bound that spin (about a
# millisecond) before the runtime starts, unless the user set their own.
# Other OpenMP runtimes ignore GOMP_SPINCOUNT.
_os.environ.setdefault("GOMP_SPINCOUNT", "100000")

__version__ = "0.1.0"

from fastgrad import errors  # noqa: E402
from fastgrad.dtypes import DType, as_dtype, float32, float64, int32, int64, bool  # noqa: E402,A004
from fastgrad.tensor_shape import TensorShape  # noqa: E402
from fastgrad._core import Tensor, Variable  # noqa: E402
from fastgrad.gradient_tape import GradientTape, UnconnectedGradients  # noqa: E402
from fastgrad.custom_gradient import custom_gradient  # noqa: E402
from fastgrad.config import set_num_threads, get_num_threads, show_config  # noqa: E402
from fastgrad._logging import get_logger  # noqa: E402
from fastgrad.math_ops import *  # noqa: E402,F401,F403
from fastgrad import math_ops as _math_ops  # noqa: E402
from fastgrad.array_ops import *  # noqa: E402,F401,F403
from fastgrad import array_ops as _array_ops  # noqa: E402
from fastgrad import experimental, linalg, nn, random  # noqa: E402
from fastgrad.experimental.dlpack import from_dlpack  # noqa: E402
from fastgrad.array_manip import *  # noqa: E402,F401,F403
from fastgrad.array_manip import __all__ as _manip_all  # noqa: E402
from fastgrad.array_manip import invert_permutation as _invert_permutation  # noqa: E402
from fastgrad.einsum_ops import einsum, tensordot  # noqa: E402
from fastgrad.misc_ops import *  # noqa: E402,F401,F403
from fastgrad import misc_ops as _misc_ops  # noqa: E402
from fastgrad import math_ops as math  # noqa: E402  (tf.math)
from fastgrad import nest  # noqa: E402
from fastgrad._name_scope import name_scope  # noqa: E402
from fastgrad.module import Module  # noqa: E402
from fastgrad.printing import print_v2 as print  # noqa: E402,A001 - tf.print (kept out of __all__)
from fastgrad.script_ops import py_function, numpy_function  # noqa: E402
from fastgrad import debugging  # noqa: E402
from fastgrad.variables import VariableAggregation, VariableSynchronization  # noqa: E402
from fastgrad.framework_ops import get_static_value, init_scope, hessians  # noqa: E402
from fastgrad.control_flow import (cond, case, switch_case, while_loop, map_fn,  # noqa: E402
                                   vectorized_map, scan, foldl, foldr)
from fastgrad.tensor_array import TensorArray  # noqa: E402
from fastgrad.debugging import (Assert, assert_equal, assert_greater, assert_less,  # noqa: E402
                                assert_rank)

newaxis = None


setattr(math, "invert_permutation", _invert_permutation)
setattr(nn, "space_to_batch", space_to_batch)  # noqa: F405 - from array_manip

def is_tensor(x):
    """True for fastgrad Tensors and Variables (tf.is_tensor)."""
    return isinstance(x, (Tensor, Variable))


def executing_eagerly():
    """fastgrad always executes eagerly (tf.executing_eagerly)."""
    return True


# tf.math's names among the small composed ones (misc_ops)
for _name in _misc_ops._MATH_ONLY + ["scalar_mul"]:
    setattr(math, _name, getattr(_misc_ops, _name))
# sorting and segments: tf.sort, tf.argsort, tf.unique, tf.unique_with_counts and
# tf.searchsorted at the top; top_k, in_top_k, approx_max_k/min_k in tf.math and
# tf.nn; the segment ops, bincount and confusion_matrix in tf.math only
from fastgrad import sort_ops as _sort_ops, segment_ops as _segment_ops  # noqa: E402
from fastgrad.sort_ops import sort, argsort, unique, unique_with_counts, searchsorted  # noqa: E402
for _name in _sort_ops.__all__:
    setattr(math, _name, getattr(_sort_ops, _name))
for _name in ("top_k", "in_top_k", "approx_max_k", "approx_min_k"):
    setattr(nn, _name, getattr(_sort_ops, _name))
for _name in _segment_ops.__all__:
    setattr(math, _name, getattr(_segment_ops, _name))
del _name

# Loaded on first use (keras and the transforms import a good deal).
_LAZY_MODULES = ("keras", "datasets", "test", "autodiff", "data", "distribute")
_LAZY_FROM = dict(
    [(n, "functional") for n in ("grad", "value_and_grad", "jacobian", "hessian", "hvp", "vjp", "jvp")]
    + [(n, "function_api") for n in ("function", "gradients", "TensorSpec")]
)
# Modules that are part of the API (tf.math, tf.nn, ...); any other module in
# this namespace is an implementation detail, left out of dir() as TF keeps
# tensorflow.python.ops.math_ops out of dir(tf).
_PUBLIC_MODULES = frozenset(("errors", "nn", "random", "math", "linalg", "nest", "config", "dtypes",
                             "experimental", "debugging")
                            + _LAZY_MODULES)


def _lazy(name):
    import importlib
    return importlib.import_module("fastgrad." + name)


def __getattr__(name):
    try:
        if name in _LAZY_MODULES:
            mod = _lazy(name)
            globals()[name] = mod
            return mod
        if name in _LAZY_FROM:
            return getattr(_lazy(_LAZY_FROM[name]), name)
    except ImportError as e:  # hasattr() must answer False, not raise
        raise AttributeError("module 'fastgrad' has no attribute %r (%s)" % (name, e)) from e
    raise AttributeError("module 'fastgrad' has no attribute %r" % name)


def __dir__():
    """The public names, the lazily loaded ones included (so completion sees them)."""
    names = {n for n, v in globals().items()
             if not n.startswith("_") and (not isinstance(v, type(_os)) or n in _PUBLIC_MODULES)}
    return sorted(names | set(_LAZY_MODULES) | set(_LAZY_FROM) | {"__version__"})


# The implementation modules stay importable (fastgrad.math_ops), not attributes.
for _name in ("array_ops", "math_ops", "gradient_tape", "tensor_shape", "module", "printing",
              "script_ops", "variables", "framework_ops", "sort_ops", "segment_ops", "array_manip",
              "einsum_ops", "control_flow", "tensor_array", "misc_ops"):
    globals().pop(_name, None)


# The names this module defines; the op modules' own lists are appended
# (type checkers cannot follow that: tests/stubtest-allowlist.txt says so).
__all__ = [
    # values, tapes, dtypes, configuration
    "Tensor", "Variable", "GradientTape", "UnconnectedGradients", "custom_gradient",
    "DType", "as_dtype", "float32", "float64", "int32", "int64", "bool", "TensorShape",
    "errors", "nn", "random", "math", "set_num_threads",
    "get_num_threads", "show_config", "get_logger", "linalg", "nest", "is_tensor",
    "executing_eagerly", "experimental", "from_dlpack",
    "Module", "name_scope", "py_function", "numpy_function", "debugging", "Assert",
    "assert_equal", "assert_greater", "assert_less", "assert_rank", "VariableAggregation",
    "VariableSynchronization", "get_static_value", "init_scope", "hessians", "sort", "argsort",
    "unique", "unique_with_counts", "searchsorted", "einsum", "tensordot",
    # control flow
    "cond", "case", "switch_case", "while_loop", "map_fn", "vectorized_map", "scan", "foldl",
    "foldr", "TensorArray",
]
# the op modules export what they define, once each
__all__ += [n for n in _math_ops.__all__ + _array_ops.__all__ + _manip_all + _misc_ops.__all__
            if n not in __all__]
