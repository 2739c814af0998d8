/* fg_segment.c: the segment reductions -- segment_sum/mean/max/min/prod
 * (sorted ids) and unsorted_segment_sum/max/min/prod -- with the gather
 * that drops negative ids (their gradient), kernels, forwards and rules
 * (fg_ops.def declares what the table names).
 *
 * attrs = [axis, num_segments, sorted]: the ids cover data's dims
 * [axis, axis + ids.ndim) (axis is 0 for users; batched tangents move it),
 * and the output has those dims replaced by one of num_segments (sorted:
 * the last id + 1, read from the ids, so the output's shape follows the
 * values).
 *
 * The kernel groups the rows of each segment with a stable counting sort
 * of the ids, then threads split the output rows: every output row is
 * reduced over its input rows in increasing order on one thread, so the
 * result is bitwise the same at any thread count.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fg_forward_util.h"
#include "fg_kernels.h"
#include "fg_parallel.h"
#include "fg_rules.h"

enum { SEG_SUM = 0, SEG_MEAN, SEG_MAX, SEG_MIN, SEG_PROD };

static int64_t id_at(int dtype, const void *ids, int64_t i) {
    return dtype == FG_I32 ? ((const int32_t *)ids)[i] : ((const int64_t *)ids)[i];
}

typedef struct {
    int kind, sorted;
    const void *x;
    void *y;
    int64_t n, inner, num;
    const int64_t *start; /* [num + 1]: segment s has rows[start[s] .. start[s+1]) */
    const int64_t *rows;
} seg_job;

/* T the storage type, A the arithmetic of sums and products (unsigned for
 * integers: they wrap, as TF's, with no undefined overflow). */
#define DEF_SEG(S, T, A, LOWEST, HIGHEST, ISINT)                                                  \
    static void seg_rows_##S(void *v, int64_t lo, int64_t hi) {                                   \
        const seg_job *j = (const seg_job *)v;                                                    \
        const int64_t m = j->inner;                                                               \
        for (int64_t r = lo; r < hi; r++) {                                                       \
            int64_t o = r / j->num, s = r % j->num;                                               \
            const T *x = (const T *)j->x + o * j->n * m;                                          \
            T *y = (T *)j->y + r * m;                                                             \
            int64_t b = j->start[s], e = j->start[s + 1];                                         \
            switch (j->kind) {                                                                    \
            case SEG_SUM:                                                                         \
            case SEG_MEAN:                                                                        \
            case SEG_PROD: {                                                                      \
                const int prod = j->kind == SEG_PROD;                                             \
                for (int64_t i = 0; i < m; i++) y[i] = prod ? (T)1 : (T)0;                        \
                for (int64_t q = b; q < e; q++) {                                                 \
                    const T *xr = x + j->rows[q] * m;                                             \
                    if (prod)                                                                     \
                        for (int64_t i = 0; i < m; i++) y[i] = (T)((A)y[i] * (A)xr[i]);           \
                    else                                                                          \
                        for (int64_t i = 0; i < m; i++) y[i] = (T)((A)y[i] + (A)xr[i]);           \
                }                                                                                 \
                if (j->kind == SEG_MEAN && e > b) /* integers: C's truncation, as TF */           \
                    for (int64_t i = 0; i < m; i++) y[i] = (T)(y[i] / (T)(e - b));                \
                break;                                                                            \
            }                                                                                     \
            default: { /* max / min: only a strict improvement moves, so NaN never wins */      \
                const int mx = j->kind == SEG_MAX;                                                \
                for (int64_t i = 0; i < m; i++) y[i] = mx ? (LOWEST) : (HIGHEST);                 \
                for (int64_t q = b; q < e; q++) {                                                 \
                    const T *xr = x + j->rows[q] * m;                                             \
                    if (mx)                                                                       \
                        for (int64_t i = 0; i < m; i++) y[i] = xr[i] > y[i] ? xr[i] : y[i];       \
                    else                                                                          \
                        for (int64_t i = 0; i < m; i++) y[i] = xr[i] < y[i] ? xr[i] : y[i];       \
                }                                                                                 \
                if (e == b && j->sorted) /* TF: a sorted op's empty segment is 0 */               \
                    for (int64_t i = 0; i < m; i++) y[i] = (T)0;                                  \
            }                                                                                     \
            }                                                                                     \
        }                                                                                         \
        (void)ISINT;                                                                              \
    }
/* TF's lowest/highest for floats are the finite extremes (an empty unsorted
 * max is -3.4028235e+38, not -inf) */
DEF_SEG(f32, float, float, -3.40282346638528859812e+38F, 3.40282346638528859812e+38F, 0)
DEF_SEG(f64, double, double, -1.79769313486231570815e+308, 1.79769313486231570815e+308, 0)
DEF_SEG(i32, int32_t, uint32_t, INT32_MIN, INT32_MAX, 1)
DEF_SEG(i64, int64_t, uint64_t, INT64_MIN, INT64_MAX, 1)

/* data viewed [outer, n, inner], ids [n] (negative: dropped), out [outer, num, inner] */
static int k_segment(int kind, int sorted, int dtype, const void *x, int64_t outer, int64_t n, int64_t inner,
                     int id_dtype, const void *ids, int64_t num, void *y) {
    fg_range_fn fn;
    switch (dtype) {
    case FG_F32: fn = seg_rows_f32; break;
    case FG_F64: fn = seg_rows_f64; break;
    case FG_I32: fn = seg_rows_i32; break;
    case FG_I64: fn = seg_rows_i64; break;
    default: return fg_error_set(FG_ERR_INVALID, "segment reduction: unsupported dtype %d", dtype);
    }
    if (outer == 0 || num == 0 || inner == 0) return 0;
    int64_t *start = (int64_t *)calloc((size_t)num + 1, sizeof(int64_t));
    int64_t *rows = (int64_t *)malloc((size_t)(n ? n : 1) * sizeof(int64_t));
    if (!start || !rows) {
        free(start);
        free(rows);
        return fg_error_set(FG_ERR_NOMEM, "out of memory");
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t s = id_at(id_dtype, ids, i);
        if (s >= 0) start[s + 1]++;
    }
    for (int64_t s = 0; s < num; s++) start[s + 1] += start[s];
    int64_t *fill = (int64_t *)malloc((size_t)num * sizeof(int64_t));
    if (!fill) {
        free(start);
        free(rows);
        return fg_error_set(FG_ERR_NOMEM, "out of memory");
    }
    memcpy(fill, start, (size_t)num * sizeof(int64_t));
    for (int64_t i = 0; i < n; i++) {
        int64_t s = id_at(id_dtype, ids, i);
        if (s >= 0) rows[fill[s]++] = i;
    }
    free(fill);
    seg_job j = {kind, sorted, x, y, n, inner, num, start, rows};
    fg_parallel_range(fg_threads_for(outer * (n > num ? n : num) * inner), outer * num, 1, fn, &j);
    free(start);
    free(rows);
    return 0;
}

/* params viewed [outer, num, inner], ids [n]; out [outer, n, inner], rows
 * of ids outside [0, num) zero (TF's _GatherDropNegatives) */
typedef struct {
    size_t es;
    const char *p;
    char *y;
    int id_dtype;
    const void *ids;
    int64_t n, num, inner;
} sgather_job;

static void sgather_rows(void *v, int64_t lo, int64_t hi) {
    const sgather_job *j = (const sgather_job *)v;
    const size_t row = (size_t)j->inner * j->es;
    for (int64_t r = lo; r < hi; r++) {
        int64_t o = r / j->n, i = r % j->n, s = id_at(j->id_dtype, j->ids, i);
        char *y = j->y + (size_t)r * row;
        if (s < 0 || s >= j->num)
            memset(y, 0, row);
        else
            memcpy(y, j->p + (size_t)(o * j->num + s) * row, row);
    }
}

/* ------------------------------------------------------------- forwards */

static const char *seg_name(const fg_opdef *d, int sorted) {
    /* the table names the sorted op; the unsorted one prints TF's own name */
    static const char *unsorted[] = {"UnsortedSegmentSum", "UnsortedSegmentMean", "UnsortedSegmentMax",
                                     "UnsortedSegmentMin", "UnsortedSegmentProd"};
    return sorted ? d->tf_name : unsorted[d->kind];
}

static int check_ids_dtype(const fg_opdef *d, const fg_tensor *ids, int sorted) {
    if (ids->dtype == FG_I32 || ids->dtype == FG_I64) return 0;
    return fg_error_set(FG_ERR_INVALID, "Value for attr 'Tindices' of %s is not in the list of allowed values: %s [Op:%s]",
                        tf_dtype(ids->dtype), sorted ? "int32, int64" : "int16, int32, int64", seg_name(d, sorted));
}

/* inputs (data, segment_ids); attrs = [axis, num_segments, sorted] */
int fwd_segment(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
                fg_tensor **out) {
    (void)n_in, (void)nattrs;
    fg_tensor *x = in[0], *ids = in[1];
    int sorted = (int)attrs[2];
    int axis = (int)attrs[0];
    const char *name = seg_name(d, sorted);
    if (x->dtype == FG_BOOL)
        return fg_error_set(FG_ERR_INVALID, "Value for attr 'T' of bool is not in the list of allowed values [Op:%s]", name);
    if (check_ids_dtype(d, ids, sorted) < 0) return -1;
    int64_t num = attrs[1], n = ids->size;
    if (sorted) {
        if (x->ndim - axis < 1) return fg_error_set(FG_ERR_INVALID, "input must be at least rank 1 [Op:%s]", name);
        if (ids->ndim != 1) return fg_error_set(FG_ERR_INVALID, "segment_ids should be a vector. [Op:%s]", name);
        if (ids->shape[0] != x->shape[axis])
            return fg_error_set(FG_ERR_INVALID, "segment_ids should be the same size as dimension 0 of input. [Op:%s]", name);
        num = n ? id_at(ids->dtype, ids->data, n - 1) + 1 : 0;
        for (int64_t i = 0; i < n; i++) {
            int64_t s = id_at(ids->dtype, ids->data, i);
            if (s < 0 || s >= num)
                return fg_error_set(FG_ERR_INVALID, "Segment id %lld out of range [0, %lld), possibly because "
                                    "'segment_ids' input is not sorted. [Op:%s]", (long long)s, (long long)num, name);
            if (i && s < id_at(ids->dtype, ids->data, i - 1))
                return fg_error_set(FG_ERR_INVALID, "segment ids are not increasing [Op:%s]", name);
        }
    } else {
        if (num < 0)
            return fg_error_set(FG_ERR_INVALID, "Input num_segments == %lld must not be negative. [Op:%s]", (long long)num, name);
        int ok = x->ndim - axis >= ids->ndim;
        for (int i = 0; ok && i < ids->ndim; i++) ok = x->shape[axis + i] == ids->shape[i];
        if (!ok) {
            char xs[256];
            snprintf(xs, sizeof xs, "%s", fg_shape_str(x->ndim - axis, x->shape + axis));
            return fg_error_set(FG_ERR_INVALID, "data.shape = %s does not start with segment_ids.shape = %s [Op:%s]", xs,
                                fg_shape_str(ids->ndim, ids->shape), name);
        }
        for (int64_t i = 0; i < n; i++) {
            int64_t s = id_at(ids->dtype, ids->data, i);
            if (s >= num)
                return fg_error_set(FG_ERR_INVALID, "segment_ids[%lld] = %lld is out of range [0, %lld) [Op:%s]", (long long)i,
                                    (long long)s, (long long)num, name);
        }
    }
    int64_t shape[FG_MAX_NDIM], outer = 1, inner = 1;
    int nd = 0;
    for (int i = 0; i < axis; i++) outer *= x->shape[i], shape[nd++] = x->shape[i];
    shape[nd++] = num;
    for (int i = axis + ids->ndim; i < x->ndim; i++) inner *= x->shape[i], shape[nd++] = x->shape[i];
    fg_tensor *o = fg_tensor_new(x->dtype, nd, shape);
    if (!o) return -1;
    RUN_KERNEL_WORK(o, x->size + o->size,
                    k_segment(d->kind, sorted, x->dtype, x->data, outer, n, inner, ids->dtype, ids->data, num, o->data));
    *out = o;
    return 0;
}

/* inputs (params, segment_ids); attrs = [axis]: params[..., ids, ...] along
 * axis, zero where an id is outside [0, params.shape[axis]) */
int fwd_segment_gather(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
                       fg_tensor **out) {
    (void)n_in, (void)nattrs;
    fg_tensor *p = in[0], *ids = in[1];
    int axis = (int)attrs[0];
    if (check_ids_dtype(d, ids, 0) < 0) return -1;
    if (axis < 0 || axis >= p->ndim)
        return fg_error_set(FG_ERR_INVALID, "Expected axis in the range [0, %d), but got %d [Op:%s]", p->ndim, axis, d->tf_name);
    int nd = p->ndim - 1 + ids->ndim;
    if (nd > FG_MAX_NDIM) return fg_error_set(FG_ERR_INVALID, "gather result rank %d exceeds %d", nd, FG_MAX_NDIM);
    int64_t shape[FG_MAX_NDIM], outer = 1, inner = 1;
    int k = 0;
    for (int i = 0; i < axis; i++) outer *= p->shape[i], shape[k++] = p->shape[i];
    for (int i = 0; i < ids->ndim; i++) shape[k++] = ids->shape[i];
    for (int i = axis + 1; i < p->ndim; i++) inner *= p->shape[i], shape[k++] = p->shape[i];
    fg_tensor *o = fg_tensor_new(p->dtype, nd, shape);
    if (!o) return -1;
    sgather_job j = {fg_dtype_size(p->dtype), (const char *)p->data, (char *)o->data, ids->dtype, ids->data,
                     ids->size, p->shape[axis], inner};
    void *tok = fg_gil_release_if(o->size);
    fg_parallel_range(fg_threads_for(o->size), outer * ids->size, 1, sgather_rows, &j);
    fg_gil_acquire(tok);
    *out = o;
    return 0;
}

/* ---------------------------------------------------------------- rules */

static int64_t seg_axis(const fg_node *node) { return node->attrs[0]; }

/* the segment op `op` over t with this node's ids and its output's count */
static fg_tensor *segment(rctx *c, const fg_node *node, int op, fg_tensor *t) {
    int64_t at[3] = {seg_axis(node), Y->shape[seg_axis(node)], 0};
    fg_tensor *in[2] = {t, X(1)};
    return ap(c, op, 2, in, at, 3);
}

/* t (segment space, this node's output shape) gathered back to the data's
 * shape; rows of negative ids get 0 */
static fg_tensor *sgather(rctx *c, const fg_node *node, fg_tensor *t) {
    int64_t at[1] = {seg_axis(node)};
    fg_tensor *in[2] = {t, X(1)};
    return ap(c, FG_OP_SEGMENT_GATHER, 2, in, at, 1);
}

/* ids >= 0 shaped to broadcast against the data */
static fg_tensor *ids_kept(rctx *c, const fg_node *node) {
    const fg_tensor *x = X(0), *ids = X(1);
    int64_t shape[FG_MAX_NDIM];
    int axis = (int)seg_axis(node);
    for (int i = 0; i < x->ndim; i++) shape[i] = (i >= axis && i < axis + ids->ndim) ? ids->shape[i - axis] : 1;
    fg_tensor *pos = ap2(c, FG_OP_GREATER_EQUAL, X(1), cst(ids->dtype, 0));
    return reshape_to(c, pos, x->ndim, shape);
}

/* the number of rows in each segment, shaped to broadcast against the output */
static fg_tensor *seg_counts(rctx *c, const fg_node *node, fg_tensor *mask_of_rows) {
    int64_t dt = DT;
    fg_tensor *ones = ap(c, FG_OP_CAST, 1, &mask_of_rows, &dt, 1);
    return segment(c, node, FG_OP_SEGMENT_SUM, ones);
}

/* TF's SegmentSumGrad / UnsortedSegmentSumGrad: g gathered at the ids (0
 * for dropped ids) */
int bwd_segment_sum(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    if (need[0]) gin[0] = give(sgather(c, node, g));
    RULE_END;
}

/* TF's SegmentMeanGrad: g divided by each segment's count, gathered */
int bwd_segment_mean(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    if (need[0]) {
        const fg_tensor *y = Y;
        int axis = (int)seg_axis(node);
        fg_tensor *pos = ap2(c, FG_OP_GREATER_EQUAL, X(1), cst(X(1)->dtype, 0));
        int64_t at[3] = {0, y->shape[axis], 0};
        int64_t dt = DT;
        fg_tensor *ones = ap(c, FG_OP_CAST, 1, &pos, &dt, 1);
        fg_tensor *in[2] = {ones, X(1)};
        fg_tensor *cnt = ap(c, FG_OP_SEGMENT_SUM, 2, in, at, 3);
        int64_t shape[FG_MAX_NDIM];
        for (int i = 0; i < y->ndim; i++) shape[i] = i == axis ? y->shape[axis] : 1;
        /* an empty segment's count is 0 but nothing gathers it; 1 keeps it finite */
        cnt = reshape_to(c, ap2(c, FG_OP_MAXIMUM, cnt, cst(DT, 1)), y->ndim, shape);
        gin[0] = give(sgather(c, node, DIV(g, cnt)));
    }
    RULE_END;
}

/* which data elements attain their segment's max (min), and how many do
 * in each segment (segment space) */
static fg_tensor *selected(rctx *c, const fg_node *node, fg_tensor **num_sel) {
    fg_tensor *is_sel = ap2(c, FG_OP_LOGICAL_AND, ap2(c, FG_OP_EQUAL, X(0), sgather(c, node, Y)), ids_kept(c, node));
    *num_sel = seg_counts(c, node, is_sel);
    return is_sel;
}

/* TF's _SegmentMinOrMaxGrad / _UnsortedSegmentMinOrMaxGrad: the gradient
 * is shared equally among the elements that attain the extremum */
int bwd_segment_extremum(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    if (need[0]) {
        fg_tensor *num_sel;
        fg_tensor *is_sel = selected(c, node, &num_sel);
        /* div_no_nan: an empty segment (0 selected) is never gathered; 0
         * there keeps higher derivatives finite */
        fg_tensor *w = ap2(c, FG_OP_DIV_NO_NAN, g, num_sel);
        gin[0] = give(WHERE(is_sel, sgather(c, node, w), zeros_like(c, X(0))));
    }
    RULE_END;
}

/* the transpose: the tangents of the selected elements averaged per segment */
int jvp_segment_extremum(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    fg_tensor *num_sel;
    fg_tensor *is_sel = selected(c, node, &num_sel);
    fg_tensor *t = WHERE(is_sel, T(0), cst(DT, 0));
    int64_t at[3] = {seg_axis(node) + nb, Y->shape[seg_axis(node)], 0};
    fg_tensor *in[2] = {t, X(1)};
    *tout = give(ap2(c, FG_OP_DIV_NO_NAN, ap(c, FG_OP_SEGMENT_SUM, 2, in, at, 3), num_sel));
    JVP_END;
}

/* d y_s / d x_i for x_i in segment s, TF's _SegmentProdGrad and
 * _UnsortedSegmentProdGrad: with no zero in the segment y_s / x_i; with
 * one zero, the product of the others at the zero and 0 elsewhere; with
 * more, 0 (and 0 for dropped ids). Shared by both modes. */
static fg_tensor *prod_partial(rctx *c, const fg_node *node) {
    fg_tensor *is_zero = ap2(c, FG_OP_EQUAL, X(0), cst(DT, 0));
    fg_tensor *nz_data = WHERE(is_zero, cst(DT, 1), X(0));
    int64_t at[3] = {node->attrs[0], node->attrs[1], node->attrs[2]};
    fg_tensor *in[2] = {nz_data, X(1)};
    fg_tensor *nz_prod = ap(c, node->op, 2, in, at, 3);
    fg_tensor *partial = WHERE(is_zero, sgather(c, node, nz_prod), DIV(sgather(c, node, Y), nz_data));
    fg_tensor *many = ap2(c, FG_OP_GREATER, sgather(c, node, seg_counts(c, node, is_zero)), cst(DT, 1));
    return WHERE(many, cst(DT, 0), partial);
}

int bwd_segment_prod(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    if (need[0]) gin[0] = give(MUL(sgather(c, node, g), prod_partial(c, node)));
    RULE_END;
}

int jvp_segment_prod(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    fg_tensor *t = MUL(T(0), prod_partial(c, node));
    int64_t at[3] = {seg_axis(node) + nb, Y->shape[seg_axis(node)], 0};
    fg_tensor *in[2] = {t, X(1)};
    *tout = give(ap(c, FG_OP_SEGMENT_SUM, 2, in, at, 3));
    JVP_END;
}

/* segment_gather's transpose: the unsorted sum into params' rows */
int bwd_segment_gather(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    if (need[0]) {
        int64_t at[3] = {node->attrs[0], X(0)->shape[node->attrs[0]], 0};
        fg_tensor *in[2] = {g, X(1)};
        gin[0] = give(ap(c, FG_OP_SEGMENT_SUM, 2, in, at, 3));
    }
    RULE_END;
}
