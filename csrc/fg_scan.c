/* fg_scan.c: the scan and index op family -- cumsum, cumprod, argmax,
 * argmin, integer mean, one_hot and where(condition): kernels, forwards and
 * rules in one file (fg_ops.def declares what the table names).
 *
 * Kernels work on the [outer, n, inner] view of the input around the axis:
 * lines along the axis are independent, so threads split the outer rows
 * and every line is computed serially in one fixed order. Results are
 * bitwise the same at any thread count.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fg_forward_util.h"
#include "fg_kernels.h"
#include "fg_parallel.h"
#include "fg_rules.h"


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

/* cumulative_logsumexp: a running log(exp(a) + exp(b)) as TF's LogSumExp,
 * max + log1p(exp(min - max)), except that two -inf give -inf (TF's
 * result; the formula alone gives NaN) */
#define DEF_SCAN_LSE(S, T, LOG1P, EXP)                                                   \
    static inline T lse2_##S(T a, T b) {                                                \
        T mi = a < b ? a : b, ma = a < b ? b : a;                                       \
        return ma == -(T)INFINITY ? ma : ma + LOG1P(EXP(mi - ma));                      \
    }                                                                                   \
    static void scan_lse_rows_##S(void *v, int64_t lo, int64_t hi) {                   \
        const scan_job *j = (const scan_job *)v;                                       \
        const int64_t n = j->n, m = j->inner;                                          \
        for (int64_t o = lo; o < hi; o++) {                                            \
            const T *x = (const T *)j->x + o * n * m;                                  \
            T *y = (T *)j->y + o * n * m;                                              \
            for (int64_t s = 0; s < n; s++) {                                          \
                int64_t k = j->rev ? n - 1 - s : s, kp = j->rev ? k + 1 : k - 1;       \
                T *yk = y + k * m;                                                     \
                if (s == 0) {                                                          \
                    for (int64_t i = 0; i < m; i++) yk[i] = j->excl ? -(T)INFINITY : x[k * m + i]; \
                    continue;                                                          \
                }                                                                      \
                const T *yp = y + kp * m, *xs = x + (j->excl ? kp : k) * m;            \
                for (int64_t i = 0; i < m; i++) yk[i] = lse2_##S(yp[i], xs[i]);        \
            }                                                                          \
        }                                                                              \
    }
DEF_SCAN_LSE(f32, float, log1pf, expf)
DEF_SCAN_LSE(f64, double, log1p, exp)

static int k_scan(int kind, int dtype, const void *x, int64_t outer, int64_t n, int64_t inner, int exclusive,
              int reverse, void *y) {
    fg_range_fn fn;
    switch (dtype) {
    case FG_F32: fn = kind == FG_S_LSE ? scan_lse_rows_f32 : scan_rows_f32; break;
    case FG_F64: fn = kind == FG_S_LSE ? scan_lse_rows_f64 : scan_rows_f64; break;
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

static int k_arg_reduce(int is_max, int dtype, const void *x, int64_t outer, int64_t n, int64_t inner,
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
static int k_one_hot(int idx_dtype, const void *idx, int64_t outer, int64_t depth, int64_t inner, int dtype,
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

static int64_t k_count_true(const uint8_t *c, int64_t n) {
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) k += c[i] != 0;
    return k;
}

/* The row-major coordinates of the true elements, [count, ndim] int64. */
static void k_where_indices(const uint8_t *c, int ndim, const int64_t *shape, int64_t *out) {
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

/* ------------------------------------------------------------- forwards */

/* [outer, n, inner] around axis */
static void axis_view(const fg_tensor *x, int axis, int64_t *outer, int64_t *n, int64_t *inner) {
    *outer = 1, *inner = 1;
    for (int i = 0; i < axis; i++) *outer *= x->shape[i];
    for (int i = axis + 1; i < x->ndim; i++) *inner *= x->shape[i];
    *n = x->ndim ? x->shape[axis] : 1;
}

/* attrs = [axis, exclusive, reverse] */
int fwd_scan(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
                    fg_tensor **out) {
    (void)n_in, (void)nattrs;
    fg_tensor *x = in[0];
    int axis;
    if (x->dtype == FG_BOOL || (d->kind == FG_S_LSE && x->dtype != FG_F32 && x->dtype != FG_F64))
        return not_allowed(d, x->dtype);
    if (x->ndim == 0)
        return fg_error_set(FG_ERR_INVALID, "ScanOp: Expected scan axis in the range [0, 0), but got %lld [Op:%s]",
                            (long long)attrs[0], d->tf_name);
    if (attrs[0] < -x->ndim || attrs[0] >= x->ndim)
        return fg_error_set(FG_ERR_INVALID, "ScanOp: Expected scan axis in the range [%d, %d), but got %lld [Op:%s]",
                            -x->ndim, x->ndim, (long long)attrs[0], d->tf_name);
    axis = (int)(attrs[0] < 0 ? attrs[0] + x->ndim : attrs[0]);
    int64_t outer, n, inner;
    axis_view(x, axis, &outer, &n, &inner);
    fg_tensor *o = fg_tensor_new(x->dtype, x->ndim, x->shape);
    if (!o) return -1;
    RUN_KERNEL(o, k_scan(d->kind, x->dtype, x->data, outer, n, inner, (int)attrs[1], (int)attrs[2], o->data));
    *out = o;
    return 0;
}

/* attrs = [axis, output dtype] */
int fwd_arg_reduce(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
                          fg_tensor **out) {
    (void)n_in, (void)nattrs;
    fg_tensor *x = in[0];
    int axis, odt = (int)attrs[1];
    if (x->dtype == FG_BOOL) return not_allowed(d, x->dtype);
    if (odt != FG_I32 && odt != FG_I64)
        return fg_error_set(FG_ERR_INVALID, "Value for attr 'output_type' of %s is not in the list of allowed values: int32, int64 [Op:%s]",
                            tf_dtype(odt), d->tf_name);
    if (x->ndim == 0)
        return fg_error_set(FG_ERR_INVALID, "Expected dimension in the range [0, 0), but got %lld [Op:%s]",
                            (long long)attrs[0], d->tf_name);
    if (attrs[0] < -x->ndim || attrs[0] >= x->ndim)
        return fg_error_set(FG_ERR_INVALID, "Expected dimension in the range [%d, %d), but got %lld [Op:%s]",
                            -x->ndim, x->ndim, (long long)attrs[0], d->tf_name);
    axis = (int)(attrs[0] < 0 ? attrs[0] + x->ndim : attrs[0]);
    int64_t outer, n, inner, shape[FG_MAX_NDIM];
    axis_view(x, axis, &outer, &n, &inner);
    if (n == 0)
        return fg_error_set(FG_ERR_INVALID, "Reduction axis %d is empty in shape %s [Op:%s]", axis,
                            fg_shape_str(x->ndim, x->shape), d->tf_name);
    int nd = 0;
    for (int i = 0; i < x->ndim; i++)
        if (i != axis) shape[nd++] = x->shape[i];
    fg_tensor *o = fg_tensor_new(odt, nd, shape);
    if (!o) return -1;
    RUN_KERNEL(o, k_arg_reduce(d->kind == FG_R_MAX, x->dtype, x->data, outer, n, inner, odt, o->data));
    *out = o;
    return 0;
}

/* TF's integer Mean: the sum (wrapping) divided by the count with C's
 * truncation toward zero; a float mean is sum / count (fg_reduce_mean). */
int fwd_reduce_mean_int(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs,
                               int nattrs, fg_tensor **out) {
    fg_tensor *x = in[0];
    if (x->dtype != FG_I32 && x->dtype != FG_I64) return not_allowed(d, x->dtype);
    fg_tensor *s = NULL;
    if (fwd_reduce(&fg_ops[FG_OP_REDUCE_SUM], in, n_in, attrs, nattrs, &s) < 0) return -1;
    int64_t count = 1;
    for (int i = 0; i < x->ndim; i++)
        if (attrs[1 + i]) count *= x->shape[i];
    fg_tensor *n = fg_tensor_scalar(x->dtype, (double)(count ? count : 1));
    if (!n) {
        fg_decref(s);
        return -1;
    }
    fg_tensor *o = fg_tensor_new(x->dtype, s->ndim, s->shape);
    int rc = o ? fg_k_binary(FG_B_TRUNCDIV, x->dtype, s->data, s->ndim, s->shape, n->data, 0, NULL, o->data,
                             s->ndim, s->shape)
               : -1;
    fg_decref(s);
    fg_decref(n);
    if (rc < 0) {
        fg_decref(o);
        return -1;
    }
    *out = o;
    return 0;
}

/* inputs (indices, on_value, off_value); attrs = [depth, axis] */
int fwd_one_hot(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
                       fg_tensor **out) {
    (void)n_in;
    fg_tensor *idx = in[0], *on = in[1], *off = in[2];
    int64_t depth = attrs[0], axis = attrs[1];
    if (idx->dtype != FG_I32 && idx->dtype != FG_I64)
        return fg_error_set(FG_ERR_INVALID, "Value for attr 'TI' of %s is not in the list of allowed values: uint8, int8, int32, int64 [Op:%s]",
                            tf_dtype(idx->dtype), d->tf_name);
    if (on->dtype != off->dtype) return dtype_mismatch(d, 3, on->dtype, off->dtype);
    if (on->ndim || off->ndim)
        return fg_error_set(FG_ERR_INVALID, "%s must be a scalar, but got: %s [Op:%s]", on->ndim ? "on_value" : "off_value",
                            fg_shape_str(on->ndim ? on->ndim : off->ndim, on->ndim ? on->shape : off->shape), d->tf_name);
    if (depth < 0) return fg_error_set(FG_ERR_INVALID, "depth must be non-negative, got: %lld [Op:%s]", (long long)depth, d->tf_name);
    if (axis < -1 || axis > idx->ndim)
        return fg_error_set(FG_ERR_INVALID, "Expected axis to be -1 or between [0, %d).  But received: %lld [Op:%s]",
                            idx->ndim + 1, (long long)axis, d->tf_name);
    if (idx->ndim + 1 > FG_MAX_NDIM)
        return fg_error_set(FG_ERR_INVALID, "one_hot result rank %d exceeds %d", idx->ndim + 1, FG_MAX_NDIM);
    for (int64_t i = 0; nattrs > 2 && attrs[2] && i < idx->size; i++) {
        int64_t v = idx->dtype == FG_I32 ? ((const int32_t *)idx->data)[i] : ((const int64_t *)idx->data)[i];
        if (v < 0 || v >= depth)
            return fg_error_set(FG_ERR_INVALID, "Received a label value of %lld which is outside the valid range of [0, %lld).",
                                (long long)v, (long long)depth);
    }
    int ax = (int)(axis < 0 ? idx->ndim : axis);
    int64_t shape[FG_MAX_NDIM], outer = 1, inner = 1;
    for (int i = 0, k = 0; i <= idx->ndim; i++) shape[i] = i == ax ? depth : idx->shape[k++];
    for (int i = 0; i < ax; i++) outer *= idx->shape[i];
    for (int i = ax; i < idx->ndim; i++) inner *= idx->shape[i];
    fg_tensor *o = fg_tensor_new(on->dtype, idx->ndim + 1, shape);
    if (!o) return -1;
    RUN_KERNEL(o, k_one_hot(idx->dtype, idx->data, outer, depth, inner, on->dtype, on->data, off->data, o->data));
    *out = o;
    return 0;
}

/* where(condition): [count, ndim] int64 coordinates, row-major order */
int fwd_where_indices(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
                             fg_tensor **out) {
    (void)n_in, (void)attrs, (void)nattrs;
    fg_tensor *x = in[0];
    if (x->dtype != FG_BOOL) return dtype_mismatch(d, 0, FG_BOOL, x->dtype);
    int64_t shape[2] = {k_count_true((const uint8_t *)x->data, x->size), x->ndim};
    fg_tensor *o = fg_tensor_new(FG_I64, 2, shape);
    if (!o) return -1;
    k_where_indices((const uint8_t *)x->data, x->ndim, x->shape, (int64_t *)o->data);
    *out = o;
    return 0;
}

/* ---------------------------------------------------------------- rules */

static fg_tensor *scan(rctx *c, int op, fg_tensor *x, int64_t axis, int64_t excl, int64_t rev) {
    int64_t at[3] = {axis, excl, rev};
    return ap(c, op, 1, &x, at, 3);
}

/* TF's CumsumGrad: the scan of g the other way */
int bwd_cumsum(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    const int64_t *a = node->attrs;
    if (need[0]) gin[0] = give(scan(c, FG_OP_CUMSUM, g, a[0], a[1], !a[2]));
    RULE_END;
}

/* TF's CumprodGrad: cumsum(y * g) the other way, divided by x with
 * div_no_nan (so an x of 0 gets 0, as TF, not the product of the rest). */
int bwd_cumprod(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    const int64_t *a = node->attrs;
    if (need[0])
        gin[0] = give(ap2(c, FG_OP_DIV_NO_NAN, scan(c, FG_OP_CUMSUM, MUL(Y, g), a[0], a[1], !a[2]), X(0)));
    RULE_END;
}

/* cumprod: dy = y * cumsum(dx / x), the transpose of TF's backward rule
 * (div_no_nan included), with the op's own exclusive and reverse */
int jvp_cumprod(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    int64_t at[3] = {node->attrs[0], node->attrs[1], node->attrs[2]};
    if (at[0] < 0) at[0] += X(0)->ndim;
    at[0] += nb;
    fg_tensor *q = ap2(c, FG_OP_DIV_NO_NAN, T(0), X(0));
    *tout = give(MUL(Y, ap(c, FG_OP_CUMSUM, 1, &q, at, 3)));
    JVP_END;
}


/* TF's CumulativeLogsumexpGrad: the upstream gradient split by sign so its
 * logarithm exists, each part scanned the other way against the output:
 * exp(clse(log g+ - y) + x) - exp(clse(log g- - y) + x), log of a zero
 * part the dtype's lowest (its exp is 0) */
static fg_tensor *log_part(rctx *c, fg_tensor *g, int positive) {
    fg_tensor *zero = cst(g->dtype, 0);
    fg_tensor *sel = ap2(c, positive ? FG_OP_GREATER : FG_OP_LESS, g, zero);
    fg_tensor *mag = positive ? g : NEG(g);
    /* log of 1 where unselected: its derivative there stays finite */
    fg_tensor *lg = ap1(c, FG_OP_LOG, WHERE(sel, mag, cst(g->dtype, 1)));
    return WHERE(sel, lg, cst(g->dtype, g->dtype == FG_F32 ? -3.40282346638528859812e+38 : -1.79769313486231570815e+308));
}

int bwd_cumulative_logsumexp(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    const int64_t *a = node->attrs;
    if (need[0]) {
        fg_tensor *pos = scan(c, FG_OP_CUMULATIVE_LOGSUMEXP, SUB(log_part(c, g, 1), Y), a[0], a[1], !a[2]);
        fg_tensor *neg = scan(c, FG_OP_CUMULATIVE_LOGSUMEXP, SUB(log_part(c, g, 0), Y), a[0], a[1], !a[2]);
        gin[0] = give(SUB(ap1(c, FG_OP_EXP, ADD(pos, X(0))), ap1(c, FG_OP_EXP, ADD(neg, X(0)))));
    }
    RULE_END;
}

/* dy_k = sum over the scanned j of exp(x_j - y_k) t_j, with the tangent
 * split by sign in the log domain as the backward rule does */
int jvp_cumulative_logsumexp(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    int64_t axis = node->attrs[0] < 0 ? node->attrs[0] + X(0)->ndim : node->attrs[0];
    axis += nb;
    fg_tensor *pos = scan(c, FG_OP_CUMULATIVE_LOGSUMEXP, ADD(log_part(c, T(0), 1), X(0)), axis, node->attrs[1], node->attrs[2]);
    fg_tensor *neg = scan(c, FG_OP_CUMULATIVE_LOGSUMEXP, ADD(log_part(c, T(0), 0), X(0)), axis, node->attrs[1], node->attrs[2]);
    /* an exclusive scan's first y is -inf, and so are both scans there: 0 */
    fg_tensor *ys = WHERE(ap2(c, FG_OP_EQUAL, Y, cst(DT, -INFINITY)), cst(DT, 0), Y);
    *tout = give(SUB(ap1(c, FG_OP_EXP, SUB(pos, ys)), ap1(c, FG_OP_EXP, SUB(neg, ys))));
    JVP_END;
}
