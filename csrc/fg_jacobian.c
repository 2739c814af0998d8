/* fg_jacobian.c: tape.jacobian and batch_jacobian over one recording.
 *
 * The forward pass ran once (the user's code, recorded). Then, by what
 * costs fewest sweeps:
 *   - the tape shows every node between sources and target is elementwise
 *     on same-shaped values: the Jacobian is diagonal, one reverse sweep
 *     with a ones seed gives its diagonal;
 *   - else one reverse sweep per target element (a one-hot seed reused
 *     in place), or one forward sweep with a batch of one-hot tangents
 *     covering every source element (chunked to bound memory).
 * Rows go straight into the result buffers. When a tape records or an
 * accumulator watches (a Jacobian inside an outer tape), the result is
 * built from table ops instead, so it is differentiable in turn; so it is
 * too while fastgrad.function traces, so the program records how the
 * result is formed (rows written straight into a buffer would be
 * captured as a constant and replayed stale for every new input).
 */
#include <stdlib.h>
#include <string.h>

#include "fg_forward.h"
#include "fg_ops.h"
#include "fg_program.h"
#include "fg_tape.h"

/* elements a batched forward sweep may hold per value */
#define FWD_CHUNK_ELEMS (1 << 22)

/* differentiable elementwise ops (fg_ops.def's flags) */
static int is_elementwise(int op) { return fg_op_has(op, FG_ELEMENTWISE) && fg_ops[op].backward; }

typedef struct {
    int diag;           /* elementwise, same shapes along every path */
    int custom;         /* a custom_gradient node on a path */
    int64_t max_size;   /* the largest value on a path */
    uint8_t *connected; /* per source */
} path_info;

/* What the recording says about the paths from the sources to target. */
static int scan(fg_tape *t, int64_t n_nodes, int64_t n_slots, int64_t tslot, int ns,
                const int64_t *sslot, path_info *p) {
    uint8_t *lead = (uint8_t *)calloc((size_t)n_slots + 1, 1);
    uint8_t *reach = (uint8_t *)calloc((size_t)n_slots + 1, 1);
    uint8_t *mine = (uint8_t *)calloc((size_t)n_slots + 1, 1);
    if (!lead || !reach || !mine) {
        free(lead), free(reach), free(mine);
        return fg_error_set(FG_ERR_NOMEM, "out of memory");
    }
    p->diag = 1;
    p->custom = 0;
    p->max_size = 1;
    if (tslot >= 0) lead[tslot] = 1;
    for (int64_t i = n_nodes - 1; i >= 0; i--) {
        const fg_node *n = &t->nodes[i];
        if (!lead[n->out_slot]) continue;
        for (int j = 0; j < n->n_in; j++)
            if (n->in_slot[j] >= 0) lead[n->in_slot[j]] = 1;
    }
    for (int k = 0; k < ns; k++) {
        p->connected[k] = 0;
        if (sslot[k] < 0 || tslot < 0) continue;
        memset(mine, 0, (size_t)n_slots);
        mine[sslot[k]] = 1;
        for (int64_t i = 0; i < n_nodes; i++) {
            const fg_node *n = &t->nodes[i];
            if (!lead[n->out_slot]) continue;
            for (int j = 0; j < n->n_in; j++)
                if (n->in_slot[j] >= 0 && mine[n->in_slot[j]]) {
                    mine[n->out_slot] = 1;
                    break;
                }
        }
        p->connected[k] = mine[tslot];
        for (int64_t s = 0; s < n_slots; s++) reach[s] |= mine[s];
    }
    for (int64_t i = 0; i < n_nodes; i++) {
        const fg_node *n = &t->nodes[i];
        if (!lead[n->out_slot] || !reach[n->out_slot]) continue;
        if (n->out->size > p->max_size) p->max_size = n->out->size;
        if (n->op == FG_OP_CUSTOM) p->custom = 1;
        if (!is_elementwise(n->op)) {
            p->diag = 0;
            continue;
        }
        for (int j = 0; j < n->n_in; j++)
            if (n->in_slot[j] >= 0 && reach[n->in_slot[j]] &&
                (n->in[j]->ndim != n->out->ndim || !fg_same_shape(n->in[j], n->out)))
                p->diag = 0;
    }
    free(lead), free(reach), free(mine);
    return 0;
}

/* Build results from table ops (recorded) rather than written in place. */
static int use_table_ops(void) {
    return fg_tapes_recording() > 0 || fg_acc_visible() > 0 || fg_program_tracing() != NULL;
}

static int same_shape(const fg_tensor *a, const fg_tensor *b) {
    return a->ndim == b->ndim && fg_same_shape(a, b);
}

static void set1(fg_tensor *t, int64_t i, double v) {
    if (t->dtype == FG_F32)
        ((float *)t->data)[i] = (float)v;
    else
        ((double *)t->data)[i] = v;
}

/* A seed we may write into: nobody else holds it or its buffer. */
static int exclusive(const fg_tensor *t) {
    return t->refcnt == 1 && (!t->buf || (t->buf->refcnt == 1 && !t->buf->release));
}

/* dst[di] = src[si] for float dtypes of one element size */
#define COPY_ELEM(dst, di, src, si, esz)                                              \
    do {                                                                              \
        if ((esz) == 4) ((float *)(dst))[di] = ((const float *)(src))[si];            \
        else ((double *)(dst))[di] = ((const double *)(src))[si];                     \
    } while (0)

static fg_tensor *with_dtype(fg_tensor *g, int dtype) {
    if (g->dtype == dtype) return g;
    int64_t dt = dtype;
    fg_tensor *r = fg_apply(FG_OP_CAST, 1, &g, &dt, 1);
    fg_decref(g);
    return r;
}

static fg_tensor *reshape(fg_tensor *x, int nd, const int64_t *shape) {
    int64_t at[1 + FG_MAX_NDIM];
    at[0] = nd;
    memcpy(at + 1, shape, (size_t)nd * sizeof(int64_t));
    return fg_apply(FG_OP_RESHAPE, 1, &x, at, 1 + nd);
}

/* shape a + shape b */
static int cat_shape(int64_t *out, int na, const int64_t *a, int nb, const int64_t *b) {
    if (na + nb > FG_MAX_NDIM)
        return fg_error_set(FG_ERR_INVALID, "jacobian of rank %d exceeds %d", na + nb, FG_MAX_NDIM);
    memcpy(out, a, (size_t)na * sizeof(int64_t));
    memcpy(out + na, b, (size_t)nb * sizeof(int64_t));
    return na + nb;
}

/* Stack n row tensors (NULL: zeros of row shape) along a new axis 0. */
static fg_tensor *stack_rows(fg_tensor **rows, int64_t n, int dtype, int rnd, const int64_t *rshape) {
    int64_t shape[FG_MAX_NDIM];
    shape[0] = 1;
    memcpy(shape + 1, rshape, (size_t)rnd * sizeof(int64_t));
    if (n == 0) {
        shape[0] = 0;
        return fg_tensor_zeros(dtype, rnd + 1, shape);
    }
    fg_tensor **parts = (fg_tensor **)calloc((size_t)n, sizeof(fg_tensor *));
    fg_tensor *r = NULL;
    if (!parts) {
        fg_error_set(FG_ERR_NOMEM, "out of memory");
        return NULL;
    }
    int64_t i;
    for (i = 0; i < n; i++) {
        fg_tensor *row = rows[i] ? rows[i] : fg_tensor_zeros(dtype, rnd, rshape);
        if (!row) break;
        if (rows[i]) fg_incref(row);
        parts[i] = reshape(row, rnd + 1, shape);
        fg_decref(row);
        if (!parts[i]) break;
    }
    if (i == n) {
        int64_t axis = 0;
        r = fg_apply(FG_OP_CONCAT, (int)n, parts, &axis, 1);
    }
    for (int64_t j = 0; j < n; j++) fg_decref(parts[j]);
    free(parts);
    return r;
}

/* ------------------------------------------------------------ jacobian */

typedef struct {
    fg_tape *t;
    fg_tensor *target;
    int ns;
    fg_tensor *const *sources;
    fg_tensor **out;
    const uint8_t *connected;
} jac;

static int jac_alloc(jac *J) {
    for (int k = 0; k < J->ns; k++) {
        const fg_tensor *s = J->sources[k];
        int64_t shape[FG_MAX_NDIM];
        int nd = cat_shape(shape, J->target->ndim, J->target->shape, s->ndim, s->shape);
        if (nd < 0) return -1;
        if (J->connected[k] && !(J->out[k] = fg_tensor_zeros(s->dtype, nd, shape))) return -1;
    }
    return 0;
}

static int jac_diag(jac *J, int differentiable) {
    fg_tensor *res[64];
    fg_tensor **r = J->ns <= 64 ? res : (fg_tensor **)calloc((size_t)J->ns, sizeof(fg_tensor *));
    if (!r) return fg_error_set(FG_ERR_NOMEM, "out of memory");
    int rc = fg_tape_gradient(J->t, 1, &J->target, NULL, J->ns, J->sources, r);
    for (int k = 0; rc == 0 && k < J->ns; k++) {
        const fg_tensor *s = J->sources[k];
        if (!r[k]) continue;
        int64_t n = s->size;
        if (!(r[k] = with_dtype(r[k], s->dtype))) {
            rc = -1;
            break;
        }
        if (!differentiable) {
            int64_t shape[FG_MAX_NDIM];
            int nd = cat_shape(shape, J->target->ndim, J->target->shape, s->ndim, s->shape);
            if (nd < 0 || !(J->out[k] = fg_tensor_zeros(s->dtype, nd, shape))) {
                rc = -1;
                break;
            }
            size_t esz = fg_dtype_size(s->dtype);
            for (int64_t i = 0; i < n; i++) COPY_ELEM(J->out[k]->data, i * n + i, r[k]->data, i, esz);
            continue;
        }
        /* diag(g) = g[:, None] * I, from table ops */
        int64_t col[2] = {n, 1}, sq[2] = {n, n}, shape[FG_MAX_NDIM];
        fg_tensor *eye = fg_tensor_zeros(s->dtype, 2, sq);
        fg_tensor *gc = eye ? reshape(r[k], 2, col) : NULL;
        fg_tensor *d = NULL;
        if (gc) {
            for (int64_t i = 0; i < n; i++) set1(eye, i * n + i, 1);
            fg_tensor *in[2] = {gc, eye};
            d = fg_apply(FG_OP_MUL, 2, in, NULL, 0);
        }
        int nd = cat_shape(shape, J->target->ndim, J->target->shape, s->ndim, s->shape);
        J->out[k] = d && nd >= 0 ? reshape(d, nd, shape) : NULL;
        fg_decref(eye), fg_decref(gc), fg_decref(d);
        if (!J->out[k]) rc = -1;
    }
    for (int k = 0; k < J->ns; k++) fg_decref(r[k]);
    if (r != res) free(r);
    return rc;
}

static int jac_rev(jac *J, int differentiable) {
    fg_tensor *target = J->target;
    int64_t m = target->size;
    int rc = -1;
    fg_tensor *res_small[64];
    fg_tensor **res = J->ns <= 64 ? res_small : (fg_tensor **)calloc((size_t)J->ns, sizeof(fg_tensor *));
    fg_tensor **rows = differentiable ? (fg_tensor **)calloc((size_t)J->ns * (size_t)m + 1, sizeof(fg_tensor *)) : NULL;
    fg_tensor *seed = NULL;
    if (!res || (differentiable && !rows)) {
        fg_error_set(FG_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (!differentiable && jac_alloc(J) < 0) goto done;
    for (int64_t i = 0; i < m; i++) {
        if (!seed && !(seed = fg_tensor_zeros(target->dtype, target->ndim, target->shape))) goto done;
        set1(seed, i, 1);
        if (fg_tape_gradient(J->t, 1, &target, &seed, J->ns, J->sources, res) < 0) goto done;
        for (int k = 0; k < J->ns; k++) {
            if (!res[k]) continue;
            const fg_tensor *s = J->sources[k];
            fg_tensor *g = with_dtype(res[k], s->dtype);
            res[k] = NULL;
            if (!g) goto done;
            if (differentiable) {
                rows[(size_t)k * m + i] = g;
            } else {
                if (J->out[k]) memcpy((char *)J->out[k]->data + (size_t)(i * s->size) * fg_dtype_size(s->dtype),
                                      g->data, (size_t)s->size * fg_dtype_size(s->dtype));
                fg_decref(g);
            }
        }
        /* the seed is rewritten in place for the next row unless someone
         * (a recording tape, an alias) still holds it */
        if (!differentiable && exclusive(seed)) {
            set1(seed, i, 0);
        } else {
            fg_decref(seed);
            seed = NULL;
        }
    }
    if (differentiable) {
        for (int k = 0; k < J->ns; k++) {
            if (!J->connected[k]) continue;
            const fg_tensor *s = J->sources[k];
            int64_t shape[FG_MAX_NDIM];
            int nd = cat_shape(shape, target->ndim, target->shape, s->ndim, s->shape);
            fg_tensor *st = nd < 0 ? NULL : stack_rows(rows + (size_t)k * m, m, s->dtype, s->ndim, s->shape);
            if (!st) goto done;
            J->out[k] = reshape(st, nd, shape);
            fg_decref(st);
            if (!J->out[k]) goto done;
        }
    }
    rc = 0;
done:
    fg_decref(seed);
    if (rows) {
        for (size_t q = 0; q < (size_t)J->ns * (size_t)m; q++) fg_decref(rows[q]);
        free(rows);
    }
    if (res != res_small) free(res);
    return rc;
}

static int jac_fwd(jac *J, int differentiable, int64_t max_size) {
    fg_tensor *target = J->target;
    int64_t m = target->size, C = 0;
    int rc = -1;
    int64_t *off = (int64_t *)malloc(((size_t)J->ns + 1) * sizeof(int64_t));
    fg_tensor **tan = (fg_tensor **)calloc((size_t)J->ns + 1, sizeof(fg_tensor *));
    fg_tensor *T = NULL;
    if (!off || !tan) {
        fg_error_set(FG_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int k = 0; k < J->ns; k++) {
        off[k] = C;
        C += J->sources[k]->size;
    }
    int64_t chunk = FWD_CHUNK_ELEMS / (max_size > 0 ? max_size : 1);
    if (chunk < 1) chunk = 1;
    if (chunk > C || differentiable) chunk = C;
    if (!differentiable && jac_alloc(J) < 0) goto done;
    size_t esz = fg_dtype_size(target->dtype);
    for (int64_t c0 = 0; c0 < C; c0 += chunk) {
        int64_t nc = C - c0 < chunk ? C - c0 : chunk;
        for (int k = 0; k < J->ns; k++) {
            const fg_tensor *s = J->sources[k];
            int64_t lo = off[k] > c0 ? off[k] : c0, hi = off[k] + s->size < c0 + nc ? off[k] + s->size : c0 + nc;
            fg_decref(tan[k]);
            tan[k] = NULL;
            if (lo >= hi || !J->connected[k]) continue;
            int64_t shape[FG_MAX_NDIM];
            int nd = cat_shape(shape, 1, &nc, s->ndim, s->shape);
            if (nd < 0 || !(tan[k] = fg_tensor_zeros(s->dtype, nd, shape))) goto done;
            for (int64_t col = lo; col < hi; col++) set1(tan[k], (col - c0) * s->size + (col - off[k]), 1);
        }
        if (fg_tape_forward(J->t, 1, J->ns, J->sources, tan, 1, &target, &T) < 0) goto done;
        if (!T) continue;
        for (int k = 0; k < J->ns && !differentiable; k++) {
            const fg_tensor *s = J->sources[k];
            if (!J->out[k]) continue;
            int64_t lo = off[k] > c0 ? off[k] : c0, hi = off[k] + s->size < c0 + nc ? off[k] + s->size : c0 + nc;
            int64_t nk = s->size;
            /* J[o, q] = T[col - c0, o]: a transposed copy */
            for (int64_t col = lo; col < hi; col++) {
                int64_t q = col - off[k], base = (col - c0) * m;
                for (int64_t o = 0; o < m; o++) COPY_ELEM(J->out[k]->data, o * nk + q, T->data, base + o, esz);
            }
        }
        if (!differentiable) {
            fg_decref(T);
            T = NULL;
        }
    }
    if (differentiable && T) {
        /* T is [C] + target: per source, rows off..off+n, transposed */
        int64_t flat[2] = {C, m};
        fg_tensor *T2 = reshape(T, 2, flat);
        if (!T2) goto done;
        for (int k = 0; k < J->ns; k++) {
            const fg_tensor *s = J->sources[k];
            if (!J->connected[k]) continue;
            int64_t at[6] = {off[k], 0, 1, 1, s->size, m}, perm[2] = {1, 0}, shape[FG_MAX_NDIM];
            fg_tensor *sl = fg_apply(FG_OP_SLICE, 1, &T2, at, 6);
            fg_tensor *tr = sl ? fg_apply(FG_OP_TRANSPOSE, 1, &sl, perm, 2) : NULL;
            int nd = cat_shape(shape, target->ndim, target->shape, s->ndim, s->shape);
            J->out[k] = tr && nd >= 0 ? reshape(tr, nd, shape) : NULL;
            fg_decref(sl), fg_decref(tr);
            if (!J->out[k]) {
                fg_decref(T2);
                goto done;
            }
        }
        fg_decref(T2);
    }
    rc = 0;
done:
    fg_decref(T);
    if (tan)
        for (int k = 0; k < J->ns; k++) fg_decref(tan[k]);
    free(tan);
    free(off);
    return rc;
}

static int jacobian(fg_tape *t, fg_tensor *target, int ns, fg_tensor *const *sources, int mode,
                    fg_tensor **out) {
    int64_t n_nodes = t->n_nodes, n_slots = t->n_slots;
    int rc = -1, was = t->persistent;
    for (int k = 0; k < ns; k++) out[k] = NULL;
    int64_t *sslot = (int64_t *)malloc(((size_t)ns + 1) * sizeof(int64_t));
    uint8_t *connected = (uint8_t *)calloc((size_t)ns + 1, 1);
    path_info p = {0, 0, 1, NULL};
    p.connected = connected;
    if (!sslot || !connected) {
        fg_error_set(FG_ERR_NOMEM, "out of memory");
        goto done;
    }
    int64_t tslot = fg_tape_slot(t, target->id);
    if (tslot >= n_slots) tslot = -1;
    int all_float = fg_dtype_is_float(target->dtype);
    for (int k = 0; k < ns; k++) {
        sslot[k] = fg_tape_slot(t, sources[k]->id);
        if (sslot[k] >= n_slots) sslot[k] = -1;
        all_float &= sources[k]->dtype == target->dtype;
    }
    if (scan(t, n_nodes, n_slots, tslot, ns, sslot, &p) < 0) goto done;
    for (int k = 0; k < ns; k++)
        if (sslot[k] >= 0 && sslot[k] == tslot) connected[k] = 1;
    int any = 0, all_same = 1;
    int64_t C = 0;
    for (int k = 0; k < ns; k++) {
        any |= connected[k];
        all_same &= same_shape(sources[k], target);
        C += sources[k]->size;
    }
    if (!any) {
        rc = 0;
        goto done;
    }
    int differentiable = use_table_ops();
    /* the sweeps must not free the nodes of a non-persistent tape */
    t->persistent = 1;
    if (p.diag && all_same && mode != FG_JAC_FWD) {
        jac J = {t, target, ns, sources, out, connected};
        rc = jac_diag(&J, differentiable);
    } else {
        int fwd = mode == FG_JAC_FWD || (mode == FG_JAC_AUTO && C < target->size && !p.custom);
        if (!all_float) fwd = 0; /* a forward sweep yields the target's dtype */
        jac J = {t, target, ns, sources, out, connected};
        rc = fwd ? jac_fwd(&J, differentiable, p.max_size) : jac_rev(&J, differentiable);
    }
    t->persistent = was;
done:
    if (rc < 0)
        for (int k = 0; k < ns; k++) {
            fg_decref(out[k]);
            out[k] = NULL;
        }
    free(sslot);
    free(connected);
    return rc;
}

/* ------------------------------------------------------ batch_jacobian */

static int batch_jacobian(fg_tape *t, fg_tensor *target, fg_tensor *source, int mode,
                          fg_tensor **out) {
    int64_t n_nodes = t->n_nodes, n_slots = t->n_slots;
    int rc = -1, was = t->persistent;
    int64_t b = target->shape[0];
    int64_t m = b ? target->size / b : 0, pz = b ? source->size / b : 0;
    int dt = source->dtype;
    size_t esz = fg_dtype_size(dt);
    uint8_t connected = 0;
    path_info p = {0, 0, 1, NULL};
    p.connected = &connected;
    fg_tensor *seed = NULL, *g = NULL, *tan = NULL, *T = NULL;
    fg_tensor **rows = NULL;
    int64_t shape[FG_MAX_NDIM];
    int nd = cat_shape(shape, target->ndim, target->shape, source->ndim - 1, source->shape + 1);
    *out = NULL;
    if (nd < 0) return -1;
    int64_t tslot = fg_tape_slot(t, target->id), sslot = fg_tape_slot(t, source->id);
    if (tslot >= n_slots) tslot = -1;
    if (sslot >= n_slots) sslot = -1;
    if (scan(t, n_nodes, n_slots, tslot, 1, &sslot, &p) < 0) return -1;
    if (sslot >= 0 && sslot == tslot) connected = 1;
    int differentiable = use_table_ops();
    if (!connected || b == 0) { /* TF's quirk: zeros, not None */
        *out = fg_tensor_zeros(dt, nd, shape);
        return *out ? 0 : -1;
    }
    t->persistent = 1;
    if (differentiable) {
        /* row j of every example: reverse sweeps stacked with table ops */
        int64_t rs[3] = {b, 1, pz};
        if (!(rows = (fg_tensor **)calloc((size_t)m + 1, sizeof(fg_tensor *)))) goto done;
        for (int64_t j = 0; j < m; j++) {
            if (!(seed = fg_tensor_zeros(target->dtype, target->ndim, target->shape))) goto done;
            for (int64_t bi = 0; bi < b; bi++) set1(seed, bi * m + j, 1);
            if (fg_tape_gradient(t, 1, &target, &seed, 1, &source, &g) < 0) goto done;
            fg_decref(seed);
            seed = NULL;
            if (!g && !(g = fg_tensor_zeros(dt, source->ndim, source->shape))) goto done;
            if (!(g = with_dtype(g, dt))) goto done;
            rows[j] = reshape(g, 3, rs);
            fg_decref(g);
            g = NULL;
            if (!rows[j]) goto done;
        }
        int64_t axis = 1;
        fg_tensor *cat = m ? fg_apply(FG_OP_CONCAT, (int)m, rows, &axis, 1) : fg_tensor_zeros(dt, nd, shape);
        if (!cat) goto done;
        *out = reshape(cat, nd, shape);
        fg_decref(cat);
        rc = *out ? 0 : -1;
        goto done;
    }
    if (!(*out = fg_tensor_zeros(dt, nd, shape))) goto done;
    char *o = (char *)(*out)->data;
    if (p.diag && same_shape(target, source) && mode != FG_JAC_FWD) {
        if (fg_tape_gradient(t, 1, &target, NULL, 1, &source, &g) < 0) goto done;
        if (g && (g = with_dtype(g, dt)))
            for (int64_t bi = 0; bi < b; bi++)
                for (int64_t j = 0; j < m; j++) COPY_ELEM(o, (bi * m + j) * pz + j, g->data, bi * pz + j, esz);
        rc = 0;
    } else if (mode == FG_JAC_FWD || (mode == FG_JAC_AUTO && pz < m && !p.custom && target->dtype == dt)) {
        int64_t chunk = FWD_CHUNK_ELEMS / (p.max_size > 0 ? p.max_size : 1);
        if (chunk < 1) chunk = 1;
        for (int64_t c0 = 0; c0 < pz; c0 += chunk) {
            int64_t nc = pz - c0 < chunk ? pz - c0 : chunk, ts[FG_MAX_NDIM];
            int tnd = cat_shape(ts, 1, &nc, source->ndim, source->shape);
            if (tnd < 0 || !(tan = fg_tensor_zeros(dt, tnd, ts))) goto done;
            for (int64_t jc = 0; jc < nc; jc++)
                for (int64_t bi = 0; bi < b; bi++) set1(tan, (jc * b + bi) * pz + c0 + jc, 1);
            if (fg_tape_forward(t, 1, 1, &source, &tan, 1, &target, &T) < 0) goto done;
            if (T && T->dtype == dt)
                for (int64_t jc = 0; jc < nc; jc++)
                    for (int64_t bi = 0; bi < b; bi++)
                        for (int64_t j = 0; j < m; j++)
                            COPY_ELEM(o, (bi * m + j) * pz + c0 + jc, T->data, (jc * b + bi) * m + j, esz);
            fg_decref(tan), fg_decref(T);
            tan = T = NULL;
        }
        rc = 0;
    } else {
        if (!(seed = fg_tensor_zeros(target->dtype, target->ndim, target->shape))) goto done;
        for (int64_t j = 0; j < m; j++) {
            for (int64_t bi = 0; bi < b; bi++) set1(seed, bi * m + j, 1);
            if (fg_tape_gradient(t, 1, &target, &seed, 1, &source, &g) < 0) goto done;
            if (g) {
                if (!(g = with_dtype(g, dt))) goto done;
                for (int64_t bi = 0; bi < b; bi++)
                    memcpy(o + (size_t)((bi * m + j) * pz) * esz, (char *)g->data + (size_t)(bi * pz) * esz, (size_t)pz * esz);
                fg_decref(g);
                g = NULL;
            }
            if (exclusive(seed)) {
                for (int64_t bi = 0; bi < b; bi++) set1(seed, bi * m + j, 0);
            } else {
                fg_decref(seed);
                if (!(seed = fg_tensor_zeros(target->dtype, target->ndim, target->shape))) goto done;
            }
        }
        rc = 0;
    }
done:
    t->persistent = was;
    if (rc < 0) {
        fg_decref(*out);
        *out = NULL;
    }
    if (rows) {
        for (int64_t j = 0; j < m; j++) fg_decref(rows[j]);
        free(rows);
    }
    fg_decref(seed), fg_decref(g), fg_decref(tan), fg_decref(T);
    return rc;
}

/* The caller's target and sources are held across the sweeps (fg_tape.c
 * says why: a custom_gradient function may assign a Variable source). */
int fg_tape_jacobian(fg_tape *t, fg_tensor *target, int ns, fg_tensor *const *sources, int mode,
                     fg_tensor **out) {
    fg_incref(target), fg_incref_n(ns, sources);
    int rc = jacobian(t, target, ns, sources, mode, out);
    fg_decref(target), fg_decref_n(ns, sources);
    return rc;
}

int fg_tape_batch_jacobian(fg_tape *t, fg_tensor *target, fg_tensor *source, int mode,
                           fg_tensor **out) {
    fg_incref(target), fg_incref(source);
    int rc = batch_jacobian(t, target, source, mode, out);
    fg_decref(target), fg_decref(source);
    return rc;
}
