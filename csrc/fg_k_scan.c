/* fg_k_scan.c: scans and index kernels -- cumulative sums and products,
 * arg-reductions, one_hot and the coordinates of true elements.
 *
 * Each works on the [outer, n, inner] view of its input around the axis:
 * lines along the axis are independent, so threads split the outer rows
 * and every line is computed serially in one fixed order. Results are
 * bitwise the same at any thread count.
 */
#include <math.h>
#include <string.h>

#include "fg_kernels.h"
#include "fg_parallel.h"
#include "fg_tensor.h"

/* ---------------------------------------------------------------- scans */

typedef struct {
    int kind, excl, rev;
    const void *x;
    void *y;
    int64_t n, inner;
} scan_job;

/* One outer row: the n x inner block, inner lines advanced together (the
 * inner loop is contiguous and vectorises). */
#define DEF_SCAN(S, T)                                                                  \
    static void scan_rows_##S(void *v, int64_t lo, int64_t hi) {                       \
        const scan_job *j = (const scan_job *)v;                                       \
        const int64_t n = j->n, m = j->inner;                                          \
        const int prod = j->kind == FG_S_PROD;                                         \
        const T init = prod ? (T)1 : (T)0;                                             \
        for (int64_t o = lo; o < hi; o++) {                                            \
            const T *x = (const T *)j->x + o * n * m;                                  \
            T *y = (T *)j->y + o * n * m;                                              \
            for (int64_t s = 0; s < n; s++) {                                          \
                int64_t k = j->rev ? n - 1 - s : s, kp = j->rev ? k + 1 : k - 1;       \
                T *yk = y + k * m;                                                     \
                if (s == 0) {                                                          \
                    if (j->excl)                                                       \
                        for (int64_t i = 0; i < m; i++) yk[i] = init;                  \
                    else                                                               \
                        memcpy(yk, x + k * m, (size_t)m * sizeof(T));                  \
                    continue;                                                          \
                }                                                                      \
                const T *yp = y + kp * m, *xs = x + (j->excl ? kp : k) * m;            \
                if (prod)                                                              \
                    for (int64_t i = 0; i < m; i++) yk[i] = yp[i] * xs[i];             \
                else                                                                   \
                    for (int64_t i = 0; i < m; i++) yk[i] = yp[i] + xs[i];             \
            }                                                                          \
        }                                                                              \
    }
DEF_SCAN(f32, float)
DEF_SCAN(f64, double)
/* integers wrap, as TF's: unsigned arithmetic, no undefined overflow */
DEF_SCAN(u32, uint32_t)
DEF_SCAN(u64, uint64_t)

int fg_k_scan(int kind, int dtype, const void *x, int64_t outer, int64_t n, int64_t inner, int exclusive,
              int reverse, void *y) {
    fg_range_fn fn;
    switch (dtype) {
    case FG_F32: fn = scan_rows_f32; break;
    case FG_F64: fn = scan_rows_f64; break;
    case FG_I32: fn = scan_rows_u32; break;
    case FG_I64: fn = scan_rows_u64; break;
    default: return fg_error_set(FG_ERR_INVALID, "scan: unsupported dtype %d", dtype);
    }
    if (outer == 0 || n == 0 || inner == 0) return 0;
    scan_job j = {kind, exclusive, reverse, x, y, n, inner};
    fg_parallel_range(fg_threads_for(outer * n * inner), outer, 1, fn, &j);
    return 0;
}

/* ------------------------------------------------------ arg-reductions */

typedef struct {
    int is_max, out_dtype;
    const void *x;
    void *out;
    int64_t n, inner;
} arg_job;

/* Eigen's ArgMax/ArgMin, as TF runs them: start from the lowest (highest)
 * value at index 0 and move only on a strict improvement, so the first of
 * ties wins and NaN never does. */
#define DEF_ARG(S, T, LOWEST, HIGHEST)                                                    \
    static void arg_rows_##S(void *v, int64_t lo, int64_t hi) {                          \
        const arg_job *j = (const arg_job *)v;                                           \
        const int64_t n = j->n, m = j->inner;                                            \
        for (int64_t r = lo; r < hi; r++) {                                              \
            int64_t o = r / m, i = r % m;                                                \
            const T *x = (const T *)j->x + o * n * m + i;                                \
            int64_t best = 0;                                                            \
            T bv = j->is_max ? (LOWEST) : (HIGHEST);                                     \
            if (j->is_max) {                                                             \
                for (int64_t k = 0; k < n; k++)                                          \
                    if (x[k * m] > bv) bv = x[k * m], best = k;                          \
            } else {                                                                     \
                for (int64_t k = 0; k < n; k++)                                          \
                    if (x[k * m] < bv) bv = x[k * m], best = k;                          \
            }                                                                            \
            if (j->out_dtype == FG_I32)                                                  \
                ((int32_t *)j->out)[r] = (int32_t)best;                                  \
            else                                                                         \
                ((int64_t *)j->out)[r] = best;                                           \
        }                                                                                \
    }
DEF_ARG(f32, float, -INFINITY, INFINITY)
DEF_ARG(f64, double, -INFINITY, INFINITY)
DEF_ARG(i32, int32_t, INT32_MIN, INT32_MAX)
DEF_ARG(i64, int64_t, INT64_MIN, INT64_MAX)

int fg_k_arg_reduce(int is_max, int dtype, const void *x, int64_t outer, int64_t n, int64_t inner,
                    int out_dtype, void *out) {
    fg_range_fn fn;
    switch (dtype) {
    case FG_F32: fn = arg_rows_f32; break;
    case FG_F64: fn = arg_rows_f64; break;
    case FG_I32: fn = arg_rows_i32; break;
    case FG_I64: fn = arg_rows_i64; break;
    default: return fg_error_set(FG_ERR_INVALID, "arg reduction: unsupported dtype %d", dtype);
    }
    arg_job j = {is_max, out_dtype, x, out, n, inner};
    fg_parallel_range(fg_threads_for(outer * n * inner), outer * inner, 1, fn, &j);
    return 0;
}

/* -------------------------------------------------------------- one_hot */

/* out has the [outer, depth, inner] view: outer x inner indices, the new
 * axis of length depth between them. Indices outside [0, depth) give a
 * row of off values, as TF. */
int fg_k_one_hot(int idx_dtype, const void *idx, int64_t outer, int64_t depth, int64_t inner, int dtype,
                 const void *on, const void *off, void *out) {
    size_t es = fg_dtype_size(dtype);
    char *o = (char *)out;
    for (int64_t a = 0; a < outer; a++)
        for (int64_t d = 0; d < depth; d++)
            for (int64_t b = 0; b < inner; b++) {
                int64_t r = a * inner + b;
                int64_t v = idx_dtype == FG_I32 ? ((const int32_t *)idx)[r] : ((const int64_t *)idx)[r];
                memcpy(o + ((a * depth + d) * inner + b) * es, v == d ? on : off, es);
            }
    return 0;
}

/* -------------------------------------------------- where(condition) */

int64_t fg_k_count_true(const uint8_t *c, int64_t n) {
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) k += c[i] != 0;
    return k;
}

/* The row-major coordinates of the true elements, [count, ndim] int64. */
void fg_k_where_indices(const uint8_t *c, int ndim, const int64_t *shape, int64_t *out) {
    int64_t n = 1, coord[FG_MAX_NDIM] = {0};
    for (int d = 0; d < ndim; d++) n *= shape[d];
    for (int64_t i = 0; i < n; i++) {
        if (c[i]) {
            memcpy(out, coord, (size_t)ndim * sizeof(int64_t));
            out += ndim;
        }
        for (int d = ndim - 1; d >= 0; d--) {
            if (++coord[d] < shape[d]) break;
            coord[d] = 0;
        }
    }
}
