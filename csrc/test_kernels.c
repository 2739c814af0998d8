/* test_kernels.c: standalone checks of the kernels (fg_k_*.c) against plain
 * reference loops (computed in double, or exactly for integers).
 *
 * gcc -O2 -fopenmp -Icsrc csrc/test_kernels.c csrc/fg_*.c -lm -o /tmp/test_kernels
 * (tests/test_c_units.py builds it so, with -O3, and runs it)
 * (or, with -DFG_TEST_STUB_ERROR, only csrc/fg_k_*.c and csrc/fg_parallel.c)
 *
 * The whole suite runs once with 1 thread and once with 4, and several
 * cases are big enough to take the parallel paths.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fg_kernels.h"
#include "fg_parallel.h"
#include "fg_tensor.h"

/* fg_special.c's scalars (fg_kernels_impl.h, private to the kernels) */
double fg_sf_erfinv(double x);
double fg_sf_ndtri(double p);
double fg_sf_digamma(double x);
double fg_sf_i0e(double x);
double fg_sf_i1e(double x);
double fg_sf_zeta(double s, double q);
double fg_sf_polygamma(double n, double x);
double fg_sf_igamma(double a, double x);
double fg_sf_igammac(double a, double x);
double fg_sf_igamma_da(double a, double x);

#ifdef FG_TEST_STUB_ERROR
static char stub_msg[512];
int fg_error_set(int kind, const char *fmt, ...)
{
    va_list ap;
    (void)kind;
    va_start(ap, fmt);
    vsnprintf(stub_msg, sizeof stub_msg, fmt, ap);
    va_end(ap);
    return -1;
}
const char *fg_shape_str(int ndim, const int64_t *shape)
{
    static char buf[4][128];
    static int k = 0;
    char *b = buf[k++ & 3];
    size_t len = 0;
    b[len++] = '[';
    for (int d = 0; d < ndim && len < 100; d++)
        len += (size_t)snprintf(b + len, 128 - len, d ? ",%lld" : "%lld", (long long)shape[d]);
    snprintf(b + len, 128 - len, "]");
    return b;
}
static const char *last_error(void) { return stub_msg; }
#else
static const char *last_error(void) { return fg_error_message(); }
#endif

/* ------------------------------------------------------------------------ */

static long n_checks = 0, n_fail = 0;
static int suite_threads = 0; /* what the running suite set */
static const char *ctx_name = "";

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        n_checks++;                                                            \
        if (!(cond)) {                                                         \
            if (++n_fail <= 60) {                                              \
                printf("FAIL [%s] %s:%d: ", ctx_name, __FILE__, __LINE__);     \
                printf(__VA_ARGS__);                                           \
                printf("\n");                                                  \
            }                                                                  \
        }                                                                      \
    } while (0)

static uint64_t rng = 88172645463325252ULL;
static uint64_t next_u64(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}
static double urand(double lo, double hi) { return lo + (hi - lo) * (double)(next_u64() >> 11) / 9007199254740992.0; }
static int64_t irand(int64_t lo, int64_t hi) { return lo + (int64_t)(next_u64() % (uint64_t)(hi - lo + 1)); }

static const char *dname(int dt)
{
    static const char *n[] = {"f32", "f64", "i32", "i64", "bool"};
    return dt >= 0 && dt < 5 ? n[dt] : "?";
}
static size_t dsize(int dt) { return dt == FG_BOOL ? 1 : (dt == FG_F64 || dt == FG_I64) ? 8 : 4; }
static void *alloc_dt(int dt, int64_t n) { return calloc((size_t)(n > 0 ? n : 1), dsize(dt)); }

static double getv(int dt, const void *p, int64_t i)
{
    switch (dt) {
    case FG_F32: return ((const float *)p)[i];
    case FG_F64: return ((const double *)p)[i];
    case FG_I32: return ((const int32_t *)p)[i];
    case FG_I64: return (double)((const int64_t *)p)[i];
    default: return ((const uint8_t *)p)[i];
    }
}
static void setv(int dt, void *p, int64_t i, double v)
{
    switch (dt) {
    case FG_F32: ((float *)p)[i] = (float)v; break;
    case FG_F64: ((double *)p)[i] = v; break;
    case FG_I32: ((int32_t *)p)[i] = (int32_t)v; break;
    case FG_I64: ((int64_t *)p)[i] = (int64_t)v; break;
    default: ((uint8_t *)p)[i] = v != 0; break;
    }
}

static int64_t prod(int nd, const int64_t *s)
{
    int64_t p = 1;
    for (int i = 0; i < nd; i++) p *= s[i];
    return p;
}

/* flat index into an operand broadcast (NumPy rules) to the output */
static int64_t bidx(int ond, const int64_t *osh, int64_t flat, int nd, const int64_t *sh)
{
    int64_t idx = 0, mul = 1;
    for (int d = ond - 1; d >= 0; d--) {
        int64_t i = flat % osh[d];
        int od = d - (ond - nd);
        flat /= osh[d];
        if (od >= 0) {
            if (sh[od] != 1) idx += i * mul;
            mul *= sh[od];
        }
    }
    return idx;
}

static double tol_for(int dt) { return dt == FG_F32 ? 2e-5 : 1e-12; }

static int close_enough(double got, double ref, double tol)
{
    if (isnan(ref) || isnan(got)) return isnan(ref) && isnan(got);
    if (isinf(ref) || isinf(got)) return got == ref;
    return fabs(got - ref) <= tol * (fabs(ref) > 1 ? fabs(ref) : 1);
}

/* data in a dtype's natural test range */
static void fill_random(int dt, void *p, int64_t n, double lo, double hi)
{
    for (int64_t i = 0; i < n; i++) {
        if (dt == FG_BOOL)
            setv(dt, p, i, (double)(next_u64() & 1));
        else if (dt == FG_I32 || dt == FG_I64)
            setv(dt, p, i, (double)irand((int64_t)lo, (int64_t)hi));
        else
            setv(dt, p, i, urand(lo, hi));
    }
}

/* ------------------------------------------------------------------------ */
/* unary                                                                    */

static double ref_unary(int kind, double v)
{
    switch (kind) {
    case FG_U_COPY: return v;
    case FG_U_NEG: return -v;
    case FG_U_SQUARE: return v * v;
    case FG_U_SQRT: return sqrt(v);
    case FG_U_EXP: return exp(v);
    case FG_U_LOG: return log(v);
    case FG_U_LOG1P: return log1p(v);
    case FG_U_SIN: return sin(v);
    case FG_U_COS: return cos(v);
    case FG_U_TAN: return tan(v);
    case FG_U_TANH: return tanh(v);
    case FG_U_SIGMOID: return 1.0 / (1.0 + exp(-v));
    case FG_U_ABS: return fabs(v);
    case FG_U_SIGN: return isnan(v) ? v : (v > 0) - (v < 0);
    case FG_U_RELU: return v < 0 ? 0 : v;
    case FG_U_SOFTPLUS: return v > 30 ? v + log1p(exp(-v)) : log1p(exp(v));
    case FG_U_RECIPROCAL: return 1.0 / v;
    case FG_U_RSQRT: return 1.0 / sqrt(v);
    case FG_U_LOGICAL_NOT: return v == 0;
    case FG_U_FLOOR: return floor(v);
    case FG_U_CEIL: return ceil(v);
    case FG_U_ROUND: return nearbyint(v); /* half to even in the default mode */
    case FG_U_ASIN: return asin(v);
    case FG_U_ACOS: return acos(v);
    case FG_U_ATAN: return atan(v);
    case FG_U_SINH: return sinh(v);
    case FG_U_COSH: return cosh(v);
    case FG_U_ASINH: return asinh(v);
    case FG_U_ACOSH: return acosh(v);
    case FG_U_ATANH: return atanh(v);
    case FG_U_EXPM1: return expm1(v);
    case FG_U_ERF: return erf(v);
    case FG_U_ERFC: return erfc(v);
    case FG_U_LGAMMA: return lgamma(v);
    case FG_U_SOFTSIGN: return v / (1 + fabs(v));
    case FG_U_RINT: return nearbyint(v);
    /* the special functions' values are checked against SciPy and TF in
     * tests/test_tfdiff_math.py and test_math_special.py; here the
     * kernels' plumbing (dtypes, threads, in place) against the scalars */
    case FG_U_ERFINV: return fg_sf_erfinv(v);
    case FG_U_NDTRI: return fg_sf_ndtri(v);
    case FG_U_DIGAMMA: return fg_sf_digamma(v);
    case FG_U_BESSEL_I0E: return fg_sf_i0e(v);
    case FG_U_BESSEL_I1E: return fg_sf_i1e(v);
    default: return NAN;
    }
}

static void test_unary(void)
{
    const int64_t sizes[] = {1, 7, 1000, 100003};
    ctx_name = "unary";
    for (int dt = FG_F32; dt <= FG_I64; dt++) {
        int isf = dt <= FG_F64;
        for (int kind = 0; kind < FG_U_NKINDS; kind++) {
            int ok_int = kind == FG_U_COPY || kind == FG_U_NEG || kind == FG_U_SQUARE ||
                         kind == FG_U_ABS || kind == FG_U_SIGN || kind == FG_U_RELU ||
                         kind == FG_U_ROUND;
            if (kind == FG_U_LOGICAL_NOT) continue; /* bool only: below */
            int positive = kind == FG_U_SQRT || kind == FG_U_LOG || kind == FG_U_RSQRT;
            for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
                int64_t n = sizes[si];
                void *x = alloc_dt(dt, n), *o = alloc_dt(dt, n);
                int rc;
                if (isf)
                    fill_random(dt, x, n, positive ? 0.01 : -3, 3);
                else
                    fill_random(dt, x, n, -1000, 1000);
                if (n > 3 && !positive) setv(dt, x, 2, 0);
                rc = fg_k_unary(kind, dt, x, o, n);
                if (!isf && !ok_int) {
                    CHECK(rc == -1, "unary %d on %s should fail", kind, dname(dt));
                    free(x);
                    free(o);
                    break;
                }
                CHECK(rc == 0, "unary %d %s rc=%d %s", kind, dname(dt), rc, last_error());
                for (int64_t i = 0; i < n; i++) {
                    double ref = ref_unary(kind, getv(dt, x, i));
                    double got = getv(dt, o, i);
                    if (!close_enough(got, ref, isf ? tol_for(dt) : 0)) {
                        CHECK(0, "unary kind %d %s n=%lld i=%lld x=%g got %.9g ref %.9g", kind,
                              dname(dt), (long long)n, (long long)i, getv(dt, x, i), got, ref);
                        break;
                    }
                }
                /* in place: out == x */
                if (n == 1000) {
                    void *y = alloc_dt(dt, n);
                    memcpy(y, x, dsize(dt) * (size_t)n);
                    fg_k_unary(kind, dt, y, y, n);
                    CHECK(memcmp(y, o, dsize(dt) * (size_t)n) == 0, "in-place unary %d %s", kind,
                          dname(dt));
                    free(y);
                }
                free(x);
                free(o);
            }
        }
    }
    /* special values */
    {
        float xs[] = {1000.f, -1000.f, 0.f, -0.f, NAN, INFINITY, -INFINITY, 88.f, -88.f};
        float o[9];
        int n = 9;
        fg_k_unary(FG_U_SIGMOID, FG_F32, xs, o, n);
        CHECK(o[0] == 1.f && o[1] == 0.f && o[2] == 0.5f && isnan(o[4]) && o[5] == 1.f &&
                  o[6] == 0.f,
              "sigmoid extremes %g %g %g", o[0], o[1], o[2]);
        fg_k_unary(FG_U_SOFTPLUS, FG_F32, xs, o, n);
        CHECK(o[0] == 1000.f && o[1] == 0.f && fabsf(o[2] - logf(2.f)) < 1e-7f && isnan(o[4]) &&
                  o[5] == INFINITY && o[6] == 0.f && fabsf(o[7] - 88.f) < 1e-5f,
              "softplus extremes %g %g %g %g", o[0], o[1], o[5], o[7]);
        fg_k_unary(FG_U_SIGN, FG_F32, xs, o, n);
        CHECK(o[0] == 1 && o[1] == -1 && o[2] == 0 && o[3] == 0 && isnan(o[4]), "sign specials");
        fg_k_unary(FG_U_RELU, FG_F32, xs, o, n);
        CHECK(o[1] == 0 && isnan(o[4]) && o[5] == INFINITY && o[6] == 0, "relu specials");
    }
    {
        /* round is half to even, as TF's Round; floor/ceil keep -0 and inf */
        float xs[] = {2.5f, -0.5f, 3.5f, -2.5f, 0.49999997f, -0.f, INFINITY, NAN};
        float o[8];
        CHECK(fg_k_unary(FG_U_ROUND, FG_F32, xs, o, 8) == 0 && o[0] == 2 && o[1] == 0 &&
                  signbit(o[1]) && o[2] == 4 && o[3] == -2 && o[4] == 0 && o[6] == INFINITY &&
                  isnan(o[7]),
              "round half to even %g %g %g %g %g", o[0], o[1], o[2], o[3], o[4]);
        fg_k_unary(FG_U_FLOOR, FG_F32, xs, o, 8);
        CHECK(o[0] == 2 && o[1] == -1 && o[3] == -3 && signbit(o[5]) && o[6] == INFINITY,
              "floor specials");
        fg_k_unary(FG_U_CEIL, FG_F32, xs, o, 8);
        CHECK(o[0] == 3 && o[1] == 0 && signbit(o[1]) && o[3] == -2 && isnan(o[7]),
              "ceil specials");
    }
    {
        double xs[] = {800, -800, 0, NAN};
        double o[4];
        fg_k_unary(FG_U_SIGMOID, FG_F64, xs, o, 4);
        CHECK(o[0] == 1 && o[1] >= 0 && o[1] < 1e-300 && o[2] == 0.5 && isnan(o[3]), "sigmoid f64");
        fg_k_unary(FG_U_SOFTPLUS, FG_F64, xs, o, 4);
        CHECK(o[0] == 800 && o[1] >= 0 && o[1] < 1e-300 && isnan(o[3]), "softplus f64");
    }
    {
        int32_t xs[] = {INT32_MIN, -5, 0, 7};
        int32_t o[4];
        CHECK(fg_k_unary(FG_U_NEG, FG_I32, xs, o, 4) == 0 && o[0] == INT32_MIN && o[1] == 5 && o[3] == -7,
              "int neg wraps");
        fg_k_unary(FG_U_SIGN, FG_I32, xs, o, 4);
        CHECK(o[0] == -1 && o[2] == 0 && o[3] == 1, "int sign");
        CHECK(fg_k_unary(FG_U_EXP, FG_I32, xs, o, 4) == -1, "int exp must fail");
        CHECK(strstr(last_error(), "int32") != NULL, "message names dtype: %s", last_error());
    }
    {
        uint8_t b[] = {0, 1, 1, 0}, o[4];
        CHECK(fg_k_unary(FG_U_LOGICAL_NOT, FG_BOOL, b, o, 4) == 0 && o[0] == 1 && o[1] == 0 &&
                  o[3] == 1,
              "logical_not");
        CHECK(fg_k_unary(FG_U_LOGICAL_NOT, FG_F32, b, o, 1) == -1, "logical_not f32 must fail");
        CHECK(fg_k_unary(FG_U_COPY, FG_BOOL, b, o, 4) == 0 && memcmp(b, o, 4) == 0, "bool copy");
        CHECK(fg_k_unary(FG_U_NEG, 9, b, o, 4) == -1, "bad dtype");
        CHECK(fg_k_unary(99, FG_F32, b, o, 1) == -1, "bad kind");
    }
}

/* |got - ref| in units of the float32 ulp at ref (subnormal spacing at
 * the bottom). */
static double ulp_err_f32(float got, double ref)
{
    int e;
    double u;
    if (isnan(ref)) return isnan(got) ? 0 : INFINITY;
    if (isinf(ref)) return (double)got == ref ? 0 : INFINITY;
    frexp(ref, &e);
    u = ldexp(1.0, e - 24);
    if (u < 0x1p-149) u = 0x1p-149;
    return fabs((double)got - ref) / u;
}

/* float32 tanh is our own rational-free approximation (fg_k_elementwise.c):
 * every 29th float32 in [0, 11] (tanh rounds to 1 from 9.02 on), both
 * signs, against the float64 tanh; and the special values. */
static void test_tanh_f32_ulp(void)
{
    const uint32_t top = 0x41300000u; /* 11.0f */
    const int64_t chunk = 1 << 20;
    float *x = (float *)malloc(sizeof(float) * (size_t)chunk);
    float *o = (float *)malloc(sizeof(float) * (size_t)chunk);
    double worst = 0;
    float worst_x = 0;
    uint32_t u = 0;
    ctx_name = "tanh f32 ulp";
    while (u < top) {
        int64_t n = 0;
        for (; n < chunk && u < top; n++, u += 29) {
            uint32_t b = u | (n & 1 ? 0x80000000u : 0); /* alternate signs */
            memcpy(&x[n], &b, sizeof b);
        }
        CHECK(fg_k_unary(FG_U_TANH, FG_F32, x, o, n) == 0, "tanh rc %s", last_error());
        for (int64_t i = 0; i < n; i++) {
            double e = ulp_err_f32(o[i], tanh((double)x[i]));
            if (e > worst) {
                worst = e;
                worst_x = x[i];
            }
        }
    }
    printf("  float32 tanh: max %.3f ulp (at %.9g)\n", worst, worst_x);
    CHECK(worst <= 2.0, "float32 tanh error %.3f ulp at x=%.9g", worst, worst_x);
    {
        const float sp[] = {0.f, -0.f, 1e-45f, -1e-45f, 1e-38f, 1e-20f, 3e-4f, 0.55f, -0.55f,
                            9.1f, 9.0f, 20.f, -20.f, 1e30f, 3.4e38f, INFINITY, -INFINITY, NAN};
        const int n = (int)(sizeof sp / sizeof *sp);
        float so[sizeof sp / sizeof *sp];
        fg_k_unary(FG_U_TANH, FG_F32, sp, so, n);
        for (int i = 0; i < n - 1; i++) {
            double ref = tanh((double)sp[i]);
            CHECK(ulp_err_f32(so[i], ref) <= 2.0 && signbit(so[i]) == signbit(sp[i]) &&
                      fabsf(so[i]) <= 1.f,
                  "tanh(%g) = %.9g, ref %.9g", sp[i], so[i], ref);
        }
        CHECK(isnan(so[n - 1]), "tanh(nan) = %g", so[n - 1]);
        CHECK(so[15] == 1.f && so[16] == -1.f && so[11] == 1.f, "tanh saturates to +-1");
    }
    free(x);
    free(o);
}

/* float32 exp and sigmoid are computed without libm too: every 97th
 * float32 over the range where exp is neither 0 nor inf (both ends
 * included: subnormal results, overflow), against float64. */
static void test_exp_sigmoid_f32_ulp(void)
{
    const int64_t chunk = 1 << 20;
    float *x = (float *)malloc(sizeof(float) * (size_t)chunk);
    float *o = (float *)malloc(sizeof(float) * (size_t)chunk);
    double worst[2] = {0, 0};
    float worst_x[2] = {0, 0};
    ctx_name = "exp/sigmoid f32 ulp";
    for (int f = 0; f < 2; f++) {
        const int kind = f ? FG_U_SIGMOID : FG_U_EXP;
        /* positive floats up to 89, then negative ones down to -104 */
        const uint32_t pos_top = 0x42b20000u, neg_top = 0xc2d00000u;
        uint32_t u = 0;
        int neg = 0;
        while (!neg || u < neg_top) {
            int64_t n = 0;
            for (; n < chunk; n++, u += 97) {
                if (!neg && u >= pos_top) {
                    neg = 1;
                    u = 0x80000000u;
                }
                if (neg && u >= neg_top) break;
                memcpy(&x[n], &u, sizeof u);
            }
            CHECK(fg_k_unary(kind, FG_F32, x, o, n) == 0, "rc %s", last_error());
            for (int64_t i = 0; i < n; i++) {
                const double v = (double)x[i];
                const double ref = f ? 1.0 / (1.0 + exp(-v)) : exp(v);
                const double e = ref > 3.4028234663852886e38 ? (isinf(o[i]) ? 0 : INFINITY)
                                                              : ulp_err_f32(o[i], ref);
                if (e > worst[f]) {
                    worst[f] = e;
                    worst_x[f] = x[i];
                }
            }
        }
        printf("  float32 %s: max %.3f ulp (at %.9g)\n", f ? "sigmoid" : "exp", worst[f], worst_x[f]);
        CHECK(worst[f] <= 2.5, "float32 %s error %.3f ulp at x=%.9g", f ? "sigmoid" : "exp", worst[f],
              worst_x[f]);
    }
    {
        const float sp[] = {0.f, -0.f, 88.7f, 89.f, 1000.f, INFINITY, -104.f, -1000.f, -INFINITY, NAN};
        float eo[10], so[10];
        fg_k_unary(FG_U_EXP, FG_F32, sp, eo, 10);
        fg_k_unary(FG_U_SIGMOID, FG_F32, sp, so, 10);
        CHECK(eo[0] == 1.f && eo[1] == 1.f && isinf(eo[3]) && isinf(eo[4]) && isinf(eo[5]) &&
                  eo[6] == 0.f && eo[7] == 0.f && eo[8] == 0.f && isnan(eo[9]) &&
                  ulp_err_f32(eo[2], exp((double)sp[2])) <= 2,
              "exp specials %g %g %g %g", eo[2], eo[3], eo[6], eo[9]);
        CHECK(so[0] == 0.5f && so[4] == 1.f && so[5] == 1.f && so[7] == 0.f && so[8] == 0.f &&
                  isnan(so[9]),
              "sigmoid specials %g %g %g %g", so[0], so[4], so[7], so[9]);
    }
    free(x);
    free(o);
}

/* ------------------------------------------------------------------------ */
/* binary                                                                   */

static int bool_out(int kind) { return (kind >= FG_B_EQ && kind <= FG_B_LOGICAL_OR); }

static double ref_binary_f(int kind, double x, double y)
{
    switch (kind) {
    case FG_B_ADD: return x + y;
    case FG_B_SUB: return x - y;
    case FG_B_MUL: return x * y;
    case FG_B_DIV: return x / y;
    case FG_B_POW: return pow(x, y);
    case FG_B_MAX: return isnan(x) || isnan(y) ? NAN : (x > y ? x : y);
    case FG_B_MIN: return isnan(x) || isnan(y) ? NAN : (x < y ? x : y);
    case FG_B_EQ: return x == y;
    case FG_B_NE: return x != y;
    case FG_B_LT: return x < y;
    case FG_B_LE: return x <= y;
    case FG_B_GT: return x > y;
    case FG_B_GE: return x >= y;
    case FG_B_LOGICAL_AND: return x != 0 && y != 0;
    case FG_B_LOGICAL_OR: return x != 0 || y != 0;
    case FG_B_TANH_GRAD: return y * (1 - x * x);
    case FG_B_SIGMOID_GRAD: return y * x * (1 - x);
    case FG_B_RELU_GRAD: return y * (x > 0);
    case FG_B_SQRT_GRAD: return y == 0 ? 0 : 0.5 * y / x;
    case FG_B_SQUARED_DIFF: return (x - y) * (x - y);
    case FG_B_XLOGY: return x == 0 ? 0 : x * log(y);
    case FG_B_DIV_NO_NAN: return y == 0 ? 0 : x / y;
    case FG_B_SQUARE_GRAD: return y * 2 * x;
    case FG_B_TRUNCDIV: return trunc(x / y);
    case FG_B_ATAN2: return atan2(x, y);
    case FG_B_XLOG1PY: return x == 0 ? 0 : x * log1p(y);
    case FG_B_XDIVY: return x == 0 ? 0 : x / y;
    case FG_B_MUL_NO_NAN: return y == 0 ? 0 : x * y;
    case FG_B_TRUNCMOD: return fmod(x, y);
    case FG_B_NEXTAFTER: return nextafter(x, y);
    case FG_B_IGAMMA: return fg_sf_igamma(x, y);
    case FG_B_IGAMMAC: return fg_sf_igammac(x, y);
    case FG_B_IGAMMA_GRAD_A: return fg_sf_igamma_da(x, y);
    case FG_B_POLYGAMMA: return fg_sf_polygamma(x, y);
    case FG_B_ZETA: return fg_sf_zeta(x, y);
    case FG_B_RECIP_GRAD: return y == 0 ? 0 : -x * x * y;
    case FG_B_RSQRT_GRAD: return y == 0 ? 0 : -0.5 * y * x * x * x;
    case FG_B_FLOORMOD: { /* Python's float %: the sign of y */
        double r = fmod(x, y);
        return r != 0 && (r < 0) != (y < 0) ? r + y : r;
    }
    default: return NAN;
    }
}

static int64_t ref_ipow(int64_t b, int64_t e)
{
    int64_t r = 1;
    if (e < 0) return b == 1 ? 1 : b == -1 ? ((e & 1) ? -1 : 1) : 0;
    while (e--) r *= b;
    return r;
}

static int ref_binary_i(int kind, int64_t x, int64_t y, int64_t *r)
{
    switch (kind) {
    case FG_B_ADD: *r = x + y; return 1;
    case FG_B_SUB: *r = x - y; return 1;
    case FG_B_MUL: *r = x * y; return 1;
    case FG_B_DIV:
    case FG_B_DIV_NO_NAN: *r = y == 0 ? 0 : (int64_t)floor((double)x / (double)y); return 1;
    case FG_B_POW: *r = ref_ipow(x, y); return 1;
    case FG_B_MAX: *r = x > y ? x : y; return 1;
    case FG_B_MIN: *r = x < y ? x : y; return 1;
    case FG_B_EQ: *r = x == y; return 1;
    case FG_B_NE: *r = x != y; return 1;
    case FG_B_LT: *r = x < y; return 1;
    case FG_B_LE: *r = x <= y; return 1;
    case FG_B_GT: *r = x > y; return 1;
    case FG_B_GE: *r = x >= y; return 1;
    case FG_B_RELU_GRAD: *r = x > 0 ? y : 0; return 1;
    case FG_B_SQUARED_DIFF: *r = (x - y) * (x - y); return 1;
    case FG_B_TRUNCDIV: *r = y == 0 ? 0 : x / y; return 1; /* C truncates */
    case FG_B_TRUNCMOD: *r = (y == 0 || y == -1) ? 0 : x % y; return 1;
    case FG_B_FLOORMOD: *r = y == 0 ? 0 : x - (int64_t)floor((double)x / (double)y) * y; return 1;
    default: return 0;
    }
}

static int bin_supported(int kind, int dt)
{
    if (dt == FG_BOOL) return (kind >= FG_B_EQ && kind <= FG_B_LOGICAL_OR);
    if (kind == FG_B_LOGICAL_AND || kind == FG_B_LOGICAL_OR) return 0;
    if (dt == FG_I32 || dt == FG_I64) {
        int64_t dummy;
        return ref_binary_i(kind, 1, 1, &dummy);
    }
    return 1;
}

struct bshape {
    int an, bn, on;
    int64_t a[4], b[4], o[4];
};

static void test_binary(void)
{
    static const struct bshape cases[] = {
        {3, 3, 3, {3, 4, 5}, {3, 4, 5}, {3, 4, 5}},
        {0, 3, 3, {0}, {3, 4, 5}, {3, 4, 5}},
        {3, 0, 3, {3, 4, 5}, {0}, {3, 4, 5}},
        {3, 3, 3, {3, 1, 5}, {1, 4, 1}, {3, 4, 5}},
        {2, 3, 3, {4, 5}, {3, 4, 5}, {3, 4, 5}},
        {3, 1, 3, {3, 4, 1}, {5}, {3, 4, 5}},
        {4, 2, 4, {2, 1, 3, 1}, {3, 7}, {2, 1, 3, 7}},
        {1, 1, 1, {1}, {9}, {9}},
        {2, 1, 2, {0, 5}, {5}, {0, 5}},
        {0, 0, 0, {0}, {0}, {0}},
        {2, 1, 2, {1000, 300}, {300}, {1000, 300}},
        {2, 2, 2, {1000, 1}, {1, 300}, {1000, 300}},
        {1, 1, 1, {300001}, {300001}, {300001}},
        {1, 0, 1, {300001}, {0}, {300001}},
        {3, 3, 3, {2, 70001, 1}, {2, 1, 3}, {2, 70001, 3}},
        /* short rows that get fused (bias-like operands) or must not be */
        {2, 1, 2, {1000, 4}, {4}, {1000, 4}},
        {1, 2, 2, {4}, {1000, 4}, {1000, 4}},
        {2, 1, 2, {1009, 4}, {4}, {1009, 4}},
        {3, 1, 3, {2, 50, 4}, {4}, {2, 50, 4}},
        {3, 3, 3, {2, 50, 4}, {2, 1, 4}, {2, 50, 4}},
        {2, 0, 2, {96, 10}, {0}, {96, 10}},
        {2, 2, 2, {1, 10}, {96, 1}, {96, 10}},
        {2, 1, 2, {60000, 3}, {3}, {60000, 3}},
    };
    ctx_name = "binary";
    for (int dt = 0; dt < FG_NDTYPES; dt++) {
        for (int kind = 0; kind < FG_B_NKINDS; kind++) {
            int sup = bin_supported(kind, dt), isf = dt <= FG_F64;
            for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
                const struct bshape *s = &cases[c];
                int64_t na = prod(s->an, s->a), nb = prod(s->bn, s->b), no = prod(s->on, s->o);
                int odt = bool_out(kind) ? FG_BOOL : dt;
                void *a = alloc_dt(dt, na), *b = alloc_dt(dt, nb), *o = alloc_dt(odt, no);
                int rc;
                if (no > 100000 && kind > FG_B_MIN && kind != FG_B_SQUARED_DIFF && kind != FG_B_EQ) {
                    free(a), free(b), free(o);
                    continue; /* big shapes: a subset of kinds is enough */
                }
                for (int64_t i = 0; i < na; i++)
                    setv(dt, a, i, isf ? (double)irand(-8, 8) / 4 : dt == FG_BOOL ? (double)irand(0, 1) : (double)irand(-9, 9));
                for (int64_t i = 0; i < nb; i++)
                    setv(dt, b, i, isf ? (double)irand(-8, 8) / 4 : dt == FG_BOOL ? (double)irand(0, 1) : (double)irand(-4, 4));
                if (isf && (kind == FG_B_XLOGY || kind == FG_B_SQRT_GRAD))
                    for (int64_t i = 0; i < nb; i++) setv(dt, b, i, fabs(getv(dt, b, i)));
                rc = fg_k_binary(kind, dt, a, s->an, s->a, b, s->bn, s->b, o, s->on, s->o);
                if (!sup) {
                    CHECK(rc == -1, "binary %d on %s should fail", kind, dname(dt));
                    free(a), free(b), free(o);
                    break;
                }
                CHECK(rc == 0, "binary %d %s case %zu: %s", kind, dname(dt), c, last_error());
                for (int64_t i = 0; i < no; i++) {
                    double x = getv(dt, a, bidx(s->on, s->o, i, s->an, s->a));
                    double y = getv(dt, b, bidx(s->on, s->o, i, s->bn, s->b));
                    double got = getv(odt, o, i), ref;
                    int ok;
                    if (isf || dt == FG_BOOL) {
                        ref = ref_binary_f(kind, x, y);
                        ok = close_enough(got, ref, odt == FG_BOOL ? 0 : tol_for(dt));
                    } else {
                        int64_t r;
                        ref_binary_i(kind, (int64_t)x, (int64_t)y, &r);
                        if (dt == FG_I32 && odt != FG_BOOL) r = (int32_t)r;
                        ref = (double)r;
                        ok = got == ref;
                    }
                    if (!ok) {
                        CHECK(0, "binary kind %d %s case %zu i=%lld x=%g y=%g got %.9g ref %.9g", kind,
                              dname(dt), c, (long long)i, x, y, got, ref);
                        break;
                    }
                }
                free(a), free(b), free(o);
            }
        }
    }
    /* NaN propagation and alias out == a */
    {
        float a[] = {1, NAN, 3, -INFINITY}, b[] = {NAN, 2, 1, -1}, o[4];
        int64_t sh[] = {4};
        fg_k_binary(FG_B_MAX, FG_F32, a, 1, sh, b, 1, sh, o, 1, sh);
        CHECK(isnan(o[0]) && isnan(o[1]) && o[2] == 3 && o[3] == -1, "max NaN");
        fg_k_binary(FG_B_MIN, FG_F32, a, 1, sh, b, 1, sh, o, 1, sh);
        CHECK(isnan(o[0]) && isnan(o[1]) && o[2] == 1 && o[3] == -INFINITY, "min NaN");
        fg_k_binary(FG_B_ADD, FG_F32, a, 1, sh, b, 1, sh, a, 1, sh);
        CHECK(isnan(a[0]) && a[2] == 4, "aliased add");
    }
    {
        int32_t a[] = {7, -7, 7, -7, INT32_MIN, 5}, b[] = {2, 2, -2, -2, -1, 0}, o[6];
        int64_t sh[] = {6};
        fg_k_binary(FG_B_DIV, FG_I32, a, 1, sh, b, 1, sh, o, 1, sh);
        CHECK(o[0] == 3 && o[1] == -4 && o[2] == -4 && o[3] == 3 && o[4] == INT32_MIN && o[5] == 0,
              "floordiv %d %d %d %d %d %d", o[0], o[1], o[2], o[3], o[4], o[5]);
        fg_k_binary(FG_B_ADD, FG_I32, a, 1, sh, b, 1, sh, o, 1, sh);
        CHECK(o[4] == INT32_MAX, "int add wraps");
        fg_k_binary(FG_B_TRUNCDIV, FG_I32, a, 1, sh, b, 1, sh, o, 1, sh);
        CHECK(o[0] == 3 && o[1] == -3 && o[2] == -3 && o[3] == 3 && o[4] == INT32_MIN && o[5] == 0,
              "truncatediv %d %d %d %d %d %d", o[0], o[1], o[2], o[3], o[4], o[5]);
    }
    {
        float a[3] = {0}, b[4] = {0}, o[4];
        int64_t sa[] = {3}, sb[] = {4};
        CHECK(fg_k_binary(FG_B_ADD, FG_F32, a, 1, sa, b, 1, sb, o, 1, sb) == -1,
              "incompatible shapes must fail");
        CHECK(strstr(last_error(), "broadcast") != NULL, "message: %s", last_error());
    }
}

/* ------------------------------------------------------------------------ */
/* where, broadcast_to, cast, fill, range                                  */

static void test_where_bcast(void)
{
    ctx_name = "where";
    for (int dt = 0; dt < FG_NDTYPES; dt++) {
        struct {
            int cn, xn, yn, on;
            int64_t c[3], x[3], y[3], o[3];
        } cases[] = {
            {2, 2, 0, 2, {3, 1}, {1, 4}, {0}, {3, 4}},
            {0, 2, 2, 2, {0}, {3, 4}, {3, 4}, {3, 4}},
            {0, 0, 2, 2, {0}, {0}, {3, 4}, {3, 4}},
            {1, 1, 1, 1, {200003}, {200003}, {200003}, {200003}},
            {3, 2, 1, 3, {2, 1, 50000}, {3, 50000}, {1}, {2, 3, 50000}},
            {1, 2, 0, 2, {5}, {100, 5}, {0}, {100, 5}},
            {2, 1, 1, 2, {100, 5}, {5}, {5}, {100, 5}},
            {2, 1, 2, 2, {40000, 3}, {3}, {40000, 3}, {40000, 3}},
        };
        for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
            int64_t nc = prod(cases[k].cn, cases[k].c), nx = prod(cases[k].xn, cases[k].x);
            int64_t ny = prod(cases[k].yn, cases[k].y), no = prod(cases[k].on, cases[k].o);
            uint8_t *c = (uint8_t *)alloc_dt(FG_BOOL, nc);
            void *x = alloc_dt(dt, nx), *y = alloc_dt(dt, ny), *o = alloc_dt(dt, no);
            int rc, bad = 0;
            fill_random(FG_BOOL, c, nc, 0, 1);
            fill_random(dt, x, nx, -100, 100);
            fill_random(dt, y, ny, -100, 100);
            rc = fg_k_where(dt, c, cases[k].cn, cases[k].c, x, cases[k].xn, cases[k].x, y,
                            cases[k].yn, cases[k].y, o, cases[k].on, cases[k].o);
            CHECK(rc == 0, "where rc %s", last_error());
            for (int64_t i = 0; i < no && !bad; i++) {
                int cv = c[bidx(cases[k].on, cases[k].o, i, cases[k].cn, cases[k].c)];
                double ref = cv ? getv(dt, x, bidx(cases[k].on, cases[k].o, i, cases[k].xn, cases[k].x))
                                : getv(dt, y, bidx(cases[k].on, cases[k].o, i, cases[k].yn, cases[k].y));
                if (getv(dt, o, i) != ref) bad = 1;
            }
            CHECK(!bad, "where %s case %zu", dname(dt), k);
            free(c), free(x), free(y), free(o);
        }
    }
    ctx_name = "broadcast_to";
    for (int dt = 0; dt < FG_NDTYPES; dt++) {
        struct {
            int n, on;
            int64_t s[3], o[3];
        } cases[] = {
            {2, 3, {3, 1}, {2, 3, 4}},
            {0, 2, {0}, {5, 6}},
            {1, 2, {6}, {5, 6}},
            {2, 2, {1, 1}, {0, 4}},
            {3, 3, {1, 70000, 1}, {2, 70000, 3}},
            {1, 2, {4}, {1000, 4}},
            {2, 3, {1, 7}, {3, 64, 7}},
            {1, 2, {3}, {50000, 3}},
        };
        for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
            int64_t nx = prod(cases[k].n, cases[k].s), no = prod(cases[k].on, cases[k].o);
            void *x = alloc_dt(dt, nx), *o = alloc_dt(dt, no);
            int bad = 0;
            fill_random(dt, x, nx, -100, 100);
            CHECK(fg_k_broadcast_to(dt, x, cases[k].n, cases[k].s, o, cases[k].on, cases[k].o) == 0,
                  "bcast rc");
            for (int64_t i = 0; i < no && !bad; i++)
                if (getv(dt, o, i) != getv(dt, x, bidx(cases[k].on, cases[k].o, i, cases[k].n, cases[k].s)))
                    bad = 1;
            CHECK(!bad, "broadcast_to %s case %zu", dname(dt), k);
            free(x), free(o);
        }
    }
    {
        float x[2] = {1, 2}, o[6];
        int64_t s[] = {2}, os[] = {3, 3};
        CHECK(fg_k_broadcast_to(FG_F32, x, 1, s, o, 2, os) == -1, "bad broadcast_to must fail");
    }
}

static void test_cast_fill_range(void)
{
    const double vals[] = {0, 1, -1, 3.7, -3.7, 0.5, 1e10, -1e10, 2147483647.0, NAN, INFINITY, -INFINITY, 1e20};
    const int n = sizeof vals / sizeof *vals;
    ctx_name = "cast";
    for (int sdt = 0; sdt < FG_NDTYPES; sdt++) {
        for (int ddt = 0; ddt < FG_NDTYPES; ddt++) {
            void *s = alloc_dt(sdt, n), *d = alloc_dt(ddt, n);
            for (int i = 0; i < n; i++) {
                double v = vals[i];
                if (sdt == FG_I32) v = isfinite(v) && fabs(v) < 2e9 ? v : 7;
                if (sdt == FG_I64) v = isfinite(v) && fabs(v) < 1e18 ? v : -7;
                setv(sdt, s, i, v);
            }
            CHECK(fg_k_cast(sdt, s, ddt, d, n) == 0, "cast rc");
            for (int i = 0; i < n; i++) {
                double v = getv(sdt, s, i), got = getv(ddt, d, i), ref;
                if (ddt == FG_BOOL)
                    ref = v != 0;
                else if (ddt == FG_I32 && sdt == FG_I64)
                    ref = (int32_t)(uint32_t)(uint64_t)(int64_t)v; /* integer narrowing wraps */
                else if (ddt == FG_I32)
                    ref = isnan(v) ? 0 : v >= 2147483648.0 ? 2147483647.0 : v < -2147483648.0 ? -2147483648.0 : trunc(v);
                else if (ddt == FG_I64)
                    ref = isnan(v) ? 0 : v >= 9.3e18 ? 9223372036854775807.0 : v <= -9.3e18 ? -9223372036854775808.0 : trunc(v);
                else if (ddt == FG_F32)
                    ref = (float)v;
                else
                    ref = v;
                CHECK((isnan(got) && isnan(ref)) || got == ref, "cast %s->%s of %g: got %.17g ref %.17g",
                      dname(sdt), dname(ddt), v, got, ref);
            }
            free(s), free(d);
        }
    }
    ctx_name = "fill/range";
    for (int dt = 0; dt < FG_NDTYPES; dt++) {
        int64_t n = 100001;
        void *o = alloc_dt(dt, n);
        int bad = 0;
        CHECK(fg_k_fill(dt, o, n, 3.0) == 0, "fill rc");
        for (int64_t i = 0; i < n && !bad; i++) bad = getv(dt, o, i) != (dt == FG_BOOL ? 1 : 3);
        CHECK(!bad, "fill %s", dname(dt));
        fg_k_fill(dt, o, n, 0.0);
        for (int64_t i = 0; i < n && !bad; i++) bad = getv(dt, o, i) != 0;
        CHECK(!bad, "fill 0 %s", dname(dt));
        if (dt != FG_BOOL) {
            CHECK(fg_k_range(dt, o, n, -5, 2) == 0, "range rc");
            for (int64_t i = 0; i < n && !bad; i++) bad = getv(dt, o, i) != (double)(-5 + 2 * i);
            CHECK(!bad, "range %s", dname(dt));
        }
        free(o);
    }
    {
        float f[4];
        double d[4];
        fg_k_fill(FG_F32, f, 4, -0.0);
        CHECK(signbit(f[3]), "fill -0.0 keeps the sign");
        fg_k_range(FG_F64, d, 4, 0.5, 0.25);
        CHECK(d[0] == 0.5 && d[3] == 1.25, "range f64");
        fg_k_range(FG_F32, f, 4, 1, -0.5);
        CHECK(f[3] == -0.5f, "range f32 negative delta");
        CHECK(fg_k_fill(7, f, 1, 0) == -1, "fill bad dtype");
    }
}

/* ------------------------------------------------------------------------ */
/* reductions                                                               */

static void ref_reduce(int kind, int dt, const void *x, int nd, const int64_t *sh,
                       const uint8_t *mask, double *out, int64_t nout)
{
    int64_t total = prod(nd, sh);
    int *seen = (int *)calloc((size_t)(nout > 0 ? nout : 1), sizeof(int));
    for (int64_t i = 0; i < total; i++) {
        int64_t f = i, oi = 0, mul = 1;
        double v = getv(dt, x, i);
        for (int d = nd - 1; d >= 0; d--) {
            int64_t id = f % sh[d];
            f /= sh[d];
            if (!mask[d]) {
                oi += id * mul;
                mul *= sh[d];
            }
        }
        if (!seen[oi]) {
            seen[oi] = 1;
            out[oi] = (kind == FG_R_ANY || kind == FG_R_ALL) ? (v != 0) : v;
            continue;
        }
        switch (kind) {
        case FG_R_SUM: out[oi] += v; break;
        case FG_R_PROD: out[oi] *= v; break;
        case FG_R_MAX: out[oi] = (isnan(v) || isnan(out[oi])) ? NAN : (v > out[oi] ? v : out[oi]); break;
        case FG_R_MIN: out[oi] = (isnan(v) || isnan(out[oi])) ? NAN : (v < out[oi] ? v : out[oi]); break;
        case FG_R_ANY: out[oi] = out[oi] || v != 0; break;
        default: out[oi] = out[oi] && v != 0; break;
        }
    }
    for (int64_t i = 0; i < nout; i++) {
        if (seen[i]) continue;
        switch (kind) {
        case FG_R_SUM: out[i] = 0; break;
        case FG_R_PROD: out[i] = 1; break;
        case FG_R_MAX: out[i] = dt == FG_I32 ? INT32_MIN : dt == FG_I64 ? (double)INT64_MIN : -INFINITY; break;
        case FG_R_MIN: out[i] = dt == FG_I32 ? INT32_MAX : dt == FG_I64 ? (double)INT64_MAX : INFINITY; break;
        case FG_R_ANY: out[i] = 0; break;
        default: out[i] = 1; break;
        }
    }
    free(seen);
}

static void run_reduce_case(int kind, int dt, int nd, const int64_t *sh, const uint8_t *mask,
                            int with_nan)
{
    int64_t total = prod(nd, sh), nout = 1;
    void *x = alloc_dt(dt, total), *o;
    double *ref, abssum_max = 0;
    int rc, bad = 0;
    for (int d = 0; d < nd; d++)
        if (!mask[d]) nout *= sh[d];
    o = alloc_dt(dt, nout);
    ref = (double *)calloc((size_t)(nout > 0 ? nout : 1), sizeof(double));
    if (dt == FG_BOOL)
        for (int64_t i = 0; i < total; i++) setv(dt, x, i, kind == FG_R_ALL ? (irand(0, 200) != 0) : (irand(0, 200) == 0));
    else if (kind == FG_R_PROD)
        for (int64_t i = 0; i < total; i++) setv(dt, x, i, dt <= FG_F64 ? urand(0.97, 1.03) : (double)irand(-1, 2));
    else
        fill_random(dt, x, total, dt <= FG_F64 ? -1 : -1000, dt <= FG_F64 ? 1 : 1000);
    if (with_nan && total > 5 && dt <= FG_F64) setv(dt, x, total / 3, NAN);
    rc = fg_k_reduce(kind, dt, x, nd, sh, mask, o);
    CHECK(rc == 0, "reduce rc %s", last_error());
    ref_reduce(kind, dt, x, nd, sh, mask, ref, nout);
    if (kind == FG_R_SUM && dt <= FG_F64) {
        /* tolerance scales with the magnitude summed */
        for (int64_t i = 0; i < total; i++)
            if (!isnan(getv(dt, x, i))) abssum_max += fabs(getv(dt, x, i));
    }
    for (int64_t i = 0; i < nout && !bad; i++) {
        double got = getv(dt, o, i), r = ref[i];
        int ok;
        if (dt == FG_I32 && (kind == FG_R_SUM || kind == FG_R_PROD)) r = (double)(int32_t)(int64_t)r;
        if (dt <= FG_F64) {
            if (kind == FG_R_SUM)
                ok = (isnan(r) && isnan(got)) || fabs(got - r) <= (dt == FG_F32 ? 1e-6 : 1e-14) * (abssum_max + 1);
            else if (kind == FG_R_PROD)
                ok = close_enough(got, r, dt == FG_F32 ? 1e-4 : 1e-12);
            else
                ok = (isnan(r) && isnan(got)) || got == r;
        } else {
            ok = got == r;
        }
        if (!ok) {
            bad = 1;
            CHECK(0, "reduce kind %d %s shape %s mask %d%d%d%d out %lld: got %.9g ref %.9g", kind,
                  dname(dt), fg_shape_str(nd, sh), nd > 0 ? mask[0] : 9, nd > 1 ? mask[1] : 9,
                  nd > 2 ? mask[2] : 9, nd > 3 ? mask[3] : 9, (long long)i, got, r);
        }
    }
    free(x), free(o), free(ref);
}

static void test_reduce(void)
{
    static const int64_t shapes[][4] = {
        {2, 3, 4, 5}, {7, 1, 30, 20}, {3, 700, 40, 1}, {5000, 17, 1, 1},
        {3, 10000, 1, 1}, {1, 9001, 3, 1}, {0, 3, 1, 1}, {4, 0, 2, 1}, {2, 5, 1, 33},
    };
    static const int nds[] = {4, 4, 4, 2, 2, 3, 2, 3, 4};
    ctx_name = "reduce";
    for (int kind = 0; kind < FG_R_NKINDS; kind++) {
        for (int dt = 0; dt < FG_NDTYPES; dt++) {
            int sup = (kind == FG_R_ANY || kind == FG_R_ALL) ? dt == FG_BOOL : dt != FG_BOOL;
            if (!sup) {
                int64_t sh[1] = {3};
                uint8_t m[1] = {1};
                char buf[64];
                CHECK(fg_k_reduce(kind, dt, buf, 1, sh, m, buf) == -1, "reduce %d on %s must fail",
                      kind, dname(dt));
                continue;
            }
            for (size_t s = 0; s < sizeof nds / sizeof *nds; s++) {
                int nd = nds[s];
                for (int m = 0; m < (1 << nd); m++) {
                    uint8_t mask[4];
                    for (int d = 0; d < nd; d++) mask[d] = (m >> d) & 1;
                    /* keep the big shapes to a few masks */
                    if (prod(nd, shapes[s]) > 50000 && m != 1 && m != 2 && m != (1 << nd) - 1 && m != 5)
                        continue;
                    run_reduce_case(kind, dt, nd, shapes[s], mask, 0);
                }
            }
            if ((kind == FG_R_MAX || kind == FG_R_MIN || kind == FG_R_SUM) && dt <= FG_F64) {
                int64_t sh[2] = {50, 40};
                uint8_t m0[2] = {1, 0}, m1[2] = {0, 1}, m2[2] = {1, 1};
                run_reduce_case(kind, dt, 2, sh, m0, 1);
                run_reduce_case(kind, dt, 2, sh, m1, 1);
                run_reduce_case(kind, dt, 2, sh, m2, 1);
            }
            if ((kind == FG_R_MAX || kind == FG_R_MIN) && dt <= FG_F64) {
                /* all -inf / +inf (the SIMD reduction's identity must not leak),
                 * and NaN first or last */
                const int64_t n = 9000;
                int64_t sh[1] = {n};
                uint8_t m[1] = {1};
                void *x = alloc_dt(dt, n);
                double got;
                for (int64_t i = 0; i < n; i++) setv(dt, x, i, kind == FG_R_MAX ? -INFINITY : INFINITY);
                fg_k_reduce(kind, dt, x, 1, sh, m, x);
                got = getv(dt, x, 0);
                CHECK(isinf(got) && (kind == FG_R_MAX ? got < 0 : got > 0), "max/min of infinities: %g", got);
                for (int pos = 0; pos < 4; pos++) {
                    int64_t at = pos == 0 ? 0 : pos == 1 ? n - 1 : pos == 2 ? 4095 : 4096;
                    for (int64_t i = 0; i < n; i++) setv(dt, x, i, (double)(i % 100));
                    setv(dt, x, at, NAN);
                    fg_k_reduce(kind, dt, x, 1, sh, m, x);
                    CHECK(isnan(getv(dt, x, 0)), "NaN at %lld lost", (long long)at);
                    for (int64_t i = 0; i < n; i++) setv(dt, x, i, (double)(i % 100));
                    setv(dt, x, at, NAN);
                    sh[0] = n / 9;
                    {
                        int64_t sh2[2] = {9, n / 9};
                        uint8_t m2[2] = {0, 1}, m3[2] = {1, 0};
                        void *o = alloc_dt(dt, n);
                        fg_k_reduce(kind, dt, x, 2, sh2, m2, o);
                        CHECK(isnan(getv(dt, o, at / (n / 9))), "row NaN lost");
                        fg_k_reduce(kind, dt, x, 2, sh2, m3, o);
                        CHECK(isnan(getv(dt, o, at % (n / 9))), "column NaN lost");
                        free(o);
                    }
                    sh[0] = n;
                }
                free(x);
            }
            {
                /* scalar input */
                char x[8] = {0}, o[8];
                setv(dt, x, 0, 1);
                CHECK(fg_k_reduce(kind, dt, x, 0, NULL, NULL, o) == 0 && getv(dt, o, 0) == 1,
                      "0-d reduce");
            }
        }
    }
}

/* Bitwise identical across thread counts, and better than a running sum. */
/* The fused reduce_sum(x * y) must give the bits of the elementwise
 * product reduced by fg_k_reduce, on every path (one block, several
 * blocks, row tiles, several reduced groups, nothing reduced). */
static void test_reduce_sum_mul(void)
{
    static const struct {
        int nd;
        int64_t sh[3];
        uint8_t m[3];
    } cases[] = {
        {1, {1000003}, {1}}, {1, {777}, {1}},         {1, {5000}, {0}},
        {2, {2000, 300}, {1, 0}}, {2, {300, 9000}, {0, 1}}, {2, {37, 1001}, {1, 1}},
        {3, {3, 700, 5}, {1, 0, 1}}, {3, {3, 700, 5}, {0, 1, 0}}, {3, {6, 2, 300}, {1, 1, 0}},
    };
    ctx_name = "reduce_sum_mul";
    for (int dt = FG_F32; dt <= FG_F64; dt++) {
        for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
            const int nd = cases[k].nd;
            const int64_t *sh = cases[k].sh;
            int64_t n = prod(nd, sh), outn = 1;
            for (int d = 0; d < nd; d++)
                if (!cases[k].m[d]) outn *= sh[d];
            void *x = alloc_dt(dt, n), *y = alloc_dt(dt, n), *p = alloc_dt(dt, n);
            void *ref = alloc_dt(dt, outn), *got = alloc_dt(dt, outn);
            fill_random(dt, x, n, -2, 2);
            fill_random(dt, y, n, -2, 2);
            CHECK(fg_k_binary(FG_B_MUL, dt, x, nd, sh, y, nd, sh, p, nd, sh) == 0, "mul");
            CHECK(fg_k_reduce(FG_R_SUM, dt, p, nd, sh, cases[k].m, ref) == 0, "reduce");
            CHECK(fg_k_reduce_sum_mul(dt, x, y, nd, sh, cases[k].m, got) == 0, "reduce_sum_mul rc %s",
                  last_error());
            CHECK(memcmp(ref, got, (size_t)outn * dsize(dt)) == 0,
                  "reduce_sum_mul %s case %zu differs from mul + reduce_sum", dname(dt), k);
            free(x);
            free(y);
            free(p);
            free(ref);
            free(got);
        }
    }
    {
        int32_t a[4] = {1, 2, 3, 4}, o;
        int64_t sh[1] = {4};
        uint8_t m[1] = {1};
        CHECK(fg_k_reduce_sum_mul(FG_I32, a, a, 1, sh, m, &o) == -1, "reduce_sum_mul int32 must fail");
    }
}

static void test_reduce_determinism(void)
{
    const int64_t n = 1000003;
    float *x = (float *)malloc(sizeof(float) * (size_t)n);
    float res[4], naive = 0;
    double ref = 0;
    const int threads[4] = {1, 2, 3, 8};
    int64_t sh[1] = {n};
    uint8_t m[1] = {1};
    ctx_name = "determinism";
    for (int64_t i = 0; i < n; i++) {
        x[i] = (float)urand(0, 1);
        ref += x[i];
        naive += x[i];
    }
    for (int t = 0; t < 4; t++) {
        fg_set_num_threads(threads[t]);
        fg_k_reduce(FG_R_SUM, FG_F32, x, 1, sh, m, &res[t]);
    }
    for (int t = 1; t < 4; t++)
        CHECK(memcmp(&res[0], &res[t], sizeof(float)) == 0, "sum differs with %d threads: %.9g vs %.9g",
              threads[t], res[t], res[0]);
    printf("  float32 sum of %lld: pairwise err %.3g, naive err %.3g (double ref %.10g)\n",
           (long long)n, fabs(res[0] - ref), fabs(naive - ref), ref);
    CHECK(fabs(res[0] - ref) < fabs(naive - ref), "pairwise should beat naive");
    CHECK(fabs(res[0] - ref) / ref < 1e-6, "pairwise relative error %.3g", fabs(res[0] - ref) / ref);

    /* every path: suffix with many blocks, middle, transpose */
    {
        static const int64_t shapes[][3] = {{3, 333333, 1}, {4000, 50, 1}, {40, 1200, 20}, {100, 30, 300}, {6000, 5, 1}};
        static const uint8_t masks[][3] = {{0, 1, 0}, {1, 0, 0}, {0, 1, 0}, {1, 0, 1}, {1, 0, 0}};
        for (int c = 0; c < 5; c++) {
            int64_t tot = prod(3, shapes[c]), nout = 1;
            float *o[4];
            for (int d = 0; d < 3; d++)
                if (!masks[c][d]) nout *= shapes[c][d];
            for (int t = 0; t < 4; t++) {
                o[t] = (float *)malloc(sizeof(float) * (size_t)nout);
                fg_set_num_threads(threads[t]);
                CHECK(tot <= n && fg_k_reduce(FG_R_SUM, FG_F32, x, 3, shapes[c], masks[c], o[t]) == 0,
                      "reduce rc");
            }
            for (int t = 1; t < 4; t++)
                CHECK(memcmp(o[0], o[t], sizeof(float) * (size_t)nout) == 0,
                      "path case %d differs with %d threads", c, threads[t]);
            for (int t = 0; t < 4; t++) free(o[t]);
        }
    }
    fg_set_num_threads(0);
    free(x);
}

/* ------------------------------------------------------------------------ */
/* transpose                                                                */

static void test_transpose(void)
{
    ctx_name = "transpose";
    static const int64_t shapes[][4] = {{2, 3, 4, 5}, {300, 500, 1, 1}, {1000, 37, 1, 1}, {3, 1, 64, 65}, {0, 3, 2, 1}};
    static const int nds[] = {4, 2, 2, 4, 3};
    for (int dt = 0; dt < FG_NDTYPES; dt++) {
        for (size_t s = 0; s < sizeof nds / sizeof *nds; s++) {
            int nd = nds[s];
            int perm[4] = {0, 1, 2, 3};
            int64_t total = prod(nd, shapes[s]);
            void *x = alloc_dt(dt, total), *o = alloc_dt(dt, total);
            fill_random(dt, x, total, -1000, 1000);
            for (int trial = 0; trial < 24; trial++) {
                int64_t osh[4], ostr[4], istr[4], acc = 1;
                int bad = 0;
                /* a permutation per trial (Fisher-Yates) */
                for (int i = 0; i < nd; i++) perm[i] = i;
                for (int i = nd - 1; i > 0; i--) {
                    int k = (int)irand(0, i), t = perm[i];
                    perm[i] = perm[k];
                    perm[k] = t;
                }
                if (trial == 0)
                    for (int i = 0; i < nd; i++) perm[i] = nd - 1 - i;
                CHECK(fg_k_transpose(dt, x, nd, shapes[s], perm, o) == 0, "transpose rc");
                for (int d = nd - 1; d >= 0; d--) {
                    istr[d] = acc;
                    acc *= shapes[s][d];
                }
                for (int i = 0; i < nd; i++) osh[i] = shapes[s][perm[i]];
                acc = 1;
                for (int d = nd - 1; d >= 0; d--) {
                    ostr[d] = acc;
                    acc *= osh[d];
                }
                for (int64_t i = 0; i < total && !bad; i++) {
                    int64_t f = i, src = 0;
                    for (int d = nd - 1; d >= 0; d--) {
                        src += (f % osh[d]) * istr[perm[d]];
                        f /= osh[d];
                    }
                    (void)ostr;
                    if (getv(dt, o, i) != getv(dt, x, src)) bad = 1;
                }
                CHECK(!bad, "transpose %s shape %zu perm %d%d%d%d", dname(dt), s, perm[0], perm[1],
                      perm[2], perm[3]);
                if (nd == 2 && trial > 2) break;
            }
            free(x), free(o);
        }
    }
    {
        int perm[2] = {0, 0};
        int64_t sh[2] = {2, 2};
        float x[4], o[4];
        CHECK(fg_k_transpose(FG_F32, x, 2, sh, perm, o) == -1, "bad perm must fail");
    }
}

/* ------------------------------------------------------------------------ */
/* matmul                                                                   */

static int blas_calls = 0;

/* Column-major reference gemm with Fortran conventions. */
#define DEF_REF_GEMM(NAME, T)                                                   \
    static void NAME(char *ta, char *tb, int *M, int *N, int *K, T *alpha, T *A, int *lda, \
                     T *B, int *ldb, T *beta, T *C, int *ldc)                   \
    {                                                                           \
        blas_calls++;                                                           \
        for (int j = 0; j < *N; j++)                                            \
            for (int i = 0; i < *M; i++) {                                      \
                double s = 0;                                                   \
                for (int p = 0; p < *K; p++) {                                  \
                    double a = *ta == 'N' ? A[i + p * *lda] : A[p + i * *lda];  \
                    double b = *tb == 'N' ? B[p + j * *ldb] : B[j + p * *ldb];  \
                    s += a * b;                                                 \
                }                                                               \
                C[i + j * *ldc] = (T)(*alpha * s + (*beta == 0 ? 0 : *beta * C[i + j * *ldc])); \
            }                                                                   \
    }
DEF_REF_GEMM(ref_sgemm, float)
DEF_REF_GEMM(ref_dgemm, double)

struct mmcase {
    int bnd;
    int64_t ob[2], ab[2], bb[2];
    int64_t m, n, k;
};

static void run_matmul_case(int dt, const struct mmcase *c, int ta, int tb)
{
    int64_t nbo = prod(c->bnd, c->ob), nba = prod(c->bnd, c->ab), nbb = prod(c->bnd, c->bb);
    int64_t m = c->m, n = c->n, k = c->k;
    int64_t asz = nba * m * k, bsz = nbb * k * n, osz = nbo * m * n;
    void *a = alloc_dt(dt, asz), *b = alloc_dt(dt, bsz), *o = alloc_dt(dt, osz);
    int bad = 0, rc;
    fill_random(dt, a, asz, dt <= FG_F64 ? -1 : -20, dt <= FG_F64 ? 1 : 20);
    fill_random(dt, b, bsz, dt <= FG_F64 ? -1 : -20, dt <= FG_F64 ? 1 : 20);
    fg_k_fill(dt, o, osz, 12345);
    rc = fg_k_matmul(dt, a, b, o, c->bnd, c->ob, c->ab, c->bb, m, n, k, ta, tb);
    CHECK(rc == 0, "matmul rc %s", last_error());
    for (int64_t bi = 0; bi < nbo && !bad; bi++) {
        int64_t ai = bidx(c->bnd, c->ob, bi, c->bnd, c->ab), bj = bidx(c->bnd, c->ob, bi, c->bnd, c->bb);
        for (int64_t i = 0; i < m && !bad; i++)
            for (int64_t j = 0; j < n && !bad; j++) {
                double s = 0, sabs = 0, got;
                for (int64_t p = 0; p < k; p++) {
                    double av = getv(dt, a, ai * m * k + (ta ? p * m + i : i * k + p));
                    double bv = getv(dt, b, bj * k * n + (tb ? j * k + p : p * n + j));
                    s += av * bv;
                    sabs += fabs(av * bv);
                }
                got = getv(dt, o, (bi * m + i) * n + j);
                if (dt <= FG_F64 ? fabs(got - s) > (dt == FG_F32 ? 1e-5 : 1e-13) * (sabs + 1) : got != s) {
                    bad = 1;
                    CHECK(0, "matmul %s m%lld n%lld k%lld ta%d tb%d batch %lld (%lld,%lld): got %.9g ref %.9g",
                          dname(dt), (long long)m, (long long)n, (long long)k, ta, tb, (long long)bi,
                          (long long)i, (long long)j, got, s);
                }
            }
    }
    free(a), free(b), free(o);
}

static void test_matmul(void)
{
    static const struct mmcase cases[] = {
        {0, {0}, {0}, {0}, 17, 33, 65},
        {0, {0}, {0}, {0}, 1, 1, 1},
        {0, {0}, {0}, {0}, 5, 7, 0},
        {0, {0}, {0}, {0}, 0, 7, 3},
        {0, {0}, {0}, {0}, 4, 0, 3},
        {2, {2, 3}, {2, 1}, {1, 3}, 4, 5, 6},
        {2, {2, 3}, {2, 3}, {1, 1}, 4, 5, 6},
        {2, {2, 3}, {1, 1}, {2, 3}, 4, 5, 6},
        {1, {3}, {3}, {3}, 3, 2, 300},
        {1, {0}, {1}, {0}, 3, 3, 3},
        {0, {0}, {0}, {0}, 120, 300, 70},
        {0, {0}, {0}, {0}, 70, 600, 260},
        {1, {4}, {4}, {1}, 60, 50, 40},
    };
    ctx_name = "matmul";
    for (int blas = 0; blas < 2; blas++) {
        fg_set_blas(blas ? ref_sgemm : NULL, blas ? ref_dgemm : NULL);
        CHECK(fg_have_blas() == blas, "have_blas");
        blas_calls = 0;
        for (int dt = 0; dt < FG_BOOL; dt++)
            for (size_t c = 0; c < sizeof cases / sizeof *cases; c++)
                for (int t = 0; t < 4; t++) {
                    if (blas && c >= 10 && t) continue; /* the reference gemm is slow */
                    run_matmul_case(dt, &cases[c], t & 1, t >> 1);
                }
        if (blas) CHECK(blas_calls > 0, "BLAS pointers were not used");
    }
    fg_set_blas(NULL, NULL);
    {
        uint8_t a[4], b[4], o[4];
        CHECK(fg_k_matmul(FG_BOOL, a, b, o, 0, NULL, NULL, NULL, 2, 2, 1, 0, 0) == -1, "bool matmul fails");
        int64_t ob[1] = {3}, ab[1] = {2}, bb[1] = {3};
        float fa[64], fb[64], fo[64];
        CHECK(fg_k_matmul(FG_F32, fa, fb, fo, 1, ob, ab, bb, 2, 2, 2, 0, 0) == -1, "bad batch fails");
    }
}

/* ------------------------------------------------------------------------ */
/* slice, slice_scatter, concat, tile, gather                               */

static void test_slice(void)
{
    struct {
        int nd;
        int64_t sh[3], st[3], sp[3], ln[3];
    } cases[] = {
        {3, {5, 6, 7}, {0, 0, 0}, {1, 1, 1}, {5, 6, 7}},
        {3, {5, 6, 7}, {4, 1, 6}, {-1, 2, -3}, {5, 3, 3}},
        {3, {5, 6, 7}, {1, 5, 0}, {2, -1, 1}, {2, 6, 7}},
        {3, {5, 6, 7}, {2, 0, 3}, {1, 1, 1}, {1, 6, 1}},
        {3, {5, 6, 7}, {0, 0, 0}, {1, 1, 1}, {5, 0, 7}},
        {2, {1000, 300}, {999, 10}, {-1, 1}, {1000, 200}},
        {1, {100000}, {99999}, {-1}, {100000}},
        {0, {0}, {0}, {0}, {0}},
    };
    ctx_name = "slice";
    for (int dt = 0; dt < FG_NDTYPES; dt++) {
        for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
            int nd = cases[c].nd;
            int64_t total = prod(nd, cases[c].sh), ol = prod(nd, cases[c].ln), istr[3], acc = 1;
            void *x = alloc_dt(dt, total), *o = alloc_dt(dt, ol), *back = alloc_dt(dt, total);
            int bad = 0;
            fill_random(dt, x, total, -1000, 1000);
            for (int d = nd - 1; d >= 0; d--) {
                istr[d] = acc;
                acc *= cases[c].sh[d];
            }
            CHECK(fg_k_slice(dt, x, nd, cases[c].sh, cases[c].st, cases[c].sp, cases[c].ln, o) == 0,
                  "slice rc %s", last_error());
            fill_random(dt, back, total, 1, 1);
            CHECK(fg_k_slice_scatter(dt, o, nd, cases[c].sh, cases[c].st, cases[c].sp, cases[c].ln,
                                     back) == 0,
                  "slice_scatter rc %s", last_error());
            {
                char *hit = (char *)calloc((size_t)(total ? total : 1), 1);
                for (int64_t i = 0; i < ol && !bad; i++) {
                    int64_t f = i, src = 0;
                    for (int d = nd - 1; d >= 0; d--) {
                        int64_t id = f % cases[c].ln[d];
                        f /= cases[c].ln[d];
                        src += (cases[c].st[d] + id * cases[c].sp[d]) * istr[d];
                    }
                    hit[src] = 1;
                    if (getv(dt, o, i) != getv(dt, x, src)) bad = 1;
                }
                CHECK(!bad, "slice %s case %zu", dname(dt), c);
                for (int64_t i = 0; i < total && !bad; i++)
                    if (getv(dt, back, i) != (hit[i] ? getv(dt, x, i) : 0)) bad = 1;
                CHECK(!bad, "slice_scatter %s case %zu", dname(dt), c);
                free(hit);
            }
            free(x), free(o), free(back);
        }
    }
    {
        int64_t sh[1] = {5}, st[1] = {3}, sp[1] = {1}, ln[1] = {3};
        float x[5], o[5];
        CHECK(fg_k_slice(FG_F32, x, 1, sh, st, sp, ln, o) == -1, "slice out of bounds fails");
        st[0] = 2;
        sp[0] = -2;
        ln[0] = 2;
        CHECK(fg_k_slice(FG_F32, x, 1, sh, st, sp, ln, o) == 0, "slice 2::-2 ok");
        ln[0] = 3;
        CHECK(fg_k_slice(FG_F32, x, 1, sh, st, sp, ln, o) == -1, "slice below 0 fails");
    }
}

static void test_concat_tile(void)
{
    ctx_name = "concat";
    for (int dt = 0; dt < FG_NDTYPES; dt++) {
        for (int axis = 0; axis < 3; axis++) {
            for (int big = 0; big < 2; big++) {
                int64_t base[3] = {2, 3, 4};
                int64_t shp[3][3];
                const int64_t *shapes[3];
                void *in[3];
                int64_t asz[3] = {1, 3, 0}, osh[3], tot = 0, off = 0;
                int bad = 0;
                void *o;
                if (big) base[0] = 20000;
                for (int i = 0; i < 3; i++) {
                    memcpy(shp[i], base, sizeof base);
                    shp[i][axis] = asz[i];
                    shapes[i] = shp[i];
                    in[i] = alloc_dt(dt, prod(3, shp[i]));
                    fill_random(dt, in[i], prod(3, shp[i]), -100, 100);
                }
                memcpy(osh, base, sizeof base);
                osh[axis] = asz[0] + asz[1] + asz[2];
                tot = prod(3, osh);
                o = alloc_dt(dt, tot);
                CHECK(fg_k_concat(dt, 3, (const void *const *)in, 3, shapes, axis, o) == 0, "concat rc");
                for (int i = 0; i < 3; i++) {
                    int64_t n = prod(3, shp[i]);
                    for (int64_t e = 0; e < n && !bad; e++) {
                        int64_t i2 = e % shp[i][2], i1 = (e / shp[i][2]) % shp[i][1], i0 = e / (shp[i][2] * shp[i][1]);
                        int64_t id[3] = {i0, i1, i2};
                        id[axis] += off;
                        if (getv(dt, o, (id[0] * osh[1] + id[1]) * osh[2] + id[2]) != getv(dt, in[i], e)) bad = 1;
                    }
                    off += asz[i];
                }
                CHECK(!bad, "concat %s axis %d big %d", dname(dt), axis, big);
                for (int i = 0; i < 3; i++) free(in[i]);
                free(o);
            }
        }
    }
    ctx_name = "tile";
    for (int dt = 0; dt < FG_NDTYPES; dt++) {
        struct {
            int nd;
            int64_t sh[3], mul[3];
        } cases[] = {
            {2, {2, 3}, {3, 2}},
            {1, {1}, {5}},
            {2, {3, 1}, {1, 4}},
            {2, {1, 3}, {4, 1}},
            {3, {2, 3, 4}, {2, 0, 2}},
            {3, {2, 1, 5}, {1, 3, 1}},
            {0, {0}, {0}},
            {2, {500, 70}, {3, 2}},
        };
        for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
            int nd = cases[c].nd;
            int64_t osh[3], n = prod(nd, cases[c].sh), on;
            void *x = alloc_dt(dt, n), *o;
            int bad = 0;
            for (int d = 0; d < nd; d++) osh[d] = cases[c].sh[d] * cases[c].mul[d];
            on = prod(nd, osh);
            o = alloc_dt(dt, on);
            fill_random(dt, x, n, -100, 100);
            CHECK(fg_k_tile(dt, x, nd, cases[c].sh, cases[c].mul, o) == 0, "tile rc");
            for (int64_t i = 0; i < on && !bad; i++) {
                int64_t f = i, src = 0, mul = 1;
                for (int d = nd - 1; d >= 0; d--) {
                    int64_t id = f % osh[d];
                    f /= osh[d];
                    src += (id % cases[c].sh[d]) * mul;
                    mul *= cases[c].sh[d];
                }
                if (getv(dt, o, i) != getv(dt, x, src)) bad = 1;
            }
            CHECK(!bad, "tile %s case %zu", dname(dt), c);
            free(x), free(o);
        }
    }
}

static void test_gather(void)
{
    ctx_name = "gather";
    static const int64_t shapes[][3] = {{4, 5, 6}, {1000, 7, 1}, {1, 300, 4096}, {6, 2, 9000}};
    for (int dt = 0; dt < FG_NDTYPES; dt++) {
        for (int idt = FG_I32; idt <= FG_I64; idt++) {
            for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
                for (int axis = 0; axis < 3; axis++) {
                    const int64_t *sh = shapes[s];
                    int64_t A = sh[axis], nidx = 13 + (int64_t)(next_u64() % 50), outer = 1, inner = 1;
                    int64_t total = prod(3, sh), osz;
                    void *p = alloc_dt(dt, total), *idx = alloc_dt(idt, nidx), *o, *g, *back;
                    int bad = 0;
                    if (total > 200000 && axis != 1) {
                        free(p), free(idx);
                        continue;
                    }
                    for (int d = 0; d < axis; d++) outer *= sh[d];
                    for (int d = axis + 1; d < 3; d++) inner *= sh[d];
                    osz = outer * nidx * inner;
                    o = alloc_dt(dt, osz);
                    g = alloc_dt(dt, osz);
                    back = alloc_dt(dt, total);
                    fill_random(dt, p, total, -100, 100);
                    for (int64_t i = 0; i < nidx; i++) setv(idt, idx, i, (double)irand(0, A - 1));
                    setv(idt, idx, nidx - 1, getv(idt, idx, 0)); /* a duplicate */
                    CHECK(fg_k_gather(dt, p, 3, sh, axis, idt, idx, nidx, o) == 0, "gather rc %s", last_error());
                    for (int64_t r = 0; r < outer * nidx && !bad; r++) {
                        int64_t ou = r / nidx, ii = (int64_t)getv(idt, idx, r % nidx);
                        for (int64_t j = 0; j < inner && !bad; j++)
                            if (getv(dt, o, r * inner + j) != getv(dt, p, (ou * A + ii) * inner + j)) bad = 1;
                    }
                    CHECK(!bad, "gather %s idx %s shape %zu axis %d", dname(dt), dname(idt), s, axis);
                    if (dt != FG_BOOL) {
                        double *ref = (double *)calloc((size_t)total, sizeof(double));
                        /* quarter-integers: float sums are exact, any order */
                        for (int64_t i = 0; i < osz; i++) setv(dt, g, i, (double)irand(-400, 400) / (dt <= FG_F64 ? 4 : 1));
                        CHECK(fg_k_gather_scatter(dt, g, 3, sh, axis, idt, idx, nidx, back) == 0,
                              "gather_scatter rc %s", last_error());
                        for (int64_t r = 0; r < outer * nidx; r++) {
                            int64_t ou = r / nidx, ii = (int64_t)getv(idt, idx, r % nidx);
                            for (int64_t j = 0; j < inner; j++)
                                ref[(ou * A + ii) * inner + j] += getv(dt, g, r * inner + j);
                        }
                        for (int64_t i = 0; i < total && !bad; i++)
                            if (!close_enough(getv(dt, back, i), ref[i], dt == FG_F32 ? 1e-5 : 1e-13)) bad = 1;
                        CHECK(!bad, "gather_scatter %s shape %zu axis %d", dname(dt), s, axis);
                        free(ref);
                    } else {
                        CHECK(fg_k_gather_scatter(dt, g, 3, sh, axis, idt, idx, nidx, back) == -1,
                              "bool gather_scatter fails");
                    }
                    free(p), free(idx), free(o), free(g), free(back);
                }
            }
        }
    }
    {
        int64_t sh[1] = {4}, idx[2] = {1, 4};
        float p[4], o[2];
        CHECK(fg_k_gather(FG_F32, p, 1, sh, 0, FG_I64, idx, 2, o) == -1, "index out of range fails");
        CHECK(fg_k_gather(FG_F32, p, 1, sh, 1, FG_I64, idx, 1, o) == -1, "bad axis fails");
    }
    /* duplicates accumulate in index order whatever the thread count */
    {
        int64_t sh[2] = {3, 20000}, nidx = 500;
        int64_t *idx = (int64_t *)malloc(sizeof(int64_t) * (size_t)nidx);
        float *g = (float *)malloc(sizeof(float) * (size_t)(nidx * sh[1]));
        float *o1 = (float *)malloc(sizeof(float) * 60000), *o2 = (float *)malloc(sizeof(float) * 60000);
        for (int64_t i = 0; i < nidx; i++) idx[i] = irand(0, 2);
        fill_random(FG_F32, g, nidx * sh[1], -1, 1);
        fg_set_num_threads(1);
        fg_k_gather_scatter(FG_F32, g, 2, sh, 0, FG_I64, idx, nidx, o1);
        fg_set_num_threads(7);
        fg_k_gather_scatter(FG_F32, g, 2, sh, 0, FG_I64, idx, nidx, o2);
        CHECK(memcmp(o1, o2, sizeof(float) * 60000) == 0, "gather_scatter depends on threads");
        fg_set_num_threads(suite_threads);
        free(idx), free(g), free(o1), free(o2);
    }
}

/* ------------------------------------------------------------------------ */
/* softmax, optimizers                                                      */

static void test_softmax(void)
{
    ctx_name = "softmax";
    for (int dt = FG_F32; dt <= FG_F64; dt++) {
        for (int lg = 0; lg < 2; lg++) {
            int64_t dims[][2] = {{3, 5}, {1, 1}, {7, 1000}, {2000, 33}, {0, 4}};
            for (int c = 0; c < 5; c++) {
                int64_t rows = dims[c][0], cols = dims[c][1], n = rows * cols;
                void *x = alloc_dt(dt, n), *o = alloc_dt(dt, n);
                int bad = 0;
                fill_random(dt, x, n, -5, 5);
                if (n > 3) setv(dt, x, 1, 1000); /* stability */
                CHECK(fg_k_softmax(dt, x, rows, cols, o, lg) == 0, "softmax rc");
                for (int64_t r = 0; r < rows && !bad; r++) {
                    double mx = -INFINITY, s = 0;
                    for (int64_t j = 0; j < cols; j++) mx = fmax(mx, getv(dt, x, r * cols + j));
                    for (int64_t j = 0; j < cols; j++) s += exp(getv(dt, x, r * cols + j) - mx);
                    for (int64_t j = 0; j < cols && !bad; j++) {
                        double v = getv(dt, x, r * cols + j) - mx;
                        double ref = lg ? v - log(s) : exp(v) / s;
                        double got = getv(dt, o, r * cols + j);
                        if (fabs(got - ref) > (dt == FG_F32 ? 1e-5 : 1e-13) * (1 + fabs(ref))) {
                            bad = 1;
                            CHECK(0, "softmax %s log %d row %lld col %lld got %.9g ref %.9g", dname(dt), lg,
                                  (long long)r, (long long)j, got, ref);
                        }
                    }
                }
                free(x), free(o);
            }
        }
    }
    {
        int32_t x[4], o[4];
        CHECK(fg_k_softmax(FG_I32, x, 1, 4, o, 0) == -1, "int softmax fails");
    }
}

static void test_optimizers(void)
{
    const int64_t n = 70001;
    ctx_name = "optimizers";
    for (int dt = FG_F32; dt <= FG_F64; dt++) {
        double tol = dt == FG_F32 ? 1e-5 : 1e-13;
        for (int variant = 0; variant < 7; variant++) {
            void *var = alloc_dt(dt, n), *g = alloc_dt(dt, n), *s1 = alloc_dt(dt, n), *s2 = alloc_dt(dt, n);
            double *rv = (double *)malloc(sizeof(double) * (size_t)n);
            double *r1 = (double *)malloc(sizeof(double) * (size_t)n);
            double *r2 = (double *)malloc(sizeof(double) * (size_t)n);
            int rc = 0, bad = 0;
            fill_random(dt, var, n, -1, 1);
            fill_random(dt, g, n, -1, 1);
            fill_random(dt, s1, n, 0, 1);
            fill_random(dt, s2, n, 0, 1);
            for (int64_t i = 0; i < n; i++) {
                rv[i] = getv(dt, var, i);
                r1[i] = getv(dt, s1, i);
                r2[i] = getv(dt, s2, i);
            }
            for (int step = 0; step < 2; step++) {
                const double lr = 0.01, mom = 0.9, b1 = 0.9, b2 = 0.999, eps = 1e-7, rho = 0.9;
                switch (variant) {
                case 0: rc = fg_k_sgd(dt, var, g, NULL, n, lr, 0, 0); break;
                case 1: rc = fg_k_sgd(dt, var, g, s1, n, lr, mom, 0); break;
                case 2: rc = fg_k_sgd(dt, var, g, s1, n, lr, mom, 1); break;
                case 3: rc = fg_k_adam(dt, var, g, s1, s2, NULL, n, lr, b1, b2, eps); break;
                case 4: rc = fg_k_rmsprop(dt, var, g, s1, NULL, n, lr, rho, 0, eps); break;
                case 5: rc = fg_k_rmsprop(dt, var, g, s1, s2, n, lr, rho, mom, eps); break;
                default: rc = fg_k_rmsprop(dt, var, g, s1, s2, n, lr, rho, 0, eps); break;
                }
                CHECK(rc == 0, "optimizer %d rc %s", variant, last_error());
                for (int64_t i = 0; i < n; i++) {
                    double gi = getv(dt, g, i);
                    switch (variant) {
                    case 0: rv[i] -= lr * gi; break;
                    case 1:
                    case 2: {
                        double v = mom * r1[i] - lr * gi;
                        r1[i] = v;
                        rv[i] += variant == 2 ? mom * v - lr * gi : v;
                        break;
                    }
                    case 3:
                        r1[i] += (gi - r1[i]) * (1 - b1);
                        r2[i] += (gi * gi - r2[i]) * (1 - b2);
                        rv[i] -= lr * r1[i] / (sqrt(r2[i]) + eps);
                        break;
                    case 5: {
                        r1[i] = rho * r1[i] + (1 - rho) * gi * gi;
                        r2[i] = mom * r2[i] + lr * gi / sqrt(r1[i] + eps);
                        rv[i] -= r2[i];
                        break;
                    }
                    default:
                        r1[i] = rho * r1[i] + (1 - rho) * gi * gi;
                        rv[i] -= lr * gi / sqrt(r1[i] + eps);
                        break;
                    }
                }
            }
            for (int64_t i = 0; i < n && !bad; i++)
                if (fabs(getv(dt, var, i) - rv[i]) > tol * (1 + fabs(rv[i])) ||
                    (variant > 0 && fabs(getv(dt, s1, i) - r1[i]) > tol * (1 + fabs(r1[i]))) ||
                    ((variant == 3 || variant == 5) && fabs(getv(dt, s2, i) - r2[i]) > tol * (1 + fabs(r2[i])))) {
                    bad = 1;
                    CHECK(0, "optimizer %d %s i=%lld var %.9g ref %.9g", variant, dname(dt), (long long)i,
                          getv(dt, var, i), rv[i]);
                }
            free(var), free(g), free(s1), free(s2), free(rv), free(r1), free(r2);
        }
    }
    {
        int32_t v[2], g[2];
        CHECK(fg_k_sgd(FG_I32, v, g, NULL, 2, 0.1, 0, 0) == -1, "int sgd fails");
        CHECK(fg_k_adam(FG_BOOL, v, g, v, v, NULL, 2, 0.1, 0.9, 0.99, 1e-7) == -1, "bool adam fails");
    }
}

static void test_threads_api(void)
{
    ctx_name = "threads";
    fg_set_num_threads(3);
    CHECK(fg_get_num_threads() == 3, "set 3");
    CHECK(fg_threads_for(10) == 1, "small loops serial");
    CHECK(!fg_openmp_enabled() || fg_threads_for(10000000) == 3, "big loop gets 3: %d", fg_threads_for(10000000));
    CHECK(!fg_openmp_enabled() || fg_threads_for(FG_PARALLEL_MIN_ELEMENTS) == 2, "threshold loop gets 2");
    fg_set_num_threads(0);
    setenv("FASTGRAD_NUM_THREADS", "5", 1);
    setenv("OMP_NUM_THREADS", "2", 1);
    CHECK(fg_get_num_threads() == 5, "env FASTGRAD_NUM_THREADS: %d", fg_get_num_threads());
    unsetenv("FASTGRAD_NUM_THREADS");
    CHECK(fg_get_num_threads() == 2, "env OMP_NUM_THREADS: %d", fg_get_num_threads());
    setenv("OMP_NUM_THREADS", "6,2", 1);
    CHECK(fg_get_num_threads() == 6, "nested OMP_NUM_THREADS list");
    unsetenv("OMP_NUM_THREADS");
    CHECK(fg_get_num_threads() >= 1, "cpu default");
    fg_set_num_threads(2);
    CHECK(fg_get_num_threads() == 2, "set wins");
    fg_set_num_threads(0);
}

int main(void)
{
    const int suites[2] = {1, 4};
    unsetenv("FASTGRAD_NUM_THREADS");
    test_threads_api();
    for (int s = 0; s < 2; s++) {
        printf("suite with %d thread(s)\n", suites[s]);
        suite_threads = suites[s];
        fg_set_num_threads(suites[s]);
        test_unary();
        test_binary();
        test_where_bcast();
        test_cast_fill_range();
        test_reduce();
        test_reduce_sum_mul();
        test_transpose();
        test_matmul();
        test_slice();
        test_concat_tile();
        test_gather();
        test_softmax();
        test_optimizers();
    }
    test_reduce_determinism();
    test_tanh_f32_ulp();
    test_exp_sigmoid_f32_ulp();
    printf("%ld checks, %ld failures\n", n_checks, n_fail);
    return n_fail ? 1 : 0;
}
