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

from fastgrad import _core
from fastgrad.array_ops import eye, expand_dims, reshape, squeeze, transpose
from fastgrad.math_ops import l2_normalize, log, norm, reduce_sum
from fastgrad.math_ops import _as_tensor

__all__ = [
    "adjoint", "band_part", "cholesky", "cholesky_solve", "det", "diag", "diag_part", "eigh", "eigvalsh",
    "eye", "inv",
    "l2_normalize", "logdet", "matmul", "matrix_transpose", "matvec", "norm", "qr", "set_diag", "slogdet",
    "solve", "svd", "trace", "triangular_solve",
]

_OPS = _core.OPS


def matmul(a, b, transpose_a=False, transpose_b=False, adjoint_a=False, adjoint_b=False,
           name=None):
    """Matrix product of the last two dimensions (batch dimensions broadcast); BLAS.

    >>> import fastgrad as tf
    >>> tf.matmul([[1.0, 2.0]], [[3.0], [4.0]]).numpy().tolist()
    [[11.0]]
    """
    return _core.matmul(a, b, _builtins.bool(transpose_a or adjoint_a),
                        _builtins.bool(transpose_b or adjoint_b))


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
    >>> tf.linalg.inv([[2.0, 0.0], [0.0, 4.0]]).numpy().tolist()
    [[0.5, 0.0], [0.0, 0.25]]
    """
    y = _apply("matrix_inverse", [_as_tensor(input)])
    return matrix_transpose(y) if adjoint else y


def det(input, name=None):
    """The determinant of each matrix (LU; computed as sign * exp(log|det|), as TF).

    >>> import fastgrad as tf
    >>> float(tf.linalg.det([[2.0, 1.0], [1.0, 3.0]]))
    5.0
    """
    return _apply("matrix_determinant", [_as_tensor(input)])


def slogdet(input, name=None):
    """``(sign, log|det|)`` of each matrix; only log|det| has a gradient.

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
