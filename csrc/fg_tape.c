/* fg_tape.c: tapes, the per-thread recording stack and the reverse sweep. */
#include "fg_tape.h"

#include <stdlib.h>
#include <string.h>

#include "fg_idmap.h"
#include "fg_thread.h"

int fg_tapes_recording(void) { return fg_thread()->n_active; }

/* ---- id -> slot map (fg_idmap.h) ---- */

int64_t fg_tape_slot(const fg_tape *t, int64_t id) { return fg_slotmap_get(&t->ids, id); }

/* Give id a new slot (ids are > 0). Returns the slot or -1. */
static int64_t map_add(fg_tape *t, int64_t id) {
    if (fg_slotmap_put(&t->ids, id, t->n_slots) < 0) return fg_error_set(FG_ERR_NOMEM, "out of memory growing a tape");
    return t->n_slots++;
}

/* ---- tapes ---- */

fg_tape *fg_tape_new(int persistent, int watch_accessed_variables) {
    fg_tape *t = (fg_tape *)calloc(1, sizeof(fg_tape));
    if (!t) {
        fg_error_set(FG_ERR_NOMEM, "out of memory");
        return NULL;
    }
    t->persistent = persistent;
    t->watch_accessed_variables = watch_accessed_variables;
    fg_slotmap_start(&t->ids, fg_next_id()); /* what it records is made from now on */
    return t;
}

static void node_release(fg_node *n) {
    for (int i = 0; i < n->n_in; i++) fg_decref(n->in[i]);
    fg_decref(n->out);
    if (n->in != n->in_inline) free(n->in);
    if (n->in_slot != n->in_slot_inline) free(n->in_slot);
    if (n->attrs != n->attrs_inline) free(n->attrs);
    if (n->user) fg_custom_release(n->user);
    n->in = n->in_inline;
    n->in_slot = n->in_slot_inline;
    n->attrs = n->attrs_inline;
    n->n_in = 0;
    n->nattrs = 0;
    n->out = NULL;
    n->user = NULL;
}

void fg_tape_release(fg_tape *t) {
    for (int64_t i = 0; i < t->n_nodes; i++) node_release(&t->nodes[i]);
    t->n_nodes = 0;
    fg_slotmap_clear(&t->ids, fg_next_id());
    t->n_slots = 0;
}

void fg_tape_clear(fg_tape *t) {
    fg_tape_release(t);
    t->n_accessed = 0;
}

void fg_tape_free(fg_tape *t) {
    if (!t) return;
    if (t->recording) fg_tape_pop(t);
    fg_tape_clear(t);
    free(t->nodes);
    fg_slotmap_free(&t->ids);
    free(t->accessed);
    free(t);
}

int fg_tape_push(fg_tape *t) {
    fg_thread_state *s = fg_thread();
    if (t->recording) return 0;
    if (s->n_active == FG_MAX_ACTIVE_TAPES)
        return fg_error_set(FG_ERR_RUNTIME, "more than %d tapes recording at once", FG_MAX_ACTIVE_TAPES);
    s->active[s->n_active++] = t;
    t->recording = 1;
    return 0;
}

/* Only the thread that pushed a tape can pop it: a tape entered in one
 * thread and exited in another stays on the first thread's stack. */
void fg_tape_pop(fg_tape *t) {
    fg_thread_state *s = fg_thread();
    if (!t->recording) return;
    for (int i = s->n_active - 1; i >= 0; i--) {
        if (s->active[i] == t) {
            memmove(&s->active[i], &s->active[i + 1], (size_t)(s->n_active - i - 1) * sizeof(s->active[0]));
            s->n_active--;
            t->recording = 0;
            break;
        }
    }
}

int fg_tape_watch(fg_tape *t, const fg_tensor *x) {
    if (!fg_dtype_is_float(x->dtype)) return 0;
    if (fg_tape_slot(t, x->id) < 0 && map_add(t, x->id) < 0) return -1;
    return 1;
}

static int note_accessed(fg_tape *t, int64_t id) {
    if (t->n_accessed == t->cap_accessed) {
        int64_t ncap = t->cap_accessed ? t->cap_accessed * 2 : 8;
        int64_t *na = (int64_t *)realloc(t->accessed, (size_t)ncap * sizeof(int64_t));
        if (!na) return fg_error_set(FG_ERR_NOMEM, "out of memory");
        t->accessed = na;
        t->cap_accessed = ncap;
    }
    t->accessed[t->n_accessed++] = id;
    return 0;
}

/* What the node keeps of an input or output: the tensor itself when the
 * rule reads it (or it is tiny), else a shape-only header. */
static fg_tensor *keep(fg_tensor *x, int read) {
    if (read || x->size <= 2) {
        fg_incref(x);
        return x;
    }
    return fg_tensor_meta(x);
}

/* Small nodes keep inputs, slots and attributes in the node itself; after
 * the node (or its array) moves, those pointers must follow. */
static void node_fix_inline(fg_node *n) {
    if (n->n_in <= FG_NODE_INLINE) {
        n->in = n->in_inline;
        n->in_slot = n->in_slot_inline;
    }
    if (n->nattrs <= FG_NODE_INLINE_ATTRS) n->attrs = n->attrs_inline;
}

static fg_node *node_alloc(fg_tape *t) {
    if (t->n_nodes == t->cap_nodes) {
        int64_t ncap = t->cap_nodes ? t->cap_nodes * 2 : 16;
        fg_node *nn = (fg_node *)realloc(t->nodes, (size_t)ncap * sizeof(fg_node));
        if (!nn) {
            fg_error_set(FG_ERR_NOMEM, "out of memory growing a tape");
            return NULL;
        }
        t->nodes = nn;
        t->cap_nodes = ncap;
        for (int64_t i = 0; i < t->n_nodes; i++) node_fix_inline(&t->nodes[i]);
    }
    return &t->nodes[t->n_nodes];
}

static int record_on(fg_tape *t, int op, int n_in, fg_tensor *const *in, const int64_t *attrs,
                     int nattrs, fg_tensor *out, void *user, const int64_t *slots) {
    const fg_opdef *d = &fg_ops[op];
    fg_node *n = node_alloc(t);
    if (!n) return -1;
    memset(n, 0, sizeof(*n));
    n->op = op;
    n->in = n_in <= FG_NODE_INLINE ? n->in_inline : (fg_tensor **)malloc((size_t)n_in * sizeof(fg_tensor *));
    n->in_slot = n_in <= FG_NODE_INLINE ? n->in_slot_inline : (int64_t *)malloc((size_t)n_in * sizeof(int64_t));
    n->attrs = nattrs <= FG_NODE_INLINE_ATTRS ? n->attrs_inline : (int64_t *)malloc((size_t)nattrs * sizeof(int64_t));
    if (!n->in || !n->in_slot || !n->attrs) {
        if (n->in != n->in_inline) free(n->in);
        if (n->in_slot != n->in_slot_inline) free(n->in_slot);
        if (n->attrs != n->attrs_inline) free(n->attrs);
        return fg_error_set(FG_ERR_NOMEM, "out of memory recording an op");
    }
    for (int i = 0; i < n_in; i++) {
        n->in[i] = keep(in[i], (d->reads >> (i < 8 ? i : 7)) & 1);
        n->in_slot[i] = slots[i];
    }
    n->n_in = n_in;
    for (int i = 0; i < nattrs; i++) n->attrs[i] = attrs[i];
    n->nattrs = nattrs;
    n->out = keep(out, (d->reads & FG_READS_OUT) != 0);
    n->user = user;
    if (user) fg_custom_retain(user);
    n->out_slot = map_add(t, out->id);
    if (n->out_slot < 0) {
        node_release(n);
        return -1;
    }
    t->n_nodes++;
    return 0;
}

static int record(int op, int n_in, fg_tensor *const *in, const int64_t *attrs, int nattrs,
                  fg_tensor *out, void *user) {
    const fg_opdef *d = &fg_ops[op];
    fg_thread_state *ts = fg_thread();
    int64_t slots_small[8];
    int64_t *slots = n_in <= 8 ? slots_small : (int64_t *)malloc((size_t)n_in * sizeof(int64_t));
    if (!slots) return fg_error_set(FG_ERR_NOMEM, "out of memory");
    int rc = 0;
    for (int k = 0; k < ts->n_active && rc == 0; k++) {
        fg_tape *t = ts->active[k];
        int any = 0;
        for (int i = 0; i < n_in; i++) {
            fg_tensor *x = in[i];
            slots[i] = -1;
            if (!fg_dtype_is_float(x->dtype) || ((d->nondiff >> (i < 31 ? i : 31)) & 1)) continue;
            int64_t s = fg_tape_slot(t, x->id);
            if (s < 0 && (x->flags & FG_FLAG_TRAINABLE) && t->watch_accessed_variables) {
                s = map_add(t, x->id);
                if (s < 0 || note_accessed(t, x->id) < 0) {
                    rc = -1;
                    break;
                }
            }
            if (s < 0 && t->watch_all && (s = map_add(t, x->id)) < 0) {
                rc = -1;
                break;
            }
            slots[i] = s;
            any |= s >= 0;
        }
        if (rc == 0 && any && fg_dtype_is_float(out->dtype))
            rc = record_on(t, op, n_in, in, attrs, nattrs, out, user, slots);
    }
    if (slots != slots_small) free(slots);
    return rc;
}

int fg_tape_record(int op, int n_in, fg_tensor *const *in, const int64_t *attrs, int nattrs,
                   fg_tensor *out) {
    if (fg_thread()->n_active == 0 || !fg_ops[op].backward) return 0;
    return record(op, n_in, in, attrs, nattrs, out, NULL);
}

int fg_tape_record_custom(int n_in, fg_tensor *const *in, fg_tensor *out, void *user) {
    if (fg_thread()->n_active == 0) return 0;
    return record(FG_OP_CUSTOM, n_in, in, NULL, 0, out, user);
}

/* ---- the reverse sweep ---- */

/* A gradient may be held compact (fg_ops.h): 1 along dims where it is
 * constant. full() gives the full-shape value, a new reference: g itself
 * when it already is, else broadcast_to (a table op, so a recording tape
 * records it). */
static fg_tensor *full(fg_tensor *g, const fg_tensor *like) {
    if (fg_same_shape(g, like)) {
        fg_incref(g);
        return g;
    }
    int64_t at[1 + FG_MAX_NDIM];
    at[0] = like->ndim;
    memcpy(at + 1, like->shape, (size_t)like->ndim * sizeof(int64_t));
    return fg_apply(FG_OP_BROADCAST_TO, 1, &g, at, 1 + like->ndim);
}

/* The seed of a target: ones, held compact (one element) when the target
 * is not a scalar, so a vector target costs no buffer of ones. */
static fg_tensor *ones_seed(const fg_tensor *target) {
    int64_t ones[FG_MAX_NDIM];
    fg_tensor *one, *t;
    if (target->size <= 1) return fg_ones_like(target);
    for (int i = 0; i < target->ndim; i++) ones[i] = 1;
    if (!(one = fg_tensor_scalar(target->dtype, 1.0))) return NULL;
    t = fg_tensor_alias(one, target->ndim, ones);
    fg_decref(one);
    return t;
}

static int accumulate(fg_tensor **slot, fg_tensor *g) {
    if (!*slot) { /* the first contribution is adopted, not copied */
        *slot = g;
        return 0;
    }
    fg_tensor *pair[2] = {*slot, g};
    fg_tensor *sum = fg_apply(FG_OP_ADD, 2, pair, NULL, 0);
    fg_decref(g);
    if (!sum) return -1;
    fg_decref(*slot);
    *slot = sum;
    return 0;
}

/* Forward marking: useful[s] is 2 for a source's slot, 1 for a slot
 * computed from one. Only these slots can carry a gradient back. */
static void mark_useful(const fg_tape *t, int64_t n_nodes, int64_t n_slots, int n_sources,
                        fg_tensor *const *sources, int64_t *src_slot, uint8_t *useful) {
    for (int k = 0; k < n_sources; k++) {
        src_slot[k] = fg_tape_slot(t, sources[k]->id);
        if (src_slot[k] >= 0 && src_slot[k] < n_slots) useful[src_slot[k]] = 2;
    }
    for (int64_t i = 0; i < n_nodes; i++) {
        const fg_node *n = &t->nodes[i];
        for (int j = 0; j < n->n_in; j++)
            if (n->in_slot[j] >= 0 && useful[n->in_slot[j]]) {
                useful[n->out_slot] |= 1;
                break;
            }
    }
}

/* The node's rule on g: gin[j] for each input with need[j]. A compact g
 * is expanded first unless the rule takes it as it is. */
static int node_vjp(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    fg_tensor *gr = g;
    if (fg_rule_takes_compact(node->op))
        fg_incref(gr);
    else
        gr = full(g, node->out);
    int ok = gr && fg_ops[node->op].backward(node, gr, gin, need) == 0;
    fg_decref(gr);
    return ok ? 0 : -1;
}

/* Add each gin[j] (taken over) into its input's gradient slot, summed to
 * the input's shape unless it is compact of it (reduce_sum's rule, seeds
 * stay compact). */
static int send_to_inputs(const fg_node *node, fg_tensor **gin, const uint8_t *need, fg_tensor **grads) {
    int rc = 0;
    for (int j = 0; j < node->n_in; j++) {
        fg_tensor *gj = gin[j];
        gin[j] = NULL;
        if (!gj || !need[j] || rc < 0) {
            fg_decref(gj);
            continue;
        }
        const fg_tensor *x = node->in[j];
        if (!fg_is_compact_of(gj, x->ndim, x->shape)) {
            fg_tensor *r = fg_sum_to_shape(gj, x->ndim, x->shape);
            fg_decref(gj);
            if (!(gj = r)) {
                rc = -1;
                continue;
            }
        }
        if (accumulate(&grads[node->in_slot[j]], gj) < 0) rc = -1;
    }
    return rc;
}

static int sweep(fg_tape *t, int n_targets, fg_tensor *const *targets, fg_tensor *const *seeds,
                 int n_sources, fg_tensor *const *sources, fg_tensor **result) {
    /* Snapshot: a persistent tape that records its own sweep grows while
     * we walk it; the new nodes are not part of this gradient. */
    int64_t n_nodes = t->n_nodes, n_slots = t->n_slots;
    int rc = -1;
    for (int k = 0; k < n_sources; k++) result[k] = NULL;
    uint8_t *useful = (uint8_t *)calloc((size_t)n_slots + 1, 1);
    int64_t *src_slot = (int64_t *)malloc(((size_t)n_sources + 1) * sizeof(int64_t));
    fg_tensor **grads = (fg_tensor **)calloc((size_t)n_slots + 1, sizeof(fg_tensor *));
    if (!useful || !grads || !src_slot) {
        fg_error_set(FG_ERR_NOMEM, "out of memory computing a gradient");
        goto done;
    }
    mark_useful(t, n_nodes, n_slots, n_sources, sources, src_slot, useful);
    for (int k = 0; k < n_targets; k++) {
        int64_t s = fg_tape_slot(t, targets[k]->id);
        if (s < 0 || s >= n_slots || !useful[s]) continue;
        fg_tensor *seed = seeds && seeds[k] ? seeds[k] : NULL;
        if (seed)
            fg_incref(seed);
        else if (!(seed = ones_seed(targets[k])))
            goto done;
        if (accumulate(&grads[s], seed) < 0) goto done;
    }
    for (int64_t i = n_nodes - 1; i >= 0; i--) {
        fg_node node = t->nodes[i]; /* a copy: recording may move the array */
        fg_tensor *g = grads[node.out_slot];
        if (!g) continue;
        node_fix_inline(&node);
        uint8_t need_small[8];
        uint8_t *need = node.n_in <= 8 ? need_small : (uint8_t *)malloc((size_t)node.n_in);
        fg_tensor *gin_small[8] = {0};
        fg_tensor **gin = node.n_in <= 8 ? gin_small : (fg_tensor **)calloc((size_t)node.n_in, sizeof(fg_tensor *));
        int ok = need && gin;
        if (!ok) fg_error_set(FG_ERR_NOMEM, "out of memory computing a gradient");
        int any = 0;
        for (int j = 0; ok && j < node.n_in; j++) any |= need[j] = node.in_slot[j] >= 0 && useful[node.in_slot[j]];
        if (ok && any) ok = node_vjp(&node, g, gin, need) == 0 && send_to_inputs(&node, gin, need, grads) == 0;
        for (int j = 0; gin && j < node.n_in; j++) fg_decref(gin[j]);
        if (need != need_small) free(need);
        if (gin != gin_small) free(gin);
        if (!ok) goto done;
        /* Every contribution to this slot is in: free it unless asked for. */
        if (!(useful[node.out_slot] & 2)) {
            fg_decref(grads[node.out_slot]);
            grads[node.out_slot] = NULL;
        }
        if (!t->persistent) node_release(&t->nodes[i]);
    }
    for (int k = 0; k < n_sources; k++) {
        int64_t s = src_slot[k];
        if (s >= 0 && s < n_slots && grads[s]) {
            if (!(result[k] = full(grads[s], sources[k]))) goto done;
        }
    }
    rc = 0;
done:
    if (rc < 0)
        for (int k = 0; k < n_sources; k++) {
            fg_decref(result[k]);
            result[k] = NULL;
        }
    if (grads)
        for (int64_t s = 0; s < n_slots; s++) fg_decref(grads[s]);
    free(grads);
    free(useful);
    free(src_slot);
    return rc;
}

/* The sweep holds references to the caller's targets, seeds and sources:
 * a custom_gradient function it calls (or another thread, while a kernel
 * runs without the GIL) may assign a Variable passed as a source; its old
 * tensor, left to this tape's nodes, would be freed as they are released
 * and its struct reused before the sweep reads the source's shape. */
int fg_tape_gradient(fg_tape *t, int n_targets, fg_tensor *const *targets,
                     fg_tensor *const *seeds, int n_sources, fg_tensor *const *sources,
                     fg_tensor **result) {
    fg_incref_n(n_targets, targets), fg_incref_n(n_targets, seeds), fg_incref_n(n_sources, sources);
    int rc = sweep(t, n_targets, targets, seeds, n_sources, sources, result);
    fg_decref_n(n_targets, targets), fg_decref_n(n_targets, seeds), fg_decref_n(n_sources, sources);
    return rc;
}
