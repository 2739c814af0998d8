"""tf.cond, case, switch_case, while_loop, map_fn, vectorized_map, scan,
foldl/foldr and TensorArray: values, gradients (first and second order),
TF's errors, and replay inside a traced function (a second input must give
the eager result, with TF's trace count).

The expected values and errors were checked with
FASTGRAD_TEST_BACKEND=tensorflow (TF 2.21); tests of fastgrad's own
replay machinery are marked fastgrad_only.
"""
import collections

import numpy as np
import pytest

import fastgrad as tf
from _fgutil import fastgrad_only

C = tf.constant


def close(a, b, tol=1e-6):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


# ---------------------------------------------------------------------- cond

def test_cond_values_and_structures():
    x = C(2.0)
    assert float(tf.cond(x > 0, lambda: x * x, lambda: -x)) == 4.0
    assert float(tf.cond(x < 0, lambda: x * x, lambda: -x)) == -2.0
    assert float(tf.cond(True, lambda: x, lambda: -x)) == 2.0
    assert float(tf.cond(0, lambda: x, lambda: -x)) == -2.0
    a, b = tf.cond(x > 0, lambda: (x, 1), lambda: (-x, 2))  # eagerly a tuple as returned
    assert float(a) == 2.0 and b == 1
    assert tf.cond(x > 0, lambda: None, lambda: -x) is None
    r = tf.cond(x > 0, lambda: [x], lambda: [x])
    assert isinstance(r, list) and float(r[0]) == 2.0


def test_cond_errors():
    x = C(2.0)
    with pytest.raises(TypeError, match="'true_fn' must be callable."):
        tf.cond(x > 0, 3, lambda: x)
    with pytest.raises(TypeError, match="'false_fn' argument required"):
        tf.cond(x > 0, lambda: x)
    with pytest.raises(ValueError, match="The truth value of an array with more than one element is ambiguous"):
        tf.cond(C([True, False]), lambda: x, lambda: -x)


def test_cond_gradients_first_and_second_order():
    v = tf.Variable(1.5)
    with tf.GradientTape() as t2:
        with tf.GradientTape() as t1:
            y = tf.cond(v > 0, lambda: v ** 3, lambda: v * 2.0)
        d = t1.gradient(y, v)
    close(d, 3 * 1.5 ** 2)
    close(t2.gradient(d, v), 6 * 1.5)
    # the branch not taken is not computed: no NaN from sqrt of a negative
    x = C(-4.0)
    with tf.GradientTape() as t:
        t.watch(x)
        y = tf.cond(x > 0, lambda: tf.sqrt(x), lambda: -x)
    close(t.gradient(y, x), -1.0)


def test_cond_traced_replays_both_branches():
    calls = []

    @tf.function
    def f(x):
        calls.append(1)
        return tf.cond(x > 0, lambda: x * x, lambda: -x * 3.0)

    for v in [2.0, -3.0, 4.0, -1.0, 0.5]:
        close(f(C(v)), v * v if v > 0 else -v * 3.0)
    assert f.experimental_get_tracing_count() == 1


@fastgrad_only
def test_cond_traced_is_one_program_without_guards():
    @tf.function
    def f(x):
        return tf.cond(x > 0, lambda: (x * x, x + 1.0), lambda: (-x, x - 1.0))

    for v in [2.0, -3.0, 4.0]:
        a, b = f(C(v))
        close(a, v * v if v > 0 else -v)
        close(b, v + 1 if v > 0 else v - 1)
    entry, = f._cache.values()
    assert len(entry.programs) == 1
    assert entry.programs[0].stats()["guards"] == 0


def test_cond_traced_nan_in_untaken_branch_does_not_leak():
    @tf.function
    def f(x):
        return tf.cond(x > 0, lambda: tf.sqrt(x), lambda: -x)

    close(f(C(4.0)), 2.0)
    close(f(C(-4.0)), 4.0)


def test_cond_traced_gradient_inside_function():
    @tf.function
    def f(x):
        with tf.GradientTape() as t:
            t.watch(x)
            y = tf.cond(x > 0, lambda: tf.sqrt(x), lambda: -x * x)
        return y, t.gradient(y, x)

    for v in [4.0, -3.0, 9.0, -1.0]:
        y, g = f(C(v))
        close(y, np.sqrt(v) if v > 0 else -v * v)
        close(g, 0.5 / np.sqrt(v) if v > 0 else -2 * v)
    assert f.experimental_get_tracing_count() == 1


def test_cond_traced_variable_updates_only_in_taken_branch():
    v = tf.Variable(0.0)

    @tf.function
    def f(x):
        return tf.cond(x > 0, lambda: v.assign_add(x), lambda: v.assign_sub(1.0))

    expect = 0.0
    for val in [2.0, -1.0, 3.0, -5.0, 1.0]:
        f(C(val))
        expect = expect + val if val > 0 else expect - 1.0
        close(v, expect)
    assert f.experimental_get_tracing_count() == 1


def test_cond_traced_update_in_untaken_branch_is_undone():
    v = tf.Variable(10.0)

    @tf.function
    def f(x):
        return tf.cond(x > 0, lambda: x * 2.0, lambda: v.assign(x) * 1.0)

    close(f(C(3.0)), 6.0)
    close(v, 10.0)  # the untaken branch traced at the first call left v as it was
    close(f(C(-2.0)), -2.0)
    close(v, -2.0)
    close(f(C(5.0)), 10.0)
    close(v, -2.0)


def test_cond_traced_branches_of_different_shapes():
    @tf.function
    def h(x):
        return tf.cond(x > 0, lambda: x, lambda: tf.stack([x, x]))

    close(h(C(1.0)), 1.0)
    close(h(C(-1.0)), [-1.0, -1.0])
    close(h(C(2.0)), 2.0)
    assert h.experimental_get_tracing_count() == 1


def test_cond_traced_structure_and_dtype_mismatch():
    @tf.function
    def f(x):
        return tf.cond(x > 0, lambda: x, lambda: tf.cast(x, tf.float64))

    with pytest.raises(TypeError, match="true_fn and false_fn arguments to tf.cond must have the same number, "
                                        "type, and overall structure of return values."):
        f(C(1.0))

    @tf.function
    def g(x):
        return tf.cond(x > 0, lambda: {"a": x}, lambda: {"b": x})

    with pytest.raises(TypeError, match="must have the same number, type, and overall structure"):
        g(C(1.0))

    @tf.function
    def h(x):
        return tf.cond(x > 0, lambda: 1, lambda: 2)

    assert int(h(C(1.0))) == 1 and int(h(C(-1.0))) == 2


# ---------------------------------------------------------------- case/switch

def test_switch_case():
    fns = [lambda: C(10), lambda: C(20), lambda: C(30)]
    assert int(tf.switch_case(C(1), fns)) == 20
    assert int(tf.switch_case(C(7), fns)) == 30  # out of range: the last branch
    assert int(tf.switch_case(C(-1), fns, default=lambda: C(9))) == 9
    assert int(tf.switch_case(C(1), {0: fns[0], 1: fns[1]})) == 20
    assert int(tf.switch_case(C(0), [(1, fns[1]), (0, fns[0])])) == 10
    with pytest.raises(TypeError, match="'branch_index' must be a Tensor, got <class 'int'>"):
        tf.switch_case(1, fns)
    with pytest.raises(TypeError, match="'branch_index' must be an integer Tensor"):
        tf.switch_case(C(1.0), fns)
    with pytest.raises(ValueError, match=r"must form contiguous range of \[0 to 2\) but found \{0,2\}"):
        tf.switch_case(C(1), {0: fns[0], 2: fns[1]})
    with pytest.raises(ValueError, match="Must provide at least one item in 'branch_fns'"):
        tf.switch_case(C(1), [])


def test_switch_case_traced_and_gradient():
    @tf.function
    def f(i, x):
        return tf.switch_case(i, [lambda: x * 2.0, lambda: x * x, lambda: -x])

    for i, expect in [(0, 6.0), (1, 9.0), (2, -3.0), (5, -3.0), (-3, -3.0), (1, 9.0)]:
        close(f(C(i), C(3.0)), expect)
    assert f.experimental_get_tracing_count() == 1
    x = tf.Variable(3.0)
    with tf.GradientTape() as t:
        y = tf.switch_case(C(1), [lambda: x * 2.0, lambda: x * x])
    close(t.gradient(y, x), 6.0)


def test_case():
    x = C([1.0, 2.0])
    assert tf.case([(x[0] > 0, lambda: 1), (x[0] > 0, lambda: 2)]) == 1
    assert tf.case([(x[0] < 0, lambda: 1)], default=lambda: 3) == 3
    assert tf.case([(x[0] < 0, lambda: 1), (x[1] > 1, lambda: 2)]) == 2
    with pytest.raises(tf.errors.InvalidArgumentError, match="None of conditions evaluated as True"):
        tf.case([(x[0] < 0, lambda: 1)])
    with pytest.raises(TypeError, match="pred must be a Tensor, got: True"):
        tf.case([(True, lambda: 1)])
    with pytest.raises(TypeError, match="Each entry in 'pred_fn_pairs' must be a 2-tuple"):
        tf.case([x[0] > 0])
    with pytest.raises(ValueError, match="Unordered dictionaries are not supported"):
        tf.case({x[0] > 0: lambda: 1}) if not hasattr(x, "ref") else tf.case({x[0].ref(): lambda: 1})


def test_case_traced():
    @tf.function
    def f(x):
        return tf.case([(x < 0, lambda: x * -1.0), (x > 10, lambda: x - 10.0)], default=lambda: x)

    for v, e in [(-2.0, 2.0), (12.0, 2.0), (5.0, 5.0), (-1.0, 1.0)]:
        close(f(C(v)), e)
    assert f.experimental_get_tracing_count() == 1


# ------------------------------------------------------------------ while_loop

def test_while_loop_values_and_structures():
    i0 = C(0)
    assert tf.while_loop(lambda i: i < 5, lambda i: (i + 1,), (i0,))[0].numpy() == 5
    r = tf.while_loop(lambda i: i < 5, lambda i: [i + 1], (i0,))
    assert isinstance(r, list) and int(r[0]) == 5
    i, j = tf.while_loop(lambda i, j: i < 5, lambda i, j: (i + 1, j * 2), (i0, 1.0))
    assert int(i) == 5 and float(j) == 32.0 and j.dtype == tf.float32
    i, p = tf.while_loop(lambda i, p: i < 3, lambda i, p: (i + 1, {"a": p["a"] * 2}), (i0, {"a": 1.0}))
    assert int(i) == 3 and float(p["a"]) == 8.0
    Pair = collections.namedtuple("Pair", "j, k")
    i, pr = tf.while_loop(lambda i, p: i < 10, lambda i, p: (i + 1, Pair(p.j + p.k, p.j - p.k)),
                          (i0, Pair(C(1), C(2))))
    assert isinstance(pr, Pair) and int(i) == 10 and (int(pr.j), int(pr.k)) == (32, 64)
    r = tf.while_loop(lambda i: i < 5, lambda i: (i + 1,), (i0,), maximum_iterations=3)
    assert int(r[0]) == 3
    r = tf.while_loop(lambda i: i < 2, lambda i: (i + 1,), (i0,), maximum_iterations=C(7),
                      shape_invariants=(tf.TensorShape([]),), parallel_iterations=1, back_prop=False)
    assert int(r[0]) == 2


def test_while_loop_errors():
    i0 = C(0)
    with pytest.raises(TypeError, match="'cond' must be callable."):
        tf.while_loop(5, lambda i: i + 1, [i0])
    with pytest.raises(TypeError, match="'body' must be callable."):
        tf.while_loop(lambda i: i < 5, 3, [i0])
    with pytest.raises(ValueError, match="'loop_vars' must be provided."):
        tf.while_loop(lambda i: i < 5, lambda i: i + 1, [])
    with pytest.raises(ValueError, match="'loop_vars' must be provided."):
        tf.while_loop(lambda i: i < 5, lambda i: i + 1, i0)
    with pytest.raises(TypeError, match="Cannot iterate over a scalar tensor."):
        tf.while_loop(lambda i: i < 5, lambda i: i + 1, [i0])
    with pytest.raises(ValueError, match=r"'maximum_iterations' must be a scalar. Received shape: \(1,\)"):
        tf.while_loop(lambda i: i < 5, lambda i: i + 1, [i0], maximum_iterations=[3])
    with pytest.raises(ValueError, match="The two structures don't have the same nested structure."):
        tf.while_loop(lambda i, j: i < 5, lambda i, j: (i + 1,), (i0, 1.0))
    with pytest.raises(TypeError, match="The two structures don't have the same nested structure."):
        tf.while_loop(lambda i, p: i < 3, lambda i, p: (i + 1, [p]), (i0, (1.0,)))
    with pytest.raises(ValueError, match="The truth value of an array with more than one element"):
        tf.while_loop(lambda i: C([True, True]), lambda i: (i + 1,), (i0,))


def test_while_loop_gradients_first_and_second_order():
    x = tf.Variable(1.5)
    with tf.GradientTape() as t2:
        with tf.GradientTape() as t1:
            _, y = tf.while_loop(lambda i, y: i < 3, lambda i, y: (i + 1, y * x), (C(0), C(1.0)))
        d = t1.gradient(y, x)
    close(y, 1.5 ** 3)
    close(d, 3 * 1.5 ** 2)
    close(t2.gradient(d, x), 6 * 1.5)


def test_while_loop_traced_trip_counts():
    @tf.function
    def f(n, x):
        return tf.while_loop(lambda i, s: i < n, lambda i, s: (i + 1, s * x), (C(0), C(1.0)))

    for n in [3, 5, 3, 0, 5, 2]:
        i, s = f(C(n), C(2.0))
        assert int(i) == n
        close(s, 2.0 ** n)
    close(f(C(3), C(3.0))[1], 27.0)
    assert f.experimental_get_tracing_count() == 1


def test_while_loop_traced_single_var_returned_bare():
    @tf.function
    def f(n):
        return tf.while_loop(lambda i: i < n, lambda i: i + 1, [C(0)])

    r = f(C(3))
    assert isinstance(r, list) and int(r[0]) == 3
    assert int(f(C(5))[0]) == 5
    assert f.experimental_get_tracing_count() == 1


def test_while_loop_traced_gradient_and_variables():
    w = tf.Variable(2.0)

    @tf.function
    def step(n):
        with tf.GradientTape() as t:
            _, y = tf.while_loop(lambda i, y: i < n, lambda i, y: (i + 1, y * w), (C(0), C(1.0)))
        g = t.gradient(y, w)
        w.assign_sub(0.01 * g)
        return y, g

    for n in [2, 3, 2]:
        before = float(w)
        y, g = step(C(n))
        close(y, before ** n, 1e-5)
        close(g, n * before ** (n - 1), 1e-5)
        close(w, before - 0.01 * n * before ** (n - 1), 1e-5)
    assert step.experimental_get_tracing_count() == 1


# ------------------------------------------------------------ map_fn & friends

def test_map_fn():
    x = C([1.0, 2.0, 3.0])
    close(tf.map_fn(lambda e: e * 2, x), [2.0, 4.0, 6.0])
    r = tf.map_fn(lambda e: tf.cast(e, tf.int32), x, fn_output_signature=tf.int32)
    assert r.dtype == tf.int32 and r.numpy().tolist() == [1, 2, 3]
    a, b = tf.map_fn(lambda e: (e, e * e), x, fn_output_signature=(tf.float32, tf.float32))
    close(b, [1.0, 4.0, 9.0])
    close(tf.map_fn(lambda e: e[0] + e[1], (x, x), fn_output_signature=tf.float32), [2.0, 4.0, 6.0])
    close(tf.map_fn(lambda e: e * 2, x, dtype=tf.float32), [2.0, 4.0, 6.0])
    r = tf.map_fn(lambda e: tf.stack([e, e]), x, fn_output_signature=tf.TensorSpec([2], tf.float32))
    assert tuple(r.shape) == (3, 2)
    d = tf.map_fn(lambda e: {"a": e["a"] + 1.0}, {"a": x})
    close(d["a"], [2.0, 3.0, 4.0])
    assert tuple(tf.map_fn(lambda e: e, tf.zeros([0, 2])).shape) == (0,)


def test_map_fn_errors():
    x = C([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="The two structures don't have the same nested structure."):
        tf.map_fn(lambda e: (e, e), x)
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match="TensorArray dtype is float32 but Op is trying to write dtype int32"):
        tf.map_fn(lambda e: tf.cast(e, tf.int32), x)
    with pytest.raises(ValueError, match="Dimensions 3 and 2 are not compatible"):
        tf.map_fn(lambda e: e, (x, x[:2]))
    with pytest.raises(ValueError, match="Elements in elems must be 1\\+ dimensional Tensors, not scalars"):
        tf.map_fn(lambda e: e, C(1.0))
    with pytest.raises(ValueError, match="which does not contain any Tensors"):
        tf.map_fn(lambda e: e, [])


def test_map_fn_gradients_and_trace():
    x = tf.Variable([1.0, 2.0, 3.0])
    with tf.GradientTape() as t2:
        with tf.GradientTape() as t1:
            y = tf.reduce_sum(tf.map_fn(lambda e: e ** 3, x))
        d = t1.gradient(y, x)
    close(d, [3.0, 12.0, 27.0])
    close(t2.gradient(d, x), [6.0, 12.0, 18.0])

    @tf.function
    def f(m):
        return tf.map_fn(lambda r: tf.reduce_sum(r * r), m)

    close(f(C([[1.0, 2.0], [3.0, 4.0]])), [5.0, 25.0])
    close(f(C([[0.0, 1.0], [2.0, 2.0]])), [1.0, 8.0])
    assert f.experimental_get_tracing_count() == 1


def test_vectorized_map():
    x = C([1.0, 2.0, 3.0])
    close(tf.vectorized_map(lambda e: e * 2, x), [2.0, 4.0, 6.0])
    a, s = tf.vectorized_map(lambda e: (e, tf.reduce_sum(e)), tf.ones([2, 3]))
    close(a, np.ones([2, 3]))
    close(s, [3.0, 3.0])
    v = tf.Variable([[1.0, 2.0], [3.0, 4.0]])
    with tf.GradientTape() as t:
        y = tf.reduce_sum(tf.vectorized_map(lambda r: tf.reduce_sum(r) ** 2, v))
    close(t.gradient(y, v), [[6.0, 6.0], [14.0, 14.0]])


def test_scan():
    x = C([1.0, 2.0, 3.0])
    close(tf.scan(lambda a, e: a + e, x), [1.0, 3.0, 6.0])
    close(tf.scan(lambda a, e: a + e, x, initializer=C(10.0)), [11.0, 13.0, 16.0])
    close(tf.scan(lambda a, e: a + e, x, reverse=True), [6.0, 5.0, 3.0])
    s, p = tf.scan(lambda a, e: (a[0] + e, a[1] * e), x, initializer=(C(0.0), C(1.0)))
    close(s, [1.0, 3.0, 6.0])
    close(p, [1.0, 2.0, 6.0])
    assert tuple(tf.scan(lambda a, e: a + e, tf.zeros([0]), initializer=C(1.0)).shape) == (0,)
    with pytest.raises(tf.errors.OutOfRangeError, match="Tried to read from index 0 but array size is: 0"):
        tf.scan(lambda a, e: a + e, tf.zeros([0]))
    w = tf.Variable(2.0)
    with tf.GradientTape() as t:
        y = tf.reduce_sum(tf.scan(lambda a, e: a * w + e, x))  # 1, w+2, (w+2)w+3
    close(t.gradient(y, w), 1.0 + 2 * 2.0 + 2.0)


def test_foldl_foldr():
    x = C([1.0, 2.0, 3.0])
    close(tf.foldl(lambda a, e: a + e, x), 6.0)
    close(tf.foldr(lambda a, e: a - e, x), 0.0)
    close(tf.foldl(lambda a, e: a - e, x, initializer=C(0.0)), -6.0)
    close(tf.foldl(lambda a, e: a + e[0] * e[1], (x, x), initializer=C(0.0)), 14.0)
    assert int(tf.foldl(lambda a, x: a * 10 + x, C([1, 2, 3]))) == 123
    assert int(tf.foldr(lambda a, x: a * 10 + x, C([1, 2, 3]))) == 321
    with pytest.raises(tf.errors.OutOfRangeError, match="Tried to read from index 0 but array size is: 0"):
        tf.foldl(lambda a, e: a + e, tf.zeros([0]))
    w = tf.Variable(3.0)
    with tf.GradientTape() as t2:
        with tf.GradientTape() as t1:
            y = tf.foldl(lambda a, e: a * w + e, x)  # (w + 2) w + 3
        d = t1.gradient(y, w)
    close(d, 2 * 3.0 + 2.0)
    close(t2.gradient(d, w), 2.0)

    @tf.function
    def f(v):
        return tf.foldr(lambda a, e: a * 2.0 + e, v)

    close(f(x), (3.0 * 2 + 2.0) * 2 + 1.0)
    close(f(C([0.0, 1.0, 1.0])), 6.0)
    assert f.experimental_get_tracing_count() == 1


# ---------------------------------------------------------------- TensorArray

def test_tensor_array_eager_semantics():
    ta = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
    assert int(ta.size()) == 0 and tuple(ta.stack().shape) == (0,)
    ta = ta.write(2, [1.0, 2.0])
    close(ta.stack(), [[0.0, 0.0], [0.0, 0.0], [1.0, 2.0]])
    assert int(ta.size()) == 3 and list(ta.element_shape) == [2]
    with pytest.raises(ValueError, match=r"Incompatible shape for value \(\(1,\)\), expected \(\(2,\)\)"):
        ta.write(1, [1.0])
    close(ta.read(2), [1.0, 2.0])
    with pytest.raises(tf.errors.InvalidArgumentError, match="Could not read index 2 twice because it was "
                                                             "cleared after a previous read"):
        ta.read(2)
    keep = tf.TensorArray(tf.float32, size=1, clear_after_read=False).write(0, 5.0)
    assert float(keep.read(0)) == 5.0 and float(keep.read(0)) == 5.0
    with pytest.raises(ValueError, match="Size must be declared for TensorArrays"):
        tf.TensorArray(tf.float32)
    with pytest.raises(tf.errors.OutOfRangeError, match="Tried to write to index 2 but array is not "
                                                        "resizeable and size is: 2"):
        tf.TensorArray(tf.float32, size=2).write(2, 1.0)
    with pytest.raises(tf.errors.OutOfRangeError, match="Reading from negative indices"):
        tf.TensorArray(tf.float32, size=2).read(-1)
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match="TensorArray dtype is float32 but Op is trying to write dtype int32"):
        tf.TensorArray(tf.float32, size=2).write(0, C(1))
    with pytest.raises(ValueError, match="Cannot convert a partially known TensorShape"):
        tf.TensorArray(tf.float32, size=2).stack()
    close(tf.TensorArray(tf.float32, size=2, element_shape=[3]).stack(), np.zeros([2, 3]))


def test_tensor_array_unstack_gather_scatter_concat_split():
    ta = tf.TensorArray(tf.float32, size=3).unstack([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    close(ta.gather([2, 0]), [[5.0, 6.0], [1.0, 2.0]])
    ta = tf.TensorArray(tf.float32, size=3).unstack([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    close(ta.concat(), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    with pytest.raises(tf.errors.InvalidArgumentError, match="Concat saw a scalar shape at index 0"):
        tf.TensorArray(tf.float32, size=2).unstack([1.0, 2.0]).concat()
    with pytest.raises(ValueError, match="Cannot unstack 3 tensors into a TensorArray of static size 2"):
        tf.TensorArray(tf.float32, size=2).unstack([1.0, 2.0, 3.0])
    ta = tf.TensorArray(tf.int32, size=3).scatter([2, 0], C([[7], [8]]))
    assert ta.read(0).numpy().tolist() == [8] and ta.read(2).numpy().tolist() == [7]
    ta = tf.TensorArray(tf.float32, size=2).split(C([1.0, 2.0, 3.0]), [1, 2])
    close(ta.read(1), [2.0, 3.0])


def test_tensor_array_gradients_and_while_loop():
    x = tf.Variable([1.0, 2.0, 3.0])
    with tf.GradientTape() as t2:
        with tf.GradientTape() as t1:
            ta = tf.TensorArray(tf.float32, size=3)
            ta = ta.unstack(x)
            out = tf.TensorArray(tf.float32, size=3)

            def body(i, out):
                return i + 1, out.write(i, ta.read(i) ** 2)
            _, out = tf.while_loop(lambda i, o: i < 3, body, (C(0), out))
            y = tf.reduce_sum(out.stack())
        d = t1.gradient(y, x)
    close(y, 14.0)
    close(d, [2.0, 4.0, 6.0])
    close(t2.gradient(d, x), [2.0, 2.0, 2.0])


def test_tensor_array_traced():
    @tf.function
    def f(x, n):
        ta = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
        i = tf.constant(0)
        while_out = tf.while_loop(lambda i, ta: i < n, lambda i, ta: (i + 1, ta.write(i, x * tf.cast(i, tf.float32))),
                                  (i, ta))
        return while_out[1].stack()

    close(f(C(2.0), C(3)), [0.0, 2.0, 4.0])
    close(f(C(1.0), C(2)), [0.0, 1.0])
    close(f(C(3.0), C(3)), [0.0, 3.0, 6.0])
    assert f.experimental_get_tracing_count() == 1
