/* fg_linalg.c: the linear-algebra op family (tf.linalg) -- cholesky,
 * triangular and general solves, inverse, determinants, and the diagonal
 * and band structure ops: kernels, forwards and rules in one file
 * (fg_ops.def declares what the table names).
 *
 * Matrices are the last two dims; any leading dims are a batch. The batch
 * loop is ours (threads over matrices, one LAPACK call per matrix, each
 * call on one thread: the glue tells SciPy's OpenBLAS so for matmul), so
 * results do not depend on the thread count. TF is row-major and LAPACK
 * column-major: a row-major buffer read column-major is the transpose,
 * which the kernels use instead of copying where the math allows (a
 * Cholesky factor is potrf 'U' of the same buffer; A X = B is X^T A^T =
 * B^T, one trsm from the right).
 *
 * Rules are compositions of table ops (these and matmul), so second
 * derivatives and JVPs of JVPs are recorded like any other.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fg_forward_util.h"
#include "fg_linalg.h"
#include "fg_parallel.h"
#include "fg_rules.h"

/* ------------------------------------------------- LAPACK entry points */

#define FG_LAPACK_FUNCS(F) \
    F(spotrf) F(dpotrf) F(strsm) F(dtrsm) F(sgetrf) F(dgetrf) F(sgetrs) F(dgetrs) F(sgetri) F(dgetri) F(ssyevd) F(dsyevd)

enum {
#define LP_ENUM(n) LP_##n,
    FG_LAPACK_FUNCS(LP_ENUM)
#undef LP_ENUM
    LP_COUNT
};

static const char *const lp_names[LP_COUNT] = {
#define LP_NAME(n) #n,
    FG_LAPACK_FUNCS(LP_NAME)
#undef LP_NAME
};
static void *lp[LP_COUNT];

int fg_linalg_count(void) { return LP_COUNT; }
const char *fg_linalg_name(int i) { return i >= 0 && i < LP_COUNT ? lp_names[i] : NULL; }
int fg_linalg_set(const char *name, void *fn) {
    for (int i = 0; i < LP_COUNT; i++)
        if (!strcmp(name, lp_names[i])) {
            lp[i] = fn;
            return 0;
        }
    return -1;
}

static int need_lapack(const fg_opdef *d) {
    for (int i = 0; i < LP_COUNT; i++)
        if (!lp[i])
            return fg_error_set(FG_ERR_RUNTIME,
                                "%s needs LAPACK, which fastgrad takes from SciPy (scipy.linalg.cython_lapack): "
                                "install scipy [Op:%s]", d->tf_name, d->tf_name);
    return 0;
}

/* the Fortran signatures, as scipy.linalg.cython_lapack / cython_blas export them */
#define DEF_LAPACK_TYPES(p, T)                                                                             \
    typedef void p##potrf_t(char *uplo, int *n, T *a, int *lda, int *info);                                \
    typedef void p##trsm_t(char *side, char *uplo, char *transa, char *diag, int *m, int *n, T *alpha,    \
                           T *a, int *lda, T *b, int *ldb);                                                \
    typedef void p##getrf_t(int *m, int *n, T *a, int *lda, int *ipiv, int *info);                         \
    typedef void p##getrs_t(char *trans, int *n, int *nrhs, T *a, int *lda, int *ipiv, T *b, int *ldb,     \
                            int *info);                                                                    \
    typedef void p##getri_t(int *n, T *a, int *lda, int *ipiv, T *work, int *lwork, int *info);            \
    typedef void p##syevd_t(char *jobz, char *uplo, int *n, T *a, int *lda, T *w, T *work, int *lwork,     \
                            int *iwork, int *liwork, int *info);
DEF_LAPACK_TYPES(s, float)
DEF_LAPACK_TYPES(d, double)
#define LAPACK(p, name) ((p##name##_t *)lp[LP_##p##name])

/* ---------------------------------------------------------- batching */

/* The batch dims of two operands broadcast to the output's: strides in
 * matrices, 0 along a broadcast dim. */
typedef struct {
    int bnd;
    int64_t shape[FG_MAX_NDIM], astr[FG_MAX_NDIM], bstr[FG_MAX_NDIM];
} bcast2;

/* out: the broadcast batch shape; -1 when they do not broadcast */
static int bcast2_init(bcast2 *bc, const fg_tensor *a, const fg_tensor *b) {
    int an = a->ndim - 2, bn = b->ndim - 2;
    int nd = fg_broadcast_shapes(an, a->shape, bn, b->shape, bc->shape);
    if (nd < 0 || nd + 2 > FG_MAX_NDIM) return -1;
    bc->bnd = nd;
    int64_t sa = 1, sb = 1;
    for (int i = nd - 1; i >= 0; i--) {
        int ia = i - (nd - an), ib = i - (nd - bn);
        int64_t da = ia >= 0 ? a->shape[ia] : 1, db = ib >= 0 ? b->shape[ib] : 1;
        bc->astr[i] = da == 1 ? 0 : sa;
        bc->bstr[i] = db == 1 ? 0 : sb;
        sa *= da;
        sb *= db;
    }
    return 0;
}

static void bcast2_at(const bcast2 *bc, int64_t bi, int64_t *ao, int64_t *bo) {
    int64_t oa = 0, ob = 0;
    for (int d = bc->bnd - 1; d >= 0; d--) {
        int64_t i = bi % bc->shape[d];
        bi /= bc->shape[d];
        oa += i * bc->astr[d];
        ob += i * bc->bstr[d];
    }
    *ao = oa;
    *bo = ob;
}

typedef struct {
    int n, k; /* matrix order; columns of the right-hand side */
    int lower, adjoint, which;
    const void *a, *b;
    void *out;
    const bcast2 *bc;
    uint8_t *singular; /* per matrix: getrf found a zero pivot */
} la_job;

/* threads for nbatch independent problems of ~work flops each: the same
 * threshold as the elementwise kernels, counted in flops */
static int la_threads(int64_t nbatch, double work) {
    double w = (double)nbatch * work;
    int nt = fg_threads_for(w > 1e15 ? (int64_t)1e15 : (int64_t)w);
    return nbatch < nt ? (int)nbatch : nt;
}

/* ------------------------------------------------------------ kernels */

#define DEF_LA_KERNELS(p, T)                                                                              \
    /* potrf 'U' of the buffer read column-major (A^T, whose upper triangle is A's lower) leaves L        \
     * row-major in the lower triangle; TF returns NaN for a matrix that is not positive definite */     \
    static void chol_rows_##p(void *v, int64_t lo, int64_t hi) {                                          \
        const la_job *j = (const la_job *)v;                                                             \
        int n = j->n, info = 0;                                                                          \
        char up = 'U';                                                                                    \
        for (int64_t m = lo; m < hi; m++) {                                                              \
            T *o = (T *)j->out + m * n * n;                                                              \
            memcpy(o, (const T *)j->a + m * n * n, (size_t)n * n * sizeof(T));                           \
            LAPACK(p, potrf)(&up, &n, o, &n, &info);                                                     \
            for (int i = 0; i < n; i++) {                                                                \
                for (int c = i + 1; c < n; c++) o[i * n + c] = 0;                                        \
                if (info != 0)                                                                           \
                    for (int c = 0; c <= i; c++) o[i * n + c] = (T)NAN;                                  \
            }                                                                                            \
        }                                                                                                \
    }                                                                                                     \
    /* op(A) X = B row-major is X^T op(A)^T = B^T: trsm from the right on B's buffer (k x n              \
     * column-major) with A's buffer, which column-major is A^T (so lower becomes 'U') */                \
    static void trsm_rows_##p(void *v, int64_t lo, int64_t hi) {                                          \
        const la_job *j = (const la_job *)v;                                                             \
        int n = j->n, k = j->k;                                                                          \
        char side = 'R', uplo = j->lower ? 'U' : 'L', tr = j->adjoint ? 'T' : 'N', dg = 'N';             \
        T one = 1;                                                                                        \
        for (int64_t m = lo; m < hi; m++) {                                                              \
            int64_t ao, bo;                                                                              \
            bcast2_at(j->bc, m, &ao, &bo);                                                               \
            T *o = (T *)j->out + m * n * k;                                                              \
            memcpy(o, (const T *)j->b + bo * n * k, (size_t)n * k * sizeof(T));                          \
            LAPACK(p, trsm)(&side, &uplo, &tr, &dg, &k, &n, &one, (T *)j->a + ao * n * n, &n, o, &k);   \
        }                                                                                                \
    }                                                                                                     \
    /* getrf of A's buffer factors A^T; getrs 'T' with it solves A X = B ('N': A^T X = B), B brought   \
     * column-major and back */                                                                           \
    static void lu_solve_rows_##p(void *v, int64_t lo, int64_t hi) {                                      \
        const la_job *j = (const la_job *)v;                                                             \
        int n = j->n, k = j->k, info = 0;                                                                \
        char tr = j->adjoint ? 'N' : 'T';                                                                 \
        T *lu = (T *)malloc(((size_t)n * n + (size_t)n * k) * sizeof(T));                                \
        int *ipiv = (int *)malloc((size_t)n * sizeof(int));                                              \
        if (!lu || !ipiv) {                                                                              \
            for (int64_t m = lo; m < hi; m++) j->singular[m] = 2;                                        \
            free(lu), free(ipiv);                                                                        \
            return;                                                                                      \
        }                                                                                                \
        T *rhs = lu + (size_t)n * n;                                                                     \
        for (int64_t m = lo; m < hi; m++) {                                                              \
            int64_t ao, bo;                                                                              \
            bcast2_at(j->bc, m, &ao, &bo);                                                               \
            memcpy(lu, (const T *)j->a + ao * n * n, (size_t)n * n * sizeof(T));                         \
            LAPACK(p, getrf)(&n, &n, lu, &n, ipiv, &info);                                               \
            if (info > 0) {                                                                              \
                j->singular[m] = 1;                                                                      \
                continue;                                                                                \
            }                                                                                            \
            const T *bs = (const T *)j->b + bo * n * k;                                                  \
            for (int i = 0; i < n; i++)                                                                  \
                for (int c = 0; c < k; c++) rhs[(size_t)c * n + i] = bs[(size_t)i * k + c];               \
            LAPACK(p, getrs)(&tr, &n, &k, lu, &n, ipiv, rhs, &n, &info);                                 \
            T *o = (T *)j->out + m * n * k;                                                              \
            for (int i = 0; i < n; i++)                                                                  \
                for (int c = 0; c < k; c++) o[(size_t)i * k + c] = rhs[(size_t)c * n + i];               \
        }                                                                                                \
        free(lu), free(ipiv);                                                                            \
    }                                                                                                     \
    /* getri of A^T's factors is (A^-1)^T column-major, which is A^-1 row-major */                      \
    static void inv_rows_##p(void *v, int64_t lo, int64_t hi) {                                           \
        const la_job *j = (const la_job *)v;                                                             \
        int n = j->n, info = 0, lwork = -1;                                                              \
        T wq = 0;                                                                                         \
        int *ipiv = (int *)malloc((size_t)n * sizeof(int));                                              \
        LAPACK(p, getri)(&n, (T *)j->out, &n, ipiv, &wq, &lwork, &info);                                 \
        lwork = (int)wq > n ? (int)wq : n;                                                               \
        T *work = (T *)malloc((size_t)lwork * sizeof(T));                                                \
        for (int64_t m = lo; m < hi; m++) {                                                              \
            if (!ipiv || !work) {                                                                        \
                j->singular[m] = 2;                                                                      \
                continue;                                                                                \
            }                                                                                            \
            T *o = (T *)j->out + m * n * n;                                                              \
            memcpy(o, (const T *)j->a + m * n * n, (size_t)n * n * sizeof(T));                           \
            LAPACK(p, getrf)(&n, &n, o, &n, ipiv, &info);                                                \
            if (info > 0) {                                                                              \
                j->singular[m] = 1;                                                                      \
                continue;                                                                                \
            }                                                                                            \
            LAPACK(p, getri)(&n, o, &n, ipiv, work, &lwork, &info);                                      \
        }                                                                                                \
        free(ipiv), free(work);                                                                          \
    }                                                                                                     \
    /* det(A) = det(A^T) from getrf's U and the pivots, in log space as TF's SLogDet: which = 0 the    \
     * determinant (sign * exp(log|det|)), 1 log|det|, 2 its sign (0 for a singular matrix) */            \
    static void slogdet_rows_##p(void *v, int64_t lo, int64_t hi) {                                       \
        const la_job *j = (const la_job *)v;                                                             \
        int n = j->n, info = 0;                                                                          \
        T *lu = (T *)malloc((size_t)n * n * sizeof(T) + 1);                                              \
        int *ipiv = (int *)malloc((size_t)n * sizeof(int) + 1);                                          \
        for (int64_t m = lo; m < hi; m++) {                                                              \
            if (!lu || !ipiv) {                                                                          \
                j->singular[m] = 2;                                                                      \
                continue;                                                                                \
            }                                                                                            \
            double logabs = 0, sign = 1;                                                                 \
            if (n > 0) {                                                                                 \
                memcpy(lu, (const T *)j->a + m * n * n, (size_t)n * n * sizeof(T));                      \
                LAPACK(p, getrf)(&n, &n, lu, &n, ipiv, &info);                                           \
            }                                                                                            \
            for (int i = 0; i < n; i++) {                                                                \
                double u = (double)lu[(size_t)i * n + i];                                                \
                if (ipiv[i] != i + 1) sign = -sign;                                                      \
                if (u < 0) sign = -sign, u = -u;                                                         \
                if (u == 0) sign = 0;                                                                    \
                logabs += log(u);                                                                        \
            }                                                                                            \
            T *o = (T *)j->out + m;                                                                      \
            *o = (T)(j->which == 0 ? sign * exp(logabs) : j->which == 1 ? logabs : sign);                \
        }                                                                                                \
        free(lu), free(ipiv);                                                                            \
    }
DEF_LA_KERNELS(s, float)
DEF_LA_KERNELS(d, double)

/* syevd 'U' of A's buffer (column-major A^T, whose upper triangle is A's
 * lower, the one TF reads): eigenvalues ascending, then the eigenvectors
 * (columns), packed per matrix as [n values, n*n row-major V] */
#define DEF_EIGH(p, T)                                                                                    \
    static void eigh_rows_##p(void *v, int64_t lo, int64_t hi) {                                          \
        const la_job *j = (const la_job *)v;                                                             \
        int n = j->n, info = 0, lwork = -1, liwork = -1, iq = 0;                                         \
        char jobz = 'V', up = 'U';                                                                       \
        T wq = 0;                                                                                         \
        T *a = (T *)malloc(((size_t)n * n + n) * sizeof(T));                                             \
        if (!a) {                                                                                        \
            for (int64_t m = lo; m < hi; m++) j->singular[m] = 2;                                        \
            return;                                                                                      \
        }                                                                                                \
        LAPACK(p, syevd)(&jobz, &up, &n, a, &n, a, &wq, &lwork, &iq, &liwork, &info);                   \
        lwork = (int)wq + 1;                                                                             \
        liwork = iq + 1;                                                                                 \
        T *work = (T *)malloc((size_t)lwork * sizeof(T));                                                \
        int *iwork = (int *)malloc((size_t)liwork * sizeof(int));                                        \
        T *w = a + (size_t)n * n;                                                                        \
        for (int64_t m = lo; m < hi; m++) {                                                              \
            if (!work || !iwork) {                                                                       \
                j->singular[m] = 2;                                                                      \
                continue;                                                                                \
            }                                                                                            \
            memcpy(a, (const T *)j->a + m * n * n, (size_t)n * n * sizeof(T));                           \
            LAPACK(p, syevd)(&jobz, &up, &n, a, &n, w, work, &lwork, iwork, &liwork, &info);             \
            T *o = (T *)j->out + m * (n + (int64_t)n * n), *ov = o + n;                                  \
            for (int i = 0; i < n; i++) o[i] = info ? (T)NAN : w[i];                                     \
            for (int r = 0; r < n; r++)                                                                  \
                for (int c = 0; c < n; c++) ov[(size_t)r * n + c] = info ? (T)NAN : a[(size_t)c * n + r]; \
        }                                                                                                \
        free(a), free(work), free(iwork);                                                                \
    }
DEF_EIGH(s, float)
DEF_EIGH(d, double)

#define PICK(dtype, name) ((dtype) == FG_F32 ? name##_s : name##_d)

/* the singular flags of a batch: 0 when none, else TF's error */
static int la_status(const uint8_t *s, int64_t nbatch, const char *msg, const char *tf_name) {
    for (int64_t i = 0; i < nbatch; i++) {
        if (s[i] == 2) return fg_error_set(FG_ERR_NOMEM, "out of memory");
        if (s[i]) return fg_error_set(FG_ERR_INVALID, "%s [Op:%s]", msg, tf_name);
    }
    return 0;
}

static int k_cholesky(int dtype, const void *a, int64_t nbatch, int n, void *out) {
    la_job j = {n, 0, 0, 0, 0, a, NULL, out, NULL, NULL};
    fg_parallel_range(la_threads(nbatch, (double)n * n * n / 3), nbatch, 1, PICK(dtype, chol_rows), &j);
    return 0;
}

static int k_triangular_solve(int dtype, const void *a, const void *b, const bcast2 *bc, int64_t nbatch, int n,
                              int k, int lower, int adjoint, void *out) {
    la_job j = {n, k, lower, adjoint, 0, a, b, out, bc, NULL};
    fg_parallel_range(la_threads(nbatch, (double)n * n * k), nbatch, 1, PICK(dtype, trsm_rows), &j);
    return 0;
}

static int k_lu_solve(const fg_opdef *d, int dtype, const void *a, const void *b, const bcast2 *bc, int64_t nbatch,
                      int n, int k, int adjoint, void *out) {
    uint8_t *s = (uint8_t *)calloc((size_t)nbatch, 1);
    if (!s) return fg_error_set(FG_ERR_NOMEM, "out of memory");
    la_job j = {n, k, 0, adjoint, 0, a, b, out, bc, s};
    fg_parallel_range(la_threads(nbatch, (double)n * n * (n + k)), nbatch, 1, PICK(dtype, lu_solve_rows), &j);
    int rc = la_status(s, nbatch, "Input matrix is not invertible.", d->tf_name);
    free(s);
    return rc;
}

static int k_inverse(const fg_opdef *d, int dtype, const void *a, int64_t nbatch, int n, void *out) {
    uint8_t *s = (uint8_t *)calloc((size_t)nbatch, 1);
    if (!s) return fg_error_set(FG_ERR_NOMEM, "out of memory");
    la_job j = {n, 0, 0, 0, 0, a, NULL, out, NULL, s};
    fg_parallel_range(la_threads(nbatch, (double)n * n * n), nbatch, 1, PICK(dtype, inv_rows), &j);
    int rc = la_status(s, nbatch, "Input is not invertible.", d->tf_name);
    free(s);
    return rc;
}

static int k_slogdet(int dtype, const void *a, int64_t nbatch, int n, int which, void *out) {
    uint8_t *s = (uint8_t *)calloc((size_t)nbatch, 1);
    if (!s) return fg_error_set(FG_ERR_NOMEM, "out of memory");
    la_job j = {n, 0, 0, 0, which, a, NULL, out, NULL, s};
    fg_parallel_range(la_threads(nbatch, (double)n * n * n / 3), nbatch, 1, PICK(dtype, slogdet_rows), &j);
    int rc = la_status(s, nbatch, "", "");
    free(s);
    return rc;
}

static int k_eigh(int dtype, const void *a, int64_t nbatch, int n, void *out) {
    uint8_t *s = (uint8_t *)calloc((size_t)nbatch, 1);
    if (!s) return fg_error_set(FG_ERR_NOMEM, "out of memory");
    la_job j = {n, 0, 0, 0, 0, a, NULL, out, NULL, s};
    fg_parallel_range(la_threads(nbatch, 9.0 * n * n * n), nbatch, 1, PICK(dtype, eigh_rows), &j);
    int rc = la_status(s, nbatch, "", "");
    free(s);
    return rc;
}

/* Structure kernels work on any dtype by element size. */
#define ES_SWITCH(es, MACRO)                        \
    switch (es) {                                   \
    case 1: MACRO(uint8_t); break;                  \
    case 4: MACRO(uint32_t); break;                 \
    default: MACRO(uint64_t); break;                \
    }

/* x [nb, r, c] -> out [nb, min(r, c)] */
static void k_diag_part(size_t es, const void *x, int64_t nb, int64_t r, int64_t c, void *out) {
    int64_t q = r < c ? r : c;
#define DIAG_PART(T)                                                              \
    for (int64_t b = 0; b < nb; b++)                                              \
        for (int64_t i = 0; i < q; i++) ((T *)out)[b * q + i] = ((const T *)x)[(b * r + i) * c + i];
    ES_SWITCH(es, DIAG_PART)
#undef DIAG_PART
}

/* out [nb, r, c] = x (or zeros when x is NULL) with diag [nb, min(r, c)] on its diagonal */
static void k_set_diag(size_t es, const void *x, const void *diag, int64_t nb, int64_t r, int64_t c, void *out) {
    int64_t q = r < c ? r : c;
    if (x)
        memcpy(out, x, (size_t)(nb * r * c) * es);
    else
        memset(out, 0, (size_t)(nb * r * c) * es);
#define SET_DIAG(T)                                                               \
    for (int64_t b = 0; b < nb; b++)                                              \
        for (int64_t i = 0; i < q; i++) ((T *)out)[(b * r + i) * c + i] = ((const T *)diag)[b * q + i];
    ES_SWITCH(es, SET_DIAG)
#undef SET_DIAG
}

/* keep x[i][j] where (lower < 0 or i - j <= lower) and (upper < 0 or j - i <= upper) */
static void k_band_part(size_t es, const void *x, int64_t nb, int64_t r, int64_t c, int64_t lower, int64_t upper,
                        void *out) {
    memset(out, 0, (size_t)(nb * r * c) * es);
    for (int64_t b = 0; b < nb; b++)
        for (int64_t i = 0; i < r; i++) {
            int64_t j0 = lower < 0 ? 0 : (i - lower > 0 ? i - lower : 0);
            int64_t j1 = upper < 0 ? c : (i + upper + 1 < c ? i + upper + 1 : c);
            if (j1 > j0) {
                size_t off = (size_t)((b * r + i) * c + j0) * es;
                memcpy((char *)out + off, (const char *)x + off, (size_t)(j1 - j0) * es);
            }
        }
}

/* ------------------------------------------------------------ forwards */

static int64_t batch_of(const fg_tensor *x, int keep) {
    int64_t nb = 1;
    for (int i = 0; i < x->ndim - keep; i++) nb *= x->shape[i];
    return nb;
}

static int is_float(int dtype) { return dtype == FG_F32 || dtype == FG_F64; }

/* one square float matrix (or a batch): TF's messages for the decompositions */
static int check_square(const fg_opdef *d, const fg_tensor *x) {
    if (!is_float(x->dtype)) return not_allowed(d, x->dtype);
    if (x->ndim < 2)
        return fg_error_set(FG_ERR_INVALID, "Input tensor 0 must have rank >= 2, got %d [Op:%s]", x->ndim, d->tf_name);
    if (x->shape[x->ndim - 1] != x->shape[x->ndim - 2])
        return fg_error_set(FG_ERR_INVALID, "Input matrix must be square. [Op:%s]", d->tf_name);
    if (x->shape[x->ndim - 1] > INT_MAX)
        return fg_error_set(FG_ERR_INVALID, "matrix order %lld exceeds LAPACK's int [Op:%s]",
                            (long long)x->shape[x->ndim - 1], d->tf_name);
    return need_lapack(d);
}

int fwd_cholesky(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
                 fg_tensor **out) {
    (void)n_in, (void)attrs, (void)nattrs;
    fg_tensor *x = in[0];
    if (check_square(d, x) < 0) return -1;
    int n = (int)x->shape[x->ndim - 1];
    fg_tensor *o = fg_tensor_new(x->dtype, x->ndim, x->shape);
    if (!o) return -1;
    if (o->size) RUN_KERNEL_WORK(o, o->size * n, k_cholesky(x->dtype, x->data, batch_of(x, 2), n, o->data));
    *out = o;
    return 0;
}

int fwd_matrix_inverse(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
                       fg_tensor **out) {
    (void)n_in, (void)attrs, (void)nattrs;
    fg_tensor *x = in[0];
    if (check_square(d, x) < 0) return -1;
    int n = (int)x->shape[x->ndim - 1];
    fg_tensor *o = fg_tensor_new(x->dtype, x->ndim, x->shape);
    if (!o) return -1;
    if (o->size) RUN_KERNEL_WORK(o, o->size * n, k_inverse(d, x->dtype, x->data, batch_of(x, 2), n, o->data));
    *out = o;
    return 0;
}

/* determinant, log|det| and its sign: the op's kind says which */
int fwd_slogdet(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
                fg_tensor **out) {
    (void)n_in, (void)attrs, (void)nattrs;
    fg_tensor *x = in[0];
    if (check_square(d, x) < 0) return -1;
    int n = (int)x->shape[x->ndim - 1];
    fg_tensor *o = fg_tensor_new(x->dtype, x->ndim - 2, x->shape);
    if (!o) return -1;
    if (o->size) RUN_KERNEL_WORK(o, o->size * n * n, k_slogdet(x->dtype, x->data, o->size, n, d->kind, o->data));
    *out = o;
    return 0;
}

/* TF's SelfAdjointEigV2 (lower triangle read): both outputs packed along
 * one last axis, [..., n + n*n] = eigenvalues then row-major eigenvectors;
 * fastgrad.linalg slices them apart (linear ops, so gradients flow back
 * into one packed g for the rule) */
int fwd_eigh(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs, fg_tensor **out) {
    (void)n_in, (void)attrs, (void)nattrs;
    fg_tensor *x = in[0];
    if (check_square(d, x) < 0) return -1;
    int n = (int)x->shape[x->ndim - 1];
    int64_t shape[FG_MAX_NDIM];
    memcpy(shape, x->shape, (size_t)(x->ndim - 2) * sizeof(int64_t));
    shape[x->ndim - 2] = (int64_t)n + (int64_t)n * n;
    fg_tensor *o = fg_tensor_new(x->dtype, x->ndim - 1, shape);
    if (!o) return -1;
    if (o->size && n) RUN_KERNEL_WORK(o, o->size * n * 9, k_eigh(x->dtype, x->data, batch_of(x, 2), n, o->data));
    *out = o;
    return 0;
}

/* attrs = [lower, adjoint]; batch dims broadcast, as TF's MatrixTriangularSolve */
int fwd_triangular_solve(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
                         fg_tensor **out) {
    (void)n_in, (void)nattrs;
    fg_tensor *a = in[0], *b = in[1];
    if (!is_float(a->dtype)) return not_allowed(d, a->dtype);
    if (a->dtype != b->dtype) return dtype_mismatch(d, 1, a->dtype, b->dtype);
    if (a->ndim < 2 || b->ndim < 2)
        return fg_error_set(FG_ERR_INVALID, "In[%d] ndims must be >= 2: %d [Op:%s]", a->ndim < 2 ? 0 : 1,
                            a->ndim < 2 ? a->ndim : b->ndim, d->tf_name);
    int64_t n = a->shape[a->ndim - 1], k = b->shape[b->ndim - 1];
    if (a->shape[a->ndim - 2] != n)
        return fg_error_set(FG_ERR_INVALID, "In[0] matrices in the last dimensions must be square (%lld =/= %lld) [Op:%s]",
                            (long long)n, (long long)a->shape[a->ndim - 2], d->tf_name);
    if (b->shape[b->ndim - 2] != n)
        return fg_error_set(FG_ERR_INVALID, "In[0] mismatch In[1] shape: %lld vs. %lld: %s %s %d %d [Op:%s]",
                            (long long)n, (long long)b->shape[b->ndim - 2], fg_shape_str(a->ndim, a->shape),
                            fg_shape_str(b->ndim, b->shape), (int)attrs[0], (int)attrs[1], d->tf_name);
    bcast2 bc;
    if (bcast2_init(&bc, a, b) < 0)
        return fg_error_set(FG_ERR_INVALID, "In[0] and In[1] must have compatible batch dimensions: %s vs. %s [Op:%s]",
                            fg_shape_str(a->ndim, a->shape), fg_shape_str(b->ndim, b->shape), d->tf_name);
    if (n > INT_MAX || k > INT_MAX)
        return fg_error_set(FG_ERR_INVALID, "matrix dims exceed LAPACK's int [Op:%s]", d->tf_name);
    if (need_lapack(d) < 0) return -1;
    int64_t shape[FG_MAX_NDIM], nbatch = 1;
    memcpy(shape, bc.shape, (size_t)bc.bnd * sizeof(int64_t));
    for (int i = 0; i < bc.bnd; i++) nbatch *= bc.shape[i];
    shape[bc.bnd] = n;
    shape[bc.bnd + 1] = k;
    fg_tensor *o = fg_tensor_new(a->dtype, bc.bnd + 2, shape);
    if (!o) return -1;
    if (o->size)
        RUN_KERNEL_WORK(o, o->size * n, k_triangular_solve(a->dtype, a->data, b->data, &bc, nbatch, (int)n, (int)k,
                                                            attrs[0] != 0, attrs[1] != 0, o->data));
    *out = o;
    return 0;
}

/* attrs = [adjoint, broadcast]: TF's MatrixSolve wants equal batch dims;
 * the rules (JVPs with batched tangents) ask for broadcasting */
int fwd_matrix_solve(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
                     fg_tensor **out) {
    (void)n_in, (void)nattrs;
    fg_tensor *a = in[0], *b = in[1];
    int bcast = nattrs > 1 && attrs[1];
    if (!is_float(a->dtype)) return not_allowed(d, a->dtype);
    if (a->dtype != b->dtype) return dtype_mismatch(d, 1, a->dtype, b->dtype);
    if (a->ndim < 2)
        return fg_error_set(FG_ERR_INVALID, "Input tensor 0 must have rank >= 2, got %d [Op:%s]", a->ndim, d->tf_name);
    if (b->ndim < 2 || (!bcast && a->ndim != b->ndim))
        return fg_error_set(FG_ERR_INVALID, "All input tensors must have the same rank. [Op:%s]", d->tf_name);
    int64_t n = a->shape[a->ndim - 1], k = b->shape[b->ndim - 1];
    if (a->shape[a->ndim - 2] != n)
        return fg_error_set(FG_ERR_INVALID, "First input (lhs) must be a square matrix. [Op:%s]", d->tf_name);
    bcast2 bc;
    int same = a->ndim == b->ndim;
    for (int i = 0; same && i < a->ndim - 2; i++) same = a->shape[i] == b->shape[i];
    if ((!bcast && !same) || bcast2_init(&bc, a, b) < 0)
        return fg_error_set(FG_ERR_INVALID, "All input tensors must have the same outer dimensions. [Op:%s]", d->tf_name);
    if (b->shape[b->ndim - 2] != n)
        return fg_error_set(FG_ERR_INVALID, "Input matrix and rhs are incompatible. [Op:%s]", d->tf_name);
    if (n > INT_MAX || k > INT_MAX)
        return fg_error_set(FG_ERR_INVALID, "matrix dims exceed LAPACK's int [Op:%s]", d->tf_name);
    if (need_lapack(d) < 0) return -1;
    int64_t shape[FG_MAX_NDIM], nbatch = 1;
    memcpy(shape, bc.shape, (size_t)bc.bnd * sizeof(int64_t));
    for (int i = 0; i < bc.bnd; i++) nbatch *= bc.shape[i];
    shape[bc.bnd] = n;
    shape[bc.bnd + 1] = k;
    fg_tensor *o = fg_tensor_new(a->dtype, bc.bnd + 2, shape);
    if (!o) return -1;
    if (o->size)
        RUN_KERNEL_WORK(o, o->size * n, k_lu_solve(d, a->dtype, a->data, b->data, &bc, nbatch, (int)n, (int)k,
                                                    attrs[0] != 0, o->data));
    *out = o;
    return 0;
}

static int check_rank2(const fg_opdef *d, const fg_tensor *x) {
    if (x->ndim < 2)
        return fg_error_set(FG_ERR_INVALID, "input must be at least 2-dim, received shape: %s [Op:%s]",
                            fg_shape_str(x->ndim, x->shape), d->tf_name);
    return 0;
}

int fwd_matrix_diag_part(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
                         fg_tensor **out) {
    (void)n_in, (void)attrs, (void)nattrs;
    fg_tensor *x = in[0];
    if (check_rank2(d, x) < 0) return -1;
    int64_t r = x->shape[x->ndim - 2], c = x->shape[x->ndim - 1], shape[FG_MAX_NDIM];
    memcpy(shape, x->shape, (size_t)(x->ndim - 2) * sizeof(int64_t));
    shape[x->ndim - 2] = r < c ? r : c;
    fg_tensor *o = fg_tensor_new(x->dtype, x->ndim - 1, shape);
    if (!o) return -1;
    k_diag_part(fg_dtype_size(x->dtype), x->data, batch_of(x, 2), r, c, o->data);
    *out = o;
    return 0;
}

int fwd_matrix_diag(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
                    fg_tensor **out) {
    (void)n_in, (void)attrs, (void)nattrs;
    fg_tensor *x = in[0];
    if (x->ndim < 1)
        return fg_error_set(FG_ERR_INVALID, "diagonal must be at least 1-dim, received shape: %s [Op:%s]",
                            fg_shape_str(x->ndim, x->shape), d->tf_name);
    if (x->ndim + 1 > FG_MAX_NDIM) return fg_error_set(FG_ERR_INVALID, "rank exceeds %d [Op:%s]", FG_MAX_NDIM, d->tf_name);
    int64_t n = x->shape[x->ndim - 1], shape[FG_MAX_NDIM];
    memcpy(shape, x->shape, (size_t)x->ndim * sizeof(int64_t));
    shape[x->ndim] = n;
    fg_tensor *o = fg_tensor_new(x->dtype, x->ndim + 1, shape);
    if (!o) return -1;
    k_set_diag(fg_dtype_size(x->dtype), NULL, x->data, batch_of(x, 1), n, n, o->data);
    *out = o;
    return 0;
}

int fwd_matrix_set_diag(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
                        fg_tensor **out) {
    (void)n_in, (void)attrs, (void)nattrs;
    fg_tensor *x = in[0], *g = in[1];
    if (x->dtype != g->dtype) return dtype_mismatch(d, 1, x->dtype, g->dtype);
    if (check_rank2(d, x) < 0) return -1;
    int64_t r = x->shape[x->ndim - 2], c = x->shape[x->ndim - 1], want[FG_MAX_NDIM];
    memcpy(want, x->shape, (size_t)(x->ndim - 2) * sizeof(int64_t));
    want[x->ndim - 2] = r < c ? r : c;
    int ok = g->ndim == x->ndim - 1;
    for (int i = 0; ok && i < g->ndim; i++) ok = g->shape[i] == want[i];
    if (!ok)
        return fg_error_set(FG_ERR_INVALID,
                            "Either first dimensions of diagonal don't match input.shape[:-2], or diagonal.shape[:-1] "
                            "is not equal to the longests diagonal in range [lower_diag_index:upper_diag_index].\n"
                            "Input shape: %s\nDiagonal shape: %s\nExpected diagonal shape: %s [Op:%s]",
                            fg_shape_str(x->ndim, x->shape), fg_shape_str(g->ndim, g->shape),
                            fg_shape_str(x->ndim - 1, want), d->tf_name);
    fg_tensor *o = fg_tensor_new(x->dtype, x->ndim, x->shape);
    if (!o) return -1;
    k_set_diag(fg_dtype_size(x->dtype), x->data, g->data, batch_of(x, 2), r, c, o->data);
    *out = o;
    return 0;
}

/* attrs = [num_lower, num_upper], negative: the whole triangle */
int fwd_matrix_band_part(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
                         fg_tensor **out) {
    (void)n_in, (void)nattrs;
    fg_tensor *x = in[0];
    if (check_rank2(d, x) < 0) return -1;
    int64_t r = x->shape[x->ndim - 2], c = x->shape[x->ndim - 1];
    if (attrs[0] > r)
        return fg_error_set(FG_ERR_INVALID, "num_lower must be negative or less or equal to number of rows (%lld) got: %lld [Op:%s]",
                            (long long)r, (long long)attrs[0], d->tf_name);
    if (attrs[1] > c)
        return fg_error_set(FG_ERR_INVALID, "num_upper must be negative or less or equal to number of columns (%lld) got: %lld [Op:%s]",
                            (long long)c, (long long)attrs[1], d->tf_name);
    fg_tensor *o = fg_tensor_new(x->dtype, x->ndim, x->shape);
    if (!o) return -1;
    k_band_part(fg_dtype_size(x->dtype), x->data, batch_of(x, 2), r, c, attrs[0], attrs[1], o->data);
    *out = o;
    return 0;
}

/* ---------------------------------------------------------------- rules */

/* the last two dims swapped */
static fg_tensor *mT(rctx *c, fg_tensor *x) {
    if (c->failed || !x) return c->failed = 1, NULL;
    int64_t perm[FG_MAX_NDIM];
    for (int i = 0; i < x->ndim; i++) perm[i] = i;
    perm[x->ndim - 2] = x->ndim - 1;
    perm[x->ndim - 1] = x->ndim - 2;
    return ap(c, FG_OP_TRANSPOSE, 1, &x, perm, x->ndim);
}

static fg_tensor *mm(rctx *c, fg_tensor *a, fg_tensor *b, int ta, int tb) {
    int64_t at[2] = {ta, tb};
    fg_tensor *in[2] = {a, b};
    return ap(c, FG_OP_MATMUL, 2, in, at, 2);
}

static fg_tensor *trisolve(rctx *c, fg_tensor *a, fg_tensor *b, int lower, int adjoint) {
    int64_t at[2] = {lower, adjoint};
    fg_tensor *in[2] = {a, b};
    return ap(c, FG_OP_TRIANGULAR_SOLVE, 2, in, at, 2);
}

static fg_tensor *lusolve(rctx *c, fg_tensor *a, fg_tensor *b, int adjoint) {
    int64_t at[2] = {adjoint, 1};
    fg_tensor *in[2] = {a, b};
    return ap(c, FG_OP_MATRIX_SOLVE, 2, in, at, 2);
}

static fg_tensor *band(rctx *c, fg_tensor *x, int64_t lower, int64_t upper) {
    int64_t at[2] = {lower, upper};
    return ap(c, FG_OP_MATRIX_BAND_PART, 1, &x, at, 2);
}

#define DIAG_PART(x) ap1(c, FG_OP_MATRIX_DIAG_PART, x)
#define SET_DIAG(x, v) ap2(c, FG_OP_MATRIX_SET_DIAG, x, v)
#define MDIAG(x) ap1(c, FG_OP_MATRIX_DIAG, x)

/* a tangent with nb batch dims viewed with ones after them up to rank
 * want, so it broadcasts against unbatched primals of that rank */
static fg_tensor *align(rctx *c, fg_tensor *t, int nb, int want) {
    if (!t || nb == 0 || t->ndim - nb >= want) return t;
    int own = t->ndim - nb;
    int64_t shape[FG_MAX_NDIM];
    if (nb + want > FG_MAX_NDIM) {
        fg_error_set(FG_ERR_INVALID, "batched tangent rank %d exceeds %d", nb + want, FG_MAX_NDIM);
        c->failed = 1;
        return NULL;
    }
    memcpy(shape, t->shape, (size_t)nb * sizeof(int64_t));
    for (int i = 0; i < want - own; i++) shape[nb + i] = 1;
    memcpy(shape + nb + want - own, t->shape + nb, (size_t)own * sizeof(int64_t));
    return reshape_to(c, t, nb + want, shape);
}

/* [..] -> [.., 1, 1]: a per-matrix scalar against its matrix */
static fg_tensor *expand2(rctx *c, fg_tensor *t) {
    if (c->failed || !t) return c->failed = 1, NULL;
    int64_t shape[FG_MAX_NDIM];
    memcpy(shape, t->shape, (size_t)t->ndim * sizeof(int64_t));
    shape[t->ndim] = shape[t->ndim + 1] = 1;
    return reshape_to(c, t, t->ndim + 2, shape);
}

static fg_tensor *sum_last2(rctx *c, fg_tensor *t) {
    if (c->failed || !t) return c->failed = 1, NULL;
    uint8_t mask[FG_MAX_NDIM] = {0};
    mask[t->ndim - 1] = mask[t->ndim - 2] = 1;
    return reduce_sum(c, t, mask, 0);
}

/* lower triangle with half the diagonal: Phi of Murray (2016) */
static fg_tensor *phi(rctx *c, fg_tensor *x) {
    if (c->failed || !x) return c->failed = 1, NULL;
    fg_tensor *lo = band(c, x, -1, 0);
    return SET_DIAG(lo, MUL(DIAG_PART(lo), cst(x->dtype, 0.5)));
}

/* TF's CholeskyGrad (Murray 2016, "Differentiation of the Cholesky
 * decomposition"): sym(L^-T Phi(L^T g) L^-1), the two products with L^-1
 * as triangular solves instead of TF's explicit inverse (same values to
 * rounding, no inverse formed). sym(G) = (G + G^T) / 2: the input is taken
 * as symmetric, as TF does. */
int bwd_cholesky(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    if (need[0]) {
        fg_tensor *L = Y;
        fg_tensor *z = trisolve(c, L, phi(c, mm(c, L, g, 1, 0)), 1, 1);
        fg_tensor *gm = mT(c, trisolve(c, L, mT(c, z), 1, 1));
        gin[0] = give(MUL(ADD(gm, mT(c, gm)), cst(DT, 0.5)));
    }
    RULE_END;
}

/* dL = L Phi(L^-1 sym(dA) L^-T), the transpose of the rule above */
int jvp_cholesky(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    if (!T(0)) JVP_END;
    (void)nb;
    fg_tensor *L = Y, *t = T(0);
    fg_tensor *s = MUL(ADD(t, mT(c, t)), cst(DT, 0.5));
    fg_tensor *w = trisolve(c, L, s, 1, 0);
    fg_tensor *p = trisolve(c, L, mT(c, w), 1, 0);
    *tout = give(mm(c, L, phi(c, p), 0, 0));
    JVP_END;
}

/* TF's MatrixTriangularSolveGrad: gb = solve(op(A)^T, g); gA = -gb X^T
 * (or -X gb^T when adjoint) kept to A's triangle. Broadcast batch dims are
 * summed back by the sweep. */
int bwd_triangular_solve(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    int lower = (int)node->attrs[0], adj = (int)node->attrs[1];
    fg_tensor *gb = trisolve(c, X(0), g, lower, !adj);
    if (need[1]) gin[1] = give(gb);
    if (need[0]) {
        fg_tensor *ga = NEG(adj ? mm(c, Y, gb, 0, 1) : mm(c, gb, Y, 0, 1));
        gin[0] = give(band(c, ga, lower ? -1 : 0, lower ? 0 : -1));
    }
    RULE_END;
}

/* dX = op(A)^-1 (dB - op(tri(dA)) X) */
int jvp_triangular_solve(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    int lower = (int)node->attrs[0], adj = (int)node->attrs[1];
    fg_tensor *rhs = align(c, T(1), nb, Y->ndim);
    if (T(0)) {
        fg_tensor *da = band(c, align(c, T(0), nb, Y->ndim), lower ? -1 : 0, lower ? 0 : -1);
        fg_tensor *t = mm(c, da, Y, adj, 0);
        rhs = rhs ? SUB(rhs, t) : NEG(t);
    }
    if (rhs) *tout = give(trisolve(c, X(0), rhs, lower, adj));
    JVP_END;
}

/* TF's MatrixSolveGrad: gb = solve(A, g, !adjoint); gA = -gb X^T (or -X gb^T) */
int bwd_matrix_solve(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    int adj = (int)node->attrs[0];
    fg_tensor *gb = lusolve(c, X(0), g, !adj);
    if (need[1]) gin[1] = give(gb);
    if (need[0]) gin[0] = give(NEG(adj ? mm(c, Y, gb, 0, 1) : mm(c, gb, Y, 0, 1)));
    RULE_END;
}

int jvp_matrix_solve(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    int adj = (int)node->attrs[0];
    fg_tensor *rhs = align(c, T(1), nb, Y->ndim);
    if (T(0)) {
        fg_tensor *t = mm(c, align(c, T(0), nb, Y->ndim), Y, adj, 0);
        rhs = rhs ? SUB(rhs, t) : NEG(t);
    }
    if (rhs) *tout = give(lusolve(c, X(0), rhs, adj));
    JVP_END;
}

/* Giles (2008): d(A^-1) = -A^-1 dA A^-1, so gA = -Y^T g Y^T */
int bwd_matrix_inverse(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    if (need[0]) gin[0] = give(NEG(mm(c, Y, mm(c, g, Y, 0, 1), 1, 0)));
    RULE_END;
}

int jvp_matrix_inverse(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    if (!T(0)) JVP_END;
    (void)nb;
    *tout = give(NEG(mm(c, Y, mm(c, T(0), Y, 0, 0), 0, 0)));
    JVP_END;
}

static fg_tensor *inv_t(rctx *c, fg_tensor *a) { return mT(c, ap1(c, FG_OP_MATRIX_INVERSE, a)); }

/* TF's MatrixDeterminantGrad: g det(A) A^-T (Giles 2008) */
int bwd_matrix_determinant(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    if (need[0]) gin[0] = give(MUL(expand2(c, MUL(g, Y)), inv_t(c, X(0))));
    RULE_END;
}

/* d det = det(A) tr(A^-1 dA) */
int jvp_matrix_determinant(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    if (!T(0)) JVP_END;
    (void)nb;
    *tout = give(MUL(Y, sum_last2(c, MUL(inv_t(c, X(0)), T(0)))));
    JVP_END;
}

/* TF's LogMatrixDeterminantGrad (the sign has none): g A^-T */
int bwd_log_abs_determinant(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    if (need[0]) gin[0] = give(MUL(expand2(c, g), inv_t(c, X(0))));
    RULE_END;
}

int jvp_log_abs_determinant(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    if (!T(0)) JVP_END;
    (void)nb;
    *tout = give(sum_last2(c, MUL(inv_t(c, X(0)), T(0))));
    JVP_END;
}

/* TF's MatrixDiagPartV3 gradient: g set on the diagonal of zeros */
int bwd_matrix_diag_part(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    if (need[0]) gin[0] = give(SET_DIAG(zeros_like(c, X(0)), g));
    RULE_END;
}

int bwd_matrix_diag(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    (void)node;
    if (need[0]) gin[0] = give(DIAG_PART(g));
    RULE_END;
}

int bwd_matrix_set_diag(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    if (need[0]) gin[0] = give(SET_DIAG(g, zeros_like(c, X(1))));
    if (need[1]) gin[1] = give(DIAG_PART(g));
    RULE_END;
}

int bwd_matrix_band_part(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    if (need[0]) gin[0] = give(band(c, g, node->attrs[0], node->attrs[1]));
    RULE_END;
}

/* x[..., start:start+len] along the last axis */
static fg_tensor *last_slice(rctx *c, fg_tensor *x, int64_t start, int64_t len) {
    if (c->failed || !x) return c->failed = 1, NULL;
    int nd = x->ndim;
    int64_t at[3 * FG_MAX_NDIM];
    for (int i = 0; i < nd; i++) {
        at[i] = i == nd - 1 ? start : 0;
        at[nd + i] = 1;
        at[2 * nd + i] = i == nd - 1 ? len : x->shape[i];
    }
    return ap(c, FG_OP_SLICE, 1, &x, at, 3 * nd);
}

/* [..., n*n] <-> [..., n, n] */
static fg_tensor *as_matrix(rctx *c, fg_tensor *x, int64_t n) {
    if (c->failed || !x) return c->failed = 1, NULL;
    int64_t shape[FG_MAX_NDIM];
    memcpy(shape, x->shape, (size_t)(x->ndim - 1) * sizeof(int64_t));
    shape[x->ndim - 1] = shape[x->ndim] = n;
    return reshape_to(c, x, x->ndim + 1, shape);
}

static fg_tensor *as_flat(rctx *c, fg_tensor *x) {
    if (c->failed || !x) return c->failed = 1, NULL;
    int64_t shape[FG_MAX_NDIM];
    memcpy(shape, x->shape, (size_t)(x->ndim - 2) * sizeof(int64_t));
    shape[x->ndim - 2] = x->shape[x->ndim - 2] * x->shape[x->ndim - 1];
    return reshape_to(c, x, x->ndim - 1, shape);
}

/* the n x n identity, a constant */
static fg_tensor *eye_n(rctx *c, int dtype, int64_t n) {
    if (c->failed) return NULL;
    int64_t shape[2] = {n, n};
    fg_tensor *t = hold(c, fg_tensor_zeros(dtype, 2, shape));
    if (!t) return NULL;
    for (int64_t i = 0; i < n; i++) {
        if (dtype == FG_F32)
            ((float *)t->data)[i * n + i] = 1;
        else
            ((double *)t->data)[i * n + i] = 1;
    }
    return t;
}

/* F_ij = 1 / (e_j - e_i) off the diagonal, 0 on it; written without a
 * division by zero (TF's reciprocal-then-zero gives inf * 0 = NaN in
 * second derivatives) */
static fg_tensor *eig_gaps(rctx *c, fg_tensor *e) {
    if (c->failed || !e) return c->failed = 1, NULL;
    int nd = e->ndim;
    int64_t n = e->shape[nd - 1], row[FG_MAX_NDIM], col[FG_MAX_NDIM];
    memcpy(row, e->shape, (size_t)nd * sizeof(int64_t));
    memcpy(col, e->shape, (size_t)nd * sizeof(int64_t));
    row[nd - 1] = 1, row[nd] = n;
    col[nd - 1] = n, col[nd] = 1;
    fg_tensor *eye = eye_n(c, e->dtype, n);
    fg_tensor *diff = SUB(reshape_to(c, e, nd + 1, row), reshape_to(c, e, nd + 1, col));
    return DIV(SUB(cst(e->dtype, 1), eye), ADD(diff, eye));
}

/* the symmetric matrix TF's op sees: A's lower triangle mirrored */
static fg_tensor *sym_lower(rctx *c, fg_tensor *a) {
    fg_tensor *lo = band(c, a, -1, 0);
    return SUB(ADD(lo, mT(c, lo)), MDIAG(DIAG_PART(a)));
}

/* TF's SelfAdjointEigV2Grad: G = V (diag(ge) + F o (V^T gv)) V^T, then
 * onto the lower triangle the op read (G + G^T there, G_ii on the
 * diagonal). g arrives packed as the output: [..., n + n*n]. */
int bwd_eigh(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    if (need[0]) {
        int64_t n = X(0)->shape[X(0)->ndim - 1];
        fg_tensor *e = last_slice(c, Y, 0, n), *v = as_matrix(c, last_slice(c, Y, n, n * n), n);
        fg_tensor *ge = last_slice(c, g, 0, n), *gv = as_matrix(c, last_slice(c, g, n, n * n), n);
        fg_tensor *inner = ADD(MDIAG(ge), MUL(eig_gaps(c, e), mm(c, v, gv, 1, 0)));
        fg_tensor *gm = mm(c, v, mm(c, inner, v, 0, 1), 0, 0);
        fg_tensor *lo = band(c, ADD(gm, mT(c, gm)), -1, 0);
        gin[0] = give(SET_DIAG(lo, MUL(DIAG_PART(lo), cst(DT, 0.5))));
    }
    RULE_END;
}

/* de = diag(V^T S V), dV = V (F o (V^T S V)) with S the tangent's
 * symmetric matrix (sym_lower): the transpose of the rule above */
int jvp_eigh(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    (void)nb;
    if (!T(0)) JVP_END;
    int64_t n = X(0)->shape[X(0)->ndim - 1];
    fg_tensor *e = last_slice(c, Y, 0, n), *v = as_matrix(c, last_slice(c, Y, n, n * n), n);
    fg_tensor *p = mm(c, v, mm(c, sym_lower(c, T(0)), v, 0, 0), 1, 0);
    fg_tensor *dv = mm(c, v, MUL(eig_gaps(c, e), p), 0, 0);
    fg_tensor *parts[2] = {DIAG_PART(p), as_flat(c, dv)};
    int64_t axis = parts[1] ? parts[1]->ndim - 1 : 0;
    *tout = give(ap(c, FG_OP_CONCAT, 2, parts, &axis, 1));
    JVP_END;
}
