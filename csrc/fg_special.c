/* fg_special.c: the special-function op family -- erfinv, ndtri, lgamma,
 * digamma, polygamma, zeta, igamma/igammac (and d igamma / d a), betainc,
 * bessel_i0e/i1e: their scalar float64 algorithms (the elementwise kernel
 * tables in fg_k_elementwise.c run them, so a fastgrad.function replay runs
 * them like any unary or binary kernel), betainc's forward, and the local
 * derivatives of these ops (fg_ops.def declares them).
 *
 * The algorithms are the textbook ones, written from their formulas:
 * Euler-Maclaurin summation for the Hurwitz zeta function, recurrence plus
 * the asymptotic (Bernoulli) series for digamma, the power series and
 * Legendre's continued fraction for the incomplete gamma function (with
 * d/da carried through both as dual numbers), the continued fraction for
 * the incomplete beta function (modified Lentz), power series and the
 * Hankel asymptotic expansion for the scaled Bessel functions, and
 * Acklam's rational approximation refined by Halley steps for ndtri.
 * Domains, poles and limits follow TensorFlow 2.21 (Eigen), probed value
 * by value (tests/test_math_special.py).
 */
#include <float.h>
#include <stdio.h>
#include <math.h>
#include <string.h>

#include "fg_forward_util.h"
#include "fg_kernels.h"
#include "fg_kernels_impl.h"
#include "fg_rules.h"

#define SF_PI 3.14159265358979323846
#define SF_EPS 1.1102230246251565e-16 /* 2^-53 */

/* ------------------------------------------------------------- gamma family */

double fg_sf_lgamma(double x) {
#if defined(__GLIBC__) || defined(__APPLE__)
    int sign; /* lgamma_r: no write to the global signgam from threads */
    return lgamma_r(x, &sign);
#else
    return lgamma(x);
#endif
}

/* psi(x): shifted up past 10 by psi(x) = psi(x+1) - 1/x, then
 * log x - 1/(2x) - sum B_2k / (2k x^2k). Non-positive x by the reflection
 * psi(1-x) - psi(x) = pi cot(pi x); the poles (0, -1, ...) and -inf give NaN
 * as TF's Digamma. */
double fg_sf_digamma(double x) {
    double refl = 0.0, res = 0.0, z, y;
    if (isnan(x)) return x;
    if (isinf(x)) return x > 0 ? x : NAN;
    if (x <= 0) {
        double fl = floor(x);
        if (x == fl) return NAN;
        refl = SF_PI / tan(SF_PI * (x - fl)); /* tan has period pi */
        x = 1.0 - x;
    }
    while (x < 10.0) {
        res -= 1.0 / x;
        x += 1.0;
    }
    z = 1.0 / (x * x);
    y = z * (1.0 / 12 - z * (1.0 / 120 - z * (1.0 / 252 - z * (1.0 / 240 - z * (1.0 / 132 -
        z * (691.0 / 32760 - z / 12.0))))));
    res += log(x) - 0.5 / x - y;
    return res - refl;
}

/* B_2j / (2j)! for j = 1..12 */
static const double bern_over_fact[12] = {
    1.0 / 6 / 2, -1.0 / 30 / 24, 1.0 / 42 / 720, -1.0 / 30 / 40320, 5.0 / 66 / 3628800,
    -691.0 / 2730 / 479001600.0, 7.0 / 6 / 87178291200.0, -3617.0 / 510 / 20922789888000.0,
    43867.0 / 798 / 6402373705728000.0, -174611.0 / 330 / 2432902008176640000.0,
    854513.0 / 138 / 1.1240007277776077e21, -236364091.0 / 2730 / 6.2044840173323943e23,
};

/* Hurwitz zeta(s, q) = sum_k (q + k)^-s: the first terms directly, until
 * a = q + N is large enough that the Euler-Maclaurin tail
 * a^(1-s)/(s-1) + a^-s/2 + sum_j B_2j/(2j)! s(s+1)..(s+2j-2) a^(-s-2j+1)
 * converges fast (its ratio is about ((s+2j)/(2 pi a))^2). */
double fg_sf_zeta(double s, double q) {
    double sum = 0.0, a, amin, term, fac, tail;
    if (isnan(s) || isnan(q)) return NAN;
    if (s == 1.0) return INFINITY;
    if (s < 1.0) return NAN;
    if (q <= 0.0) {
        if (q == floor(q)) return INFINITY;
        if (s != floor(s)) return NAN; /* a negative base to a fractional power */
    }
    if (isinf(q)) return 0.0;
    amin = 0.6 * (s + 24.0); /* the tail's ratio then stays below 0.07 */
    if (amin < 12.0) amin = 12.0;
    a = q;
    while (a < amin) {
        term = pow(a, -s);
        sum += term;
        a += 1.0;
        if (a > 0 && fabs(term) <= fabs(sum) * SF_EPS * 0.01 && pow(a, -s) <= fabs(sum) * SF_EPS * 0.01)
            return sum;
    }
    /* a >= 12 from here */
    term = pow(a, -s);
    tail = a * term / (s - 1.0) + 0.5 * term;
    fac = s * term / a; /* s a^(-s-1) */
    for (int j = 0; j < 12; j++) {
        double t = bern_over_fact[j] * fac;
        tail += t;
        if (fabs(t) <= fabs(sum + tail) * SF_EPS * 0.5) break;
        fac *= (s + 2.0 * j + 1.0) * (s + 2.0 * j + 2.0) / (a * a);
    }
    return sum + tail;
}

/* polygamma(n, x) = (-1)^(n+1) n! zeta(n+1, x) for n = 1, 2, ...; digamma
 * for n = 0; NaN for a negative or fractional n (TF's Polygamma). */
double fg_sf_polygamma(double n, double x) {
    if (isnan(n) || isnan(x)) return NAN;
    if (n != floor(n) || n < 0) return NAN;
    if (n == 0) return fg_sf_digamma(x);
    {
        double f = exp(fg_sf_lgamma(n + 1.0)) * fg_sf_zeta(n + 1.0, x);
        return fmod(n, 2.0) == 0.0 ? -f : f;
    }
}

/* ----------------------------------------------------- incomplete gamma */

/* A number with its derivative in a (forward-mode dual number). */
typedef struct {
    double v, d;
} dual;

static inline dual dmul(dual x, dual y) { return (dual){x.v * y.v, x.d * y.v + x.v * y.d}; }
static inline dual ddiv(dual x, dual y) { return (dual){x.v / y.v, (x.d * y.v - x.v * y.d) / (y.v * y.v)}; }
static inline dual dadd(dual x, dual y) { return (dual){x.v + y.v, x.d + y.d}; }

#define IG_MAXIT 5000

/* P(a, x) by its power series, with dP/da:
 * P = exp(a log x - x - lgamma(a+1)) sum_n x^n / ((a+1)..(a+n)). */
static dual igamma_series(double a, double x) {
    const double logpre = a * log(x) - x - fg_sf_lgamma(a + 1.0);
    const double dlogpre = log(x) - fg_sf_digamma(a + 1.0);
    double t = 1.0, sum = 1.0, dt = 0.0, dsum = 0.0, pre;
    for (int n = 1; n < IG_MAXIT; n++) {
        double r = x / (a + n);
        /* d t_n / da = d t_(n-1) / da * r - t_(n-1) * r / (a + n) */
        dt = dt * r - t * r / (a + n);
        t *= r;
        sum += t;
        dsum += dt;
        if (t <= sum * SF_EPS && fabs(dt) <= fabs(dsum) * SF_EPS) break;
    }
    pre = exp(logpre);
    return (dual){pre * sum, pre * (dlogpre * sum + dsum)};
}

/* Q(a, x) by Legendre's continued fraction (modified Lentz), with dQ/da:
 * Q = exp(a log x - x - lgamma(a)) / (x+1-a- 1(1-a)/(x+3-a- 2(2-a)/...)). */
static dual igammac_cf(double a, double x) {
    const double tiny = 1e-300;
    const double logpre = a * log(x) - x - fg_sf_lgamma(a);
    const double dlogpre = log(x) - fg_sf_digamma(a);
    dual b = {x + 1.0 - a, -1.0}, cc = {1.0 / tiny, 0.0}, d, h;
    double pre;
    d = ddiv((dual){1.0, 0.0}, b);
    h = d;
    for (int i = 1; i < IG_MAXIT; i++) {
        dual an = {-i * (i - a), (double)i}, del;
        b.v += 2.0;
        d = dadd(dmul(an, d), b);
        if (fabs(d.v) < tiny) d.v = tiny;
        cc = dadd(b, ddiv(an, cc));
        if (fabs(cc.v) < tiny) cc.v = tiny;
        d = ddiv((dual){1.0, 0.0}, d);
        del = dmul(d, cc);
        h = dmul(h, del);
        if (fabs(del.v - 1.0) <= SF_EPS && fabs(del.d) <= fabs(h.d) * SF_EPS) break;
    }
    pre = exp(logpre);
    return (dual){pre * h.v, pre * (dlogpre * h.v + h.d)};
}

/* P(a, x) and dP/da; *which says which tail was computed (0: P, 1: Q). */
static dual igamma_dual(double a, double x, int *upper) {
    *upper = 0;
    if (x > 1.0 && x > a) {
        *upper = 1;
        return igammac_cf(a, x);
    }
    return igamma_series(a, x);
}

/* TF's Igamma: x == 0 gives 0; x < 0 or a <= 0 NaN; x = inf 1; a = inf 0 */
double fg_sf_igamma(double a, double x) {
    int upper;
    dual r;
    if (isnan(a) || isnan(x)) return NAN;
    if (x == 0.0) return 0.0;
    if (x < 0.0 || a <= 0.0) return NAN;
    if (isinf(x)) return 1.0;
    if (isinf(a)) return 0.0;
    r = igamma_dual(a, x, &upper);
    return upper ? 1.0 - r.v : r.v;
}

double fg_sf_igammac(double a, double x) {
    int upper;
    dual r;
    if (isnan(a) || isnan(x)) return NAN;
    if (x < 0.0 || a <= 0.0) return NAN;
    if (x == 0.0) return 1.0;
    if (isinf(x)) return 0.0;
    if (isinf(a)) return 1.0;
    r = igamma_dual(a, x, &upper);
    return upper ? r.v : 1.0 - r.v;
}

double fg_sf_igamma_da(double a, double x) {
    int upper;
    dual r;
    if (isnan(a) || isnan(x)) return NAN;
    if (x == 0.0) return 0.0;
    if (x < 0.0 || a <= 0.0) return NAN;
    if (isinf(x) || isinf(a)) return 0.0;
    r = igamma_dual(a, x, &upper);
    return upper ? -r.d : r.d;
}

/* ------------------------------------------------------ incomplete beta */

/* the continued fraction of I_x(a, b), modified Lentz */
static double betacf(double a, double b, double x) {
    const double tiny = 1e-300;
    const double qab = a + b, qap = a + 1.0, qam = a - 1.0;
    double c = 1.0, d = 1.0 - qab * x / qap, h;
    if (fabs(d) < tiny) d = tiny;
    d = 1.0 / d;
    h = d;
    for (int m = 1; m < IG_MAXIT; m++) {
        const double m2 = 2.0 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2)), del;
        d = 1.0 + aa * d;
        if (fabs(d) < tiny) d = tiny;
        c = 1.0 + aa / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1.0 / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if (fabs(d) < tiny) d = tiny;
        c = 1.0 + aa / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1.0 / d;
        del = d * c;
        h *= del;
        if (fabs(del - 1.0) <= SF_EPS) break;
    }
    return h;
}

/* I_x(a, b); NaN outside a, b > 0, 0 <= x <= 1 (TF's Betainc) */
double fg_sf_betainc(double a, double b, double x) {
    double lbt;
    if (isnan(a) || isnan(b) || isnan(x)) return NAN;
    if (a <= 0.0 || b <= 0.0 || x < 0.0 || x > 1.0) return NAN;
    if (x == 0.0 || x == 1.0) return x;
    lbt = fg_sf_lgamma(a + b) - fg_sf_lgamma(a) - fg_sf_lgamma(b) + a * log(x) + b * log1p(-x);
    if (x < (a + 1.0) / (a + b + 2.0)) return exp(lbt) * betacf(a, b, x) / a;
    return 1.0 - exp(lbt) * betacf(b, a, 1.0 - x) / b;
}

/* ------------------------------------------------------- error function */

/* the standard normal quantile. Acklam's rational approximation (relative
 * error about 1e-9) refined by two Halley steps on 0.5 erfc(-x/sqrt2) - p;
 * the upper half by symmetry, so the lower tail's erfc stays accurate. */
double fg_sf_ndtri(double p) {
    static const double a[6] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                                1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[5] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                6.680131188771972e+01, -1.328068155288572e+01};
    static const double cc[6] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                 -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00};
    static const double dd[4] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                 3.754408661907416e+00};
    double x, q, r;
    if (isnan(p) || p < 0.0 || p > 1.0) return NAN;
    if (p == 0.0) return -INFINITY;
    if (p == 1.0) return INFINITY;
    if (p > 0.5) return -fg_sf_ndtri(1.0 - p);
    if (p < 0.02425) {
        q = sqrt(-2.0 * log(p));
        x = (((((cc[0] * q + cc[1]) * q + cc[2]) * q + cc[3]) * q + cc[4]) * q + cc[5]) /
            ((((dd[0] * q + dd[1]) * q + dd[2]) * q + dd[3]) * q + 1.0);
    } else {
        q = p - 0.5;
        r = q * q;
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
    }
    for (int it = 0; it < 2; it++) {
        const double e = 0.5 * erfc(-x / 1.4142135623730951) - p;
        const double u = e * 2.5066282746310002 * exp(0.5 * x * x);
        const double nx = x - u / (1.0 + 0.5 * x * u);
        if (!isfinite(nx)) break;
        x = nx;
    }
    return x;
}

/* TF's Erfinv for double: ndtri((x + 1) / 2) / sqrt(2) */
double fg_sf_erfinv(double x) {
    if (isnan(x) || x < -1.0 || x > 1.0) return NAN;
    return fg_sf_ndtri(0.5 * (x + 1.0)) * 0.70710678118654752;
}

/* ------------------------------------------------------- Bessel I0e, I1e */

/* exp(-|x|) I_nu(x) for nu = 0, 1 and x >= 0: the power series
 * sum (x/2)^(2k+nu) / (k! (k+nu)!) up to 20 (positive terms, no
 * cancellation), above it the Hankel expansion
 * e^-x I_nu(x) ~ (2 pi x)^-1/2 sum_k (-1)^k prod_(j<=k) (mu - (2j-1)^2) / (k! (8x)^k),
 * mu = 4 nu^2, whose smallest term is below 1e-17 there. */
static double bessel_ie(int nu, double x) {
    if (isinf(x)) return 0.0;
    if (x <= 20.0) {
        const double y = 0.25 * x * x;
        double t = nu ? 0.5 * x : 1.0, sum = t;
        for (int k = 1; k < 200; k++) {
            t *= y / ((double)k * (double)(k + nu));
            sum += t;
            if (t <= sum * SF_EPS * 0.5) break;
        }
        return sum * exp(-x);
    }
    {
        const double mu = 4.0 * nu * nu;
        double t = 1.0, sum = 1.0;
        for (int k = 1; k < 40; k++) {
            const double odd = 2.0 * k - 1.0;
            const double nt = -t * (mu - odd * odd) / (k * 8.0 * x);
            if (fabs(nt) >= fabs(t)) break; /* past the smallest term */
            t = nt;
            sum += t;
            if (fabs(t) <= fabs(sum) * SF_EPS * 0.5) break;
        }
        return sum / sqrt(2.0 * SF_PI * x);
    }
}

double fg_sf_i0e(double x) {
    if (isnan(x)) return x;
    return bessel_ie(0, fabs(x));
}

double fg_sf_i1e(double x) {
    double r;
    if (isnan(x)) return x;
    r = bessel_ie(1, fabs(x));
    return x < 0 ? -r : r;
}

/* ---------------------------------------------------------------- forward */

/* betainc(a, b, x): three float inputs of one dtype, broadcast */
int fwd_betainc(const fg_opdef *d, fg_tensor *const *in, int n_in, const int64_t *attrs, int nattrs,
                fg_tensor **out) {
    (void)n_in, (void)attrs, (void)nattrs;
    fg_tensor *a = in[0], *b = in[1], *x = in[2];
    if (b->dtype != a->dtype) return dtype_mismatch(d, 1, a->dtype, b->dtype);
    if (x->dtype != a->dtype) return dtype_mismatch(d, 2, a->dtype, x->dtype);
    if (!fg_dtype_is_float(a->dtype)) return not_allowed(d, a->dtype);
    /* TF's Betainc: the non-scalar inputs must have one shape */
    static const char *names = "abx";
    for (int p = 0; p < 3; p++)
        for (int q = p + 1; q < 3; q++)
            if (in[p]->ndim > 0 && in[q]->ndim > 0 && !fg_same_shape(in[p], in[q])) {
                char sp[96];
                snprintf(sp, sizeof sp, "%s", fg_shape_str(in[p]->ndim, in[p]->shape));
                return fg_error_set(FG_ERR_INVALID, "Shapes of %c and %c are inconsistent: %s vs. %s [Op:%s]",
                                    names[p], names[q], sp, fg_shape_str(in[q]->ndim, in[q]->shape), d->tf_name);
            }
    int64_t s1[FG_MAX_NDIM], s2[FG_MAX_NDIM];
    int nd = fg_broadcast_shapes(a->ndim, a->shape, b->ndim, b->shape, s1);
    if (nd >= 0) nd = fg_broadcast_shapes(nd, s1, x->ndim, x->shape, s2);
    if (nd < 0)
        return fg_error_set(FG_ERR_INVALID, "Shapes of a, b, and x must be consistent: %s, %s, %s [Op:%s]",
                            fg_shape_str(a->ndim, a->shape), fg_shape_str(b->ndim, b->shape),
                            fg_shape_str(x->ndim, x->shape), d->tf_name);
    fg_tensor *o = fg_tensor_new(a->dtype, nd, s2);
    if (!o) return -1;
    RUN_KERNEL_WORK(o, o->size * 64,
                    fg_k_ternary(d->kind, a->dtype, a->data, a->ndim, a->shape, b->data, b->ndim, b->shape,
                                 x->data, x->ndim, x->shape, o->data, nd, s2));
    *out = o;
    return 0;
}

/* ------------------------------------------------------------------ rules */

/* Each is TF's gradient (math_grad.py), written as table ops so that it
 * has derivatives of its own: digamma's needs polygamma(1, x), polygamma's
 * polygamma(n + 1, x), zeta's zeta(s + 1, q). */

#define AP1(op, x) ap1(c, FG_OP_##op, x)
#define AP2(op, x, y) ap2(c, FG_OP_##op, x, y)
#define ONE cst(DT, 1)

DERIV(erf) {
    UNUSED_DERIV_ARGS;
    return MUL(MUL(v, cst(DT, 1.1283791670955126)), AP1(EXP, NEG(AP1(SQUARE, X(0)))));
}

DERIV(erfc) {
    UNUSED_DERIV_ARGS;
    return MUL(MUL(v, cst(DT, -1.1283791670955126)), AP1(EXP, NEG(AP1(SQUARE, X(0)))));
}

DERIV(erfinv) {
    UNUSED_DERIV_ARGS;
    return MUL(MUL(v, cst(DT, 0.88622692545275801)), AP1(EXP, AP1(SQUARE, Y)));
}

DERIV(ndtri) {
    UNUSED_DERIV_ARGS;
    return MUL(MUL(v, cst(DT, 2.5066282746310002)), AP1(EXP, DIV(AP1(SQUARE, Y), cst(DT, 2))));
}

DERIV(lgamma) {
    UNUSED_DERIV_ARGS;
    return MUL(v, AP1(DIGAMMA, X(0)));
}

DERIV(digamma) {
    UNUSED_DERIV_ARGS;
    return MUL(v, AP2(POLYGAMMA, ONE, X(0)));
}

/* TF: no gradient for the order n (None) */
DERIV(polygamma) {
    (void)to, (void)i;
    return MUL(v, AP2(POLYGAMMA, ADD(X(0), ONE), X(1)));
}

/* TF: no gradient for s (None); d/dq = -s zeta(s + 1, q) */
DERIV(zeta) {
    (void)to, (void)i;
    return MUL(MUL(NEG(X(0)), AP2(ZETA, ADD(X(0), ONE), X(1))), v);
}

/* d P(a, x) / dx = exp(-x + (a - 1) log x - lgamma(a)) */
static fg_tensor *igamma_dx(rctx *c, const fg_node *node) {
    fg_tensor *a = X(0), *x = X(1);
    return AP1(EXP, SUB(ADD(NEG(x), MUL(SUB(a, ONE), AP1(LOG, x))), AP1(LGAMMA, a)));
}

DERIV(igamma) {
    (void)to;
    if (i == 0) return MUL(AP2(IGAMMA_GRAD_A, X(0), X(1)), v);
    return MUL(igamma_dx(c, node), v);
}

DERIV(igammac) {
    (void)to;
    if (i == 0) return NEG(MUL(AP2(IGAMMA_GRAD_A, X(0), X(1)), v));
    return NEG(MUL(igamma_dx(c, node), v));
}

/* d/dx (dP/da) = d/da (dP/dx) = dP/dx (log x - digamma(a)); d2P/da2 is
 * not given (TF registers no gradient for IgammaGradA at all). */
DERIV(igamma_grad_a) {
    (void)to, (void)i;
    return MUL(MUL(igamma_dx(c, node), SUB(AP1(LOG, X(1)), AP1(DIGAMMA, X(0)))), v);
}

/* TF: d/dx only (None for a and b), in log space:
 * exp(xlog1py(b - 1, -x) + xlogy(a - 1, x) - log B(a, b)) */
DERIV(betainc) {
    (void)to, (void)i;
    fg_tensor *a = X(0), *b = X(1), *x = X(2);
    fg_tensor *log_beta = SUB(ADD(AP1(LGAMMA, a), AP1(LGAMMA, b)), AP1(LGAMMA, ADD(a, b)));
    fg_tensor *lp = SUB(ADD(AP2(XLOG1PY, SUB(b, ONE), NEG(x)), AP2(XLOGY, SUB(a, ONE), x)), log_beta);
    return MUL(AP1(EXP, lp), v);
}

DERIV(bessel_i0e) {
    UNUSED_DERIV_ARGS;
    return MUL(v, SUB(AP1(BESSEL_I1E, X(0)), MUL(AP1(SIGN, X(0)), Y)));
}

/* TF imputes the limit 0.5 at x = 0, where the formula divides by x */
DERIV(bessel_i1e) {
    UNUSED_DERIV_ARGS;
    fg_tensor *x = X(0);
    fg_tensor *f = SUB(AP1(BESSEL_I0E, x), MUL(Y, ADD(AP1(SIGN, x), AP1(RECIPROCAL, x))));
    return MUL(v, WHERE(AP2(EQUAL, x, cst(DT, 0)), cst(DT, 0.5), f));
}
