/* fg_conv.c: the 2-D convolution family -- conv2d and its two backward
 * passes, conv2d_backprop_input and conv2d_backprop_filter, each a table op
 * of its own so that gradients of gradients (gradient penalties, PINNs)
 * are recorded like any other op: kernels, forwards and rules in one file
 * (fg_ops.def declares what the table names).
 *
 * Layout is TF's NHWC input and HWIO filter. Leading dims before the last
 * three of the input are batch dims (TF's conv2d takes a 4+-D input), which
 * also lets batched JVP tangents through unchanged.
 *
 * The three are one trilinear form T(x, w, g) = <g, conv2d(x, w)>:
 * conv2d = dT/dg, backprop_input = dT/dx, backprop_filter = dT/dw; each
 * one's rule is the other two.
 *
 * Kernels: im2col + gemm through fg_k_matmul (the project's BLAS, or its
 * blocked loop). The batch is cut into groups of whole images whose column
 * matrix fits COL_BYTES; the group size depends only on the shapes, and
 * each image is unfolded / folded back serially by one thread, so results
 * are bitwise the same at any thread count. A 1x1, stride-1, unpadded
 * convolution needs no unfolding: the input is its own column matrix.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fg_forward_util.h"
#include "fg_kernels.h"
#include "fg_parallel.h"
#include "fg_rules.h"

#define COL_BYTES ((int64_t)8 << 20)

typedef struct {
    int64_t n, h, w, c;     /* input: batch (leading dims flattened), rows, cols, channels */
    int64_t kh, kw, oc;     /* filter [kh, kw, c, oc] */
    int64_t oh, ow;         /* output rows, cols */
    int64_t sh, sw, dh, dw; /* strides, dilations */
    int64_t pt, pl;         /* padding before (top, left) */
} conv_geom;

/* the column matrix is [n * oh * ow, kh * kw * c], row (img, oy, ox),
 * column (ky, kx, ch): the filter, flattened, is its [kh*kw*c, oc] partner */
static int geom_is_pointwise(const conv_geom *g) {
    return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->pt == 0 && g->pl == 0 && g->oh == g->h &&
           g->ow == g->w;
}

typedef struct {
    const conv_geom *g;
    const void *x; /* image 0 of the group */
    void *col;
    int es;
} col_job;

/* unfold (im2col) or fold back with accumulation (col2im), one image a task */
#define DEF_COL(S, T)                                                                          \
    static void im2col_##S(void *v, int64_t lo, int64_t hi) {                                 \
        const col_job *j = (const col_job *)v;                                                \
        const conv_geom *g = j->g;                                                            \
        const int64_t K = g->kh * g->kw * g->c, img = g->h * g->w * g->c;                     \
        for (int64_t b = lo; b < hi; b++) {                                                   \
            const T *x = (const T *)j->x + b * img;                                           \
            T *col = (T *)j->col + b * g->oh * g->ow * K;                                     \
            for (int64_t oy = 0; oy < g->oh; oy++)                                            \
                for (int64_t ox = 0; ox < g->ow; ox++) {                                      \
                    T *row = col + (oy * g->ow + ox) * K;                                     \
                    for (int64_t ky = 0; ky < g->kh; ky++) {                                  \
                        int64_t iy = oy * g->sh - g->pt + ky * g->dh;                         \
                        for (int64_t kx = 0; kx < g->kw; kx++) {                              \
                            int64_t ix = ox * g->sw - g->pl + kx * g->dw;                     \
                            T *dst = row + (ky * g->kw + kx) * g->c;                          \
                            if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w)                 \
                                memset(dst, 0, (size_t)g->c * sizeof(T));                     \
                            else                                                              \
                                memcpy(dst, x + (iy * g->w + ix) * g->c, (size_t)g->c * sizeof(T)); \
                        }                                                                     \
                    }                                                                         \
                }                                                                             \
        }                                                                                     \
    }                                                                                         \
    static void col2im_##S(void *v, int64_t lo, int64_t hi) {                                 \
        const col_job *j = (const col_job *)v;                                                \
        const conv_geom *g = j->g;                                                            \
        const int64_t K = g->kh * g->kw * g->c, img = g->h * g->w * g->c;                     \
        for (int64_t b = lo; b < hi; b++) {                                                   \
            T *x = (T *)j->x + b * img;                                                       \
            const T *col = (const T *)j->col + b * g->oh * g->ow * K;                         \
            memset(x, 0, (size_t)img * sizeof(T));                                            \
            for (int64_t oy = 0; oy < g->oh; oy++)                                            \
                for (int64_t ox = 0; ox < g->ow; ox++) {                                      \
                    const T *row = col + (oy * g->ow + ox) * K;                               \
                    for (int64_t ky = 0; ky < g->kh; ky++) {                                  \
                        int64_t iy = oy * g->sh - g->pt + ky * g->dh;                         \
                        if (iy < 0 || iy >= g->h) continue;                                   \
                        for (int64_t kx = 0; kx < g->kw; kx++) {                              \
                            int64_t ix = ox * g->sw - g->pl + kx * g->dw;                     \
                            if (ix < 0 || ix >= g->w) continue;                               \
                            const T *src = row + (ky * g->kw + kx) * g->c;                    \
                            T *dst = x + (iy * g->w + ix) * g->c;                             \
                            for (int64_t ch = 0; ch < g->c; ch++) dst[ch] += src[ch];         \
                        }                                                                     \
                    }                                                                         \
                }                                                                             \
        }                                                                                     \
    }
DEF_COL(f32, float)
DEF_COL(f64, double)

/* images per group: the column matrix of one group stays under COL_BYTES */
static int64_t group_images(const conv_geom *g, int es) {
    int64_t per = g->oh * g->ow * g->kh * g->kw * g->c * es;
    int64_t n = per > 0 ? COL_BYTES / per : g->n;
    if (n < 1) n = 1;
    return n < g->n ? n : g->n;
}

static void run_cols(int fold, int dtype, const conv_geom *g, const void *x, void *col, int64_t nimg) {
    col_job j = {g, x, col, (int)fg_dtype_size(dtype)};
    fg_range_fn fn = dtype == FG_F32 ? (fold ? col2im_f32 : im2col_f32) : (fold ? col2im_f64 : im2col_f64);
    fg_parallel_range(fg_threads_for(nimg * g->oh * g->ow * g->kh * g->kw * g->c), nimg, 1, fn, &j);
}

static int gemm(int dtype, const void *a, const void *b, void *out, int64_t m, int64_t n, int64_t k, int ta, int tb) {
    return fg_k_matmul(dtype, a, b, out, 0, NULL, NULL, NULL, m, n, k, ta, tb);
}

/* y [n, oh, ow, oc] = conv(x, w) */
static int k_conv2d(int dtype, const conv_geom *g, const void *x, const void *w, void *y) {
    const int es = (int)fg_dtype_size(dtype);
    const int64_t K = g->kh * g->kw * g->c, rows = g->oh * g->ow;
    if (g->n == 0 || rows == 0 || g->oc == 0) return 0;
    if (geom_is_pointwise(g)) return gemm(dtype, x, w, y, g->n * rows, g->oc, K, 0, 0);
    int64_t gi = group_images(g, es);
    char *col = (char *)malloc((size_t)(gi * rows * K * es));
    if (!col) return fg_error_set(FG_ERR_NOMEM, "conv2d: out of memory");
    int rc = 0;
    for (int64_t b = 0; b < g->n && rc == 0; b += gi) {
        int64_t nb = g->n - b < gi ? g->n - b : gi;
        run_cols(0, dtype, g, (const char *)x + b * g->h * g->w * g->c * es, col, nb);
        rc = gemm(dtype, col, w, (char *)y + b * rows * g->oc * es, nb * rows, g->oc, K, 0, 0);
    }
    free(col);
    return rc;
}

/* dx [n, h, w, c] = col2im(g [rows, oc] @ w^T) */
static int k_conv2d_backprop_input(int dtype, const conv_geom *g, const void *dy, const void *w, void *dx) {
    const int es = (int)fg_dtype_size(dtype);
    const int64_t K = g->kh * g->kw * g->c, rows = g->oh * g->ow;
    if (g->n == 0) return 0;
    if (rows == 0 || g->oc == 0 || K == 0) {
        memset(dx, 0, (size_t)(g->n * g->h * g->w * g->c * es));
        return 0;
    }
    if (geom_is_pointwise(g)) return gemm(dtype, dy, w, dx, g->n * rows, K, g->oc, 0, 1);
    int64_t gi = group_images(g, es);
    char *col = (char *)malloc((size_t)(gi * rows * K * es));
    if (!col) return fg_error_set(FG_ERR_NOMEM, "conv2d_backprop_input: out of memory");
    int rc = 0;
    for (int64_t b = 0; b < g->n && rc == 0; b += gi) {
        int64_t nb = g->n - b < gi ? g->n - b : gi;
        rc = gemm(dtype, (const char *)dy + b * rows * g->oc * es, w, col, nb * rows, K, g->oc, 0, 1);
        if (rc == 0) run_cols(1, dtype, g, (char *)dx + b * g->h * g->w * g->c * es, col, nb);
    }
    free(col);
    return rc;
}

/* dw [K, oc] = sum over groups, in order, of col^T @ g */
static int k_conv2d_backprop_filter(int dtype, const conv_geom *g, const void *x, const void *dy, void *dw) {
    const int es = (int)fg_dtype_size(dtype);
    const int64_t K = g->kh * g->kw * g->c, rows = g->oh * g->ow;
    if (K == 0 || g->oc == 0) return 0;
    if (g->n == 0 || rows == 0) {
        memset(dw, 0, (size_t)(K * g->oc * es));
        return 0;
    }
    if (geom_is_pointwise(g)) return gemm(dtype, x, dy, dw, K, g->oc, g->n * rows, 1, 0);
    int64_t gi = group_images(g, es);
    char *col = (char *)malloc((size_t)(gi * rows * K * es));
    char *part = g->n > gi ? (char *)malloc((size_t)(K * g->oc * es)) : NULL;
    if (!col || (g->n > gi && !part)) {
        free(col), free(part);
        return fg_error_set(FG_ERR_NOMEM, "conv2d_backprop_filter: out of memory");
    }
    int rc = 0;
    for (int64_t b = 0; b < g->n && rc == 0; b += gi) {
        int64_t nb = g->n - b < gi ? g->n - b : gi;
        run_cols(0, dtype, g, (const char *)x + b * g->h * g->w * g->c * es, col, nb);
        rc = gemm(dtype, col, (const char *)dy + b * rows * g->oc * es, b == 0 ? dw : part, K, g->oc, nb * rows, 1, 0);
        if (rc == 0 && b > 0) {
            int64_t m = K * g->oc;
            if (dtype == FG_F32)
                for (int64_t i = 0; i < m; i++) ((float *)dw)[i] += ((float *)part)[i];
            else
                for (int64_t i = 0; i < m; i++) ((double *)dw)[i] += ((double *)part)[i];
        }
    }
    free(col);
    free(part);
    return rc;
}

/* ------------------------------------------------------------- forwards */

/* attrs (from a): [stride_h, stride_w, dilation_h, dilation_w, pad_top,
 * pad_bottom, pad_left, pad_right]; the spatial output size TF's way */
static int geom_from(const fg_opdef *d, const int64_t *xs, int xnd, const int64_t *ws, const int64_t *a,
                     conv_geom *g) {
    if (a[0] < 1 || a[1] < 1)
        return fg_error_set(FG_ERR_INVALID, "Row and column strides should be larger than 0. [Op:%s]", d->tf_name);
    if (a[2] < 1 || a[3] < 1)
        return fg_error_set(FG_ERR_INVALID, "Dilated rates should be larger than 0. [Op:%s]", d->tf_name);
    for (int i = 4; i < 8; i++)
        if (a[i] < 0)
            return fg_error_set(FG_ERR_INVALID, "All elements of explicit_paddings must be nonnegative [Op:%s]",
                                d->tf_name);
    g->n = 1;
    for (int i = 0; i < xnd - 3; i++) g->n *= xs[i];
    g->h = xs[xnd - 3], g->w = xs[xnd - 2], g->c = xs[xnd - 1];
    g->kh = ws[0], g->kw = ws[1], g->oc = ws[3];
    g->sh = a[0], g->sw = a[1], g->dh = a[2], g->dw = a[3], g->pt = a[4], g->pl = a[6];
    if (ws[2] != g->c)
        return fg_error_set(FG_ERR_INVALID, "input depth must be evenly divisible by filter depth: %lld vs %lld [Op:%s]",
                            (long long)g->c, (long long)ws[2], d->tf_name);
    int64_t eh = (g->kh - 1) * g->dh + 1, ew = (g->kw - 1) * g->dw + 1;
    int64_t ph = g->h + a[4] + a[5] - eh, pw = g->w + a[6] + a[7] - ew;
    g->oh = ph < 0 ? 0 : ph / g->sh + 1;
    g->ow = pw < 0 ? 0 : pw / g->sw + 1;
    return 0;
}

static int float_pair(const fg_opdef *d, const fg_tensor *a, const fg_tensor *b) {
    if (a->dtype != FG_F32 && a->dtype != FG_F64) return not_allowed(d, a->dtype);
    if (b->dtype != a->dtype) return dtype_mismatch(d, 1, a->dtype, b->dtype);
    return 0;
}

static int check_rank(const fg_opdef *d, const char *what, const fg_tensor *t, int exact) {
    if (exact ? t->ndim == 4 : t->ndim >= 4) return 0;
    return fg_error_set(FG_ERR_INVALID, "%s must be %s-dimensional: %s [Op:%s]", what, exact ? "4" : "at least 4",
                        fg_shape_str(t->ndim, t->shape), d->tf_name);
}

/* inputs (x, filter) */
int fwd_conv2d(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs, fg_tensor **out) {
    (void)n_in, (void)nattrs;
    fg_tensor *x = in[0], *w = in[1];
    conv_geom g;
    if (float_pair(d, x, w) < 0 || check_rank(d, "input", x, 0) < 0 ||
        check_rank(d, "convolution filter", w, 1) < 0 || geom_from(d, x->shape, x->ndim, w->shape, attrs, &g) < 0)
        return -1;
    int64_t shape[FG_MAX_NDIM];
    memcpy(shape, x->shape, (size_t)x->ndim * sizeof(int64_t));
    shape[x->ndim - 3] = g.oh, shape[x->ndim - 2] = g.ow, shape[x->ndim - 1] = g.oc;
    fg_tensor *o = fg_tensor_new(x->dtype, x->ndim, shape);
    if (!o) return -1;
    RUN_KERNEL_WORK(o, o->size * g.kh * g.kw * g.c, k_conv2d(x->dtype, &g, x->data, w->data, o->data));
    *out = o;
    return 0;
}

/* the output's expected shape for the shape attribute (an 'S') */
static int check_out_shape(const fg_opdef *d, const fg_tensor *t, const int64_t *want, int nd, const char *what) {
    int ok = t->ndim == nd;
    for (int i = 0; ok && i < nd; i++) ok = t->shape[i] == want[i];
    if (ok) return 0;
    return fg_error_set(FG_ERR_INVALID, "%s: %s has shape %s but %s was expected [Op:%s]", d->tf_name, what,
                        fg_shape_str(t->ndim, t->shape), fg_shape_str(nd, want), d->tf_name);
}

/* inputs (dy, filter); attrs [ndim, input shape..., conv attrs] */
int fwd_conv2d_backprop_input(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
                              fg_tensor **out) {
    (void)n_in, (void)nattrs;
    fg_tensor *dy = in[0], *w = in[1];
    int nd = (int)attrs[0];
    const int64_t *xs = attrs + 1;
    conv_geom g;
    if (nd < 4 || nd > FG_MAX_NDIM)
        return fg_error_set(FG_ERR_INVALID, "input_sizes must be at least 4-dimensional, got: %d [Op:%s]", nd, d->tf_name);
    if (float_pair(d, dy, w) < 0 || check_rank(d, "filter", w, 1) < 0 ||
        geom_from(d, xs, nd, w->shape, attrs + 1 + nd, &g) < 0)
        return -1;
    int64_t ys[FG_MAX_NDIM];
    memcpy(ys, xs, (size_t)nd * sizeof(int64_t));
    ys[nd - 3] = g.oh, ys[nd - 2] = g.ow, ys[nd - 1] = g.oc;
    if (check_out_shape(d, dy, ys, nd, "out_backprop") < 0) return -1;
    fg_tensor *o = fg_tensor_new(dy->dtype, nd, xs);
    if (!o) return -1;
    RUN_KERNEL_WORK(o, dy->size * g.kh * g.kw * g.c, k_conv2d_backprop_input(dy->dtype, &g, dy->data, w->data, o->data));
    *out = o;
    return 0;
}

/* inputs (x, dy); attrs [4, filter shape..., conv attrs] */
int fwd_conv2d_backprop_filter(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
                               fg_tensor **out) {
    (void)n_in, (void)nattrs;
    fg_tensor *x = in[0], *dy = in[1];
    const int64_t *ws = attrs + 1;
    conv_geom g;
    if (attrs[0] != 4)
        return fg_error_set(FG_ERR_INVALID, "filter_sizes must be 4-dimensional, got: %lld [Op:%s]",
                            (long long)attrs[0], d->tf_name);
    if (float_pair(d, x, dy) < 0 || check_rank(d, "input", x, 0) < 0 || geom_from(d, x->shape, x->ndim, ws, attrs + 5, &g) < 0)
        return -1;
    int64_t ys[FG_MAX_NDIM];
    memcpy(ys, x->shape, (size_t)x->ndim * sizeof(int64_t));
    ys[x->ndim - 3] = g.oh, ys[x->ndim - 2] = g.ow, ys[x->ndim - 1] = g.oc;
    if (check_out_shape(d, dy, ys, x->ndim, "out_backprop") < 0) return -1;
    fg_tensor *o = fg_tensor_new(x->dtype, 4, ws);
    if (!o) return -1;
    RUN_KERNEL_WORK(o, dy->size * g.kh * g.kw * g.c, k_conv2d_backprop_filter(x->dtype, &g, x->data, dy->data, o->data));
    *out = o;
    return 0;
}

/* ---------------------------------------------------------------- rules */

/* the conv attrs of a node: after the shape for the two backprops */
static const int64_t *conv_attrs(const fg_node *node) {
    return node->op == FG_OP_CONV2D ? node->attrs : node->attrs + 1 + node->attrs[0];
}

static fg_tensor *conv(rctx *c, fg_tensor *x, fg_tensor *w, const int64_t *ca) {
    fg_tensor *in[2] = {x, w};
    return ap(c, FG_OP_CONV2D, 2, in, ca, 8);
}

static fg_tensor *with_shape(rctx *c, int op, fg_tensor *a, fg_tensor *b, int nd, const int64_t *shape,
                             const int64_t *ca) {
    int64_t at[1 + FG_MAX_NDIM + 8];
    at[0] = nd;
    memcpy(at + 1, shape, (size_t)nd * sizeof(int64_t));
    memcpy(at + 1 + nd, ca, 8 * sizeof(int64_t));
    fg_tensor *in[2] = {a, b};
    return ap(c, op, 2, in, at, 1 + nd + 8);
}

/* dT/dx with x's shape */
static fg_tensor *bprop_in(rctx *c, fg_tensor *dy, fg_tensor *w, const fg_tensor *xlike, const int64_t *ca) {
    if (c->failed || !dy || !w) return c->failed = 1, NULL;
    return with_shape(c, FG_OP_CONV2D_BACKPROP_INPUT, dy, w, xlike->ndim, xlike->shape, ca);
}

/* dT/dw with w's shape */
static fg_tensor *bprop_filter(rctx *c, fg_tensor *x, fg_tensor *dy, const fg_tensor *wlike, const int64_t *ca) {
    if (c->failed || !x || !dy) return c->failed = 1, NULL;
    return with_shape(c, FG_OP_CONV2D_BACKPROP_FILTER, x, dy, 4, wlike->shape, ca);
}

int bwd_conv2d(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    const int64_t *ca = node->attrs;
    if (need[0]) gin[0] = give(bprop_in(c, g, X(1), X(0), ca));
    if (need[1]) gin[1] = give(bprop_filter(c, X(0), g, X(1), ca));
    RULE_END;
}

/* backprop_input(dy, w) = dT/dx: <h, it> = T(h, w, dy) */
int bwd_conv2d_backprop_input(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    const int64_t *ca = conv_attrs(node);
    if (need[0]) gin[0] = give(conv(c, g, X(1), ca));
    if (need[1]) gin[1] = give(bprop_filter(c, g, X(0), X(1), ca));
    RULE_END;
}

/* backprop_filter(x, dy) = dT/dw: <h, it> = T(x, h, dy) */
int bwd_conv2d_backprop_filter(const fg_node *node, fg_tensor *g, fg_tensor **gin, const uint8_t *need) {
    RULE_BEGIN;
    const int64_t *ca = conv_attrs(node);
    if (need[0]) gin[0] = give(bprop_in(c, X(1), g, X(0), ca));
    if (need[1]) gin[1] = give(conv(c, X(0), g, ca));
    RULE_END;
}

/* ------------------------------------------------------------------ JVPs
 *
 * Each op is bilinear, so its JVP is op(t0, b) + op(a, t1). A tangent
 * carries nb leading batch dims. Where it is the op's image-like operand
 * the batch dims are leading dims the kernels already take. Where it is
 * the filter-like operand (or the output-side operand of backprop_filter)
 * the batch goes into a channel axis -- channels are independent in every
 * one of the three -- and comes back out after. */

static fg_tensor *transpose(rctx *c, fg_tensor *t, int nd, const int *perm) {
    int64_t at[FG_MAX_NDIM];
    for (int i = 0; i < nd; i++) at[i] = perm[i];
    return ap(c, FG_OP_TRANSPOSE, 1, &t, at, nd);
}

/* t [B..., s0, s1, s2, s3] -> [s0, s1, (B) s2, s3 merged at `axis`]: the
 * batch flattened to B and moved just before axis (2 or 3), merged with it */
static fg_tensor *batch_into(rctx *c, fg_tensor *t, int nb, int axis, int64_t *B) {
    if (c->failed || !t) return c->failed = 1, NULL;
    int64_t b = 1, s[5];
    for (int i = 0; i < nb; i++) b *= t->shape[i];
    *B = b;
    s[0] = b;
    for (int i = 0; i < 4; i++) s[1 + i] = t->shape[nb + i];
    fg_tensor *f = reshape_to(c, t, 5, s);
    int perm[5] = {1, 2, 3, 4, 0}, k = 0;
    for (int i = 1; i <= 4; i++) {
        if (i == axis + 1) perm[k++] = 0;
        perm[k++] = i;
    }
    fg_tensor *p = transpose(c, f, 5, perm);
    int64_t m[4] = {s[1], s[2], s[3], s[4]};
    m[axis] *= b;
    return reshape_to(c, p, 4, m);
}

/* the inverse: y [.., (B) s_axis merged] (rank r) -> [batch dims..., y unmerged] */
static fg_tensor *batch_out_of(rctx *c, fg_tensor *y, int axis, int64_t B, int nb, const int64_t *bshape) {
    if (c->failed || !y) return c->failed = 1, NULL;
    int r = y->ndim;
    if (r + nb > FG_MAX_NDIM) {
        fg_error_set(FG_ERR_INVALID, "batched tangent rank %d exceeds %d", r + nb, FG_MAX_NDIM);
        return c->failed = 1, NULL;
    }
    int64_t s[FG_MAX_NDIM];
    for (int i = 0, k = 0; i < r; i++) {
        if (i == axis) s[k++] = B, s[k++] = y->shape[i] / B;
        else s[k++] = y->shape[i];
    }
    fg_tensor *u = reshape_to(c, y, r + 1, s);
    int perm[FG_MAX_NDIM], k = 0;
    perm[k++] = axis;
    for (int i = 0; i <= r; i++)
        if (i != axis) perm[k++] = i;
    fg_tensor *p = transpose(c, u, r + 1, perm);
    int64_t f[FG_MAX_NDIM];
    memcpy(f, bshape, (size_t)nb * sizeof(int64_t));
    for (int i = 0; i < r; i++) f[nb + i] = p->shape[1 + i];
    return reshape_to(c, p, nb + r, f);
}

int jvp_conv2d(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    const int64_t *ca = node->attrs;
    fg_tensor *a = NULL, *b = NULL;
    if (T(0)) a = conv(c, T(0), X(1), ca);
    if (T(1)) {
        int64_t B = 1;
        /* x conv w_b for every b: the filters side by side on the out channels */
        fg_tensor *wb = batch_into(c, T(1), nb, 3, &B);
        b = batch_out_of(c, conv(c, X(0), wb, ca), X(0)->ndim - 1, B, nb, T(1)->shape);
    }
    *tout = give(a && b ? ADD(a, b) : a ? a : b);
    JVP_END;
}

int jvp_conv2d_backprop_input(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    const int64_t *ca = conv_attrs(node);
    const int nd = (int)node->attrs[0];
    const int64_t *xs = node->attrs + 1;
    fg_tensor *a = NULL, *b = NULL;
    if (T(0)) {
        int64_t s[FG_MAX_NDIM];
        if (nb + nd > FG_MAX_NDIM) {
            fg_error_set(FG_ERR_INVALID, "batched tangent rank %d exceeds %d", nb + nd, FG_MAX_NDIM);
            c->failed = 1;
        } else {
            memcpy(s, T(0)->shape, (size_t)nb * sizeof(int64_t));
            memcpy(s + nb, xs, (size_t)nd * sizeof(int64_t));
            a = with_shape(c, FG_OP_CONV2D_BACKPROP_INPUT, T(0), X(1), nb + nd, s, ca);
        }
    }
    if (T(1)) {
        /* the filters side by side on the in channels: the result's channels */
        int64_t B = 1, s[FG_MAX_NDIM];
        fg_tensor *wb = batch_into(c, T(1), nb, 2, &B);
        memcpy(s, xs, (size_t)nd * sizeof(int64_t));
        s[nd - 1] *= B;
        b = batch_out_of(c, with_shape(c, FG_OP_CONV2D_BACKPROP_INPUT, X(0), wb, nd, s, ca), nd - 1, B, nb,
                         T(1)->shape);
    }
    *tout = give(a && b ? ADD(a, b) : a ? a : b);
    JVP_END;
}

int jvp_conv2d_backprop_filter(const fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout) {
    JVP_BEGIN;
    const int64_t *ca = conv_attrs(node);
    const int64_t *ws = node->attrs + 1;
    fg_tensor *a = NULL, *b = NULL;
    /* a batch of images (or of output gradients) on the channels they carry:
     * [.., B*c] in gives the filter [kh, kw, B*c, oc]; [.., B*oc] out gives
     * [kh, kw, c, B*oc] */
    for (int i = 0; i < 2 && !c->failed; i++) {
        if (!T(i)) continue;
        fg_tensor *t = T(i);
        int r = X(0)->ndim;
        int64_t B = 1, s[FG_MAX_NDIM];
        for (int k = 0; k < nb; k++) B *= t->shape[k];
        /* [B, lead..., h, w, ch] -> [lead..., h, w, B, ch] -> [lead..., h, w, B*ch] */
        s[0] = B;
        memcpy(s + 1, t->shape + nb, (size_t)r * sizeof(int64_t));
        fg_tensor *f = reshape_to(c, t, r + 1, s);
        int perm[FG_MAX_NDIM], k = 0;
        for (int q = 1; q < r; q++) perm[k++] = q;
        perm[k++] = 0, perm[k++] = r;
        fg_tensor *p = transpose(c, f, r + 1, perm);
        int64_t m[FG_MAX_NDIM];
        memcpy(m, t->shape + nb, (size_t)r * sizeof(int64_t));
        m[r - 1] *= B;
        fg_tensor *tb = reshape_to(c, p, r, m);
        int64_t wsb[4] = {ws[0], ws[1], ws[2], ws[3]};
        wsb[i == 0 ? 2 : 3] *= B;
        fg_tensor *res = i == 0 ? with_shape(c, FG_OP_CONV2D_BACKPROP_FILTER, tb, X(1), 4, wsb, ca)
                                : with_shape(c, FG_OP_CONV2D_BACKPROP_FILTER, X(0), tb, 4, wsb, ca);
        res = batch_out_of(c, res, i == 0 ? 2 : 3, B, nb, t->shape);
        if (i == 0) a = res;
        else b = res;
    }
    *tout = give(a && b ? ADD(a, b) : a ? a : b);
    JVP_END;
}
