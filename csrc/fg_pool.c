/* fg_pool.c: 2-D pooling over NHWC (leading dims before the last three are
 * batch dims, so batched JVP tangents pass through): average pooling and
 * its gradient (both linear), and the argmax of max pooling.
 *
 * Max pooling is not a kernel of its own: max_pool_argmax gives, for every
 * output element, the flat index of the input element it takes, and the
 * facade gathers those -- so the value, TF's gradient (MaxPoolGrad routes
 * each output's gradient to that one element), its gradient (MaxPoolGradGrad
 * gathers at the same indices) and forward mode all come from gather's
 * rules. The argmax is TF's: the first maximum in row-major window order
 * (a strict >, starting from the lowest value), padding never chosen.
 *
 * Every output element is computed by one thread in a fixed order, so
 * results are the same at any thread count.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fg_forward_util.h"
#include "fg_kernels.h"
#include "fg_parallel.h"
#include "fg_rules.h"

typedef struct {
    int64_t n, h, w, c, oh, ow;
    int64_t kh, kw, sh, sw, pt, pl;
} pool_geom;

/* attrs [ksize_h, ksize_w, stride_h, stride_w, pad_top, pad_bottom, pad_left, pad_right] */
static int pool_geom_from(const fg_opdef *d, const int64_t *xs, int nd, const int64_t *a, pool_geom *g) {
    if (nd < 4)
        return fg_error_set(FG_ERR_INVALID, "tensor_in must be at least 4-dimensional: %s [Op:%s]",
                            fg_shape_str(nd, xs), d->tf_name);
    if (a[0] < 1 || a[1] < 1)
        return fg_error_set(FG_ERR_INVALID, "Sliding window ksize must be positive. [Op:%s]", d->tf_name);
    if (a[2] < 1 || a[3] < 1)
        return fg_error_set(FG_ERR_INVALID, "Sliding window stride must be positive. [Op:%s]", d->tf_name);
    g->n = 1;
    for (int i = 0; i < nd - 3; i++) g->n *= xs[i];
    g->h = xs[nd - 3], g->w = xs[nd - 2], g->c = xs[nd - 1];
    g->kh = a[0], g->kw = a[1], g->sh = a[2], g->sw = a[3], g->pt = a[4], g->pl = a[6];
    int64_t ph = g->h + a[4] + a[5] - g->kh, pw = g->w + a[6] + a[7] - g->kw;
    g->oh = ph < 0 ? 0 : ph / g->sh + 1;
    g->ow = pw < 0 ? 0 : pw / g->sw + 1;
    return 0;
}

typedef struct {
    const pool_geom *g;
    const void *x;
    void *y;
    int incl_batch;
} pool_job;

/* the window of output (oy, ox), clipped to the image */
#define WINDOW(g, oy, ox)                                                          \
    int64_t y0 = (oy) * (g)->sh - (g)->pt, x0 = (ox) * (g)->sw - (g)->pl;          \
    int64_t y1 = y0 + (g)->kh < (g)->h ? y0 + (g)->kh : (g)->h;                    \
    int64_t x1 = x0 + (g)->kw < (g)->w ? x0 + (g)->kw : (g)->w;                    \
    if (y0 < 0) y0 = 0;                                                            \
    if (x0 < 0) x0 = 0

/* one image a task: every output row of it, channels innermost */
#define DEF_POOL(S, T)                                                                        \
    static void argmax_##S(void *v, int64_t lo, int64_t hi) {                                \
        const pool_job *j = (const pool_job *)v;                                             \
        const pool_geom *g = j->g;                                                           \
        const int64_t img = g->h * g->w * g->c;                                              \
        for (int64_t b = lo; b < hi; b++) {                                                  \
            const T *x = (const T *)j->x + b * img;                                          \
            int64_t *y = (int64_t *)j->y + b * g->oh * g->ow * g->c;                         \
            int64_t base = j->incl_batch ? b * img : 0;                                      \
            for (int64_t oy = 0; oy < g->oh; oy++)                                           \
                for (int64_t ox = 0; ox < g->ow; ox++) {                                     \
                    WINDOW(g, oy, ox);                                                       \
                    int64_t *yo = y + (oy * g->ow + ox) * g->c;                              \
                    for (int64_t ch = 0; ch < g->c; ch++) {                                  \
                        T best = -INFINITY;                                                  \
                        int64_t at = (y0 * g->w + x0) * g->c + ch;                           \
                        for (int64_t iy = y0; iy < y1; iy++)                                 \
                            for (int64_t ix = x0; ix < x1; ix++) {                           \
                                int64_t k = (iy * g->w + ix) * g->c + ch;                    \
                                if (x[k] > best) best = x[k], at = k;                        \
                            }                                                                \
                        yo[ch] = base + at;                                                  \
                    }                                                                        \
                }                                                                            \
        }                                                                                    \
    }                                                                                        \
    /* TF's AvgPool: the mean over the window's elements inside the image */                \
    static void avg_##S(void *v, int64_t lo, int64_t hi) {                                   \
        const pool_job *j = (const pool_job *)v;                                             \
        const pool_geom *g = j->g;                                                           \
        const int64_t img = g->h * g->w * g->c;                                              \
        for (int64_t b = lo; b < hi; b++) {                                                  \
            const T *x = (const T *)j->x + b * img;                                          \
            T *y = (T *)j->y + b * g->oh * g->ow * g->c;                                     \
            for (int64_t oy = 0; oy < g->oh; oy++)                                           \
                for (int64_t ox = 0; ox < g->ow; ox++) {                                     \
                    WINDOW(g, oy, ox);                                                       \
                    T *yo = y + (oy * g->ow + ox) * g->c;                                    \
                    const T cnt = (T)((y1 - y0) * (x1 - x0));                                \
                    for (int64_t ch = 0; ch < g->c; ch++) yo[ch] = 0;                        \
                    for (int64_t iy = y0; iy < y1; iy++)                                     \
                        for (int64_t ix = x0; ix < x1; ix++) {                               \
                            const T *xi = x + (iy * g->w + ix) * g->c;                       \
                            for (int64_t ch = 0; ch < g->c; ch++) yo[ch] += xi[ch];          \
                        }                                                                    \
                    for (int64_t ch = 0; ch < g->c; ch++) yo[ch] /= cnt;                     \
                }                                                                            \
        }                                                                                    \
    }                                                                                        \
    /* its transpose: every output's gradient spread evenly over its window */              \
    static void avg_grad_##S(void *v, int64_t lo, int64_t hi) {                              \
        const pool_job *j = (const pool_job *)v;                                             \
        const pool_geom *g = j->g;                                                           \
        const int64_t img = g->h * g->w * g->c;                                              \
        for (int64_t b = lo; b < hi; b++) {                                                  \
            const T *dy = (const T *)j->x + b * g->oh * g->ow * g->c;                        \
            T *dx = (T *)j->y + b * img;                                                     \
            memset(dx, 0, (size_t)img * sizeof(T));                                          \
            for (int64_t oy = 0; oy < g->oh; oy++)                                           \
                for (int64_t ox = 0; ox < g->ow; ox++) {                                     \
                    WINDOW(g, oy, ox);                                                       \
                    const T *go = dy + (oy * g->ow + ox) * g->c;                             \
                    const T cnt = (T)((y1 - y0) * (x1 - x0));                                \
                    for (int64_t iy = y0; iy < y1; iy++)                                     \
                        for (int64_t ix = x0; ix < x1; ix++) {                               \
                            T *xi = dx + (iy * g->w + ix) * g->c;                            \
                            for (int64_t ch = 0; ch < g->c; ch++) xi[ch] += go[ch] / cnt;     \
                        }                                                                    \
                }                                                                            \
        }                                                                                    \
    }
DEF_POOL(f32, float)
DEF_POOL(f64, double)

static void run_pool(fg_range_fn fn, const pool_geom *g, const void *x, void *y, int incl_batch) {
    pool_job j = {g, x, y, incl_batch};
    fg_parallel_range(fg_threads_for(g->n * g->oh * g->ow * g->c * g->kh * g->kw), g->n, 1, fn, &j);
}

static int pool_dtype(const fg_opdef *d, int dtype) {
    return dtype == FG_F32 || dtype == FG_F64 ? 0 : not_allowed(d, dtype);
}

/* attrs [pool attrs..., include_batch_in_index] */
int fwd_max_pool_argmax(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
                        fg_tensor **out) {
    (void)n_in, (void)nattrs;
    fg_tensor *x = in[0];
    pool_geom g;
    if (pool_dtype(d, x->dtype) < 0 || pool_geom_from(d, x->shape, x->ndim, attrs, &g) < 0) return -1;
    int64_t s[FG_MAX_NDIM];
    memcpy(s, x->shape, (size_t)x->ndim * sizeof(int64_t));
    s[x->ndim - 3] = g.oh, s[x->ndim - 2] = g.ow;
    fg_tensor *o = fg_tensor_new(FG_I64, x->ndim, s);
    if (!o) return -1;
    fg_range_fn fn = x->dtype == FG_F32 ? argmax_f32 : argmax_f64;
    void *tok = fg_gil_release_if(o->size * g.kh * g.kw);
    run_pool(fn, &g, x->data, o->data, (int)attrs[8]);
    fg_gil_acquire(tok);
    *out = o;
    return 0;
}

int fwd_avg_pool(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
                 fg_tensor **out) {
    (void)n_in, (void)nattrs;
    fg_tensor *x = in[0];
    pool_geom g;
    if (pool_dtype(d, x->dtype) < 0 || pool_geom_from(d, x->shape, x->ndim, attrs, &g) < 0) return -1;
    if (attrs[4] >= g.kh || attrs[5] >= g.kh || attrs[6] >= g.kw || attrs[7] >= g.kw)
        return fg_error_set(FG_ERR_INVALID, "%s: padding must be smaller than the window [Op:%s]", d->tf_name, d->tf_name);
    int64_t s[FG_MAX_NDIM];
    memcpy(s, x->shape, (size_t)x->ndim * sizeof(int64_t));
    s[x->ndim - 3] = g.oh, s[x->ndim - 2] = g.ow;
    fg_tensor *o = fg_tensor_new(x->dtype, x->ndim, s);
    if (!o) return -1;
    void *tok = fg_gil_release_if(o->size * g.kh * g.kw);
    run_pool(x->dtype == FG_F32 ? avg_f32 : avg_f64, &g, x->data, o->data, 0);
    fg_gil_acquire(tok);
    *out = o;
    return 0;
}

/* input the gradient; attrs [ndim, input shape..., pool attrs...] */
int fwd_avg_pool_grad(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
                      fg_tensor **out) {
    (void)n_in, (void)nattrs;
    fg_tensor *dy = in[0];
    int nd = (int)attrs[0];
    pool_geom g;
    if (nd > FG_MAX_NDIM) return fg_error_set(FG_ERR_INVALID, "%s: bad input rank %d", d->tf_name, nd);
    if (pool_dtype(d, dy->dtype) < 0 || pool_geom_from(d, attrs + 1, nd, attrs + 1 + nd, &g) < 0) return -1;
    int ok = dy->ndim == nd;
    for (int i = 0; ok && i < nd; i++)
        ok = dy->shape[i] == (i == nd - 3 ? g.oh : i == nd - 2 ? g.ow : attrs[1 + i]);
    if (!ok)
        return fg_error_set(FG_ERR_INVALID, "%s: out_backprop has a shape %s that does not match the pooled input [Op:%s]",
                            d->tf_name, fg_shape_str(dy->ndim, dy->shape), d->tf_name);
    fg_tensor *o = fg_tensor_new(dy->dtype, nd, attrs + 1);
    if (!o) return -1;
    void *tok = fg_gil_release_if(dy->size * g.kh * g.kw);
    run_pool(dy->dtype == FG_F32 ? avg_grad_f32 : avg_grad_f64, &g, dy->data, o->data, 0);
    fg_gil_acquire(tok);
    *out = o;
    return 0;
}

/* ---------------------------------------------------------------- rules */

int bwd_avg_pool(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    if (need[0]) {
        const fg_tensor *x = X(0);
        int64_t at[1 + FG_MAX_NDIM + 8];
        at[0] = x->ndim;
        memcpy(at + 1, x->shape, (size_t)x->ndim * sizeof(int64_t));
        memcpy(at + 1 + x->ndim, node->attrs, 8 * sizeof(int64_t));
        gin[0] = give(ap(c, FG_OP_AVG_POOL_GRAD, 1, &g, at, 1 + x->ndim + 8));
    }
    RULE_END;
}

int bwd_avg_pool_grad(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    if (need[0]) gin[0] = give(ap(c, FG_OP_AVG_POOL, 1, &g, node->attrs + 1 + node->attrs[0], 8));
    RULE_END;
}
