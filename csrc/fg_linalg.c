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
    F(spotrf) F(dpotrf) F(strsm) F(dtrsm) F(sgetrf) F(dgetrf) F(sgetrs) F(dgetrs) F(sgetri) F(dgetri) F(ssyevd) F(dsyevd) F(sgesdd) F(dgesdd) F(sgeqrf) F(dgeqrf) F(sorgqr) F(dorgqr) F(sgtsv) F(dgtsv)

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
                            int *iwork, int *liwork, int *info);                                   \
    typedef void p##gesdd_t(char *jobz, int *m, int *n, T *a, int *lda, T *s, T *u, int *ldu, T *vt,       \
                            int *ldvt, T *work, int *lwork, int *iwork, int *info);                        \
    typedef void p##geqrf_t(int *m, int *n, T *a, int *lda, T *tau, T *work, int *lwork, int *info);       \
    typedef void p##orgqr_t(int *m, int *n, int *k, T *a, int *lda, T *tau, T *work, int *lwork, int *info); \
    typedef void p##gtsv_t(int *n, int *nrhs, T *dl, T *d, T *du, T *b, int *ldb, int *info);
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

/* gesdd of A's buffer, which column-major is A^T (n x m) = V S U^T: its
 * "VT" (uc x m, leading dim uc) is U row-major as it stands; its "U" is V
 * column-major, transposed on the way out. Packed per matrix as [k
 * singular values (descending), U (m x uc), V (n x vc)], the last two only
 * with compute_uv (j->which); j->k = 1 for full matrices. */
#define DEF_SVD(p, T)                                                                                     \
    static void svd_rows_##p(void *v, int64_t lo, int64_t hi) {                                           \
        const la_job *j = (const la_job *)v;                                                             \
        int m = j->n, n = j->lower, full = j->k, uv = j->which, info = 0, lwork = -1;                    \
        int k = m < n ? m : n, uc = full ? m : k, vc = full ? n : k;                                     \
        int ldu = n > 1 ? n : 1, ldvt = uc > 1 ? uc : 1;                                                 \
        char jobz = !uv ? 'N' : full ? 'A' : 'S';                                                        \
        int64_t per = k + (uv ? (int64_t)m * uc + (int64_t)n * vc : 0);                                  \
        T wq = 0;                                                                                         \
        T *a = (T *)malloc(((size_t)m * n + (size_t)n * n + (size_t)m * m + k + 1) * sizeof(T));         \
        int *iwork = (int *)malloc((8 * (size_t)k + 1) * sizeof(int));                                   \
        T *vb = a ? a + (size_t)m * n : NULL, *ub = vb ? vb + (size_t)n * n : NULL;                      \
        T *sv = ub ? ub + (size_t)m * m : NULL, *work = NULL;                                            \
        if (a && iwork) {                                                                                \
            LAPACK(p, gesdd)(&jobz, &n, &m, a, &ldu, sv, vb, &ldu, ub, &ldvt, &wq, &lwork, iwork, &info); \
            lwork = (int)wq + 1;                                                                         \
            work = (T *)malloc((size_t)lwork * sizeof(T));                                               \
        }                                                                                                \
        for (int64_t b = lo; b < hi; b++) {                                                              \
            if (!work) {                                                                                 \
                j->singular[b] = 2;                                                                      \
                continue;                                                                                \
            }                                                                                            \
            memcpy(a, (const T *)j->a + b * m * n, (size_t)m * n * sizeof(T));                           \
            LAPACK(p, gesdd)(&jobz, &n, &m, a, &ldu, sv, vb, &ldu, ub, &ldvt, work, &lwork, iwork, &info); \
            T *o = (T *)j->out + b * per;                                                                \
            for (int i = 0; i < k; i++) o[i] = info ? (T)NAN : sv[i];                                    \
            if (!uv) continue;                                                                           \
            T *ou = o + k, *ov = ou + (size_t)m * uc;                                                    \
            for (int64_t i = 0; i < (int64_t)m * uc; i++) ou[i] = info ? (T)NAN : ub[i];                 \
            for (int r = 0; r < n; r++)                                                                  \
                for (int c = 0; c < vc; c++) ov[(size_t)r * vc + c] = info ? (T)NAN : vb[(size_t)c * n + r]; \
        }                                                                                                \
        free(a), free(iwork), free(work);                                                                \
    }                                                                                                     \
    /* geqrf of A brought column-major (m x n), R from its upper part, Q from orgqr; packed as [Q (m x  \
     * qc), R (rr x n)]; j->k = 1 for full matrices */                                                   \
    static void qr_rows_##p(void *v, int64_t lo, int64_t hi) {                                            \
        const la_job *j = (const la_job *)v;                                                             \
        int m = j->n, n = j->lower, full = j->k, info = 0, lwork = -1;                                   \
        int k = m < n ? m : n, qc = full ? m : k, rr = qc, wc = n > qc ? n : qc;                         \
        int64_t per = (int64_t)m * qc + (int64_t)rr * n;                                                 \
        T wq = 0, wq2 = 0;                                                                                \
        T *a = (T *)malloc(((size_t)m * wc + k + 1) * sizeof(T)), *work = NULL;                          \
        T *tau = a ? a + (size_t)m * wc : NULL;                                                          \
        if (a) {                                                                                         \
            LAPACK(p, geqrf)(&m, &n, a, &m, tau, &wq, &lwork, &info);                                    \
            LAPACK(p, orgqr)(&m, &qc, &k, a, &m, tau, &wq2, &lwork, &info);                              \
            lwork = (int)(wq > wq2 ? wq : wq2) + 1;                                                      \
            work = (T *)malloc((size_t)lwork * sizeof(T));                                               \
        }                                                                                                \
        for (int64_t b = lo; b < hi; b++) {                                                              \
            if (!work) {                                                                                 \
                j->singular[b] = 2;                                                                      \
                continue;                                                                                \
            }                                                                                            \
            const T *x = (const T *)j->a + b * m * n;                                                    \
            for (int r = 0; r < m; r++)                                                                  \
                for (int c = 0; c < n; c++) a[(size_t)c * m + r] = x[(size_t)r * n + c];                 \
            if (k > 0) LAPACK(p, geqrf)(&m, &n, a, &m, tau, work, &lwork, &info);                       \
            T *oq = (T *)j->out + b * per, *orr = oq + (size_t)m * qc;                                   \
            for (int r = 0; r < rr; r++)                                                                 \
                for (int c = 0; c < n; c++) orr[(size_t)r * n + c] = c >= r ? a[(size_t)c * m + r] : 0;  \
            if (qc > 0) LAPACK(p, orgqr)(&m, &qc, &k, a, &m, tau, work, &lwork, &info);                 \
            for (int r = 0; r < m; r++)                                                                  \
                for (int c = 0; c < qc; c++) oq[(size_t)r * qc + c] = a[(size_t)c * m + r];              \
        }                                                                                                \
        free(a), free(work);                                                                             \
    }
DEF_SVD(s, float)
DEF_SVD(d, double)

/* getrf of A brought column-major: packed per matrix as [n*n row-major
 * LU (L unit lower, U upper), n permutation entries p with P A = L U,
 * row i of P A being row p[i] of A] (TF's Lu; p as values of the float
 * dtype, exact below 2^24) */
#define DEF_LU(p, T)                                                                                      \
    static void lu_rows_##p(void *v, int64_t lo, int64_t hi) {                                           \
        const la_job *j = (const la_job *)v;                                                             \
        int n = j->n, info = 0;                                                                          \
        T *a = (T *)malloc((size_t)n * n * sizeof(T));                                                   \
        int *ipiv = (int *)malloc((size_t)n * sizeof(int)), *perm = (int *)malloc((size_t)n * sizeof(int)); \
        for (int64_t b = lo; b < hi; b++) {                                                              \
            if (!a || !ipiv || !perm) {                                                                  \
                j->singular[b] = 2;                                                                      \
                continue;                                                                                \
            }                                                                                            \
            const T *x = (const T *)j->a + b * n * n;                                                    \
            for (int r = 0; r < n; r++)                                                                  \
                for (int c = 0; c < n; c++) a[(size_t)c * n + r] = x[(size_t)r * n + c];                 \
            LAPACK(p, getrf)(&n, &n, a, &n, ipiv, &info);                                                \
            if (info > 0) j->singular[b] = 1;                                                            \
            T *o = (T *)j->out + b * ((int64_t)n * n + n);                                               \
            for (int r = 0; r < n; r++)                                                                  \
                for (int c = 0; c < n; c++) o[(size_t)r * n + c] = a[(size_t)c * n + r];                 \
            for (int i = 0; i < n; i++) perm[i] = i;                                                     \
            for (int i = 0; i < n; i++) {                                                                \
                int t = perm[i];                                                                         \
                perm[i] = perm[ipiv[i] - 1];                                                             \
                perm[ipiv[i] - 1] = t;                                                                   \
            }                                                                                            \
            for (int i = 0; i < n; i++) o[(size_t)n * n + i] = (T)perm[i];                               \
        }                                                                                                \
        free(a), free(ipiv), free(perm);                                                                 \
    }
DEF_LU(s, float)
DEF_LU(d, double)

/* gtsv (Gaussian elimination with partial pivoting) per system: diagonals
 * [3, M] in TF's compact format (superdiagonal, main, subdiagonal; the
 * last super and first sub entries unused), rhs M x K brought column-major;
 * a singular system gives NaN, as TF's */
#define DEF_GTSV(p, T)                                                                                    \
    static void gtsv_rows_##p(void *v, int64_t lo, int64_t hi) {                                          \
        const la_job *j = (const la_job *)v;                                                             \
        int m = j->n, k = j->k, info = 0;                                                                \
        T *w = (T *)malloc(((size_t)3 * m + (size_t)m * k + 1) * sizeof(T));                             \
        for (int64_t b = lo; b < hi; b++) {                                                              \
            if (!w) {                                                                                    \
                j->singular[b] = 2;                                                                      \
                continue;                                                                                \
            }                                                                                            \
            int64_t ao, bo;                                                                              \
            bcast2_at(j->bc, b, &ao, &bo);                                                               \
            const T *dg = (const T *)j->a + ao * 3 * m, *x = (const T *)j->b + bo * m * k;               \
            T *du = w, *d = w + m, *dl = w + 2 * m, *rhs = w + 3 * m;                                    \
            memcpy(du, dg, (size_t)m * sizeof(T));                                                       \
            memcpy(d, dg + m, (size_t)m * sizeof(T));                                                    \
            memcpy(dl, dg + 2 * m + 1, (size_t)(m - 1) * sizeof(T));                                     \
            for (int r = 0; r < m; r++)                                                                  \
                for (int c = 0; c < k; c++) rhs[(size_t)c * m + r] = x[(size_t)r * k + c];               \
            LAPACK(p, gtsv)(&m, &k, dl, d, du, rhs, &m, &info);                                          \
            T *o = (T *)j->out + b * m * k;                                                              \
            for (int r = 0; r < m; r++)                                                                  \
                for (int c = 0; c < k; c++) o[(size_t)r * k + c] = info ? (T)NAN : rhs[(size_t)c * m + r]; \
        }                                                                                                \
        free(w);                                                                                         \
    }
DEF_GTSV(s, float)
DEF_GTSV(d, double)

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

/* svd and qr: m x n matrices; la_job's n, lower, k, which carry m, n, full, compute_uv */
static int k_svd_qr(int qr, int dtype, const void *a, int64_t nbatch, int m, int n, int full, int uv, void *out) {
    uint8_t *s = (uint8_t *)calloc((size_t)nbatch, 1);
    if (!s) return fg_error_set(FG_ERR_NOMEM, "out of memory");
    la_job j = {m, full, n, 0, uv, a, NULL, out, NULL, s};
    fg_range_fn fn = qr ? PICK(dtype, qr_rows) : PICK(dtype, svd_rows);
    fg_parallel_range(la_threads(nbatch, (qr ? 4.0 : 12.0) * m * n * (m < n ? m : n)), nbatch, 1, fn, &j);
    int rc = la_status(s, nbatch, "", "");
    free(s);
    return rc;
}

static int k_lu(const fg_opdef *d, int dtype, const void *a, int64_t nbatch, int n, void *out) {
    uint8_t *s = (uint8_t *)calloc((size_t)nbatch, 1);
    if (!s) return fg_error_set(FG_ERR_NOMEM, "out of memory");
    la_job j = {n, 0, 0, 0, 0, a, NULL, out, NULL, s};
    fg_parallel_range(la_threads(nbatch, (double)n * n * n * 2 / 3), nbatch, 1, PICK(dtype, lu_rows), &j);
    int rc = la_status(s, nbatch, "Input is not invertible.", d->tf_name);
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

static int check_matrix(const fg_opdef *d, const fg_tensor *x) {
    if (!is_float(x->dtype)) return not_allowed(d, x->dtype);
    if (x->ndim < 2)
        return fg_error_set(FG_ERR_INVALID, "Input tensor 0 must have rank >= 2, got %d [Op:%s]", x->ndim, d->tf_name);
    if (x->shape[x->ndim - 1] > INT_MAX / 4 || x->shape[x->ndim - 2] > INT_MAX / 4)
        return fg_error_set(FG_ERR_INVALID, "matrix dims exceed LAPACK's int [Op:%s]", d->tf_name);
    return need_lapack(d);
}

/* TF's Svd, attrs = [compute_uv, full_matrices]: outputs packed along one
 * last axis, [..., k + m*uc + n*vc] = s, then U and V row-major (only s
 * without compute_uv); fastgrad.linalg slices them apart */
int fwd_svd(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs, fg_tensor **out) {
    (void)n_in, (void)nattrs;
    fg_tensor *x = in[0];
    if (check_matrix(d, x) < 0) return -1;
    int m = (int)x->shape[x->ndim - 2], n = (int)x->shape[x->ndim - 1], uv = attrs[0] != 0, full = attrs[1] != 0;
    int64_t k = m < n ? m : n, uc = full ? m : k, vc = full ? n : k, shape[FG_MAX_NDIM];
    memcpy(shape, x->shape, (size_t)(x->ndim - 2) * sizeof(int64_t));
    shape[x->ndim - 2] = k + (uv ? m * uc + n * vc : 0);
    fg_tensor *o = fg_tensor_new(x->dtype, x->ndim - 1, shape);
    if (!o) return -1;
    if (o->size && m && n)
        RUN_KERNEL_WORK(o, batch_of(x, 2) * m * n * k * 4, k_svd_qr(0, x->dtype, x->data, batch_of(x, 2), m, n, full, uv, o->data));
    else if (o->size)
        memset(o->data, 0, (size_t)o->size * fg_dtype_size(o->dtype)); /* an empty matrix: identity-free zeros */
    *out = o;
    return 0;
}

/* TF's TridiagonalSolve, compact format: diagonals [..., 3, M], rhs
 * [..., M, K], batch dims broadcast (the rules ask for that; the facade
 * passes TF's shapes) */
int fwd_tridiagonal_solve(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
                          fg_tensor **out) {
    (void)n_in, (void)attrs, (void)nattrs;
    fg_tensor *a = in[0], *b = in[1];
    if (!is_float(a->dtype)) return not_allowed(d, a->dtype);
    if (a->dtype != b->dtype) return dtype_mismatch(d, 1, a->dtype, b->dtype);
    if (a->ndim < 2 || a->shape[a->ndim - 2] != 3)
        return fg_error_set(FG_ERR_INVALID, "Expected diagonals to be provided as a tensor of shape [..., 3, M], got %s [Op:%s]",
                            fg_shape_str(a->ndim, a->shape), d->tf_name);
    int64_t m = a->shape[a->ndim - 1];
    if (b->ndim < 2 || b->shape[b->ndim - 2] != m)
        return fg_error_set(FG_ERR_INVALID, "Expected number of left-hand sided and right-hand sides to be equal, got %lld and %lld [Op:%s]",
                            (long long)m, (long long)(b->ndim < 2 ? -1 : b->shape[b->ndim - 2]), d->tf_name);
    bcast2 bc;
    if (bcast2_init(&bc, a, b) < 0)
        return fg_error_set(FG_ERR_INVALID, "Batch shapes of diagonals and rhs do not broadcast: %s vs. %s [Op:%s]",
                            fg_shape_str(a->ndim, a->shape), fg_shape_str(b->ndim, b->shape), d->tf_name);
    int64_t k = b->shape[b->ndim - 1];
    if (m > INT_MAX || k > INT_MAX) return fg_error_set(FG_ERR_INVALID, "matrix dims exceed LAPACK's int [Op:%s]", d->tf_name);
    if (need_lapack(d) < 0) return -1;
    int64_t shape[FG_MAX_NDIM], nbatch = 1;
    memcpy(shape, bc.shape, (size_t)bc.bnd * sizeof(int64_t));
    for (int i = 0; i < bc.bnd; i++) nbatch *= bc.shape[i];
    shape[bc.bnd] = m;
    shape[bc.bnd + 1] = k;
    fg_tensor *o = fg_tensor_new(a->dtype, bc.bnd + 2, shape);
    if (!o) return -1;
    if (o->size) {
        uint8_t *st = (uint8_t *)calloc((size_t)nbatch, 1);
        if (!st) {
            fg_decref(o);
            return fg_error_set(FG_ERR_NOMEM, "out of memory");
        }
        la_job j = {(int)m, (int)k, 0, 0, 0, a->data, b->data, o->data, &bc, st};
        void *tok = fg_gil_release_if(o->size * 8);
        fg_parallel_range(la_threads(nbatch, 8.0 * m * k), nbatch, 1, PICK(a->dtype, gtsv_rows), &j);
        fg_gil_acquire(tok);
        int rc = la_status(st, nbatch, "", "");
        free(st);
        if (rc < 0) {
            fg_decref(o);
            return -1;
        }
    }
    *out = o;
    return 0;
}

/* TF's Lu: packed [..., n*n + n], the factors then the permutation */
int fwd_lu(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs, fg_tensor **out) {
    (void)n_in, (void)attrs, (void)nattrs;
    fg_tensor *x = in[0];
    if (check_square(d, x) < 0) return -1;
    int n = (int)x->shape[x->ndim - 1];
    int64_t shape[FG_MAX_NDIM];
    memcpy(shape, x->shape, (size_t)(x->ndim - 2) * sizeof(int64_t));
    shape[x->ndim - 2] = (int64_t)n * n + n;
    fg_tensor *o = fg_tensor_new(x->dtype, x->ndim - 1, shape);
    if (!o) return -1;
    if (o->size && n) RUN_KERNEL_WORK(o, o->size * n, k_lu(d, x->dtype, x->data, batch_of(x, 2), n, o->data));
    *out = o;
    return 0;
}

/* TF's Qr, attrs = [full_matrices]: packed [..., m*qc + qc*n] = Q then R */
int fwd_qr(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs, fg_tensor **out) {
    (void)n_in, (void)nattrs;
    fg_tensor *x = in[0];
    if (check_matrix(d, x) < 0) return -1;
    int m = (int)x->shape[x->ndim - 2], n = (int)x->shape[x->ndim - 1], full = attrs[0] != 0;
    int64_t k = m < n ? m : n, qc = full ? m : k, shape[FG_MAX_NDIM];
    memcpy(shape, x->shape, (size_t)(x->ndim - 2) * sizeof(int64_t));
    shape[x->ndim - 2] = m * qc + qc * n;
    fg_tensor *o = fg_tensor_new(x->dtype, x->ndim - 1, shape);
    if (!o) return -1;
    if (o->size && m)
        RUN_KERNEL_WORK(o, batch_of(x, 2) * m * n * (k + 1) * 2, k_svd_qr(1, x->dtype, x->data, batch_of(x, 2), m, n, full, 0, o->data));
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
    fg_tensor *rhs = align_tangent(c, T(1), nb, Y->ndim);
    if (T(0)) {
        fg_tensor *da = band(c, align_tangent(c, T(0), nb, Y->ndim), lower ? -1 : 0, lower ? 0 : -1);
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
    fg_tensor *rhs = align_tangent(c, T(1), nb, Y->ndim);
    if (T(0)) {
        fg_tensor *t = mm(c, align_tangent(c, T(0), nb, Y->ndim), Y, adj, 0);
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

/* ------------------------------------------------------------ svd, qr */

static fg_tensor *not_implemented(rctx *c, const char *msg) {
    if (!c->failed) fg_error_set(FG_ERR_RUNTIME, "%s", msg);
    c->failed = 1;
    return NULL;
}

/* x / (x^2 + 1e-20): TF's _SafeReciprocal, 0 at 0 */
static fg_tensor *safe_recip(rctx *c, fg_tensor *x) {
    if (c->failed || !x) return c->failed = 1, NULL;
    fg_tensor *one = cst(x->dtype, 1);
    return MUL(x, DIV(one, ADD(MUL(x, x), cst(x->dtype, 1e-20))));
}

/* [..., k] -> [..., 1, k] (row) or [..., k, 1] (column) */
static fg_tensor *as_row(rctx *c, fg_tensor *x, int column) {
    if (c->failed || !x) return c->failed = 1, NULL;
    int64_t shape[FG_MAX_NDIM];
    memcpy(shape, x->shape, (size_t)x->ndim * sizeof(int64_t));
    shape[x->ndim - 1] = column ? x->shape[x->ndim - 1] : 1;
    shape[x->ndim] = column ? 1 : x->shape[x->ndim - 1];
    return reshape_to(c, x, x->ndim + 1, shape);
}

/* [..., rows*cols] -> [..., rows, cols] */
static fg_tensor *unflat(rctx *c, fg_tensor *x, int64_t rows, int64_t cols) {
    if (c->failed || !x) return c->failed = 1, NULL;
    int64_t shape[FG_MAX_NDIM];
    memcpy(shape, x->shape, (size_t)(x->ndim - 1) * sizeof(int64_t));
    shape[x->ndim - 1] = rows, shape[x->ndim] = cols;
    return reshape_to(c, x, x->ndim + 1, shape);
}

/* x[..., :, start:start+len] */
static fg_tensor *cols(rctx *c, fg_tensor *x, int64_t start, int64_t len) { return last_slice(c, x, start, len); }

static fg_tensor *concat_last(rctx *c, int n, fg_tensor **parts) {
    for (int i = 0; i < n; i++)
        if (!parts[i]) return c->failed = 1, NULL;
    int64_t axis = parts[0]->ndim - 1;
    return ap(c, FG_OP_CONCAT, n, parts, &axis, 1);
}

typedef struct {
    int64_t m, n, k, uc, vc;
} svd_dims;

static svd_dims svd_dims_of(const fg_node *node) {
    const fg_tensor *x = X(0);
    svd_dims s;
    s.m = x->shape[x->ndim - 2], s.n = x->shape[x->ndim - 1];
    s.k = s.m < s.n ? s.m : s.n;
    s.uc = node->attrs[1] ? s.m : s.k;
    s.vc = node->attrs[1] ? s.n : s.k;
    return s;
}

/* s, U, V of a packed svd output */
static void svd_unpack(rctx *c, fg_tensor *p, svd_dims d, fg_tensor **s, fg_tensor **u, fg_tensor **v) {
    *s = last_slice(c, p, 0, d.k);
    *u = unflat(c, last_slice(c, p, d.k, d.m * d.uc), d.m, d.uc);
    *v = unflat(c, last_slice(c, p, d.k + d.m * d.uc, d.n * d.vc), d.n, d.vc);
}

/* the reduced s, U, V of X(0), recomputed (compute_uv=False keeps none) */
static void svd_reduced(rctx *c, const fg_node *node, fg_tensor **s, fg_tensor **u, fg_tensor **v) {
    int64_t at[2] = {1, 0};
    fg_tensor *x = X(0);
    fg_tensor *p = ap(c, FG_OP_SVD, 1, &x, at, 2);
    svd_dims d = svd_dims_of(node);
    d.uc = d.vc = d.k;
    svd_unpack(c, p, d, s, u, v);
}

/* TF's SvdGrad, case for case (the wider side handled by transposing) */
int bwd_svd(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    if (!need[0]) RULE_END;
    svd_dims d = svd_dims_of(node);
    fg_tensor *s, *u, *v;
    if (!node->attrs[0]) {
        svd_reduced(c, node, &s, &u, &v);
        gin[0] = give(mm(c, MUL(u, as_row(c, g, 0)), v, 0, 1));
        RULE_END;
    }
    fg_tensor *gs, *gu, *gv;
    svd_unpack(c, Y, d, &s, &u, &v);
    svd_unpack(c, g, d, &gs, &gu, &gv);
    int64_t m = d.m, n = d.n;
    int adj = m > n, full = (int)node->attrs[1];
    if (adj) {
        int64_t t = m;
        fg_tensor *x;
        m = n, n = t;
        x = u, u = v, v = x;
        x = gu, gu = gv, gv = x;
    }
    if (full && n - m > 1) {
        not_implemented(c, "svd gradient has not been implemented for abs(m - n) > 1 when full_matrices is True");
        RULE_END;
    }
    fg_tensor *smat = MDIAG(s), *s2 = MUL(s, s);
    fg_tensor *f = SET_DIAG(safe_recip(c, SUB(as_row(c, s2, 0), as_row(c, s2, 1))), zeros_like(c, s));
    fg_tensor *v1 = cols(c, v, 0, m), *gv1 = cols(c, gv, 0, m);
    fg_tensor *fu = MUL(f, mm(c, u, gu, 1, 0)), *fv = MUL(f, mm(c, v1, gv1, 1, 0));
    fg_tensor *t1 = ADD(ADD(MDIAG(gs), mm(c, ADD(fu, mT(c, fu)), smat, 0, 0)), mm(c, smat, ADD(fv, mT(c, fv)), 0, 0));
    fg_tensor *ga = mm(c, u, mm(c, t1, v1, 0, 1), 0, 0);
    if (m != n) {
        fg_tensor *gv1t = mT(c, gv1);
        fg_tensor *t2 = SUB(gv1t, mm(c, mm(c, gv1t, v1, 0, 0), v1, 0, 1));
        if (full) {
            fg_tensor *v2 = cols(c, v, m, n - m), *gv2 = cols(c, gv, m, n - m);
            t2 = SUB(t2, mm(c, mm(c, v1, gv2, 1, 0), v2, 0, 1));
        }
        ga = ADD(ga, mm(c, mm(c, u, MDIAG(safe_recip(c, s)), 0, 0), t2, 0, 0));
    }
    gin[0] = give(adj ? mT(c, ga) : ga);
    RULE_END;
}

/* reduced SVD's JVP (as JAX's svd_jvp_rule): ds = diag(U^T dA V),
 * dU = U (F o (dS S + S dS^T)) (+ the part outside U's span when m > n),
 * dV = V (F o (S dS + dS^T S)) (+ likewise when n > m) */
int jvp_svd(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    (void)nb;
    if (!T(0)) JVP_END;
    svd_dims d = svd_dims_of(node);
    fg_tensor *s, *u, *v, *da = T(0);
    if (node->attrs[0] && node->attrs[1] && d.m != d.n) {
        not_implemented(c, "the JVP of svd is implemented for full_matrices=False (or square matrices) only");
        JVP_END;
    }
    if (node->attrs[0])
        svd_unpack(c, Y, d, &s, &u, &v);
    else
        svd_reduced(c, node, &s, &u, &v);
    fg_tensor *ds_m = mm(c, u, mm(c, da, v, 0, 0), 1, 0);
    fg_tensor *ds = DIAG_PART(ds_m);
    if (!node->attrs[0]) {
        *tout = give(ds);
        JVP_END;
    }
    fg_tensor *srow = as_row(c, s, 0), *scol = as_row(c, s, 1), *s2 = MUL(s, s);
    fg_tensor *eye = eye_n(c, DT, d.k);
    fg_tensor *f = DIV(SUB(cst(DT, 1), eye), ADD(SUB(as_row(c, s2, 0), as_row(c, s2, 1)), eye));
    fg_tensor *dss = MUL(ds_m, srow), *sds = MUL(scol, ds_m);
    fg_tensor *du = mm(c, u, MUL(f, ADD(dss, mT(c, dss))), 0, 0);
    fg_tensor *dv = mm(c, v, MUL(f, ADD(sds, mT(c, sds))), 0, 0);
    if (d.m > d.n) {
        fg_tensor *dav = mm(c, da, v, 0, 0);
        du = ADD(du, DIV(SUB(dav, mm(c, u, mm(c, u, dav, 1, 0), 0, 0)), srow));
    }
    if (d.n > d.m) {
        fg_tensor *dau = mm(c, da, u, 1, 0);
        dv = ADD(dv, DIV(SUB(dau, mm(c, v, mm(c, v, dau, 1, 0), 0, 0)), srow));
    }
    fg_tensor *parts[3] = {ds, as_flat(c, du), as_flat(c, dv)};
    *tout = give(concat_last(c, 3, parts));
    JVP_END;
}

/* x r^-T for upper-triangular r: TF's _TriangularSolve in QrGrad */
static fg_tensor *rsolve_t(rctx *c, fg_tensor *x, fg_tensor *r) { return mT(c, trisolve(c, r, mT(c, x), 0, 0)); }

/* TF's _QrGradSquareAndDeepMatrices */
static fg_tensor *qr_grad_deep(rctx *c, fg_tensor *q, fg_tensor *r, fg_tensor *dq, fg_tensor *dr) {
    fg_tensor *qdq = mm(c, q, dq, 1, 0), *rdr = mm(c, r, dr, 0, 1);
    fg_tensor *tril = band(c, ADD(SUB(qdq, mT(c, qdq)), SUB(rdr, mT(c, rdr))), -1, 0);
    fg_tensor *ga = mm(c, q, ADD(dr, rsolve_t(c, tril, r)), 0, 0);
    return ADD(ga, rsolve_t(c, SUB(dq, mm(c, q, qdq, 0, 0)), r));
}

static void qr_unpack(rctx *c, const fg_node *node, fg_tensor *p, fg_tensor **q, fg_tensor **r) {
    const fg_tensor *x = X(0);
    int64_t m = x->shape[x->ndim - 2], n = x->shape[x->ndim - 1], k = m < n ? m : n, qc = node->attrs[0] ? m : k;
    *q = unflat(c, last_slice(c, p, 0, m * qc), m, qc);
    *r = unflat(c, last_slice(c, p, m * qc, qc * n), qc, n);
}

/* TF's QrGrad (arXiv:2009.10071): deep and square directly, wide by
 * partitioning A = [X, Y] into the square case */
int bwd_qr(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    if (!need[0]) RULE_END;
    int64_t m = X(0)->shape[X(0)->ndim - 2], n = X(0)->shape[X(0)->ndim - 1];
    if (node->attrs[0] && m > n) {
        not_implemented(c, "QrGrad not implemented when nrows > ncols and full_matrices is true.");
        RULE_END;
    }
    fg_tensor *q, *r, *dq, *dr;
    qr_unpack(c, node, Y, &q, &r);
    qr_unpack(c, node, g, &dq, &dr);
    if (m >= n) {
        gin[0] = give(qr_grad_deep(c, q, r, dq, dr));
        RULE_END;
    }
    fg_tensor *y = cols(c, X(0), m, n - m), *u = cols(c, r, 0, m);
    fg_tensor *dv = cols(c, dr, m, n - m), *du = cols(c, dr, 0, m);
    fg_tensor *parts[2] = {qr_grad_deep(c, q, u, ADD(dq, mm(c, y, dv, 0, 1)), du), mm(c, q, dv, 0, 0)};
    gin[0] = give(concat_last(c, 2, parts));
    RULE_END;
}

/* square or deep QR's JVP (as JAX's qr_jvp_rule): with C = Q^T dA R^-1
 * and W its strictly lower part minus that's transpose, dQ = Q (W - C) +
 * dA R^-1 and dR = (C - W) R */
static void qr_jvp_deep(rctx *c, fg_tensor *q, fg_tensor *r, fg_tensor *da, fg_tensor **dq, fg_tensor **dr) {
    fg_tensor *dar = mT(c, trisolve(c, r, mT(c, da), 0, 1));
    fg_tensor *ct = mm(c, q, dar, 1, 0);
    fg_tensor *low = SUB(band(c, ct, -1, 0), MDIAG(DIAG_PART(ct)));
    fg_tensor *w = SUB(low, mT(c, low));
    *dq = ADD(mm(c, q, SUB(w, ct), 0, 0), dar);
    *dr = mm(c, SUB(ct, w), r, 0, 0);
}

/* wide: A = [X, Y] = Q [U, V], so (dQ, dU) from the square case and dV = dQ^T Y + Q^T dY */
int jvp_qr(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    (void)nb;
    if (!T(0)) JVP_END;
    int64_t m = X(0)->shape[X(0)->ndim - 2], n = X(0)->shape[X(0)->ndim - 1];
    if (node->attrs[0] && m > n) {
        not_implemented(c, "the JVP of qr is not implemented when nrows > ncols and full_matrices is true");
        JVP_END;
    }
    fg_tensor *q, *r, *dq, *dr;
    qr_unpack(c, node, Y, &q, &r);
    if (m >= n) {
        qr_jvp_deep(c, q, r, T(0), &dq, &dr);
    } else {
        fg_tensor *du;
        qr_jvp_deep(c, q, cols(c, r, 0, m), cols(c, T(0), 0, m), &dq, &du);
        fg_tensor *y = cols(c, X(0), m, n - m);
        fg_tensor *dv = ADD(mm(c, dq, y, 1, 0), mm(c, q, cols(c, T(0), m, n - m), 1, 0));
        fg_tensor *rp[2] = {du, dv};
        dr = concat_last(c, 2, rp);
    }
    fg_tensor *parts[2] = {as_flat(c, dq), as_flat(c, dr)};
    *tout = give(concat_last(c, 2, parts));
    JVP_END;
}

/* ---------------------------------------------------------- tridiagonal */

static fg_tensor *slice_ax(rctx *c, fg_tensor *x, int axis, int64_t start, int64_t len) {
    if (c->failed || !x) return c->failed = 1, NULL;
    int nd = x->ndim;
    int64_t at[3 * FG_MAX_NDIM];
    for (int i = 0; i < nd; i++) {
        at[i] = i == axis ? start : 0;
        at[nd + i] = 1;
        at[2 * nd + i] = i == axis ? len : x->shape[i];
    }
    return ap(c, FG_OP_SLICE, 1, &x, at, 3 * nd);
}

static fg_tensor *concat_ax(rctx *c, int n, fg_tensor **parts, int axis) {
    for (int i = 0; i < n; i++)
        if (!parts[i]) return c->failed = 1, NULL;
    int64_t a = axis;
    return ap(c, FG_OP_CONCAT, n, parts, &a, 1);
}

/* out[i] = x[i + k] along axis (k = +1 or -1), zero past the ends */
static fg_tensor *shift(rctx *c, fg_tensor *x, int axis, int k) {
    if (c->failed || !x) return c->failed = 1, NULL;
    int64_t n = x->shape[axis], shape[FG_MAX_NDIM];
    memcpy(shape, x->shape, (size_t)x->ndim * sizeof(int64_t));
    shape[axis] = 1;
    fg_tensor *z = hold(c, fg_tensor_zeros(x->dtype, x->ndim, shape));
    if (n < 2) return z && n == 1 ? z : zeros_like(c, x);
    fg_tensor *parts[2];
    if (k > 0)
        parts[0] = slice_ax(c, x, axis, 1, n - 1), parts[1] = z;
    else
        parts[0] = z, parts[1] = slice_ax(c, x, axis, 0, n - 1);
    return concat_ax(c, 2, parts, axis);
}

/* row i of compact diagonals [..., 3, M] as a column [..., M, 1] */
static fg_tensor *diag_col(rctx *c, fg_tensor *dg, int i) {
    if (c->failed || !dg) return c->failed = 1, NULL;
    return mT(c, slice_ax(c, dg, dg->ndim - 2, i, 1));
}

/* the tridiagonal matrix (compact) times x [..., M, K] */
static fg_tensor *tri_matmul(rctx *c, fg_tensor *dg, fg_tensor *x) {
    if (c->failed || !x) return c->failed = 1, NULL;
    int ax = x->ndim - 2;
    return ADD(ADD(MUL(diag_col(c, dg, 0), shift(c, x, ax, 1)), MUL(diag_col(c, dg, 1), x)),
               MUL(diag_col(c, dg, 2), shift(c, x, ax, -1)));
}

/* TF's _TransposeTridiagonalMatrix: superdiagonal <- subdiagonal shifted left, and back */
static fg_tensor *tri_transpose(rctx *c, fg_tensor *dg) {
    if (c->failed || !dg) return c->failed = 1, NULL;
    int rows = dg->ndim - 2, last = dg->ndim - 1;
    fg_tensor *parts[3] = {shift(c, slice_ax(c, dg, rows, 2, 1), last, 1), slice_ax(c, dg, rows, 1, 1),
                           shift(c, slice_ax(c, dg, rows, 0, 1), last, -1)};
    return concat_ax(c, 3, parts, rows);
}

/* TF's _MatmulExtractingThreeDiagonals(x, y): the three diagonals of x y^T, compact */
static fg_tensor *tri_extract(rctx *c, fg_tensor *x, fg_tensor *y) {
    if (c->failed || !x || !y) return c->failed = 1, NULL;
    int ax = y->ndim - 2;
    fg_tensor *parts[3] = {mT(c, sum_last_axis_keep(c, MUL(x, shift(c, y, ax, 1)))),
                           mT(c, sum_last_axis_keep(c, MUL(x, y))),
                           mT(c, sum_last_axis_keep(c, MUL(x, shift(c, y, ax, -1))))};
    return concat_ax(c, 3, parts, parts[0] ? parts[0]->ndim - 2 : 0);
}

static fg_tensor *tri_solve(rctx *c, fg_tensor *dg, fg_tensor *b) {
    fg_tensor *in[2] = {dg, b};
    int64_t at = 1;
    return ap(c, FG_OP_TRIDIAGONAL_SOLVE, 2, in, &at, 1);
}

/* TF's TridiagonalSolveGrad: the transposed system solved for g, and
 * minus the three diagonals of that times X^T */
int bwd_tridiagonal_solve(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    fg_tensor *gr = tri_solve(c, tri_transpose(c, X(0)), g);
    if (need[1]) gin[1] = give(gr);
    if (need[0]) gin[0] = give(NEG(tri_extract(c, gr, Y)));
    RULE_END;
}

/* dX = T^-1 (dB - dT X) */
int jvp_tridiagonal_solve(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    fg_tensor *rhs = align_tangent(c, T(1), nb, Y->ndim);
    if (T(0)) {
        fg_tensor *t = tri_matmul(c, align_tangent(c, T(0), nb, Y->ndim), Y);
        rhs = rhs ? SUB(rhs, t) : NEG(t);
    }
    if (rhs) *tout = give(tri_solve(c, X(0), rhs));
    JVP_END;
}
