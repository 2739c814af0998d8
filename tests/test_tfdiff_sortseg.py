"""fastgrad against TensorFlow, side by side, for sorting, segments,
counting, norms and cumulative_logsumexp: values, first and second order
gradients and JVPs on random float64 inputs, float32 spot checks, index
outputs and errors. Skipped unless TensorFlow is installed
(tests/_tfdiff.py)."""
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


def check(f_fg, f_tf, xs, order, rtol=1e-10):
    tf = real_tf()
    a, b = grads_both(fg, tf, f_fg, f_tf, xs, order)
    close(a[0], b[0], rtol)
    for u, v in zip(a[1], b[1]):
        close(u, v, rtol)
    if order == 2:
        for u, v in zip(a[2], b[2]):
            close(u, v, rtol=max(rtol, 1e-9), atol=1e-10)


def mod(lib, path):
    for p in path.split("."):
        lib = getattr(lib, p)
    return lib


SEG_IDS = np.array([0, 0, 1, 3, 3, 3], np.int32)       # sorted, segment 2 empty
USEG_IDS = np.array([4, -1, 0, 4, 2, 0], np.int64)    # unsorted, one dropped, segments 1 and 3 empty

# (name, function of (lib, x), input shape)
CASES = [
    ("sort", lambda lib, x: lib.sort(x), (3, 5)),
    ("sort_axis0_desc", lambda lib, x: lib.sort(x, axis=0, direction="DESCENDING"), (4, 3)),
    ("top_k", lambda lib, x: lib.math.top_k(x, 3).values, (2, 6)),
    ("nn.top_k", lambda lib, x: lib.nn.top_k(x[0], 2).values, (1, 5)),
    ("segment_sum", lambda lib, x: lib.math.segment_sum(x, SEG_IDS), (6, 2)),
    ("segment_mean", lambda lib, x: lib.math.segment_mean(x, SEG_IDS), (6, 2)),
    ("segment_max", lambda lib, x: lib.math.segment_max(x, SEG_IDS), (6, 2)),
    ("segment_min", lambda lib, x: lib.math.segment_min(x, SEG_IDS), (6, 2)),
    ("segment_prod", lambda lib, x: lib.math.segment_prod(x, SEG_IDS), (6, 2)),
    ("unsorted_segment_sum", lambda lib, x: lib.math.unsorted_segment_sum(x, USEG_IDS, 5), (6, 2)),
    ("unsorted_segment_mean", lambda lib, x: lib.math.unsorted_segment_mean(x, USEG_IDS, 5), (6, 2)),
    ("unsorted_segment_max", lambda lib, x: lib.math.unsorted_segment_max(x, USEG_IDS, 5) * 1.0, (6, 2)),
    ("unsorted_segment_min", lambda lib, x: lib.math.unsorted_segment_min(x, USEG_IDS, 5), (6, 2)),
    ("unsorted_segment_prod", lambda lib, x: lib.math.unsorted_segment_prod(x, USEG_IDS, 5), (6, 2)),
    ("unsorted_segment_sqrt_n", lambda lib, x: lib.math.unsorted_segment_sqrt_n(x, USEG_IDS, 5), (6, 2)),
    ("unsorted_2d_ids", lambda lib, x: lib.math.unsorted_segment_sum(x, USEG_IDS.reshape(2, 3), 5), (2, 3, 2)),
    ("cumulative_logsumexp", lambda lib, x: lib.math.cumulative_logsumexp(x, axis=1), (2, 5)),
    ("cumulative_logsumexp_rev", lambda lib, x: lib.math.cumulative_logsumexp(x, reverse=True), (4, 2)),
    ("reduce_euclidean_norm", lambda lib, x: lib.math.reduce_euclidean_norm(x, axis=1, keepdims=True), (3, 4)),
    ("norm_1", lambda lib, x: lib.norm(x, 1, axis=1), (3, 4)),
    ("norm_inf", lambda lib, x: lib.norm(x, np.inf), (3, 4)),
    ("norm_3", lambda lib, x: lib.norm(x, 3, axis=0), (3, 4)),
    ("norm_fro", lambda lib, x: lib.linalg.norm(x, "fro", axis=[-2, -1]), (2, 3, 4)),
    ("norm_matrix_1", lambda lib, x: lib.norm(x, 1, axis=[1, 2], keepdims=True), (2, 3, 4)),
    ("norm_matrix_inf", lambda lib, x: lib.norm(x, np.inf, axis=(0, 1)), (3, 4)),
]


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name,f,shape", CASES, ids=[c[0] for c in CASES])
def test_values_and_gradients_as_tf(name, f, shape, order):
    # distinct values away from 0: no ties, no kinks
    x = R.permutation(np.linspace(0.5, 1.5, int(np.prod(shape)))).reshape(shape) * R.choice([-1.0, 1.0], shape)
    check(lambda t: f(fg, t), lambda t: f(real_tf(), t), [x], order)


def test_ties_share_the_gradient_as_tf():
    x = np.array([[3.0, 3.0, 1.0], [2.0, 2.0, 2.0]])
    for f in (lambda lib, t: lib.math.segment_max(t, [0, 0]),
              lambda lib, t: lib.math.unsorted_segment_min(t, [1, 1], 3) * 1.0,
              lambda lib, t: lib.sort(t, direction="DESCENDING"),
              lambda lib, t: lib.math.top_k(t, 2).values):
        check(lambda t: f(fg, t), lambda t: f(real_tf(), t), [x], 1)


def test_segment_prod_with_zeros_as_tf():
    x = np.array([0.0, 2.0, 0.0, 0.0, 3.0, 5.0, 0.0, 4.0])
    ids = np.array([0, 0, 1, 1, 1, 2, 3, 3], np.int32)
    for name, args in (("segment_prod", ()), ("unsorted_segment_prod", (5,))):
        check(lambda t: getattr(fg.math, name)(t, ids, *args), lambda t: getattr(real_tf().math, name)(t, ids, *args),
              [x], 1)


@pytest.mark.parametrize("name,f,shape", [c for c in CASES if not c[0].startswith("norm_matrix")],
                         ids=[c[0] for c in CASES if not c[0].startswith("norm_matrix")])
def test_jvps_as_tf(name, f, shape):
    tf = real_tf()
    x = R.permutation(np.linspace(0.5, 1.5, int(np.prod(shape)))).reshape(shape) * R.choice([-1.0, 1.0], shape)
    t = R.normal(size=shape)
    out = []
    for lib in (fg, tf):
        xt = lib.constant(x)
        with lib.autodiff.ForwardAccumulator(xt, lib.constant(t)) as acc:
            y = f(lib, xt)
        j = acc.jvp(y)
        out.append((tf.convert_to_tensor(j) if lib is tf else j).numpy())  # TF may give IndexedSlices
    ours, theirs = out
    # TF's JVP (a double backward through divide by the count) is NaN on an
    # empty segment of the mean, max and min; the exact tangent there is 0
    gap = np.isnan(theirs)
    assert not gap.any() or name in ("segment_mean", "segment_max", "segment_min", "unsorted_segment_max",
                                     "unsorted_segment_min"), name
    assert (ours[gap] == 0).all()
    close(ours[~gap], theirs[~gap], rtol=1e-9)


def test_float32_spot_checks():
    tf = real_tf()
    x = R.normal(size=(4, 7)).astype(np.float32)
    for f in (lambda lib, t: lib.sort(t), lambda lib, t: lib.math.top_k(t, 4).values,
              lambda lib, t: lib.math.cumulative_logsumexp(t, axis=1),
              lambda lib, t: lib.math.unsorted_segment_max(t, [1, 0, 1, -1], 2),
              lambda lib, t: lib.norm(t, 1, axis=[0, 1])):
        a, b = f(fg, fg.constant(x)), f(tf, tf.constant(x))
        assert a.dtype.name == b.dtype.name
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=2e-6)


def test_index_outputs_as_tf():
    tf = real_tf()
    x = R.integers(0, 6, (5, 40)).astype(np.float64)
    v = R.integers(-1, 8, (5, 9)).astype(np.float64)
    s = np.sort(x, axis=-1)
    for f in (lambda lib: lib.argsort(x), lambda lib: lib.argsort(x, axis=0, direction="DESCENDING"),
              lambda lib: lib.math.top_k(x, 5).indices, lambda lib: lib.searchsorted(s, v),
              lambda lib: lib.searchsorted(s, v, side="right", out_type=lib.int64),
              lambda lib: lib.math.in_top_k(np.arange(5), x.astype(np.float32), 3),
              lambda lib: lib.unique(x[0].astype(np.int32)).y, lambda lib: lib.unique_with_counts(x[1]).count,
              lambda lib: lib.math.bincount(x.astype(np.int32), minlength=8),
              lambda lib: lib.math.bincount(x.astype(np.int32), axis=-1, binary_output=True),
              lambda lib: lib.math.confusion_matrix(x[0].astype(np.int32), x[1].astype(np.int32)),
              lambda lib: lib.math.count_nonzero(x, axis=0)):
        a, b = f(fg), f(tf)
        assert a.dtype.name == b.dtype.name
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_errors_as_tf():
    tf = real_tf()
    d = np.ones((3, 2))
    for f in (lambda lib: lib.math.segment_sum(d, [1, 0, 2]), lambda lib: lib.math.segment_sum(d, [0, 0]),
              lambda lib: lib.math.unsorted_segment_sum(d, [0, 5, 1], 3),
              lambda lib: lib.math.unsorted_segment_sum(d, [0, 1], 3), lambda lib: lib.math.top_k([1.0, 2.0], 3),
              lambda lib: lib.math.top_k([1.0, 2.0], -1), lambda lib: lib.unique([[1, 2]]),
              lambda lib: lib.math.bincount([1, -1]), lambda lib: lib.searchsorted([[1.0, 3.0], [1.0, 2.0]], [[3.0]]),
              lambda lib: lib.math.in_top_k([0, 1], [[0.5, 0.5, 0.1]], 1)):
        with pytest.raises(tf.errors.InvalidArgumentError) as want:
            f(tf)
        with pytest.raises(fg.errors.InvalidArgumentError) as got:
            f(fg)
        # TF's eager messages carry a {{function_node ...}} prefix; the text after it matches
        assert str(got.value).split(" [Op:")[0] in str(want.value), (str(got.value), str(want.value))
