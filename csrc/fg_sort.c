/* fg_sort.c: the sorting and counting op family -- the indices of sort,
 * argsort and top_k, the gather along the last axis that turns them into
 * values (and its scatter-add, the gradient), in_top_k, searchsorted,
 * unique and bincount: kernels, forwards and rules (fg_ops.def declares
 * what the table names).
 *
 * Sorting is stable: equal keys keep their order, so the result is the one
 * permutation a stable sort defines, whatever the algorithm or the thread
 * count. Rows sort on their own threads; one long row is a merge sort of
 * fixed chunks (chunks sorted in parallel, then merged pairwise in rounds).
 * NaN sorts above +inf (last ascending, first descending); TF's order for
 * NaN depends on its kernel's internals.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fg_forward_util.h"
#include "fg_kernels.h"
#include "fg_parallel.h"
#include "fg_rules.h"

static int64_t int_at(int dtype, const void *p, int64_t i) {
    return dtype == FG_I32 ? ((const int32_t *)p)[i] : ((const int64_t *)p)[i];
}

static void int_put(int dtype, void *p, int64_t i, int64_t v) {
    if (dtype == FG_I32)
        ((int32_t *)p)[i] = (int32_t)v;
    else
        ((int64_t *)p)[i] = v;
}

/* ------------------------------------------------------------- sorting */

/* Keys are mapped to uint64 so that one unsigned comparison orders them:
 * floats by their bits (sign flipped, negatives inverted; -0 and 0 made
 * equal, every NaN the largest), integers offset by the sign bit; a
 * descending sort inverts the key. Ties keep index order (stability). */
typedef struct {
    uint64_t k;
    int64_t i;
} kv;

static uint64_t key_f64(double v) {
    if (v != v) return UINT64_MAX;
    if (v == 0) v = 0; /* -0 == 0 */
    uint64_t b;
    memcpy(&b, &v, 8);
    return (b >> 63) ? ~b : b | (1ull << 63);
}

static uint64_t key_at(int dtype, const void *x, int64_t i) {
    switch (dtype) {
    case FG_F32: return key_f64((double)((const float *)x)[i]);
    case FG_F64: return key_f64(((const double *)x)[i]);
    case FG_I32: return (uint64_t)((int64_t)((const int32_t *)x)[i]) ^ (1ull << 63);
    default: return (uint64_t)((const int64_t *)x)[i] ^ (1ull << 63);
    }
}

/* a before b: smaller key, or the same key and a smaller index */
static inline int kv_before(const kv *a, const kv *b) { return a->k < b->k || (a->k == b->k && a->i < b->i); }

static void merge(const kv *a, int64_t na, const kv *b, int64_t nb, kv *out) {
    int64_t i = 0, j = 0, o = 0;
    while (i < na && j < nb) out[o++] = kv_before(&b[j], &a[i]) ? b[j++] : a[i++];
    while (i < na) out[o++] = a[i++];
    while (j < nb) out[o++] = b[j++];
}

/* merge sort of v[0..n) by (key, index); tmp has room for n */
static void sort_kv(kv *v, int64_t n, kv *tmp) {
    const int64_t RUN = 32;
    for (int64_t s = 0; s < n; s += RUN) { /* insertion sort of short runs */
        int64_t e = s + RUN < n ? s + RUN : n;
        for (int64_t i = s + 1; i < e; i++) {
            kv t = v[i];
            int64_t j = i;
            while (j > s && kv_before(&t, &v[j - 1])) v[j] = v[j - 1], j--;
            v[j] = t;
        }
    }
    kv *src = v, *dst = tmp;
    for (int64_t w = RUN; w < n; w *= 2) {
        for (int64_t s = 0; s < n; s += 2 * w) {
            int64_t m = s + w < n ? s + w : n, e = s + 2 * w < n ? s + 2 * w : n;
            merge(src + s, m - s, src + m, e - m, dst + s);
        }
        kv *t = src;
        src = dst, dst = t;
    }
    if (src != v) memcpy(v, src, (size_t)n * sizeof(kv));
}

/* the best k of v[0..n) in order, by a heap of the k best so far (the
 * worst of them on top); index order breaks ties, so the result is the
 * stable sort's first k */
static void topk_kv(const kv *v, int64_t n, int64_t k, kv *heap, kv *tmp) {
    int64_t h = 0;
    for (int64_t q = 0; q < n; q++) {
        const kv *e = &v[q];
        if (h == k) {
            if (!kv_before(e, &heap[0])) continue;
            /* replace the top (the last in order) and sift down */
            int64_t i = 0;
            for (;;) {
                int64_t l = 2 * i + 1, r = l + 1, w = l;
                if (l >= h) break;
                if (r < h && kv_before(&heap[l], &heap[r])) w = r;
                if (!kv_before(e, &heap[w])) break;
                heap[i] = heap[w];
                i = w;
            }
            heap[i] = *e;
        } else { /* push and sift up */
            int64_t i = h++;
            while (i > 0 && kv_before(&heap[(i - 1) / 2], e)) heap[i] = heap[(i - 1) / 2], i = (i - 1) / 2;
            heap[i] = *e;
        }
    }
    sort_kv(heap, h, tmp);
}

typedef struct {
    int dtype, desc, idx_dtype;
    const void *x;
    void *idx;
    int64_t n, k;
} sort_job;

static void fill_keys(const sort_job *j, int64_t r, kv *v) {
    const uint64_t flip = j->desc ? UINT64_MAX : 0;
    for (int64_t i = 0; i < j->n; i++) v[i].k = key_at(j->dtype, j->x, r * j->n + i) ^ flip, v[i].i = i;
}

static void sort_rows(void *p, int64_t lo, int64_t hi) {
    const sort_job *j = (const sort_job *)p;
    const int64_t n = j->n, k = j->k;
    kv *v = (kv *)malloc((size_t)(3 * n + 1) * sizeof(kv));
    if (!v) return; /* checked by the caller's probe allocation */
    kv *tmp = v + n, *heap = v + 2 * n;
    for (int64_t r = lo; r < hi; r++) {
        fill_keys(j, r, v);
        const kv *best = v;
        if (k * 8 < n) {
            topk_kv(v, n, k, heap, tmp);
            best = heap;
        } else {
            sort_kv(v, n, tmp);
        }
        for (int64_t q = 0; q < k; q++) int_put(j->idx_dtype, j->idx, r * k + q, best[q].i);
    }
    free(v);
}

/* one long row: chunks of a fixed size sorted in parallel, merged in rounds */
#define SORT_CHUNK 32768
typedef struct {
    kv *src, *dst;
    int64_t n, w;
} chunk_job;

static void sort_chunks(void *p, int64_t lo, int64_t hi) {
    chunk_job *j = (chunk_job *)p;
    for (int64_t c = lo; c < hi; c++) {
        int64_t s = c * SORT_CHUNK, e = s + SORT_CHUNK < j->n ? s + SORT_CHUNK : j->n;
        sort_kv(j->src + s, e - s, j->dst + s);
    }
}

static void merge_pairs(void *p, int64_t lo, int64_t hi) {
    chunk_job *j = (chunk_job *)p;
    for (int64_t c = lo; c < hi; c++) {
        int64_t s = c * 2 * j->w, m = s + j->w < j->n ? s + j->w : j->n, e = s + 2 * j->w < j->n ? s + 2 * j->w : j->n;
        merge(j->src + s, m - s, j->src + m, e - m, j->dst + s);
    }
}

static int sort_one_row(const sort_job *j, int nt) {
    const int64_t n = j->n;
    kv *v = (kv *)malloc((size_t)(2 * n) * sizeof(kv));
    if (!v) return fg_error_set(FG_ERR_NOMEM, "out of memory");
    fill_keys(j, 0, v);
    chunk_job cj = {v, v + n, n, 0};
    fg_parallel_range(nt, (n + SORT_CHUNK - 1) / SORT_CHUNK, 1, sort_chunks, &cj);
    for (int64_t w = SORT_CHUNK; w < n; w *= 2) {
        cj.w = w;
        fg_parallel_range(nt, (n + 2 * w - 1) / (2 * w), 1, merge_pairs, &cj);
        kv *t = cj.src;
        cj.src = cj.dst, cj.dst = t;
    }
    for (int64_t q = 0; q < j->k; q++) int_put(j->idx_dtype, j->idx, q, cj.src[q].i);
    free(v);
    return 0;
}

static int k_sort_indices(int dtype, const void *x, int64_t rows, int64_t n, int64_t k, int desc, int idx_dtype,
                          void *idx) {
    if (rows == 0 || k == 0) return 0;
    sort_job j = {dtype, desc, idx_dtype, x, idx, n, k};
    int nt = fg_threads_for(rows * n * 4); /* sorting costs several passes an element */
    if (rows == 1 && n > 2 * SORT_CHUNK && k * 8 >= n) return sort_one_row(&j, nt);
    kv *probe = (kv *)malloc((size_t)(3 * n + 1) * sizeof(kv)); /* the rows' scratch will fit */
    if (!probe) return fg_error_set(FG_ERR_NOMEM, "out of memory");
    free(probe);
    fg_parallel_range(nt, rows, 1, sort_rows, &j);
    return 0;
}

/* ------------------------------------------- gather / scatter on the last axis */

/* x viewed [rows, n], idx [irows, k] with rows a multiple of irows (the
 * leading dims of x that idx lacks: batched tangents); out [rows, k] */
typedef struct {
    size_t es;
    int put, idx_dtype;
    const char *x;
    char *y;
    const void *idx;
    int64_t irows, n, k;
} along_job;

#define DEF_PUT(S, T)                                                                          \
    static void put_row_##S(const along_job *j, int64_t r) {                                  \
        const T *g = (const T *)j->x + r * j->k;                                              \
        T *y = (T *)j->y + r * j->n;                                                          \
        int64_t ir = r % j->irows;                                                            \
        for (int64_t i = 0; i < j->n; i++) y[i] = 0;                                          \
        for (int64_t q = 0; q < j->k; q++) y[int_at(j->idx_dtype, j->idx, ir * j->k + q)] += g[q]; \
    }
DEF_PUT(f32, float)
DEF_PUT(f64, double)
DEF_PUT(i32, int32_t)
DEF_PUT(i64, int64_t)

static void along_rows(void *p, int64_t lo, int64_t hi) {
    const along_job *j = (const along_job *)p;
    for (int64_t r = lo; r < hi; r++) {
        if (j->put) {
            switch ((int)j->es) {
            case 4: j->put == 1 ? put_row_f32(j, r) : put_row_i32(j, r); break;
            default: j->put == 1 ? put_row_f64(j, r) : put_row_i64(j, r); break;
            }
            continue;
        }
        int64_t ir = r % j->irows;
        const char *x = j->x + (size_t)(r * j->n) * j->es;
        char *y = j->y + (size_t)(r * j->k) * j->es;
        for (int64_t q = 0; q < j->k; q++)
            memcpy(y + (size_t)q * j->es, x + (size_t)int_at(j->idx_dtype, j->idx, ir * j->k + q) * j->es, j->es);
    }
}

/* x's dims before the last that idx covers must match idx's */
static int along_check(const fg_opdef *d, const fg_tensor *x, const fg_tensor *idx, int64_t n) {
    if (idx->dtype != FG_I32 && idx->dtype != FG_I64) return dtype_mismatch(d, 1, FG_I32, idx->dtype);
    int ok = idx->ndim >= 1 && x->ndim >= idx->ndim;
    for (int i = 0; ok && i < idx->ndim - 1; i++) ok = x->shape[x->ndim - idx->ndim + i] == idx->shape[i];
    if (!ok)
        return fg_error_set(FG_ERR_INVALID, "indices of shape %s do not fit a tensor of shape %s [Op:%s]",
                            fg_shape_str(idx->ndim, idx->shape), fg_shape_str(x->ndim, x->shape), d->tf_name);
    for (int64_t i = 0; i < idx->size; i++) {
        int64_t v = int_at(idx->dtype, idx->data, i);
        if (v < 0 || v >= n)
            return fg_error_set(FG_ERR_INVALID, "indices[%lld] = %lld is not in [0, %lld) [Op:%s]", (long long)i,
                                (long long)v, (long long)n, d->tf_name);
    }
    return 0;
}

static int run_along(fg_tensor *x, fg_tensor *idx, int put, int64_t n, fg_tensor *o) {
    int64_t k = idx->shape[idx->ndim - 1], irows = k ? idx->size / k : 0;
    int64_t rows = 1;
    for (int i = 0; i < o->ndim - 1; i++) rows *= o->shape[i];
    if (irows == 0 || rows == 0) {
        memset(o->data, 0, (size_t)o->size * fg_dtype_size(o->dtype));
        return 0;
    }
    along_job j = {fg_dtype_size(x->dtype), put ? (x->dtype == FG_F32 || x->dtype == FG_F64 ? 1 : 2) : 0,
                   idx->dtype, (const char *)x->data, (char *)o->data, idx->data, irows, n, k};
    void *tok = fg_gil_release_if(o->size);
    fg_parallel_range(fg_threads_for(o->size + x->size), rows, 1, along_rows, &j);
    fg_gil_acquire(tok);
    return 0;
}

/* inputs (x [..., n], indices [..., k]): x[..., indices] per row */
int fwd_take_along(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
                   fg_tensor **out) {
    (void)n_in, (void)attrs, (void)nattrs;
    fg_tensor *x = in[0], *idx = in[1];
    if (x->ndim < 1) return fg_error_set(FG_ERR_INVALID, "input must be >= 1-D [Op:%s]", d->tf_name);
    int64_t n = x->shape[x->ndim - 1];
    if (along_check(d, x, idx, n) < 0) return -1;
    int64_t shape[FG_MAX_NDIM];
    memcpy(shape, x->shape, (size_t)x->ndim * sizeof(int64_t));
    shape[x->ndim - 1] = idx->shape[idx->ndim - 1];
    fg_tensor *o = fg_tensor_new(x->dtype, x->ndim, shape);
    if (!o) return -1;
    run_along(x, idx, 0, n, o);
    *out = o;
    return 0;
}

/* inputs (g [..., k], indices [..., k]); attrs = [n]: zeros [..., n] with
 * g added at the indices of each row */
int fwd_put_along(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
                  fg_tensor **out) {
    (void)n_in, (void)nattrs;
    fg_tensor *g = in[0], *idx = in[1];
    int64_t n = attrs[0];
    if (g->dtype == FG_BOOL) return not_allowed(d, g->dtype);
    if (g->ndim < 1 || g->shape[g->ndim - 1] != idx->shape[idx->ndim - 1])
        return fg_error_set(FG_ERR_INVALID, "updates of shape %s do not fit indices of shape %s [Op:%s]",
                            fg_shape_str(g->ndim, g->shape), fg_shape_str(idx->ndim, idx->shape), d->tf_name);
    if (along_check(d, g, idx, n) < 0) return -1;
    int64_t shape[FG_MAX_NDIM];
    memcpy(shape, g->shape, (size_t)g->ndim * sizeof(int64_t));
    shape[g->ndim - 1] = n;
    fg_tensor *o = fg_tensor_new(g->dtype, g->ndim, shape);
    if (!o) return -1;
    run_along(g, idx, 1, n, o);
    *out = o;
    return 0;
}

int bwd_take_along(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    if (need[0]) {
        int64_t n = X(0)->shape[X(0)->ndim - 1];
        fg_tensor *in[2] = {g, X(1)};
        gin[0] = give(ap(c, FG_OP_PUT_ALONG, 2, in, &n, 1));
    }
    RULE_END;
}

int bwd_put_along(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    if (need[0]) {
        fg_tensor *in[2] = {g, X(1)};
        gin[0] = give(ap(c, FG_OP_TAKE_ALONG, 2, in, NULL, 0));
    }
    RULE_END;
}

/* input x [..., n]; attrs = [k, descending, index dtype]: the indices of
 * the first k of each row in a stable sort (TopKV2's indices when
 * descending) */
int fwd_sort_indices(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
                     fg_tensor **out) {
    (void)n_in, (void)nattrs;
    fg_tensor *x = in[0];
    int64_t k = attrs[0];
    int idt = (int)attrs[2];
    if (x->dtype == FG_BOOL) return not_allowed(d, x->dtype);
    if (idt != FG_I32 && idt != FG_I64)
        return fg_error_set(FG_ERR_INVALID, "Value for attr 'index_type' of %s is not in the list of allowed values: "
                            "int16, int32, int64 [Op:%s]", tf_dtype(idt), d->tf_name);
    if (k < 0) return fg_error_set(FG_ERR_INVALID, "Need k >= 0, got %lld [Op:%s]", (long long)k, d->tf_name);
    if (x->ndim < 1)
        return fg_error_set(FG_ERR_INVALID, "input must be >= 1-D, got shape %s [Op:%s]", fg_shape_str(x->ndim, x->shape),
                            d->tf_name);
    int64_t n = x->shape[x->ndim - 1];
    if (n < k)
        return fg_error_set(FG_ERR_INVALID, "input must have at least k columns. Had %lld, needed %lld [Op:%s]",
                            (long long)n, (long long)k, d->tf_name);
    int64_t shape[FG_MAX_NDIM];
    memcpy(shape, x->shape, (size_t)x->ndim * sizeof(int64_t));
    shape[x->ndim - 1] = k;
    fg_tensor *o = fg_tensor_new(idt, x->ndim, shape);
    if (!o) return -1;
    RUN_KERNEL_WORK(o, x->size, k_sort_indices(x->dtype, x->data, n ? x->size / n : 0, n, k, (int)attrs[1], idt, o->data));
    *out = o;
    return 0;
}

/* ------------------------------------------------------------- in_top_k */

/* TF's InTopKV2: target t is in the top k when fewer than k classes score
 * strictly higher; a target out of range, or a non-finite score anywhere
 * in the row, gives false */
#define DEF_IN_TOP_K(S, T)                                                                        \
    static void in_top_k_##S(const T *p, int64_t b, int64_t nc, int tdt, const void *tg, int64_t k, \
                             uint8_t *out) {                                                      \
        for (int64_t r = 0; r < b; r++) {                                                         \
            int64_t t = int_at(tdt, tg, r);                                                       \
            const T *row = p + r * nc;                                                            \
            int bad = t < 0 || t >= nc || !isfinite(row[t]);                                      \
            int64_t more = 0;                                                                     \
            for (int64_t i = 0; !bad && i < nc; i++) {                                            \
                if (!isfinite(row[i]))                                                            \
                    bad = 1;                                                                      \
                else if (row[i] > row[t])                                                         \
                    more++;                                                                       \
            }                                                                                     \
            out[r] = !bad && more < k;                                                            \
        }                                                                                         \
    }
DEF_IN_TOP_K(f32, float)
DEF_IN_TOP_K(f64, double)

/* inputs (predictions [batch, classes], targets [batch]); attrs = [k] */
int fwd_in_top_k(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
                 fg_tensor **out) {
    (void)n_in, (void)nattrs;
    fg_tensor *p = in[0], *t = in[1];
    if (p->dtype != FG_F32 && p->dtype != FG_F64) return dtype_mismatch(d, 0, FG_F32, p->dtype);
    if (t->dtype != FG_I32 && t->dtype != FG_I64) return dtype_mismatch(d, 1, FG_I32, t->dtype);
    if (p->ndim != 2) return fg_error_set(FG_ERR_INVALID, "predictions must be 2-dimensional [Op:%s]", d->tf_name);
    if (t->ndim != 1) return fg_error_set(FG_ERR_INVALID, "targets must be 1-dimensional [Op:%s]", d->tf_name);
    if (p->shape[0] != t->shape[0])
        return fg_error_set(FG_ERR_INVALID, "First dimension of predictions %lld must match length of targets %lld [Op:%s]",
                            (long long)p->shape[0], (long long)t->shape[0], d->tf_name);
    fg_tensor *o = fg_tensor_new(FG_BOOL, 1, t->shape);
    if (!o) return -1;
    if (p->dtype == FG_F32)
        in_top_k_f32((const float *)p->data, p->shape[0], p->shape[1], t->dtype, t->data, attrs[0], (uint8_t *)o->data);
    else
        in_top_k_f64((const double *)p->data, p->shape[0], p->shape[1], t->dtype, t->data, attrs[0], (uint8_t *)o->data);
    *out = o;
    return 0;
}

/* --------------------------------------------------------- searchsorted */

typedef struct {
    int dtype, right, out_dtype;
    const void *seq, *val;
    void *out;
    int64_t m, n;
} ss_job;

#define DEF_SS(S, T)                                                                     \
    static void ss_run_##S(const ss_job *j, int64_t lo, int64_t hi) {                   \
        for (int64_t e = lo; e < hi; e++) {                                             \
            const T *s = (const T *)j->seq + (e / j->n) * j->m;                         \
            T v = ((const T *)j->val)[e];                                               \
            int64_t a = 0, b = j->m; /* the first position whose element is >= v (> v: right) */ \
            while (a < b) {                                                             \
                int64_t mid = a + (b - a) / 2;                                          \
                if (j->right ? !(v < s[mid]) : s[mid] < v)                              \
                    a = mid + 1;                                                        \
                else                                                                    \
                    b = mid;                                                            \
            }                                                                           \
            int_put(j->out_dtype, j->out, e, a);                                        \
        }                                                                               \
    }
DEF_SS(f32, float)
DEF_SS(f64, double)
DEF_SS(i32, int32_t)
DEF_SS(i64, int64_t)

static void ss_range(void *p, int64_t lo, int64_t hi) {
    const ss_job *j = (const ss_job *)p;
    switch (j->dtype) {
    case FG_F32: ss_run_f32(j, lo, hi); break;
    case FG_F64: ss_run_f64(j, lo, hi); break;
    case FG_I32: ss_run_i32(j, lo, hi); break;
    default: ss_run_i64(j, lo, hi); break;
    }
}

/* inputs (sorted_sequence [..., m], values [..., n]); attrs = [right, out dtype];
 * the leading dims flatten to rows, as TF's reshape to 2-D */
int fwd_searchsorted(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
                     fg_tensor **out) {
    (void)n_in, (void)nattrs;
    fg_tensor *s = in[0], *v = in[1];
    int right = (int)attrs[0], odt = (int)attrs[1];
    const char *name = right ? "UpperBound" : "LowerBound";
    if (s->dtype == FG_BOOL)
        return fg_error_set(FG_ERR_INVALID, "Value for attr 'T' of bool is not in the list of allowed values [Op:%s]", name);
    if (v->dtype != s->dtype)
        return fg_error_set(FG_ERR_INVALID, "cannot compute %s as input #1(zero-based) was expected to be a %s tensor "
                            "but is a %s tensor [Op:%s]", name, tf_dtype(s->dtype), tf_dtype(v->dtype), name);
    if (odt != FG_I32 && odt != FG_I64)
        return fg_error_set(FG_ERR_INVALID, "Value for attr 'out_type' of %s is not in the list of allowed values: "
                            "int32, int64 [Op:%s]", tf_dtype(odt), name);
    if (s->ndim < 1 || v->ndim < 1)
        return fg_error_set(FG_ERR_INVALID, "slice index -1 of dimension 0 out of bounds. [Op:StridedSlice]");
    int64_t m = s->shape[s->ndim - 1], n = v->shape[v->ndim - 1];
    int64_t srows = m ? s->size / m : 0, vrows = n ? v->size / n : 0;
    if ((m && n && srows != vrows) || (!m && s->ndim > 1 && n && s->shape[0] != vrows))
        return fg_error_set(FG_ERR_INVALID, "Leading dim_size of both tensors must match. [Op:%s]", name);
    (void)d;
    fg_tensor *o = fg_tensor_new(odt, v->ndim, v->shape);
    if (!o) return -1;
    ss_job j = {s->dtype, right, odt, s->data, v->data, o->data, m, n};
    if (n) {
        void *tok = fg_gil_release_if(v->size);
        fg_parallel_range(fg_threads_for(v->size * 8), v->size, 1, ss_range, &j);
        fg_gil_acquire(tok);
    }
    *out = o;
    return 0;
}

/* --------------------------------------------------------------- unique */

/* Values compare with ==, as TF's hash map: 0 and -0 are one value, every
 * NaN its own. Open addressing over the first occurrences. */
static uint64_t hash_bits(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 33);
}

static int same(int dtype, const void *x, int64_t a, int64_t b) {
    switch (dtype) {
    case FG_F32: return ((const float *)x)[a] == ((const float *)x)[b];
    case FG_F64: return ((const double *)x)[a] == ((const double *)x)[b];
    case FG_I32: return ((const int32_t *)x)[a] == ((const int32_t *)x)[b];
    case FG_I64: return ((const int64_t *)x)[a] == ((const int64_t *)x)[b];
    default: return ((const uint8_t *)x)[a] == ((const uint8_t *)x)[b];
    }
}

static uint64_t hash_at(int dtype, const void *x, int64_t i) {
    switch (dtype) {
    case FG_F32:
    case FG_F64: {
        double v = dtype == FG_F32 ? ((const float *)x)[i] : ((const double *)x)[i];
        if (v == 0) v = 0;
        uint64_t b;
        memcpy(&b, &v, 8);
        return hash_bits(b);
    }
    case FG_I32: return hash_bits((uint64_t)((const int32_t *)x)[i]);
    case FG_I64: return hash_bits((uint64_t)((const int64_t *)x)[i]);
    default: return hash_bits(((const uint8_t *)x)[i]);
    }
}

/* idx[i]: the rank of x[i]'s value among the distinct values in order of
 * first appearance; first[u]: where value u first appears. Returns the
 * number of distinct values, -1 out of memory. */
static int64_t k_unique(int dtype, const void *x, int64_t n, int64_t *idx, int64_t *first) {
    int64_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    int64_t *slot = (int64_t *)malloc((size_t)cap * sizeof(int64_t)); /* a value's id, -1 empty */
    if (!slot) return -1;
    for (int64_t i = 0; i < cap; i++) slot[i] = -1;
    int64_t u = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t h = (int64_t)(hash_at(dtype, x, i) & (uint64_t)(cap - 1));
        for (;;) {
            int64_t s = slot[h];
            if (s < 0) {
                slot[h] = u;
                first[u] = i;
                idx[i] = u++;
                break;
            }
            if (same(dtype, x, first[s], i)) {
                idx[i] = s;
                break;
            }
            h = (h + 1) & (cap - 1);
        }
    }
    free(slot);
    return u;
}

/* input x (1-D); attrs = [out_idx dtype, part]: part 0 the distinct values
 * in order of first appearance, 1 each element's index into them (out_idx),
 * 2 each value's count (out_idx) */
int fwd_unique(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
               fg_tensor **out) {
    (void)n_in, (void)nattrs;
    fg_tensor *x = in[0];
    int odt = (int)attrs[0], part = (int)attrs[1];
    if (odt != FG_I32 && odt != FG_I64)
        return fg_error_set(FG_ERR_INVALID, "Value for attr 'out_idx' of %s is not in the list of allowed values: "
                            "int32, int64 [Op:%s]", tf_dtype(odt), d->tf_name);
    if (x->ndim != 1) return fg_error_set(FG_ERR_INVALID, "unique expects a 1D vector. [Op:%s]", d->tf_name);
    int64_t n = x->size;
    int64_t *idx = (int64_t *)malloc((size_t)(2 * n + 1) * sizeof(int64_t));
    if (!idx) return fg_error_set(FG_ERR_NOMEM, "out of memory");
    int64_t *first = idx + n;
    int64_t u = k_unique(x->dtype, x->data, n, idx, first);
    if (u < 0) {
        free(idx);
        return fg_error_set(FG_ERR_NOMEM, "out of memory");
    }
    int64_t len = part == 1 ? n : u;
    fg_tensor *o = fg_tensor_new(part == 0 ? x->dtype : odt, 1, &len);
    if (!o) {
        free(idx);
        return -1;
    }
    if (part == 0) {
        size_t es = fg_dtype_size(x->dtype);
        for (int64_t q = 0; q < u; q++) memcpy((char *)o->data + q * es, (const char *)x->data + first[q] * es, es);
    } else if (part == 1) {
        for (int64_t i = 0; i < n; i++) int_put(odt, o->data, i, idx[i]);
    } else {
        memset(o->data, 0, (size_t)u * fg_dtype_size(odt));
        for (int64_t i = 0; i < n; i++) int_put(odt, o->data, idx[i], int_at(odt, o->data, idx[i]) + 1);
    }
    free(idx);
    *out = o;
    return 0;
}

/* ------------------------------------------------------------- bincount */

/* inputs (arr int, weights: the same shape, or size 0 for none); attrs =
 * [minlength (-1 none), maxlength (-1 none), binary_output, dtype without
 * weights, per_row]: TF's bincount -- the length max(arr) + 1 raised to
 * minlength and cut to maxlength; values at or past it are dropped;
 * per_row (axis=-1 on a 2-D arr) counts each row on its own */
int fwd_bincount(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
                 fg_tensor **out) {
    (void)n_in, (void)nattrs;
    fg_tensor *a = in[0], *w = in[1];
    int64_t minl = attrs[0], maxl = attrs[1];
    int binary = (int)attrs[2], per_row = (int)attrs[4];
    int odt = w->size ? w->dtype : (int)attrs[3];
    if (a->dtype != FG_I32 && a->dtype != FG_I64) return dtype_mismatch(d, 0, FG_I32, a->dtype);
    if (w->size && (w->ndim != a->ndim || memcmp(w->shape, a->shape, (size_t)a->ndim * sizeof(int64_t)) != 0))
        return fg_error_set(FG_ERR_INVALID, "Incompatible shapes: %s vs. %s [Op:%s]", fg_shape_str(w->ndim, w->shape),
                            fg_shape_str(a->ndim, a->shape), d->tf_name);
    if (odt == FG_BOOL) return not_allowed(d, odt);
    if (per_row && a->ndim != 2)
        return fg_error_set(FG_ERR_INVALID, "Shape must be rank 2 but is rank %d [Op:%s]", a->ndim, d->tf_name);
    int64_t size = 0;
    for (int64_t i = 0; i < a->size; i++) {
        int64_t v = int_at(a->dtype, a->data, i);
        if (v < 0) return fg_error_set(FG_ERR_INVALID, "Input arr must be non-negative! [Op:%s]", d->tf_name);
        if (v + 1 > size) size = v + 1;
    }
    if (minl >= 0 && size < minl) size = minl;
    if (maxl >= 0 && size > maxl) size = maxl;
    int64_t rows = per_row ? a->shape[0] : 1, cols = per_row ? a->shape[1] : a->size;
    int64_t shape[2] = {rows, size};
    fg_tensor *o = per_row ? fg_tensor_new(odt, 2, shape) : fg_tensor_new(odt, 1, &size);
    if (!o) return -1;
    memset(o->data, 0, (size_t)o->size * fg_dtype_size(odt));
    for (int64_t r = 0; r < rows; r++)
        for (int64_t q = 0; q < cols; q++) {
            int64_t i = r * cols + q, v = int_at(a->dtype, a->data, i);
            if (v >= size) continue;
            int64_t e = r * size + v;
            switch (odt) {
            case FG_F32: ((float *)o->data)[e] = binary ? 1.0f : ((float *)o->data)[e] + (w->size ? ((const float *)w->data)[i] : 1.0f); break;
            case FG_F64: ((double *)o->data)[e] = binary ? 1.0 : ((double *)o->data)[e] + (w->size ? ((const double *)w->data)[i] : 1.0); break;
            default: int_put(odt, o->data, e, binary ? 1 : int_at(odt, o->data, e) + (w->size ? int_at(odt, w->data, i) : 1));
            }
        }
    *out = o;
    return 0;
}
