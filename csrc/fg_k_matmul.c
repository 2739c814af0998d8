/* fg_k_matmul.c: batched matmul: blocked GEMM, or the BLAS set by fg_set_blas(). */
#if defined(__linux__) || defined(__APPLE__)
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#define FG_HAVE_DLADDR 1
#include "fg_glibc.h"
#endif
#include "fg_interrupt.h"
#include "fg_kernels_impl.h"

/* ------------------------------------------------------------------------ */
/* Matmul                                                                   */

static fg_sgemm_fn blas_sgemm = NULL;
static fg_dgemm_fn blas_dgemm = NULL;

/* Ask the BLAS library that holds sgemm to run each call on one thread
 * (mm_blas shares the rows out on fastgrad's own, passive, threads).
 * Found by the names OpenBLAS builds export; another BLAS keeps its own
 * threading. Returns 1 when the library was told. */
static int blas_single_threaded(void *sym)
{
#ifdef FG_HAVE_DLADDR
    static const char *const names[] = {
        "scipy_openblas_set_num_threads", "openblas_set_num_threads",
        "scipy_openblas_set_num_threads64_", "openblas_set_num_threads64_",
    };
    Dl_info info;
    void *lib;
    int done = 0;
    if (!dladdr(sym, &info) || !info.dli_fname) return 0;
    lib = dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD);
    if (!lib) return 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !done; i++) {
        void (*set)(int) = (void (*)(int))dlsym(lib, names[i]);
        if (set) {
            set(1);
            done = 1;
        }
    }
    dlclose(lib);
    return done;
#else
    (void)sym;
    return 0;
#endif
}

void fg_set_blas(fg_sgemm_fn sgemm, fg_dgemm_fn dgemm)
{
    blas_sgemm = sgemm;
    blas_dgemm = dgemm;
    if (sgemm) blas_single_threaded((void *)sgemm);
}

int fg_have_blas(void) { return blas_sgemm != NULL && blas_dgemm != NULL; }

#define GEMM_NB 256 /* columns of C (and B) per panel */
#define GEMM_KB 128 /* rows of B per panel: a panel stays in L2 */

#define MADD_F(c, a, b) ((c) + (a) * (b))
#define MADD_I32(c, a, b) ((int32_t)((uint32_t)(c) + (uint32_t)(a) * (uint32_t)(b)))
#define MADD_I64(c, a, b) ((int64_t)((uint64_t)(c) + (uint64_t)(a) * (uint64_t)(b)))

/* C[i0:i1] = A[i0:i1] B, row-major A (m x k), B (k x n), C (m x n). Each
 * C element accumulates over p in increasing order whatever the row split,
 * so results do not depend on threads. */
#define DEF_GEMM(S, T, MADD)                                                  \
    static void gemm_rows_##S(const T *A, const T *B, T *C, int64_t i0,      \
                              int64_t i1, int64_t n, int64_t k)               \
    {                                                                         \
        memset(C + i0 * n, 0, sizeof(T) * (size_t)((i1 - i0) * n));           \
        for (int64_t jb = 0; jb < n; jb += GEMM_NB) {                         \
            const int64_t jw = n - jb < GEMM_NB ? n - jb : GEMM_NB;           \
            for (int64_t pb = 0; pb < k; pb += GEMM_KB) {                     \
                const int64_t pe = k - pb < GEMM_KB ? k : pb + GEMM_KB;       \
                for (int64_t i = i0; i < i1; i++) {                           \
                    T *c = C + i * n + jb;                                    \
                    const T *a = A + i * k;                                   \
                    for (int64_t p = pb; p < pe; p++) {                       \
                        const T av = a[p];                                    \
                        const T *b = B + p * n + jb;                          \
                        FG_SIMD for (int64_t j = 0; j < jw; j++)              \
                            c[j] = MADD(c[j], av, b[j]);                      \
                    }                                                         \
                }                                                             \
            }                                                                 \
        }                                                                     \
    }
DEF_GEMM(f32, float, MADD_F)
DEF_GEMM(f64, double, MADD_F)
DEF_GEMM(i32, int32_t, MADD_I32)
DEF_GEMM(i64, int64_t, MADD_I64)

typedef struct {
    int dtype, bnd;
    int64_t es, m, n, k;
    const int64_t *bshape;
    int64_t astr[FG_MAX_NDIM], bstr[FG_MAX_NDIM]; /* in matrices; 0 = broadcast */
    const char *a, *b;
    char *c;
} mm_job;

static void mm_offsets(const mm_job *j, int64_t bi, int64_t *ao, int64_t *bo)
{
    int64_t oa = 0, ob = 0;
    for (int d = j->bnd - 1; d >= 0; d--) {
        int64_t i = bi % j->bshape[d];
        bi /= j->bshape[d];
        oa += i * j->astr[d];
        ob += i * j->bstr[d];
    }
    *ao = oa;
    *bo = ob;
}

/* rows [lo, hi) of the stacked output [batch * m, n] */
static void mm_rows(void *v, int64_t lo, int64_t hi)
{
    const mm_job *j = (const mm_job *)v;
    const int64_t m = j->m, n = j->n, k = j->k, es = j->es;
    int64_t bi = lo / m, i0 = lo % m;
    while (lo < hi) {
        int64_t i1 = m - i0 < hi - lo ? m : i0 + (hi - lo), ao, bo;
        const char *A, *B;
        char *C = j->c + bi * m * n * es;
        mm_offsets(j, bi, &ao, &bo);
        A = j->a + ao * m * k * es;
        B = j->b + bo * k * n * es;
        switch (j->dtype) {
        case FG_F32:
            gemm_rows_f32((const float *)A, (const float *)B, (float *)C, i0, i1, n, k);
            break;
        case FG_F64:
            gemm_rows_f64((const double *)A, (const double *)B, (double *)C, i0, i1, n, k);
            break;
        case FG_I32:
            gemm_rows_i32((const int32_t *)A, (const int32_t *)B, (int32_t *)C, i0, i1, n, k);
            break;
        default:
            gemm_rows_i64((const int64_t *)A, (const int64_t *)B, (int64_t *)C, i0, i1, n, k);
            break;
        }
        lo += i1 - i0;
        bi++;
        i0 = 0;
    }
}

/* BLAS runs one thread per call (the glue asks OpenBLAS for that: its own
 * pool spin-waits, and on a shared machine a spinning pool stalled 10x);
 * the parallelism is ours, over row chunks of C. The chunks are fixed, not
 * a share per thread, so every gemm call, and so every result, is the same
 * at any thread count. */
#define MM_BLAS_ROWS 64
#define MM_BLAS_PARALLEL_MACS (1 << 20)

typedef struct {
    const mm_job *j;
    int64_t chunks; /* row chunks per matrix */
    int trans_a, trans_b;
    int stop_ok; /* Ctrl-C may stop the caller's kernel (fg_interrupt.h) */
} mm_blas_ctx;

/* Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T, i.e.
 * gemm with the operands swapped and the same trans flags; rows [r0, r1)
 * of C are columns of C^T: offset op(A) and C, keep the leading dims. */
static void mm_blas_tasks(void *v, int64_t lo, int64_t hi)
{
    const mm_blas_ctx *x = (const mm_blas_ctx *)v;
    const mm_job *j = x->j;
    char ta = x->trans_b ? 'T' : 'N', tb = x->trans_a ? 'T' : 'N';
    int M = (int)j->n, K = (int)j->k;
    int lda = (int)(x->trans_b ? j->k : j->n), ldb = (int)(x->trans_a ? j->m : j->k), ldc = (int)j->n;
    const int64_t es = j->es, msz = j->m * j->k, nsz = j->k * j->n, csz = j->m * j->n;
    for (int64_t t = lo; t < hi; t++) {
        int64_t bi = t / x->chunks, r0 = (t % x->chunks) * MM_BLAS_ROWS;
        /* between panels: RUN_KERNEL drops the partial product */
        if (x->stop_ok && fg_interrupt_pending()) return;
        int64_t r1 = r0 + MM_BLAS_ROWS < j->m ? r0 + MM_BLAS_ROWS : j->m;
        int N = (int)(r1 - r0);
        int64_t ao, bo, a_off = x->trans_a ? r0 : r0 * j->k;
        mm_offsets(j, bi, &ao, &bo);
        if (j->dtype == FG_F32) {
            float alpha = 1.0f, beta = 0.0f;
            blas_sgemm(&ta, &tb, &M, &N, &K, &alpha, (float *)(j->b + bo * nsz * es), &lda,
                       (float *)(j->a + (ao * msz + a_off) * es), &ldb, &beta,
                       (float *)(j->c + (bi * csz + r0 * j->n) * es), &ldc);
        } else {
            double alpha = 1.0, beta = 0.0;
            blas_dgemm(&ta, &tb, &M, &N, &K, &alpha, (double *)(j->b + bo * nsz * es), &lda,
                       (double *)(j->a + (ao * msz + a_off) * es), &ldb, &beta,
                       (double *)(j->c + (bi * csz + r0 * j->n) * es), &ldc);
        }
    }
}

static void mm_blas(const mm_job *j, int64_t nbatch, int trans_a, int trans_b)
{
    mm_blas_ctx x;
    x.j = j;
    x.chunks = (j->m + MM_BLAS_ROWS - 1) / MM_BLAS_ROWS;
    x.trans_a = trans_a;
    x.trans_b = trans_b;
    x.stop_ok = fg_interrupt_armed();
    double macs = (double)nbatch * (double)j->m * (double)j->n * (double)j->k;
    int nt = macs >= MM_BLAS_PARALLEL_MACS ? fg_get_num_threads() : 1;
    run_range(nt, nbatch * x.chunks, 1, mm_blas_tasks, &x);
}

int fg_k_matmul(int dtype, const void *a, const void *b, void *out, int out_bnd,
                const int64_t *out_bshape, const int64_t *a_bshape, const int64_t *b_bshape,
                int64_t m, int64_t n, int64_t k, int trans_a, int trans_b)
{
    mm_job j;
    int64_t es = dt_size(dtype), nbatch, na = 1, nb = 1, sa = 1, sb = 1;
    int a_full = 1, b_bcast = 1, rc = 0;
    char *ta_buf = NULL, *tb_buf = NULL;
    if (!is_num(dtype)) return err_dtype("matmul", dtype);
    if (m < 0 || n < 0 || k < 0) {
        fg_error_set(FG_ERR_INVALID, "matmul: negative matrix dimension");
        return -1;
    }
    if (shape_size("matmul", out_bnd, out_bshape, &nbatch)) return -1;
    memset(&j, 0, sizeof j);
    for (int d = out_bnd - 1; d >= 0; d--) {
        if ((a_bshape[d] != 1 && a_bshape[d] != out_bshape[d]) ||
            (b_bshape[d] != 1 && b_bshape[d] != out_bshape[d])) {
            fg_error_set(FG_ERR_INVALID, "matmul: batch shapes %s and %s do not broadcast to %s",
                         fg_shape_str(out_bnd, a_bshape), fg_shape_str(out_bnd, b_bshape),
                         fg_shape_str(out_bnd, out_bshape));
            return -1;
        }
        j.astr[d] = a_bshape[d] == 1 ? 0 : sa;
        j.bstr[d] = b_bshape[d] == 1 ? 0 : sb;
        sa *= a_bshape[d];
        sb *= b_bshape[d];
        na *= a_bshape[d];
        nb *= b_bshape[d];
        if (a_bshape[d] != out_bshape[d]) a_full = 0;
        if (b_bshape[d] != 1) b_bcast = 0;
    }
    if (nbatch == 0 || m == 0 || n == 0) return 0;
    if (k == 0) {
        par_memzero(out, nbatch * m * n * es);
        return 0;
    }
    j.dtype = dtype;
    j.es = es;
    j.bnd = out_bnd;
    j.bshape = out_bshape;
    j.m = m;
    j.n = n;
    j.k = k;
    j.a = (const char *)a;
    j.b = (const char *)b;
    j.c = (char *)out;
    /* [batch, m, k] @ [k, n]: one [batch*m, k] @ [k, n] product */
    if (a_full && b_bcast && !trans_a && nbatch > 1) {
        j.m = m * nbatch;
        j.bnd = 0;
        nbatch = 1;
    }
    if (is_float(dtype) && fg_have_blas() && j.m <= INT_MAX && n <= INT_MAX && k <= INT_MAX) {
        mm_blas(&j, nbatch, trans_a, trans_b);
        return 0;
    }
    /* C loop: bring transposed operands to [.., m, k] / [.., k, n] first */
    if (trans_a) {
        int64_t sh[3] = {na, k, j.m};
        int perm[3] = {0, 2, 1};
        ta_buf = (char *)malloc((size_t)(na * j.m * k * es));
        if (!ta_buf) return err_nomem("matmul");
        if ((rc = transpose_impl("matmul", es, a, 3, sh, perm, ta_buf))) goto done;
        j.a = ta_buf;
    }
    if (trans_b) {
        int64_t sh[3] = {nb, n, k};
        int perm[3] = {0, 2, 1};
        tb_buf = (char *)malloc((size_t)(nb * n * k * es));
        if (!tb_buf) {
            rc = err_nomem("matmul");
            goto done;
        }
        if ((rc = transpose_impl("matmul", es, b, 3, sh, perm, tb_buf))) goto done;
        j.b = tb_buf;
    }
    {
        double work = (double)nbatch * (double)j.m * (double)n * (double)k;
        int64_t rows = nbatch * j.m;
        int nt = fg_threads_for(work > 1e15 ? (int64_t)1e15 : (int64_t)work);
        if (nt <= 1)
            mm_rows(&j, 0, rows);
        else
            run_range(nt, rows, 1, mm_rows, &j);
    }
done:
    free(ta_buf);
    free(tb_buf);
    return rc;
}
