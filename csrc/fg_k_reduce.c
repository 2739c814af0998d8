/* fg_k_reduce.c: reductions (sum, max, min, prod, any, all) and the fused
 * reduce_sum(x * y); their order of operations is described below. */
#include "fg_kernels_impl.h"

/* ------------------------------------------------------------------------ */
/* Reductions                                                               */

/* Order of operations (fixed by the shape alone, never by thread count):
 * - A contiguous run of R elements is cut into blocks of FG_REDUCE_BLOCK;
 *   each block is reduced pairwise (halving down to runs of <= PW_BASE,
 *   which use 8 interleaved accumulators); the block results are then
 *   combined pairwise in index order. Threads only pick which blocks they
 *   compute.
 * - Reducing over rows of a [R, K] matrix (vectorised across K): rows are
 *   cut into blocks of RED_ROW_BLOCK rows, reduced pairwise by halving
 *   down to ROW_BASE rows, and the block results combined pairwise.
 * - Several reduced groups of axes (e.g. [R1, K, R2]) are reduced one
 *   group at a time, innermost first, each step one of the above into a
 *   scratch buffer that is R times smaller; no transposed copy is made.
 * float32 sums accumulate in float32: pairwise summation keeps the error
 * O(log n) ulps, which matches TF's float32 results to tolerance at full
 * SIMD width. MAX/MIN/ANY/ALL do not depend on order at all (any NaN gives
 * NaN for MAX/MIN).
 */
#define PW_BASE 128
#define ROW_BASE 8
#define RED_CW 256           /* columns per task in the row-reduction path */
#define RED_ROW_BLOCK 256    /* rows per block in the row-reduction path */

typedef void (*red_run_fn)(const void *x, int64_t n, void *out);
typedef void (*red_cols_fn)(const void *x, int64_t nrows, int64_t rs, int64_t w, void *acc);

typedef void (*red_rows_fn)(const void *x, int64_t K, int64_t R, void *out);

typedef struct {
    red_run_fn run;   /* *out = reduce(x[0..n)), n >= 1 */
    red_rows_fn rows; /* out[i] = run(x[i*R .. (i+1)*R)) for i < K: no call per row */
    red_cols_fn cols; /* acc[j] = reduce_r x[r*rs + j], nrows >= 1, w <= RED_CW */
} red_ops;

/* Base case: a run reduced with 8 interleaved accumulators. INIT maps an
 * element to an accumulator (bool: normalise to 0/1). */
#define DEF_RED8(NAME, T, COMB, INIT)                                         \
    static inline T red8_##NAME(const T *x, int64_t n)                        \
    {                                                                         \
        T r[8], s;                                                            \
        int64_t i;                                                            \
        if (n < 8) {                                                          \
            s = INIT(x[0]);                                                   \
            for (i = 1; i < n; i++) s = COMB(s, x[i]);                        \
            return s;                                                         \
        }                                                                     \
        for (int k = 0; k < 8; k++) r[k] = INIT(x[k]);                        \
        for (i = 8; i + 8 <= n; i += 8)                                       \
            for (int k = 0; k < 8; k++) r[k] = COMB(r[k], x[i + k]);          \
        s = COMB(COMB(COMB(r[0], r[1]), COMB(r[2], r[3])),                    \
                 COMB(COMB(r[4], r[5]), COMB(r[6], r[7])));                   \
        for (; i < n; i++) s = COMB(s, x[i]);                                 \
        return s;                                                             \
    }

/* Float max/min base case: the compare-select reduction vectorises (to
 * maxps/minps) only without the NaN test in the chain, so NaNs are
 * tracked by a separate flag. */
#ifdef _OPENMP
#define FG_SIMD_MAXRED _Pragma("omp simd reduction(max:m) reduction(|:nan)")
#define FG_SIMD_MINRED _Pragma("omp simd reduction(min:m) reduction(|:nan)")
#else
#define FG_SIMD_MAXRED
#define FG_SIMD_MINRED
#endif
#define DEF_RED8_FMINMAX(NAME, T, CMP, PRAGMA)                                \
    static inline T red8_##NAME(const T *x, int64_t n)                        \
    {                                                                         \
        T m = x[0];                                                           \
        int nan = 0;                                                          \
        PRAGMA for (int64_t i = 0; i < n; i++) {                              \
            const T v = x[i];                                                 \
            m = v CMP m ? v : m;                                              \
            nan |= v != v;                                                    \
        }                                                                     \
        return nan ? (T)NAN : m;                                              \
    }

/* The rest, given red8_NAME. PW selects pairwise (SUM/PROD) over a linear
 * scan (MAX/MIN/ANY/ALL, where order does not matter). */
#define DEF_RED_REST(NAME, T, COMB, INIT, PW)                                 \
    static T pw_##NAME(const T *x, int64_t n)                                 \
    {                                                                         \
        int64_t h = n / 2;                                                    \
        if (n <= PW_BASE) return red8_##NAME(x, n);                           \
        h -= h % 8;                                                           \
        return COMB(pw_##NAME(x, h), pw_##NAME(x + h, n - h));                \
    }                                                                         \
    static inline T run1_##NAME(const T *x, int64_t n)                        \
    {                                                                         \
        return (!(PW) || n <= PW_BASE) ? red8_##NAME(x, n) : pw_##NAME(x, n); \
    }                                                                         \
    static void run_##NAME(const void *x, int64_t n, void *out)               \
    {                                                                         \
        *(T *)out = run1_##NAME((const T *)x, n);                             \
    }                                                                         \
    static void rows_##NAME(const void *xv, int64_t K, int64_t R, void *outv) \
    {                                                                         \
        const T *x = (const T *)xv;                                           \
        T *out = (T *)outv;                                                   \
        for (int64_t i = 0; i < K; i++) out[i] = run1_##NAME(x + i * R, R);   \
    }                                                                         \
    static void cols_##NAME(const void *xv, int64_t nr, int64_t rs, int64_t w, \
                            void *accv)                                       \
    {                                                                         \
        const T *x = (const T *)xv;                                           \
        T *acc = (T *)accv;                                                   \
        T tmp[RED_CW];                                                        \
        int64_t h;                                                            \
        if (!(PW) || nr <= ROW_BASE) {                                        \
            FG_SIMD for (int64_t j = 0; j < w; j++) acc[j] = INIT(x[j]);      \
            for (int64_t r = 1; r < nr; r++) {                                \
                const T *xr = x + r * rs;                                     \
                FG_SIMD for (int64_t j = 0; j < w; j++) acc[j] = COMB(acc[j], xr[j]); \
            }                                                                 \
            return;                                                           \
        }                                                                     \
        h = nr / 2;                                                           \
        cols_##NAME(x, h, rs, w, acc);                                        \
        cols_##NAME(x + h * rs, nr - h, rs, w, tmp);                          \
        FG_SIMD for (int64_t j = 0; j < w; j++) acc[j] = COMB(acc[j], tmp[j]); \
    }

#define DEF_RED(NAME, T, COMB, INIT, PW)                                      \
    DEF_RED8(NAME, T, COMB, INIT)                                             \
    DEF_RED_REST(NAME, T, COMB, INIT, PW)

/* float sums start from +0 as TF's (Eigen's) do: a sum of -0.0s is +0.0 */
#define R_POS0(v) ((v) + 0.0f)
DEF_RED(sum_f32, float, R_ADD, R_POS0, 1)
DEF_RED(sum_f64, double, R_ADD, R_POS0, 1)
DEF_RED(sum_i32, int32_t, R_ADD_I32, R_ID, 1)
DEF_RED(sum_i64, int64_t, R_ADD_I64, R_ID, 1)
DEF_RED(prod_f32, float, R_MUL, R_ID, 1)
DEF_RED(prod_f64, double, R_MUL, R_ID, 1)
DEF_RED(prod_i32, int32_t, R_MUL_I32, R_ID, 1)
DEF_RED(prod_i64, int64_t, R_MUL_I64, R_ID, 1)
DEF_RED8_FMINMAX(max_f32, float, >, FG_SIMD_MAXRED)
DEF_RED_REST(max_f32, float, R_MAXF, R_ID, 0)
DEF_RED8_FMINMAX(max_f64, double, >, FG_SIMD_MAXRED)
DEF_RED_REST(max_f64, double, R_MAXF, R_ID, 0)
DEF_RED(max_i32, int32_t, R_MAXI, R_ID, 0)
DEF_RED(max_i64, int64_t, R_MAXI, R_ID, 0)
DEF_RED8_FMINMAX(min_f32, float, <, FG_SIMD_MINRED)
DEF_RED_REST(min_f32, float, R_MINF, R_ID, 0)
DEF_RED8_FMINMAX(min_f64, double, <, FG_SIMD_MINRED)
DEF_RED_REST(min_f64, double, R_MINF, R_ID, 0)
DEF_RED(min_i32, int32_t, R_MINI, R_ID, 0)
DEF_RED(min_i64, int64_t, R_MINI, R_ID, 0)
DEF_RED(any_b, uint8_t, R_OR, R_BOOL, 0)
DEF_RED(all_b, uint8_t, R_AND, R_BOOL, 0)

#define RO(name) { run_##name, rows_##name, cols_##name }
#define RO_FI(k) { [FG_F32] = RO(k##_f32), [FG_F64] = RO(k##_f64), [FG_I32] = RO(k##_i32), [FG_I64] = RO(k##_i64) }

static const red_ops red_table[FG_R_NKINDS][FG_NDTYPES] = {
    [FG_R_SUM] = RO_FI(sum),
    [FG_R_MAX] = RO_FI(max),
    [FG_R_MIN] = RO_FI(min),
    [FG_R_PROD] = RO_FI(prod),
    [FG_R_ANY] = { [FG_BOOL] = RO(any_b) },
    [FG_R_ALL] = { [FG_BOOL] = RO(all_b) },
};

static const char *const red_names[FG_R_NKINDS] = {"reduce_sum", "reduce_max", "reduce_min",
                                                   "reduce_prod", "reduce_any", "reduce_all"};

static void red_identity(int kind, int dtype, void *out, int64_t n)
{
    union {
        float f;
        double d;
        int32_t i;
        int64_t l;
        uint8_t b;
    } v;
    v.l = 0;
    switch (dtype) {
    case FG_F32:
        v.f = kind == FG_R_SUM ? 0.0f : kind == FG_R_PROD ? 1.0f : kind == FG_R_MAX ? -INFINITY : INFINITY;
        break;
    case FG_F64:
        v.d = kind == FG_R_SUM ? 0.0 : kind == FG_R_PROD ? 1.0 : kind == FG_R_MAX ? -INFINITY : INFINITY;
        break;
    case FG_I32:
        v.i = kind == FG_R_SUM ? 0 : kind == FG_R_PROD ? 1 : kind == FG_R_MAX ? INT32_MIN : INT32_MAX;
        break;
    case FG_I64:
        v.l = kind == FG_R_SUM ? 0 : kind == FG_R_PROD ? 1 : kind == FG_R_MAX ? INT64_MIN : INT64_MAX;
        break;
    default:
        v.b = kind == FG_R_ALL;
        break;
    }
    fill_bytes(out, &v, n, dt_size(dtype));
}

/* Products for the fused reduce_sum(x * y): o[i] = x[i] * y[i], rounded to
 * the dtype as the elementwise multiply rounds them. */
typedef void (*red_mul_fn)(const void *x, const void *y, int64_t n, void *o);
#define DEF_RED_MUL(NAME, T)                                                  \
    static void NAME(const void *xv, const void *yv, int64_t n, void *ov)     \
    {                                                                         \
        const T *X = (const T *)xv, *Y = (const T *)yv;                       \
        T *O = (T *)ov;                                                       \
        FG_SIMD for (int64_t i = 0; i < n; i++) O[i] = X[i] * Y[i];           \
    }
DEF_RED_MUL(red_mul_f32, float)
DEF_RED_MUL(red_mul_f64, double)

typedef struct {
    const red_ops *ops;
    int64_t es;
    const char *x;
    const char *y;   /* NULL, or the second factor of a fused reduce_sum(x * y) */
    red_mul_fn mul;
    char *tiles;     /* fused middle path: one tile per thread */
    int par;         /* running under run_range (tiles indexed by thread) */
    char *out, *part;
    int64_t K, R, nb, K1, K2, nc, nbr;
} red_job;

/* The fused product goes through a small buffer, block by block (at most
 * FG_REDUCE_BLOCK elements on the stack, or a per-thread tile of one
 * middle-path task), and the reducer then sees exactly what it would have
 * read from a materialised product: same values, same order, same bits. */

/* Suffix path, phase 1 when every row is one block: out[i] = run(row i). */
static void suf_rows(void *v, int64_t lo, int64_t hi)
{
    const red_job *j = (const red_job *)v;
    uint64_t tmp[FG_REDUCE_BLOCK]; /* one row: R <= FG_REDUCE_BLOCK here */
    if (!j->y) {
        j->ops->rows(j->x + lo * j->R * j->es, hi - lo, j->R, j->out + lo * j->es);
        return;
    }
    for (int64_t i = lo; i < hi; i++) {
        j->mul(j->x + i * j->R * j->es, j->y + i * j->R * j->es, j->R, tmp);
        j->ops->run(tmp, j->R, j->out + i * j->es);
    }
}

/* Suffix path, phase 1 with several blocks per row: task t = row*nb + b. */
static void suf_blocks(void *v, int64_t lo, int64_t hi)
{
    const red_job *j = (const red_job *)v;
    for (int64_t t = lo; t < hi; t++) {
        int64_t i = t / j->nb, b = t % j->nb, off = b * FG_REDUCE_BLOCK;
        int64_t len = j->R - off < FG_REDUCE_BLOCK ? j->R - off : FG_REDUCE_BLOCK;
        const char *src = j->x + (i * j->R + off) * j->es;
        uint64_t tmp[FG_REDUCE_BLOCK];
        if (j->y) {
            j->mul(src, j->y + (i * j->R + off) * j->es, len, tmp);
            src = (const char *)tmp;
        }
        j->ops->run(src, len, j->part + t * j->es);
    }
}

/* Suffix path, phase 2: combine each row's block results. */
static void suf_combine(void *v, int64_t lo, int64_t hi)
{
    const red_job *j = (const red_job *)v;
    for (int64_t i = lo; i < hi; i++)
        j->ops->run(j->part + i * j->nb * j->es, j->nb, j->out + i * j->es);
}

/* out[i] = reduce(x[i, :]) for x of shape [K, R]. */
static int red_suffix(const red_ops *ops, int64_t es, const char *x, const char *y,
                      red_mul_fn mul, int64_t K, int64_t R, char *out)
{
    red_job j;
    int nt = fg_threads_for(K * R);
    memset(&j, 0, sizeof j);
    j.ops = ops;
    j.es = es;
    j.x = x;
    j.y = y;
    j.mul = mul;
    j.out = out;
    j.K = K;
    j.R = R;
    j.nb = (R + FG_REDUCE_BLOCK - 1) / FG_REDUCE_BLOCK;
    if (j.nb == 1) {
        if (nt <= 1)
            suf_rows(&j, 0, K);
        else
            run_range(nt, K, 1, suf_rows, &j);
        return 0;
    }
    j.part = (char *)malloc((size_t)(K * j.nb * es));
    if (!j.part) return err_nomem("reduce");
    if (nt <= 1)
        suf_blocks(&j, 0, K * j.nb);
    else
        run_range(nt, K * j.nb, 1, suf_blocks, &j);
    nt = fg_threads_for(K * j.nb);
    if (nt <= 1)
        suf_combine(&j, 0, K);
    else
        run_range(nt, K, 1, suf_combine, &j);
    free(j.part);
    return 0;
}

/* Middle path, phase 1: task t = ((o * nbr) + rb) * nc + c reduces row
 * block rb of column chunk c of outer slice o, into out directly when
 * there is one row block, else into the partials [K1, nbr, K2]. */
static void mid_blocks(void *v, int64_t lo, int64_t hi)
{
    const red_job *j = (const red_job *)v;
    const int64_t es = j->es, K2 = j->K2;
    /* fused product: this thread's tile (a task's rows x columns, up to
     * 256 x 256, stays in L2), filled a contiguous row of up to RED_CW
     * elements at a time */
    char *tile = j->y ? j->tiles + (j->par ? fg_thread_index() : 0) * RED_ROW_BLOCK * RED_CW * es
                      : NULL;
    for (int64_t t = lo; t < hi; t++) {
        int64_t c = t % j->nc, rb = (t / j->nc) % j->nbr, o = t / (j->nc * j->nbr);
        int64_t j0 = c * RED_CW, w = K2 - j0 < RED_CW ? K2 - j0 : RED_CW;
        int64_t r0 = rb * RED_ROW_BLOCK, nr = j->R - r0 < RED_ROW_BLOCK ? j->R - r0 : RED_ROW_BLOCK;
        const int64_t off = (o * j->R + r0) * K2 + j0;
        char *dst = j->nbr == 1 ? j->out + (o * K2 + j0) * es
                                : j->part + ((o * j->nbr + rb) * K2 + j0) * es;
        if (!j->y) {
            j->ops->cols(j->x + off * es, nr, K2, w, dst);
            continue;
        }
        for (int64_t r = 0; r < nr; r++)
            j->mul(j->x + (off + r * K2) * es, j->y + (off + r * K2) * es, w, tile + r * w * es);
        j->ops->cols(tile, nr, w, w, dst);
    }
}

/* Middle path, phase 2: task t = o * nc + c combines the row blocks. */
static void mid_combine(void *v, int64_t lo, int64_t hi)
{
    const red_job *j = (const red_job *)v;
    const int64_t es = j->es, K2 = j->K2;
    for (int64_t t = lo; t < hi; t++) {
        int64_t c = t % j->nc, o = t / j->nc;
        int64_t j0 = c * RED_CW, w = K2 - j0 < RED_CW ? K2 - j0 : RED_CW;
        j->ops->cols(j->part + (o * j->nbr * K2 + j0) * es, j->nbr, K2, w,
                     j->out + (o * K2 + j0) * es);
    }
}

/* out[o, k] = reduce_r x[o, r, k] for x of shape [K1, R, K2]. */
static int red_middle(const red_ops *ops, int64_t es, const char *x, const char *y,
                      red_mul_fn mul, int64_t K1, int64_t R, int64_t K2, char *out)
{
    red_job j;
    int nt = fg_threads_for(K1 * R * K2);
    int64_t ntasks;
    memset(&j, 0, sizeof j);
    j.ops = ops;
    j.es = es;
    j.x = x;
    j.y = y;
    j.mul = mul;
    j.out = out;
    j.K1 = K1;
    j.R = R;
    j.K2 = K2;
    j.nc = (K2 + RED_CW - 1) / RED_CW;
    j.nbr = (R + RED_ROW_BLOCK - 1) / RED_ROW_BLOCK;
    ntasks = K1 * j.nbr * j.nc;
    j.par = nt > 1;
    if (y) {
        j.tiles = (char *)malloc((size_t)((nt > 1 ? nt : 1) * RED_ROW_BLOCK * RED_CW * es));
        if (!j.tiles) return err_nomem("reduce");
    }
    if (j.nbr > 1) {
        j.part = (char *)malloc((size_t)(K1 * j.nbr * K2 * es));
        if (!j.part) {
            free(j.tiles);
            return err_nomem("reduce");
        }
    }
    if (nt <= 1)
        mid_blocks(&j, 0, ntasks);
    else
        run_range(nt, ntasks, 1, mid_blocks, &j);
    free(j.tiles);
    if (j.nbr > 1) {
        nt = fg_threads_for(K1 * j.nbr * K2);
        if (nt <= 1)
            mid_combine(&j, 0, K1 * j.nc);
        else
            run_range(nt, K1 * j.nc, 1, mid_combine, &j);
        free(j.part);
    }
    return 0;
}

/* fg_k_reduce, and with y != NULL the fused reduce_sum(x * y): the
 * product enters only the first step (the innermost reduced group). */
static int reduce_impl(int kind, int dtype, const void *x, const void *y, red_mul_fn mul,
                       int ndim, const int64_t *shape, const uint8_t *reduce_mask, void *out)
{
    const red_ops *ops;
    int64_t es = dt_size(dtype), total = 1, outn = 1;
    int64_t gsize[FG_MAX_NDIM];
    uint8_t gred[FG_MAX_NDIM];
    int g = 0, nred = 0;
    if (!es) return err_dtype("reduce", dtype);
    if (kind < 0 || kind >= FG_R_NKINDS) {
        fg_error_set(FG_ERR_INVALID, "reduce: unknown kind %d", kind);
        return -1;
    }
    ops = &red_table[kind][dtype];
    if (!ops->run) return err_kind("reduce", red_names[kind], dtype);
    if (shape_size("reduce", ndim, shape, &total)) return -1;
    for (int d = 0; d < ndim; d++)
        if (!reduce_mask[d]) outn *= shape[d];
    if (outn == 0) return 0;
    if (total == 0) {
        red_identity(kind, dtype, out, outn);
        return 0;
    }
    /* 1-dims do not matter; neighbours reduced (or kept) alike merge */
    for (int d = 0; d < ndim; d++) {
        uint8_t r = reduce_mask[d] != 0;
        if (shape[d] == 1) continue;
        if (g > 0 && gred[g - 1] == r) {
            gsize[g - 1] *= shape[d];
        } else {
            gsize[g] = shape[d];
            gred[g] = r;
            g++;
        }
    }
    for (int i = 0; i < g; i++) nred += gred[i];
    if (nred == 0) {
        /* nothing to reduce: a copy (bool normalised by the reducer), or
         * for the fused form the product itself */
        if (kind == FG_R_ANY || kind == FG_R_ALL || y)
            return red_suffix(ops, es, (const char *)x, (const char *)y, mul, total, 1, (char *)out);
        par_memcpy(out, x, total * es);
        return 0;
    }
    {
        /* Reduce one group at a time, innermost reduced group first. Each
         * step is a suffix ([K, R]) or middle ([K1, R, K2]) reduction that
         * shrinks the data by R, so no transposed copy is ever made; the
         * order of operations still depends on the shape alone. */
        const char *cur = (const char *)x;
        char *prev = NULL; /* scratch holding cur, freed after the next step */
        int64_t cursize = total;
        int rc = 0;
        while (nred > 0) {
            int i = g - 1;
            int64_t K1 = 1, K2 = 1, R;
            char *dst;
            while (!gred[i]) i--;
            for (int k = 0; k < i; k++) K1 *= gsize[k];
            for (int k = i + 1; k < g; k++) K2 *= gsize[k];
            R = gsize[i];
            cursize /= R;
            dst = nred == 1 ? (char *)out : (char *)malloc((size_t)(cursize * es));
            if (!dst) {
                rc = err_nomem("reduce");
                break;
            }
            {
                const char *cy = cur == (const char *)x ? (const char *)y : NULL;
                rc = K2 == 1 ? red_suffix(ops, es, cur, cy, mul, K1, R, dst)
                             : red_middle(ops, es, cur, cy, mul, K1, R, K2, dst);
            }
            free(prev);
            prev = nred == 1 ? NULL : dst;
            cur = dst;
            if (rc) break;
            /* drop group i; the kept groups on either side become one */
            if (i > 0 && i < g - 1) {
                gsize[i - 1] *= gsize[i + 1];
                for (int k = i; k + 2 < g; k++) {
                    gsize[k] = gsize[k + 2];
                    gred[k] = gred[k + 2];
                }
                g -= 2;
            } else {
                for (int k = i; k + 1 < g; k++) {
                    gsize[k] = gsize[k + 1];
                    gred[k] = gred[k + 1];
                }
                g -= 1;
            }
            nred--;
        }
        free(prev);
        return rc;
    }
}

int fg_k_reduce(int kind, int dtype, const void *x, int ndim, const int64_t *shape,
                const uint8_t *reduce_mask, void *out)
{
    return reduce_impl(kind, dtype, x, NULL, NULL, ndim, shape, reduce_mask, out);
}

int fg_k_reduce_sum_mul(int dtype, const void *x, const void *y, int ndim, const int64_t *shape,
                        const uint8_t *reduce_mask, void *out)
{
    if (dtype != FG_F32 && dtype != FG_F64) return err_kind("reduce_sum_mul", "the fused product", dtype);
    return reduce_impl(FG_R_SUM, dtype, x, y, dtype == FG_F32 ? red_mul_f32 : red_mul_f64, ndim,
                       shape, reduce_mask, out);
}
