"""The package namespace: dir() shows the lazily loaded names, and the
implementation modules stay out of it, as TF keeps tensorflow.python.ops
out of dir(tf)."""
import subprocess
import sys

import pytest

import fastgrad as tf
from _fgutil import fastgrad_only

pytestmark = fastgrad_only

LAZY = ["keras", "function", "grad", "value_and_grad", "hessian", "jacobian", "hvp", "vjp", "jvp",
        "datasets", "gradients", "TensorSpec", "autodiff", "test"]


def test_dir_right_after_import_lists_the_lazy_names():
    # a fresh interpreter: nothing loaded yet by other tests
    code = "import fastgrad, sys; print(' '.join(dir(fastgrad))); print('fastgrad.keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         timeout=120).stdout.splitlines()
    names = out[0].split()
    for name in LAZY:
        assert name in names, name
    assert out[1] == "False"  # dir() listed keras without importing it
    assert names == sorted(names)


@pytest.mark.parametrize("name", ["array_ops", "math_ops", "gradient_tape", "tensor_shape"])
def test_implementation_modules_are_not_attributes(name):
    __import__("fastgrad." + name)  # importable by their full name all the same
    assert name not in dir(tf)
    assert not hasattr(tf, name)


def test_every_listed_name_resolves_and_no_module_is_private():
    import types
    tf.function  # noqa: B018 - loads function_api and functional, which import more
    tf.grad  # noqa: B018
    for name in dir(tf):
        value = getattr(tf, name)
        if isinstance(value, types.ModuleType):
            assert name in ("errors", "nn", "random", "math", "linalg", "nest", "config", "dtypes",
                            "keras", "datasets", "test", "autodiff", "experimental", "data",
                            "distribute", "debugging"), name
    assert "function_api" not in dir(tf) and "functional" not in dir(tf)


def test_all_is_a_subset_of_dir():
    assert set(tf.__all__) <= set(dir(tf))


def test_all_holds_every_op_module_name_once():
    import importlib
    ops = [importlib.import_module("fastgrad." + m).__all__ for m in ("math_ops", "array_ops")]
    assert len(tf.__all__) == len(set(tf.__all__))
    missing = (set(ops[0]) | set(ops[1])) - set(tf.__all__)
    assert missing == set()


def test_distribute_all_holds_horovods_names():
    import importlib
    dist = importlib.import_module("fastgrad.distribute")
    hvd = importlib.import_module("fastgrad.distribute._horovod")
    assert set(hvd.__all__) <= set(dist.__all__)
    assert len(dist.__all__) == len(set(dist.__all__))
