/* fg_forward.c: forward accumulators and the forward sweep over a tape.
 * Both call the JVP rules of fg_jvp.c through the op table. */
#include "fg_forward.h"

#include <stdlib.h>
#include <string.h>

#include "fg_ops.h"
#include "fg_idmap.h"
#include "fg_thread.h"

/* ---------------------------------------------------------- accumulators */

fg_accumulator *fg_acc_new(void) {
    fg_accumulator *a = (fg_accumulator *)calloc(1, sizeof(fg_accumulator));
    if (!a) fg_error_set(FG_ERR_NOMEM, "out of memory");
    return a;
}

void fg_acc_free(fg_accumulator *a) {
    if (!a) return;
    if (a->active) fg_acc_pop(a);
    for (int64_t i = 0; i < a->hcap; i++)
        if (a->keys[i]) fg_decref(a->vals[i]);
    free(a->keys);
    free(a->vals);
    free(a);
}

fg_tensor *fg_acc_tangent(const fg_accumulator *a, int64_t id) {
    int64_t i = fg_idmap_find(a->keys, a->hcap, a->hcount, id);
    return i < 0 ? NULL : a->vals[i];
}

/* Store (adopting the reference) the tangent of the tensor with this id. */
static int acc_set(fg_accumulator *a, int64_t id, fg_tensor *tangent) {
    if (fg_idmap_reserve(&a->keys, (void **)&a->vals, sizeof *a->vals, &a->hcap, a->hcount, 64) < 0) {
        fg_decref(tangent);
        return fg_error_set(FG_ERR_NOMEM, "out of memory growing a forward accumulator");
    }
    int64_t i = fg_idmap_cell(a->keys, a->hcap, id);
    if (a->keys[i])
        fg_decref(a->vals[i]);
    else
        a->hcount++;
    a->keys[i] = id;
    a->vals[i] = tangent;
    return 0;
}

int fg_acc_watch(fg_accumulator *a, const fg_tensor *primal, fg_tensor *tangent) {
    fg_incref(tangent);
    return acc_set(a, primal->id, tangent);
}

int fg_acc_push(fg_accumulator *a) {
    fg_thread_state *s = fg_thread();
    if (a->active) return fg_error_set(FG_ERR_RUNTIME, "this forward accumulator is already active");
    if (s->n_acc == FG_MAX_ACTIVE_TAPES)
        return fg_error_set(FG_ERR_RUNTIME, "more than %d forward accumulators active at once", FG_MAX_ACTIVE_TAPES);
    /* a new accumulator is innermost and, unless a JVP is being computed
     * (acc_visible < n_acc), visible */
    int all_visible = s->acc_visible == s->n_acc;
    s->acc[s->n_acc++] = a;
    if (all_visible) s->acc_visible = s->n_acc;
    a->active = 1;
    return 0;
}

void fg_acc_pop(fg_accumulator *a) {
    fg_thread_state *s = fg_thread();
    if (!a->active) return;
    for (int i = s->n_acc - 1; i >= 0; i--) {
        if (s->acc[i] != a) continue;
        memmove(&s->acc[i], &s->acc[i + 1], (size_t)(s->n_acc - i - 1) * sizeof(s->acc[0]));
        s->n_acc--;
        if (s->acc_visible > i) s->acc_visible--;
        a->active = 0;
        break;
    }
}

int fg_acc_visible(void) {
    fg_thread_state *s = fg_tls;
    return s ? s->acc_visible : 0;
}

/* The output's tangent given to accumulators must have the output's shape
 * (rules may return a broadcastable one, d(x + c) = dx). */
static fg_tensor *fit(fg_tensor *t, int nb, const fg_tensor *like_batch, const fg_tensor *out) {
    int nd = nb + out->ndim;
    int same = t->ndim == nd && memcmp(t->shape + nb, out->shape, (size_t)out->ndim * sizeof(int64_t)) == 0;
    if (same && t->dtype == out->dtype) return t;
    fg_tensor *r = t;
    if (!same) {
        int64_t at[1 + FG_MAX_NDIM];
        at[0] = nd;
        memcpy(at + 1, like_batch->shape, (size_t)nb * sizeof(int64_t));
        memcpy(at + 1 + nb, out->shape, (size_t)out->ndim * sizeof(int64_t));
        r = fg_apply(FG_OP_BROADCAST_TO, 1, &t, at, 1 + nd);
        fg_decref(t);
        if (!r) return NULL;
    }
    if (r->dtype != out->dtype) {
        int64_t dt = out->dtype;
        fg_tensor *q = fg_apply(FG_OP_CAST, 1, &r, &dt, 1);
        fg_decref(r);
        r = q;
    }
    return r;
}

static int differentiable_input(const fg_opdef *d, int i, const fg_tensor *x) {
    return fg_dtype_is_float(x->dtype) && !((d->nondiff >> (i < 31 ? i : 31)) & 1);
}

int fg_acc_record(int op, int n_in, fg_tensor *const *in, const int64_t *attrs, int nattrs,
                  fg_tensor *out, void *user) {
    fg_thread_state *s = fg_thread();
    const fg_opdef *d = &fg_ops[op];
    if (!d->backward || !fg_dtype_is_float(out->dtype)) return 0;
    fg_tensor *tin_small[8];
    fg_tensor **tin = n_in <= 8 ? tin_small : (fg_tensor **)malloc((size_t)n_in * sizeof(fg_tensor *));
    if (!tin) return fg_error_set(FG_ERR_NOMEM, "out of memory");
    fg_node node;
    memset(&node, 0, sizeof(node));
    node.op = op;
    node.n_in = n_in;
    node.nattrs = nattrs;
    node.in = (fg_tensor **)in;
    node.out = out;
    node.attrs = (int64_t *)attrs;
    node.user = user;
    int rc = 0, visible = s->acc_visible;
    for (int k = 0; k < visible && rc == 0; k++) {
        fg_accumulator *a = s->acc[k];
        /* a custom_gradient output may already carry the tangent of the
         * ops inside the function (TF's eager behaviour) */
        if (user && fg_acc_tangent(a, out->id)) continue;
        int any = 0;
        for (int i = 0; i < n_in; i++) {
            tin[i] = differentiable_input(d, i, in[i]) ? fg_acc_tangent(a, in[i]->id) : NULL;
            any |= tin[i] != NULL;
        }
        if (!any) continue;
        /* hide this accumulator and those inside it while its rule runs */
        s->acc_visible = k;
        fg_tensor *t = NULL;
        rc = d->jvp(&node, 0, tin, &t);
        s->acc_visible = visible;
        if (rc < 0 || !t) continue;
        s->acc_visible = k;
        t = fit(t, 0, out, out);
        s->acc_visible = visible;
        if (!t || acc_set(a, out->id, t) < 0) rc = -1;
    }
    if (tin != tin_small) free(tin);
    return rc;
}

/* ------------------------------------------------------- the forward sweep */

/* A copy of a node whose inline arrays point into the copy (recording
 * during the sweep may move the tape's node array). */
static void node_copy(fg_node *dst, const fg_node *src) {
    *dst = *src;
    if (dst->n_in <= FG_NODE_INLINE) {
        dst->in = dst->in_inline;
        dst->in_slot = dst->in_slot_inline;
    }
    if (dst->nattrs <= FG_NODE_INLINE_ATTRS) dst->attrs = dst->attrs_inline;
}

/* custom_gradient nodes have an unbatched JVP (a double VJP through the
 * user's function): run it once per batch column and stack the columns. */
static int custom_batched(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    *tout = NULL;
    int n = node->n_in, rc = -1;
    const fg_tensor *any = NULL;
    for (int i = 0; i < n && !any; i++) any = tin[i];
    int64_t B = 1;
    for (int i = 0; i < nb; i++) B *= any->shape[i];
    fg_tensor **flat = (fg_tensor **)calloc((size_t)n + 1, sizeof(fg_tensor *));
    fg_tensor **col = (fg_tensor **)calloc((size_t)n + 1, sizeof(fg_tensor *));
    fg_tensor **outs = (fg_tensor **)calloc((size_t)B + 1, sizeof(fg_tensor *));
    if (!flat || !col || !outs) {
        fg_error_set(FG_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++) {
        if (!tin[i]) continue;
        const fg_tensor *x = node->in[i];
        int64_t at[2 + FG_MAX_NDIM];
        at[0] = 1 + x->ndim;
        at[1] = B;
        memcpy(at + 2, x->shape, (size_t)x->ndim * sizeof(int64_t));
        fg_tensor *t = tin[i];
        if (!(flat[i] = fg_apply(FG_OP_RESHAPE, 1, &t, at, 2 + x->ndim))) goto done;
    }
    const fg_tensor *y = node->out;
    for (int64_t b = 0; b < B; b++) {
        for (int i = 0; i < n; i++) {
            if (!flat[i]) continue;
            const fg_tensor *x = node->in[i];
            int nd = 1 + x->ndim;
            int64_t at[3 * (FG_MAX_NDIM + 1)];
            for (int j = 0; j < nd; j++) {
                at[j] = j == 0 ? b : 0;
                at[nd + j] = 1;
                at[2 * nd + j] = j == 0 ? 1 : x->shape[j - 1];
            }
            fg_tensor *s = fg_apply(FG_OP_SLICE, 1, &flat[i], at, 3 * nd);
            if (!s) goto done;
            int64_t rs[1 + FG_MAX_NDIM];
            rs[0] = x->ndim;
            memcpy(rs + 1, x->shape, (size_t)x->ndim * sizeof(int64_t));
            col[i] = fg_apply(FG_OP_RESHAPE, 1, &s, rs, 1 + x->ndim);
            fg_decref(s);
            if (!col[i]) goto done;
        }
        fg_tensor *t = NULL;
        int r = fg_ops[FG_OP_CUSTOM].jvp(node, 0, col, &t);
        for (int i = 0; i < n; i++) {
            fg_decref(col[i]);
            col[i] = NULL;
        }
        if (r < 0) goto done;
        if (!t && !(t = fg_tensor_zeros(y->dtype, y->ndim, y->shape))) goto done;
        int64_t rs[2 + FG_MAX_NDIM];
        rs[0] = 1 + y->ndim;
        rs[1] = 1;
        memcpy(rs + 2, y->shape, (size_t)y->ndim * sizeof(int64_t));
        outs[b] = fg_apply(FG_OP_RESHAPE, 1, &t, rs, 2 + y->ndim);
        fg_decref(t);
        if (!outs[b]) goto done;
    }
    int64_t axis = 0;
    fg_tensor *stacked = fg_apply(FG_OP_CONCAT, (int)B, outs, &axis, 1);
    if (!stacked) goto done;
    int64_t at[1 + FG_MAX_NDIM];
    at[0] = nb + y->ndim;
    memcpy(at + 1, any->shape, (size_t)nb * sizeof(int64_t));
    memcpy(at + 1 + nb, y->shape, (size_t)y->ndim * sizeof(int64_t));
    *tout = fg_apply(FG_OP_RESHAPE, 1, &stacked, at, 1 + at[0]);
    fg_decref(stacked);
    rc = *tout ? 0 : -1;
done:
    if (flat)
        for (int i = 0; i < n; i++) fg_decref(flat[i]);
    if (col)
        for (int i = 0; i < n; i++) fg_decref(col[i]);
    if (outs)
        for (int64_t b = 0; b < B; b++) fg_decref(outs[b]);
    free(flat);
    free(col);
    free(outs);
    return rc;
}

static int forward_sweep(fg_tape *t, int nb, int n_sources, fg_tensor *const *sources,
                         fg_tensor *const *tangents, int n_targets, fg_tensor *const *targets,
                         fg_tensor **result) {
    /* Snapshot, as the reverse sweep does: a tape recording this sweep
     * grows while we walk it. */
    int64_t n_nodes = t->n_nodes, n_slots = t->n_slots;
    int rc = -1;
    for (int j = 0; j < n_targets; j++) result[j] = NULL;
    fg_tensor **tan = (fg_tensor **)calloc((size_t)n_slots + 1, sizeof(fg_tensor *));
    uint8_t *need = (uint8_t *)calloc((size_t)n_slots + 1, 1);
    int64_t *last = (int64_t *)malloc(((size_t)n_slots + 1) * sizeof(int64_t));
    int64_t *tslot = (int64_t *)malloc(((size_t)n_targets + 1) * sizeof(int64_t));
    fg_tensor *tin_small[8];
    fg_tensor **tin = tin_small;
    const fg_tensor *batch = NULL;
    if (!tan || !need || !last || !tslot) {
        fg_error_set(FG_ERR_NOMEM, "out of memory in a forward sweep");
        goto done;
    }
    /* A source's tangent is its seed; when the tape computed the source
     * (a Jacobian with respect to an intermediate value) the seed is added
     * to what flows in, so each source's columns match the reverse
     * sweep's total derivatives. */
    for (int k = 0; k < n_sources; k++) {
        int64_t s = fg_tape_slot(t, sources[k]->id);
        if (s < 0 || s >= n_slots) continue;
        need[s] |= 4;
        if (!tangents[k]) continue;
        fg_incref(tangents[k]);
        fg_decref(tan[s]);
        tan[s] = tangents[k];
        batch = tangents[k];
    }
    /* Only nodes that lead to a target run; a slot's tangent is freed
     * after the last node that reads it. */
    for (int j = 0; j < n_targets; j++) {
        tslot[j] = fg_tape_slot(t, targets[j]->id);
        if (tslot[j] >= 0 && tslot[j] < n_slots) need[tslot[j]] |= 2;
    }
    for (int64_t s = 0; s < n_slots; s++) last[s] = -1;
    for (int64_t i = n_nodes - 1; i >= 0; i--) {
        const fg_node *n = &t->nodes[i];
        if (!(need[n->out_slot] & 3)) continue;
        for (int j = 0; j < n->n_in; j++) {
            int64_t s = n->in_slot[j];
            if (s < 0) continue;
            need[s] |= 1;
            if (last[s] < i) last[s] = i;
        }
    }
    for (int64_t i = 0; i < n_nodes; i++) {
        fg_node node;
        node_copy(&node, &t->nodes[i]);
        if (!(need[node.out_slot] & 3)) continue;
        if (node.n_in > 8 && tin == tin_small) {
            int64_t most = 8;
            for (int64_t q = i; q < n_nodes; q++)
                if (t->nodes[q].n_in > most) most = t->nodes[q].n_in;
            if (!(tin = (fg_tensor **)malloc((size_t)most * sizeof(fg_tensor *)))) {
                tin = tin_small;
                fg_error_set(FG_ERR_NOMEM, "out of memory in a forward sweep");
                goto done;
            }
        }
        int any = 0;
        for (int j = 0; j < node.n_in; j++) {
            int64_t s = node.in_slot[j];
            tin[j] = s >= 0 ? tan[s] : NULL;
            any |= tin[j] != NULL;
        }
        if (any) {
            const fg_opdef *d = &fg_ops[node.op];
            fg_tensor *out = NULL;
            int r = node.op == FG_OP_CUSTOM && nb > 0 ? custom_batched(&node, nb, tin, &out)
                                                      : d->jvp(&node, nb, tin, &out);
            if (r < 0) goto done;
            if (out && !(out = fit(out, nb, batch, node.out))) goto done;
            fg_tensor *seed = tan[node.out_slot];
            if (out && seed) {
                fg_tensor *pair[2] = {seed, out};
                fg_tensor *sum = fg_apply(FG_OP_ADD, 2, pair, NULL, 0);
                fg_decref(out);
                if (!(out = sum)) goto done;
            }
            if (out) {
                fg_decref(seed);
                tan[node.out_slot] = out;
            }
        }
        for (int j = 0; j < node.n_in; j++) {
            int64_t s = node.in_slot[j];
            if (s >= 0 && last[s] == i && !(need[s] & 6)) {
                fg_decref(tan[s]);
                tan[s] = NULL;
            }
        }
    }
    for (int j = 0; j < n_targets; j++) {
        int64_t s = tslot[j];
        if (s >= 0 && s < n_slots && tan[s]) {
            fg_incref(tan[s]);
            result[j] = tan[s];
        }
    }
    rc = 0;
done:
    if (rc < 0)
        for (int j = 0; j < n_targets; j++) {
            fg_decref(result[j]);
            result[j] = NULL;
        }
    if (tan)
        for (int64_t s = 0; s < n_slots; s++) fg_decref(tan[s]);
    if (tin != tin_small) free(tin);
    free(tan);
    free(need);
    free(last);
    free(tslot);
    return rc;
}

/* Held for the sweep, as fg_tape_gradient does (fg_tape.c says why). */
int fg_tape_forward(fg_tape *t, int nb, int n_sources, fg_tensor *const *sources,
                    fg_tensor *const *tangents, int n_targets, fg_tensor *const *targets,
                    fg_tensor **result) {
    fg_incref_n(n_sources, sources), fg_incref_n(n_sources, tangents), fg_incref_n(n_targets, targets);
    int rc = forward_sweep(t, nb, n_sources, sources, tangents, n_targets, targets, result);
    fg_decref_n(n_sources, sources), fg_decref_n(n_sources, tangents), fg_decref_n(n_targets, targets);
    return rc;
}
