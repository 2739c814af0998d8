/* fg_ops.c: forward functions and backward rules for the table in
 * fg_ops.def, and op application.
 *
 * A rule is a composition of ops from the same table, applied through
 * fg_apply: when a tape is recording (a gradient taken inside an outer
 * tape), the rule's ops are recorded like any others, so derivatives of
 * any order need no special support.
 */
#include "fg_ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fg_kernels.h"
#include "fg_gil.h"
#include "fg_tape.h"
#include "fg_rules.h"
#include "fg_forward_util.h"
#include "fg_forward.h"
#include "fg_program.h"
#include "fg_thread.h"

#define R0 FG_READS_IN(0)
#define R1 FG_READS_IN(1)
#define R2 FG_READS_IN(2)
#define RO FG_READS_OUT

int fg_broadcast_shapes(int a_ndim, const int64_t *a, int b_ndim, const int64_t *b, int64_t *out) {
    int nd = a_ndim > b_ndim ? a_ndim : b_ndim;
    if (nd > FG_MAX_NDIM) return -1; /* out holds FG_MAX_NDIM dims */
    for (int i = 0; i < nd; i++) {
        int ia = i - (nd - a_ndim), ib = i - (nd - b_ndim);
        int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
        if (da == db || db == 1)
            out[i] = da;
        else if (da == 1)
            out[i] = db;
        else
            return -1;
    }
    return nd;
}

static int is_bool_result(int kind) {
    return kind >= FG_B_EQ && kind <= FG_B_LOGICAL_OR;
}

/* ---------------------------------------------------------------- forwards */

/* Scalar fast path: eager scalar code (the seeds, optimisers' hyper-
 * parameters, loss bookkeeping) is dominated by 0-d float ops, where the
 * general broadcasting kernel's setup costs more than the arithmetic. */
#define SCALAR_BINARY(T, POWF, a, b, kind, out, ok)          \
    do {                                                     \
        T x_ = *(const T *)(a), y_ = *(const T *)(b);        \
        switch (kind) {                                      \
        case FG_B_ADD: *(T *)(out) = x_ + y_; break;         \
        case FG_B_SUB: *(T *)(out) = x_ - y_; break;         \
        case FG_B_MUL: *(T *)(out) = x_ * y_; break;         \
        case FG_B_DIV: *(T *)(out) = x_ / y_; break;         \
        case FG_B_POW: *(T *)(out) = POWF(x_, y_); break;    \
        default: ok = 0;                                     \
        }                                                    \
    } while (0)

static fg_tensor *scalar_binary(int kind, const fg_tensor *a, const fg_tensor *b) {
    if (a->ndim | b->ndim || a->dtype != b->dtype || !fg_dtype_is_float(a->dtype)) return NULL;
    if (kind > FG_B_POW) return NULL;
    fg_tensor *o = fg_tensor_new(a->dtype, 0, NULL);
    if (!o) return NULL;
    int ok = 1;
    if (a->dtype == FG_F32)
        SCALAR_BINARY(float, powf, a->data, b->data, kind, o->data, ok);
    else
        SCALAR_BINARY(double, pow, a->data, b->data, kind, o->data, ok);
    if (!ok) {
        fg_decref(o);
        return NULL;
    }
    return o;
}

int fwd_binary(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs,
                      int nattrs, fg_tensor **out) {
    (void)n_in, (void)attrs, (void)nattrs;
    fg_tensor *a = in[0], *b = in[1];
    if ((*out = scalar_binary(d->kind, a, b)) != NULL) return 0;
    if (a->dtype != b->dtype) return dtype_mismatch(d, 1, a->dtype, b->dtype);
    int64_t shape[FG_MAX_NDIM];
    int nd = fg_broadcast_shapes(a->ndim, a->shape, b->ndim, b->shape, shape);
    if (nd < 0)
        return fg_error_set(FG_ERR_INVALID, "Incompatible shapes: %s vs. %s [Op:%s]",
                            fg_shape_str(a->ndim, a->shape), fg_shape_str(b->ndim, b->shape), d->tf_name);
    if (d->kind == FG_B_POW && (a->dtype == FG_I32 || a->dtype == FG_I64)) {
        for (int64_t i = 0; i < b->size; i++) {
            int64_t v = b->dtype == FG_I32 ? ((int32_t *)b->data)[i] : ((int64_t *)b->data)[i];
            if (v < 0)
                return fg_error_set(FG_ERR_INVALID, "Integers to negative integer powers are not allowed [Op:%s]", d->tf_name);
        }
    }
    if (!fg_k_binary_has(d->kind, a->dtype)) return not_allowed(d, a->dtype);
    if (d->kind == FG_B_TRUNCMOD && !fg_dtype_is_float(a->dtype)) {
        for (int64_t i = 0; i < b->size; i++) {
            int64_t v = b->dtype == FG_I32 ? ((int32_t *)b->data)[i] : ((int64_t *)b->data)[i];
            if (v == 0)
                return fg_error_set(FG_ERR_RUNTIME, "Unexpected error in binary operator (only integer div and mod "
                                                    "should have errors) [Op:%s]", d->tf_name);
        }
    }
    int empty = 0;
    for (int i = 0; i < nd; i++) empty |= shape[i] == 0;
    if ((d->kind == FG_B_DIV || d->kind == FG_B_TRUNCDIV || d->kind == FG_B_FLOORMOD) && !empty &&
        !fg_dtype_is_float(a->dtype) && a->dtype != FG_BOOL) {
        /* integer (floor) division: TF refuses a zero divisor (one that
         * divides nothing, into an empty result, is fine) */
        for (int64_t i = 0; i < b->size; i++) {
            int64_t v = b->dtype == FG_I32 ? ((int32_t *)b->data)[i] : ((int64_t *)b->data)[i];
            if (v == 0) return fg_error_set(FG_ERR_INVALID, "Integer division by zero [Op:%s]", d->tf_name);
        }
    }
    fg_tensor *o = fg_tensor_new(is_bool_result(d->kind) ? FG_BOOL : a->dtype, nd, shape);
    if (!o) return -1;
    RUN_KERNEL(o, fg_k_binary(d->kind, a->dtype, a->data, a->ndim, a->shape, b->data, b->ndim,
                              b->shape, o->data, nd, shape));
    *out = o;
    return 0;
}

int fwd_unary(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs,
                     int nattrs, fg_tensor **out) {
    (void)n_in, (void)attrs, (void)nattrs;
    fg_tensor *x = in[0];
    fg_tensor *o = fg_tensor_new(x->dtype, x->ndim, x->shape);
    if (!o) return -1;
    void *tok = fg_gil_release_if(o->size);
    int rc = fg_k_unary(d->kind, x->dtype, x->data, o->data, x->size);
    fg_gil_acquire(tok);
    if (rc < 0) {
        fg_decref(o);
        return fg_error_set(FG_ERR_INVALID, "Value for attr 'T' of %s is not in the list of allowed values [Op:%s]",
                            tf_dtype(x->dtype), d->tf_name);
    }
    *out = o;
    return 0;
}

int fwd_identity(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs,
                        int nattrs, fg_tensor **out) {
    (void)d, (void)n_in, (void)attrs, (void)nattrs;
    *out = fg_tensor_alias(in[0], in[0]->ndim, in[0]->shape);
    return *out ? 0 : -1;
}

int fwd_cast(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs,
                    int nattrs, fg_tensor **out) {
    (void)d, (void)n_in, (void)nattrs;
    fg_tensor *x = in[0];
    int dst = (int)attrs[0];
    if (dst == x->dtype) return fwd_identity(d, in, n_in, attrs, nattrs, out);
    fg_tensor *o = fg_tensor_new(dst, x->ndim, x->shape);
    if (!o) return -1;
    RUN_KERNEL(o, fg_k_cast(x->dtype, x->data, dst, o->data, x->size));
    *out = o;
    return 0;
}

int fwd_where(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs,
                     int nattrs, fg_tensor **out) {
    (void)n_in, (void)attrs, (void)nattrs;
    fg_tensor *c = in[0], *x = in[1], *y = in[2];
    if (c->dtype != FG_BOOL) return dtype_mismatch(d, 0, FG_BOOL, c->dtype);
    if (x->dtype != y->dtype) return dtype_mismatch(d, 2, x->dtype, y->dtype);
    int64_t s1[FG_MAX_NDIM], s2[FG_MAX_NDIM];
    int nd = fg_broadcast_shapes(x->ndim, x->shape, y->ndim, y->shape, s1);
    if (nd >= 0) nd = fg_broadcast_shapes(c->ndim, c->shape, nd, s1, s2);
    if (nd < 0)
        return fg_error_set(FG_ERR_INVALID, "condition %s, then %s, and else %s must be broadcastable [Op:%s]",
                            fg_shape_str(c->ndim, c->shape), fg_shape_str(x->ndim, x->shape),
                            fg_shape_str(y->ndim, y->shape), d->tf_name);
    fg_tensor *o = fg_tensor_new(x->dtype, nd, s2);
    if (!o) return -1;
    RUN_KERNEL(o, fg_k_where(x->dtype, (const uint8_t *)c->data, c->ndim, c->shape, x->data, x->ndim,
                             x->shape, y->data, y->ndim, y->shape, o->data, nd, s2));
    *out = o;
    return 0;
}

/* attrs = [keepdims, mask over the input's axes...] */
static int reduced_shape(const fg_tensor *x, const int64_t *attrs, int64_t *shape) {
    int nd = 0;
    for (int i = 0; i < x->ndim; i++) {
        if (!attrs[1 + i])
            shape[nd++] = x->shape[i];
        else if (attrs[0])
            shape[nd++] = 1;
    }
    return nd;
}

int fwd_reduce(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs,
                      int nattrs, fg_tensor **out) {
    (void)n_in;
    fg_tensor *x = in[0];
    if (nattrs != 1 + x->ndim)
        return fg_error_set(FG_ERR_INVALID, "reduction mask of %d axes for a rank-%d input [Op:%s]",
                            nattrs - 1, x->ndim, d->tf_name);
    int logical = d->kind == FG_R_ANY || d->kind == FG_R_ALL;
    if (logical != (x->dtype == FG_BOOL)) {
        return fg_error_set(FG_ERR_INVALID, "Value for attr 'T' of %s is not in the list of allowed values [Op:%s]",
                            tf_dtype(x->dtype), d->tf_name);
    }
    int64_t shape[FG_MAX_NDIM];
    uint8_t mask[FG_MAX_NDIM];
    int nd = reduced_shape(x, attrs, shape);
    for (int i = 0; i < x->ndim; i++) mask[i] = attrs[1 + i] != 0;
    fg_tensor *o = fg_tensor_new(x->dtype, nd, shape);
    if (!o) return -1;
    RUN_KERNEL_WORK(o, x->size, fg_k_reduce(d->kind, x->dtype, x->data, x->ndim, x->shape, mask, o->data));
    *out = o;
    return 0;
}

int fwd_reduce_sum_mul(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs,
                              int nattrs, fg_tensor **out) {
    (void)n_in;
    fg_tensor *a = in[0], *b = in[1];
    if (a->dtype != b->dtype) return dtype_mismatch(d, 1, a->dtype, b->dtype);
    if (!fg_dtype_is_float(a->dtype))
        return fg_error_set(FG_ERR_INVALID, "Value for attr 'T' of %s is not in the list of allowed values [Op:%s]",
                            tf_dtype(a->dtype), d->tf_name);
    if (!fg_same_shape(a, b))
        return fg_error_set(FG_ERR_INVALID, "Incompatible shapes: %s vs. %s [Op:%s]",
                            fg_shape_str(a->ndim, a->shape), fg_shape_str(b->ndim, b->shape), d->tf_name);
    if (nattrs != 1 + a->ndim)
        return fg_error_set(FG_ERR_INVALID, "reduction mask of %d axes for a rank-%d input [Op:%s]",
                            nattrs - 1, a->ndim, d->tf_name);
    int64_t shape[FG_MAX_NDIM];
    uint8_t mask[FG_MAX_NDIM];
    int nd = reduced_shape(a, attrs, shape);
    for (int i = 0; i < a->ndim; i++) mask[i] = attrs[1 + i] != 0;
    fg_tensor *o = fg_tensor_new(a->dtype, nd, shape);
    if (!o) return -1;
    RUN_KERNEL(o, fg_k_reduce_sum_mul(a->dtype, a->data, b->data, a->ndim, a->shape, mask, o->data));
    *out = o;
    return 0;
}

int fwd_broadcast_to(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs,
                            int nattrs, fg_tensor **out) {
    (void)n_in, (void)nattrs;
    fg_tensor *x = in[0];
    int nd = (int)attrs[0];
    const int64_t *shape = attrs + 1;
    int64_t check[FG_MAX_NDIM];
    if (nd > FG_MAX_NDIM)
        return fg_error_set(FG_ERR_INVALID, "rank %d exceeds the maximum of %d [Op:%s]", nd, FG_MAX_NDIM, d->tf_name);
    if (nd < x->ndim || fg_broadcast_shapes(x->ndim, x->shape, nd, shape, check) != nd ||
        memcmp(check, shape, (size_t)nd * sizeof(int64_t)) != 0)
        return fg_error_set(FG_ERR_INVALID, "Unable to broadcast tensor of shape %s to tensor of shape %s [Op:%s]",
                            fg_shape_str(x->ndim, x->shape), fg_shape_str(nd, shape), d->tf_name);
    fg_tensor *o = fg_tensor_new(x->dtype, nd, shape);
    if (!o) return -1;
    RUN_KERNEL(o, fg_k_broadcast_to(x->dtype, x->data, x->ndim, x->shape, o->data, nd, shape));
    *out = o;
    return 0;
}

/* attrs = [ndim, shape...], at most one -1 */
int fwd_reshape(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs,
                       int nattrs, fg_tensor **out) {
    (void)n_in, (void)nattrs;
    fg_tensor *x = in[0];
    int nd = (int)attrs[0];
    if (nd > FG_MAX_NDIM) return fg_error_set(FG_ERR_INVALID, "reshape to rank %d exceeds %d", nd, FG_MAX_NDIM);
    int64_t shape[FG_MAX_NDIM];
    int64_t known = 1;
    int unknown = -1;
    for (int i = 0; i < nd; i++) {
        shape[i] = attrs[1 + i];
        if (shape[i] == -1) {
            if (unknown >= 0)
                return fg_error_set(FG_ERR_INVALID, "Only one input size may be -1, not both %d and %d [Op:%s]",
                                    unknown, i, d->tf_name);
            unknown = i;
        } else if (shape[i] < 0) {
            return fg_error_set(FG_ERR_INVALID, "Size %d must be non-negative, not %lld [Op:%s]", i,
                                (long long)shape[i], d->tf_name);
        } else if (__builtin_mul_overflow(known, shape[i], &known)) {
            /* a wrapped product could equal x's size: a tensor far smaller than its shape */
            char dims[FG_MAX_NDIM * 22 + 2];
            size_t pos = 0;
            for (int k = 0; k < nd; k++)
                pos += (size_t)snprintf(dims + pos, sizeof dims - pos, k ? ", %lld" : "%lld", (long long)attrs[1 + k]);
            return fg_error_set(FG_ERR_INVALID, "Shape [%s] has too many elements [Op:%s]", dims, d->tf_name);
        }
    }
    if (unknown >= 0) {
        if (known == 0 || x->size % known != 0)
            return fg_error_set(FG_ERR_INVALID,
                                "Input to reshape is a tensor with %lld values, but the requested shape "
                                "requires a multiple of %lld [Op:%s]",
                                (long long)x->size, (long long)known, d->tf_name);
        shape[unknown] = x->size / known;
    } else if (known != x->size) {
        return fg_error_set(FG_ERR_INVALID,
                            "Input to reshape is a tensor with %lld values, but the requested shape has %lld [Op:%s]",
                            (long long)x->size, (long long)known, d->tf_name);
    }
    *out = fg_tensor_alias(x, nd, shape);
    return *out ? 0 : -1;
}

int fwd_transpose(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs,
                         int nattrs, fg_tensor **out) {
    (void)n_in;
    fg_tensor *x = in[0];
    if (nattrs != x->ndim)
        return fg_error_set(FG_ERR_INVALID, "transpose expects a vector of size %d. But input(1) is a vector of size %d [Op:%s]",
                            x->ndim, nattrs, d->tf_name);
    int perm[FG_MAX_NDIM], seen[FG_MAX_NDIM] = {0};
    int64_t shape[FG_MAX_NDIM];
    for (int i = 0; i < x->ndim; i++) {
        int64_t p = attrs[i];
        if (p < 0) p += x->ndim;
        if (p < 0 || p >= x->ndim || seen[p])
            return fg_error_set(FG_ERR_INVALID, "%lld is out of range [0 .. %d) or repeated in perm [Op:%s]",
                                (long long)attrs[i], x->ndim, d->tf_name);
        seen[p] = 1;
        perm[i] = (int)p;
        shape[i] = x->shape[p];
    }
    int identity = 1;
    for (int i = 0; i < x->ndim; i++) identity &= perm[i] == i;
    if (identity) return fwd_identity(d, in, n_in, attrs, nattrs, out);
    fg_tensor *o = fg_tensor_new(x->dtype, x->ndim, shape);
    if (!o) return -1;
    RUN_KERNEL(o, fg_k_transpose(x->dtype, x->data, x->ndim, x->shape, perm, o->data));
    *out = o;
    return 0;
}

/* attrs = [transpose_a, transpose_b] */
int fg_matmul_layout(const fg_tensor *a, const fg_tensor *b, int ta, int tb, fg_mm_layout *L) {
    L->m = a->shape[a->ndim - (ta ? 1 : 2)];
    L->k = a->shape[a->ndim - (ta ? 2 : 1)];
    L->n = b->shape[b->ndim - (tb ? 2 : 1)];
    if (L->k != b->shape[b->ndim - (tb ? 1 : 2)]) return 1;
    L->bnd = fg_broadcast_shapes(a->ndim - 2, a->shape, b->ndim - 2, b->shape, L->bshape);
    if (L->bnd < 0 || L->bnd + 2 > FG_MAX_NDIM) return 2;
    for (int i = 0; i < L->bnd; i++) {
        int ia = i - (L->bnd - (a->ndim - 2)), ib = i - (L->bnd - (b->ndim - 2));
        L->ashape[i] = ia >= 0 ? a->shape[ia] : 1;
        L->bbshape[i] = ib >= 0 ? b->shape[ib] : 1;
    }
    return 0;
}

int fwd_matmul(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs,
                      int nattrs, fg_tensor **out) {
    (void)n_in, (void)nattrs;
    fg_tensor *a = in[0], *b = in[1];
    int ta = (int)attrs[0], tb = (int)attrs[1];
    /* TF's tf.matmul runs MatMul unless a rank exceeds 2 (then BatchMatMulV2);
     * the messages below are those two kernels' */
    int batched = a->ndim > 2 || b->ndim > 2;
    if (a->dtype != b->dtype) {
        if (batched) return dtype_mismatch(d, 1, a->dtype, b->dtype);
        return fg_error_set(FG_ERR_INVALID,
                            "cannot compute MatMul as input #1(zero-based) was expected to be a %s tensor "
                            "but is a %s tensor [Op:MatMul]", tf_dtype(a->dtype), tf_dtype(b->dtype));
    }
    if (batched && (a->ndim < 2 || b->ndim < 2))
        return fg_error_set(FG_ERR_INVALID, "In[%d] ndims must be >= 2: %d [Op:%s]", a->ndim < 2 ? 0 : 1,
                            a->ndim < 2 ? a->ndim : b->ndim, d->tf_name);
    if (a->ndim < 2 || b->ndim < 2) {
        if (a->ndim == b->ndim)
            return fg_error_set(FG_ERR_INVALID, "In[0] and In[1] ndims must be == 2: %d [Op:MatMul]", a->ndim);
        return fg_error_set(FG_ERR_INVALID,
                            "In[0] and In[1] has different ndims: %s vs. %s [Op:MatMul]",
                            fg_shape_str(a->ndim, a->shape), fg_shape_str(b->ndim, b->shape));
    }
    fg_mm_layout L;
    int rc = fg_matmul_layout(a, b, ta, tb, &L);
    if (rc == 1)
        return fg_error_set(FG_ERR_INVALID, "Matrix size-incompatible: In[0]: %s, In[1]: %s [Op:%s]",
                            fg_shape_str(a->ndim, a->shape), fg_shape_str(b->ndim, b->shape),
                            batched ? d->tf_name : "MatMul");
    if (rc == 2)
        return fg_error_set(FG_ERR_INVALID, "In[0] and In[1] must have compatible batch dimensions: %s vs. %s [Op:%s]",
                            fg_shape_str(a->ndim, a->shape), fg_shape_str(b->ndim, b->shape), d->tf_name);
    int64_t oshape[FG_MAX_NDIM];
    memcpy(oshape, L.bshape, (size_t)L.bnd * sizeof(int64_t));
    oshape[L.bnd] = L.m;
    oshape[L.bnd + 1] = L.n;
    fg_tensor *o = fg_tensor_new(a->dtype, L.bnd + 2, oshape);
    if (!o) return -1;
    /* BLAS may start its own threads: it runs with the GIL released but
     * never inside an OpenMP region of ours. */
    RUN_KERNEL_WORK(o, o->size * (L.k > 0 ? L.k : 1),
                    fg_k_matmul(a->dtype, a->data, b->data, o->data, L.bnd, L.bshape, L.ashape, L.bbshape, L.m, L.n,
                                L.k, ta, tb));
    *out = o;
    return 0;
}

/* attrs = [start[nd], step[nd], len[nd]] */
int fwd_slice(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs,
                     int nattrs, fg_tensor **out) {
    (void)n_in;
    fg_tensor *x = in[0];
    int nd = x->ndim;
    if (nattrs != 3 * nd)
        return fg_error_set(FG_ERR_INVALID, "slice spec of %d values for a rank-%d input [Op:%s]", nattrs, nd, d->tf_name);
    const int64_t *start = attrs, *step = attrs + nd, *len = attrs + 2 * nd;
    for (int i = 0; i < nd; i++) {
        int64_t last = start[i] + (len[i] - 1) * step[i];
        if (len[i] < 0 || (len[i] > 0 && (start[i] < 0 || start[i] >= x->shape[i] || last < 0 || last >= x->shape[i])))
            return fg_error_set(FG_ERR_INVALID, "slice index out of bounds on dimension %d of shape %s [Op:%s]", i,
                                fg_shape_str(nd, x->shape), d->tf_name);
    }
    fg_tensor *o = fg_tensor_new(x->dtype, nd, len);
    if (!o) return -1;
    RUN_KERNEL(o, fg_k_slice(x->dtype, x->data, nd, x->shape, start, step, len, o->data));
    *out = o;
    return 0;
}

/* attrs = [ndim, input shape[nd], start[nd], step[nd], len[nd]] */
int fwd_slice_grad(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs,
                          int nattrs, fg_tensor **out) {
    (void)d, (void)n_in, (void)nattrs;
    fg_tensor *g = in[0];
    int nd = (int)attrs[0];
    const int64_t *shape = attrs + 1, *start = shape + nd, *step = start + nd, *len = step + nd;
    fg_tensor *o = fg_tensor_new(g->dtype, nd, shape);
    if (!o) return -1;
    RUN_KERNEL(o, fg_k_slice_scatter(g->dtype, g->data, nd, shape, start, step, len, o->data));
    *out = o;
    return 0;
}

/* attrs = [axis] */
int fwd_concat(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs,
                      int nattrs, fg_tensor **out) {
    (void)nattrs;
    if (n_in < 1) return fg_error_set(FG_ERR_INVALID, "ConcatOp needs at least one input [Op:%s]", d->tf_name);
    fg_tensor *x0 = in[0];
    int nd = x0->ndim;
    int64_t axis = attrs[0];
    if (axis < -nd || axis >= nd || nd == 0)
        return fg_error_set(FG_ERR_INVALID, "ConcatOp : Expected concatenating dimensions in the range [%d, %d), but got %lld [Op:%s]",
                            -nd, nd, (long long)axis, d->tf_name);
    if (axis < 0) axis += nd;
    int64_t shape[FG_MAX_NDIM];
    memcpy(shape, x0->shape, (size_t)nd * sizeof(int64_t));
    shape[axis] = 0;
    const void *ptrs_small[16];
    const int64_t *shapes_small[16];
    const void **ptrs = n_in <= 16 ? ptrs_small : (const void **)malloc((size_t)n_in * sizeof(void *));
    const int64_t **shapes = n_in <= 16 ? shapes_small : (const int64_t **)malloc((size_t)n_in * sizeof(int64_t *));
    int rc = 0;
    if (!ptrs || !shapes) rc = fg_error_set(FG_ERR_NOMEM, "out of memory");
    for (int k = 0; k < n_in && rc == 0; k++) {
        fg_tensor *x = in[k];
        if (x->dtype != x0->dtype) {
            rc = dtype_mismatch(d, k, x0->dtype, x->dtype);
            break;
        }
        int bad = x->ndim != nd;
        for (int i = 0; !bad && i < nd; i++) bad = i != axis && x->shape[i] != x0->shape[i];
        if (bad) {
            int dim = 0;
            while (x->ndim == nd && dim < nd && (dim == axis || x->shape[dim] == x0->shape[dim])) dim++;
            rc = x->ndim != nd
                     ? fg_error_set(FG_ERR_INVALID, "ConcatOp : Ranks of all input tensors should match: shape[0] = %s vs. shape[%d] = %s [Op:%s]",
                                    fg_shape_str(nd, x0->shape), k, fg_shape_str(x->ndim, x->shape), d->tf_name)
                     : fg_error_set(FG_ERR_INVALID, "ConcatOp : Dimension %d in both shapes must be equal: shape[0] = %s vs. shape[%d] = %s [Op:%s]",
                                    dim, fg_shape_str(nd, x0->shape), k, fg_shape_str(x->ndim, x->shape), d->tf_name);
            break;
        }
        if (__builtin_add_overflow(shape[axis], x->shape[axis], &shape[axis])) {
            rc = fg_error_set(FG_ERR_INVALID, "ConcatOp : the concatenated dimension %lld would have more than "
                              "2**63 - 1 elements [Op:%s]", (long long)axis, d->tf_name);
            break;
        }
        ptrs[k] = x->data;
        shapes[k] = x->shape;
    }
    fg_tensor *o = rc == 0 ? fg_tensor_new(x0->dtype, nd, shape) : NULL;
    if (o) {
        void *tok = fg_gil_release_if(o->size);
        rc = fg_k_concat(x0->dtype, n_in, ptrs, nd, shapes, (int)axis, o->data);
        fg_gil_acquire(tok);
        if (rc < 0) {
            fg_decref(o);
            o = NULL;
        }
    } else {
        rc = -1;
    }
    if (ptrs != ptrs_small) free(ptrs);
    if (shapes != shapes_small) free(shapes);
    *out = o;
    return rc;
}

/* attrs = multiples per dim */
int fwd_tile(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs,
                    int nattrs, fg_tensor **out) {
    (void)n_in;
    fg_tensor *x = in[0];
    if (nattrs != x->ndim)
        return fg_error_set(FG_ERR_INVALID, "Expected multiples argument to be a vector of length %d but got length %d [Op:%s]",
                            x->ndim, nattrs, d->tf_name);
    int64_t shape[FG_MAX_NDIM];
    for (int i = 0; i < x->ndim; i++) {
        if (attrs[i] < 0)
            return fg_error_set(FG_ERR_INVALID, "Expected multiples[%d] >= 0, but got %lld [Op:%s]", i,
                                (long long)attrs[i], d->tf_name);
        if (__builtin_mul_overflow(x->shape[i], attrs[i], &shape[i]))
            /* TF wraps (tile of 4 elements by 2**62 + 1 gives 4) */
            return fg_error_set(FG_ERR_INVALID, "Tile: dimension %d of %lld times %lld would have more than "
                                "2**63 - 1 elements [Op:%s]", i, (long long)x->shape[i], (long long)attrs[i], d->tf_name);
    }
    fg_tensor *o = fg_tensor_new(x->dtype, x->ndim, shape);
    if (!o) return -1;
    RUN_KERNEL(o, fg_k_tile(x->dtype, x->data, x->ndim, x->shape, attrs, o->data));
    *out = o;
    return 0;
}

static int check_indices(const fg_opdef *d, const fg_tensor *idx, int64_t dim) {
    if (idx->dtype != FG_I32 && idx->dtype != FG_I64)
        return fg_error_set(FG_ERR_INVALID, "indices must be int32 or int64, not %s [Op:%s]", tf_dtype(idx->dtype), d->tf_name);
    for (int64_t i = 0; i < idx->size; i++) {
        int64_t v = idx->dtype == FG_I32 ? ((int32_t *)idx->data)[i] : ((int64_t *)idx->data)[i];
        if (v < 0 || v >= dim)
            return fg_error_set(FG_ERR_INVALID, "indices[%lld] = %lld is not in [0, %lld) [Op:%s]", (long long)i,
                                (long long)v, (long long)dim, d->tf_name);
    }
    return 0;
}

/* attrs = [axis]; output shape params[:axis] + indices.shape + params[axis+1:] */
int fwd_gather(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs,
                      int nattrs, fg_tensor **out) {
    (void)n_in, (void)nattrs;
    fg_tensor *p = in[0], *idx = in[1];
    int64_t axis = attrs[0];
    if (axis < 0) axis += p->ndim;
    if (axis < 0 || axis >= p->ndim)
        return fg_error_set(FG_ERR_INVALID, "Expected axis in the range [%d, %d), but got %lld [Op:%s]", -p->ndim,
                            p->ndim, (long long)attrs[0], d->tf_name);
    if (check_indices(d, idx, p->shape[axis]) < 0) return -1;
    int nd = p->ndim - 1 + idx->ndim;
    if (nd > FG_MAX_NDIM) return fg_error_set(FG_ERR_INVALID, "gather result rank %d exceeds %d", nd, FG_MAX_NDIM);
    int64_t shape[FG_MAX_NDIM];
    int k = 0;
    for (int i = 0; i < axis; i++) shape[k++] = p->shape[i];
    for (int i = 0; i < idx->ndim; i++) shape[k++] = idx->shape[i];
    for (int i = (int)axis + 1; i < p->ndim; i++) shape[k++] = p->shape[i];
    fg_tensor *o = fg_tensor_new(p->dtype, nd, shape);
    if (!o) return -1;
    RUN_KERNEL(o, fg_k_gather(p->dtype, p->data, p->ndim, p->shape, (int)axis, idx->dtype, idx->data, idx->size, o->data));
    *out = o;
    return 0;
}

/* attrs = [axis, ndim, params shape...]; inputs (g, indices) */
int fwd_gather_grad(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs,
                           int nattrs, fg_tensor **out) {
    (void)d, (void)n_in, (void)nattrs;
    fg_tensor *g = in[0], *idx = in[1];
    int axis = (int)attrs[0], nd = (int)attrs[1];
    const int64_t *shape = attrs + 2;
    fg_tensor *o = fg_tensor_new(g->dtype, nd, shape);
    if (!o) return -1;
    RUN_KERNEL(o, fg_k_gather_scatter(g->dtype, g->data, nd, shape, axis, idx->dtype, idx->data, idx->size, o->data));
    *out = o;
    return 0;
}

int fwd_softmax(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs,
                       int nattrs, fg_tensor **out) {
    (void)n_in, (void)attrs, (void)nattrs;
    fg_tensor *x = in[0];
    if (!fg_dtype_is_float(x->dtype))
        return fg_error_set(FG_ERR_INVALID, "Value for attr 'T' of %s is not in the list of allowed values [Op:%s]",
                            tf_dtype(x->dtype), d->tf_name);
    if (x->ndim < 1) return fg_error_set(FG_ERR_INVALID, "logits must have >= 1 dimension, got %s [Op:%s]",
                                         fg_shape_str(x->ndim, x->shape), d->tf_name);
    int64_t cols = x->shape[x->ndim - 1];
    fg_tensor *o = fg_tensor_new(x->dtype, x->ndim, x->shape);
    if (!o) return -1;
    RUN_KERNEL(o, fg_k_softmax(x->dtype, x->data, cols ? x->size / cols : 0, cols, o->data, d->kind));
    *out = o;
    return 0;
}

int fwd_custom(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs,
                      int nattrs, fg_tensor **out) {
    (void)in, (void)n_in, (void)attrs, (void)nattrs, (void)out;
    return fg_error_set(FG_ERR_RUNTIME, "%s is recorded by fg_tape_record_custom, never applied", d->name);
}

/* ------------------------------------------------------------------- rules */

/* The rule helpers (rctx, ap, MUL, ..., RULE_BEGIN/RULE_END, X, Y) are in
 * fg_rules.h, so that other rule files can share them. */

int bwd_identity(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    (void)node;
    if (need[0]) gin[0] = give(g);
    return 0;
}

/* ---- elementwise ops: one local derivative serves both modes ----
 *
 * d_OP(c, node, i, v, to) is v times d out / d input i (fg_deriv_fn). The
 * backward rule is bwd_elementwise (v = g, `to` the input, whose shape the
 * sweep sums the result to) and the JVP is jvp_elementwise in fg_jvp.c (v
 * = the input's tangent, `to` NULL); so both modes agree to the last digit
 * and a new elementwise op writes no rule of its own. */
/* DERIV, UNUSED_DERIV_ARGS and ZERO_DERIV are in fg_rules.h. */

int bwd_elementwise(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    const fg_opdef *d = &fg_ops[node->op];
    for (int i = 0; i < node->n_in && !c->failed; i++)
        if (need[i] && !((d->nondiff >> i) & 1)) gin[i] = give(d->deriv(c, node, i, g, X(i)));
    RULE_END;
}

DERIV(add) {
    UNUSED_DERIV_ARGS;
    return v;
}

DERIV(sub) {
    (void)node, (void)to;
    return i == 0 ? v : NEG(v);
}

DERIV(identity) {
    UNUSED_DERIV_ARGS;
    return v;
}

DERIV(neg) {
    UNUSED_DERIV_ARGS;
    return NEG(v);
}

/* The gradient of the factor `to` of a product whose other factor is
 * `other`: g * other, summed to to's shape when `to` was broadcast. With g
 * and other full-shape, that is one fused pass (reduce_sum_mul) instead of
 * writing a product as big as g and reducing it in the sweep; same bits.
 * Otherwise the plain product, which the sweep sums to shape. */
static fg_tensor *factor_grad(rctx *c, fg_tensor *g, fg_tensor *other, const fg_tensor *to) {
    if (c->failed || !g || !other) return c->failed = 1, NULL;
    if (!fg_dtype_is_float(g->dtype) || !fg_same_shape(g, other) || fg_same_shape(to, g) ||
        to->ndim > g->ndim)
        return MUL(g, other);
    int lead = g->ndim - to->ndim;
    int64_t at[1 + FG_MAX_NDIM];
    at[0] = 0; /* keepdims off: the kept dims are to's non-1 dims, in order */
    for (int i = 0; i < g->ndim; i++) at[1 + i] = i < lead || (to->shape[i - lead] == 1 && g->shape[i] != 1);
    fg_tensor *in[2] = {g, other};
    fg_tensor *s = ap(c, FG_OP_REDUCE_SUM_MUL, 2, in, at, 1 + g->ndim);
    if (s && !(s->ndim == to->ndim && memcmp(s->shape, to->shape, (size_t)to->ndim * sizeof(int64_t)) == 0))
        s = reshape_to(c, s, to->ndim, to->shape);
    return s;
}

DERIV(mul) {
    fg_tensor *other = X(1 - i);
    if (to) return factor_grad(c, v, other, to);
    return i == 0 ? MUL(v, other) : MUL(other, v);
}

DERIV(div) {
    if (i == 0) return DIV(v, X(1));
    (void)to;
    return MUL(v, DIV(DIV(NEG(X(0)), X(1)), X(1)));
}

/* TF's FloorMod gradients: 1 and -floor(x / y) */
DERIV(floormod) {
    (void)to;
    if (i == 0) return v;
    fg_tensor *q = X(0)->dtype == FG_F32 || X(0)->dtype == FG_F64 ? ap1(c, FG_OP_FLOOR, DIV(X(0), X(1)))
                                                                    : ap2(c, FG_OP_FLOORDIV, X(0), X(1));
    return MUL(v, NEG(q));
}

/* TF's DivNoNan gradients: div_no_nan in place of every division */
DERIV(div_no_nan) {
    (void)to;
    if (i == 0) return ap2(c, FG_OP_DIV_NO_NAN, v, X(1));
    return MUL(v, ap2(c, FG_OP_DIV_NO_NAN, ap2(c, FG_OP_DIV_NO_NAN, NEG(X(0)), X(1)), X(1)));
}

DERIV(pow) {
    (void)to;
    int dt = X(0)->dtype;
    if (i == 0) return MUL(MUL(v, X(1)), ap2(c, FG_OP_POW, X(0), SUB(X(1), cst(dt, 1))));
    /* TF: log(x) taken as 0 where x <= 0 */
    fg_tensor *zero = cst(dt, 0);
    fg_tensor *logx = WHERE(ap2(c, FG_OP_GREATER, X(0), zero), ap1(c, FG_OP_LOG, X(0)), zero);
    return MUL(MUL(v, Y), logx);
}

/* TF sends the gradient of a tie to the first operand. The mask is shared
 * by both inputs' partials (c->memo). */
static fg_tensor *extremum_deriv(rctx *c, const fg_node *node, int i, fg_tensor *v, int cmp) {
    if (!c->memo) c->memo = ap2(c, cmp, X(0), X(1));
    fg_tensor *zero = cst(v ? v->dtype : DT, 0);
    return i == 0 ? WHERE(c->memo, v, zero) : WHERE(c->memo, zero, v);
}
DERIV(maximum) {
    (void)to;
    return extremum_deriv(c, node, i, v, FG_OP_GREATER_EQUAL);
}
DERIV(minimum) {
    (void)to;
    return extremum_deriv(c, node, i, v, FG_OP_LESS_EQUAL);
}

/* tanh_grad(y, h) = h * (1 - y^2) */
DERIV(tanh_grad) {
    (void)to;
    if (i == 0) return MUL(MUL(v, X(1)), MUL(X(0), cst(DT, -2)));
    return ap2(c, FG_OP_TANH_GRAD, X(0), v);
}

/* sigmoid_grad(y, h) = h * y * (1 - y) */
DERIV(sigmoid_grad) {
    (void)to;
    if (i == 0) return MUL(MUL(v, X(1)), SUB(cst(DT, 1), MUL(X(0), cst(DT, 2))));
    return ap2(c, FG_OP_SIGMOID_GRAD, X(0), v);
}

/* relu_grad(x, h) = x > 0 ? h : 0; flat in x */
DERIV(relu_grad) {
    if (i == 0) return ZERO_DERIV;
    return ap2(c, FG_OP_RELU_GRAD, X(0), v);
}

/* sqrt_grad(y, h) = 0.5 * h / y = out */
DERIV(sqrt_grad) {
    (void)to;
    if (i == 0) return NEG(DIV(MUL(v, Y), X(0)));
    return ap2(c, FG_OP_SQRT_GRAD, X(0), v);
}

/* square_grad(x, h) = 2 x h: symmetric, so each input's partial is the
 * same op on the other one */
DERIV(square_grad) {
    (void)to;
    return ap2(c, FG_OP_SQUARE_GRAD, X(1 - i), v);
}

DERIV(square) {
    UNUSED_DERIV_ARGS;
    return ap2(c, FG_OP_SQUARE_GRAD, X(0), v); /* one pass, not two */
}

DERIV(sqrt) {
    UNUSED_DERIV_ARGS;
    return ap2(c, FG_OP_SQRT_GRAD, Y, v);
}

DERIV(exp) {
    UNUSED_DERIV_ARGS;
    return MUL(v, Y);
}

DERIV(log) {
    UNUSED_DERIV_ARGS;
    return DIV(v, X(0));
}

DERIV(log1p) {
    UNUSED_DERIV_ARGS;
    return DIV(v, ADD(X(0), cst(DT, 1)));
}

DERIV(sin) {
    UNUSED_DERIV_ARGS;
    return MUL(v, ap1(c, FG_OP_COS, X(0)));
}

DERIV(cos) {
    UNUSED_DERIV_ARGS;
    return NEG(MUL(v, ap1(c, FG_OP_SIN, X(0))));
}

DERIV(tan) {
    UNUSED_DERIV_ARGS;
    return MUL(v, ADD(ap1(c, FG_OP_SQUARE, Y), cst(DT, 1)));
}

DERIV(tanh) {
    UNUSED_DERIV_ARGS;
    return ap2(c, FG_OP_TANH_GRAD, Y, v);
}

DERIV(sigmoid) {
    UNUSED_DERIV_ARGS;
    return ap2(c, FG_OP_SIGMOID_GRAD, Y, v);
}

DERIV(abs) {
    UNUSED_DERIV_ARGS;
    return MUL(v, ap1(c, FG_OP_SIGN, X(0)));
}

/* piecewise constant */
DERIV(zero) {
    (void)node, (void)i, (void)v;
    return ZERO_DERIV;
}

DERIV(relu) {
    UNUSED_DERIV_ARGS;
    return ap2(c, FG_OP_RELU_GRAD, X(0), v);
}

DERIV(softplus) {
    UNUSED_DERIV_ARGS;
    return MUL(v, ap1(c, FG_OP_SIGMOID, X(0)));
}

/* TF's ReciprocalGrad: a zero gradient stays 0 where y is infinite */
DERIV(reciprocal) {
    UNUSED_DERIV_ARGS;
    return ap2(c, FG_OP_RECIPROCAL_GRAD, Y, v);
}

/* reciprocal_grad(y, h) = -y^2 h */
DERIV(reciprocal_grad) {
    (void)to;
    if (i == 0) return MUL(MUL(MUL(v, cst(DT, -2)), X(1)), X(0));
    return ap2(c, FG_OP_RECIPROCAL_GRAD, X(0), v);
}

DERIV(rsqrt) {
    UNUSED_DERIV_ARGS;
    return ap2(c, FG_OP_RSQRT_GRAD, Y, v);
}

/* rsqrt_grad(y, h) = -0.5 y^3 h */
DERIV(rsqrt_grad) {
    (void)to;
    if (i == 0) return MUL(MUL(MUL(v, cst(DT, -1.5)), X(1)), ap1(c, FG_OP_SQUARE, X(0)));
    return ap2(c, FG_OP_RSQRT_GRAD, X(0), v);
}

/* ---- inverse trigonometric and hyperbolic: TF's formulas (math_grad.py) */

/* 1 / sqrt(1 - x^2) */
static fg_tensor *inv_sqrt_one_minus_sq(rctx *c, const fg_node *node) {
    return ap1(c, FG_OP_RECIPROCAL, ap1(c, FG_OP_SQRT, SUB(cst(DT, 1), ap1(c, FG_OP_SQUARE, X(0)))));
}

DERIV(asin) {
    UNUSED_DERIV_ARGS;
    return MUL(v, inv_sqrt_one_minus_sq(c, node));
}

DERIV(acos) {
    UNUSED_DERIV_ARGS;
    return MUL(NEG(v), inv_sqrt_one_minus_sq(c, node));
}

DERIV(atan) {
    UNUSED_DERIV_ARGS;
    return MUL(v, ap1(c, FG_OP_RECIPROCAL, ADD(cst(DT, 1), ap1(c, FG_OP_SQUARE, X(0)))));
}

DERIV(sinh) {
    UNUSED_DERIV_ARGS;
    return MUL(v, ap1(c, FG_OP_COSH, X(0)));
}

DERIV(cosh) {
    UNUSED_DERIV_ARGS;
    return MUL(v, ap1(c, FG_OP_SINH, X(0)));
}

DERIV(asinh) {
    UNUSED_DERIV_ARGS;
    return DIV(v, ap1(c, FG_OP_COSH, Y));
}

DERIV(acosh) {
    UNUSED_DERIV_ARGS;
    return DIV(v, ap1(c, FG_OP_SINH, Y));
}

DERIV(atanh) {
    UNUSED_DERIV_ARGS;
    return MUL(v, ap1(c, FG_OP_RECIPROCAL, SUB(cst(DT, 1), ap1(c, FG_OP_SQUARE, X(0)))));
}

DERIV(expm1) {
    UNUSED_DERIV_ARGS;
    return MUL(v, ap1(c, FG_OP_EXP, X(0)));
}

/* TF's SoftsignGrad: g / (1 + |x|)^2 */
DERIV(softsign) {
    UNUSED_DERIV_ARGS;
    return DIV(v, ap1(c, FG_OP_SQUARE, ADD(cst(DT, 1), ap1(c, FG_OP_ABS, X(0)))));
}

/* atan2(y, x): g x / (x^2 + y^2) and -g y / (x^2 + y^2) */
DERIV(atan2) {
    (void)to;
    fg_tensor *gi = DIV(v, ADD(ap1(c, FG_OP_SQUARE, X(0)), ap1(c, FG_OP_SQUARE, X(1))));
    return i == 0 ? MUL(X(1), gi) : MUL(NEG(X(0)), gi);
}

/* TF: (2 g) (x - y), and its negation for y */
DERIV(squared_difference) {
    (void)to;
    fg_tensor *xg = MUL(MUL(cst(DT, 2), v), SUB(X(0), X(1)));
    return i == 0 ? xg : NEG(xg);
}

DERIV(multiply_no_nan) {
    (void)to;
    return i == 0 ? ap2(c, FG_OP_MUL_NO_NAN, v, X(1)) : ap2(c, FG_OP_MUL_NO_NAN, X(0), v);
}

/* 1 where x != 0, else 0, in x's dtype: the x-partial of the x* ops is
 * the op applied to it (TF's XlogyGrad and friends) */
static fg_tensor *nonzero_indicator(rctx *c, const fg_node *node) {
    int64_t dt = X(0)->dtype;
    fg_tensor *ne = ap2(c, FG_OP_NOT_EQUAL, X(0), cst(DT, 0));
    return ap(c, FG_OP_CAST, 1, &ne, &dt, 1);
}

DERIV(xlogy) {
    (void)to;
    if (i == 0) return MUL(ap2(c, FG_OP_XLOGY, nonzero_indicator(c, node), X(1)), v);
    return MUL(ap2(c, FG_OP_XDIVY, X(0), X(1)), v);
}

DERIV(xlog1py) {
    (void)to;
    if (i == 0) return MUL(ap2(c, FG_OP_XLOG1PY, nonzero_indicator(c, node), X(1)), v);
    return MUL(ap2(c, FG_OP_XDIVY, X(0), ADD(X(1), cst(DT, 1))), v);
}

DERIV(xdivy) {
    (void)to;
    if (i == 0) return MUL(ap2(c, FG_OP_XDIVY, nonzero_indicator(c, node), X(1)), v);
    return MUL(ap2(c, FG_OP_XDIVY, NEG(X(0)), ap1(c, FG_OP_SQUARE, X(1))), v);
}

/* TF: 1 for x1, zeros for x2 */
DERIV(nextafter) {
    (void)node;
    if (i == 0) return v;
    return ZERO_DERIV;
}

/* Between float dtypes the derivative is a cast back (reverse) or along
 * (forward); an integer or bool end has none: None, as TF. */
DERIV(cast) {
    (void)i;
    if (!fg_dtype_is_float(X(0)->dtype) || !fg_dtype_is_float(Y->dtype) || !v) return NULL;
    int64_t dst = to ? to->dtype : Y->dtype;
    return v->dtype == dst ? v : ap(c, FG_OP_CAST, 1, &v, &dst, 1);
}

DERIV(where) {
    (void)to;
    fg_tensor *zero = cst(v ? v->dtype : DT, 0);
    return i == 1 ? WHERE(X(0), v, zero) : WHERE(X(0), zero, v);
}

/* The gradient is g repeated over the reduced dims. It is returned
 * compact, in the keepdims shape (a reshape, no copy): the sweep expands it
 * only where a rule needs the full shape, so reduce_sum(f(x)) never writes
 * a buffer of ones the size of x (fg_ops.h, fg_rule_takes_compact). */
int bwd_reduce_sum(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    if (need[0]) gin[0] = give(keepdims_view(c, node, g));
    RULE_END;
}

/* reduce_sum_mul(a, b) = sum(a * b): g (repeated over the reduced dims)
 * times the other factor; full-shape, as the factors are. */
int bwd_reduce_sum_mul(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    fg_tensor *gk = keepdims_view(c, node, g);
    if (need[0]) gin[0] = give(MUL(gk, X(1)));
    if (need[1]) gin[1] = give(MUL(gk, X(0)));
    RULE_END;
}

/* TF: the gradient is shared equally among tied extrema. */
int bwd_reduce_extremum(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    if (need[0]) {
        uint8_t mask[FG_MAX_NDIM];
        for (int i = 0; i < X(0)->ndim; i++) mask[i] = node->attrs[1 + i] != 0;
        int64_t dt = X(0)->dtype;
        fg_tensor *eq = ap2(c, FG_OP_EQUAL, X(0), keepdims_view(c, node, Y));
        fg_tensor *ind = ap(c, FG_OP_CAST, 1, &eq, &dt, 1);
        fg_tensor *count = reduce_sum(c, ind, mask, 1);
        gin[0] = give(MUL(DIV(ind, count), keepdims_view(c, node, g)));
    }
    RULE_END;
}

/* d prod / d x_i = the product of the others (fg_rules.h, zero-safe). */
int bwd_reduce_prod(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    if (need[0]) gin[0] = give(MUL(keepdims_view(c, node, g), prod_of_others(c, node)));
    RULE_END;
}

int bwd_reshape(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    if (need[0]) gin[0] = give(reshape_to(c, g, X(0)->ndim, X(0)->shape));
    RULE_END;
}

int bwd_transpose(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    if (need[0]) {
        int nd = X(0)->ndim;
        int64_t inv[FG_MAX_NDIM];
        for (int i = 0; i < nd; i++) {
            int64_t p = node->attrs[i] < 0 ? node->attrs[i] + nd : node->attrs[i];
            inv[p] = i;
        }
        gin[0] = give(ap(c, FG_OP_TRANSPOSE, 1, &g, inv, nd));
    }
    RULE_END;
}

static fg_tensor *matmul(rctx *c, fg_tensor *a, fg_tensor *b, int ta, int tb) {
    int64_t at[2] = {ta, tb};
    fg_tensor *in[2] = {a, b};
    return ap(c, FG_OP_MATMUL, 2, in, at, 2);
}

/* TF's MatMul gradients for the four transpose cases; batch broadcasting
 * is undone by the sweep's sum-to-shape. */
int bwd_matmul(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    int ta = (int)node->attrs[0], tb = (int)node->attrs[1];
    fg_tensor *a = X(0), *b = X(1);
    if (need[0])
        gin[0] = give(!ta ? matmul(c, g, b, 0, !tb) : (!tb ? matmul(c, b, g, 0, 1) : matmul(c, b, g, 1, 1)));
    if (need[1])
        gin[1] = give(!tb ? matmul(c, a, g, !ta, 0) : (!ta ? matmul(c, g, a, 1, 0) : matmul(c, g, a, 1, 1)));
    RULE_END;
}

int bwd_slice(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    if (need[0]) {
        const fg_tensor *x = X(0);
        int nd = x->ndim;
        int64_t at[1 + 4 * FG_MAX_NDIM];
        at[0] = nd;
        memcpy(at + 1, x->shape, (size_t)nd * sizeof(int64_t));
        memcpy(at + 1 + nd, node->attrs, (size_t)(3 * nd) * sizeof(int64_t));
        gin[0] = give(ap(c, FG_OP_SLICE_GRAD, 1, &g, at, 1 + 4 * nd));
    }
    RULE_END;
}

int bwd_slice_grad(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    if (need[0]) {
        int nd = (int)node->attrs[0];
        gin[0] = give(ap(c, FG_OP_SLICE, 1, &g, node->attrs + 1 + nd, 3 * nd));
    }
    RULE_END;
}

int bwd_concat(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    int nd = g->ndim;
    int64_t axis = node->attrs[0] < 0 ? node->attrs[0] + nd : node->attrs[0];
    int64_t at[3 * FG_MAX_NDIM];
    int64_t offset = 0;
    for (int k = 0; k < node->n_in; k++) {
        const fg_tensor *x = X(k);
        if (need[k]) {
            for (int i = 0; i < nd; i++) {
                at[i] = i == axis ? offset : 0;
                at[nd + i] = 1;
                at[2 * nd + i] = x->shape[i];
            }
            gin[k] = give(ap(c, FG_OP_SLICE, 1, &g, at, 3 * nd));
        }
        offset += x->shape[axis];
    }
    RULE_END;
}

/* Tile: view g as [m0, d0, m1, d1, ...] and sum over the multiples. */
int bwd_tile(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    if (need[0]) {
        const fg_tensor *x = X(0);
        int nd = x->ndim;
        if (2 * nd > FG_MAX_NDIM) {
            fg_error_set(FG_ERR_INVALID, "tile gradient supports rank <= %d", FG_MAX_NDIM / 2);
            c->failed = 1;
        } else {
            int64_t shape[FG_MAX_NDIM];
            uint8_t mask[FG_MAX_NDIM];
            for (int i = 0; i < nd; i++) {
                shape[2 * i] = node->attrs[i];
                shape[2 * i + 1] = x->shape[i];
                mask[2 * i] = 1;
                mask[2 * i + 1] = 0;
            }
            gin[0] = give(reduce_sum(c, reshape_to(c, g, 2 * nd, shape), mask, 0));
        }
    }
    RULE_END;
}

int bwd_gather(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    if (need[0]) {
        const fg_tensor *p = X(0);
        int64_t axis = node->attrs[0] < 0 ? node->attrs[0] + p->ndim : node->attrs[0];
        int64_t at[2 + FG_MAX_NDIM];
        at[0] = axis;
        at[1] = p->ndim;
        memcpy(at + 2, p->shape, (size_t)p->ndim * sizeof(int64_t));
        fg_tensor *in[2] = {g, X(1)};
        gin[0] = give(ap(c, FG_OP_GATHER_GRAD, 2, in, at, 2 + p->ndim));
    }
    RULE_END;
}

int bwd_gather_grad(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    if (need[0]) {
        fg_tensor *in[2] = {g, X(1)};
        gin[0] = give(ap(c, FG_OP_GATHER, 2, in, node->attrs, 1));
    }
    RULE_END;
}

int bwd_softmax(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    if (need[0]) gin[0] = give(MUL(Y, SUB(g, sum_last_axis_keep(c, MUL(g, Y)))));
    RULE_END;
}

int bwd_log_softmax(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    if (need[0]) gin[0] = give(SUB(g, MUL(ap1(c, FG_OP_EXP, Y), sum_last_axis_keep(c, g))));
    RULE_END;
}

static fg_custom_hook custom_call = NULL;
static fg_release_hook custom_release = NULL, custom_retain = NULL;

void fg_set_custom_hooks(fg_custom_hook call, fg_release_hook release, fg_release_hook retain) {
    custom_call = call;
    custom_release = release;
    custom_retain = retain;
}
void fg_custom_retain(void *user) {
    if (custom_retain) custom_retain(user);
}
void fg_custom_release(void *user) {
    if (custom_release) custom_release(user);
}

int bwd_custom(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    (void)need;
    if (!custom_call) return fg_error_set(FG_ERR_RUNTIME, "no custom_gradient hook installed");
    return custom_call(node->user, g, node->n_in, gin);
}

/* ------------------------------------------------------------------- table */

#define no_deriv 0
#define no_backward 0
const fg_opdef fg_ops[FG_NUM_OPS] = {
#define FG_OP(ID, name, tf_name, n_in, flags, attrs, exec, fwd, deriv, bwd, jvp, kind, reads, nondiff) \
    {name, tf_name, n_in, flags, attrs, exec, fwd, deriv, bwd, jvp, kind, reads, nondiff},
#include "fg_ops.def"
#undef FG_OP
};

int fg_op_lookup(const char *name) {
    for (int i = 0; i < FG_NUM_OPS; i++)
        if (strcmp(fg_ops[i].name, name) == 0) return i;
    return -1;
}

const char *fg_op_name(int op) { return op >= 0 && op < FG_NUM_OPS ? fg_ops[op].name : "?"; }
const char *fg_op_attrs(int op) { return op >= 0 && op < FG_NUM_OPS ? fg_ops[op].attrs : ""; }
unsigned fg_op_flags(int op) { return op >= 0 && op < FG_NUM_OPS ? fg_ops[op].flags : 0; }


fg_tensor *fg_apply(int op, int n_in, fg_tensor *const *in, const int64_t *attrs, int nattrs) {
    const fg_opdef *d = &fg_ops[op];
    if (d->n_in >= 0 && d->n_in != n_in) {
        fg_error_set(FG_ERR_INVALID, "%s takes %d inputs, got %d", d->name, d->n_in, n_in);
        return NULL;
    }
    fg_tensor *out = NULL;
    if (d->forward(d, in, n_in, attrs, nattrs, &out) < 0) return NULL;
    if (fg_tape_record(op, n_in, in, attrs, nattrs, out) < 0) {
        fg_decref(out);
        return NULL;
    }
    /* forward accumulators: the JVP right after the forward kernel */
    if (fg_tls && fg_tls->acc_visible && fg_acc_record(op, n_in, in, attrs, nattrs, out, NULL) < 0) {
        fg_decref(out);
        return NULL;
    }
    /* fastgrad.function: a traced call records every op it applies */
    struct fg_program *prog = fg_thread()->tracing;
    if (prog && fg_program_trace_op(prog, op, n_in, in, attrs, nattrs, out) < 0) {
        fg_decref(out);
        return NULL;
    }
    return out;
}

/* ---------------------------------------------------------------- compact gradients */

int fg_is_compact_of(const fg_tensor *g, int ndim, const int64_t *shape) {
    if (g->ndim != ndim) return 0;
    for (int i = 0; i < ndim; i++)
        if (g->shape[i] != shape[i] && g->shape[i] != 1) return 0;
    return 1;
}

/* ---------------------------------------------------------------- composites */

fg_tensor *fg_sum_to_shape(fg_tensor *g, int ndim, const int64_t *shape) {
    int lead = g->ndim - ndim;
    if (lead < 0) {
        fg_error_set(FG_ERR_INVALID, "cannot sum a gradient of shape %s to shape %s",
                     fg_shape_str(g->ndim, g->shape), fg_shape_str(ndim, shape));
        return NULL;
    }
    uint8_t mask[FG_MAX_NDIM];
    int any = 0;
    for (int i = 0; i < g->ndim; i++) {
        mask[i] = i < lead || (shape[i - lead] == 1 && g->shape[i] != 1);
        any |= mask[i];
    }
    RULE_BEGIN;
    fg_tensor *r = any ? reduce_sum(c, g, mask, 0) : g;
    if (r && !(r->ndim == ndim && memcmp(r->shape, shape, (size_t)ndim * sizeof(int64_t)) == 0))
        r = reshape_to(c, r, ndim, shape);
    fg_incref(r);
    fg_tensor *dummy = NULL;
    if (rule_end(c, &dummy, 0) < 0) {
        fg_decref(r);
        return NULL;
    }
    return r;
}

fg_tensor *fg_reduce_mean(fg_tensor *x, const uint8_t *mask, int keepdims) {
    int64_t count = 1;
    for (int i = 0; i < x->ndim; i++)
        if (mask[i]) count *= x->shape[i];
    RULE_BEGIN;
    fg_tensor *s = reduce_sum(c, x, mask, keepdims);
    fg_tensor *r = fg_dtype_is_float(x->dtype) ? DIV(s, cst(x->dtype, (double)count))
                                               : ap2(c, FG_OP_FLOORDIV, s, cst(x->dtype, (double)(count ? count : 1)));
    fg_incref(r);
    fg_tensor *dummy = NULL;
    if (rule_end(c, &dummy, 0) < 0) {
        fg_decref(r);
        return NULL;
    }
    return r;
}

fg_tensor *fg_ones_like(const fg_tensor *x) {
    fg_tensor *t = fg_tensor_new(x->dtype, x->ndim, x->shape);
    if (t) fg_k_fill(t->dtype, t->data, t->size, 1.0);
    return t;
}

fg_tensor *fg_zeros_like(const fg_tensor *x) { return fg_tensor_zeros(x->dtype, x->ndim, x->shape); }
