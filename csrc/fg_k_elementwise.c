/* fg_k_elementwise.c: unary, binary, where, broadcast_to, cast, fill, range.
 * Broadcasting operands go through bc_plan (below). */
#include "fg_kernels_impl.h"

/* ------------------------------------------------------------------------ */
/* Unary                                                                    */

#define DEF_UN(NAME, T, EXPR) DEF_UN_ATTR(NAME, T, EXPR, )
#define DEF_UN_ATTR(NAME, T, EXPR, ATTR)                                      \
    static ATTR void NAME(const void *xv, void *ov, int64_t n)                \
    {                                                                         \
        const T *X = (const T *)xv;                                           \
        T *O = (T *)ov;                                                       \
        FG_SIMD for (int64_t i = 0; i < n; i++) {                             \
            const T v = X[i];                                                 \
            O[i] = (T)(EXPR);                                                 \
        }                                                                     \
    }

typedef union {
    uint32_t u;
    float f;
} fg_fbits;

/* exp(r) for |r| <= ln2/2: 1 + (r + r^2 P(r)), P a degree-4 minimax fit
 * made for this file (relative error 3e-9, a twentieth of an ulp). The
 * small part is summed first, so only the last addition rounds at the
 * result's scale. */
static inline float exp_poly_f32(float r)
{
    return 1.0f + (r + r * r * (0.49999994f + r * (0.16666521f + r * (0.04166839f +
                                r * (0.00836871f + r * 0.00138146f)))));
}

/* float32 exp without libm (glibc's expf is a call per element; this
 * vectorises like tanh_f32). exp(v) = 2^k exp_poly(r), v = k ln2 + r by
 * Cody-Waite (LN2_HI has 9 bits, so k*LN2_HI is exact for |k| <= 150).
 * v is clamped to [-104, 89], outside which the result is 0 or inf anyway;
 * 2^k is applied as two normal powers 2^(k/2) 2^(k - k/2), so results in
 * the subnormal range are rounded once, and overflow gives inf. NaN is
 * passed through (and kept away from the int conversion). Measured: at
 * most 0.96 ulp from the float64 exp over every 97th float in [-104, 89],
 * and 2.3 ulp for the float32 sigmoid built on it (csrc/test_kernels.c). */
static inline float exp_f32(float v)
{
    fg_fbits s1, s2;
    float vc = v == v ? v : 0.0f, kf, r;
    int32_t k, k1;
    vc = vc > 89.0f ? 89.0f : vc;
    vc = vc < -104.0f ? -104.0f : vc;
    kf = (vc * 1.44269504f + 12582912.0f) - 12582912.0f;
    r = (vc - kf * 0.693359375f) - kf * -2.12194440e-4f;
    k = (int32_t)kf;
    k1 = k / 2;
    s1.u = (uint32_t)(k1 + 127) << 23;
    s2.u = (uint32_t)(k - k1 + 127) << 23;
    r = exp_poly_f32(r) * s1.f * s2.f;
    return v == v ? r : v;
}

/* float32 tanh without libm. glibc's tanhf is a scalar call per element
 * (about 25 ns, the bulk of a tanh layer's time); this is branch-free
 * float arithmetic that "omp simd" vectorises, so both halves below are
 * computed for every lane and one is selected. (gcc if-converts the
 * selects only under -fno-trapping-math, which setup.py passes; without
 * it the same code runs scalar and gives the same bits.)
 * - |v| < 0.55: v + v*s*R(s), s = v*v, R a degree-4 minimax fit made for
 *   this file (relative error 1e-9 on [0, 0.55]); the correction is at
 *   most a tenth of the result, so its rounding barely shows.
 * - otherwise: 1 - 2/(E + 1), E = exp(2|v|) = 2^k p(r) by Cody-Waite
 *   reduction (ln2 split so that k*LN2_HI is exact) and exp_poly_f32
 *   below. 2/(E+1) <= 1/2
 *   there, so its rounding costs at most about one ulp of the result.
 * |v| is clamped at 9.1, beyond which tanh rounds to 1 in float32; that
 * keeps k in [2, 27], so 2^k is built directly from exponent bits. The
 * clamp is an integer min on the bits (a >= 0 orders like its bits), so
 * NaN (bits above inf) clamps too and the int conversion never sees it.
 * Measured over every 7th float in [0, 11]: at most 1.5 ulp from the
 * float64 tanh (csrc/test_kernels.c checks it). NaN is passed through,
 * +-0 and subnormals give themselves, +-inf give +-1. */
static inline float tanh_f32(float v)
{
    const float a = fabsf(v), s = a * a;
    const float small = a + a * s * (-0.33333316f + s * (0.13332586f + s * (-0.05385232f +
                                     s * (0.02107171f + s * -0.00627429f))));
    fg_fbits ac, scale;
    float y, kf, r, p, big, t;
    ac.f = a;
    ac.u = ac.u < 0x4111999au ? ac.u : 0x4111999au; /* min(a, 9.1f) */
    y = ac.f + ac.f;
    /* round to nearest integer: adding 1.5*2^23 pushes the fraction out */
    kf = (y * 1.44269504f + 12582912.0f) - 12582912.0f;
    r = (y - kf * 0.693359375f) - kf * -2.12194440e-4f;
    p = exp_poly_f32(r);
    scale.u = (uint32_t)((int32_t)kf + 127) << 23;
    big = 1.0f - 2.0f / (p * scale.f + 1.0f);
    t = a < 0.55f ? small : big;
    t = a == a ? t : v;
    return copysignf(t, v);
}

/* tanh_f32, exp_f32 and sigmoid are compute-bound (tanh: ~19 instructions
 * an element at SSE2 width), so on x86-64 their loops also get an AVX2
 * clone picked at load time (ifunc):
 * twice the lanes, same operations. AVX2 without FMA, so nothing is
 * contracted and both clones give the same bits. */
#if defined(__x86_64__) && defined(__linux__) && \
    ((defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 6) || (defined(__clang__) && __clang_major__ >= 14))
#define FG_CLONES_AVX2 __attribute__((target_clones("avx2", "default")))
#else
#define FG_CLONES_AVX2
#endif

/* sigmoid and softplus never evaluate exp of a large positive argument:
 * e = exp(-|v|) is in (0, 1]. EXP is exp_f32 for float32 (CLONES adds the
 * AVX2 clone to those compute-bound loops), libm's exp for float64. */
#define DEF_UN_FLOAT(S, T, M, EXP, CLONES)                                    \
    static inline T sigmoid_##S(T v)                                          \
    {                                                                         \
        const T e = EXP(-M(fabs)(v));                                         \
        const T one = (T)1 / ((T)1 + e), neg = e / ((T)1 + e);                \
        return v >= 0 ? one : neg;                                            \
    }                                                                         \
    DEF_UN(u_neg_##S, T, -v)                                                  \
    DEF_UN(u_square_##S, T, v * v)                                            \
    DEF_UN(u_sqrt_##S, T, M(sqrt)(v))                                         \
    DEF_UN_ATTR(u_exp_##S, T, EXP(v), CLONES)                                 \
    DEF_UN(u_log_##S, T, M(log)(v))                                           \
    DEF_UN(u_log1p_##S, T, M(log1p)(v))                                       \
    DEF_UN(u_sin_##S, T, M(sin)(v))                                           \
    DEF_UN(u_cos_##S, T, M(cos)(v))                                           \
    DEF_UN(u_tan_##S, T, M(tan)(v))                                           \
    DEF_UN_ATTR(u_sigmoid_##S, T, sigmoid_##S(v), CLONES)                     \
    DEF_UN(u_abs_##S, T, M(fabs)(v))                                          \
    DEF_UN(u_sign_##S, T, v > 0 ? (T)1 : (v < 0 ? (T)-1 : v))                 \
    DEF_UN(u_relu_##S, T, v < 0 ? (T)0 : v)                                   \
    DEF_UN(u_softplus_##S, T, (v > 0 ? v : (T)0) + M(log1p)(M(exp)(-M(fabs)(v)))) \
    DEF_UN(u_recip_##S, T, (T)1 / v)                                          \
    DEF_UN(u_rsqrt_##S, T, (T)1 / M(sqrt)(v))                                 \
    DEF_UN(u_floor_##S, T, M(floor)(v))                                       \
    DEF_UN(u_ceil_##S, T, M(ceil)(v))                                         \
    DEF_UN(u_round_##S, T, M(rint)(v)) /* half to even, as TF's Round */    \
    DEF_UN(u_asin_##S, T, M(asin)(v))                                         \
    DEF_UN(u_acos_##S, T, M(acos)(v))                                         \
    DEF_UN(u_atan_##S, T, M(atan)(v))                                         \
    DEF_UN(u_sinh_##S, T, M(sinh)(v))                                         \
    DEF_UN(u_cosh_##S, T, M(cosh)(v))                                         \
    DEF_UN(u_asinh_##S, T, M(asinh)(v))                                       \
    DEF_UN(u_acosh_##S, T, M(acosh)(v))                                       \
    DEF_UN(u_atanh_##S, T, M(atanh)(v))                                       \
    DEF_UN(u_expm1_##S, T, M(expm1)(v))                                       \
    DEF_UN(u_erf_##S, T, M(erf)(v))                                           \
    DEF_UN(u_erfc_##S, T, M(erfc)(v))                                         \
    DEF_UN(u_softsign_##S, T, v / ((T)1 + M(fabs)(v)))                        \
    /* the special functions are computed in float64 (fg_special.c) */       \
    DEF_UN(u_erfinv_##S, T, fg_sf_erfinv(v))                                  \
    DEF_UN(u_ndtri_##S, T, fg_sf_ndtri(v))                                    \
    DEF_UN(u_lgamma_##S, T, fg_sf_lgamma(v))                                  \
    DEF_UN(u_digamma_##S, T, fg_sf_digamma(v))                                \
    DEF_UN(u_i0e_##S, T, fg_sf_i0e(v))                                        \
    DEF_UN(u_i1e_##S, T, fg_sf_i1e(v))

#define DEF_UN_INT(S, T, U)                                                   \
    DEF_UN(u_neg_##S, T, (U)0 - (U)v)                                         \
    DEF_UN(u_square_##S, T, (U)v * (U)v)                                      \
    DEF_UN(u_abs_##S, T, v < 0 ? (T)((U)0 - (U)v) : v)                        \
    DEF_UN(u_sign_##S, T, (v > 0) - (v < 0))                                  \
    DEF_UN(u_relu_##S, T, v > 0 ? v : 0)                                      \
    DEF_UN(u_round_##S, T, v)

DEF_UN_FLOAT(f32, float, FG_MF32, exp_f32, FG_CLONES_AVX2)
DEF_UN_FLOAT(f64, double, FG_MF64, exp, )

static FG_CLONES_AVX2 void u_tanh_f32(const void *xv, void *ov, int64_t n)
{
    const float *X = (const float *)xv;
    float *O = (float *)ov;
    FG_SIMD for (int64_t i = 0; i < n; i++) O[i] = tanh_f32(X[i]);
}

/* float64 keeps libm's tanh (within an ulp). */
DEF_UN(u_tanh_f64, double, tanh(v))
DEF_UN_INT(i32, int32_t, uint32_t)
DEF_UN_INT(i64, int64_t, uint64_t)
DEF_UN(u_not_b, uint8_t, v == 0)

#define UN_F(name) { [FG_F32] = name##_f32, [FG_F64] = name##_f64 }
#define UN_FI(name) { [FG_F32] = name##_f32, [FG_F64] = name##_f64, [FG_I32] = name##_i32, [FG_I64] = name##_i64 }

static const flat_fn un_table[FG_U_NKINDS][FG_NDTYPES] = {
    [FG_U_NEG] = UN_FI(u_neg),
    [FG_U_SQUARE] = UN_FI(u_square),
    [FG_U_SQRT] = UN_F(u_sqrt),
    [FG_U_EXP] = UN_F(u_exp),
    [FG_U_LOG] = UN_F(u_log),
    [FG_U_LOG1P] = UN_F(u_log1p),
    [FG_U_SIN] = UN_F(u_sin),
    [FG_U_COS] = UN_F(u_cos),
    [FG_U_TAN] = UN_F(u_tan),
    [FG_U_TANH] = UN_F(u_tanh),
    [FG_U_SIGMOID] = UN_F(u_sigmoid),
    [FG_U_ABS] = UN_FI(u_abs),
    [FG_U_SIGN] = UN_FI(u_sign),
    [FG_U_RELU] = UN_FI(u_relu),
    [FG_U_SOFTPLUS] = UN_F(u_softplus),
    [FG_U_RECIPROCAL] = UN_F(u_recip),
    [FG_U_RSQRT] = UN_F(u_rsqrt),
    [FG_U_LOGICAL_NOT] = { [FG_BOOL] = u_not_b },
    [FG_U_FLOOR] = UN_F(u_floor),
    [FG_U_CEIL] = UN_F(u_ceil),
    [FG_U_ROUND] = UN_FI(u_round),
    [FG_U_ASIN] = UN_F(u_asin),
    [FG_U_ACOS] = UN_F(u_acos),
    [FG_U_ATAN] = UN_F(u_atan),
    [FG_U_SINH] = UN_F(u_sinh),
    [FG_U_COSH] = UN_F(u_cosh),
    [FG_U_ASINH] = UN_F(u_asinh),
    [FG_U_ACOSH] = UN_F(u_acosh),
    [FG_U_ATANH] = UN_F(u_atanh),
    [FG_U_EXPM1] = UN_F(u_expm1),
    [FG_U_ERF] = UN_F(u_erf),
    [FG_U_ERFC] = UN_F(u_erfc),
    [FG_U_ERFINV] = UN_F(u_erfinv),
    [FG_U_NDTRI] = UN_F(u_ndtri),
    [FG_U_LGAMMA] = UN_F(u_lgamma),
    [FG_U_DIGAMMA] = UN_F(u_digamma),
    [FG_U_BESSEL_I0E] = UN_F(u_i0e),
    [FG_U_BESSEL_I1E] = UN_F(u_i1e),
    [FG_U_SOFTSIGN] = UN_F(u_softsign),
    [FG_U_RINT] = UN_F(u_round),
};

static const char *const un_names[FG_U_NKINDS] = {
    "copy", "neg", "square", "sqrt", "exp", "log", "log1p", "sin", "cos", "tan", "tanh",
    "sigmoid", "abs", "sign", "relu", "softplus", "reciprocal", "rsqrt", "logical_not", "floor", "ceil", "round",
    "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "expm1", "erf", "erfc", "erfinv",
    "ndtri", "lgamma", "digamma", "bessel_i0e", "bessel_i1e", "softsign", "rint",
};

/* Relative cost per element (see run_flat). Measured on a 2-core VM (C
 * microbenchmark, best of 400, threads spinning between regions): a
 * memory-bound multiply wins from 2 threads above ~16-32K elements (hence
 * FG_PARALLEL_MIN_ELEMENTS), the vectorised float32 tanh/exp/sigmoid from
 * ~4K, libm's scalar calls (expf: 8 ns an element) from ~2K. */
static const int64_t un_cost[FG_U_NKINDS][2] = { /* [kind] = {float32, other}; the rest 1 */
    [FG_U_TANH] = {8, 16}, [FG_U_EXP] = {8, 16}, [FG_U_SIGMOID] = {8, 16},
    [FG_U_LOG] = {16, 16}, [FG_U_LOG1P] = {16, 16}, [FG_U_SIN] = {16, 16}, [FG_U_COS] = {16, 16},
    [FG_U_TAN] = {16, 16}, [FG_U_SOFTPLUS] = {16, 16},
    [FG_U_ASIN] = {16, 16}, [FG_U_ACOS] = {16, 16}, [FG_U_ATAN] = {16, 16}, [FG_U_SINH] = {16, 16},
    [FG_U_COSH] = {16, 16}, [FG_U_ASINH] = {16, 16}, [FG_U_ACOSH] = {16, 16}, [FG_U_ATANH] = {16, 16},
    [FG_U_EXPM1] = {16, 16}, [FG_U_ERF] = {16, 16}, [FG_U_ERFC] = {16, 16},
    /* series and recurrences: tens to hundreds of ns an element */
    [FG_U_ERFINV] = {64, 64}, [FG_U_NDTRI] = {64, 64}, [FG_U_LGAMMA] = {32, 32},
    [FG_U_DIGAMMA] = {64, 64}, [FG_U_BESSEL_I0E] = {64, 64}, [FG_U_BESSEL_I1E] = {64, 64},
};

static int64_t unary_cost(int kind, int dtype)
{
    int64_t c = un_cost[kind][dtype != FG_F32];
    return c ? c : 1;
}

int fg_k_unary(int kind, int dtype, const void *x, void *out, int64_t n)
{
    int64_t es = dt_size(dtype);
    flat_fn f;
    if (!es) return err_dtype("unary", dtype);
    if (kind < 0 || kind >= FG_U_NKINDS) {
        fg_error_set(FG_ERR_INVALID, "unary: unknown kind %d", kind);
        return -1;
    }
    if (n < 0) {
        fg_error_set(FG_ERR_INVALID, "unary: negative size %lld", (long long)n);
        return -1;
    }
    if (kind == FG_U_COPY) {
        par_memcpy(out, x, n * es);
        return 0;
    }
    f = un_table[kind][dtype];
    if (!f) return err_kind("unary", un_names[kind], dtype);
    if (n) run_flat(f, x, es, out, es, n, unary_cost(kind, dtype));
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Broadcasting plan                                                        */

#define BC_MAXOP 3

/* Output dims after dropping 1s and merging neighbours that every operand
 * walks contiguously (or broadcasts) alike. str[op][d] is the element
 * stride of operand op along dim d, 0 where it broadcasts. The last dim's
 * strides are 0 or 1. */
typedef struct {
    int nd, nop;
    int64_t size;
    int64_t dim[FG_MAX_NDIM];
    int64_t str[BC_MAXOP][FG_MAX_NDIM];
} bc_plan;

static int bc_make(bc_plan *p, const char *fn, int out_ndim, const int64_t *out_shape, int nop,
                   const int *ndims, const int64_t *const *shapes)
{
    int64_t cstr[BC_MAXOP], dim_r[FG_MAX_NDIM], str_r[BC_MAXOP][FG_MAX_NDIM];
    int nd = 0;
    if (shape_size(fn, out_ndim, out_shape, &p->size)) return -1;
    for (int op = 0; op < nop; op++) {
        int64_t dummy;
        if (shape_size(fn, ndims[op], shapes[op], &dummy)) return -1;
        if (ndims[op] > out_ndim) goto bad;
        cstr[op] = 1;
    }
    for (int d = out_ndim - 1; d >= 0; d--) {
        int64_t od = out_shape[d], s[BC_MAXOP];
        int merge;
        for (int op = 0; op < nop; op++) {
            int oi = d - (out_ndim - ndims[op]);
            int64_t sd = oi >= 0 ? shapes[op][oi] : 1;
            if (sd == od) {
                s[op] = cstr[op];
                cstr[op] *= sd;
            } else if (sd == 1) {
                s[op] = 0;
            } else {
                goto bad;
            }
        }
        if (od == 1) continue;
        merge = nd > 0;
        for (int op = 0; op < nop && merge; op++)
            if (s[op] != str_r[op][nd - 1] * dim_r[nd - 1]) merge = 0;
        if (merge) {
            dim_r[nd - 1] *= od;
            continue;
        }
        dim_r[nd] = od;
        for (int op = 0; op < nop; op++) str_r[op][nd] = s[op];
        nd++;
    }
    p->nop = nop;
    if (nd == 0) {
        p->nd = 1;
        p->dim[0] = 1;
        for (int op = 0; op < nop; op++) p->str[op][0] = 0;
        return 0;
    }
    p->nd = nd;
    for (int i = 0; i < nd; i++) {
        p->dim[i] = dim_r[nd - 1 - i];
        for (int op = 0; op < nop; op++) p->str[op][i] = str_r[op][nd - 1 - i];
    }
    return 0;
bad:
    {
        char buf[160];
        size_t len = 0;
        buf[0] = 0;
        for (int op = 0; op < nop && len < sizeof buf - 40; op++)
            len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", op ? ", " : "",
                                    fg_shape_str(ndims[op], shapes[op]));
        fg_error_set(FG_ERR_INVALID, "%s: shapes %s do not broadcast to %s", fn, buf,
                     fg_shape_str(out_ndim, out_shape));
    }
    return -1;
}

/* A row callback gets operand pointers at the row start, their inner
 * strides (0 or 1), the output pointer and the row length. */
typedef void (*row_fn)(const void *fctx, const char *const *in, const int64_t *s, char *o,
                       int64_t n);

typedef struct {
    const bc_plan *p;
    const char *base[BC_MAXOP];
    int64_t es[BC_MAXOP];
    char *out;
    int64_t oes;
    row_fn row;
    const void *fctx;
} bc_job;

/* Output elements [lo, hi), in rows of the innermost dim; a piece may start
 * and end mid-row, which lets threads split even a single long row. */
static void bc_range(void *v, int64_t lo, int64_t hi)
{
    const bc_job *j = (const bc_job *)v;
    const bc_plan *p = j->p;
    const int last = p->nd - 1, nop = p->nop;
    const int64_t inner = p->dim[last];
    int64_t idx[FG_MAX_NDIM], off[BC_MAXOP], s[BC_MAXOP];
    const char *in[BC_MAXOP];
    int64_t r = lo / inner, c = lo % inner;
    char *o = j->out + lo * j->oes;
    for (int op = 0; op < nop; op++) {
        off[op] = 0;
        s[op] = p->str[op][last];
    }
    for (int d = last - 1; d >= 0; d--) {
        idx[d] = r % p->dim[d];
        r /= p->dim[d];
        for (int op = 0; op < nop; op++) off[op] += idx[d] * p->str[op][d];
    }
    while (lo < hi) {
        int64_t cnt = inner - c < hi - lo ? inner - c : hi - lo;
        for (int op = 0; op < nop; op++) in[op] = j->base[op] + (off[op] + c * s[op]) * j->es[op];
        j->row(j->fctx, in, s, o, cnt);
        o += cnt * j->oes;
        lo += cnt;
        c = 0;
        for (int d = last - 1; d >= 0; d--) {
            for (int op = 0; op < nop; op++) off[op] += p->str[op][d];
            if (++idx[d] < p->dim[d]) break;
            for (int op = 0; op < nop; op++) off[op] -= p->str[op][d] * p->dim[d];
            idx[d] = 0;
        }
    }
}

#define BC_WIDE 512 /* elements in a widened row */

/* Rows shorter than BC_WIDE/8 would cost a callback each. When every
 * operand either runs contiguously through the last two dims or is one
 * row repeated everywhere (a bias [n] against [D, n]), k rows fuse into one
 * row of k*n elements: the repeated row is copied k times into scratch
 * (BC_WIDE elements of at most 8 bytes per operand). */
static void bc_widen(bc_plan *p, bc_job *j, uint64_t (*scratch)[BC_WIDE])
{
    const int l = p->nd - 1;
    int64_t n = p->dim[l], D, k;
    if (l < 1 || n >= BC_WIDE / 8) return;
    D = p->dim[l - 1];
    for (int op = 0; op < p->nop; op++) {
        int64_t s1 = p->str[op][l], s0 = p->str[op][l - 1];
        if (s0 == s1 * n) continue;
        if (s0 != 0 || s1 != 1) return;
        for (int d = 0; d < l - 1; d++)
            if (p->str[op][d] != 0) return;
    }
    for (k = BC_WIDE / n; k >= 2; k--)
        if (D % k == 0) break;
    if (k < 2) return;
    for (int op = 0; op < p->nop; op++) {
        int64_t s1 = p->str[op][l], s0 = p->str[op][l - 1];
        if (s0 == s1 * n) {
            p->str[op][l - 1] = s0 * k;
        } else {
            char *buf = (char *)scratch[op];
            for (int64_t r = 0; r < k; r++)
                memcpy(buf + r * n * j->es[op], j->base[op], (size_t)(n * j->es[op]));
            j->base[op] = buf;
            p->str[op][l - 1] = 0;
        }
    }
    p->dim[l - 1] = D / k;
    p->dim[l] = n * k;
}

static void bc_run(bc_job *j)
{
    int64_t n = j->p->size;
    int nt = fg_threads_for(n);
    if (n <= 0) return;
    if (nt <= 1)
        bc_range(j, 0, n);
    else
        run_range(nt, n, 64, bc_range, j);
}

/* ------------------------------------------------------------------------ */
/* Binary                                                                   */

typedef void (*bin_fn)(const void *a, int64_t sa, const void *b, int64_t sb, void *o, int64_t n);

/* One loop per stride pattern, so each is a plain vectorisable loop. */
#define DEF_BIN(NAME, TI, TO, EXPR)                                           \
    static void NAME(const void *av, int64_t sa, const void *bv, int64_t sb, \
                     void *ov, int64_t n)                                     \
    {                                                                         \
        const TI *A = (const TI *)av, *B = (const TI *)bv;                    \
        TO *O = (TO *)ov;                                                     \
        if (sa && sb) {                                                       \
            FG_SIMD for (int64_t i = 0; i < n; i++) {                         \
                const TI x = A[i], y = B[i];                                  \
                O[i] = (TO)(EXPR);                                            \
            }                                                                 \
        } else if (sa) {                                                      \
            const TI y = B[0];                                                \
            FG_SIMD for (int64_t i = 0; i < n; i++) {                         \
                const TI x = A[i];                                            \
                O[i] = (TO)(EXPR);                                            \
            }                                                                 \
        } else if (sb) {                                                      \
            const TI x = A[0];                                                \
            FG_SIMD for (int64_t i = 0; i < n; i++) {                         \
                const TI y = B[i];                                            \
                O[i] = (TO)(EXPR);                                            \
            }                                                                 \
        } else {                                                              \
            const TI x = A[0], y = B[0];                                      \
            const TO r = (TO)(EXPR);                                          \
            for (int64_t i = 0; i < n; i++) O[i] = r;                         \
        }                                                                     \
    }

#define DEF_BIN_CMP(S, T)                                                     \
    DEF_BIN(b_eq_##S, T, uint8_t, x == y)                                     \
    DEF_BIN(b_ne_##S, T, uint8_t, x != y)                                     \
    DEF_BIN(b_lt_##S, T, uint8_t, x < y)                                      \
    DEF_BIN(b_le_##S, T, uint8_t, x <= y)                                     \
    DEF_BIN(b_gt_##S, T, uint8_t, x > y)                                      \
    DEF_BIN(b_ge_##S, T, uint8_t, x >= y)

/* MAX/MIN: "x != x" picks a NaN x; a NaN y loses every comparison and so
 * is picked by the final branch. */
/* TF's FloorMod for floats: fmod is exact for any quotient (a - floor(a/b)*b
 * loses everything past 2**53, and gives nan for b = inf), then the result
 * takes b's sign */
#define DEF_FMOD(S, T, M)                                                     \
    static inline T fmod_##S(T x, T y)                                        \
    {                                                                         \
        T r = M(fmod)(x, y);                                                  \
        return (r != 0 && ((y < 0) != (r < 0))) ? r + y : r;                  \
    }
DEF_FMOD(f32, float, FG_MF32)
DEF_FMOD(f64, double, FG_MF64)

#define DEF_BIN_FLOAT(S, T, M)                                                \
    DEF_BIN(b_add_##S, T, T, x + y)                                           \
    DEF_BIN(b_sub_##S, T, T, x - y)                                           \
    DEF_BIN(b_mul_##S, T, T, x * y)                                           \
    DEF_BIN(b_div_##S, T, T, x / y)                                           \
    DEF_BIN(b_pow_##S, T, T, M(pow)(x, y))                                    \
    DEF_BIN(b_max_##S, T, T, (x > y || x != x) ? x : y)                       \
    DEF_BIN(b_min_##S, T, T, (x < y || x != x) ? x : y)                       \
    DEF_BIN_CMP(S, T)                                                         \
    DEF_BIN(b_tanhg_##S, T, T, y * ((T)1 - x * x))                            \
    DEF_BIN(b_sigg_##S, T, T, y * x * ((T)1 - x))                             \
    DEF_BIN(b_relug_##S, T, T, y * (T)(x > 0)) /* TF multiplies: NaN*0 = NaN */ \
    DEF_BIN(b_sqrtg_##S, T, T, y == 0 ? (T)0 : (T)0.5 * y / x)                \
    DEF_BIN(b_sqd_##S, T, T, (x - y) * (x - y))                               \
    DEF_BIN(b_xlogy_##S, T, T, x == 0 ? (T)0 : x * M(log)(y))                 \
    DEF_BIN(b_divnn_##S, T, T, y == 0 ? (T)0 : x / y)                         \
    DEF_BIN(b_sqg_##S, T, T, y * (x + x)) /* the bits of g * (x * 2) */       \
    DEF_BIN(b_tdiv_##S, T, T, M(trunc)(x / y))                                \
    DEF_BIN(b_atan2_##S, T, T, M(atan2)(x, y))                                \
    DEF_BIN(b_xlog1py_##S, T, T, x == 0 ? (T)0 : x * M(log1p)(y))             \
    DEF_BIN(b_xdivy_##S, T, T, x == 0 ? (T)0 : x / y)                         \
    DEF_BIN(b_mulnn_##S, T, T, y == 0 ? (T)0 : x * y)                         \
    DEF_BIN(b_tmod_##S, T, T, M(fmod)(x, y))                                  \
    DEF_BIN(b_nextafter_##S, T, T, M(nextafter)(x, y))                        \
    DEF_BIN(b_igamma_##S, T, T, fg_sf_igamma(x, y))                           \
    DEF_BIN(b_igammac_##S, T, T, fg_sf_igammac(x, y))                         \
    DEF_BIN(b_igammada_##S, T, T, fg_sf_igamma_da(x, y))                      \
    DEF_BIN(b_polygamma_##S, T, T, fg_sf_polygamma(x, y))                     \
    DEF_BIN(b_zeta_##S, T, T, fg_sf_zeta(x, y))                               \
    /* TF's ReciprocalGrad and RsqrtGrad: a zero gradient stays 0 */         \
    DEF_BIN(b_recipg_##S, T, T, y == 0 ? (T)0 : -x * x * y)                   \
    DEF_BIN(b_rsqrtg_##S, T, T, y == 0 ? (T)0 : (T)-0.5 * (y * x) * (x * x)) \
    DEF_BIN(b_fmod_##S, T, T, fmod_##S(x, y))

/* Floor division that never traps: y == 0 gives 0 (the caller reports it)
 * and MIN / -1 wraps instead of raising SIGFPE. */
#define DEF_INT_HELPERS(S, T, U)                                              \
    static inline T fdiv_##S(T x, T y)                                        \
    {                                                                         \
        T q, r;                                                               \
        if (y == 0) return 0;                                                 \
        if (y == -1) return (T)((U)0 - (U)x);                                 \
        q = x / y;                                                            \
        r = x % y;                                                            \
        return (r != 0 && ((r < 0) != (y < 0))) ? q - 1 : q;                  \
    }                                                                         \
    static inline T imod_##S(T x, T y) /* TF's FloorMod */                    \
    {                                                                         \
        T r;                                                                  \
        if (y == 0 || y == -1) return 0;                                      \
        r = x % y;                                                            \
        return (r != 0 && ((r < 0) != (y < 0))) ? r + y : r;                  \
    }                                                                         \
    static inline T tdiv_##S(T x, T y) /* C's truncation, TF's TruncateDiv */ \
    {                                                                         \
        if (y == 0) return 0;                                                 \
        if (y == -1) return (T)((U)0 - (U)x);                                 \
        return x / y;                                                         \
    }                                                                         \
    static inline T tmod_##S(T x, T y) /* its remainder, the sign of x */    \
    {                                                                         \
        return (y == 0 || y == -1) ? 0 : x % y;                               \
    }                                                                         \
    static inline T ipow_##S(T x, T e)                                        \
    {                                                                         \
        U r = 1, b = (U)x;                                                    \
        if (e < 0) return x == 1 ? 1 : x == -1 ? ((e & 1) ? -1 : 1) : 0;      \
        while (e) {                                                           \
            if (e & 1) r *= b;                                                \
            b *= b;                                                           \
            e >>= 1;                                                          \
        }                                                                     \
        return (T)r;                                                          \
    }

#define DEF_BIN_INT(S, T, U)                                                  \
    DEF_INT_HELPERS(S, T, U)                                                  \
    DEF_BIN(b_add_##S, T, T, (U)x + (U)y)                                     \
    DEF_BIN(b_sub_##S, T, T, (U)x - (U)y)                                     \
    DEF_BIN(b_mul_##S, T, T, (U)x * (U)y)                                     \
    DEF_BIN(b_div_##S, T, T, fdiv_##S(x, y))                                  \
    DEF_BIN(b_pow_##S, T, T, ipow_##S(x, y))                                  \
    DEF_BIN(b_max_##S, T, T, x > y ? x : y)                                   \
    DEF_BIN(b_min_##S, T, T, x < y ? x : y)                                   \
    DEF_BIN_CMP(S, T)                                                         \
    DEF_BIN(b_relug_##S, T, T, x > 0 ? y : 0)                                 \
    DEF_BIN(b_sqd_##S, T, T, ((U)x - (U)y) * ((U)x - (U)y))                   \
    DEF_BIN(b_tdiv_##S, T, T, tdiv_##S(x, y))                                 \
    DEF_BIN(b_tmod_##S, T, T, tmod_##S(x, y)) \
    DEF_BIN(b_fmod_##S, T, T, imod_##S(x, y))

DEF_BIN_FLOAT(f32, float, FG_MF32)
DEF_BIN_FLOAT(f64, double, FG_MF64)
DEF_BIN_INT(i32, int32_t, uint32_t)
DEF_BIN_INT(i64, int64_t, uint64_t)
DEF_BIN_CMP(b, uint8_t)
DEF_BIN(b_and_b, uint8_t, uint8_t, (x != 0) & (y != 0))
DEF_BIN(b_or_b, uint8_t, uint8_t, (x != 0) | (y != 0))

#define BI_F(name) { [FG_F32] = name##_f32, [FG_F64] = name##_f64 }
#define BI_FI(name) { [FG_F32] = name##_f32, [FG_F64] = name##_f64, [FG_I32] = name##_i32, [FG_I64] = name##_i64 }
#define BI_FIB(name) { [FG_F32] = name##_f32, [FG_F64] = name##_f64, [FG_I32] = name##_i32, [FG_I64] = name##_i64, [FG_BOOL] = name##_b }

static const bin_fn bin_table[FG_B_NKINDS][FG_NDTYPES] = {
    [FG_B_ADD] = BI_FI(b_add),
    [FG_B_SUB] = BI_FI(b_sub),
    [FG_B_MUL] = BI_FI(b_mul),
    [FG_B_DIV] = BI_FI(b_div),
    [FG_B_POW] = BI_FI(b_pow),
    [FG_B_MAX] = BI_FI(b_max),
    [FG_B_MIN] = BI_FI(b_min),
    [FG_B_EQ] = BI_FIB(b_eq),
    [FG_B_NE] = BI_FIB(b_ne),
    [FG_B_LT] = BI_FIB(b_lt),
    [FG_B_LE] = BI_FIB(b_le),
    [FG_B_GT] = BI_FIB(b_gt),
    [FG_B_GE] = BI_FIB(b_ge),
    [FG_B_LOGICAL_AND] = { [FG_BOOL] = b_and_b },
    [FG_B_LOGICAL_OR] = { [FG_BOOL] = b_or_b },
    [FG_B_TANH_GRAD] = BI_F(b_tanhg),
    [FG_B_SIGMOID_GRAD] = BI_F(b_sigg),
    [FG_B_RELU_GRAD] = BI_FI(b_relug),
    [FG_B_SQRT_GRAD] = BI_F(b_sqrtg),
    [FG_B_SQUARED_DIFF] = BI_FI(b_sqd),
    [FG_B_XLOGY] = BI_F(b_xlogy),
    /* integer floor division already gives 0 for a zero divisor */
    [FG_B_DIV_NO_NAN] = { [FG_F32] = b_divnn_f32, [FG_F64] = b_divnn_f64, [FG_I32] = b_div_i32, [FG_I64] = b_div_i64 },
    [FG_B_SQUARE_GRAD] = BI_F(b_sqg),
    [FG_B_TRUNCDIV] = BI_FI(b_tdiv),
    [FG_B_ATAN2] = BI_F(b_atan2),
    [FG_B_XLOG1PY] = BI_F(b_xlog1py),
    [FG_B_XDIVY] = BI_F(b_xdivy),
    [FG_B_MUL_NO_NAN] = BI_F(b_mulnn),
    [FG_B_TRUNCMOD] = BI_FI(b_tmod),
    [FG_B_NEXTAFTER] = BI_F(b_nextafter),
    [FG_B_IGAMMA] = BI_F(b_igamma),
    [FG_B_IGAMMAC] = BI_F(b_igammac),
    [FG_B_IGAMMA_GRAD_A] = BI_F(b_igammada),
    [FG_B_POLYGAMMA] = BI_F(b_polygamma),
    [FG_B_ZETA] = BI_F(b_zeta),
    [FG_B_RECIP_GRAD] = BI_F(b_recipg),
    [FG_B_RSQRT_GRAD] = BI_F(b_rsqrtg),
    [FG_B_FLOORMOD] = BI_FI(b_fmod),
};

static const char *const bin_names[FG_B_NKINDS] = {
    "add", "sub", "mul", "div", "pow", "maximum", "minimum", "equal", "not_equal", "less",
    "less_equal", "greater", "greater_equal", "logical_and", "logical_or", "tanh_grad",
    "sigmoid_grad", "relu_grad", "sqrt_grad", "squared_difference", "xlogy", "div_no_nan",
    "square_grad", "truncatediv", "atan2", "xlog1py", "xdivy", "mul_no_nan", "truncatemod", "nextafter",
    "igamma", "igammac", "igamma_grad_a", "polygamma", "zeta", "reciprocal_grad", "rsqrt_grad", "floormod",
};

int fg_k_binary_has(int kind, int dtype)
{
    return kind >= 0 && kind < FG_B_NKINDS && dtype >= 0 && dtype < FG_NDTYPES && bin_table[kind][dtype];
}

static int bin_is_bool_out(int kind)
{
    return (kind >= FG_B_EQ && kind <= FG_B_GE) || kind == FG_B_LOGICAL_AND ||
           kind == FG_B_LOGICAL_OR;
}

static void bin_row(const void *fctx, const char *const *in, const int64_t *s, char *o, int64_t n)
{
    const bin_fn f = *(const bin_fn *)fctx;
    f(in[0], s[0], in[1], s[1], o, n);
}

int fg_k_binary(int kind, int dtype, const void *a, int a_ndim, const int64_t *a_shape,
                const void *b, int b_ndim, const int64_t *b_shape, void *out, int out_ndim,
                const int64_t *out_shape)
{
    bc_plan p;
    bc_job j;
    bin_fn f;
    uint64_t scratch[BC_MAXOP][BC_WIDE];
    int ndims[2] = {a_ndim, b_ndim};
    const int64_t *shapes[2] = {a_shape, b_shape};
    int64_t es = dt_size(dtype);
    if (!es) return err_dtype("binary", dtype);
    if (kind < 0 || kind >= FG_B_NKINDS) {
        fg_error_set(FG_ERR_INVALID, "binary: unknown kind %d", kind);
        return -1;
    }
    f = bin_table[kind][dtype];
    if (!f) return err_kind("binary", bin_names[kind], dtype);
    if (bc_make(&p, "binary", out_ndim, out_shape, 2, ndims, shapes)) return -1;
    if (p.size == 0) return 0;
    j.p = &p;
    j.base[0] = (const char *)a;
    j.base[1] = (const char *)b;
    j.es[0] = j.es[1] = es;
    j.out = (char *)out;
    j.oes = bin_is_bool_out(kind) ? 1 : es;
    j.row = bin_row;
    j.fctx = &f;
    bc_widen(&p, &j, scratch);
    bc_run(&j);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Ternary (betainc)                                                        */

#define DEF_TER(NAME, T, EXPR)                                                \
    static void NAME(const void *fctx, const char *const *in, const int64_t *s, \
                     char *o, int64_t n)                                      \
    {                                                                         \
        const T *A = (const T *)in[0], *B = (const T *)in[1], *C = (const T *)in[2]; \
        T *O = (T *)o;                                                        \
        (void)fctx;                                                           \
        for (int64_t i = 0; i < n; i++) {                                     \
            const T a = A[i * s[0]], b = B[i * s[1]], x = C[i * s[2]];        \
            O[i] = (T)(EXPR);                                                 \
        }                                                                     \
    }
DEF_TER(t_betainc_f32, float, fg_sf_betainc(a, b, x))
DEF_TER(t_betainc_f64, double, fg_sf_betainc(a, b, x))

static const row_fn ter_table[FG_T_NKINDS][FG_NDTYPES] = {
    [FG_T_BETAINC] = { [FG_F32] = t_betainc_f32, [FG_F64] = t_betainc_f64 },
};

int fg_k_ternary(int kind, int dtype, const void *a, int a_ndim, const int64_t *a_shape,
                 const void *b, int b_ndim, const int64_t *b_shape,
                 const void *c, int c_ndim, const int64_t *c_shape,
                 void *out, int out_ndim, const int64_t *out_shape)
{
    bc_plan p;
    bc_job j;
    row_fn f;
    int ndims[3] = {a_ndim, b_ndim, c_ndim};
    const int64_t *shapes[3] = {a_shape, b_shape, c_shape};
    int64_t es = dt_size(dtype);
    if (!es) return err_dtype("ternary", dtype);
    if (kind < 0 || kind >= FG_T_NKINDS) {
        fg_error_set(FG_ERR_INVALID, "ternary: unknown kind %d", kind);
        return -1;
    }
    f = ter_table[kind][dtype];
    if (!f) return err_kind("ternary", "betainc", dtype);
    if (bc_make(&p, "ternary", out_ndim, out_shape, 3, ndims, shapes)) return -1;
    if (p.size == 0) return 0;
    j.p = &p;
    j.base[0] = (const char *)a;
    j.base[1] = (const char *)b;
    j.base[2] = (const char *)c;
    j.es[0] = j.es[1] = j.es[2] = es;
    j.out = (char *)out;
    j.oes = es;
    j.row = f;
    j.fctx = NULL;
    bc_run(&j);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* where, broadcast_to                                                      */

#define DEF_WHERE(S, T)                                                       \
    static void where_row_##S(const void *fctx, const char *const *in,       \
                              const int64_t *s, char *o, int64_t n)           \
    {                                                                         \
        const uint8_t *c = (const uint8_t *)in[0];                            \
        const T *x = (const T *)in[1], *y = (const T *)in[2];                 \
        T *O = (T *)o;                                                        \
        (void)fctx;                                                           \
        if (s[0] == 0) { /* one condition for the whole row */               \
            const T *src = c[0] ? x : y;                                      \
            if (c[0] ? s[1] : s[2]) {                                         \
                memmove(O, src, (size_t)n * sizeof(T));                       \
            } else {                                                          \
                const T v = src[0];                                           \
                FG_SIMD for (int64_t i = 0; i < n; i++) O[i] = v;             \
            }                                                                 \
        } else if (s[1] && s[2]) {                                            \
            FG_SIMD for (int64_t i = 0; i < n; i++) O[i] = c[i] ? x[i] : y[i]; \
        } else {                                                              \
            const int64_t sx = s[1], sy = s[2];                               \
            for (int64_t i = 0; i < n; i++) O[i] = c[i] ? x[i * sx] : y[i * sy]; \
        }                                                                     \
    }
DEF_WHERE(1, uint8_t)
DEF_WHERE(4, fg_u32)
DEF_WHERE(8, fg_u64)

static row_fn where_row_for(int64_t es)
{
    return es == 1 ? where_row_1 : es == 4 ? where_row_4 : where_row_8;
}

int fg_k_where(int dtype, const uint8_t *cond, int c_ndim, const int64_t *c_shape, const void *x,
               int x_ndim, const int64_t *x_shape, const void *y, int y_ndim,
               const int64_t *y_shape, void *out, int out_ndim, const int64_t *out_shape)
{
    bc_plan p;
    bc_job j;
    uint64_t scratch[BC_MAXOP][BC_WIDE];
    int ndims[3] = {c_ndim, x_ndim, y_ndim};
    const int64_t *shapes[3] = {c_shape, x_shape, y_shape};
    int64_t es = dt_size(dtype);
    if (!es) return err_dtype("where", dtype);
    if (bc_make(&p, "where", out_ndim, out_shape, 3, ndims, shapes)) return -1;
    if (p.size == 0) return 0;
    j.p = &p;
    j.base[0] = (const char *)cond;
    j.base[1] = (const char *)x;
    j.base[2] = (const char *)y;
    j.es[0] = 1;
    j.es[1] = j.es[2] = es;
    j.out = (char *)out;
    j.oes = es;
    j.row = where_row_for(es);
    j.fctx = NULL;
    bc_widen(&p, &j, scratch);
    bc_run(&j);
    return 0;
}

static void bcast_row(const void *fctx, const char *const *in, const int64_t *s, char *o,
                      int64_t n)
{
    const int64_t es = *(const int64_t *)fctx;
    if (s[0])
        memcpy(o, in[0], (size_t)(n * es));
    else
        fill_bytes(o, in[0], n, es);
}

int fg_k_broadcast_to(int dtype, const void *x, int ndim, const int64_t *shape, void *out,
                      int out_ndim, const int64_t *out_shape)
{
    bc_plan p;
    bc_job j;
    uint64_t scratch[BC_MAXOP][BC_WIDE];
    int64_t es = dt_size(dtype);
    if (!es) return err_dtype("broadcast_to", dtype);
    if (bc_make(&p, "broadcast_to", out_ndim, out_shape, 1, &ndim, &shape)) return -1;
    if (p.size == 0) return 0;
    j.p = &p;
    j.base[0] = (const char *)x;
    j.es[0] = es;
    j.out = (char *)out;
    j.oes = es;
    j.row = bcast_row;
    j.fctx = &es;
    bc_widen(&p, &j, scratch);
    bc_run(&j);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* cast, fill, range                                                        */

#define DEF_CAST(NAME, TS, TD, EXPR)                                          \
    static void NAME(const void *sv, void *dv, int64_t n)                     \
    {                                                                         \
        const TS *X = (const TS *)sv;                                         \
        TD *O = (TD *)dv;                                                     \
        FG_SIMD for (int64_t i = 0; i < n; i++) {                             \
            const TS v = X[i];                                                \
            O[i] = (TD)(EXPR);                                                \
        }                                                                     \
    }

DEF_CAST(c_f32_f64, float, double, v)
DEF_CAST(c_f32_i32, float, int32_t, f32_to_i32(v))
DEF_CAST(c_f32_i64, float, int64_t, f32_to_i64(v))
DEF_CAST(c_f32_b, float, uint8_t, v != 0)
DEF_CAST(c_f64_f32, double, float, v)
DEF_CAST(c_f64_i32, double, int32_t, f64_to_i32(v))
DEF_CAST(c_f64_i64, double, int64_t, f64_to_i64(v))
DEF_CAST(c_f64_b, double, uint8_t, v != 0)
DEF_CAST(c_i32_f32, int32_t, float, v)
DEF_CAST(c_i32_f64, int32_t, double, v)
DEF_CAST(c_i32_i64, int32_t, int64_t, v)
DEF_CAST(c_i32_b, int32_t, uint8_t, v != 0)
DEF_CAST(c_i64_f32, int64_t, float, v)
DEF_CAST(c_i64_f64, int64_t, double, v)
DEF_CAST(c_i64_i32, int64_t, int32_t, (uint64_t)v) /* wraps, as TF does */
DEF_CAST(c_i64_b, int64_t, uint8_t, v != 0)
DEF_CAST(c_b_f32, uint8_t, float, v != 0)
DEF_CAST(c_b_f64, uint8_t, double, v != 0)
DEF_CAST(c_b_i32, uint8_t, int32_t, v != 0)
DEF_CAST(c_b_i64, uint8_t, int64_t, v != 0)

static const flat_fn cast_table[FG_NDTYPES][FG_NDTYPES] = {
    [FG_F32] = { [FG_F64] = c_f32_f64, [FG_I32] = c_f32_i32, [FG_I64] = c_f32_i64, [FG_BOOL] = c_f32_b },
    [FG_F64] = { [FG_F32] = c_f64_f32, [FG_I32] = c_f64_i32, [FG_I64] = c_f64_i64, [FG_BOOL] = c_f64_b },
    [FG_I32] = { [FG_F32] = c_i32_f32, [FG_F64] = c_i32_f64, [FG_I64] = c_i32_i64, [FG_BOOL] = c_i32_b },
    [FG_I64] = { [FG_F32] = c_i64_f32, [FG_F64] = c_i64_f64, [FG_I32] = c_i64_i32, [FG_BOOL] = c_i64_b },
    [FG_BOOL] = { [FG_F32] = c_b_f32, [FG_F64] = c_b_f64, [FG_I32] = c_b_i32, [FG_I64] = c_b_i64 },
};

int fg_k_cast(int src_dtype, const void *src, int dst_dtype, void *dst, int64_t n)
{
    int64_t ss = dt_size(src_dtype), ds = dt_size(dst_dtype);
    if (!ss) return err_dtype("cast", src_dtype);
    if (!ds) return err_dtype("cast", dst_dtype);
    if (n <= 0) return 0;
    if (src_dtype == dst_dtype) {
        par_memcpy(dst, src, n * ss);
        return 0;
    }
    run_flat(cast_table[src_dtype][dst_dtype], src, ss, dst, ds, n, 1);
    return 0;
}

/* value converted to dtype, into *buf */
static void scalar_from_double(int dtype, double v, void *buf)
{
    switch (dtype) {
    case FG_F32: *(float *)buf = (float)v; break;
    case FG_F64: *(double *)buf = v; break;
    case FG_I32: *(int32_t *)buf = f64_to_i32(v); break;
    case FG_I64: *(int64_t *)buf = f64_to_i64(v); break;
    default: *(uint8_t *)buf = v != 0; break;
    }
}

struct fill_job {
    char *o;
    int64_t es;
    const void *v;
};

static void fill_range(void *vj, int64_t lo, int64_t hi)
{
    struct fill_job *j = (struct fill_job *)vj;
    fill_bytes(j->o + lo * j->es, j->v, hi - lo, j->es);
}

int fg_k_fill(int dtype, void *out, int64_t n, double value)
{
    union {
        double d;
        int64_t i;
        unsigned char b[8];
    } v;
    struct fill_job j;
    int64_t es = dt_size(dtype);
    int nt;
    if (!es) return err_dtype("fill", dtype);
    if (n <= 0) return 0;
    v.i = 0;
    scalar_from_double(dtype, value, &v);
    if (v.i == 0) { /* all-zero bits (not -0.0): memset */
        par_memzero(out, n * es);
        return 0;
    }
    nt = fg_threads_for(n);
    j.o = (char *)out;
    j.es = es;
    j.v = &v;
    if (nt <= 1)
        fill_range(&j, 0, n);
    else
        run_range(nt, n, 64, fill_range, &j);
    return 0;
}

struct range_job {
    int dtype, integral;
    char *o;
    double start, delta;
    int64_t istart, idelta;
};

/* Computed as start + i*delta (not by repeated addition) so the error does
 * not grow along the range; integer dtypes with integral start/delta use
 * exact integer arithmetic. */
static void range_range(void *vj, int64_t lo, int64_t hi)
{
    const struct range_job *j = (const struct range_job *)vj;
    const double s = j->start, d = j->delta;
    switch (j->dtype) {
    case FG_F32: {
        float *o = (float *)j->o;
        FG_SIMD for (int64_t i = lo; i < hi; i++) o[i] = (float)(s + (double)i * d);
        break;
    }
    case FG_F64: {
        double *o = (double *)j->o;
        FG_SIMD for (int64_t i = lo; i < hi; i++) o[i] = s + (double)i * d;
        break;
    }
    case FG_I32: {
        int32_t *o = (int32_t *)j->o;
        if (j->integral) {
            for (int64_t i = lo; i < hi; i++)
                o[i] = (int32_t)((uint64_t)j->istart + (uint64_t)i * (uint64_t)j->idelta);
        } else {
            for (int64_t i = lo; i < hi; i++) o[i] = f64_to_i32(s + (double)i * d);
        }
        break;
    }
    case FG_I64: {
        int64_t *o = (int64_t *)j->o;
        if (j->integral) {
            for (int64_t i = lo; i < hi; i++)
                o[i] = (int64_t)((uint64_t)j->istart + (uint64_t)i * (uint64_t)j->idelta);
        } else {
            for (int64_t i = lo; i < hi; i++) o[i] = f64_to_i64(s + (double)i * d);
        }
        break;
    }
    default: {
        uint8_t *o = (uint8_t *)j->o;
        for (int64_t i = lo; i < hi; i++) o[i] = (s + (double)i * d) != 0;
        break;
    }
    }
}

int fg_k_range(int dtype, void *out, int64_t n, double start, double delta)
{
    struct range_job j;
    int nt;
    if (!dt_size(dtype)) return err_dtype("range", dtype);
    if (n <= 0) return 0;
    j.dtype = dtype;
    j.o = (char *)out;
    j.start = start;
    j.delta = delta;
    j.integral = start == floor(start) && delta == floor(delta) && fabs(start) < 9.2e18 &&
                 fabs(delta) < 9.2e18;
    j.istart = j.integral ? (int64_t)start : 0;
    j.idelta = j.integral ? (int64_t)delta : 0;
    nt = fg_threads_for(n);
    if (nt <= 1)
        range_range(&j, 0, n);
    else
        run_range(nt, n, 64, range_range, &j);
    return 0;
}
