"""tf.print, tf.py_function / tf.numpy_function and tf.debugging: TF 2.21's
output, values, gradients and messages (checked side by side with
FASTGRAD_TEST_BACKEND=tensorflow)."""
import re
import sys
import warnings

import numpy as np
import pytest

import fastgrad as tf
from _fgutil import fastgrad_only


def printed(capfd, *args, **kwargs):
    tf.print(*args, output_stream=sys.stdout, **kwargs)
    return capfd.readouterr().out


@pytest.mark.parametrize("value, text", [
    (lambda: tf.constant([1.0, 2.5, 3.0]), "[1 2.5 3]"),
    (lambda: tf.range(10), "[0 1 2 ... 7 8 9]"),
    (lambda: tf.constant([1e-8, 1e8, 0.1]), "[1e-08 1e+08 0.1]"),
    (lambda: tf.constant([1.0 / 3.0, 2.0 / 3.0]), "[0.333333343 0.666666687]"),
    (lambda: tf.constant([1.0 / 3.0, 2.0 / 3.0], tf.float64), "[0.33333333333333331 0.66666666666666663]"),
    (lambda: tf.constant(0.1, tf.float64), "0.1"),
    (lambda: tf.constant([True, False]), "[1 0]"),
    (lambda: tf.constant(np.array([1.0, np.nan, np.inf, -np.inf], "float32")), "[1 nan inf -inf]"),
    (lambda: tf.constant(123456789.0), "123456792"),
    (lambda: tf.constant(-0.0), "-0"),
    (lambda: tf.zeros([0]), "[]"),
    (lambda: tf.zeros([2, 0]), "[\n ...]"),
    (lambda: tf.Variable([1.0, 2.0]), "[1 2]"),
    (lambda: tf.constant([[1.0, 2.0], [3.0, 4.0]]), "[[1 2]\n [3 4]]"),
    (lambda: tf.reshape(tf.range(24), [2, 3, 4]),
     "[[[0 1 2 3]\n  [4 5 6 7]\n  [8 9 10 11]]\n\n [[12 13 14 15]\n  [16 17 18 19]\n  [20 21 22 23]]]"),
    (lambda: tf.reshape(tf.range(100), [10, 10]),
     "[[0 1 2 ... 7 8 9]\n [10 11 12 ... 17 18 19]\n [20 21 22 ... 27 28 29]\n ...\n"
     " [70 71 72 ... 77 78 79]\n [80 81 82 ... 87 88 89]\n [90 91 92 ... 97 98 99]]"),
])
def test_print_formats_tensors_as_tf(capfd, value, text):
    assert printed(capfd, value()) == text + "\n"


def test_print_arguments_structures_and_streams(capfd, tmp_path):
    assert printed(capfd, tf.range(10), summarize=-1) == "[0 1 2 3 4 5 6 7 8 9]\n"
    assert printed(capfd, tf.range(10), summarize=2) == "[0 1 ... 8 9]\n"
    assert (printed(capfd, tf.constant(1.5), tf.constant(2), "hello", 3, 4.5, True, None)
            == "1.5 2 hello 3 4.5 True None\n")
    assert printed(capfd, {"a": tf.constant(1), "b": [tf.constant(2.0), 3]}) == "{'a': 1, 'b': [2, 3]}\n"
    assert printed(capfd, (tf.constant(1), "x")) == "(1, 'x')\n"
    assert printed(capfd, np.array([1.5, 2.0])) == "array([1.5, 2. ])\n"
    assert printed(capfd, "a", "b", sep=",", end="!\n") == "a,b!\n"
    assert printed(capfd, "x:", tf.constant([1.0, 2.0]), "y:", 3) == "x: [1 2] y: 3\n"
    tf.print("to stderr", tf.constant(7, tf.int64))
    assert capfd.readouterr().err == "to stderr 7\n"
    path = tmp_path / "log.txt"
    tf.print("one", output_stream="file://%s" % path)
    tf.print("two", output_stream="file://%s" % path)
    assert path.read_text() == "one\ntwo\n"
    with pytest.raises(ValueError, match="Unsupported output stream, logging level, or file."):
        tf.print("x", output_stream=3)
    with pytest.raises(ValueError, match="Unrecognized keyword arguments for tf.print"):
        tf.print("x", bogus=1)


@fastgrad_only
def test_print_inside_a_traced_function_prints_every_call(capfd):
    @tf.function
    def f(x):
        tf.print("x =", x, output_stream=sys.stdout)
        return x * 2

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "runs eagerly": a replay cannot print
        outs = [float(f(tf.constant(v))) for v in (1.0, 2.0, 3.0)]
    assert outs == [2.0, 4.0, 6.0]
    assert capfd.readouterr().out == "x = 1\nx = 2\nx = 3\n"


def test_py_function_values_and_gradients():
    assert float(tf.py_function(lambda a, b: a * b, [tf.constant(2.0), 3.0], tf.float32)) == 6.0
    pair = tf.py_function(lambda a: [a, a * 2], [tf.constant(2.0)], [tf.float32, tf.float32])
    assert isinstance(pair, list) and [float(p) for p in pair] == [2.0, 4.0]
    out = tf.py_function(lambda a: a.numpy() * 2, [tf.constant(2.0)], tf.float32)
    assert out.dtype == tf.float32 and float(out) == 4.0
    assert float(tf.py_function(lambda a: 3, [tf.constant(2.0)], tf.float32)) == 3.0
    assert tf.py_function(lambda a: None, [tf.constant(2.0)], []) == []
    with pytest.raises(tf.errors.InvalidArgumentError, match="Tensor conversion requested dtype int32"):
        tf.py_function(lambda a: a, [tf.constant(2.0)], tf.int32)
    with pytest.raises(tf.errors.UnknownError, match="ZeroDivisionError: division by zero"):
        tf.py_function(lambda a: 1 / 0, [tf.constant(2.0)], tf.float32)
    with pytest.raises(TypeError, match="Missing required argument: 'Tout'"):
        tf.py_function(lambda a: a, [tf.constant(2.0)], None)

    x = tf.constant(3.0)
    v = tf.Variable(2.0)

    def grad(fn, wrt=x):
        # TF's py_function keeps its tape for one gradient: a fresh tape each
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = fn()
        return tape.gradient(y, wrt)

    assert float(grad(lambda: tf.py_function(lambda a: a * a * a, [x], tf.float32))) == 27.0
    # computed outside fastgrad: zero, as TF
    assert float(grad(lambda: tf.py_function(lambda a: tf.constant(a.numpy() ** 2), [x],
                                             tf.float32))) == 0.0
    # a Variable read inside but not passed in gets no gradient, as TF
    assert grad(lambda: tf.py_function(lambda a: a * v, [x], tf.float32), v) is None
    assert float(grad(lambda: tf.py_function(lambda a: a * v, [x], tf.float32))) == 2.0
    assert float(grad(lambda: tf.add_n(tf.py_function(lambda a: [a * 2.0, a * a], [x],
                                                      [tf.float32, tf.float32])))) == 8.0


def test_numpy_function_passes_arrays_and_cuts_gradients():
    out = tf.numpy_function(lambda a, b: a * b, [tf.constant(2.0), 3.0], tf.float32)
    assert out.dtype == tf.float64 and float(out) == 6.0  # TF keeps func's dtype
    assert float(tf.numpy_function(lambda a: np.float32(type(a) is np.ndarray), [tf.constant([2.0])],
                                   tf.float32)) == 1.0
    pair = tf.numpy_function(lambda a: [a, a + 1], [tf.constant(2)], [tf.int32, tf.int32])
    assert [int(p) for p in pair] == [2, 3]
    assert tf.numpy_function(lambda a: 2.5, [tf.constant(2.0)], tf.float32).dtype == tf.float32
    x = tf.constant(3.0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.numpy_function(lambda a: a * 2, [x], tf.float32)
    assert tape.gradient(y, x) is None


def message(excinfo):
    # TF prefixes op errors with "{{function_node ...}} " and suffixes " name: "
    text = str(excinfo.value)
    text = re.sub(r"^\{\{function_node [^}]*\}\} ", "", text)
    return re.sub(r" name: $", "", text)


def test_assert_equal_and_comparisons():
    assert tf.debugging.assert_equal(tf.constant([1, 2]), tf.constant([1, 2])) is None
    assert tf.assert_equal is tf.debugging.assert_equal
    with pytest.raises(tf.errors.InvalidArgumentError) as e:
        tf.debugging.assert_equal(tf.constant([1, 2, 3]), tf.constant([1, 5, 7]))
    assert message(e) == ("Condition x == y did not hold.\nIndices of first 2 different values:\n"
                          "[[1]\n [2]]\nCorresponding x values:\n[2 3]\nCorresponding y values:\n"
                          "[5 7]\nFirst 3 elements of x:\n[1 2 3]\nFirst 3 elements of y:\n[1 5 7]")
    with pytest.raises(tf.errors.InvalidArgumentError) as e:
        tf.debugging.assert_equal(tf.constant([1., 2.]), 2.0, message="custom")
    assert message(e) == ("custom\nCondition x == y did not hold.\nFirst 2 elements of x:\n[1. 2.]\n"
                          "First 1 elements of y:\n[2.]")
    with pytest.raises(tf.errors.InvalidArgumentError) as e:
        tf.debugging.assert_equal(tf.constant([[1, 2], [3, 4]]), tf.constant([[1, 0], [3, 0]]))
    assert "Indices of first 2 different values:\n[[0 1]\n [1 1]]" in message(e)
    with pytest.raises(tf.errors.InvalidArgumentError) as e:
        tf.debugging.assert_equal(tf.range(10), tf.zeros([10], tf.int32), summarize=2)
    assert message(e).endswith("First 2 elements of x:\n[0 1]\nFirst 2 elements of y:\n[0 0]")
    with pytest.raises(tf.errors.InvalidArgumentError) as e:
        tf.debugging.assert_equal(tf.constant([1, 2]), tf.constant([1, 2, 3]))
    assert message(e) == "Incompatible shapes: [2] vs. [3] [Op:Equal]"
    with pytest.raises(tf.errors.InvalidArgumentError) as e:
        tf.debugging.assert_greater(tf.constant([1, 2]), 1)
    assert message(e) == ("Condition x > y did not hold.\nFirst 2 elements of x:\n[1 2]\n"
                          "First 1 elements of y:\n[1]")
    with pytest.raises(tf.errors.InvalidArgumentError) as e:
        tf.debugging.assert_positive(tf.constant([1., -2.]))
    assert message(e) == ("\nCondition x > 0 did not hold element-wise:\n"
                          "x (shape=(2,) dtype=float32) = \n['1.0', '-2.0']")
    with pytest.raises(tf.errors.InvalidArgumentError) as e:
        tf.debugging.assert_non_negative(tf.constant([1, -2]))
    assert message(e).endswith("x (shape=(2,) dtype=int32) = \n['1', '-2']")


def test_assert_near_and_assert():
    assert tf.debugging.assert_near(tf.constant([1.0]), tf.constant([1.0 + 1e-7])) is None
    with pytest.raises(tf.errors.InvalidArgumentError) as e:
        tf.debugging.assert_near(tf.constant([1.0, 2.0], tf.float64),
                                 tf.constant([1.0, 2.1], tf.float64), rtol=0.01, atol=0.001, message="m")
    prefix = "fastgrad" if tf.__name__ == "fastgrad" else "tf"
    assert message(e) == (
        "Expected '{p}.Tensor(False, shape=(), dtype=bool)' to be true. Summarized data: b'm.  '\n"
        "b'x and y not equal to tolerance rtol = {p}.Tensor(0.01, shape=(), dtype=float64), atol = "
        "{p}.Tensor(0.001, shape=(), dtype=float64)'\nb'x (shape=(2,) dtype=float64) = '\n1.0, 2.0\n"
        "b'y (shape=(2,) dtype=float64) = '\n1.0, 2.1").format(p=prefix)
    with pytest.raises(tf.errors.InvalidArgumentError) as e:
        tf.debugging.Assert(tf.constant(False), ["msg", tf.constant([1, 2, 3, 4])])
    assert message(e).endswith("Summarized data: b'msg'\n1, 2, 3, ...")
    assert tf.Assert(True, ["msg"]) is None


def test_static_asserts():
    assert tf.debugging.assert_rank(tf.zeros([2, 3]), 2) is None
    with pytest.raises(ValueError, match=re.escape("Tensor  must have rank 1.  Received rank 2, shape (2, 3)")):
        tf.debugging.assert_rank(tf.zeros([2, 3]), 1)
    with pytest.raises(ValueError, match=re.escape("hey.  Tensor  must have rank 3.  Received rank 2")):
        tf.debugging.assert_rank(tf.zeros([2, 3]), tf.constant(3), message="hey")
    shapes = tf.debugging.assert_shapes
    assert shapes([(tf.zeros([2, 3]), ("N", "D")), (tf.zeros([2]), ("N",))]) is None
    assert shapes([(tf.zeros([2, 1]), ("N", 1)), (tf.zeros([2]), ["N"])]) is None
    cases = [
        ([(tf.zeros([2, 3]), ("N", "D")), (tf.zeros([3]), ("N",))],
         "Specified by tensor shape=(2, 3) dtype=float32 dimension 0.  Tensor shape=(3,) dtype=float32 "
         "dimension 0 must have size 2.  Received size 3, shape (3,)"),
        ([(tf.zeros([2, 3]), ("N",))], "Tensor  must have rank in (0, 1).  Received rank 2, shape (2, 3)"),
        ([(tf.zeros([2, 3]), (2, 4))], "Specified explicitly.  Tensor shape=(2, 3) dtype=float32 "
                                       "dimension 1 must have size 4.  Received size 3, shape (2, 3)"),
        ([(tf.zeros([5, 2, 3]), ("...", "D")), (tf.zeros([3]), ("D",))],
         "Tensor  must have rank 2.  Received rank 3, shape (5, 2, 3)"),
        ([(tf.zeros([2]), ())], "Specified explicitly.  Tensor shape=(2,) dtype=float32 dimension 0 "
                                "must have size 1.  Received size 2, shape (2,)"),
    ]
    for arg, text in cases:
        with pytest.raises(ValueError) as e:
            shapes(arg)
        assert str(e.value) == text
    with pytest.raises(TypeError, match=re.escape("tensor must be of type tf.float32; got tf.int32")):
        tf.debugging.assert_type(tf.constant([1, 2]), tf.float32)


def test_check_numerics():
    x = tf.constant(2.0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.debugging.check_numerics(x * x, "m")
    assert float(y) == 4.0 and float(tape.gradient(y, x)) == 4.0
    for value, text in (([1.0, np.nan], "m : Tensor had NaN values [Op:CheckNumerics]"),
                        ([np.inf, np.nan], "m : Tensor had Inf and NaN values [Op:CheckNumerics]"),
                        ([1.0, -np.inf], "m : Tensor had Inf values [Op:CheckNumerics]")):
        with pytest.raises(tf.errors.InvalidArgumentError) as e:
            tf.debugging.check_numerics(tf.constant(value), "m")
        assert message(e) == text
    with pytest.raises(tf.errors.InvalidArgumentError) as e:
        tf.debugging.assert_all_finite(tf.constant([1.0, np.inf]), "oops")
    assert message(e) == "oops : Tensor had Inf values [Op:CheckNumerics]"
    with pytest.raises(tf.errors.InvalidArgumentError, match="Value for attr 'T' of int32 is not in the list"):
        tf.debugging.check_numerics(tf.constant([1]), "m")
