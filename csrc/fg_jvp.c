/* fg_jvp.c: forward-mode (JVP) rules for the table in fg_ops.def.
 *
 * A JVP rule maps the inputs' tangents to the output's tangent. Like the
 * backward rules in fg_ops.c it is a composition of table ops applied
 * through fg_apply, so a recording tape records it (reverse-over-forward)
 * and a forward accumulator sees it (forward-over-forward): derivatives of
 * any order, in any mix of modes, need no special support. A rule reads
 * only what the op's `reads` column keeps, so it can run on a recorded
 * tape's nodes as well as at op time.
 *
 * Tangents: tin[i] is NULL (zero) or has shape batch + X(i)'s shape, with
 * nb leading batch dimensions (nb = 0 at op time; a batched forward sweep
 * pushes many tangent columns through one pass). The result may still be
 * broadcast (d(x + c) is dx, of x's shape): the caller broadcasts it to
 * batch + the output's shape.
 */
#include <stdlib.h>
#include <string.h>

#include "fg_ops.h"
#include "fg_rules.h"
#include "fg_tape.h"

#define JVP_BEGIN RULE_BEGIN; *tout = NULL
#define JVP_END return jvp_end(c, tout)
#define T(i) (tin[i])

static int jvp_end(rctx *c, fg_tensor **tout) {
    return rule_end(c, tout, 1);
}

/* a + b where either may be NULL (a zero tangent): no op for a zero. */
static fg_tensor *addt(rctx *c, fg_tensor *a, fg_tensor *b) {
    if (!a) return b;
    if (!b) return a;
    return ADD(a, b);
}

/* The tangent of a broadcasting op's input, viewed so that NumPy
 * broadcasting against the (unbatched) primals lines up: ones go between
 * the batch dimensions and the input's own, up to the output's rank. With
 * nb = 0 broadcasting already right-aligns, so nothing changes. */
static fg_tensor *bx(rctx *c, const fg_node *node, int nb, fg_tensor *t) {
    if (!t || nb == 0) return t;
    int own = t->ndim - nb, want = Y->ndim;
    if (own >= want) return t;
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

/* batch dims of a tangent + a shape, as attrs [nd, shape...] */
static int batched_shape(const fg_tensor *t, int nb, int nd, const int64_t *shape, int64_t *at) {
    at[0] = nb + nd;
    memcpy(at + 1, t->shape, (size_t)nb * sizeof(int64_t));
    memcpy(at + 1 + nb, shape, (size_t)nd * sizeof(int64_t));
    return 1 + nb + nd;
}

static fg_tensor *zeros_batched(rctx *c, const fg_tensor *t, int nb, const fg_tensor *like) {
    if (c->failed) return NULL;
    int64_t shape[FG_MAX_NDIM];
    memcpy(shape, t->shape, (size_t)nb * sizeof(int64_t));
    memcpy(shape + nb, like->shape, (size_t)like->ndim * sizeof(int64_t));
    return hold(c, fg_tensor_zeros(like->dtype, nb + like->ndim, shape));
}

/* ------------------------------------------------------------ elementwise */

int jvp_add(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    *tout = give(addt(c, bx(c, node, nb, T(0)), bx(c, node, nb, T(1))));
    JVP_END;
}

int jvp_sub(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    fg_tensor *a = bx(c, node, nb, T(0)), *b = bx(c, node, nb, T(1));
    *tout = give(a && b ? SUB(a, b) : a ? a : NEG(b));
    JVP_END;
}

int jvp_mul(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    fg_tensor *a = bx(c, node, nb, T(0)), *b = bx(c, node, nb, T(1));
    *tout = give(addt(c, a ? MUL(a, X(1)) : NULL, b ? MUL(X(0), b) : NULL));
    JVP_END;
}

/* d(x/y) = dx/y - dy*x/y/y, the same expression as the backward rule so
 * both modes agree to the last digit. */
int jvp_div(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    fg_tensor *a = bx(c, node, nb, T(0)), *b = bx(c, node, nb, T(1));
    *tout = give(addt(c, a ? DIV(a, X(1)) : NULL,
                      b ? MUL(b, DIV(DIV(NEG(X(0)), X(1)), X(1))) : NULL));
    JVP_END;
}

int jvp_pow(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    int dt = X(0)->dtype;
    fg_tensor *a = bx(c, node, nb, T(0)), *b = bx(c, node, nb, T(1));
    fg_tensor *ta = NULL, *tb = NULL;
    if (a) ta = MUL(MUL(a, X(1)), ap2(c, FG_OP_POW, X(0), SUB(X(1), cst(dt, 1))));
    if (b) {
        /* TF: log(x) taken as 0 where x <= 0 */
        fg_tensor *zero = cst(dt, 0);
        fg_tensor *logx = WHERE(ap2(c, FG_OP_GREATER, X(0), zero), ap1(c, FG_OP_LOG, X(0)), zero);
        tb = MUL(MUL(b, Y), logx);
    }
    *tout = give(addt(c, ta, tb));
    JVP_END;
}

/* TF's tie rule (the first operand wins), as in the backward rule. */
static int extremum_jvp(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout, int cmp) {
    JVP_BEGIN;
    fg_tensor *a = bx(c, node, nb, T(0)), *b = bx(c, node, nb, T(1));
    fg_tensor *zero = cst(DT, 0);
    *tout = give(WHERE(ap2(c, cmp, X(0), X(1)), a ? a : zero, b ? b : zero));
    JVP_END;
}
int jvp_maximum(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    return extremum_jvp(node, nb, tin, tout, FG_OP_GREATER_EQUAL);
}
int jvp_minimum(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    return extremum_jvp(node, nb, tin, tout, FG_OP_LESS_EQUAL);
}

/* tanh_grad(y, h) = h * (1 - y^2) */
int jvp_tanh_grad(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    fg_tensor *a = bx(c, node, nb, T(0)), *b = bx(c, node, nb, T(1));
    *tout = give(addt(c, a ? MUL(MUL(a, X(1)), MUL(X(0), cst(DT, -2))) : NULL,
                      b ? ap2(c, FG_OP_TANH_GRAD, X(0), b) : NULL));
    JVP_END;
}

/* square_grad(x, h) = h * (x + x): bilinear, like mul */
int jvp_square_grad(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    fg_tensor *a = bx(c, node, nb, T(0)), *b = bx(c, node, nb, T(1));
    *tout = give(addt(c, a ? ap2(c, FG_OP_SQUARE_GRAD, a, X(1)) : NULL,
                      b ? ap2(c, FG_OP_SQUARE_GRAD, X(0), b) : NULL));
    JVP_END;
}

/* sigmoid_grad(y, h) = h * y * (1 - y) */
int jvp_sigmoid_grad(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    fg_tensor *a = bx(c, node, nb, T(0)), *b = bx(c, node, nb, T(1));
    *tout = give(addt(c, a ? MUL(MUL(a, X(1)), SUB(cst(DT, 1), MUL(X(0), cst(DT, 2)))) : NULL,
                      b ? ap2(c, FG_OP_SIGMOID_GRAD, X(0), b) : NULL));
    JVP_END;
}

/* relu_grad(x, h) = x > 0 ? h : 0: flat in x */
int jvp_relu_grad(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    fg_tensor *b = bx(c, node, nb, T(1));
    if (b)
        *tout = give(ap2(c, FG_OP_RELU_GRAD, X(0), b));
    else if (T(0))
        *tout = give(zeros_batched(c, T(0), nb, Y));
    JVP_END;
}

/* sqrt_grad(y, h) = 0.5 * h / y = out; d/dy = -out / y (h is not kept) */
int jvp_sqrt_grad(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    fg_tensor *a = bx(c, node, nb, T(0)), *b = bx(c, node, nb, T(1));
    *tout = give(addt(c, a ? NEG(DIV(MUL(a, Y), X(0))) : NULL,
                      b ? ap2(c, FG_OP_SQRT_GRAD, X(0), b) : NULL));
    JVP_END;
}

int jvp_neg(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    (void)nb;
    *tout = give(NEG(T(0)));
    JVP_END;
}

int jvp_square(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    (void)nb;
    *tout = give(MUL(T(0), MUL(X(0), cst(DT, 2))));
    JVP_END;
}

int jvp_sqrt(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    (void)nb;
    *tout = give(ap2(c, FG_OP_SQRT_GRAD, Y, T(0)));
    JVP_END;
}

int jvp_exp(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    (void)nb;
    *tout = give(MUL(T(0), Y));
    JVP_END;
}

int jvp_log(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    (void)nb;
    *tout = give(DIV(T(0), X(0)));
    JVP_END;
}

int jvp_log1p(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    (void)nb;
    *tout = give(DIV(T(0), ADD(X(0), cst(DT, 1))));
    JVP_END;
}

int jvp_sin(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    (void)nb;
    *tout = give(MUL(T(0), ap1(c, FG_OP_COS, X(0))));
    JVP_END;
}

int jvp_cos(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    (void)nb;
    *tout = give(NEG(MUL(T(0), ap1(c, FG_OP_SIN, X(0)))));
    JVP_END;
}

int jvp_tan(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    (void)nb;
    *tout = give(MUL(T(0), ADD(ap1(c, FG_OP_SQUARE, Y), cst(DT, 1))));
    JVP_END;
}

int jvp_tanh(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    (void)nb;
    *tout = give(ap2(c, FG_OP_TANH_GRAD, Y, T(0)));
    JVP_END;
}

int jvp_sigmoid(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    (void)nb;
    *tout = give(ap2(c, FG_OP_SIGMOID_GRAD, Y, T(0)));
    JVP_END;
}

int jvp_abs(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    (void)nb;
    *tout = give(MUL(T(0), ap1(c, FG_OP_SIGN, X(0))));
    JVP_END;
}

/* Piecewise constant. The backward rule answers zeros, TF's; forward
 * mode answers "no tangent" (NULL), as TF's ForwardAccumulator does. */
int jvp_zero(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    (void)node, (void)nb, (void)tin;
    *tout = NULL;
    return 0;
}

int jvp_relu(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    (void)nb;
    *tout = give(ap2(c, FG_OP_RELU_GRAD, X(0), T(0)));
    JVP_END;
}

int jvp_softplus(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    (void)nb;
    *tout = give(MUL(T(0), ap1(c, FG_OP_SIGMOID, X(0))));
    JVP_END;
}

int jvp_reciprocal(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    (void)nb;
    *tout = give(NEG(MUL(T(0), ap1(c, FG_OP_SQUARE, Y))));
    JVP_END;
}

int jvp_identity(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    (void)node, (void)nb;
    *tout = tin[0];
    fg_incref(*tout);
    return 0;
}

/* Between float dtypes the tangent is cast too; to an integer or bool
 * there is no tangent (the backward rule gives None the same way). */
int jvp_cast(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    (void)nb;
    if (fg_dtype_is_float(Y->dtype)) {
        int64_t dst = Y->dtype;
        fg_tensor *t = T(0);
        *tout = give(t->dtype == dst ? t : ap(c, FG_OP_CAST, 1, &t, &dst, 1));
    }
    JVP_END;
}

int jvp_where(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    fg_tensor *a = bx(c, node, nb, T(1)), *b = bx(c, node, nb, T(2));
    fg_tensor *zero = cst(DT, 0);
    *tout = give(WHERE(X(0), a ? a : zero, b ? b : zero));
    JVP_END;
}

/* ------------------------------------------------------------- reductions */

/* the reduction's attrs [keepdims, mask...] with the batch axes kept */
static fg_tensor *reduce_batched(rctx *c, const fg_node *node, int nb, fg_tensor *t) {
    if (c->failed || !t) return c->failed = 1, NULL;
    int64_t at[1 + FG_MAX_NDIM];
    at[0] = node->attrs[0];
    for (int i = 0; i < nb; i++) at[1 + i] = 0;
    for (int i = 0; i < X(0)->ndim; i++) at[1 + nb + i] = node->attrs[1 + i];
    return ap(c, FG_OP_REDUCE_SUM, 1, &t, at, 1 + nb + X(0)->ndim);
}

/* the output (or a reduced tensor) viewed with the reduced axes kept */
static fg_tensor *keepdims_view(rctx *c, const fg_node *node, fg_tensor *t) {
    int64_t shape[FG_MAX_NDIM];
    const fg_tensor *x = X(0);
    for (int i = 0; i < x->ndim; i++) shape[i] = node->attrs[1 + i] ? 1 : x->shape[i];
    return reshape_to(c, t, x->ndim, shape);
}

int jvp_reduce_sum(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    *tout = give(reduce_batched(c, node, nb, T(0)));
    JVP_END;
}

/* reduce_sum_mul(a, b) = reduce_sum(a * b): mul's tangent, then the sum */
int jvp_reduce_sum_mul(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    fg_tensor *a = bx(c, node, nb, T(0)), *b = bx(c, node, nb, T(1));
    fg_tensor *t = addt(c, a ? MUL(a, X(1)) : NULL, b ? MUL(X(0), b) : NULL);
    if (t) *tout = give(reduce_batched(c, node, nb, t));
    JVP_END;
}

/* The backward rule shares the gradient among tied extrema; the tangent
 * is the matching average of the tied elements' tangents. */
int jvp_reduce_extremum(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    uint8_t mask[FG_MAX_NDIM];
    for (int i = 0; i < X(0)->ndim; i++) mask[i] = node->attrs[1 + i] != 0;
    int64_t dt = X(0)->dtype;
    fg_tensor *eq = ap2(c, FG_OP_EQUAL, X(0), keepdims_view(c, node, Y));
    fg_tensor *ind = ap(c, FG_OP_CAST, 1, &eq, &dt, 1);
    fg_tensor *w = DIV(ind, reduce_sum(c, ind, mask, 1));
    *tout = give(reduce_batched(c, node, nb, MUL(T(0), w)));
    JVP_END;
}

/* d prod = sum_i (product of the others) dx_i (fg_rules.h, zero-safe) */
int jvp_reduce_prod(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    *tout = give(reduce_batched(c, node, nb, MUL(T(0), prod_of_others(c, node))));
    JVP_END;
}

/* ------------------------------------------------------------------ shape */

int jvp_broadcast_to(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    fg_tensor *t = bx(c, node, nb, T(0));
    if (t) {
        int64_t at[1 + 2 * FG_MAX_NDIM];
        int na = batched_shape(t, nb, Y->ndim, Y->shape, at);
        *tout = give(ap(c, FG_OP_BROADCAST_TO, 1, &t, at, na));
    }
    JVP_END;
}

int jvp_reshape(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    fg_tensor *t = T(0);
    int64_t at[1 + 2 * FG_MAX_NDIM];
    int na = batched_shape(t, nb, Y->ndim, Y->shape, at);
    *tout = give(ap(c, FG_OP_RESHAPE, 1, &t, at, na));
    JVP_END;
}

int jvp_transpose(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    fg_tensor *t = T(0);
    int nd = X(0)->ndim;
    int64_t perm[FG_MAX_NDIM];
    for (int i = 0; i < nb; i++) perm[i] = i;
    for (int i = 0; i < nd; i++) perm[nb + i] = nb + (node->attrs[i] < 0 ? node->attrs[i] + nd : node->attrs[i]);
    *tout = give(ap(c, FG_OP_TRANSPOSE, 1, &t, perm, nb + nd));
    JVP_END;
}

/* d(A B) = dA B + A dB with the op's own transposes; batch dimensions of
 * the tangents broadcast like any others. */
int jvp_matmul(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    fg_tensor *a = bx(c, node, nb, T(0)), *b = bx(c, node, nb, T(1));
    fg_tensor *ta = NULL, *tb = NULL;
    if (a) {
        fg_tensor *in[2] = {a, X(1)};
        ta = ap(c, FG_OP_MATMUL, 2, in, node->attrs, 2);
    }
    if (b) {
        fg_tensor *in[2] = {X(0), b};
        tb = ap(c, FG_OP_MATMUL, 2, in, node->attrs, 2);
    }
    *tout = give(addt(c, ta, tb));
    JVP_END;
}

/* linear ops whose attrs describe every dimension: the batch dimensions
 * are taken whole (start 0, step 1, their full length) */
int jvp_slice(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    fg_tensor *t = T(0);
    int nd = X(0)->ndim, n = nb + nd;
    int64_t at[3 * FG_MAX_NDIM];
    for (int i = 0; i < nb; i++) {
        at[i] = 0;
        at[n + i] = 1;
        at[2 * n + i] = t->shape[i];
    }
    for (int i = 0; i < nd; i++) {
        at[nb + i] = node->attrs[i];
        at[n + nb + i] = node->attrs[nd + i];
        at[2 * n + nb + i] = node->attrs[2 * nd + i];
    }
    *tout = give(ap(c, FG_OP_SLICE, 1, &t, at, 3 * n));
    JVP_END;
}

int jvp_slice_grad(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    fg_tensor *t = T(0);
    int nd = (int)node->attrs[0], n = nb + nd;
    const int64_t *shape = node->attrs + 1;
    int64_t at[1 + 4 * FG_MAX_NDIM];
    at[0] = n;
    for (int i = 0; i < nb; i++) {
        at[1 + i] = t->shape[i];
        at[1 + n + i] = 0;
        at[1 + 2 * n + i] = 1;
        at[1 + 3 * n + i] = t->shape[i];
    }
    for (int k = 0; k < 4; k++)
        memcpy(at + 1 + k * n + nb, shape + k * nd, (size_t)nd * sizeof(int64_t));
    *tout = give(ap(c, FG_OP_SLICE_GRAD, 1, &t, at, 1 + 4 * n));
    JVP_END;
}

int jvp_concat(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    int nd = X(0)->ndim;
    fg_tensor *any = NULL;
    for (int k = 0; k < node->n_in && !any; k++) any = T(k);
    fg_tensor *small[16];
    fg_tensor **parts = node->n_in <= 16 ? small : (fg_tensor **)malloc((size_t)node->n_in * sizeof(fg_tensor *));
    if (!parts) {
        fg_error_set(FG_ERR_NOMEM, "out of memory");
        c->failed = 1;
    } else {
        /* a zero tangent still takes its place along the axis */
        for (int k = 0; k < node->n_in; k++) parts[k] = T(k) ? T(k) : zeros_batched(c, any, nb, X(k));
        int64_t axis = node->attrs[0] < 0 ? node->attrs[0] + nd : node->attrs[0];
        axis += nb;
        *tout = give(ap(c, FG_OP_CONCAT, node->n_in, parts, &axis, 1));
        if (parts != small) free(parts);
    }
    JVP_END;
}

int jvp_tile(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    fg_tensor *t = T(0);
    int nd = X(0)->ndim;
    int64_t mult[FG_MAX_NDIM];
    for (int i = 0; i < nb; i++) mult[i] = 1;
    memcpy(mult + nb, node->attrs, (size_t)nd * sizeof(int64_t));
    *tout = give(ap(c, FG_OP_TILE, 1, &t, mult, nb + nd));
    JVP_END;
}

int jvp_gather(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    int64_t axis = node->attrs[0] < 0 ? node->attrs[0] + X(0)->ndim : node->attrs[0];
    axis += nb;
    fg_tensor *in[2] = {T(0), X(1)};
    *tout = give(ap(c, FG_OP_GATHER, 2, in, &axis, 1));
    JVP_END;
}

int jvp_gather_grad(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    fg_tensor *t = T(0);
    int nd = (int)node->attrs[1];
    int64_t at[2 + 2 * FG_MAX_NDIM];
    at[0] = (node->attrs[0] < 0 ? node->attrs[0] + nd : node->attrs[0]) + nb;
    batched_shape(t, nb, nd, node->attrs + 2, at + 1);
    fg_tensor *in[2] = {t, X(1)};
    *tout = give(ap(c, FG_OP_GATHER_GRAD, 2, in, at, 2 + nb + nd));
    JVP_END;
}

/* over the last axis, which batching leaves last */
int jvp_softmax(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    (void)nb;
    fg_tensor *t = T(0);
    *tout = give(MUL(Y, SUB(t, sum_last_axis_keep(c, MUL(t, Y)))));
    JVP_END;
}

int jvp_log_softmax(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    (void)nb;
    fg_tensor *t = T(0);
    *tout = give(SUB(t, sum_last_axis_keep(c, MUL(ap1(c, FG_OP_EXP, Y), t))));
    JVP_END;
}

/* ------------------------------------------------------- custom gradients */

/* A custom_gradient function has only a VJP. Its JVP is the VJP's
 * transpose (TF's double-VJP trick): record u -> J^T u for a dummy u on a
 * private tape, then one reverse sweep of that (linear) map with the
 * input tangents as seeds gives J t. The user's grad_fn runs once, with
 * u = 0. Unbatched only: the forward sweep gives custom nodes one column
 * at a time (fg_forward.c). */
int jvp_custom(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    *tout = NULL;
    if (nb != 0)
        return fg_error_set(FG_ERR_RUNTIME, "custom_gradient JVP is unbatched (internal: nb=%d)", nb);
    int n = node->n_in, rc = -1, nt = 0;
    fg_tensor *u = fg_tensor_zeros(Y->dtype, Y->ndim, Y->shape);
    fg_tape *tape = fg_tape_new(0, 0);
    fg_tensor **gin = (fg_tensor **)calloc((size_t)n + 1, sizeof(fg_tensor *));
    fg_tensor **targets = (fg_tensor **)calloc((size_t)n + 1, sizeof(fg_tensor *));
    fg_tensor **seeds = (fg_tensor **)calloc((size_t)n + 1, sizeof(fg_tensor *));
    uint8_t *need = (uint8_t *)malloc((size_t)n + 1);
    if (!u || !tape || !gin || !targets || !seeds || !need) {
        if (!u || !tape) fg_error_clear();
        fg_error_set(FG_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++) need[i] = tin[i] != NULL;
    if (fg_tape_push(tape) < 0 || fg_tape_watch(tape, u) < 0) goto pop;
    if (fg_ops[FG_OP_CUSTOM].backward(node, u, gin, need) < 0) goto pop;
    for (int i = 0; i < n; i++) {
        if (!gin[i] || !tin[i]) continue;
        fg_tensor *g = gin[i];
        if (!fg_same_shape(g, X(i)) || g->ndim != X(i)->ndim) {
            if (!(g = fg_sum_to_shape(g, X(i)->ndim, X(i)->shape))) goto pop;
            fg_decref(gin[i]);
            gin[i] = g;
        }
        targets[nt] = g;
        seeds[nt++] = tin[i];
    }
    rc = 0;
pop:
    fg_tape_pop(tape);
    if (rc == 0 && nt > 0) rc = fg_tape_gradient(tape, nt, targets, seeds, 1, &u, tout);
done:
    if (gin)
        for (int i = 0; i < n; i++) fg_decref(gin[i]);
    free(gin);
    free(targets);
    free(seeds);
    free(need);
    fg_tape_free(tape);
    fg_decref(u);
    return rc;
}
