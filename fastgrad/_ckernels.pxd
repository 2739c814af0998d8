# Declarations of csrc/fg_kernels.h (the parts the binding calls); keep in sync with it.
from libc.stdint cimport int64_t

cdef extern from "fg_kernels.h" nogil:
    enum:
        FG_B_ADD
        FG_B_SUB
    ctypedef void (*fg_sgemm_fn)(char *ta, char *tb, int *m, int *n, int *k, float *alpha,
                                 float *a, int *lda, float *b, int *ldb, float *beta,
                                 float *c, int *ldc) noexcept
    ctypedef void (*fg_dgemm_fn)(char *ta, char *tb, int *m, int *n, int *k, double *alpha,
                                 double *a, int *lda, double *b, int *ldb, double *beta,
                                 double *c, int *ldc) noexcept
    void fg_set_blas(fg_sgemm_fn sgemm, fg_dgemm_fn dgemm) noexcept
    int fg_have_blas() noexcept
    int fg_k_binary(int kind, int dtype,
                    const void *a, int a_ndim, const int64_t *a_shape,
                    const void *b, int b_ndim, const int64_t *b_shape,
                    void *out, int out_ndim, const int64_t *out_shape) noexcept
    int fg_k_broadcast_to(int dtype, const void *x, int ndim, const int64_t *shape,
                          void *out, int out_ndim, const int64_t *out_shape) noexcept
    int fg_k_fill(int dtype, void *out, int64_t n, double value) noexcept
    int fg_k_range(int dtype, void *out, int64_t n, double start, double delta) noexcept
