"""tf.linalg against TensorFlow itself, side by side (skipped without TF):
values, first and second order gradients of the same functions on the
same float64 inputs, batched and broadcast; forward-mode JVPs against TF's
``ForwardAccumulator``; a Gaussian-process likelihood and its Hessian.
"""
import numpy as np
import pytest

import fastgrad as fg
from _tfdiff import grads_both, real_tf

R = np.random.default_rng(2008)


def spd_of(lib, x):
    n = x.shape[-1]
    return lib.matmul(x, x, transpose_b=True) + lib.constant(n * np.eye(n), x.dtype)


def general(*batch, n=3):
    return R.normal(size=batch + (n, n)) + 3 * np.eye(n)


def gp_nlml(lib, p, x, y):
    """negative log marginal likelihood of a GP, squared-exponential kernel, log-parameters p"""
    ls, amp, noise = lib.exp(p[0]), lib.exp(p[1]), lib.exp(p[2])
    d = lib.expand_dims(x, -2) - lib.expand_dims(x, -3)
    k = amp * amp * lib.exp(-0.5 * lib.reduce_sum(d * d, -1) / (ls * ls))
    k = k + noise * noise * lib.eye(x.shape[0], dtype=x.dtype)
    chol = lib.linalg.cholesky(k)
    alpha = lib.linalg.triangular_solve(chol, lib.expand_dims(y, -1))
    return 0.5 * lib.reduce_sum(alpha * alpha) + lib.reduce_sum(lib.math.log(lib.linalg.diag_part(chol)))


def svd_signfree(L, a, full):
    s, u, v = L.linalg.svd(a, full_matrices=full)
    k = s.shape[-1]
    return L.concat([L.reshape(s, [-1]), L.reshape(L.square(u[..., :k]), [-1]), L.reshape(L.square(v[..., :k]), [-1])], 0)


GP_X = R.normal(size=(8, 3))
GP_Y = R.normal(size=(8,))

# name -> (f(lib, *xs), inputs)
CASES = {
    "cholesky": (lambda L, x: L.linalg.cholesky(spd_of(L, x)), [R.normal(size=(2, 3, 3))]),
    "cholesky_solve": (lambda L, x, b: L.linalg.cholesky_solve(L.linalg.cholesky(spd_of(L, x)), b),
                       [R.normal(size=(3, 3)), R.normal(size=(3, 2))]),
    "logdet": (lambda L, x: L.linalg.logdet(spd_of(L, x)), [R.normal(size=(2, 3, 3))]),
    "triangular_solve": (lambda L, a, b: L.linalg.triangular_solve(a, b), [general(2), R.normal(size=(2, 3, 2))]),
    "triangular_solve-broadcast": (lambda L, a, b: L.linalg.triangular_solve(a, b), [general(), R.normal(size=(2, 3, 2))]),
    "triangular_solve-upper-adjoint": (lambda L, a, b: L.linalg.triangular_solve(a, b, lower=False, adjoint=True),
                                       [general(2), R.normal(size=(2, 3, 1))]),
    "solve": (lambda L, a, b: L.linalg.solve(a, b), [general(2), R.normal(size=(2, 3, 2))]),
    "solve-adjoint": (lambda L, a, b: L.linalg.solve(a, b, adjoint=True), [general(), R.normal(size=(3, 2))]),
    "inv": (lambda L, a: L.linalg.inv(a), [general(2)]),
    "inv-adjoint": (lambda L, a: L.linalg.inv(a, adjoint=True), [general()]),
    "det": (lambda L, a: L.linalg.det(a), [general(2)]),
    "slogdet": (lambda L, a: L.linalg.slogdet(a)[1], [-general(2)]),
    "trace": (lambda L, a: L.linalg.trace(a), [R.normal(size=(2, 3, 4))]),
    "svd-values": (lambda L, a: L.linalg.svd(a, compute_uv=False), [R.normal(size=(2, 4, 3))]),
    "lstsq-deep": (lambda L, a, b: L.linalg.lstsq(a, b, l2_regularizer=0.1), [R.normal(size=(4, 3)), R.normal(size=(4, 2))]),
    "lstsq-wide": (lambda L, a, b: L.linalg.lstsq(a, b), [R.normal(size=(2, 4)), R.normal(size=(2, 1))]),
    "pinv": (lambda L, a: L.linalg.pinv(a), [R.normal(size=(2, 4, 3))]),
    "norm-ords": (lambda L, a: L.stack([L.norm(a, ord=o, axis=[-2, -1]) for o in ("fro", 1, 2, np.inf)]),
                  [R.normal(size=(2, 3, 4))]),
    "cross": (lambda L, a, b: L.linalg.cross(a, b), [R.normal(size=(2, 3)), R.normal(size=(2, 3))]),
    "tridiagonal_solve": (lambda L, d, b: L.linalg.tridiagonal_solve(d, b),
                          [R.normal(size=(2, 3, 4)) + np.array([[0.0], [4.0], [0.0]]), R.normal(size=(2, 4, 2))]),
    "tridiagonal_matmul": (lambda L, d, b: L.linalg.tridiagonal_matmul(d, b), [R.normal(size=(2, 3, 4)), R.normal(size=(2, 4, 2))]),
    "banded_triangular_solve": (lambda L, b, x: L.linalg.banded_triangular_solve(b, x),
                                [R.normal(size=(3, 4)) + np.array([[3.0], [0.0], [0.0]]), R.normal(size=(4, 2))]),
    "banded_upper_adjoint": (lambda L, b, x: L.linalg.banded_triangular_solve(b, x, lower=False, adjoint=True),
                             [R.normal(size=(2, 4)) + np.array([[0.0], [3.0]]), R.normal(size=(4, 2))]),
    "normalize": (lambda L, x: L.linalg.normalize(x, ord=1, axis=-1)[0], [R.normal(size=(2, 3))]),
    "expm": (lambda L, a: L.linalg.expm(a), [np.stack([0.05 * R.normal(size=(3, 3)), 4 * R.normal(size=(3, 3))])]),
    "lu_solve": (lambda L, lu, b: L.linalg.lu_solve(lu, L.constant([[1, 2, 0], [2, 0, 1]]), b),
                 [general(2), R.normal(size=(2, 3, 2))]),
    "lu_reconstruct": (lambda L, lu: L.linalg.lu_reconstruct(lu, L.constant([2, 0, 1])), [general()]),
    "tensor_diag": (lambda L, d: L.linalg.tensor_diag_part(L.linalg.tensor_diag(d) * 2.0), [R.normal(size=(2, 3))]),
    "svd-deep": (lambda L, a: svd_signfree(L, a, False), [R.normal(size=(2, 4, 3))]),
    "svd-wide": (lambda L, a: svd_signfree(L, a, False), [R.normal(size=(3, 5))]),
    "svd-full-wide": (lambda L, a: svd_signfree(L, a, True), [R.normal(size=(3, 4))]),
    "qr-deep": (lambda L, a: L.concat([L.reshape(t, [-1]) for t in L.linalg.qr(a)], 0), [R.normal(size=(2, 4, 3))]),
    "qr-wide": (lambda L, a: L.concat([L.reshape(t, [-1]) for t in L.linalg.qr(a)], 0), [R.normal(size=(3, 5))]),
    "qr-full-wide": (lambda L, a: L.concat([L.reshape(t, [-1]) for t in L.linalg.qr(a, full_matrices=True)], 0),
                     [R.normal(size=(3, 4))]),
    "eigvalsh": (lambda L, a: L.linalg.eigvalsh(a), [R.normal(size=(2, 3, 3))]),
    "eigh-vectors": (lambda L, a: L.square(L.linalg.eigh(a)[1]) * L.expand_dims(L.linalg.eigh(a)[0], -2),
                     [R.normal(size=(2, 3, 3))]),
    "diag": (lambda L, d: L.linalg.diag(d), [R.normal(size=(2, 3))]),
    "diag_part": (lambda L, x: L.linalg.diag_part(x), [R.normal(size=(2, 3, 4))]),
    "set_diag": (lambda L, x, d: L.linalg.set_diag(x, d), [R.normal(size=(2, 4, 3)), R.normal(size=(2, 3))]),
    "band_part": (lambda L, x: L.linalg.band_part(x, 1, 0), [R.normal(size=(2, 3, 4))]),
    "matvec": (lambda L, a, v: L.linalg.matvec(a, v), [R.normal(size=(2, 3, 4)), R.normal(size=(4,))]),
    "gp-nlml": (lambda L, p: gp_nlml(L, p, L.constant(GP_X), L.constant(GP_Y)), [np.array([0.2, 0.1, -1.0])]),
}


def close(a, b):
    if a is None or b is None:
        assert a is None and b is None
        return
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("order", [1, 2])
def test_values_and_gradients_match_tf(name, order):
    tf = real_tf()
    f, xs = CASES[name]
    (y, g, g2), (ty, tg, tg2) = grads_both(fg, tf, lambda *a: f(fg, *a), lambda *a: f(tf, *a), xs, order)
    close(y, ty)
    for a, b in zip(g, tg):
        close(a, b)
    for a, b in zip(g2 or [], tg2 or []):
        close(a, b)


@pytest.mark.parametrize("name", ["cholesky", "triangular_solve-broadcast", "solve", "inv", "det", "slogdet", "eigh-vectors", "svd-deep", "svd-wide", "qr-deep",
                                  "qr-wide", "tridiagonal_solve", "gp-nlml"])
def test_jvp_matches_tf_forward_accumulator(name):
    tf = real_tf()
    f, xs = CASES[name]
    ts = [R.normal(size=np.shape(x)) for x in xs]
    prim = [tf.constant(x) for x in xs]
    with tf.autodiff.ForwardAccumulator(prim, [tf.constant(t) for t in ts]) as acc:
        y = f(tf, *prim)
    want = acc.jvp(y).numpy()
    got = fg.jvp(lambda *a: f(fg, *a), [fg.constant(x) for x in xs], [fg.constant(t) for t in ts])[1]
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-9, atol=1e-10)


def test_non_positive_definite_cholesky_is_nan_in_both():
    tf = real_tf()
    a = np.array([[1.0, 2.0], [2.0, 1.0]])
    got, want = fg.linalg.cholesky(a).numpy(), tf.linalg.cholesky(a).numpy()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))


def test_lstsq_fast_false_values_match_tf():
    """TF registers no gradient for fast=False (MatrixSolveLs); the values agree"""
    tf = real_tf()
    a, b = R.normal(size=(2, 5, 3)), R.normal(size=(2, 5, 2))
    np.testing.assert_allclose(fg.linalg.lstsq(a, b, fast=False).numpy(), tf.linalg.lstsq(a, b, fast=False).numpy(),
                               rtol=1e-9)


def test_lu_matches_tf():
    tf = real_tf()
    a = general(3, n=5)
    (lu, p), (tlu, tp) = fg.linalg.lu(a), tf.linalg.lu(a)
    np.testing.assert_allclose(lu.numpy(), tlu.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(p.numpy(), tp.numpy())
    np.testing.assert_allclose(fg.linalg.lu_matrix_inverse(lu, p).numpy(), tf.linalg.lu_matrix_inverse(tlu, tp).numpy(),
                               rtol=1e-10)
