# fastgrad.linalg's LAPACK and BLAS (included by _core.pyx): the routines
# csrc/fg_linalg.c names, taken by name from SciPy's cython_lapack /
# cython_blas at import, as matmul's gemm is (_install_blas). No new build
# dependency; without SciPy the linalg ops raise.

cdef extern from "fg_linalg.h":
    int fg_linalg_count() noexcept
    const char *fg_linalg_name(int i) noexcept
    int fg_linalg_set(const char *name, void *fn) noexcept


def _install_lapack():
    """Hand C every LAPACK/BLAS routine fg_linalg.c calls; False without SciPy."""
    try:
        from scipy.linalg import cython_blas, cython_lapack
    except ImportError:
        return False
    lapack, blas = cython_lapack.__pyx_capi__, cython_blas.__pyx_capi__
    cdef int i
    cdef object cap
    for i in range(fg_linalg_count()):
        name = fg_linalg_name(i).decode()
        cap = lapack.get(name, blas.get(name))
        if cap is None:
            return False
        fg_linalg_set(fg_linalg_name(i), PyCapsule_GetPointer(cap, PyCapsule_GetName(cap)))
    return True


_HAVE_SCIPY_LAPACK = _install_lapack()
