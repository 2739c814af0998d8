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
    return align_tangent(c, t, nb, Y->ndim);
}

/* zeros of the batch dims of tangent t + like's shape (a zero tangent
 * that must take its place, as a concat operand) */
static fg_tensor *zeros_batched(rctx *c, const fg_tensor *t, int nb, const fg_tensor *like) {
    if (c->failed) return NULL;
    int64_t shape[FG_MAX_NDIM];
    memcpy(shape, t->shape, (size_t)nb * sizeof(int64_t));
    memcpy(shape + nb, like->shape, (size_t)like->ndim * sizeof(int64_t));
    return hold(c, fg_tensor_zeros(like->dtype, nb + like->ndim, shape));
}

/* ------------------------------------------------------- derived rules */

/* Non-differentiable ops (no_backward) are never recorded; named in the
 * table so the JVP declarations can be generated from it. */
int jvp_none(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    (void)node, (void)nb, (void)tin;
    *tout = NULL;
    return 0;
}

/* Elementwise ops: the sum over inputs of the local derivative (the
 * table's deriv column, the same code as the backward rule) applied to
 * each input's tangent. */
int jvp_elementwise(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    const fg_opdef *d = &fg_ops[node->op];
    fg_tensor *acc = NULL;
    for (int i = 0; i < node->n_in && !c->failed; i++) {
        if (!T(i) || ((d->nondiff >> i) & 1)) continue;
        acc = addt(c, acc, d->deriv(c, node, i, bx(c, node, nb, T(i)), NULL));
    }
    *tout = give(acc);
    JVP_END;
}

/* Linear ops: the op itself applied to the tangents (a zero tangent as
 * zeros where other inputs have one), with the attributes rewritten for
 * the batch dimensions from the table's attribute layout. */
int jvp_linear(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    const fg_opdef *d = &fg_ops[node->op];
    int n = node->n_in;
    fg_tensor *any = NULL;
    for (int i = 0; i < n && !any; i++)
        if (!((d->nondiff >> i) & 1)) any = T(i);
    fg_tensor *small[8];
    fg_tensor **ins = n <= 8 ? small : (fg_tensor **)malloc((size_t)n * sizeof(fg_tensor *));
    int64_t *at = (int64_t *)malloc(((size_t)FG_ATTRS_BATCHED_ROOM(node->op, node->nattrs, nb) + 1) * sizeof(int64_t));
    if (!ins || !at) {
        fg_error_set(FG_ERR_NOMEM, "out of memory");
        c->failed = 1;
    } else if (any) {
        for (int i = 0; i < n; i++) {
            if ((d->nondiff >> i) & 1)
                ins[i] = X(i);
            else if (!T(i))
                ins[i] = zeros_batched(c, any, nb, X(i));
            else
                ins[i] = (d->flags & FG_BROADCASTS) ? bx(c, node, nb, T(i)) : T(i);
        }
        int na = fg_attrs_batched(node->op, X(0)->ndim, node->attrs, node->nattrs, nb, any->shape, at);
        if (na < 0)
            c->failed = 1;
        else
            *tout = give(ap(c, node->op, n, ins, at, na));
    }
    if (ins != small) free(ins);
    free(at);
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

/* ------------------------------------------------------------ bilinear */

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
