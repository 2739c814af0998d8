"""tf.linalg: values against NumPy, TF's errors and NaN conventions, and
first and second derivatives (reverse and forward mode) against central
differences, batched and in both float dtypes.

Values and errors run under ``FASTGRAD_TEST_BACKEND=tensorflow`` too
(validated against TensorFlow 2.21.0); the derivative checks use
``fastgrad.test.check_gradients``. tests/test_tfdiff_linalg.py compares
gradients with TF's side by side.
"""
import numpy as np
import pytest

import fastgrad as tf
from _fgutil import IS_TF, fastgrad_only

R = np.random.default_rng(14)
DTYPES = [np.float32, np.float64]
IAE = tf.errors.InvalidArgumentError


def spd_np(*batch, n=4, dtype=np.float64):
    x = R.normal(size=batch + (n, n))
    return (x @ np.swapaxes(x, -1, -2) + n * np.eye(n)).astype(dtype)


def general_np(*batch, n=4, dtype=np.float64):
    return (R.normal(size=batch + (n, n)) + 3 * np.eye(n)).astype(dtype)


def tol(dtype):
    return dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)


# ------------------------------------------------------------------ values


@pytest.mark.parametrize("dtype", DTYPES)
def test_cholesky_values_batched(dtype):
    a = spd_np(2, 3, dtype=dtype)
    got = tf.linalg.cholesky(a)
    assert got.dtype == tf.as_dtype(dtype) and tuple(got.shape) == (2, 3, 4, 4)
    np.testing.assert_allclose(got.numpy(), np.linalg.cholesky(a), **tol(dtype))


def test_cholesky_reads_only_the_lower_triangle():
    a = spd_np()
    junk = a + np.triu(R.normal(size=a.shape), 1)
    np.testing.assert_array_equal(tf.linalg.cholesky(junk).numpy(), tf.linalg.cholesky(a).numpy())


def test_cholesky_not_positive_definite_gives_nan_as_tf():
    got = tf.linalg.cholesky(tf.constant([[1.0, 2.0], [2.0, 1.0]])).numpy()
    assert np.isnan(got[0, 0]) and np.isnan(got[1, 0]) and np.isnan(got[1, 1])
    if not IS_TF:  # TF leaves that entry uninitialised (7e-44 in one run); fastgrad writes 0
        assert got[0, 1] == 0.0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("adjoint", [False, True])
def test_triangular_solve_values(dtype, lower, adjoint):
    a = general_np(3, dtype=dtype)
    tri = np.tril(a) if lower else np.triu(a)
    b = R.normal(size=(3, 4, 2)).astype(dtype)
    op = np.swapaxes(tri, -1, -2) if adjoint else tri
    got = tf.linalg.triangular_solve(a, b, lower=lower, adjoint=adjoint)
    np.testing.assert_allclose(got.numpy(), np.linalg.solve(op, b), **tol(dtype))


def test_triangular_solve_broadcasts_batch_dims():
    a = np.tril(general_np())
    b = R.normal(size=(5, 4, 3))
    got = tf.linalg.triangular_solve(a, b)
    assert tuple(got.shape) == (5, 4, 3)
    np.testing.assert_allclose(got.numpy(), np.linalg.solve(a, b), rtol=1e-10)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("adjoint", [False, True])
def test_solve_inv_det_values(dtype, adjoint):
    a = general_np(2, dtype=dtype)
    b = R.normal(size=(2, 4, 3)).astype(dtype)
    op = np.swapaxes(a, -1, -2) if adjoint else a
    np.testing.assert_allclose(tf.linalg.solve(a, b, adjoint=adjoint).numpy(), np.linalg.solve(op, b), **tol(dtype))
    np.testing.assert_allclose(tf.linalg.inv(a, adjoint=adjoint).numpy(), np.linalg.inv(op), **tol(dtype))
    np.testing.assert_allclose(tf.linalg.det(a).numpy(), np.linalg.det(a), rtol=1e-5 if dtype == np.float32 else 1e-12)
    sign, logabs = tf.linalg.slogdet(-a)
    want = np.linalg.slogdet(-a)
    np.testing.assert_array_equal(sign.numpy(), want.sign)
    np.testing.assert_allclose(logabs.numpy(), want.logabsdet, **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_eigh_values(dtype):
    a = spd_np(2, 3, dtype=dtype) - 4 * np.eye(4, dtype=dtype)
    junk = a + np.triu(R.normal(size=a.shape), 1).astype(dtype)  # only the lower triangle is read
    e, v = tf.linalg.eigh(junk)
    np.testing.assert_allclose(e.numpy(), np.linalg.eigvalsh(a), **tol(dtype))
    np.testing.assert_allclose(tf.linalg.eigvalsh(junk).numpy(), e.numpy(), **tol(dtype))
    rebuilt = v.numpy() @ (e.numpy()[..., None] * np.swapaxes(v.numpy(), -1, -2))
    np.testing.assert_allclose(rebuilt, a, **tol(dtype))
    np.testing.assert_allclose(np.swapaxes(v.numpy(), -1, -2) @ v.numpy(), np.broadcast_to(np.eye(4), a.shape),
                               **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(2, 5, 3), (3, 3), (2, 3, 5)])
@pytest.mark.parametrize("full", [False, True])
def test_svd_and_qr_values(dtype, shape, full):
    a = R.normal(size=shape).astype(dtype)
    m, n = shape[-2:]
    k = min(m, n)
    s, u, v = tf.linalg.svd(a, full_matrices=full)
    assert tuple(u.shape) == shape[:-2] + ((m, m) if full else (m, k))
    assert tuple(v.shape) == shape[:-2] + ((n, n) if full else (n, k))
    np.testing.assert_allclose(s.numpy(), np.linalg.svd(a, compute_uv=False), **tol(dtype))
    np.testing.assert_allclose(tf.linalg.svd(a, compute_uv=False).numpy(), s.numpy(), **tol(dtype))
    uk, vk = u.numpy()[..., :k], v.numpy()[..., :k]
    np.testing.assert_allclose((uk * s.numpy()[..., None, :]) @ np.swapaxes(vk, -1, -2), a, **tol(dtype))
    np.testing.assert_allclose(np.swapaxes(u.numpy(), -1, -2) @ u.numpy(),
                               np.broadcast_to(np.eye(u.shape[-1]), u.shape[:-2] + (u.shape[-1],) * 2), **tol(dtype))
    q, r = tf.linalg.qr(a, full_matrices=full)
    assert tuple(q.shape) == shape[:-2] + ((m, m) if full else (m, k))
    np.testing.assert_allclose(q.numpy() @ r.numpy(), a, **tol(dtype))
    np.testing.assert_array_equal(np.tril(r.numpy(), -1), 0)
    want_r = np.linalg.qr(a, mode="complete" if full else "reduced")[1]
    np.testing.assert_allclose(np.abs(r.numpy()), np.abs(want_r), **tol(dtype))


def test_lstsq_pinv_rank_norms_and_friends():
    deep, wide = R.normal(size=(2, 5, 3)), R.normal(size=(3, 5))
    bd, bw = R.normal(size=(2, 5, 2)), R.normal(size=(3, 2))
    for fast in (True, False):
        np.testing.assert_allclose(tf.linalg.lstsq(deep, bd, fast=fast).numpy()[1],
                                   np.linalg.lstsq(deep[1], bd[1], rcond=None)[0], rtol=1e-9)
        np.testing.assert_allclose(tf.linalg.lstsq(wide, bw, fast=fast).numpy(),
                                   np.linalg.lstsq(wide, bw, rcond=None)[0], rtol=1e-9)
    ridge = tf.linalg.lstsq(deep, bd, l2_regularizer=0.5).numpy()
    np.testing.assert_allclose(ridge, np.linalg.solve(np.swapaxes(deep, -1, -2) @ deep + 0.5 * np.eye(3),
                                                      np.swapaxes(deep, -1, -2) @ bd), rtol=1e-9)
    np.testing.assert_allclose(tf.linalg.pinv(deep).numpy(), np.linalg.pinv(deep), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(tf.linalg.pinv(wide).numpy(), np.linalg.pinv(wide), rtol=1e-9, atol=1e-12)
    rank = tf.linalg.matrix_rank(np.stack([deep[0], deep[0][:, [0, 1, 0]]]))
    assert rank.dtype == tf.int32 and rank.numpy().tolist() == [3, 2]
    x = R.normal(size=(2, 3, 4))
    for o in ["fro", "euclidean", 1, 2, np.inf]:
        want = np.linalg.norm(x, ord="fro" if o == "euclidean" else o, axis=(-2, -1))
        np.testing.assert_allclose(tf.norm(x, ord=o, axis=[-2, -1]).numpy(), want, rtol=1e-12)
        np.testing.assert_allclose(tf.linalg.norm(x, ord=o, axis=[2, 0], keepdims=True).numpy(),
                                   np.linalg.norm(x, ord="fro" if o == "euclidean" else o, axis=(2, 0), keepdims=True),
                                   rtol=1e-12)
    for o in [1, 2, 3, np.inf, 0.5]:
        np.testing.assert_allclose(tf.norm(x, ord=o, axis=-1).numpy(), np.linalg.norm(x, ord=o, axis=-1), rtol=1e-12)
    d = np.arange(6.0).reshape(2, 3)
    td = tf.linalg.tensor_diag(d).numpy()
    assert td.shape == (2, 3, 2, 3) and td[1, 2, 1, 2] == 5.0 and td.sum() == d.sum()
    np.testing.assert_array_equal(tf.linalg.tensor_diag_part(td).numpy(), d)
    np.testing.assert_allclose(tf.linalg.cross(x[..., :3], x[..., 1:]).numpy(), np.cross(x[..., :3], x[..., 1:]))
    np.testing.assert_allclose(float(tf.linalg.global_norm([x, None, deep])),
                               np.sqrt((x ** 2).sum() + (deep ** 2).sum()), rtol=1e-12)


def test_lu_family_as_tf():
    a = np.array([[1.0, 2.0, 0.0], [3.0, 1.0, 1.0], [0.0, 2.0, 5.0]])
    lu, p = tf.linalg.lu(a)
    # TF 2.21's output for this matrix
    np.testing.assert_allclose(lu.numpy(), [[3.0, 1.0, 1.0], [0.0, 2.0, 5.0], [1 / 3, 5 / 6, -4.5]], rtol=1e-15)
    assert p.dtype == tf.int32 and p.numpy().tolist() == [1, 2, 0]
    assert tf.linalg.lu(a, output_idx_type=tf.int64)[1].dtype == tf.int64
    np.testing.assert_allclose(tf.linalg.lu_reconstruct(lu, p).numpy(), a, rtol=1e-15)
    np.testing.assert_allclose(tf.linalg.lu_matrix_inverse(lu, p).numpy(), np.linalg.inv(a), rtol=1e-12)
    big, rhs = general_np(2, n=5), R.normal(size=(2, 5, 3))
    lu, p = tf.linalg.lu(big)
    np.testing.assert_allclose(tf.linalg.lu_solve(lu, p, rhs).numpy(), np.linalg.solve(big, rhs), rtol=1e-10)
    np.testing.assert_allclose(tf.linalg.lu_reconstruct(lu, p).numpy(), big, rtol=1e-12)


@pytest.mark.parametrize("scale", [0.01, 0.5, 3.0, 20.0])
def test_expm_values(scale):
    scipy_linalg = pytest.importorskip("scipy.linalg")
    a = R.normal(size=(2, 4, 4)) * scale
    want = np.stack([scipy_linalg.expm(m) for m in a])
    np.testing.assert_allclose(tf.linalg.expm(a).numpy(), want, rtol=1e-11 * max(1.0, scale), atol=1e-13 * np.abs(want).max())
    np.testing.assert_allclose(tf.linalg.expm(a.astype(np.float32)).numpy(), want, rtol=1e-4,
                               atol=1e-5 * np.abs(want).max())


def tridiagonal_dense(d):
    m = d.shape[-1]
    return (np.apply_along_axis(np.diag, -1, d[..., 1, :]) + np.apply_along_axis(lambda v: np.diag(v[:-1], 1), -1, d[..., 0, :])
            + np.apply_along_axis(lambda v: np.diag(v[1:], -1), -1, d[..., 2, :])).reshape(d.shape[:-2] + (m, m))


@pytest.mark.parametrize("dtype", DTYPES)
def test_tridiagonal_values_and_formats(dtype):
    d = R.normal(size=(2, 3, 5)).astype(dtype)
    d[:, 1] += 4
    b = R.normal(size=(2, 5, 3)).astype(dtype)
    dense = tridiagonal_dense(d)
    dt, bt = tf.constant(d), tf.constant(b)  # TF's tridiagonal ops want tensors, not arrays
    np.testing.assert_allclose(tf.linalg.tridiagonal_solve(dt, bt).numpy(), np.linalg.solve(dense, b), **tol(dtype))
    np.testing.assert_allclose(tf.linalg.tridiagonal_solve(dt, bt, partial_pivoting=False).numpy(),
                               np.linalg.solve(dense, b), **tol(dtype))
    np.testing.assert_allclose(tf.linalg.tridiagonal_solve(dt, bt[..., 0]).numpy(), np.linalg.solve(dense, b)[..., 0],
                               **tol(dtype))
    np.testing.assert_allclose(tf.linalg.tridiagonal_solve(dt, tf.linalg.matrix_transpose(bt), transpose_rhs=True).numpy(),
                               np.linalg.solve(dense, b), **tol(dtype))
    np.testing.assert_allclose(tf.linalg.tridiagonal_solve(tf.constant(dense), bt, diagonals_format="matrix").numpy(),
                               np.linalg.solve(dense, b), **tol(dtype))
    seq = (tf.constant(d[0, 0]), tf.constant(d[0, 1]), tf.constant(d[0, 2]))
    np.testing.assert_allclose(tf.linalg.tridiagonal_solve(seq, bt[0], diagonals_format="sequence").numpy(),
                               np.linalg.solve(dense[0], b[0]), **tol(dtype))
    np.testing.assert_allclose(tf.linalg.tridiagonal_matmul(dt, bt).numpy(), dense @ b, **tol(dtype))
    assert np.isnan(tf.linalg.tridiagonal_solve(tf.zeros((3, 3)), tf.ones((3, 1))).numpy()).all()


def test_banded_eigh_tridiagonal_normalize():
    bands = tf.constant([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], tf.float64)
    ones = tf.ones((3, 1), tf.float64)
    # TF 2.21's values for these
    np.testing.assert_allclose(tf.linalg.banded_triangular_solve(bands, ones).numpy().ravel(), [1.0, -2.0, 13 / 3])
    np.testing.assert_allclose(tf.linalg.banded_triangular_solve(bands, ones, lower=False).numpy().ravel(),
                               [0.21666666666666667, 0.13333333333333336, 1 / 6])
    e = tf.linalg.eigh_tridiagonal(tf.constant([1.0, 2.0, 3.0], tf.float64), tf.constant([0.5, 0.25], tf.float64))
    np.testing.assert_allclose(e.numpy(), [0.7886824805020501, 2.1451889993759403, 3.0661285201220094], rtol=1e-12)
    unit, n = tf.linalg.normalize(tf.constant([[3.0, 4.0], [6.0, 8.0]]), axis=1)
    np.testing.assert_allclose(n.numpy(), [[5.0], [10.0]])
    np.testing.assert_allclose(unit.numpy(), [[0.6, 0.8], [0.6, 0.8]], rtol=1e-6)


def test_cholesky_solve_and_logdet():
    a = spd_np(2)
    b = R.normal(size=(2, 4, 2))
    chol = tf.linalg.cholesky(a)
    np.testing.assert_allclose(tf.linalg.cholesky_solve(chol, b).numpy(), np.linalg.solve(a, b), rtol=1e-10)
    np.testing.assert_allclose(tf.linalg.logdet(a).numpy(), np.linalg.slogdet(a).logabsdet, rtol=1e-12)


def test_singular_and_empty_matrices_as_tf():
    ones = tf.ones((2, 2))
    assert float(tf.linalg.det(ones)) == 0.0
    sign, logabs = tf.linalg.slogdet(ones)
    assert float(sign) == 0.0 and float(logabs) == -np.inf
    assert float(tf.linalg.det(tf.zeros((0, 0)))) == 1.0
    assert tuple(tf.linalg.inv(tf.zeros((2, 0, 0))).shape) == (2, 0, 0)
    assert tuple(tf.linalg.cholesky(tf.zeros((0, 2, 2))).shape) == (0, 2, 2)
    got = tf.linalg.triangular_solve(tf.constant([[0.0, 0.0], [1.0, 1.0]]), tf.ones((2, 1))).numpy()
    assert got[0, 0] == np.inf and got[1, 0] == -np.inf


def test_structure_ops():
    x = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(tf.linalg.diag_part(x).numpy(), np.diagonal(x, axis1=-2, axis2=-1))
    d = np.arange(6.0).reshape(2, 3)
    want = np.zeros((2, 3, 3))
    want[:, range(3), range(3)] = d
    np.testing.assert_array_equal(tf.linalg.diag(d).numpy(), want)
    sd = tf.linalg.set_diag(x, d).numpy()
    w2 = x.copy()
    w2[:, range(3), range(3)] = d
    np.testing.assert_array_equal(sd, w2)
    i, j = np.meshgrid(range(3), range(4), indexing="ij")
    for lo, up in [(0, 0), (1, 0), (-1, 0), (0, -1), (2, 1), (-1, -1)]:
        keep = ((lo < 0) | (i - j <= lo)) & ((up < 0) | (j - i <= up))
        np.testing.assert_array_equal(tf.linalg.band_part(x, lo, up).numpy(), np.where(keep, x, 0))
    np.testing.assert_array_equal(tf.linalg.trace(x).numpy(), np.trace(x, axis1=-2, axis2=-1))
    np.testing.assert_array_equal(tf.linalg.matrix_transpose(x).numpy(), np.swapaxes(x, -1, -2))
    np.testing.assert_array_equal(tf.linalg.adjoint(x).numpy(), np.swapaxes(x, -1, -2))
    v = np.arange(4.0)
    np.testing.assert_array_equal(tf.linalg.matvec(x, v).numpy(), x @ v)
    np.testing.assert_array_equal(tf.linalg.matvec(x, np.arange(3.0), transpose_a=True).numpy(),
                                  np.swapaxes(x, -1, -2) @ np.arange(3.0))
    e = tf.linalg.eye(2, 3, batch_shape=[2])
    assert tuple(e.shape) == (2, 2, 3) and e.dtype == tf.float32
    assert tf.linalg.diag_part(tf.ones((2, 2), tf.int32)).dtype == tf.int32


def test_old_names_stay():
    assert float(tf.linalg.norm(tf.constant([3.0, 4.0]))) == 5.0
    np.testing.assert_allclose(tf.linalg.l2_normalize(tf.constant([3.0, 4.0])).numpy(), [0.6, 0.8])
    assert tf.linalg.matmul(tf.ones((2, 3)), tf.ones((3, 1))).numpy().tolist() == [[3.0], [3.0]]


@fastgrad_only
def test_batched_results_do_not_depend_on_threads():
    a = spd_np(64, n=24)
    b = R.normal(size=(64, 24, 3))
    old = tf.get_num_threads()
    outs = []
    try:
        for n in (1, 2):
            tf.set_num_threads(n)
            chol = tf.linalg.cholesky(a)
            outs.append((chol.numpy(), tf.linalg.cholesky_solve(chol, b).numpy(), tf.linalg.solve(a, b).numpy()))
    finally:
        tf.set_num_threads(old)
    for x, y in zip(*outs):
        np.testing.assert_array_equal(x, y)


# ------------------------------------------------------------------ errors

ERRORS = [
    ("cholesky-nonsquare", lambda: tf.linalg.cholesky(tf.ones((2, 3))), IAE, r"Input matrix must be square"),
    ("cholesky-rank1", lambda: tf.linalg.cholesky(tf.ones((3,))), IAE, r"must have rank >= 2, got 1"),
    ("cholesky-int", lambda: tf.linalg.cholesky(tf.constant([[1, 0], [0, 1]])), IAE, r"int32"),
    ("trisolve-nonsquare", lambda: tf.linalg.triangular_solve(tf.ones((2, 3)), tf.ones((2, 1))), IAE,
     r"must be square \(3 =/= 2\)"),
    ("trisolve-rows", lambda: tf.linalg.triangular_solve(tf.eye(2), tf.ones((3, 1))), IAE,
     r"In\[0\] mismatch In\[1\] shape: 2 vs\. 3"),
    ("trisolve-batch", lambda: tf.linalg.triangular_solve(tf.eye(2, batch_shape=[3]), tf.ones((2, 2, 1))), IAE,
     r"compatible batch dimensions: \[3,2,2\] vs\. \[2,2,1\]"),
    ("trisolve-dtype", lambda: tf.linalg.triangular_solve(tf.eye(2), tf.ones((2, 1), tf.float64)), IAE,
     r"input #1\(zero-based\) was expected to be a float tensor but is a double tensor"),
    ("trisolve-rank1", lambda: tf.linalg.triangular_solve(tf.eye(2), tf.ones((2,))), IAE,
     r"In\[1\] ndims must be >= 2: 1"),
    ("solve-nonsquare", lambda: tf.linalg.solve(tf.ones((2, 3)), tf.ones((2, 1))), IAE,
     r"First input \(lhs\) must be a square matrix"),
    ("solve-rows", lambda: tf.linalg.solve(tf.eye(2), tf.ones((3, 1))), IAE, r"Input matrix and rhs are incompatible"),
    ("solve-singular", lambda: tf.linalg.solve(tf.ones((2, 2)), tf.ones((2, 1))), IAE,
     r"Input matrix is not invertible"),
    ("solve-rank", lambda: tf.linalg.solve(tf.eye(2, batch_shape=[3]), tf.ones((2, 1))), IAE,
     r"All input tensors must have the same rank"),
    ("solve-outer", lambda: tf.linalg.solve(tf.eye(2, batch_shape=[3]), tf.ones((4, 2, 1))), IAE,
     r"All input tensors must have the same outer dimensions"),
    ("inv-singular", lambda: tf.linalg.inv(tf.ones((2, 2))), IAE, r"Input is not invertible"),
    ("inv-nonsquare", lambda: tf.linalg.inv(tf.ones((2, 3))), IAE, r"Input matrix must be square"),
    ("det-rank1", lambda: tf.linalg.det(tf.ones((2,))), IAE, r"must have rank >= 2, got 1"),
    ("slogdet-nonsquare", lambda: tf.linalg.slogdet(tf.ones((2, 3))), IAE, r"Input matrix must be square"),
    ("eigh-nonsquare", lambda: tf.linalg.eigh(tf.ones((2, 3))), IAE, r"Input matrix must be square"),
    ("svd-int", lambda: tf.linalg.svd(tf.ones((2, 2), tf.int32)), IAE, r"int32"),
    ("qr-rank1", lambda: tf.linalg.qr(tf.ones((3,))), IAE, r"rank >= 2, got 1"),
    ("norm-matrix-ord", lambda: tf.norm(tf.ones((2, 2)), ord=3, axis=[0, 1]), ValueError,
     r"'ord' must be a supported matrix norm"),
    ("norm-vector-ord", lambda: tf.norm(tf.ones((2,)), ord="fro", axis=0), ValueError,
     r"'ord' must be a supported vector norm"),
    ("lu-singular", lambda: tf.linalg.lu(tf.ones((2, 2))), IAE, r"Input is not invertible"),
    ("lu-nonsquare", lambda: tf.linalg.lu(tf.ones((2, 3))), IAE, r"Input matrix must be square"),
    ("tridiagonal-3", lambda: tf.linalg.tridiagonal_solve(tf.zeros((2, 3)), tf.ones((3, 1))), ValueError,
     r"Expected 3 diagonals got 2"),
    ("tridiagonal-rhs", lambda: tf.linalg.tridiagonal_solve(tf.ones((3, 3)), tf.ones((4, 1))), ValueError,
     r"left-hand sided and right-hand sides to be equal, got 3 and 4"),
    ("diag_part-rank1", lambda: tf.linalg.diag_part(tf.ones((3,))), IAE, r"at least 2-dim, received shape: \[3\]"),
    ("diag-rank0", lambda: tf.linalg.diag(1.0), IAE, r"diagonal must be at least 1-dim"),
    ("set_diag-shape", lambda: tf.linalg.set_diag(tf.zeros((2, 3)), [1.0, 2.0, 3.0]), IAE,
     r"Expected diagonal shape: \[2\]"),
    ("band_part-lower", lambda: tf.linalg.band_part(tf.ones((3, 3)), 5, -1), IAE,
     r"num_lower must be negative or less or equal to number of rows \(3\) got: 5"),
    ("band_part-upper", lambda: tf.linalg.band_part(tf.ones((3, 4)), 0, 5), IAE,
     r"num_upper must be negative or less or equal to number of columns \(4\) got: 5"),
    ("transpose-rank1", lambda: tf.linalg.matrix_transpose(tf.ones((3,))), ValueError, r"rank >= 2"),
]


@pytest.mark.parametrize("thunk,cls,pattern", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_errors_as_tf(thunk, cls, pattern):
    with pytest.raises(cls, match=pattern):
        thunk()


# ------------------------------------------------------------------ derivatives

def spd(x):
    n = x.shape[-1]
    return tf.matmul(x, x, transpose_b=True) + tf.constant(n * np.eye(n), x.dtype)


def nlml(ls, amp, noise, x, y):
    """a Gaussian process's negative log marginal likelihood (squared exponential kernel)"""
    d = tf.expand_dims(x, -2) - tf.expand_dims(x, -3)
    k = amp * amp * tf.exp(-0.5 * tf.reduce_sum(d * d, -1) / (ls * ls))
    k = k + noise * noise * tf.eye(x.shape[0], dtype=x.dtype)
    chol = tf.linalg.cholesky(k)
    alpha = tf.linalg.triangular_solve(chol, tf.expand_dims(y, -1))
    return 0.5 * tf.reduce_sum(alpha * alpha) + tf.reduce_sum(tf.math.log(tf.linalg.diag_part(chol)))


def svd_signfree(a, full):
    s, u, v = tf.linalg.svd(a, full_matrices=full)
    k = s.shape[-1]
    return tf.concat([tf.reshape(s, [-1]), tf.reshape(tf.square(u[..., :k]), [-1]),
                      tf.reshape(tf.square(v[..., :k]), [-1])], 0)


GP_X = R.normal(size=(6, 2))
GP_Y = R.normal(size=(6,))

FUNCS = {
    "cholesky": (lambda x: tf.linalg.cholesky(spd(x)), [R.normal(size=(2, 3, 3))]),
    "cholesky_solve": (lambda x, b: tf.linalg.cholesky_solve(tf.linalg.cholesky(spd(x)), b),
                       [R.normal(size=(3, 3)), R.normal(size=(3, 2))]),
    "logdet": (lambda x: tf.linalg.logdet(spd(x)), [R.normal(size=(2, 3, 3))]),
    "trisolve-lower": (lambda a, b: tf.linalg.triangular_solve(a, b), [general_np(n=3), R.normal(size=(2, 3, 2))]),
    "trisolve-lower-adjoint": (lambda a, b: tf.linalg.triangular_solve(a, b, adjoint=True),
                               [general_np(2, n=3), R.normal(size=(3, 2))]),
    "trisolve-upper": (lambda a, b: tf.linalg.triangular_solve(a, b, lower=False), [general_np(n=3), R.normal(size=(3, 2))]),
    "trisolve-upper-adjoint": (lambda a, b: tf.linalg.triangular_solve(a, b, lower=False, adjoint=True),
                               [general_np(2, n=3), R.normal(size=(2, 3, 1))]),
    "solve": (lambda a, b: tf.linalg.solve(a, b), [general_np(2, n=3), R.normal(size=(2, 3, 2))]),
    "solve-adjoint": (lambda a, b: tf.linalg.solve(a, b, adjoint=True), [general_np(n=3), R.normal(size=(3, 2))]),
    "inv": (lambda a: tf.linalg.inv(a), [general_np(2, n=3)]),
    "inv-adjoint": (lambda a: tf.linalg.inv(a, adjoint=True), [general_np(n=3)]),
    "det": (lambda a: tf.linalg.det(a), [general_np(2, n=3)]),
    "slogdet": (lambda a: tf.linalg.slogdet(a)[1], [-general_np(2, n=3)]),
    "trace": (lambda a: tf.linalg.trace(a), [R.normal(size=(2, 3, 3))]),
    "svd-values": (lambda a: tf.linalg.svd(a, compute_uv=False), [R.normal(size=(2, 4, 3))]),
    "lstsq-deep": (lambda a, b: tf.linalg.lstsq(a, b), [R.normal(size=(4, 3)), R.normal(size=(4, 2))]),
    "lstsq-wide-qr": (lambda a, b: tf.linalg.lstsq(a, b, fast=False), [R.normal(size=(2, 4)), R.normal(size=(2, 1))]),
    "pinv": (lambda a: tf.linalg.pinv(a), [R.normal(size=(2, 4, 3))]),
    "norm-2": (lambda a: tf.norm(a, ord=2, axis=[-2, -1]), [R.normal(size=(2, 3, 4))]),
    "cross": (lambda a, b: tf.linalg.cross(a, b), [R.normal(size=(2, 3)), R.normal(size=(2, 3))]),
    "expm": (lambda a: tf.linalg.expm(a), [R.normal(size=(2, 3, 3))]),
    "banded_triangular_solve": (lambda b, x: tf.linalg.banded_triangular_solve(b, x),
                                [R.normal(size=(2, 4)) + np.array([[3.0], [0.0]]), R.normal(size=(4, 2))]),
    "banded_upper_adjoint": (lambda b, x: tf.linalg.banded_triangular_solve(b, x, lower=False, adjoint=True),
                             [R.normal(size=(2, 4)) + np.array([[0.0], [3.0]]), R.normal(size=(4, 2))]),
    "tridiagonal_solve": (lambda d, b: tf.linalg.tridiagonal_solve(d, b),
                          [R.normal(size=(2, 3, 4)) + np.array([[0.0], [4.0], [0.0]]), R.normal(size=(2, 4, 2))]),
    "tridiagonal_matmul": (lambda d, b: tf.linalg.tridiagonal_matmul(d, b), [R.normal(size=(3, 4)), R.normal(size=(2, 4, 2))]),
    "expm-squarings": (lambda a: tf.linalg.expm(a), [3 * R.normal(size=(3, 3))]),
    # lu has no gradient (TF's); lu_solve differentiates in the factors and the rhs
    "lu_solve": (lambda lu, b: tf.linalg.lu_solve(lu, tf.constant([1, 2, 0]), b),
                 [general_np(n=3), R.normal(size=(3, 2))]),
    # sign-free functions of singular vectors, deep, wide, square, and full with |m - n| = 1
    "svd-deep": (lambda a: svd_signfree(a, False), [R.normal(size=(2, 4, 3))]),
    "svd-wide": (lambda a: svd_signfree(a, False), [R.normal(size=(3, 5))]),
    "svd-square-full": (lambda a: svd_signfree(a, True), [R.normal(size=(3, 3))]),
    "qr-deep": (lambda a: tf.concat([tf.reshape(t, [-1]) for t in tf.linalg.qr(a)], 0), [R.normal(size=(2, 4, 3))]),
    "qr-wide": (lambda a: tf.concat([tf.reshape(t, [-1]) for t in tf.linalg.qr(a)], 0), [R.normal(size=(3, 5))]),
    "qr-full-wide": (lambda a: tf.concat([tf.reshape(t, [-1]) for t in tf.linalg.qr(a, full_matrices=True)], 0),
                     [R.normal(size=(3, 4))]),
    "eigvalsh": (lambda a: tf.linalg.eigvalsh(a), [R.normal(size=(2, 3, 3))]),
    # sign-free functions of the eigenvectors (their signs are LAPACK's choice)
    "eigh-vectors": (lambda a: tf.square(tf.linalg.eigh(a)[1]) * tf.expand_dims(tf.linalg.eigh(a)[0], -2),
                     [R.normal(size=(2, 3, 3))]),
    "diag": (lambda d: tf.linalg.diag(d), [R.normal(size=(2, 3))]),
    "set_diag": (lambda x, d: tf.linalg.set_diag(x, d), [R.normal(size=(3, 2)), R.normal(size=(2,))]),
    "band_part": (lambda x: tf.linalg.band_part(x, 0, 1), [R.normal(size=(2, 3, 3))]),
    "matvec": (lambda a, v: tf.linalg.matvec(a, v), [R.normal(size=(2, 3, 4)), R.normal(size=(4,))]),
    "gp-nlml": (lambda p: nlml(tf.exp(p[0]), tf.exp(p[1]), tf.exp(p[2]), tf.constant(GP_X), tf.constant(GP_Y)),
                [np.array([0.1, 0.2, -1.0])]),
}


@fastgrad_only
@pytest.mark.parametrize("name", sorted(FUNCS))
@pytest.mark.parametrize("order", [1, 2])
def test_derivatives(name, order):
    f, xs = FUNCS[name]
    tf.test.check_gradients(f, [tf.constant(x) for x in xs], order=order, modes=("rev", "fwd"))


@fastgrad_only
@pytest.mark.parametrize("name", ["cholesky", "trisolve-lower-adjoint", "solve", "inv", "slogdet"])
def test_derivatives_float32(name):
    f, xs = FUNCS[name]
    tf.test.check_gradients(f, [tf.constant(np.asarray(x, np.float32)) for x in xs], modes=("rev", "fwd"),
                            delta=1e-2, rtol=2e-2, atol=2e-2)


@fastgrad_only
def test_gp_gradient_traced_matches_eager():
    def step(p):
        with tf.GradientTape() as tape:
            tape.watch(p)
            v = nlml(tf.exp(p[0]), tf.exp(p[1]), tf.exp(p[2]), tf.constant(GP_X), tf.constant(GP_Y))
        return v, tape.gradient(v, p)

    traced = tf.function(step)
    p0 = tf.constant(np.array([0.1, 0.2, -1.0]))
    traced(p0)
    p1 = tf.constant(np.array([0.3, -0.1, -0.5]))
    (v, g), (ve, ge) = traced(p1), step(p1)
    np.testing.assert_array_equal(v.numpy(), ve.numpy())
    np.testing.assert_array_equal(g.numpy(), ge.numpy())
