"""Linear algebra under TensorFlow's names (``tf.linalg``).

Matrices are the last two dimensions of a tensor; any dimensions before
them are a batch, and every function works matrix by matrix over it
(LAPACK through SciPy's ``cython_lapack``, one call per matrix, threads
over the batch). Gradients are TF's (Murray 2016 for the Cholesky factor,
Giles 2008 for inverses, determinants and solves), written as compositions
of ops, so they differentiate again.

>>> import fastgrad as tf
>>> a = tf.constant([[4.0, 2.0], [2.0, 3.0]], tf.float64)
>>> tf.linalg.cholesky(a).numpy().round(4).tolist()
[[2.0, 0.0], [1.0, 1.4142]]
"""
import builtins as _builtins

import numpy as np

from fastgrad import _core
from fastgrad import errors as _errors
from fastgrad.array_ops import eye, expand_dims, reshape, squeeze, stack, transpose
from fastgrad.math_ops import (abs as _abs, cast, floor, l2_normalize, log, maximum, pow as _pow, reduce_max,
                               reduce_sum, sqrt, square, where)
from fastgrad.math_ops import matmul
from fastgrad.math_ops import norm
from fastgrad.math_ops import _as_tensor
from fastgrad.array_ops import concat, one_hot, zeros
from fastgrad.dtypes import int32

__all__ = [
    "adjoint", "band_part", "cholesky", "cholesky_solve", "cross", "det", "diag", "diag_part", "eigh", "eigvalsh",
    "eye", "global_norm", "inv", "expm", "lstsq", "lu", "lu_matrix_inverse", "lu_reconstruct", "lu_solve", "matrix_rank", "pinv", "tensor_diag", "tensor_diag_part",
    "tridiagonal_matmul", "tridiagonal_solve", "banded_triangular_solve", "eigh_tridiagonal", "normalize",
    "l2_normalize", "logdet", "matmul", "matrix_transpose", "matvec", "norm", "qr", "set_diag", "slogdet",
    "solve", "svd", "trace", "triangular_solve",
]

_OPS = _core.OPS


def _apply(name, inputs, attrs=()):
    return _core.apply(_OPS[name], inputs, list(attrs))


def cholesky(input, name=None):
    """The lower-triangular Cholesky factor L of each matrix, ``input = L L^T``.

    Only the lower triangle of ``input`` is read. A matrix that is not
    positive definite gives NaN in its factor's lower triangle, as TF's
    (no error). The gradient treats ``input`` as symmetric (TF's).

    >>> import fastgrad as tf
    >>> tf.linalg.cholesky([[4.0, 2.0], [2.0, 2.0]]).numpy().tolist()
    [[2.0, 0.0], [1.0, 1.0]]
    """
    return _apply("cholesky", [_as_tensor(input)])


def triangular_solve(matrix, rhs, lower=True, adjoint=False, name=None):
    """X with ``matrix @ X = rhs`` (``adjoint``: ``matrix^T @ X = rhs``) for triangular matrices.

    Only the ``lower`` (or upper) triangle is read; batch dimensions broadcast.

    >>> import fastgrad as tf
    >>> tf.linalg.triangular_solve([[2.0, 0.0], [1.0, 1.0]], [[2.0], [3.0]]).numpy().tolist()
    [[1.0], [2.0]]
    """
    return _apply("triangular_solve", [matrix, rhs], [_builtins.bool(lower), _builtins.bool(adjoint)])


def cholesky_solve(chol, rhs, name=None):
    """X with ``A @ X = rhs`` given ``chol = cholesky(A)``: two triangular solves.

    >>> import fastgrad as tf
    >>> L = tf.linalg.cholesky([[4.0, 2.0], [2.0, 2.0]])
    >>> tf.linalg.cholesky_solve(L, [[6.0], [4.0]]).numpy().tolist()
    [[1.0], [1.0]]
    """
    y = triangular_solve(chol, rhs, lower=True, adjoint=False)
    return triangular_solve(chol, y, lower=True, adjoint=True)


def solve(matrix, rhs, adjoint=False, name=None):
    """X with ``matrix @ X = rhs`` (``adjoint``: ``matrix^T @ X = rhs``), by LU with pivoting.

    Batch dimensions must match (no broadcasting, as TF's MatrixSolve); a
    singular matrix raises ``InvalidArgumentError``.

    >>> import fastgrad as tf
    >>> tf.linalg.solve([[2.0, 1.0], [1.0, 3.0]], [[3.0], [4.0]]).numpy().tolist()
    [[1.0], [1.0]]
    """
    return _apply("matrix_solve", [matrix, rhs], [_builtins.bool(adjoint), 0])


def inv(input, adjoint=False, name=None):
    """The inverse of each matrix (``adjoint``: of its transpose); singular ones raise.

    >>> import fastgrad as tf
    >>> tf.linalg.inv([[2.0, 1.0], [1.0, 1.0]]).numpy().round(6).tolist()
    [[1.0, -1.0], [-1.0, 2.0]]
    """
    y = _apply("matrix_inverse", [_as_tensor(input)])
    return matrix_transpose(y) if adjoint else y


def det(input, name=None):
    """The determinant of each matrix (LU; computed as ``sign * exp(log|det|)``, as TF).

    >>> import fastgrad as tf
    >>> float(tf.linalg.det([[2.0, 1.0], [1.0, 3.0]]))
    5.0
    """
    return _apply("matrix_determinant", [_as_tensor(input)])


def slogdet(input, name=None):
    """``(sign, log|det|)`` of each matrix; only ``log|det|`` has a gradient.

    >>> import fastgrad as tf
    >>> s, l = tf.linalg.slogdet([[0.0, 2.0], [1.0, 0.0]])
    >>> float(s), round(float(l), 6)
    (-1.0, 0.693147)
    """
    x = _as_tensor(input)
    return _apply("determinant_sign", [x]), _apply("log_abs_determinant", [x])


def logdet(matrix, name=None):
    """log det of Hermitian positive definite matrices: 2 sum(log(diag(cholesky))).

    >>> import fastgrad as tf
    >>> round(float(tf.linalg.logdet([[4.0, 2.0], [2.0, 2.0]])), 6)
    1.386294
    """
    chol = cholesky(matrix)
    return 2.0 * reduce_sum(log(diag_part(chol)), axis=-1)


def _k_zero(k, what):
    if k != 0:
        raise NotImplementedError("fastgrad's tf.linalg.%s supports the main diagonal only (k=0), got k=%r"
                                  % (what, k))


def diag(diagonal, name="diag", k=0, num_rows=-1, num_cols=-1, padding_value=0, align="RIGHT_LEFT"):
    """Square matrices with ``diagonal`` (last dimension) on their diagonal (main diagonal only).

    >>> import fastgrad as tf
    >>> tf.linalg.diag([1.0, 2.0]).numpy().tolist()
    [[1.0, 0.0], [0.0, 2.0]]
    """
    _k_zero(k, "diag")
    if num_rows not in (-1, None) or num_cols not in (-1, None) or padding_value != 0:
        raise NotImplementedError("fastgrad's tf.linalg.diag builds square matrices with zero padding only")
    return _apply("matrix_diag", [_as_tensor(diagonal)])


def diag_part(input, name="diag_part", k=0, padding_value=0, align="RIGHT_LEFT"):
    """The main diagonal of each matrix, ``[..., min(M, N)]``.

    >>> import fastgrad as tf
    >>> tf.linalg.diag_part([[1.0, 2.0], [3.0, 4.0]]).numpy().tolist()
    [1.0, 4.0]
    """
    _k_zero(k, "diag_part")
    return _apply("matrix_diag_part", [_as_tensor(input)])


def set_diag(input, diagonal, name="set_diag", k=0, align="RIGHT_LEFT"):
    """``input`` with its main diagonal replaced by ``diagonal``.

    >>> import fastgrad as tf
    >>> tf.linalg.set_diag(tf.zeros((2, 2)), [1.0, 2.0]).numpy().tolist()
    [[1.0, 0.0], [0.0, 2.0]]
    """
    _k_zero(k, "set_diag")
    return _apply("matrix_set_diag", [_as_tensor(input), diagonal])


def band_part(input, num_lower, num_upper, name=None):
    """Keep ``num_lower`` subdiagonals and ``num_upper`` superdiagonals (negative: all).

    >>> import fastgrad as tf
    >>> tf.linalg.band_part(tf.ones((3, 3)), 0, -1).numpy().tolist()
    [[1.0, 1.0, 1.0], [0.0, 1.0, 1.0], [0.0, 0.0, 1.0]]
    """
    return _apply("matrix_band_part", [_as_tensor(input)], [int(num_lower), int(num_upper)])


def matrix_transpose(a, name="matrix_transpose", conjugate=False):
    """Swap the last two dimensions.

    >>> import fastgrad as tf
    >>> tf.linalg.matrix_transpose([[1.0, 2.0]]).numpy().tolist()
    [[1.0], [2.0]]
    """
    a = _as_tensor(a)
    nd = a.ndim
    if nd < 2:
        raise ValueError("Argument `a` should be a (batch) matrix with rank >= 2.  Received `a` = %s "
                         "with shape: %s" % (a.numpy(), tuple(a.shape)))
    return transpose(a, list(_builtins.range(nd - 2)) + [nd - 1, nd - 2])


def adjoint(matrix, name=None):
    """The conjugate transpose of each matrix (real dtypes: the transpose).

    >>> import fastgrad as tf
    >>> tf.linalg.adjoint([[1.0, 2.0]]).numpy().tolist()
    [[1.0], [2.0]]
    """
    return matrix_transpose(matrix)


def matvec(a, b, transpose_a=False, adjoint_a=False, a_is_sparse=False, b_is_sparse=False, name=None):
    """Matrix-vector product ``a @ b`` over the last dimension of ``b``.

    >>> import fastgrad as tf
    >>> tf.linalg.matvec([[1.0, 2.0], [3.0, 4.0]], [1.0, 1.0]).numpy().tolist()
    [3.0, 7.0]
    """
    a = _as_tensor(a)
    b = b if isinstance(b, _core._TensorBase) else _core.convert_to_tensor(b, a.dtype)
    return squeeze(matmul(a, expand_dims(b, -1), transpose_a=transpose_a, adjoint_a=adjoint_a), -1)


def trace(x, name=None):
    """The sum of each matrix's main diagonal.

    >>> import fastgrad as tf
    >>> float(tf.linalg.trace([[1.0, 2.0], [3.0, 4.0]]))
    5.0
    """
    return reduce_sum(diag_part(x), axis=-1)


def eigh(tensor, name=None):
    """Eigenvalues (ascending) and eigenvectors (columns) of symmetric matrices.

    Only the lower triangle is read, as TF's. An eigenvector's sign is
    LAPACK's (``syevd``), which may differ from TF's (Eigen's); the
    gradient is TF's, including its treatment of the lower triangle.

    >>> import fastgrad as tf
    >>> e, v = tf.linalg.eigh([[2.0, 1.0], [1.0, 2.0]])
    >>> e.numpy().tolist()
    [1.0, 3.0]
    """
    x = _as_tensor(tensor)
    packed = _apply("eigh", [x])  # checks the shape first
    n = x.shape[-1]
    batch = list(x.shape[:-2])
    return packed[..., :n], reshape(packed[..., n:], batch + [n, n])


def eigvalsh(tensor, name=None):
    """Eigenvalues (ascending) of symmetric matrices; the gradient is ``V diag(g) V^T`` (TF's).

    >>> import fastgrad as tf
    >>> tf.linalg.eigvalsh([[2.0, 0.0], [0.0, 1.0]]).numpy().tolist()
    [1.0, 2.0]
    """
    return eigh(tensor)[0]


def _unflat(t, batch, rows, cols):
    return reshape(t, batch + [rows, cols])


def svd(tensor, full_matrices=False, compute_uv=True, name=None):
    """Singular values (descending) ``s`` and, with ``compute_uv``, ``u`` and ``v``: ``a = u diag(s) v^T``.

    Returns ``s`` alone without ``compute_uv``, else ``(s, u, v)`` as TF
    (``v``, not its transpose). LAPACK's ``gesdd``; signs of singular
    vectors are LAPACK's. Gradients are TF's (undefined for repeated
    singular values, as there).

    >>> import fastgrad as tf
    >>> tf.linalg.svd([[3.0, 0.0], [0.0, -4.0]], compute_uv=False).numpy().tolist()
    [4.0, 3.0]
    """
    x = _as_tensor(tensor)
    packed = _apply("svd", [x], [int(_builtins.bool(compute_uv)), int(_builtins.bool(full_matrices))])
    m, n = x.shape[-2], x.shape[-1]
    k = min(m, n)
    s = packed[..., :k]
    if not compute_uv:
        return s
    uc, vc = (m, n) if full_matrices else (k, k)
    batch = list(x.shape[:-2])
    u = _unflat(packed[..., k:k + m * uc], batch, m, uc)
    v = _unflat(packed[..., k + m * uc:], batch, n, vc)
    return s, u, v


def qr(input, full_matrices=False, name=None):
    """``q, r`` with ``input = q @ r``, ``q`` orthonormal columns, ``r`` upper triangular (Householder, LAPACK).

    >>> import fastgrad as tf
    >>> q, r = tf.linalg.qr([[3.0, 1.0], [4.0, 2.0]])
    >>> tf.matmul(q, r).numpy().round(5).tolist()
    [[3.0, 1.0], [4.0, 2.0]]
    """
    x = _as_tensor(input)
    packed = _apply("qr", [x], [int(_builtins.bool(full_matrices))])
    m, n = x.shape[-2], x.shape[-1]
    qc = m if full_matrices else min(m, n)
    batch = list(x.shape[:-2])
    return _unflat(packed[..., :m * qc], batch, m, qc), _unflat(packed[..., m * qc:], batch, qc, n)


def lstsq(matrix, rhs, l2_regularizer=0.0, fast=True, name=None):
    """Least-squares solutions of ``matrix @ X = rhs`` (``tf.linalg.lstsq``).

    ``fast=True`` (TF's default) solves the regularised normal equations
    with a Cholesky factor: ``(A^T A + l2 I)^-1 A^T b`` when rows >= cols,
    else the minimum-norm ``A^T (A A^T + l2 I)^-1 b``. ``fast=False`` uses
    a QR factorisation of A (or A^T) instead, which squares no condition
    number; it needs ``l2_regularizer == 0``, as TF's.

    >>> import fastgrad as tf
    >>> tf.linalg.lstsq([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [[1.0], [1.0], [2.0]]).numpy().round(5).tolist()
    [[1.0], [1.0]]
    """
    a = _as_tensor(matrix)
    b = rhs if isinstance(rhs, _core._TensorBase) else _core.convert_to_tensor(rhs, a.dtype)
    m, n = a.shape[-2], a.shape[-1]
    if not fast:
        if l2_regularizer != 0:
            raise NotImplementedError("lstsq with fast=False does not support l2_regularizer != 0 (as TF)")
        if m >= n:
            q, r = qr(a)
            return triangular_solve(r, matmul(q, b, adjoint_a=True), lower=False)
        q, r = qr(matrix_transpose(a))
        return matmul(q, triangular_solve(r, b, lower=False, adjoint=True))
    small = min(m, n)
    if m >= n:
        gram = matmul(a, a, adjoint_a=True)
    else:
        gram = matmul(a, a, adjoint_b=True)
    if l2_regularizer != 0:
        gram = gram + _core.convert_to_tensor(l2_regularizer, a.dtype) * eye(small, dtype=a.dtype)
    chol = cholesky(gram)
    if m >= n:
        return cholesky_solve(chol, matmul(a, b, adjoint_a=True))
    return matmul(a, cholesky_solve(chol, b), adjoint_a=True)


def pinv(a, rcond=None, validate_args=False, name=None):
    """The Moore-Penrose pseudo-inverse from the SVD, singular values under
    ``rcond * max(s)`` dropped (default ``rcond``: 10 max(m, n) eps, TF's).

    >>> import fastgrad as tf
    >>> tf.linalg.pinv([[1.0, 0.0], [0.0, 0.0]]).numpy().tolist()
    [[1.0, 0.0], [0.0, 0.0]]
    """
    a = _as_tensor(a)
    if rcond is None:
        rcond = 10.0 * max(a.shape[-2], a.shape[-1]) * np.finfo(a.dtype.as_numpy_dtype).eps
    s, u, v = svd(a, full_matrices=False, compute_uv=True)
    cutoff = _core.convert_to_tensor(rcond, a.dtype) * reduce_max(s, axis=-1, keepdims=True)
    s = where(s > cutoff, s, _core.convert_to_tensor(np.inf, a.dtype))
    return matmul(v / expand_dims(s, -2), u, adjoint_b=True)


def matrix_rank(a, tol=None, validate_args=False, name=None):
    """The number of singular values above ``tol`` (default ``eps max(m, n) max(s)``), int32.

    >>> import fastgrad as tf
    >>> int(tf.linalg.matrix_rank([[1.0, 2.0], [2.0, 4.0]]))
    1
    """
    a = _as_tensor(a)
    s = svd(a, compute_uv=False)
    if tol is None:
        eps = np.finfo(a.dtype.as_numpy_dtype).eps
        tol = _core.convert_to_tensor(eps * max(a.shape[-2], a.shape[-1]), a.dtype) * reduce_max(s, axis=-1, keepdims=True)
    return reduce_sum(cast(s > tol, int32), axis=-1)


def _matrix_two_norm(x, axis):
    """the largest singular value over the two axes, those axes kept (tf.norm's ord=2)"""
    rows, cols = (int(ax) % x.ndim for ax in axis)
    perm = [d for d in _builtins.range(x.ndim) if d not in (rows, cols)] + [rows, cols]
    out = reduce_max(svd(transpose(x, perm), compute_uv=False), axis=-1)
    for d in sorted((rows, cols)):
        out = expand_dims(out, d)
    return out


def global_norm(t_list, name=None):
    """sqrt of the sum of squares of every element of every tensor (None entries skipped).

    >>> import fastgrad as tf
    >>> float(tf.linalg.global_norm([tf.constant([3.0]), tf.constant([[4.0]])]))
    5.0
    """
    parts = [reduce_sum(square(_as_tensor(t))) for t in t_list if t is not None]
    if not parts:
        return _core.convert_to_tensor(0.0)
    total = parts[0]
    for q in parts[1:]:
        total = total + q
    return sqrt(total)


def tensor_diag(diagonal, name=None):
    """A rank-2k tensor with ``diagonal`` (rank k) on its diagonal: ``out[i.., i..] = diagonal[i..]``.

    >>> import fastgrad as tf
    >>> tf.linalg.tensor_diag([1.0, 2.0]).numpy().tolist()
    [[1.0, 0.0], [0.0, 2.0]]
    """
    d = _as_tensor(diagonal)
    shape = list(d.shape)
    size = int(np.prod(shape)) if shape else 1
    return reshape(diag(reshape(d, [size])), shape + shape)


def tensor_diag_part(input, name=None):
    """The inverse of ``tensor_diag``: ``out[i..] = input[i.., i..]`` for a rank-2k tensor.

    >>> import fastgrad as tf
    >>> tf.linalg.tensor_diag_part([[1.0, 2.0], [3.0, 4.0]]).numpy().tolist()
    [1.0, 4.0]
    """
    x = _as_tensor(input)
    if x.ndim % 2:
        raise ValueError("Input must have even rank <= 8, got rank %d" % x.ndim)
    half = list(x.shape[:x.ndim // 2])
    size = int(np.prod(half)) if half else 1
    return reshape(diag_part(reshape(x, [size, size])), half)


def cross(a, b, name=None):
    """Cross products of 3-vectors along the last axis.

    >>> import fastgrad as tf
    >>> tf.linalg.cross([1.0, 0.0, 0.0], [0.0, 1.0, 0.0]).numpy().tolist()
    [0.0, 0.0, 1.0]
    """
    a = _as_tensor(a)
    b = b if isinstance(b, _core._TensorBase) else _core.convert_to_tensor(b, a.dtype)
    if a.shape[-1] != 3 or b.shape[-1] != 3:
        raise _errors.InvalidArgumentError(
            None, None, "inner dimensions of a and b must be 3 (got %s and %s) [Op:Cross]"
            % (a.shape[-1] if a.ndim else None, b.shape[-1] if b.ndim else None))
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    return stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)


def lu(input, output_idx_type=int32, name=None):
    """``(lower_upper, perm)``: ``P input = L U`` with ``L`` unit lower and
    ``U`` upper triangular packed in ``lower_upper``, row ``i`` of ``P input``
    being row ``perm[i]`` of ``input`` (LAPACK getrf, partial pivoting). A
    singular matrix raises, and there is no gradient, as TF's.

    >>> import fastgrad as tf
    >>> lu, p = tf.linalg.lu([[1.0, 2.0], [3.0, 4.0]])
    >>> p.numpy().tolist()
    [1, 0]
    """
    x = _as_tensor(input)
    packed = _apply("lu", [x])
    n = x.shape[-1]
    batch = list(x.shape[:-2])
    return _unflat(packed[..., :n * n], batch, n, n), cast(packed[..., n * n:], output_idx_type)


def _permutation_matrix(perm, dtype):
    """P with P[..., i, perm[i]] = 1: (P x)[i] = x[perm[i]]"""
    return one_hot(perm, _as_tensor(perm).shape[-1], dtype=dtype)


def _unit_lower(lower_upper):
    lu = _as_tensor(lower_upper)
    ones = _core.convert_to_tensor(np.ones(lu.shape[:-1], lu.dtype.as_numpy_dtype))
    return set_diag(band_part(lu, -1, 0), ones)


def lu_solve(lower_upper, perm, rhs, validate_args=False, name=None):
    """X with ``A X = rhs`` from ``lu(A)``: the permuted rhs through two triangular solves.

    >>> import fastgrad as tf
    >>> tf.linalg.lu_solve(*tf.linalg.lu([[1.0, 2.0], [3.0, 4.0]]), [[5.0], [11.0]]).numpy().round(5).tolist()
    [[1.0], [2.0]]
    """
    lu = _as_tensor(lower_upper)
    rhs = rhs if isinstance(rhs, _core._TensorBase) else _core.convert_to_tensor(rhs, lu.dtype)
    permuted = matmul(_permutation_matrix(perm, lu.dtype), rhs)
    return triangular_solve(lu, triangular_solve(_unit_lower(lu), permuted, lower=True), lower=False)


def lu_matrix_inverse(lower_upper, perm, validate_args=False, name=None):
    """The inverse of A from ``lu(A)``.

    >>> import fastgrad as tf
    >>> tf.linalg.lu_matrix_inverse(*tf.linalg.lu([[2.0, 0.0], [0.0, 4.0]])).numpy().tolist()
    [[0.5, 0.0], [0.0, 0.25]]
    """
    lu = _as_tensor(lower_upper)
    n = lu.shape[-1]
    return lu_solve(lu, perm, eye(n, batch_shape=list(lu.shape[:-2]), dtype=lu.dtype))


def lu_reconstruct(lower_upper, perm, validate_args=False, name=None):
    """A from ``lu(A)``: ``P^T L U``.

    >>> import fastgrad as tf
    >>> tf.linalg.lu_reconstruct(*tf.linalg.lu([[1.0, 2.0], [3.0, 4.0]])).numpy().tolist()
    [[1.0, 2.0], [3.0, 4.0]]
    """
    lu = _as_tensor(lower_upper)
    return matmul(_permutation_matrix(perm, lu.dtype), matmul(_unit_lower(lu), band_part(lu, 0, -1)),
                  transpose_a=True)


_PADE = {
    3: [120.0, 60.0, 12.0],
    5: [30240.0, 15120.0, 3360.0, 420.0, 30.0],
    7: [17297280.0, 8648640.0, 1995840.0, 277200.0, 25200.0, 1512.0, 56.0],
    9: [17643225600.0, 8821612800.0, 2075673600.0, 302702400.0, 30270240.0, 2162160.0, 110880.0, 3960.0, 90.0],
    13: [64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0, 129060195264000.0,
         10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0, 40840800.0, 960960.0, 16380.0, 182.0],
}


def _pade(m, degree, ident):
    """TF's _matrix_exp_padeN: (U, V) with exp(m) ~ (V - U)^-1 (V + U)"""
    b = _PADE[degree]
    m2 = matmul(m, m)
    if degree == 13:
        m4 = matmul(m2, m2)
        m6 = matmul(m4, m2)
        tmp_u = matmul(m6, m6 + b[11] * m4 + b[9] * m2) + b[7] * m6 + b[5] * m4 + b[3] * m2 + b[1] * ident
        tmp_v = b[12] * m6 + b[10] * m4 + b[8] * m2
        return matmul(m, tmp_u), matmul(m6, tmp_v) + b[6] * m6 + b[4] * m4 + b[2] * m2 + b[0] * ident
    powers = [ident, m2]  # I, m^2, m^4, ...: TF's products, summed in TF's order
    half = (degree - 1) // 2
    while len(powers) <= half:
        powers.append(matmul(powers[-1], m2))
    tmp, v = powers[half], b[2 * half] * powers[half]
    for k in _builtins.range(half - 1, -1, -1):
        tmp = tmp + b[2 * k + 1] * powers[k]
        v = v + b[2 * k] * powers[k]
    return matmul(m, tmp), v


def expm(input, name=None):
    """The matrix exponential, TF's algorithm (Higham 2005): a Pade
    approximant of degree 3-13 (3-7 in float32) chosen by the 1-norm, with
    scaling and squaring; the gradient is that composition's.

    The number of squarings is read from the data (TF runs a while loop),
    so inside ``fastgrad.function`` it is a value the trace depends on.

    >>> import fastgrad as tf
    >>> [round(float(v), 5) for v in tf.linalg.expm([[0.0, 0.0], [0.0, 1.0]]).numpy().ravel()]
    [1.0, 0.0, 0.0, 2.71828]
    """
    x = _as_tensor(input)
    if tuple(x.shape[-2:]) == (0, 0):
        return x
    n = x.shape[-1]
    ident = eye(n, dtype=x.dtype)
    l1 = reduce_max(reduce_sum(_abs(x), axis=-2), axis=-1, keepdims=True)
    l1 = expand_dims(l1, -1)
    c = lambda v: _core.convert_to_tensor(v, x.dtype)  # noqa: E731
    if x.dtype == np.float32:
        maxnorm, degrees, conds = 3.925724783138660, (3, 5, 7), (4.258730016922831e-001, 1.880152677804762e+000)
    else:
        maxnorm, degrees = 5.371920351148152, (3, 5, 7, 9, 13)
        conds = (1.495585217958292e-002, 2.539398330063230e-001, 9.504178996162932e-001, 2.097847961257068e+000)
    squarings = maximum(floor(log(l1 / c(maxnorm)) / log(c(2.0))), c(0.0))
    scaled = x / _pow(c(2.0), squarings)
    pairs = [_pade(x if d != degrees[-1] else scaled, d, ident) for d in degrees]
    u, v = pairs[-1]
    for cond, (ud, vd) in reversed(list(zip(conds, pairs[:-1]))):
        pick = l1 < c(cond)
        u, v = where(pick, ud, u), where(pick, vd, v)
    most = float(reduce_max(squarings))
    if not np.isfinite(most):
        return x * c(np.nan)
    result = solve(-u + v, u + v)
    for i in _builtins.range(int(most)):
        result = where(c(float(i)) < squarings, matmul(result, result), result)
    return result


def _compact_diagonals(diagonals, diagonals_format, like=None):
    """TF's three formats brought to compact [..., 3, M]"""
    if diagonals_format == "compact":
        return diagonals if isinstance(diagonals, _core._TensorBase) else _core.convert_to_tensor(diagonals, like)
    if diagonals_format == "sequence":
        parts = [p if isinstance(p, _core._TensorBase) else _core.convert_to_tensor(p, like) for p in diagonals]
        return stack(parts, axis=-2)
    if diagonals_format == "matrix":
        m = _as_tensor(diagonals) if like is None else _core.convert_to_tensor(diagonals, like)
        pad = zeros(list(m.shape[:-2]) + [1], dtype=m.dtype)
        sup = concat([diag_part(m[..., :-1, 1:]), pad], axis=-1)
        sub = concat([pad, diag_part(m[..., 1:, :-1])], axis=-1)
        return stack([sup, diag_part(m), sub], axis=-2)
    raise ValueError("Unrecognized diagonals_format: %s" % (diagonals_format,))


def tridiagonal_solve(diagonals, rhs, diagonals_format="compact", transpose_rhs=False, conjugate_rhs=False,
                      name=None, partial_pivoting=True, perturb_singular=False):
    """X with ``T X = rhs`` for tridiagonal ``T`` (LAPACK gtsv, partial pivoting).

    ``diagonals`` as TF: ``'compact'`` [..., 3, M] (superdiagonal, main,
    subdiagonal; the last superdiagonal and first subdiagonal entries are
    unused), ``'sequence'`` (the three as a tuple) or ``'matrix'``. ``rhs``
    is [..., M, K] or a vector [..., M]. A singular system gives NaN, as
    TF's. Gradients are TF's (a solve with the transposed system).

    >>> import fastgrad as tf
    >>> d = tf.constant([[1.0, 1.0, 0.0], [2.0, 2.0, 2.0], [0.0, 1.0, 1.0]])
    >>> tf.linalg.tridiagonal_solve(d, [3.0, 4.0, 3.0]).numpy().round(5).tolist()
    [1.0, 1.0, 1.0]
    """
    if perturb_singular:
        raise NotImplementedError("fastgrad's tridiagonal_solve does not perturb singular systems")
    rhs_t = _as_tensor(rhs) if not isinstance(diagonals, _core._TensorBase) else None
    d = _compact_diagonals(diagonals, diagonals_format, None if rhs_t is None else rhs_t.dtype)
    if diagonals_format == "compact" and (d.ndim < 2 or d.shape[-2] != 3):
        raise ValueError("Expected 3 diagonals got %s" % (d.shape[-2] if d.ndim >= 2 else d.shape))
    b = rhs if isinstance(rhs, _core._TensorBase) else _core.convert_to_tensor(rhs, d.dtype)
    vector = b.ndim == d.ndim - 1
    if vector:
        b = expand_dims(b, -1)
    elif transpose_rhs:
        b = matrix_transpose(b)
    m = d.shape[-1]
    if b.shape[-2] != m:
        raise ValueError("Expected number of left-hand sided and right-hand sides to be equal, got %d and %d"
                         % (m, b.shape[-2]))
    x = _apply("tridiagonal_solve", [d, b], [int(_builtins.bool(partial_pivoting))])
    return squeeze(x, -1) if vector else x


def tridiagonal_matmul(diagonals, rhs, diagonals_format="compact", name=None):
    """``T @ rhs`` for tridiagonal ``T`` in TF's formats, O(M K) (a composition of shifts).

    >>> import fastgrad as tf
    >>> d = tf.constant([[1.0, 2.0, 0.0], [4.0, 5.0, 6.0], [0.0, 7.0, 8.0]])
    >>> tf.linalg.tridiagonal_matmul(d, [[1.0], [2.0], [3.0]]).numpy().tolist()
    [[6.0], [23.0], [34.0]]
    """
    if diagonals_format == "matrix":
        return matmul(diagonals, rhs)
    d = _compact_diagonals(diagonals, diagonals_format)
    x = rhs if isinstance(rhs, _core._TensorBase) else _core.convert_to_tensor(rhs, d.dtype)
    m = d.shape[-1]
    if x.shape[-2] != m:
        raise _errors.InvalidArgumentError(None, None, "Invalid superdiagonal shape. [Op:TridiagonalMatMul]")
    zero = zeros(list(x.shape[:-2]) + [1, x.shape[-1]], dtype=x.dtype)
    below = concat([x[..., 1:, :], zero], axis=-2)   # x[i + 1]
    above = concat([zero, x[..., :-1, :]], axis=-2)  # x[i - 1]
    col = lambda i: expand_dims(d[..., i, :], -1)  # noqa: E731
    return col(0) * below + col(1) * x + col(2) * above


def normalize(tensor, ord="euclidean", axis=None, name=None):
    """``(tensor / norm, norm)``, the norm kept with its reduced axes (any ``tf.norm`` ord).

    >>> import fastgrad as tf
    >>> unit, n = tf.linalg.normalize([3.0, 4.0])
    >>> unit.numpy().tolist(), n.numpy().tolist()
    ([0.6000000238418579, 0.800000011920929], [5.0])
    """
    x = _as_tensor(tensor)
    n = norm(x, ord=ord, axis=axis, keepdims=True)
    return x / n, n


def _shifted_diag(v, shift):
    """[..., M] -> [..., M, M] with v on the diagonal moved right by shift (left if negative)"""
    d = diag(v)
    m = v.shape[-1]
    if shift == 0:
        return d
    pad = zeros(list(d.shape[:-1]) + [abs(shift)], dtype=d.dtype)
    if shift > 0:  # A[j, j + shift] = v[j]
        return concat([pad, d[..., :, :m - shift]], axis=-1)
    return concat([d[..., :, -shift:], pad], axis=-1)  # A[j, j + shift] = v[j]


def banded_triangular_solve(bands, rhs, lower=True, adjoint=False, name=None):
    """``triangular_solve`` with the matrix given by its ``K`` bands, [..., K, M],
    TF's 'LEFT_RIGHT' layout: for ``lower`` row ``i`` is the ``i``-th subdiagonal
    (right-aligned), else row ``K-1-i`` is the ``i``-th superdiagonal (left-aligned).

    Built as the dense triangle and solved with ``trsm`` (O(M^2) memory);
    gradients reach exactly the stored band entries.

    >>> import fastgrad as tf
    >>> tf.linalg.banded_triangular_solve([[2.0, 3.0, 4.0], [1.0, 2.0, 3.0]], tf.ones([3, 1])).numpy().tolist()
    [[0.5], [0.0], [0.25]]
    """
    b = _as_tensor(bands)
    x = rhs if isinstance(rhs, _core._TensorBase) else _core.convert_to_tensor(rhs, b.dtype)
    k = b.shape[-2]
    parts = []
    for i in _builtins.range(k):
        if lower:  # A[j, j - i] = bands[i, j]: the band's entries sit at the diagonal's rows j >= i
            v = b[..., i, :]
            m = v.shape[-1]
            v = concat([v[..., i:], zeros(list(v.shape[:-1]) + [i], dtype=b.dtype)], axis=-1) if i else v
            parts.append(_shifted_diag(v, 0) if i == 0 else _down(diag(v), i, m))
        else:  # A[j, j + i] = bands[k - 1 - i, j]
            parts.append(_shifted_diag(b[..., k - 1 - i, :], i))
    dense = parts[0]
    for p in parts[1:]:
        dense = dense + p
    return triangular_solve(dense, x, lower=lower, adjoint=adjoint)


def _down(d, i, m):
    """diag matrix d moved down by i rows: out[j + i, j] = d[j, j]"""
    pad = zeros(list(d.shape[:-2]) + [i, m], dtype=d.dtype)
    return concat([pad, d[..., :m - i, :]], axis=-2)


def eigh_tridiagonal(alpha, beta, eigvals_only=True, select="a", select_range=None, tol=None, name=None):
    """Eigenvalues (and vectors) of the symmetric tridiagonal matrix with
    diagonal ``alpha`` [n] and off-diagonal ``beta`` [n-1], through ``eigh``
    of the dense matrix. ``select`` ``'a'`` (all) or ``'i'`` (indices
    ``select_range[0]..select_range[1]``, inclusive).

    Its gradient is eigh's (exact); TF's differentiates its bisection
    iterations and differs.

    >>> import fastgrad as tf
    >>> tf.linalg.eigh_tridiagonal(tf.constant([2.0, 2.0]), tf.constant([1.0])).numpy().tolist()
    [1.0, 3.0]
    """
    a = _as_tensor(alpha)
    b = beta if isinstance(beta, _core._TensorBase) else _core.convert_to_tensor(beta, a.dtype)
    n = a.shape[-1]
    if n > 1:
        pad = zeros(list(b.shape[:-1]) + [1], dtype=b.dtype)
        off = concat([b, pad], axis=-1)
        upper = _shifted_diag(off, 1)
        dense = diag(a) + upper + matrix_transpose(upper)
    else:
        dense = diag(a)
    if select not in ("a", "i"):
        raise NotImplementedError("fastgrad's eigh_tridiagonal supports select='a' and 'i'")
    e, v = eigh(dense)
    if select == "i":
        lo, hi = int(select_range[0]), int(select_range[1])
        e, v = e[..., lo:hi + 1], v[..., lo:hi + 1]
    return e if eigvals_only else (e, v)
