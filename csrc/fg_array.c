/* fg_array.c: the array-manipulation op family -- pad (constant, reflect,
 * symmetric) and its mirror fold, gather_nd / scatter_nd and the
 * tensor_scatter_nd_* updates, einsum's diagonal extraction and its
 * adjoint, reverse_sequence, unravel_index and invert_permutation:
 * kernels, forwards and rules in one file (fg_ops.def declares what the
 * table names).
 *
 * Every kernel is a copy or a fixed-order accumulation: threads split
 * output rows (or disjoint groups of a scatter) with fg_parallel_range, and
 * each row or group is computed serially, so results are bitwise the same
 * at any thread count.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fg_forward_util.h"
#include "fg_kernels.h"
#include "fg_parallel.h"
#include "fg_rules.h"

static int64_t prod(const int64_t *s, int n) {
    int64_t p = 1;
    for (int i = 0; i < n; i++) p *= s[i];
    return p;
}

static inline int64_t ival(const fg_tensor *t, int64_t i) {
    return t->dtype == FG_I32 ? (int64_t)((const int32_t *)t->data)[i] : ((const int64_t *)t->data)[i];
}

static int is_index_dtype(int dt) { return dt == FG_I32 || dt == FG_I64; }

/* add src into dst, n elements of dtype (sub: subtract; mode 3/4 min/max; 0 copy) */
static void combine_row(int dtype, int mode, char *dst, const char *src, int64_t n) {
#define COMBINE(T)                                                               \
    {                                                                            \
        T *d = (T *)dst;                                                         \
        const T *s = (const T *)src;                                             \
        switch (mode) {                                                          \
        case 0: memcpy(d, s, (size_t)n * sizeof(T)); break;                     \
        case 1: for (int64_t i = 0; i < n; i++) d[i] += s[i]; break;            \
        case 2: for (int64_t i = 0; i < n; i++) d[i] -= s[i]; break;            \
        case 3: for (int64_t i = 0; i < n; i++) d[i] = s[i] < d[i] ? s[i] : d[i]; break; \
        default: for (int64_t i = 0; i < n; i++) d[i] = s[i] > d[i] ? s[i] : d[i]; break; \
        }                                                                        \
    }
    switch (dtype) {
    case FG_F32: COMBINE(float) break;
    case FG_F64: COMBINE(double) break;
    /* integers wrap as TF's: unsigned arithmetic for add/sub */
    case FG_I32: if (mode == 1 || mode == 2) COMBINE(uint32_t) else COMBINE(int32_t) break;
    case FG_I64: if (mode == 1 || mode == 2) COMBINE(uint64_t) else COMBINE(int64_t) break;
    default: /* bool: update only (the forwards refuse the rest) */
        memcpy(dst, src, (size_t)n);
    }
#undef COMBINE
}

/* ------------------------------------------------------------------ pad */

enum { PAD_CONSTANT = 0, PAD_REFLECT = 1, PAD_SYMMETRIC = 2 };

/* the source index of padded position j along a dim of length n, -1 for
 * the constant */
static inline int64_t pad_src(int mode, int64_t j, int64_t lo, int64_t n) {
    int64_t s = j - lo;
    if (s >= 0 && s < n) return s;
    if (mode == PAD_CONSTANT) return -1;
    if (mode == PAD_REFLECT) return s < 0 ? -s : 2 * (n - 1) - s;
    return s < 0 ? -s - 1 : 2 * n - 1 - s;
}

typedef struct {
    int mode, nd;
    size_t es;     /* bytes of one block: the element times the unpadded trailing dims */
    const char *x;
    const char *crow; /* a row of constant blocks, ys[nd - 1] long */
    char *y;
    const int64_t *xs, *ys, *lo;
} pad_job;

/* output rows [lo, hi): all dims but the last (of the collapsed view) */
static void pad_rows(void *v, int64_t rlo, int64_t rhi) {
    const pad_job *j = (const pad_job *)v;
    const int nd = j->nd;
    const size_t es = j->es;
    const int64_t L = j->ys[nd - 1], n = j->xs[nd - 1], lo = j->lo[nd - 1], hi = L - lo - n;
    for (int64_t r = rlo; r < rhi; r++) {
        int64_t rem = r, src = 0, stride = n;
        int inside = 1;
        for (int d = nd - 2; d >= 0; d--) {
            int64_t cd = rem % j->ys[d];
            rem /= j->ys[d];
            int64_t s = pad_src(j->mode, cd, j->lo[d], j->xs[d]);
            if (s < 0) inside = 0;
            src += s * stride;
            stride *= j->xs[d];
        }
        char *yr = j->y + (size_t)(r * L) * es;
        if (!inside) {
            memcpy(yr, j->crow, (size_t)L * es);
            continue;
        }
        const char *xr = j->x + (size_t)src * es;
        if (j->mode == PAD_CONSTANT) {
            memcpy(yr, j->crow, (size_t)lo * es);
            memcpy(yr + (size_t)(lo + n) * es, j->crow, (size_t)hi * es);
        } else {
            for (int64_t k = 0; k < lo; k++) memcpy(yr + k * es, xr + pad_src(j->mode, k, lo, n) * es, es);
            for (int64_t k = lo + n; k < L; k++) memcpy(yr + k * es, xr + pad_src(j->mode, k, lo, n) * es, es);
        }
        memcpy(yr + lo * es, xr, (size_t)n * es);
    }
}

static const char *pad_tf_name(int mode) { return mode == PAD_CONSTANT ? "Pad" : "MirrorPad"; }

/* inputs (x, constant_value); attrs = [mode, lo[nd], hi[nd]] */
int fwd_pad(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
            fg_tensor **out) {
    (void)d, (void)n_in;
    fg_tensor *x = in[0], *cv = in[1];
    const int nd = x->ndim, mode = (int)attrs[0];
    const char *tfn = pad_tf_name(mode);
    if (mode < 0 || mode > 2) return fg_error_set(FG_ERR_INVALID, "pad: unknown mode %d", mode);
    if (nattrs != 1 + 2 * nd)
        return fg_error_set(FG_ERR_INVALID, "The first dimension of paddings must be the rank of inputs[%d,2] %s [Op:%s]",
                            (nattrs - 1) / 2, fg_shape_str(nd, x->shape), tfn);
    if (cv->dtype != x->dtype) return dtype_mismatch(d, 1, x->dtype, cv->dtype);
    if (cv->ndim) return fg_error_set(FG_ERR_INVALID, "constant_values must be a scalar. Got: %s [Op:PadV2]",
                                      fg_shape_str(cv->ndim, cv->shape));
    if (mode != PAD_CONSTANT && x->dtype == FG_BOOL) return not_allowed(d, x->dtype);
    const int64_t *lo = attrs + 1, *hi = attrs + 1 + nd;
    int64_t ys[FG_MAX_NDIM] = {0};
    for (int i = 0; i < nd; i++) {
        if (lo[i] < 0 || hi[i] < 0)
            return fg_error_set(FG_ERR_INVALID, "Paddings must be non-negative: %lld %lld [Op:%s]", (long long)lo[i],
                                (long long)hi[i], tfn);
        if (mode == PAD_REFLECT && (lo[i] >= x->shape[i] || hi[i] >= x->shape[i]))
            return fg_error_set(FG_ERR_INVALID, "paddings must be less than the dimension size: %lld, %lld not less than %lld [Op:%s]",
                                (long long)lo[i], (long long)hi[i], (long long)x->shape[i], tfn);
        if (mode == PAD_SYMMETRIC && (lo[i] > x->shape[i] || hi[i] > x->shape[i]))
            return fg_error_set(FG_ERR_INVALID, "paddings must be no greater than the dimension size: %lld, %lld greater than %lld [Op:%s]",
                                (long long)lo[i], (long long)hi[i], (long long)x->shape[i], tfn);
        ys[i] = lo[i] + x->shape[i] + hi[i];
    }
    fg_tensor *o = fg_tensor_new(x->dtype, nd, ys);
    if (!o) return -1;
    /* the trailing dims without padding travel as one block */
    int cd = nd;
    while (cd > 0 && lo[cd - 1] == 0 && hi[cd - 1] == 0) cd--;
    size_t es = fg_dtype_size(x->dtype) * (size_t)prod(x->shape + cd, nd - cd);
    if (cd == 0 || x->size == 0 || o->size == 0) {
        if (x->size == o->size) {
            memcpy(o->data, x->data, (size_t)o->size * fg_dtype_size(x->dtype));
        } else { /* all constant (an empty input) */
            size_t e1 = fg_dtype_size(x->dtype);
            for (int64_t k = 0; k < o->size; k++) memcpy((char *)o->data + k * e1, cv->data, e1);
        }
        *out = o;
        return 0;
    }
    const int64_t L = ys[cd - 1];
    char *crow = (char *)malloc((size_t)L * es + 1);
    if (!crow) {
        fg_decref(o);
        return fg_error_set(FG_ERR_NOMEM, "out of memory");
    }
    size_t e1 = fg_dtype_size(x->dtype);
    for (size_t k = 0; k < (size_t)L * es / e1; k++) memcpy(crow + k * e1, cv->data, e1);
    pad_job j = {mode, cd, es, (const char *)x->data, crow, (char *)o->data, x->shape, ys, lo};
    void *tok = fg_gil_release_if(o->size);
    fg_parallel_range(fg_threads_for(o->size), o->size / (int64_t)(L * (es / e1)), 1, pad_rows, &j);
    fg_gil_acquire(tok);
    free(crow);
    *out = o;
    return 0;
}

typedef struct {
    int mode, dtype;
    size_t es;
    int64_t G, n, inner, lo;
    const char *g;
    char *y;
} fold_job;

/* MirrorPadGrad along one axis: outer rows of [G, inner] folded to [n, inner] */
static void fold_rows(void *v, int64_t lo, int64_t hi) {
    const fold_job *j = (const fold_job *)v;
    const size_t es = j->es;
    for (int64_t o = lo; o < hi; o++) {
        const char *g = j->g + (size_t)(o * j->G * j->inner) * es;
        char *y = j->y + (size_t)(o * j->n * j->inner) * es;
        /* the interior first, then the mirrored borders in index order */
        memcpy(y, g + (size_t)(j->lo * j->inner) * es, (size_t)(j->n * j->inner) * es);
        for (int64_t k = 0; k < j->G; k++) {
            if (k >= j->lo && k < j->lo + j->n) continue;
            int64_t s = pad_src(j->mode, k, j->lo, j->n);
            combine_row(j->dtype, 1, y + (size_t)(s * j->inner) * es, g + (size_t)(k * j->inner) * es, j->inner);
        }
    }
}

/* inputs (g); attrs = [mode, lo[nd], hi[nd]] over g's dims: the gradient of
 * a mirror pad, each padded position added back to its source */
int fwd_pad_grad(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
                 fg_tensor **out) {
    (void)d, (void)n_in;
    fg_tensor *g = in[0];
    const int nd = g->ndim, mode = (int)attrs[0];
    if (nattrs != 1 + 2 * nd || (mode != PAD_REFLECT && mode != PAD_SYMMETRIC))
        return fg_error_set(FG_ERR_INVALID, "MirrorPadGrad: bad attributes [Op:MirrorPadGrad]");
    if (g->dtype == FG_BOOL) return not_allowed(d, g->dtype);
    const int64_t *lo = attrs + 1, *hi = attrs + 1 + nd;
    int64_t cur[FG_MAX_NDIM];
    memcpy(cur, g->shape, (size_t)nd * sizeof(int64_t));
    for (int i = 0; i < nd; i++) { /* the source dim must admit the paddings (see fwd_pad) */
        int64_t n = cur[i] - lo[i] - hi[i], m = lo[i] > hi[i] ? lo[i] : hi[i];
        if (lo[i] < 0 || hi[i] < 0 || n < 0 || (m > 0 && (mode == PAD_REFLECT ? n <= m : n < m)))
            return fg_error_set(FG_ERR_INVALID, "MirrorPadGrad: paddings %lld, %lld do not fit dimension %lld [Op:MirrorPadGrad]",
                                (long long)lo[i], (long long)hi[i], (long long)cur[i]);
    }
    fg_tensor *t = g;
    fg_incref(t);
    for (int i = 0; i < nd; i++) {
        if (!lo[i] && !hi[i]) continue;
        int64_t ns[FG_MAX_NDIM];
        memcpy(ns, cur, (size_t)nd * sizeof(int64_t));
        ns[i] = cur[i] - lo[i] - hi[i];
        fg_tensor *o = fg_tensor_new(g->dtype, nd, ns);
        if (!o) {
            fg_decref(t);
            return -1;
        }
        fold_job j = {mode, g->dtype, fg_dtype_size(g->dtype), cur[i], ns[i], prod(cur + i + 1, nd - i - 1), lo[i],
                      (const char *)t->data, (char *)o->data};
        int64_t outer = prod(cur, i);
        if (o->size) {
            void *tok = fg_gil_release_if(t->size);
            fg_parallel_range(fg_threads_for(t->size), outer, 1, fold_rows, &j);
            fg_gil_acquire(tok);
        }
        fg_decref(t);
        t = o;
        memcpy(cur, ns, (size_t)nd * sizeof(int64_t));
    }
    if (t == g) { /* nothing folded: a copy, not an alias of the input */
        fg_decref(t);
        t = fg_tensor_copy(g);
        if (!t) return -1;
    }
    *out = t;
    return 0;
}

/* ---------------------------------------------- gather_nd / scatter_nd */

/* a row of the index list as TF prints it: [0, 4] */
static const char *index_row_str(const fg_tensor *idx, int64_t row, int k) {
    static char buf[256];
    int w = snprintf(buf, sizeof buf, "[");
    for (int j = 0; j < k && w < (int)sizeof buf - 24; j++)
        w += snprintf(buf + w, sizeof buf - (size_t)w, j ? ", %lld" : "%lld", (long long)ival(idx, row * k + j));
    snprintf(buf + w, sizeof buf - (size_t)w, "]");
    return buf;
}

/* the multi-index of flat position i in shape, as TF prints it: 0,1 */
static const char *multi_index_str(int64_t i, int nd, const int64_t *shape) {
    static char buf[256];
    int64_t c[FG_MAX_NDIM];
    for (int d = nd - 1; d >= 0; d--) {
        c[d] = shape[d] ? i % shape[d] : 0;
        i = shape[d] ? i / shape[d] : 0;
    }
    int w = 0;
    buf[0] = 0;
    for (int d = 0; d < nd && w < (int)sizeof buf - 24; d++)
        w += snprintf(buf + w, sizeof buf - (size_t)w, d ? ",%lld" : "%lld", (long long)c[d]);
    return buf;
}

/* The layout shared by gather_nd and the scatters: a tensor of shape
 * [L..., B..., R...] indexed by indices [B..., I..., k] into R's first k
 * dims, the slices [L..., B..., I..., R[k:]...]. */
typedef struct {
    int64_t NL, NB, NI, k, inner, RS; /* RS: the elements of one B-slice of the tensor */
    int64_t rstride[FG_MAX_NDIM], rdim[FG_MAX_NDIM];
} nd_layout;

static void nd_layout_make(nd_layout *L, int nd, const int64_t *shape, int lead, int bd, const fg_tensor *idx) {
    L->NL = prod(shape, lead);
    L->NB = prod(shape + lead, bd);
    L->k = idx->ndim ? idx->shape[idx->ndim - 1] : 0;
    L->NI = prod(idx->shape + bd, idx->ndim - 1 - bd);
    int r0 = lead + bd, nr = nd - r0;
    L->RS = prod(shape + r0, nr);
    L->inner = prod(shape + r0 + L->k, nr - (int)L->k);
    for (int j = 0; j < L->k; j++) {
        L->rdim[j] = shape[r0 + j];
        L->rstride[j] = prod(shape + r0 + j + 1, nr - j - 1);
    }
}

/* every index row in range, else TF's error; offsets[b * NI + i] = the
 * element offset of the row's slice within its B-slice */
static int nd_offsets(const nd_layout *L, const fg_tensor *idx, int nd, const int64_t *shape, int gather_style,
                      int gaxis_dim, const char *tfn, const char *what, int64_t *off) {
    const int64_t rows = L->NB * L->NI;
    for (int64_t r = 0; r < rows; r++) {
        int64_t o = 0;
        for (int j = 0; j < L->k; j++) {
            int64_t v = ival(idx, r * L->k + j);
            if (v < 0 || v >= L->rdim[j]) {
                if (gather_style)
                    return fg_error_set(FG_ERR_INVALID, "indices[%s] = %lld is not in [0, %lld) [Op:GatherV2]",
                                        multi_index_str(r, idx->ndim - 1, idx->shape), (long long)v,
                                        (long long)gaxis_dim);
                return fg_error_set(FG_ERR_INVALID, "indices[%lld] = %s does not index into %s %s%s [Op:%s]",
                                    (long long)r, index_row_str(idx, r, (int)L->k), what, fg_shape_str(nd, shape),
                                    !strcmp(tfn, "GatherNd") ? ", node name: GatherNd" : "", tfn);
            }
            o += v * L->rstride[j];
        }
        off[r] = o;
    }
    return 0;
}

typedef struct {
    const nd_layout *L;
    const int64_t *off;
    size_t es;
    const char *src;
    char *dst;
    int dtype, mode;
    int64_t nchunks, chunk;
} nd_job;

/* gather_nd: output rows (l, b, i) of `inner` elements */
static void gather_nd_rows(void *v, int64_t lo, int64_t hi) {
    const nd_job *j = (const nd_job *)v;
    const nd_layout *L = j->L;
    const int64_t bi = L->NB * L->NI;
    for (int64_t r = lo; r < hi; r++) {
        int64_t l = r / bi, q = r % bi, b = q / L->NI;
        const char *s = j->src + (size_t)((l * L->NB + b) * L->RS + j->off[q]) * j->es;
        memcpy(j->dst + (size_t)(r * L->inner) * j->es, s, (size_t)L->inner * j->es);
    }
}

/* the scatters: work item = (group l*NB + b, column chunk); each item walks
 * its index rows in order, so duplicates combine in one fixed order */
static void scatter_items(void *v, int64_t lo, int64_t hi) {
    const nd_job *j = (const nd_job *)v;
    const nd_layout *L = j->L;
    for (int64_t it = lo; it < hi; it++) {
        int64_t grp = it / j->nchunks, ch = it % j->nchunks;
        int64_t c0 = ch * j->chunk, c1 = c0 + j->chunk < L->inner ? c0 + j->chunk : L->inner;
        int64_t b = grp % L->NB;
        for (int64_t i = 0; i < L->NI; i++) {
            const char *s = j->src + (size_t)((grp * L->NI + i) * L->inner + c0) * j->es;
            char *d = j->dst + (size_t)(grp * L->RS + j->off[b * L->NI + i] + c0) * j->es;
            combine_row(j->dtype, j->mode, d, s, c1 - c0);
        }
    }
}

static void run_scatter(nd_job *j, int64_t work) {
    const nd_layout *L = j->L;
    int64_t groups = L->NL * L->NB;
    j->chunk = L->inner;
    j->nchunks = 1;
    if (groups < 64 && L->inner >= 8192) { /* few groups: split the columns instead */
        j->chunk = 2048;
        j->nchunks = (L->inner + 2047) / 2048;
    }
    if (groups * j->nchunks == 0 || L->inner == 0) return;
    void *tok = fg_gil_release_if(work);
    fg_parallel_range(fg_threads_for(work), groups * j->nchunks, 1, scatter_items, j);
    fg_gil_acquire(tok);
}

/* checks shared by gather_nd and the scatters; tshape: the indexed tensor */
static int nd_check(const char *tfn, int nd, const int64_t *tshape, int lead, int bd, const fg_tensor *idx) {
    if (!is_index_dtype(idx->dtype))
        return fg_error_set(FG_ERR_INVALID, "Value for attr 'Tindices' of %s is not in the list of allowed values: int32, int64 [Op:%s]",
                            tf_dtype(idx->dtype), tfn);
    if (lead < 0 || bd < 0 || lead + bd > nd)
        return fg_error_set(FG_ERR_INVALID, "batch_dims (%d) must be less than rank(params) (%d). [Op:%s]", bd, nd, tfn);
    if (idx->ndim < 1 + bd)
        return fg_error_set(FG_ERR_INVALID, "indices.dims() (%d) must be at least batch_dims + 1 (%d) [Op:%s]", idx->ndim,
                            bd + 1, tfn);
    for (int i = 0; i < bd; i++)
        if (idx->shape[i] != tshape[lead + i])
            return fg_error_set(FG_ERR_INVALID, "Batch dimensions of params and indices must match: params.shape[%d]: %lld should be equal to indices.shape[%d]: %lld [Op:%s]",
                                lead + i, (long long)tshape[lead + i], i, (long long)idx->shape[i], tfn);
    int64_t k = idx->shape[idx->ndim - 1];
    if (k > nd - lead - bd)
        return fg_error_set(FG_ERR_INVALID, "index innermost dimension length must be <= params rank; saw: %lld vs. %d [Op:%s]",
                            (long long)k, nd - lead - bd, tfn);
    return 0;
}

/* inputs (params, indices); attrs = [lead, batch_dims, gather_style]:
 * params [L..., B..., R...], indices [B..., I..., k] -> [L..., B..., I..., R[k:]...].
 * gather_style reports a bad index as GatherV2 does (tf.gather with
 * batch_dims runs here). */
int fwd_gather_nd(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
                  fg_tensor **out) {
    (void)n_in;
    fg_tensor *p = in[0], *idx = in[1];
    int lead = (int)attrs[0], bd = nattrs > 1 ? (int)attrs[1] : 0, gstyle = nattrs > 2 ? (int)attrs[2] : 0;
    const char *tfn = gstyle ? "GatherV2" : d->tf_name;
    if (nd_check(tfn, p->ndim, p->shape, lead, bd, idx) < 0) return -1;
    nd_layout L;
    nd_layout_make(&L, p->ndim, p->shape, lead, bd, idx);
    int nd = lead + (idx->ndim - 1) + (p->ndim - lead - bd - (int)L.k);
    if (nd > FG_MAX_NDIM) return fg_error_set(FG_ERR_INVALID, "gather_nd result rank %d exceeds %d", nd, FG_MAX_NDIM);
    int64_t shape[FG_MAX_NDIM];
    int w = 0;
    for (int i = 0; i < lead; i++) shape[w++] = p->shape[i];
    for (int i = 0; i < idx->ndim - 1; i++) shape[w++] = idx->shape[i];
    for (int i = lead + bd + (int)L.k; i < p->ndim; i++) shape[w++] = p->shape[i];
    int64_t *off = (int64_t *)malloc((size_t)(L.NB * L.NI + 1) * sizeof(int64_t));
    if (!off) return fg_error_set(FG_ERR_NOMEM, "out of memory");
    if (nd_offsets(&L, idx, p->ndim, p->shape, gstyle, L.k ? (int)L.rdim[0] : 0, tfn, "param shape", off) < 0) {
        free(off);
        return -1;
    }
    fg_tensor *o = fg_tensor_new(p->dtype, nd, shape);
    if (!o) {
        free(off);
        return -1;
    }
    if (o->size) {
        nd_job j = {&L, off, fg_dtype_size(p->dtype), (const char *)p->data, (char *)o->data, p->dtype, 0, 1, 0};
        void *tok = fg_gil_release_if(o->size);
        fg_parallel_range(fg_threads_for(o->size), L.NL * L.NB * L.NI, 1, gather_nd_rows, &j);
        fg_gil_acquire(tok);
    }
    free(off);
    *out = o;
    return 0;
}

/* updates must be [L..., B..., I..., R[k:]...] for the tensor shape; TF's texts */
static int check_updates(const char *tfn, int nd, const int64_t *tshape, int lead, int bd, const fg_tensor *idx,
                         const fg_tensor *upd, const char *tname) {
    int64_t k = idx->shape[idx->ndim - 1];
    int ni = idx->ndim - 1, inner_nd = nd - lead - bd - (int)k;
    int want_nd = lead + ni + inner_nd;
    int ok = upd->ndim == want_nd;
    for (int i = 0; ok && i < lead; i++) ok = upd->shape[i] == tshape[i];
    for (int i = 0; ok && i < ni; i++) ok = upd->shape[lead + i] == idx->shape[i];
    if (!ok && (upd->ndim < lead + ni || prod(upd->shape + lead, ni) != prod(idx->shape, ni) || lead))
        return fg_error_set(FG_ERR_INVALID, "Dimensions [0,%d) of indices[shape=%s] must match dimensions [0,%d) of updates[shape=%s] [Op:%s]",
                            ni, fg_shape_str(idx->ndim, idx->shape), ni, fg_shape_str(upd->ndim, upd->shape), tfn);
    for (int i = 0; ok && i < inner_nd; i++) ok = upd->shape[lead + ni + i] == tshape[nd - inner_nd + i];
    if (!ok)
        return fg_error_set(FG_ERR_INVALID, "The inner %d dimensions of %s.shape=%s must match the inner %d dimensions of updates.shape=%s [Op:%s]",
                            inner_nd, tname, fg_shape_str(nd, tshape), upd->ndim - lead - ni,
                            fg_shape_str(upd->ndim, upd->shape), tfn);
    return 0;
}

/* inputs (updates, indices); attrs = [lead, batch_dims, ndim, shape...]:
 * zeros of shape with the updates added at the indices (duplicates sum) */
int fwd_scatter_nd(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
                   fg_tensor **out) {
    (void)n_in;
    fg_tensor *u = in[0], *idx = in[1];
    int lead = (int)attrs[0], bd = (int)attrs[1], nd = (int)attrs[2];
    if (nd < 0 || nd > FG_MAX_NDIM || nattrs != 3 + nd)
        return fg_error_set(FG_ERR_INVALID, "scatter_nd: bad shape attribute [Op:%s]", d->tf_name);
    const int64_t *shape = attrs + 3;
    if (u->dtype == FG_BOOL) return not_allowed(d, u->dtype);
    for (int i = 0; i < nd; i++)
        if (shape[i] < 0)
            return fg_error_set(FG_ERR_INVALID, "Dimension %lld must be >= 0 [Op:%s]", (long long)shape[i], d->tf_name);
    if (nd_check(d->tf_name, nd, shape, lead, bd, idx) < 0) return -1;
    if (check_updates(d->tf_name, nd, shape, lead, bd, idx, u, "output") < 0) return -1;
    nd_layout L;
    nd_layout_make(&L, nd, shape, lead, bd, idx);
    int64_t *off = (int64_t *)malloc((size_t)(L.NB * L.NI + 1) * sizeof(int64_t));
    if (!off) return fg_error_set(FG_ERR_NOMEM, "out of memory");
    fg_tensor *o = NULL;
    if (nd_offsets(&L, idx, nd, shape, 0, 0, d->tf_name, "shape", off) == 0) o = fg_tensor_zeros(u->dtype, nd, shape);
    if (o) {
        nd_job j = {&L, off, fg_dtype_size(u->dtype), (const char *)u->data, (char *)o->data, u->dtype, 1, 1, 0};
        run_scatter(&j, u->size);
    }
    free(off);
    if (!o) return -1;
    *out = o;
    return 0;
}

static const char *scatter_tf_name(int mode) {
    static const char *n[] = {"TensorScatterUpdate", "TensorScatterAdd", "TensorScatterSub", "TensorScatterMin",
                              "TensorScatterMax"};
    return mode >= 0 && mode < 5 ? n[mode] : "TensorScatter";
}

/* inputs (tensor, indices, updates); attrs = [mode, lead]: a copy of tensor
 * with the updates written (0), added (1), subtracted (2), min'd (3) or
 * max'd (4) at the indices, in index order */
int fwd_tensor_scatter(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
                       fg_tensor **out) {
    (void)n_in, (void)nattrs;
    fg_tensor *t = in[0], *idx = in[1], *u = in[2];
    int mode = (int)attrs[0], lead = (int)attrs[1];
    int minmax = d == &fg_ops[FG_OP_TENSOR_SCATTER_MINMAX];
    if (minmax ? (mode != 3 && mode != 4) : (mode < 0 || mode > 2))
        return fg_error_set(FG_ERR_INVALID, "%s: bad mode %d", d->name, mode);
    const char *tfn = scatter_tf_name(mode);
    if (u->dtype != t->dtype)
        return fg_error_set(FG_ERR_INVALID, "cannot compute %s as input #2(zero-based) was expected to be a %s tensor but is a %s tensor [Op:%s]",
                            tfn, tf_dtype(t->dtype), tf_dtype(u->dtype), tfn);
    if (mode && t->dtype == FG_BOOL) return not_allowed(d, t->dtype);
    if (t->ndim == 0)
        return fg_error_set(FG_ERR_INVALID, "Output must be at least 1-D, got shape: [] [Op:%s]", tfn);
    if (nd_check(tfn, t->ndim, t->shape, lead, 0, idx) < 0) return -1;
    if (check_updates(tfn, t->ndim, t->shape, lead, 0, idx, u, "output") < 0) return -1;
    nd_layout L;
    nd_layout_make(&L, t->ndim, t->shape, lead, 0, idx);
    int64_t *off = (int64_t *)malloc((size_t)(L.NB * L.NI + 1) * sizeof(int64_t));
    if (!off) return fg_error_set(FG_ERR_NOMEM, "out of memory");
    fg_tensor *o = NULL;
    if (nd_offsets(&L, idx, t->ndim, t->shape, 0, 0, tfn, "shape", off) == 0) o = fg_tensor_copy(t);
    if (o) {
        nd_job j = {&L, off, fg_dtype_size(t->dtype), (const char *)u->data, (char *)o->data, t->dtype, mode, 1, 0};
        run_scatter(&j, u->size + t->size);
    }
    free(off);
    if (!o) return -1;
    *out = o;
    return 0;
}

/* ------------------------------------------------------ einsum diagonal */

/* attrs = [group per dim]: group[i] the first dim carrying dim i's label.
 * The output keeps the first dim of each group, in order: ii->i, iji->ij. */
typedef struct {
    int ond;
    size_t es;
    int64_t oshape[FG_MAX_NDIM], ostride[FG_MAX_NDIM]; /* ostride: the input stride of each output dim */
    const char *src;
    char *dst;
    int embed; /* 0: diagonal -> dst dense; 1: dense src -> the diagonal of dst */
} diag_job;

static void diag_rows(void *v, int64_t lo, int64_t hi) {
    const diag_job *j = (const diag_job *)v;
    const int nd = j->ond;
    const int64_t L = nd ? j->oshape[nd - 1] : 1, ls = nd ? j->ostride[nd - 1] : 0;
    for (int64_t r = lo; r < hi; r++) {
        int64_t rem = r, off = 0;
        for (int d = nd - 2; d >= 0; d--) {
            off += (rem % j->oshape[d]) * j->ostride[d];
            rem /= j->oshape[d];
        }
        for (int64_t k = 0; k < L; k++) {
            if (j->embed)
                memcpy(j->dst + (size_t)(off + k * ls) * j->es, j->src + (size_t)(r * L + k) * j->es, j->es);
            else
                memcpy(j->dst + (size_t)(r * L + k) * j->es, j->src + (size_t)(off + k * ls) * j->es, j->es);
        }
    }
}

static int diag_plan(const fg_opdef *d, int nd, const int64_t *shape, const int64_t *group, diag_job *j) {
    int64_t stride[FG_MAX_NDIM], s = 1;
    for (int i = nd - 1; i >= 0; i--) stride[i] = s, s *= shape[i];
    int pos[FG_MAX_NDIM];
    j->ond = 0;
    for (int i = 0; i < nd; i++) {
        int64_t g = group[i];
        if (g < 0 || g > i || group[g] != g)
            return fg_error_set(FG_ERR_INVALID, "%s: bad diagonal groups [Op:%s]", d->name, d->tf_name);
        if (g == i) {
            pos[i] = j->ond;
            j->oshape[j->ond] = shape[i];
            j->ostride[j->ond++] = stride[i];
        } else {
            if (shape[i] != shape[g])
                return fg_error_set(FG_ERR_INVALID, "Expected dimension %lld at axis %d of the input shaped %s but got dimension %lld [Op:Einsum]",
                                    (long long)shape[g], i, fg_shape_str(nd, shape), (long long)shape[i]);
            j->ostride[pos[g]] += stride[i];
        }
    }
    return 0;
}

int fwd_einsum_diagonal(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
                        fg_tensor **out) {
    (void)n_in;
    fg_tensor *x = in[0];
    if (nattrs != x->ndim) return fg_error_set(FG_ERR_INVALID, "%s: %d groups for rank %d", d->name, nattrs, x->ndim);
    diag_job j;
    if (diag_plan(d, x->ndim, x->shape, attrs, &j) < 0) return -1;
    fg_tensor *o = fg_tensor_new(x->dtype, j.ond, j.oshape);
    if (!o) return -1;
    j.es = fg_dtype_size(x->dtype), j.src = (const char *)x->data, j.dst = (char *)o->data, j.embed = 0;
    if (o->size) {
        int64_t rows = j.ond ? o->size / j.oshape[j.ond - 1] : 1;
        fg_parallel_range(fg_threads_for(o->size), rows, 1, diag_rows, &j);
    }
    *out = o;
    return 0;
}

/* inputs (g); attrs = [ndim, shape..., group...]: zeros of shape with g on
 * the diagonal (einsum_diagonal's adjoint) */
int fwd_einsum_diagonal_grad(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs,
                             int nattrs, fg_tensor **out) {
    (void)n_in;
    fg_tensor *g = in[0];
    int nd = (int)attrs[0];
    if (nd < 0 || nd > FG_MAX_NDIM || nattrs != 1 + 2 * nd)
        return fg_error_set(FG_ERR_INVALID, "%s: bad attributes", d->name);
    diag_job j;
    if (diag_plan(d, nd, attrs + 1, attrs + 1 + nd, &j) < 0) return -1;
    if (j.ond != g->ndim || memcmp(j.oshape, g->shape, (size_t)g->ndim * sizeof(int64_t)))
        return fg_error_set(FG_ERR_INVALID, "%s: gradient shape %s does not match the diagonal", d->name,
                            fg_shape_str(g->ndim, g->shape));
    fg_tensor *o = fg_tensor_zeros(g->dtype, nd, attrs + 1);
    if (!o) return -1;
    j.es = fg_dtype_size(g->dtype), j.src = (const char *)g->data, j.dst = (char *)o->data, j.embed = 1;
    if (g->size) {
        int64_t rows = j.ond ? g->size / j.oshape[j.ond - 1] : 1;
        fg_parallel_range(fg_threads_for(g->size), rows, 1, diag_rows, &j);
    }
    *out = o;
    return 0;
}

/* ------------------------------------------------------ reverse_sequence */

typedef struct {
    size_t es;
    int64_t n, inner, bdiv, nb;
    int batch_in_outer;
    const fg_tensor *len;
    const char *x;
    char *y;
} revseq_job;

/* lines along the sequence axis, line r = (outer o, inner i) */
static void revseq_lines(void *v, int64_t lo, int64_t hi) {
    const revseq_job *j = (const revseq_job *)v;
    const size_t es = j->es;
    for (int64_t r = lo; r < hi; r++) {
        int64_t o = r / j->inner, i = r % j->inner;
        int64_t b = ((j->batch_in_outer ? o : i) / j->bdiv) % j->nb;
        int64_t L = ival(j->len, b);
        const char *x = j->x + (size_t)(o * j->n * j->inner + i) * es;
        char *y = j->y + (size_t)(o * j->n * j->inner + i) * es;
        for (int64_t k = 0; k < j->n; k++) {
            int64_t s = k < L ? L - 1 - k : k;
            memcpy(y + (size_t)(k * j->inner) * es, x + (size_t)(s * j->inner) * es, es);
        }
    }
}

/* inputs (x, seq_lengths); attrs = [seq_axis, batch_axis] */
int fwd_reverse_sequence(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
                         fg_tensor **out) {
    (void)n_in, (void)nattrs;
    fg_tensor *x = in[0], *len = in[1];
    int64_t sa = attrs[0], ba = attrs[1];
    const int nd = x->ndim;
    if (sa < 0) sa += nd;
    if (ba < 0) ba += nd;
    if (!is_index_dtype(len->dtype))
        return fg_error_set(FG_ERR_INVALID, "Value for attr 'Tlen' of %s is not in the list of allowed values: int32, int64 [Op:%s]",
                            tf_dtype(len->dtype), d->tf_name);
    if (ba < 0 || ba >= nd)
        return fg_error_set(FG_ERR_INVALID, "batch_dim must be < input rank: %lld vs. %d [Op:%s]", (long long)attrs[1], nd,
                            d->tf_name);
    if (sa < 0 || sa >= nd)
        return fg_error_set(FG_ERR_INVALID, "seq_dim must be < input rank: %lld vs. %d [Op:%s]", (long long)attrs[0], nd,
                            d->tf_name);
    if (sa == ba)
        return fg_error_set(FG_ERR_INVALID, "seq_dim == batch_dim == %lld [Op:%s]", (long long)sa, d->tf_name);
    if (len->ndim != 1)
        return fg_error_set(FG_ERR_INVALID, "seq_lengths must be 1-dim, not %d [Op:%s]", len->ndim, d->tf_name);
    if (len->shape[0] != x->shape[ba])
        return fg_error_set(FG_ERR_INVALID, "Length of seq_lengths != input.dims(%lld), (%lld vs. %lld) [Op:%s]",
                            (long long)ba, (long long)len->shape[0], (long long)x->shape[ba], d->tf_name);
    for (int64_t b = 0; b < len->size; b++) {
        int64_t L = ival(len, b);
        if (L < 0) return fg_error_set(FG_ERR_INVALID, "seq_lens(%lld) < 0 [Op:%s]", (long long)b, d->tf_name);
        if (L > x->shape[sa])
            return fg_error_set(FG_ERR_INVALID, "seq_lens(%lld) > input.dims(%lld) [Op:%s]", (long long)b, (long long)sa,
                                d->tf_name);
    }
    fg_tensor *o = fg_tensor_new(x->dtype, nd, x->shape);
    if (!o) return -1;
    revseq_job j;
    j.es = fg_dtype_size(x->dtype), j.n = x->shape[sa], j.inner = prod(x->shape + sa + 1, nd - (int)sa - 1);
    j.nb = x->shape[ba], j.len = len, j.x = (const char *)x->data, j.y = (char *)o->data;
    j.batch_in_outer = ba < sa;
    j.bdiv = ba < sa ? prod(x->shape + ba + 1, (int)(sa - ba - 1)) : prod(x->shape + ba + 1, nd - (int)ba - 1);
    if (o->size) {
        void *tok = fg_gil_release_if(o->size);
        fg_parallel_range(fg_threads_for(o->size), o->size / j.n, 1, revseq_lines, &j);
        fg_gil_acquire(tok);
    }
    *out = o;
    return 0;
}

/* ------------------------------------- unravel_index, invert_permutation */

/* inputs (indices, dims): the coordinates, [ndims] or [ndims, n]; C's
 * truncating division as TF (a negative index gives negative coordinates) */
int fwd_unravel_index(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
                      fg_tensor **out) {
    (void)n_in, (void)attrs, (void)nattrs;
    fg_tensor *idx = in[0], *dims = in[1];
    if (!is_index_dtype(idx->dtype))
        return fg_error_set(FG_ERR_INVALID, "Value for attr 'Tidx' of %s is not in the list of allowed values: int32, int64 [Op:%s]",
                            tf_dtype(idx->dtype), d->tf_name);
    if (dims->dtype != idx->dtype) return dtype_mismatch(d, 1, idx->dtype, dims->dtype);
    if (dims->ndim != 1)
        return fg_error_set(FG_ERR_INVALID, "The dims input must be a 1-D tensor, got shape %s [Op:%s]",
                            fg_shape_str(dims->ndim, dims->shape), d->tf_name);
    if (idx->ndim > 1)
        return fg_error_set(FG_ERR_INVALID, "The indices can only be scalar or vector, got %s [Op:%s]",
                            fg_shape_str(idx->ndim, idx->shape), d->tf_name);
    const int64_t m = dims->size;
    int64_t total = 1;
    for (int64_t i = 0; i < m; i++) {
        if (ival(dims, i) == 0)
            return fg_error_set(FG_ERR_INVALID, "Input dims cannot contain a dim of zero, but dims contains zero at index %lld [Op:%s]",
                                (long long)i, d->tf_name);
        total *= ival(dims, i);
    }
    for (int64_t i = 0; i < idx->size; i++)
        if (ival(idx, i) >= total)
            return fg_error_set(FG_ERR_INVALID, "index is out of bound as with dims [Op:%s]", d->tf_name);
    int64_t shape[2] = {m, idx->ndim ? idx->shape[0] : 1};
    fg_tensor *o = fg_tensor_new(idx->dtype, idx->ndim ? 2 : 1, shape);
    if (!o) return -1;
    const int64_t n = idx->ndim ? idx->shape[0] : 1;
    for (int64_t i = 0; i < n; i++) {
        int64_t v = ival(idx, i), stride = total;
        for (int64_t k = 0; k < m; k++) {
            int64_t dk = ival(dims, k);
            stride /= dk;
            int64_t c = (v / stride) % dk;
            if (o->dtype == FG_I32)
                ((int32_t *)o->data)[k * n + i] = (int32_t)c;
            else
                ((int64_t *)o->data)[k * n + i] = c;
        }
    }
    *out = o;
    return 0;
}

int fwd_invert_permutation(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
                           fg_tensor **out) {
    (void)n_in, (void)attrs, (void)nattrs;
    fg_tensor *x = in[0];
    if (!is_index_dtype(x->dtype))
        return fg_error_set(FG_ERR_INVALID, "Value for attr 'T' of %s is not in the list of allowed values: int32, int64 [Op:%s]",
                            tf_dtype(x->dtype), d->tf_name);
    if (x->ndim != 1) return fg_error_set(FG_ERR_INVALID, "invert_permutation expects a 1D vector. [Op:%s]", d->tf_name);
    const int64_t n = x->size;
    fg_tensor *o = fg_tensor_new(x->dtype, 1, x->shape);
    if (!o) return -1;
    for (int64_t i = 0; i < n; i++) { /* -1 marks unset */
        if (o->dtype == FG_I32) ((int32_t *)o->data)[i] = -1;
        else ((int64_t *)o->data)[i] = -1;
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t v = ival(x, i);
        if (v < 0 || v >= n) {
            fg_decref(o);
            return fg_error_set(FG_ERR_INVALID, "%lld is not between 0 and %lld [Op:%s]", (long long)v, (long long)n,
                                d->tf_name);
        }
        if (ival(o, v) != -1) {
            fg_decref(o);
            return fg_error_set(FG_ERR_INVALID, "%lld is duplicated in the input. [Op:%s]", (long long)v, d->tf_name);
        }
        if (o->dtype == FG_I32) ((int32_t *)o->data)[v] = (int32_t)i;
        else ((int64_t *)o->data)[v] = i;
    }
    *out = o;
    return 0;
}

/* ---------------------------------------------------------------- rules */

static fg_tensor *pad_of(rctx *c, fg_tensor *x, fg_tensor *cv, const int64_t *attrs, int nattrs) {
    fg_tensor *in[2] = {x, cv};
    return ap(c, FG_OP_PAD, 2, in, attrs, nattrs);
}

/* TF's PadGrad: a slice of g for the constant mode, MirrorPadGrad for the
 * mirror modes; none for constant_values */
int bwd_pad(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    if (need[0]) {
        const fg_tensor *x = X(0);
        const int nd = x->ndim;
        const int64_t *a = node->attrs;
        if (a[0] == PAD_CONSTANT) {
            int64_t at[3 * FG_MAX_NDIM];
            for (int i = 0; i < nd; i++) at[i] = a[1 + i], at[nd + i] = 1, at[2 * nd + i] = x->shape[i];
            gin[0] = give(ap(c, FG_OP_SLICE, 1, &g, at, 3 * nd));
        } else {
            gin[0] = give(ap(c, FG_OP_PAD_GRAD, 1, &g, a, node->nattrs));
        }
    }
    RULE_END;
}

/* MirrorPadGrad's gradient: the mirror pad again */
int bwd_pad_grad(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    if (need[0]) gin[0] = give(pad_of(c, g, cst(g->dtype, 0), node->attrs, node->nattrs));
    RULE_END;
}

/* pad is linear in x for a fixed constant: the tangent padded with zeros */
int jvp_pad(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    if (T(0)) {
        int64_t at[1 + 2 * FG_MAX_NDIM + 4];
        int na = fg_attrs_batched(node->op, X(0)->ndim, node->attrs, node->nattrs, nb, T(0)->shape, at);
        if (na < 0)
            c->failed = 1;
        else
            *tout = give(pad_of(c, T(0), cst(T(0)->dtype, 0), at, na));
    }
    JVP_END;
}

static fg_tensor *gather_nd(rctx *c, fg_tensor *p, fg_tensor *idx, int64_t lead, int64_t bd) {
    fg_tensor *in[2] = {p, idx};
    int64_t at[3] = {lead, bd, 0};
    return ap(c, FG_OP_GATHER_ND, 2, in, at, 3);
}

static fg_tensor *scatter_nd(rctx *c, fg_tensor *u, fg_tensor *idx, int64_t lead, int64_t bd, int nd,
                             const int64_t *shape) {
    fg_tensor *in[2] = {u, idx};
    int64_t at[3 + FG_MAX_NDIM] = {lead, bd, nd};
    memcpy(at + 3, shape, (size_t)nd * sizeof(int64_t));
    return ap(c, FG_OP_SCATTER_ND, 2, in, at, 3 + nd);
}

/* TF's GatherNdGrad: scatter_nd of g into params' shape (duplicates sum) */
int bwd_gather_nd(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    if (need[0]) {
        const fg_tensor *p = X(0);
        gin[0] = give(scatter_nd(c, g, X(1), node->attrs[0], node->nattrs > 1 ? node->attrs[1] : 0, p->ndim, p->shape));
    }
    RULE_END;
}

/* TF's ScatterNdGrad: gather_nd of g */
int bwd_scatter_nd(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    if (need[0]) gin[0] = give(gather_nd(c, g, X(1), node->attrs[0], node->attrs[1]));
    RULE_END;
}

/* TF's TensorScatterUpdate/Add/Sub gradients: the tensor's is g with the
 * updated slices zeroed (update) or g itself; the updates' is gather_nd of
 * g (negated for sub) -- every duplicate gets it, as TF's. */
int bwd_tensor_scatter(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    const int64_t mode = node->attrs[0], lead = node->attrs[1];
    if (need[0]) {
        if (mode == 0) {
            fg_tensor *in[3] = {g, X(1), zeros_like(c, X(2))};
            gin[0] = give(ap(c, FG_OP_TENSOR_SCATTER, 3, in, node->attrs, 2));
        } else {
            gin[0] = give(g);
        }
    }
    if (need[2]) {
        fg_tensor *u = gather_nd(c, g, X(1), lead, 0);
        gin[2] = give(mode == 2 ? NEG(u) : u);
    }
    RULE_END;
}

/* TF's TensorScatterMin/Max gradient: g shared equally among the tensor's
 * element and the updates that attain the output */
static fg_tensor *cast_to(rctx *c, fg_tensor *b, int dt) {
    int64_t a = dt;
    return ap(c, FG_OP_CAST, 1, &b, &a, 1);
}

typedef struct {
    fg_tensor *xi, *yi, *ind;
} minmax_parts;

static void minmax_indicators(rctx *c, const fg_node *node, minmax_parts *m) {
    const int dt = X(0)->dtype;
    const int64_t lead = node->attrs[1];
    m->xi = cast_to(c, ap2(c, FG_OP_EQUAL, X(0), Y), dt);
    m->yi = cast_to(c, ap2(c, FG_OP_EQUAL, X(2), gather_nd(c, Y, X(1), lead, 0)), dt);
    m->ind = ADD(m->xi, scatter_nd(c, m->yi, X(1), lead, 0, X(0)->ndim, X(0)->shape));
}

int bwd_tensor_scatter_minmax(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    minmax_parts m;
    minmax_indicators(c, node, &m);
    if (need[0]) gin[0] = give(DIV(MUL(g, m.xi), m.ind));
    if (need[2]) gin[2] = give(MUL(gather_nd(c, DIV(g, m.ind), X(1), node->attrs[1], 0), m.yi));
    RULE_END;
}

/* the transpose of the backward rule: dy = (dx * xi + scatter_nd(du * yi)) / ind */
int jvp_tensor_scatter_minmax(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    minmax_parts m;
    minmax_indicators(c, node, &m);
    fg_tensor *acc = NULL;
    if (T(0)) acc = MUL(T(0), m.xi);
    if (T(2)) {
        int64_t shape[FG_MAX_NDIM];
        const fg_tensor *x = X(0);
        if (nb + x->ndim > FG_MAX_NDIM) {
            c->failed = 1;
            fg_error_set(FG_ERR_INVALID, "batched tangent rank exceeds %d", FG_MAX_NDIM);
        } else {
            memcpy(shape, T(2)->shape, (size_t)nb * sizeof(int64_t));
            memcpy(shape + nb, x->shape, (size_t)x->ndim * sizeof(int64_t));
            fg_tensor *s = scatter_nd(c, MUL(T(2), m.yi), X(1), node->attrs[1] + nb, 0, nb + x->ndim, shape);
            acc = acc ? ADD(acc, s) : s;
        }
    }
    if (acc) *tout = give(DIV(acc, m.ind));
    JVP_END;
}

/* einsum_diagonal <-> its adjoint */
int bwd_einsum_diagonal(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    if (need[0]) {
        const fg_tensor *x = X(0);
        int64_t at[1 + 2 * FG_MAX_NDIM];
        at[0] = x->ndim;
        memcpy(at + 1, x->shape, (size_t)x->ndim * sizeof(int64_t));
        memcpy(at + 1 + x->ndim, node->attrs, (size_t)x->ndim * sizeof(int64_t));
        gin[0] = give(ap(c, FG_OP_EINSUM_DIAGONAL_GRAD, 1, &g, at, 1 + 2 * x->ndim));
    }
    RULE_END;
}

int bwd_einsum_diagonal_grad(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    int nd = (int)node->attrs[0];
    if (need[0]) gin[0] = give(ap(c, FG_OP_EINSUM_DIAGONAL, 1, &g, node->attrs + 1 + nd, nd));
    RULE_END;
}

/* TF's ReverseSequenceGrad: the same reversal of g */
int bwd_reverse_sequence(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    if (need[0]) {
        fg_tensor *in[2] = {g, X(1)};
        gin[0] = give(ap(c, FG_OP_REVERSE_SEQUENCE, 2, in, node->attrs, 2));
    }
    RULE_END;
}
