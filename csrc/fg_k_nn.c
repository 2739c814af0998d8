/* fg_k_nn.c: softmax and log_softmax over the rows of a matrix. */
#include "fg_kernels_impl.h"

/* ------------------------------------------------------------------------ */
/* Softmax                                                                  */

/* The row sum is accumulated in double (cheap, and keeps a float32 softmax
 * over a large vocabulary accurate); like TF, the result is exp(x - max)
 * times the reciprocal of the sum, and log-softmax is x - max - log(sum). */
#define DEF_SOFTMAX(S, T, M)                                                  \
    static void softmax_rows_##S(const T *x, T *o, int64_t r0, int64_t r1,   \
                                 int64_t cols, int lg)                        \
    {                                                                         \
        for (int64_t r = r0; r < r1; r++) {                                   \
            const T *xr = x + r * cols;                                       \
            T *orow = o + r * cols;                                           \
            T mx = xr[0];                                                     \
            double s = 0;                                                     \
            for (int64_t c = 1; c < cols; c++) mx = R_MAXF(mx, xr[c]);        \
            if (!lg) {                                                        \
                T inv;                                                        \
                for (int64_t c = 0; c < cols; c++) {                          \
                    const T e = M(exp)(xr[c] - mx);                           \
                    orow[c] = e;                                              \
                    s += e;                                                   \
                }                                                             \
                inv = (T)(1.0 / s);                                           \
                FG_SIMD for (int64_t c = 0; c < cols; c++) orow[c] *= inv;    \
            } else {                                                          \
                T lse;                                                        \
                for (int64_t c = 0; c < cols; c++) s += M(exp)(xr[c] - mx);   \
                lse = (T)log(s);                                              \
                FG_SIMD for (int64_t c = 0; c < cols; c++)                    \
                    orow[c] = (xr[c] - mx) - lse;                             \
            }                                                                 \
        }                                                                     \
    }
DEF_SOFTMAX(f32, float, FG_MF32)
DEF_SOFTMAX(f64, double, FG_MF64)

typedef struct {
    int dtype, lg;
    const void *x;
    void *o;
    int64_t cols;
} sm_job;

static void softmax_range(void *v, int64_t lo, int64_t hi)
{
    const sm_job *j = (const sm_job *)v;
    if (j->dtype == FG_F32)
        softmax_rows_f32((const float *)j->x, (float *)j->o, lo, hi, j->cols, j->lg);
    else
        softmax_rows_f64((const double *)j->x, (double *)j->o, lo, hi, j->cols, j->lg);
}

int fg_k_softmax(int dtype, const void *x, int64_t rows, int64_t cols, void *out, int lg)
{
    sm_job j;
    int nt;
    if (!is_float(dtype)) return err_dtype("softmax", dtype);
    if (rows < 0 || cols < 0) {
        fg_error_set(FG_ERR_INVALID, "softmax: negative size");
        return -1;
    }
    if (rows == 0 || cols == 0) return 0;
    j.dtype = dtype;
    j.lg = lg;
    j.x = x;
    j.o = out;
    j.cols = cols;
    nt = fg_threads_for(rows * cols * 4); /* exp is worth several plain ops */
    if (nt <= 1)
        softmax_range(&j, 0, rows);
    else
        run_range(nt, rows, 1, softmax_range, &j);
    return 0;
}
