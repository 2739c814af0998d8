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
from fastgrad.math_ops import *  # noqa: E402,F401,F403
from fastgrad.math_ops import __all__ as _math_all  # noqa: E402
from fastgrad.array_ops import *  # noqa: E402,F401,F403
from fastgrad.array_ops import __all__ as _array_all  # noqa: E402
from fastgrad import nn, random  # noqa: E402
from fastgrad import math_ops as math  # noqa: E402  (tf.math)
from fastgrad import nest  # noqa: E402
from fastgrad._name_scope import name_scope  # noqa: E402
from fastgrad.module import Module  # noqa: E402
from fastgrad.printing import print_v2 as print  # noqa: E402,A001 - tf.print (kept out of __all__)
from fastgrad.script_ops import py_function, numpy_function  # noqa: E402
from fastgrad import debugging  # noqa: E402
from fastgrad.variables import VariableAggregation, VariableSynchronization  # noqa: E402
from fastgrad.framework_ops import get_static_value, init_scope, hessians  # noqa: E402
from fastgrad.debugging import (Assert, assert_equal, assert_greater, assert_less,  # noqa: E402
                                assert_rank)

newaxis = None


from fastgrad.linalg_ops import matmul  # noqa: E402
from fastgrad import linalg_ops as linalg  # noqa: E402  (tf.linalg)

norm = linalg.norm  # tf.norm is tf.linalg.norm (vector and matrix ords)

math.matmul = matmul


def is_tensor(x):
    """True for fastgrad Tensors and Variables (tf.is_tensor)."""
    return isinstance(x, (Tensor, Variable))


def executing_eagerly():
    """fastgrad always executes eagerly (tf.executing_eagerly)."""
    return True


nn.l2_normalize = l2_normalize  # noqa: F405


def _lazy(name):
    import importlib
    return importlib.import_module("fastgrad." + name)


def __getattr__(name):
    # keras, datasets, test, autodiff, distribute: imported on first use
    try:
        if name in ("keras", "datasets", "test", "autodiff", "data", "distribute"):
            mod = _lazy(name)
            globals()[name] = mod
            return mod
        if name in ("grad", "value_and_grad", "jacobian", "hessian", "hvp", "vjp", "jvp"):
            return getattr(_lazy("functional"), name)
        if name in ("function", "gradients", "TensorSpec"):
            return getattr(_lazy("function_api"), name)
    except ImportError as e:  # hasattr() must answer False, not raise
        raise AttributeError("module 'fastgrad' has no attribute %r (%s)" % (name, e)) from e
    raise AttributeError("module 'fastgrad' has no attribute %r" % name)


__all__ = (
    ["Tensor", "Variable", "GradientTape", "UnconnectedGradients", "custom_gradient",
     "DType", "as_dtype", "float32", "float64", "int32", "int64", "bool", "TensorShape",
     "errors", "nn", "random", "math", "matmul", "newaxis", "set_num_threads",
     "get_num_threads", "show_config", "linalg", "nest", "is_tensor", "executing_eagerly",
     "Module", "name_scope", "py_function", "numpy_function", "debugging", "Assert",
     "assert_equal", "assert_greater", "assert_less", "assert_rank", "VariableAggregation",
     "VariableSynchronization", "get_static_value", "init_scope", "hessians"]
    + list(_math_all) + list(_array_all)
)
