/* fg_random.c: the counter-based random op family -- Philox-4x32-10 as
 * TensorFlow's stateless ops run it (tensorflow/core/lib/random/philox_random.h,
 * random_distributions.h): key/counter from a seed, uniform floats from
 * mantissa bits, Box-Muller normals, truncated normals by resampling,
 * integers by modulo.
 *
 * A generator state travels as an int64 tensor [counter_lo, counter_hi, key]
 * (the 128-bit counter and 64-bit key of TF's Philox, bit for bit, in the
 * layout of tf.random.Generator's state), so a fastgrad.function reads it
 * as an input and replays new draws.
 *
 * Output element groups are independent: group g draws from the counter
 * advanced by g times a fixed skip (TF's FillPhiloxRandom), so results are
 * bitwise the same at any thread count and equal to TF's.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fg_forward_util.h"
#include "fg_kernels.h"
#include "fg_parallel.h"
#include "fg_rules.h"

/* ---------------------------------------------------------------- Philox */

typedef struct {
    uint32_t c[4], k[2];
} philox;

static inline void philox_round(uint32_t *c, const uint32_t *k) {
    uint64_t p0 = (uint64_t)0xD2511F53u * c[0], p1 = (uint64_t)0xCD9E8D57u * c[2];
    uint32_t r0 = (uint32_t)(p1 >> 32) ^ c[1] ^ k[0], r1 = (uint32_t)p1;
    uint32_t r2 = (uint32_t)(p0 >> 32) ^ c[3] ^ k[1], r3 = (uint32_t)p0;
    c[0] = r0, c[1] = r1, c[2] = r2, c[3] = r3;
}

/* ten rounds of the current counter; the counter then advances by one */
static inline void philox_next(philox *g, uint32_t out[4]) {
    uint32_t c[4] = {g->c[0], g->c[1], g->c[2], g->c[3]}, k[2] = {g->k[0], g->k[1]};
    for (int r = 0; r < 10; r++) {
        if (r) k[0] += 0x9E3779B9u, k[1] += 0xBB67AE85u;
        philox_round(c, k);
    }
    memcpy(out, c, sizeof c);
    if (++g->c[0] == 0 && ++g->c[1] == 0 && ++g->c[2] == 0) ++g->c[3];
}

/* TF's Skip(n): n added to the 128-bit counter */
static inline void philox_skip(philox *g, uint64_t n) {
    uint64_t lo = (uint64_t)g->c[0] | (uint64_t)g->c[1] << 32, hi = (uint64_t)g->c[2] | (uint64_t)g->c[3] << 32;
    uint64_t nlo = lo + n;
    if (nlo < lo) hi++;
    g->c[0] = (uint32_t)nlo, g->c[1] = (uint32_t)(nlo >> 32), g->c[2] = (uint32_t)hi, g->c[3] = (uint32_t)(hi >> 32);
}

static philox philox_from_state(const int64_t *s) {
    uint64_t lo = (uint64_t)s[0], hi = (uint64_t)s[1], k = (uint64_t)s[2];
    philox g = {{(uint32_t)lo, (uint32_t)(lo >> 32), (uint32_t)hi, (uint32_t)(hi >> 32)}, {(uint32_t)k, (uint32_t)(k >> 32)}};
    return g;
}

/* TF's GenerateKey: the seed pair scrambled through one Philox call with a
 * fixed key, so neither half of the seed needs to be strong */
static void key_counter_from_seed(uint64_t s0, uint64_t s1, int64_t out[3]) {
    philox g = {{(uint32_t)s0, (uint32_t)(s0 >> 32), (uint32_t)s1, (uint32_t)(s1 >> 32)}, {0x3ec8f720u, 0x02461e29u}};
    uint32_t m[4];
    philox_next(&g, m);
    out[0] = 0;
    out[1] = (int64_t)((uint64_t)m[2] | (uint64_t)m[3] << 32);
    out[2] = (int64_t)((uint64_t)m[0] | (uint64_t)m[1] << 32);
}

/* ---------------------------------------------------------- conversions */

static inline float u32_to_float(uint32_t x) {
    uint32_t v = (127u << 23) | (x & 0x7fffffu);
    float f;
    memcpy(&f, &v, 4);
    return f - 1.0f;
}

static inline double u64_to_double(uint32_t x0, uint32_t x1) {
    uint64_t v = (uint64_t)1023 << 52 | (uint64_t)(x0 & 0xfffffu) << 32 | x1;
    double d;
    memcpy(&d, &v, 8);
    return d - 1.0;
}

static inline void box_muller_f(uint32_t x0, uint32_t x1, float *f0, float *f1) {
    float u1 = u32_to_float(x0);
    if (u1 < 1.0e-7f) u1 = 1.0e-7f;
    /* M_PI is a double: TF's product is taken in double, then rounded */
    const float v1 = (float)(2.0f * M_PI * u32_to_float(x1));
    const float u2 = sqrtf(-2.0f * logf(u1));
    *f0 = sinf(v1) * u2;
    *f1 = cosf(v1) * u2;
}

static inline void box_muller_d(uint32_t x0, uint32_t x1, uint32_t x2, uint32_t x3, double *d0, double *d1) {
    double u1 = u64_to_double(x0, x1);
    if (u1 < 1.0e-7) u1 = 1.0e-7;
    const double v1 = 2 * M_PI * u64_to_double(x2, x3);
    const double u2 = sqrt(-2.0 * log(u1));
    *d0 = sin(v1) * u2;
    *d1 = cos(v1) * u2;
}

/* ------------------------------------------------------------- kernels */

enum { RD_UNIFORM = 0, RD_NORMAL = 1, RD_TRUNCATED = 2, RD_FULL_INT = 3, RD_UNIFORM_INT = 4 };

typedef struct {
    int dist, dtype;
    philox base;
    void *out;
    int64_t size;
    uint64_t lo_u, range; /* uniform ints: lo (as unsigned) and maxval - minval */
} rnd_job;

/* elements per group: one Philox call (4 x 32 bits), or for the truncated
 * normal the group's 256 reserved samples per output */
static int group_size(int dist, int dtype) {
    int wide = dtype == FG_F64 || dtype == FG_I64;
    return wide ? 2 : 4;
}

/* a group of truncated normals: Box-Muller pairs drawn one 32-bit sample
 * at a time (TF's SingleSampleAdapter), those with |x| >= 2 rejected */
static void truncated_group(philox *g, int dtype, double *res, int n) {
    uint32_t buf[4];
    int used = 4, idx = 0;
#define NEXT_U32() (used == 4 ? (philox_next(g, buf), used = 0, buf[used++]) : buf[used++])
    while (idx < n) {
        double d[2];
        if (dtype == FG_F32) {
            uint32_t x0 = NEXT_U32(), x1 = NEXT_U32();
            float f[2];
            box_muller_f(x0, x1, &f[0], &f[1]);
            d[0] = f[0], d[1] = f[1];
            for (int i = 0; i < 2 && idx < n; i++)
                if (fabsf(f[i]) < 2.0f) res[idx++] = f[i];
        } else {
            uint32_t x0 = NEXT_U32(), x1 = NEXT_U32(), x2 = NEXT_U32(), x3 = NEXT_U32();
            box_muller_d(x0, x1, x2, x3, &d[0], &d[1]);
            for (int i = 0; i < 2 && idx < n; i++)
                if (fabs(d[i]) < 2.0) res[idx++] = d[i];
        }
    }
#undef NEXT_U32
}

static void rnd_groups(void *v, int64_t lo, int64_t hi) {
    const rnd_job *j = (const rnd_job *)v;
    const int gs = group_size(j->dist, j->dtype);
    for (int64_t grp = lo; grp < hi; grp++) {
        philox g = j->base;
        int64_t off = grp * gs;
        int n = (int)(j->size - off < gs ? j->size - off : gs);
        uint32_t s[4];
        if (j->dist == RD_TRUNCATED) {
            double r[4];
            /* 256 reserved samples per output, 4 per Philox call */
            philox_skip(&g, (uint64_t)grp * (uint64_t)gs * 256 / 4);
            truncated_group(&g, j->dtype, r, gs);
            for (int i = 0; i < n; i++) {
                if (j->dtype == FG_F32)
                    ((float *)j->out)[off + i] = (float)r[i];
                else
                    ((double *)j->out)[off + i] = r[i];
            }
            continue;
        }
        philox_skip(&g, (uint64_t)grp);
        philox_next(&g, s);
        switch (j->dtype) {
        case FG_F32: {
            float r[4];
            if (j->dist == RD_UNIFORM)
                for (int i = 0; i < 4; i++) r[i] = u32_to_float(s[i]);
            else
                box_muller_f(s[0], s[1], &r[0], &r[1]), box_muller_f(s[2], s[3], &r[2], &r[3]);
            memcpy((float *)j->out + off, r, (size_t)n * sizeof(float));
            break;
        }
        case FG_F64: {
            double r[2];
            if (j->dist == RD_UNIFORM)
                r[0] = u64_to_double(s[0], s[1]), r[1] = u64_to_double(s[2], s[3]);
            else
                box_muller_d(s[0], s[1], s[2], s[3], &r[0], &r[1]);
            memcpy((double *)j->out + off, r, (size_t)n * sizeof(double));
            break;
        }
        case FG_I32:
            for (int i = 0; i < n; i++) {
                uint32_t b = j->dist == RD_FULL_INT ? s[i] : (uint32_t)(j->lo_u + s[i] % (uint32_t)j->range);
                ((int32_t *)j->out)[off + i] = (int32_t)b;
            }
            break;
        default: /* FG_I64 */
            for (int i = 0; i < n; i++) {
                uint64_t b = (uint64_t)s[2 * i] | (uint64_t)s[2 * i + 1] << 32;
                if (j->dist != RD_FULL_INT) b = j->lo_u + b % j->range;
                ((int64_t *)j->out)[off + i] = (int64_t)b;
            }
            break;
        }
    }
}

static int k_random(rnd_job *j) {
    int gs = group_size(j->dist, j->dtype);
    int64_t groups = (j->size + gs - 1) / gs;
    if (groups == 0) return 0;
    int64_t work = j->dist == RD_TRUNCATED ? j->size * 4 : j->size;
    fg_parallel_range(fg_threads_for(work * 8), groups, 64, rnd_groups, j);
    return 0;
}

/* ------------------------------------------------------------- forwards */

static int check_state(const fg_opdef *d, const fg_tensor *s) {
    if (s->dtype != FG_I64) return dtype_mismatch(d, 0, FG_I64, s->dtype);
    if (s->ndim != 1 || s->shape[0] != 3)
        return fg_error_set(FG_ERR_INVALID, "the generator state must have shape [3], got %s [Op:%s]",
                            fg_shape_str(s->ndim, s->shape), d->tf_name);
    return 0;
}

/* seed [2] int32/int64 -> state [counter_lo, counter_hi, key] int64 */
int fwd_random_key_counter(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
                           fg_tensor **out) {
    (void)n_in, (void)attrs, (void)nattrs;
    fg_tensor *s = in[0];
    if (s->dtype != FG_I32 && s->dtype != FG_I64)
        return fg_error_set(FG_ERR_INVALID, "Value for attr 'Tseed' of %s is not in the list of allowed values: int32, int64 [Op:%s]",
                            tf_dtype(s->dtype), d->tf_name);
    if (s->ndim != 1 || s->shape[0] != 2)
        return fg_error_set(FG_ERR_INVALID, "seed must have shape [2], not %s [Op:%s]", fg_shape_str(s->ndim, s->shape),
                            d->tf_name);
    /* TF sign-extends an int32 seed to 64 bits */
    int64_t s0 = s->dtype == FG_I32 ? ((const int32_t *)s->data)[0] : ((const int64_t *)s->data)[0];
    int64_t s1 = s->dtype == FG_I32 ? ((const int32_t *)s->data)[1] : ((const int64_t *)s->data)[1];
    int64_t three = 3;
    fg_tensor *o = fg_tensor_new(FG_I64, 1, &three);
    if (!o) return -1;
    key_counter_from_seed((uint64_t)s0, (uint64_t)s1, (int64_t *)o->data);
    *out = o;
    return 0;
}

static int shape_from_attrs(const fg_opdef *d, const int64_t *a, int *nd, int64_t *shape) {
    *nd = (int)a[0];
    for (int i = 0; i < *nd; i++) {
        shape[i] = a[1 + i];
        if (shape[i] < 0)
            return fg_error_set(FG_ERR_INVALID, "Dimension %d must be >= 0 [Op:%s]", i, d->tf_name);
    }
    return 0;
}

/* input the state; attrs = [distribution, dtype, shape S] */
int fwd_random_philox(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
                      fg_tensor **out) {
    (void)n_in, (void)nattrs;
    if (check_state(d, in[0]) < 0) return -1;
    int dist = (int)attrs[0], dt = (int)attrs[1], nd;
    int64_t shape[FG_MAX_NDIM];
    if (dist < RD_UNIFORM || dist > RD_FULL_INT)
        return fg_error_set(FG_ERR_INVALID, "random_philox: unknown distribution %d", dist);
    int ok = dist == RD_FULL_INT ? (dt == FG_I32 || dt == FG_I64) : (dt == FG_F32 || dt == FG_F64);
    if (!ok) return not_allowed(d, dt);
    if (shape_from_attrs(d, attrs + 2, &nd, shape) < 0) return -1;
    fg_tensor *o = fg_tensor_new(dt, nd, shape);
    if (!o) return -1;
    rnd_job j = {dist, dt, philox_from_state((const int64_t *)in[0]->data), o->data, o->size, 0, 0};
    RUN_KERNEL(o, k_random(&j));
    *out = o;
    return 0;
}

/* inputs (state, minval, maxval) scalars of the output dtype; attrs = [shape S] */
int fwd_random_uniform_int(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
                           fg_tensor **out) {
    (void)n_in, (void)nattrs;
    if (check_state(d, in[0]) < 0) return -1;
    fg_tensor *lo = in[1], *hi = in[2];
    int dt = lo->dtype, nd;
    if (dt != FG_I32 && dt != FG_I64) return not_allowed(d, dt);
    if (hi->dtype != dt) return dtype_mismatch(d, 2, dt, hi->dtype);
    if (lo->ndim || hi->ndim)
        return fg_error_set(FG_ERR_INVALID, "minval must be 0-D, got shape %s [Op:%s]",
                            fg_shape_str(lo->ndim ? lo->ndim : hi->ndim, lo->ndim ? lo->shape : hi->shape), d->tf_name);
    int64_t shape[FG_MAX_NDIM];
    if (shape_from_attrs(d, attrs, &nd, shape) < 0) return -1;
    int64_t l = dt == FG_I32 ? *(const int32_t *)lo->data : *(const int64_t *)lo->data;
    int64_t h = dt == FG_I32 ? *(const int32_t *)hi->data : *(const int64_t *)hi->data;
    fg_tensor *o = fg_tensor_new(dt, nd, shape);
    if (!o) return -1;
    if (o->size > 0 && l >= h) {
        fg_decref(o);
        return fg_error_set(FG_ERR_INVALID, "Need minval < maxval, got %lld >= %lld [Op:%s]", (long long)l,
                            (long long)h, d->tf_name);
    }
    /* the range as unsigned, as TF's UniformDistribution (no overflow) */
    uint64_t range = dt == FG_I32 ? (uint64_t)(uint32_t)((uint32_t)h - (uint32_t)l) : (uint64_t)h - (uint64_t)l;
    rnd_job j = {RD_UNIFORM_INT, dt, philox_from_state((const int64_t *)in[0]->data), o->data, o->size,
                 (uint64_t)l, range};
    RUN_KERNEL(o, k_random(&j));
    *out = o;
    return 0;
}

/* the state with its counter advanced by attrs[0] (TF's Generator skips
 * 256 counters per element drawn) */
int fwd_random_skip(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
                    fg_tensor **out) {
    (void)n_in, (void)nattrs;
    if (check_state(d, in[0]) < 0) return -1;
    int64_t three = 3;
    fg_tensor *o = fg_tensor_new(FG_I64, 1, &three);
    if (!o) return -1;
    const int64_t *s = (const int64_t *)in[0]->data;
    philox g = philox_from_state(s);
    philox_skip(&g, (uint64_t)attrs[0]);
    int64_t *r = (int64_t *)o->data;
    r[0] = (int64_t)((uint64_t)g.c[0] | (uint64_t)g.c[1] << 32);
    r[1] = (int64_t)((uint64_t)g.c[2] | (uint64_t)g.c[3] << 32);
    r[2] = s[2];
    *out = o;
    return 0;
}

/* ---------------------------------------------------------- categorical */

typedef struct {
    philox base;
    const void *logits;
    int ldtype, odtype;
    int64_t classes, samples;
    void *out;
    double *cdf; /* batch x classes scratch */
} cat_job;

/* TF's CPU MultinomialFunctor: an unnormalised CDF of exp(logit - max) in
 * double over the finite logits, and each sample the upper bound of a
 * uniform double (two 32-bit samples) times its total. TF reads one
 * stream of 32-bit samples row after row (when it runs one shard); sample
 * j of row b takes the pair at 2 (b * samples + j), so rows can run in
 * parallel and still draw TF's numbers. */
static void cat_rows(void *v, int64_t lo, int64_t hi) {
    const cat_job *j = (const cat_job *)v;
    const int64_t k = j->classes, ns = j->samples;
    for (int64_t b = lo; b < hi; b++) {
        double *cdf = j->cdf + b * k;
        double mx = -INFINITY;
        for (int64_t c = 0; c < k; c++) {
            double x = j->ldtype == FG_F32 ? ((const float *)j->logits)[b * k + c] : ((const double *)j->logits)[b * k + c];
            if (isfinite(x) && x > mx) mx = x;
        }
        if (mx == -INFINITY) mx = j->ldtype == FG_F32 ? -3.40282346638528859812e+38 : -1.79769313486231570815e+308;
        double total = 0;
        for (int64_t c = 0; c < k; c++) {
            double x = j->ldtype == FG_F32 ? ((const float *)j->logits)[b * k + c] : ((const double *)j->logits)[b * k + c];
            if (isfinite(x)) total += exp(x - mx);
            cdf[c] = total;
        }
        philox g = j->base;
        uint64_t first = (uint64_t)(b * ns); /* the sample index; 2 per Philox call */
        philox_skip(&g, first / 2);
        uint32_t s[4];
        int used = 4;
        if (first % 2) philox_next(&g, s), used = 2;
        for (int64_t t = 0; t < ns; t++) {
            if (used == 4) philox_next(&g, s), used = 0;
            double u = u64_to_double(s[used], s[used + 1]);
            used += 2;
            double find = u * total;
            int64_t a = 0, e = k; /* upper_bound */
            while (a < e) {
                int64_t m = a + (e - a) / 2;
                if (cdf[m] <= find) a = m + 1;
                else e = m;
            }
            if (j->odtype == FG_I32)
                ((int32_t *)j->out)[b * ns + t] = (int32_t)a;
            else
                ((int64_t *)j->out)[b * ns + t] = a;
        }
    }
}

/* inputs (state, logits [batch, classes]); attrs = [num_samples, output dtype] */
int fwd_random_categorical(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
                           fg_tensor **out) {
    (void)n_in, (void)nattrs;
    if (check_state(d, in[0]) < 0) return -1;
    fg_tensor *l = in[1];
    int odt = (int)attrs[1];
    if (l->dtype != FG_F32 && l->dtype != FG_F64) return not_allowed(d, l->dtype);
    if (odt != FG_I32 && odt != FG_I64)
        return fg_error_set(FG_ERR_INVALID, "Value for attr 'output_dtype' of %s is not in the list of allowed values: int32, int64 [Op:%s]",
                            tf_dtype(odt), d->tf_name);
    if (l->ndim != 2)
        return fg_error_set(FG_ERR_INVALID, "logits should be a matrix, got shape %s [Op:%s]",
                            fg_shape_str(l->ndim, l->shape), d->tf_name);
    if (attrs[0] < 0)
        return fg_error_set(FG_ERR_INVALID, "num_samples should be non-negative, got %lld [Op:%s]",
                            (long long)attrs[0], d->tf_name);
    if (l->shape[1] <= 0)
        return fg_error_set(FG_ERR_INVALID, "num_classes should be positive, got %lld [Op:%s]",
                            (long long)l->shape[1], d->tf_name);
    int64_t shape[2] = {l->shape[0], attrs[0]};
    fg_tensor *o = fg_tensor_new(odt, 2, shape);
    if (!o) return -1;
    if (o->size > 0) {
        double *cdf = (double *)malloc((size_t)(shape[0] * l->shape[1]) * sizeof(double));
        if (!cdf) {
            fg_decref(o);
            return fg_error_set(FG_ERR_NOMEM, "random_categorical: out of memory");
        }
        cat_job j = {philox_from_state((const int64_t *)in[0]->data), l->data, l->dtype, odt, l->shape[1], attrs[0],
                     o->data, cdf};
        int64_t work = shape[0] * (shape[1] + l->shape[1]);
        void *tok = fg_gil_release_if(work);
        fg_parallel_range(fg_threads_for(work * 8), shape[0], 1, cat_rows, &j);
        fg_gil_acquire(tok);
        free(cdf);
    }
    *out = o;
    return 0;
}
