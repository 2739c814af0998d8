"""fastgrad against TensorFlow, side by side, for the array-manipulation
ops of issue 13: values, first and second order gradients on random
float64 inputs, JVPs, float32 spot checks. Skipped unless TensorFlow is
installed (tests/_tfdiff.py)."""
import numpy as np
import pytest

import fastgrad as fg
from _tfdiff import grads_both, real_tf

R = np.random.default_rng(13)


def close(a, b, rtol=1e-10, atol=1e-12):
    if a is None or b is None:
        assert a is None and b is None, (a, b)
        return
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


IDX2 = [[0, 3], [1, 1], [2, 0]]
# name -> (f(lib, *xs), input shapes); each f is written once for both libraries
CASES = {
    "pad_constant": (lambda L, x: L.pad(x, [[1, 2], [0, 1]], constant_values=0.5), [(3, 4)]),
    "pad_reflect": (lambda L, x: L.pad(x, [[2, 1], [3, 3]], "REFLECT"), [(3, 4)]),
    "pad_symmetric": (lambda L, x: L.pad(x, [[3, 0], [1, 4]], "SYMMETRIC"), [(3, 4)]),
    "pad_3d": (lambda L, x: L.pad(x, [[0, 1], [1, 1], [2, 0]], "REFLECT"), [(2, 3, 4)]),
    "gather_batch_dims": (lambda L, x: L.gather(x, IDX2, batch_dims=1), [(3, 4)]),
    "gather_batch_axis2": (lambda L, x: L.gather(x, [[2, 0], [1, 1]], axis=2, batch_dims=1), [(2, 3, 4)]),
    "gather_nd": (lambda L, x: L.gather_nd(x, [[0, 1], [2, 3], [0, 1]]), [(3, 4)]),
    "gather_nd_slices": (lambda L, x: L.gather_nd(x, [[[1], [0]], [[2], [2]]]), [(3, 4, 2)]),
    "gather_nd_batch": (lambda L, x: L.gather_nd(x, [[1], [2], [3]], batch_dims=1), [(3, 4)]),
    "scatter_nd": (lambda L, u: L.scatter_nd([[1], [3], [1]], u, [4, 2]), [(3, 2)]),
    "tensor_scatter_update": (lambda L, x, u: L.tensor_scatter_nd_update(x, [[1, 0], [2, 3]], u), [(3, 4), (2,)]),
    "tensor_scatter_add": (lambda L, x, u: L.tensor_scatter_nd_add(x, [[1], [1]], u), [(3, 4), (2, 4)]),
    "tensor_scatter_sub": (lambda L, x, u: L.tensor_scatter_nd_sub(x, [[0], [2]], u), [(3, 4), (2, 4)]),
    "tensor_scatter_min": (lambda L, x, u: L.tensor_scatter_nd_min(x, [[0, 1], [2, 2]], u), [(3, 4), (2,)]),
    "tensor_scatter_max": (lambda L, x, u: L.tensor_scatter_nd_max(x, [[1], [2]], u), [(3, 4), (2, 4)]),
    "einsum_matmul": (lambda L, a, b: L.einsum("ij,jk->ik", a, b), [(3, 4), (4, 2)]),
    "einsum_batch": (lambda L, a, b: L.einsum("bij,bkj->bik", a, b), [(2, 3, 4), (2, 5, 4)]),
    "einsum_trace": (lambda L, a: L.einsum("ii", a), [(4, 4)]),
    "einsum_diag": (lambda L, a: L.einsum("bii->bi", a), [(2, 3, 3)]),
    "einsum_ellipsis": (lambda L, a, b: L.einsum("...ij,...jk->...ik", a, b), [(2, 1, 3, 4), (5, 4, 2)]),
    "einsum_three": (lambda L, a, b, c: L.einsum("ij,jk,kl->il", a, b, c), [(2, 3), (3, 4), (4, 2)]),
    "einsum_reduce": (lambda L, a, b: L.einsum("ijk,ik->j", a, b), [(2, 3, 4), (2, 4)]),
    "einsum_outer": (lambda L, a, b: L.einsum("i,j", a, b), [(3,), (2,)]),
    "einsum_attention": (lambda L, q, k: L.einsum("bhqd,bhkd->bhqk", q, k), [(2, 2, 3, 4), (2, 2, 5, 4)]),
    "tensordot": (lambda L, a, b: L.tensordot(a, b, [[1, 2], [1, 0]]), [(2, 3, 4), (4, 3)]),
    "tensordot_int": (lambda L, a, b: L.tensordot(a, b, 1), [(2, 3), (3, 4)]),
    "boolean_mask": (lambda L, x: L.boolean_mask(x, [True, False, True]), [(3, 4)]),
    "boolean_mask_axis": (lambda L, x: L.boolean_mask(x, [[True, False], [True, True]], axis=1), [(3, 2, 2)]),
    "reverse": (lambda L, x: L.reverse(x, [0, 2]), [(2, 3, 4)]),
    "roll": (lambda L, x: L.roll(x, [1, -2, 3], [0, 1, 1]), [(3, 4)]),
    "repeat": (lambda L, x: L.repeat(x, [2, 0, 1], axis=0), [(3, 4)]),
    "repeat_scalar": (lambda L, x: L.repeat(x, 3, axis=1), [(2, 3)]),
    "strided_slice": (lambda L, x: L.strided_slice(x, [0, 3], [3, 0], [2, -1]), [(3, 4)]),
    "strided_slice_masks": (lambda L, x: L.strided_slice(x, [1, 0, 1], [0, 0, 3], [1, 1, 1], begin_mask=2,
                                                         end_mask=1, new_axis_mask=0, shrink_axis_mask=0),
                            [(2, 3, 4)]),
    "slice": (lambda L, x: L.slice(x, [1, 1], [2, -1]), [(3, 4)]),
    "reverse_sequence": (lambda L, x: L.reverse_sequence(x, [4, 2, 1], seq_axis=1, batch_axis=0), [(3, 4)]),
    "reverse_sequence_t": (lambda L, x: L.reverse_sequence(x, [3, 0, 2], seq_axis=0, batch_axis=1), [(4, 3, 2)]),
    "space_to_batch": (lambda L, x: L.space_to_batch_nd(x, [2, 2], [[1, 1], [0, 2]]), [(2, 4, 2, 3)]),
    "batch_to_space": (lambda L, x: L.batch_to_space(x, [2, 2], [[1, 0], [0, 1]]), [(8, 2, 2, 1)]),
    "dynamic_stitch": (lambda L, a, b: L.dynamic_stitch([[0, 2], [1, 2]], [a, b]), [(2, 3), (2, 3)]),
    "dynamic_partition": (lambda L, x: L.dynamic_partition(x, [1, 0, 1], 2)[1], [(3, 4)]),
    "meshgrid": (lambda L, a, b: L.meshgrid(a, b)[0] * L.meshgrid(a, b)[1], [(3,), (2,)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("order", [1, 2])
def test_values_and_gradients_as_tf(name, order):
    tf = real_tf()
    f, shapes = CASES[name]
    xs = [R.standard_normal(s) for s in shapes]
    a, b = grads_both(fg, tf, lambda *t: f(fg, *t), lambda *t: f(tf, *t), xs, order)
    close(a[0], b[0])
    for u, v in zip(a[1], b[1]):
        close(u, v)
    if order == 2:
        for u, v in zip(a[2], b[2]):
            close(u, v, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("name", ["pad_reflect", "gather_nd", "scatter_nd", "tensor_scatter_update",
                                  "tensor_scatter_max", "einsum_batch", "einsum_diag", "reverse_sequence",
                                  "gather_batch_axis2"])
def test_jvp_as_tf(name):
    tf = real_tf()
    f, shapes = CASES[name]
    xs = [R.standard_normal(s) for s in shapes]
    ts = [R.standard_normal(s) for s in shapes]
    out = []
    for lib in (fg, tf):
        prim = [lib.constant(x) for x in xs]
        with lib.autodiff.ForwardAccumulator(prim, [lib.constant(t) for t in ts]) as acc:
            y = f(lib, *prim)
        out.append(lib.convert_to_tensor(acc.jvp(y)).numpy())  # TF may give IndexedSlices
    close(*out)


@pytest.mark.parametrize("name", ["pad_symmetric", "einsum_attention", "gather_batch_dims", "tensor_scatter_add",
                                  "space_to_batch"])
def test_float32_spot_checks(name):
    tf = real_tf()
    f, shapes = CASES[name]
    xs = [R.standard_normal(s).astype(np.float32) for s in shapes]
    got = []
    for lib in (fg, tf):
        ts = [lib.constant(x) for x in xs]
        with lib.GradientTape() as tape:
            for t in ts:
                tape.watch(t)
            y = f(lib, *ts)
            s = lib.reduce_sum(y * y)
        g = tape.gradient(s, ts)
        assert y.dtype.name == "float32"
        got.append([y.numpy()] + [v.numpy() for v in g])
    for u, v in zip(*got):
        np.testing.assert_allclose(u, v, rtol=2e-5, atol=2e-5)


ERRORS = [
    lambda L: L.pad(L.zeros((3, 4)), [[3, 0], [0, 0]], "REFLECT"),
    lambda L: L.gather_nd(L.zeros((3, 4)), [[0, 4]]),
    lambda L: L.scatter_nd([[3]], [1.0], [3]),
    lambda L: L.tensor_scatter_nd_add(L.zeros((3, 4)), [[1]], [[1.0] * 3]),
    lambda L: L.gather(L.zeros((3, 4)), [[0, 4], [1, 1], [2, 0]], batch_dims=1),
    lambda L: L.reverse_sequence(L.zeros((3, 4)), [4, 5, 1], seq_axis=1, batch_axis=0),
    lambda L: L.unravel_index([12], [3, 4]),
    lambda L: L.math.invert_permutation([2, 0, 0]),
    lambda L: L.einsum("ii->i", L.zeros((3, 4))),
    lambda L: L.slice(L.zeros((3, 4)), [1, 0], [3, -1]),
]


@pytest.mark.parametrize("k", range(len(ERRORS)))
def test_errors_as_tf(k):
    tf = real_tf()
    msgs = []
    for lib in (fg, tf):
        with pytest.raises(Exception) as ei:
            ERRORS[k](lib)
        msgs.append((type(ei.value).__name__, str(ei.value)))
    assert msgs[0][0] == msgs[1][0]
    # TF prefixes the kernel's node ({{function_node ...}}) and may add " name: "
    tf_text = msgs[1][1].split("}} ")[-1].strip()
    if tf_text.endswith(" name:"):
        tf_text = tf_text[:-len(" name:")]
    assert msgs[0][1].strip() == tf_text, msgs
