/* fg_rules.h: what derivative rules are written with (internal, no .pxd).
 *
 * Backward rules (fg_ops.c) and forward-mode JVP rules (fg_jvp.c) are
 * compositions of table ops applied through fg_apply, so a recording tape
 * records them and derivatives of any order, in any mix of modes, need no
 * special support. A rule keeps every tensor it makes in an rctx and
 * releases them at the end; a NULL anywhere (an error) short-circuits the
 * rest.
 */
#ifndef FG_RULES_H
#define FG_RULES_H

#include <string.h>

#include "fg_ops.h"
#include "fg_tape.h"

#define RULE_TMP_MAX 128 /* the svd and qr rules hold about 60 */
typedef struct fg_rctx {
    fg_tensor *tmp[RULE_TMP_MAX];
    int n;
    int failed;
    fg_tensor *memo; /* a value the partials of one rule share (a mask), held in tmp */
} rctx;

static inline fg_tensor *hold(rctx *c, fg_tensor *t) {
    if (!t || c->n == RULE_TMP_MAX) {
        if (t) fg_decref(t), fg_error_set(FG_ERR_RUNTIME, "rule scratch overflow");
        c->failed = 1;
        return NULL;
    }
    c->tmp[c->n++] = t;
    return t;
}

static inline fg_tensor *ap(rctx *c, int op, int n, fg_tensor *const *in, const int64_t *attrs, int nattrs) {
    if (c->failed) return NULL;
    for (int i = 0; i < n; i++)
        if (!in[i]) {
            c->failed = 1;
            return NULL;
        }
    return hold(c, fg_apply(op, n, in, attrs, nattrs));
}

static inline fg_tensor *ap1(rctx *c, int op, fg_tensor *a) { return ap(c, op, 1, &a, NULL, 0); }
static inline fg_tensor *ap2(rctx *c, int op, fg_tensor *a, fg_tensor *b) {
    fg_tensor *in[2] = {a, b};
    return ap(c, op, 2, in, NULL, 0);
}
static inline fg_tensor *ap3(rctx *c, int op, fg_tensor *a, fg_tensor *b, fg_tensor *x) {
    fg_tensor *in[3] = {a, b, x};
    return ap(c, op, 3, in, NULL, 0);
}
static inline fg_tensor *constant(rctx *c, int dtype, double v) {
    return c->failed ? NULL : hold(c, fg_tensor_scalar(dtype, v));
}

#define ADD(a, b) ap2(c, FG_OP_ADD, a, b)
#define SUB(a, b) ap2(c, FG_OP_SUB, a, b)
#define MUL(a, b) ap2(c, FG_OP_MUL, a, b)
#define DIV(a, b) ap2(c, FG_OP_DIV, a, b)
#define NEG(a) ap1(c, FG_OP_NEG, a)
#define WHERE(k, a, b) ap3(c, FG_OP_WHERE, k, a, b)
#define cst(dt, v) constant(c, dt, v)

static inline fg_tensor *reshape_to(rctx *c, fg_tensor *x, int nd, const int64_t *shape) {
    int64_t at[1 + FG_MAX_NDIM];
    at[0] = nd;
    memcpy(at + 1, shape, (size_t)nd * sizeof(int64_t));
    return ap(c, FG_OP_RESHAPE, 1, &x, at, nd + 1);
}

static inline fg_tensor *reduce_sum(rctx *c, fg_tensor *x, const uint8_t *mask, int keepdims) {
    if (c->failed || !x) return c->failed = 1, NULL;
    int64_t at[1 + FG_MAX_NDIM];
    at[0] = keepdims;
    for (int i = 0; i < x->ndim; i++) at[1 + i] = mask[i];
    return ap(c, FG_OP_REDUCE_SUM, 1, &x, at, 1 + x->ndim);
}

static inline fg_tensor *sum_last_axis_keep(rctx *c, fg_tensor *x) {
    if (c->failed || !x) return c->failed = 1, NULL;
    uint8_t mask[FG_MAX_NDIM] = {0};
    mask[x->ndim - 1] = 1;
    return reduce_sum(c, x, mask, 1);
}

static inline fg_tensor *zeros_like(rctx *c, const fg_tensor *x) {
    return c->failed ? NULL : hold(c, fg_zeros_like(x));
}

/* Hand a result to the sweep: a new reference. */
static inline fg_tensor *give(fg_tensor *t) {
    fg_incref(t);
    return t;
}

static inline int rule_end(rctx *c, fg_tensor **gin, int n) {
    for (int i = 0; i < c->n; i++) fg_decref(c->tmp[i]);
    if (!c->failed) return 0;
    for (int i = 0; i < n; i++) {
        fg_decref(gin[i]);
        gin[i] = NULL;
    }
    return -1;
}

#define RULE_BEGIN rctx ctx_, *c = &ctx_; ctx_.n = 0; ctx_.failed = 0; ctx_.memo = NULL
#define RULE_END return rule_end(c, gin, node->n_in)
#define X(i) (node->in[i])
#define Y (node->out)
#define DT (node->out->dtype)
/* JVP rules: *tout the output's tangent, T(i) input i's (NULL: zero) */
#define JVP_BEGIN RULE_BEGIN; *tout = NULL
#define JVP_END return rule_end(c, tout, 1)
#define T(i) (tin[i])

/* Local derivatives of elementwise ops (fg_ops.c explains): d_name(c,
 * node, i, v, to) is v times d out / d input i. */
#define DERIV(name) fg_tensor *d_##name(rctx *c, const fg_node *node, int i, fg_tensor *v, const fg_tensor *to)
#define UNUSED_DERIV_ARGS (void)node, (void)i, (void)to
/* a derivative that is zero: TF's backward answers zeros (not None), its
 * forward mode no tangent */
#define ZERO_DERIV (to ? zeros_like(c, to) : NULL)

/* A tangent with nb leading batch dims viewed with ones between them and
 * its own dims up to rank want, so that NumPy broadcasting against the
 * unbatched primals of that rank lines up (nothing to do for nb = 0). */
static inline fg_tensor *align_tangent(rctx *c, fg_tensor *t, int nb, int want) {
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

/* a reduction's output (or g) viewed with the reduced axes kept, so that
 * it broadcasts against the input; attrs [keepdims, mask...] */
static inline fg_tensor *keepdims_view(rctx *c, const fg_node *node, fg_tensor *t) {
    int64_t shape[FG_MAX_NDIM];
    const fg_tensor *x = X(0);
    for (int i = 0; i < x->ndim; i++) shape[i] = node->attrs[1 + i] ? 1 : x->shape[i];
    return reshape_to(c, t, x->ndim, shape);
}

/* reduce_prod's derivative, d prod / d x_i = the product of the others,
 * shaped like x. Written without dividing by a zero: with no zero in the
 * reduced group it is prod / x_i; with exactly one zero only that element
 * gets (the product of the rest); with more, all are 0. The backward and
 * the JVP rule share it, so both modes agree to the last digit. */
static inline fg_tensor *prod_of_others(rctx *c, const fg_node *node) {
    const int dt = X(0)->dtype;
    int64_t dt64 = dt;
    int64_t at[1 + FG_MAX_NDIM];
    at[0] = 1;
    for (int i = 0; i < X(0)->ndim; i++) at[1 + i] = node->attrs[1 + i];
    uint8_t mask[FG_MAX_NDIM];
    for (int i = 0; i < X(0)->ndim; i++) mask[i] = node->attrs[1 + i] != 0;
    fg_tensor *zero = cst(dt, 0), *one = cst(dt, 1);
    fg_tensor *iszero = ap2(c, FG_OP_EQUAL, X(0), zero);
    fg_tensor *xs = WHERE(iszero, one, X(0));
    fg_tensor *pnz = ap(c, FG_OP_REDUCE_PROD, 1, &xs, at, 1 + X(0)->ndim);
    fg_tensor *nz = reduce_sum(c, ap(c, FG_OP_CAST, 1, &iszero, &dt64, 1), mask, 1);
    fg_tensor *for_nonzero = WHERE(ap2(c, FG_OP_EQUAL, nz, zero), DIV(pnz, xs), zero);
    fg_tensor *for_zero = WHERE(ap2(c, FG_OP_EQUAL, nz, one), pnz, zero);
    return WHERE(iszero, for_zero, for_nonzero);
}

/* Every function fg_ops.def names, declared from it: forwards, local
 * derivatives, backward and JVP rules (the no_* placeholders are declared
 * but never defined; the table reads them as 0). */
#define FG_OP(ID, name, tf_name, n_in, flags, attrs, exec, fwd, deriv, bwd, jvp, kind, reads, nondiff) \
    fg_forward_fn_t fwd;                                                                              \
    fg_deriv_fn_t deriv;                                                                              \
    fg_backward_fn_t bwd;                                                                             \
    fg_jvp_fn_t jvp;
#include "fg_ops.def"
#undef FG_OP

#endif
