/* fg_k_layout.c: strided copies: transpose, slice, slice_scatter, concat, tile,
 * gather, gather_scatter, all through sc_plan. */
#include "fg_kernels_impl.h"

/* ------------------------------------------------------------------------ */
/* Strided copies                                                           */

#define SC_MAXD (2 * FG_MAX_NDIM)

/* Copy dst[sum i*ds] = src[sum i*ss] over dims dim; strides in elements and
 * may be negative or (for src) 0. */
typedef struct {
    int nd;
    int64_t dim[SC_MAXD], ss[SC_MAXD], ds[SC_MAXD];
} sc_plan;

/* Drop 1-dims and merge neighbours contiguous in both src and dst. */
static void sc_simplify(sc_plan *p)
{
    int64_t dim[SC_MAXD], ss[SC_MAXD], ds[SC_MAXD];
    int nd = 0;
    for (int d = p->nd - 1; d >= 0; d--) {
        if (p->dim[d] == 1) continue;
        if (nd > 0 && p->ss[d] == ss[nd - 1] * dim[nd - 1] &&
            p->ds[d] == ds[nd - 1] * dim[nd - 1]) {
            dim[nd - 1] *= p->dim[d];
            continue;
        }
        dim[nd] = p->dim[d];
        ss[nd] = p->ss[d];
        ds[nd] = p->ds[d];
        nd++;
    }
    if (nd == 0) {
        p->nd = 1;
        p->dim[0] = 1;
        p->ss[0] = p->ds[0] = 1;
        return;
    }
    p->nd = nd;
    for (int i = 0; i < nd; i++) {
        p->dim[i] = dim[nd - 1 - i];
        p->ss[i] = ss[nd - 1 - i];
        p->ds[i] = ds[nd - 1 - i];
    }
}

#define DEF_COPY_ROW(S, T)                                                    \
    static void copy_row_##S(const char *s, int64_t ss, char *d, int64_t ds,  \
                             int64_t n)                                       \
    {                                                                         \
        const T *X = (const T *)s;                                            \
        T *O = (T *)d;                                                        \
        if (ss == 1 && ds == 1) {                                             \
            FG_SIMD for (int64_t i = 0; i < n; i++) O[i] = X[i];              \
        } else if (ss == 0) {                                                 \
            const T v = X[0];                                                 \
            for (int64_t i = 0; i < n; i++) O[i * ds] = v;                    \
        } else {                                                              \
            for (int64_t i = 0; i < n; i++) O[i * ds] = X[i * ss];            \
        }                                                                     \
    }
DEF_COPY_ROW(1, uint8_t)
DEF_COPY_ROW(4, fg_u32)
DEF_COPY_ROW(8, fg_u64)

static void copy_row(int64_t es, const char *s, int64_t ss, char *d, int64_t ds, int64_t n)
{
    if (ss == 1 && ds == 1 && n * es > 64) {
        memcpy(d, s, (size_t)(n * es));
        return;
    }
    if (es == 4)
        copy_row_4(s, ss, d, ds, n);
    else if (es == 8)
        copy_row_8(s, ss, d, ds, n);
    else
        copy_row_1(s, ss, d, ds, n);
}

typedef struct {
    const sc_plan *p;
    int64_t es;
    const char *src;
    char *dst;
} sc_job;

/* rows [lo, hi) of the innermost dim */
static void sc_rows(void *v, int64_t lo, int64_t hi)
{
    const sc_job *j = (const sc_job *)v;
    const sc_plan *p = j->p;
    const int last = p->nd - 1;
    const int64_t es = j->es;
    int64_t idx[SC_MAXD], so = 0, dof = 0, r = lo;
    for (int d = last - 1; d >= 0; d--) {
        idx[d] = r % p->dim[d];
        r /= p->dim[d];
        so += idx[d] * p->ss[d];
        dof += idx[d] * p->ds[d];
    }
    for (r = lo; r < hi; r++) {
        copy_row(es, j->src + so * es, p->ss[last], j->dst + dof * es, p->ds[last], p->dim[last]);
        for (int d = last - 1; d >= 0; d--) {
            so += p->ss[d];
            dof += p->ds[d];
            if (++idx[d] < p->dim[d]) break;
            so -= p->ss[d] * p->dim[d];
            dof -= p->ds[d] * p->dim[d];
            idx[d] = 0;
        }
    }
}

/* Simplifies p and copies; the destination positions must be distinct. */
static void sc_run(sc_plan *p, int64_t es, const void *src, void *dst)
{
    sc_job j;
    int64_t total = 1, rows;
    int nt;
    for (int d = 0; d < p->nd; d++) total *= p->dim[d];
    if (total == 0) return;
    sc_simplify(p);
    if (p->nd == 1 && p->ss[0] == 1 && p->ds[0] == 1) {
        par_memcpy(dst, src, total * es);
        return;
    }
    rows = total / p->dim[p->nd - 1];
    j.p = p;
    j.es = es;
    j.src = (const char *)src;
    j.dst = (char *)dst;
    nt = fg_threads_for(total);
    if (nt <= 1 || rows == 1)
        sc_rows(&j, 0, rows);
    else
        run_range(nt, rows, 1, sc_rows, &j);
}

static void c_strides(int ndim, const int64_t *shape, int64_t *str)
{
    int64_t s = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        str[d] = s;
        s *= shape[d];
    }
}

/* ------------------------------------------------------------------------ */
/* Transpose                                                                */

#define TR_TILE 32

typedef struct {
    const sc_plan *p;
    int q; /* the dim read with stride 1 */
    int64_t es, tp, tl, tiles;
    const char *src;
    char *dst;
} tr_job;

#define DEF_TILE(S, T)                                                        \
    static void tile_copy_##S(const char *s, int64_t sl, char *d, int64_t dq, \
                              int64_t ni, int64_t nj)                         \
    {                                                                         \
        const T *X = (const T *)s;                                            \
        T *O = (T *)d;                                                        \
        for (int64_t i = 0; i < ni; i++)                                      \
            for (int64_t j = 0; j < nj; j++) O[i * dq + j] = X[i + j * sl];   \
    }
DEF_TILE(1, uint8_t)
DEF_TILE(4, fg_u32)
DEF_TILE(8, fg_u64)

/* Tasks are (batch, tile) pairs; a tile is TR_TILE x TR_TILE elements of
 * the (q, last) plane, so both the strided reads and the writes stay in
 * a few cache lines. */
static void tr_tasks(void *v, int64_t lo, int64_t hi)
{
    const tr_job *j = (const tr_job *)v;
    const sc_plan *p = j->p;
    const int last = p->nd - 1, q = j->q;
    const int64_t es = j->es;
    for (int64_t t = lo; t < hi; t++) {
        int64_t b = t / j->tiles, tt = t % j->tiles;
        int64_t i0 = (tt / j->tl) * TR_TILE, j0 = (tt % j->tl) * TR_TILE;
        int64_t ni = p->dim[q] - i0 < TR_TILE ? p->dim[q] - i0 : TR_TILE;
        int64_t nj = p->dim[last] - j0 < TR_TILE ? p->dim[last] - j0 : TR_TILE;
        int64_t so = i0 * p->ss[q] + j0 * p->ss[last], dof = i0 * p->ds[q] + j0;
        const char *s;
        char *d;
        for (int dd = last - 1; dd >= 0; dd--) {
            if (dd == q) continue;
            so += (b % p->dim[dd]) * p->ss[dd];
            dof += (b % p->dim[dd]) * p->ds[dd];
            b /= p->dim[dd];
        }
        s = j->src + so * es;
        d = j->dst + dof * es;
        if (es == 4)
            tile_copy_4(s, p->ss[last], d, p->ds[q], ni, nj);
        else if (es == 8)
            tile_copy_8(s, p->ss[last], d, p->ds[q], ni, nj);
        else
            tile_copy_1(s, p->ss[last], d, p->ds[q], ni, nj);
    }
}

int transpose_impl(const char *fn, int64_t es, const void *x, int ndim,
                          const int64_t *shape, const int *perm, void *out)
{
    sc_plan p;
    int64_t istr[FG_MAX_NDIM], oshape[FG_MAX_NDIM], ostr[FG_MAX_NDIM], total;
    int seen[FG_MAX_NDIM] = {0};
    int q = -1;
    if (shape_size(fn, ndim, shape, &total)) return -1;
    for (int i = 0; i < ndim; i++) {
        if (perm[i] < 0 || perm[i] >= ndim || seen[perm[i]]) {
            fg_error_set(FG_ERR_INVALID, "%s: invalid permutation for %d dims", fn, ndim);
            return -1;
        }
        seen[perm[i]] = 1;
    }
    if (total == 0) return 0;
    c_strides(ndim, shape, istr);
    for (int i = 0; i < ndim; i++) oshape[i] = shape[perm[i]];
    c_strides(ndim, oshape, ostr);
    p.nd = ndim;
    for (int i = 0; i < ndim; i++) {
        p.dim[i] = oshape[i];
        p.ss[i] = istr[perm[i]];
        p.ds[i] = ostr[i];
    }
    sc_simplify(&p);
    for (int i = 0; i < p.nd - 1; i++)
        if (p.ss[i] == 1) q = i;
    if (p.ss[p.nd - 1] == 1 || q < 0) {
        sc_run(&p, es, x, out); /* rows stay contiguous: plain row copies */
    } else {
        tr_job j;
        int nt = fg_threads_for(total);
        j.p = &p;
        j.q = q;
        j.es = es;
        j.src = (const char *)x;
        j.dst = (char *)out;
        j.tp = (p.dim[q] + TR_TILE - 1) / TR_TILE;
        j.tl = (p.dim[p.nd - 1] + TR_TILE - 1) / TR_TILE;
        j.tiles = j.tp * j.tl;
        {
            int64_t ntasks = total / (p.dim[q] * p.dim[p.nd - 1]) * j.tiles;
            if (nt <= 1)
                tr_tasks(&j, 0, ntasks);
            else
                run_range(nt, ntasks, 1, tr_tasks, &j);
        }
    }
    return 0;
}

int fg_k_transpose(int dtype, const void *x, int ndim, const int64_t *shape, const int *perm,
                   void *out)
{
    int64_t es = dt_size(dtype);
    if (!es) return err_dtype("transpose", dtype);
    return transpose_impl("transpose", es, x, ndim, shape, perm, out);
}

/* ------------------------------------------------------------------------ */
/* slice, slice_scatter, concat, tile                                       */

/* Every taken index must lie in [0, shape). */
static int check_slice(const char *fn, int ndim, const int64_t *shape, const int64_t *start,
                       const int64_t *step, const int64_t *len, int allow_zero_step,
                       int *empty)
{
    *empty = 0;
    if (ndim < 0 || ndim > FG_MAX_NDIM) {
        fg_error_set(FG_ERR_INVALID, "%s: ndim %d out of range", fn, ndim);
        return -1;
    }
    for (int d = 0; d < ndim; d++) {
        if (len[d] < 0 || shape[d] < 0) goto bad;
        if (len[d] == 0) *empty = 1;
    }
    if (*empty) return 0;
    for (int d = 0; d < ndim; d++) {
        int64_t st = step[d], span;
        if (start[d] < 0 || start[d] >= shape[d]) goto bad;
        if (len[d] == 1) continue;
        if (st == 0) {
            if (allow_zero_step) continue;
            goto bad;
        }
        if (st < -INT64_MAX) goto bad;
        span = st < 0 ? -st : st;
        if (len[d] - 1 > (shape[d] - 1) / span) goto bad;
        if (st > 0 ? start[d] + (len[d] - 1) * st >= shape[d] : start[d] + (len[d] - 1) * st < 0)
            goto bad;
    }
    return 0;
bad:
    fg_error_set(FG_ERR_INVALID, "%s: slice out of bounds for shape %s", fn,
                 fg_shape_str(ndim, shape));
    return -1;
}

int fg_k_slice(int dtype, const void *x, int ndim, const int64_t *shape, const int64_t *start,
               const int64_t *step, const int64_t *len, void *out)
{
    sc_plan p;
    int64_t istr[FG_MAX_NDIM], ostr[FG_MAX_NDIM], es = dt_size(dtype), off = 0;
    int empty;
    if (!es) return err_dtype("slice", dtype);
    if (check_slice("slice", ndim, shape, start, step, len, 1, &empty)) return -1;
    if (empty) return 0;
    c_strides(ndim, shape, istr);
    c_strides(ndim, len, ostr);
    p.nd = ndim;
    for (int d = 0; d < ndim; d++) {
        off += start[d] * istr[d];
        p.dim[d] = len[d];
        p.ss[d] = step[d] * istr[d];
        p.ds[d] = ostr[d];
    }
    if (ndim == 0) {
        p.nd = 1;
        p.dim[0] = 1;
        p.ss[0] = p.ds[0] = 1;
    }
    sc_run(&p, es, (const char *)x + off * es, out);
    return 0;
}

int fg_k_slice_scatter(int dtype, const void *g, int ndim, const int64_t *shape,
                       const int64_t *start, const int64_t *step, const int64_t *len, void *out)
{
    sc_plan p;
    int64_t istr[FG_MAX_NDIM], gstr[FG_MAX_NDIM], es = dt_size(dtype), off = 0, total;
    int empty;
    if (!es) return err_dtype("slice_scatter", dtype);
    if (check_slice("slice_scatter", ndim, shape, start, step, len, 0, &empty)) return -1;
    if (shape_size("slice_scatter", ndim, shape, &total)) return -1;
    par_memzero(out, total * es);
    if (empty) return 0;
    c_strides(ndim, shape, istr);
    c_strides(ndim, len, gstr);
    p.nd = ndim;
    for (int d = 0; d < ndim; d++) {
        off += start[d] * istr[d];
        p.dim[d] = len[d];
        p.ss[d] = gstr[d];
        p.ds[d] = step[d] * istr[d];
    }
    if (ndim == 0) {
        p.nd = 1;
        p.dim[0] = 1;
        p.ss[0] = p.ds[0] = 1;
    }
    sc_run(&p, es, g, (char *)out + off * es);
    return 0;
}

int fg_k_concat(int dtype, int n, const void *const *inputs, int ndim,
                const int64_t *const *in_shapes, int axis, void *out)
{
    int64_t es = dt_size(dtype), oshape[FG_MAX_NDIM], ostr[FG_MAX_NDIM], axis_off = 0, sz;
    if (!es) return err_dtype("concat", dtype);
    if (ndim < 1 || ndim > FG_MAX_NDIM || axis < 0 || axis >= ndim || n < 0) {
        fg_error_set(FG_ERR_INVALID, "concat: bad axis %d for %d dims", axis, ndim);
        return -1;
    }
    if (n == 0) return 0;
    for (int i = 0; i < n; i++) {
        if (shape_size("concat", ndim, in_shapes[i], &sz)) return -1;
        for (int d = 0; d < ndim; d++) {
            if (d != axis && in_shapes[i][d] != in_shapes[0][d]) {
                fg_error_set(FG_ERR_INVALID, "concat: shapes %s and %s differ off axis %d",
                             fg_shape_str(ndim, in_shapes[0]), fg_shape_str(ndim, in_shapes[i]),
                             axis);
                return -1;
            }
        }
    }
    memcpy(oshape, in_shapes[0], sizeof(int64_t) * (size_t)ndim);
    oshape[axis] = 0;
    for (int i = 0; i < n; i++) oshape[axis] += in_shapes[i][axis];
    c_strides(ndim, oshape, ostr);
    /* Each input is a strided copy into its window of out; sc_run splits
     * the rows (or a single long copy) across threads. */
    for (int i = 0; i < n; i++) {
        sc_plan p;
        int64_t istr[FG_MAX_NDIM];
        c_strides(ndim, in_shapes[i], istr);
        p.nd = ndim;
        for (int d = 0; d < ndim; d++) {
            p.dim[d] = in_shapes[i][d];
            p.ss[d] = istr[d];
            p.ds[d] = ostr[d];
        }
        sc_run(&p, es, inputs[i], (char *)out + axis_off * ostr[axis] * es);
        axis_off += in_shapes[i][axis];
    }
    return 0;
}

int fg_k_tile(int dtype, const void *x, int ndim, const int64_t *shape, const int64_t *multiples,
              void *out)
{
    sc_plan p;
    int64_t es = dt_size(dtype), istr[FG_MAX_NDIM], oshape[FG_MAX_NDIM], ostr[FG_MAX_NDIM], sz;
    if (!es) return err_dtype("tile", dtype);
    if (shape_size("tile", ndim, shape, &sz)) return -1;
    for (int d = 0; d < ndim; d++) {
        if (multiples[d] < 0) {
            fg_error_set(FG_ERR_INVALID, "tile: negative multiple");
            return -1;
        }
        oshape[d] = shape[d] * multiples[d];
    }
    c_strides(ndim, shape, istr);
    c_strides(ndim, oshape, ostr);
    /* out viewed as [m0, s0, m1, s1, ...]: the m dims do not move in x */
    p.nd = 2 * ndim;
    for (int d = 0; d < ndim; d++) {
        p.dim[2 * d] = multiples[d];
        p.ss[2 * d] = 0;
        p.ds[2 * d] = shape[d] * ostr[d];
        p.dim[2 * d + 1] = shape[d];
        p.ss[2 * d + 1] = istr[d];
        p.ds[2 * d + 1] = ostr[d];
    }
    if (ndim == 0) {
        p.nd = 1;
        p.dim[0] = 1;
        p.ss[0] = p.ds[0] = 1;
    }
    sc_run(&p, es, x, out);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* gather, gather_scatter                                                   */

static inline int64_t idx_at(const void *idx, int i32, int64_t i)
{
    return i32 ? (int64_t)((const int32_t *)idx)[i] : ((const int64_t *)idx)[i];
}

static int gather_check(const char *fn, int ndim, const int64_t *shape, int axis, int idx_dtype,
                        const void *indices, int64_t nidx, int64_t *outer, int64_t *inner)
{
    int64_t sz, A;
    if (shape_size(fn, ndim, shape, &sz)) return -1;
    if (axis < 0 || axis >= ndim) {
        fg_error_set(FG_ERR_INVALID, "%s: axis %d out of range for %d dims", fn, axis, ndim);
        return -1;
    }
    if (idx_dtype != FG_I32 && idx_dtype != FG_I64) return err_dtype(fn, idx_dtype);
    if (nidx < 0) {
        fg_error_set(FG_ERR_INVALID, "%s: negative index count", fn);
        return -1;
    }
    A = shape[axis];
    for (int64_t i = 0; i < nidx; i++) {
        int64_t v = idx_at(indices, idx_dtype == FG_I32, i);
        if (v < 0 || v >= A) {
            fg_error_set(FG_ERR_INVALID, "%s: index %lld out of range [0, %lld)", fn,
                         (long long)v, (long long)A);
            return -1;
        }
    }
    *outer = 1;
    *inner = 1;
    for (int d = 0; d < axis; d++) *outer *= shape[d];
    for (int d = axis + 1; d < ndim; d++) *inner *= shape[d];
    return 0;
}

typedef struct {
    int64_t es, A, inner, nidx, nic;
    int i32;
    const void *idx;
    const char *src;
    char *dst;
    int dtype;
} ga_job;

/* output rows [lo, hi) of [outer * nidx, inner] */
static void gather_rows(void *v, int64_t lo, int64_t hi)
{
    const ga_job *j = (const ga_job *)v;
    const int64_t es = j->es, inner = j->inner, nidx = j->nidx;
    for (int64_t r = lo; r < hi; r++) {
        int64_t o = r / nidx, i = r % nidx;
        int64_t src = (o * j->A + idx_at(j->idx, j->i32, i)) * inner;
        copy_row(es, j->src + src * es, 1, j->dst + r * inner * es, 1, inner);
    }
}

int fg_k_gather(int dtype, const void *params, int ndim, const int64_t *shape, int axis,
                int idx_dtype, const void *indices, int64_t nidx, void *out)
{
    ga_job j;
    int64_t outer, inner, es = dt_size(dtype);
    int nt;
    if (!es) return err_dtype("gather", dtype);
    if (gather_check("gather", ndim, shape, axis, idx_dtype, indices, nidx, &outer, &inner))
        return -1;
    if (outer * nidx * inner == 0) return 0;
    j.es = es;
    j.A = shape[axis];
    j.inner = inner;
    j.nidx = nidx;
    j.i32 = idx_dtype == FG_I32;
    j.idx = indices;
    j.src = (const char *)params;
    j.dst = (char *)out;
    nt = fg_threads_for(outer * nidx * inner);
    if (nt <= 1)
        gather_rows(&j, 0, outer * nidx);
    else
        run_range(nt, outer * nidx, 1, gather_rows, &j);
    return 0;
}

#define DEF_ADD_ROW(S, T, ADD)                                                \
    static void add_row_##S(char *dv, const char *sv, int64_t n)              \
    {                                                                         \
        T *d = (T *)dv;                                                       \
        const T *s = (const T *)sv;                                           \
        FG_SIMD for (int64_t i = 0; i < n; i++) d[i] = ADD(d[i], s[i]);       \
    }
DEF_ADD_ROW(f32, float, R_ADD)
DEF_ADD_ROW(f64, double, R_ADD)
DEF_ADD_ROW(i32, int32_t, R_ADD_I32)
DEF_ADD_ROW(i64, int64_t, R_ADD_I64)

/* Task t = o * nic + c: outer slice o, inner columns chunk c. Every task
 * walks all indices in order, so each output element accumulates its
 * duplicates in index order regardless of how tasks are split. */
static void gscatter_tasks(void *v, int64_t lo, int64_t hi)
{
    const ga_job *j = (const ga_job *)v;
    const int64_t es = j->es, inner = j->inner, nidx = j->nidx;
    for (int64_t t = lo; t < hi; t++) {
        int64_t o = t / j->nic, c = t % j->nic;
        int64_t c0 = inner * c / j->nic, c1 = inner * (c + 1) / j->nic;
        for (int64_t i = 0; i < nidx; i++) {
            char *d = j->dst + ((o * j->A + idx_at(j->idx, j->i32, i)) * inner + c0) * es;
            const char *s = j->src + ((o * nidx + i) * inner + c0) * es;
            switch (j->dtype) {
            case FG_F32: add_row_f32(d, s, c1 - c0); break;
            case FG_F64: add_row_f64(d, s, c1 - c0); break;
            case FG_I32: add_row_i32(d, s, c1 - c0); break;
            default: add_row_i64(d, s, c1 - c0); break;
            }
        }
    }
}

int fg_k_gather_scatter(int dtype, const void *g, int ndim, const int64_t *shape, int axis,
                        int idx_dtype, const void *indices, int64_t nidx, void *out)
{
    ga_job j;
    int64_t outer, inner, total, es = dt_size(dtype);
    int nt;
    if (!is_num(dtype)) return err_dtype("gather_scatter", dtype);
    if (gather_check("gather_scatter", ndim, shape, axis, idx_dtype, indices, nidx, &outer,
                     &inner))
        return -1;
    total = outer * shape[axis] * inner;
    par_memzero(out, total * es);
    if (total == 0 || nidx == 0) return 0;
    j.es = es;
    j.A = shape[axis];
    j.inner = inner;
    j.nidx = nidx;
    j.i32 = idx_dtype == FG_I32;
    j.idx = indices;
    j.src = (const char *)g;
    j.dst = (char *)out;
    j.dtype = dtype;
    j.nic = 1;
    nt = fg_threads_for(outer * nidx * inner);
    /* too few outer slices to keep the threads busy: split columns too,
     * keeping chunks wide enough to stay vectorised */
    if (nt > 1 && outer < nt) {
        int64_t want = (nt + outer - 1) / outer, maxc = inner / 64;
        j.nic = want < maxc ? want : (maxc > 0 ? maxc : 1);
    }
    if (nt <= 1)
        gscatter_tasks(&j, 0, outer * j.nic);
    else
        run_range(nt, outer * j.nic, 1, gscatter_tasks, &j);
    return 0;
}
