/* fg_fusion.c: pack gradients into one buffer and unpack them (see fg_fusion.h). */
#include "fg_fusion.h"

#include <stdlib.h>
#include <string.h>

#include "fg_forward_util.h"
#include "fg_rules.h"

static int check(int dtype, int n, fg_tensor *const *ts) {
    if (dtype != FG_F32 && dtype != FG_F64)
        return fg_error_set(FG_ERR_INVALID, "tensor fusion reduces float32 and float64 tensors, not %s",
                            fg_dtype_name(dtype));
    for (int i = 0; i < n; i++) {
        if (ts[i] == NULL || ts[i]->data == NULL)
            return fg_error_set(FG_ERR_INVALID, "tensor fusion: tensor %d has no value", i);
        if (ts[i]->dtype != dtype)
            return fg_error_set(FG_ERR_INVALID, "tensor fusion: tensor %d is %s in a %s buffer", i,
                                fg_dtype_name(ts[i]->dtype), fg_dtype_name(dtype));
    }
    return 0;
}

/* one body per dtype: T the element type */
#define SCALE_COPY(T, dst, src, m, scale, divisor)                        \
    do {                                                                  \
        T *d_ = (T *)(dst);                                               \
        const T *s_ = (const T *)(src);                                   \
        const T k_ = (T)(scale), q_ = (T)(divisor);                       \
        if ((divisor) != 1.0) {                                           \
            for (int64_t j_ = 0; j_ < (m); j_++) d_[j_] = (s_[j_] * k_) / q_; \
        } else {                                                          \
            for (int64_t j_ = 0; j_ < (m); j_++) d_[j_] = s_[j_] * k_;    \
        }                                                                 \
    } while (0)

static void move(int dtype, void *dst, const void *src, int64_t m, double scale, double divisor) {
    if (scale == 1.0 && divisor == 1.0) {
        memcpy(dst, src, (size_t)m * fg_dtype_size(dtype));
    } else if (dtype == FG_F32) {
        SCALE_COPY(float, dst, src, m, scale, divisor);
    } else {
        SCALE_COPY(double, dst, src, m, scale, divisor);
    }
}

int64_t fg_fusion_pack(int dtype, void *dst, int n, fg_tensor *const *src, double scale) {
    if (check(dtype, n, src) < 0)
        return -1;
    size_t es = fg_dtype_size(dtype);
    int64_t off = 0;
    for (int i = 0; i < n; i++) {
        move(dtype, (char *)dst + (size_t)off * es, src[i]->data, src[i]->size, scale, 1.0);
        off += src[i]->size;
    }
    return off;
}

int64_t fg_fusion_unpack(int dtype, const void *src, int n, fg_tensor *const *dst, double scale,
                         double divisor) {
    if (check(dtype, n, dst) < 0)
        return -1;
    size_t es = fg_dtype_size(dtype);
    int64_t off = 0;
    for (int i = 0; i < n; i++) {
        move(dtype, dst[i]->data, (const char *)src + (size_t)off * es, dst[i]->size, scale, divisor);
        off += dst[i]->size;
    }
    return off;
}


/* ------------------------------------------------------- the allreduce op */

static fg_allreduce_hook allreduce_hook = NULL;

void fg_fusion_set_allreduce_hook(fg_allreduce_hook fn) { allreduce_hook = fn; }

static double attr_double(int64_t bits) {
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

/* the backward's and forward mode's reductions carry their own digest */
#define DIGEST_SALT ((int64_t)0x5bd1e9955bd1e995LL)

int fwd_allreduce(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
                  fg_tensor **out) {
    if (nattrs != 5 || (attrs[0] != FG_ALLREDUCE_SUM && attrs[0] != FG_ALLREDUCE_AVERAGE))
        return fg_error_set(FG_ERR_INVALID, "%s: attributes [op, prescale, postscale, divisor, digest] "
                            "with op Sum or Average [Op:%s]", d->name, d->tf_name);
    if (n_in < 1) return fg_error_set(FG_ERR_INVALID, "%s needs at least one tensor [Op:%s]", d->name, d->tf_name);
    if (!allreduce_hook)
        return fg_error_set(FG_ERR_RUNTIME, "%s: no process group (call fastgrad.distribute.init()) [Op:%s]",
                            d->name, d->tf_name);
    int dt = in[0]->dtype;
    int64_t total = 0;
    for (int i = 0; i < n_in; i++) total += in[i]->size;
    fg_tensor *o = fg_tensor_new(dt, 1, &total);
    if (!o) return -1;
    const double pre = attr_double(attrs[1]), post = attr_double(attrs[2]), div = attr_double(attrs[3]);
    if (fg_fusion_pack(dt, o->data, n_in, in, pre) < 0 ||
        allreduce_hook(o->data, total, dt, (int)attrs[0], attrs[4]) < 0) {
        fg_decref(o);
        return -1;
    }
    if (post != 1.0 || div != 1.0) {
        if (dt == FG_F32)
            SCALE_COPY(float, o->data, o->data, total, post, div);
        else
            SCALE_COPY(double, o->data, o->data, total, post, div);
    }
    *out = o;
    return 0;
}

/* Each input's gradient: its slice of the same reduction of g (the
 * gradient of every process's sum over the processes). */
int bwd_allreduce(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    int64_t at[5];
    memcpy(at, node->attrs, sizeof at);
    at[4] ^= DIGEST_SALT;
    fg_tensor *r = ap(c, FG_OP_ALLREDUCE, 1, &g, at, 5);
    int64_t off = 0;
    for (int k = 0; k < node->n_in; k++) {
        const fg_tensor *x = X(k);
        if (need[k]) {
            int64_t sl[3] = {off, 1, x->size};
            gin[k] = give(reshape_to(c, ap(c, FG_OP_SLICE, 1, &r, sl, 3), x->ndim, x->shape));
        }
        off += x->size;
    }
    RULE_END;
}

/* Forward mode: the same reduction of the tangents, packed alike; with nb
 * batch dimensions each tangent is viewed as [B, size], the rows joined,
 * and the reduced buffer viewed as [batch..., total]. */
int jvp_allreduce(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    int n = node->n_in;
    const fg_tensor *any = NULL;
    for (int i = 0; i < n && !any; i++) any = T(i);
    int64_t at[5];
    memcpy(at, node->attrs, sizeof at);
    at[4] ^= DIGEST_SALT + 1;
    fg_tensor **parts = (fg_tensor **)malloc((size_t)(n > 0 ? n : 1) * sizeof(fg_tensor *));
    if (!parts) {
        fg_error_set(FG_ERR_NOMEM, "out of memory");
        c->failed = 1;
    } else if (any) {
        int64_t batch = 1, shape[FG_MAX_NDIM];
        for (int i = 0; i < nb; i++) batch *= any->shape[i];
        for (int i = 0; i < n; i++) {
            int64_t rows[2] = {batch, X(i)->size};
            fg_tensor *t = T(i) ? T(i) : hold(c, fg_tensor_zeros(X(i)->dtype, 2, rows));
            parts[i] = reshape_to(c, t, 2, rows);
        }
        int64_t axis = 1;
        fg_tensor *joined = ap(c, FG_OP_CONCAT, n, parts, &axis, 1);
        fg_tensor *red = ap(c, FG_OP_ALLREDUCE, 1, &joined, at, 5);
        for (int i = 0; i < nb; i++) shape[i] = any->shape[i];
        shape[nb] = Y->size;
        *tout = give(reshape_to(c, red, nb + 1, shape));
    }
    free(parts);
    JVP_END;
}
