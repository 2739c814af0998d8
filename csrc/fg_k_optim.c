/* fg_k_optim.c: the fused optimizer steps (sgd, adam, rmsprop). */
#include "fg_kernels_impl.h"

/* ------------------------------------------------------------------------ */
/* Optimizers                                                               */

typedef struct {
    int dtype, kind, nesterov;
    void *var, *s1, *s2, *s3;
    const void *g;
    double lr, p1, p2, eps;
} opt_job;

enum { OPT_SGD, OPT_ADAM, OPT_RMSPROP };

/* One pass over memory per step; constants are converted to T first so
 * float32 steps compute in float32 like Keras. */
#define DEF_OPT(S, T, M)                                                      \
    static void opt_range_##S(const opt_job *j, int64_t lo, int64_t hi)       \
    {                                                                         \
        T *var = (T *)j->var;                                                 \
        const T *g = (const T *)j->g;                                         \
        const T lr = (T)j->lr;                                                \
        if (j->kind == OPT_SGD) {                                             \
            const T mom = (T)j->p1;                                           \
            T *vel = (T *)j->s1;                                              \
            if (!vel) {                                                       \
                FG_SIMD for (int64_t i = lo; i < hi; i++) var[i] -= lr * g[i]; \
            } else if (j->nesterov) {                                         \
                FG_SIMD for (int64_t i = lo; i < hi; i++) {                   \
                    const T v = mom * vel[i] - lr * g[i];                     \
                    vel[i] = v;                                               \
                    var[i] += mom * v - lr * g[i];                            \
                }                                                             \
            } else {                                                          \
                FG_SIMD for (int64_t i = lo; i < hi; i++) {                   \
                    const T v = mom * vel[i] - lr * g[i];                     \
                    vel[i] = v;                                               \
                    var[i] += v;                                              \
                }                                                             \
            }                                                                 \
        } else if (j->kind == OPT_ADAM) {                                     \
            T *m = (T *)j->s1, *v = (T *)j->s2, *vhat = (T *)j->s3;           \
            const T omb1 = (T)(1.0 - j->p1), omb2 = (T)(1.0 - j->p2);         \
            const T eps = (T)j->eps;                                          \
            if (!vhat) {                                                      \
                FG_SIMD for (int64_t i = lo; i < hi; i++) {                   \
                    const T gi = g[i];                                        \
                    const T mi = m[i] + (gi - m[i]) * omb1;                   \
                    const T vi = v[i] + (gi * gi - v[i]) * omb2;              \
                    m[i] = mi;                                                \
                    v[i] = vi;                                                \
                    var[i] -= lr * mi / (M(sqrt)(vi) + eps);                  \
                }                                                             \
            } else { /* AMSGrad: the running maximum of v, as maximum() */    \
                FG_SIMD for (int64_t i = lo; i < hi; i++) {                   \
                    const T gi = g[i];                                        \
                    const T mi = m[i] + (gi - m[i]) * omb1;                   \
                    const T vi = v[i] + (gi * gi - v[i]) * omb2;              \
                    const T hi_ = (vhat[i] > vi || vhat[i] != vhat[i]) ? vhat[i] : vi; \
                    m[i] = mi;                                                \
                    v[i] = vi;                                                \
                    vhat[i] = hi_;                                            \
                    var[i] -= lr * mi / (M(sqrt)(hi_) + eps);                 \
                }                                                             \
            }                                                                 \
        } else {                                                              \
            T *ms = (T *)j->s1, *mom = (T *)j->s2;                            \
            const T rho = (T)j->p1, omr = (T)(1.0 - j->p1);                   \
            const T momentum = (T)j->p2, eps = (T)j->eps;                     \
            if (mom) {                                                        \
                FG_SIMD for (int64_t i = lo; i < hi; i++) {                   \
                    const T gi = g[i];                                        \
                    const T msi = rho * ms[i] + omr * gi * gi;                \
                    const T mi = momentum * mom[i] + lr * gi / M(sqrt)(msi + eps); \
                    ms[i] = msi;                                              \
                    mom[i] = mi;                                              \
                    var[i] -= mi;                                             \
                }                                                             \
            } else {                                                          \
                FG_SIMD for (int64_t i = lo; i < hi; i++) {                   \
                    const T gi = g[i];                                        \
                    const T msi = rho * ms[i] + omr * gi * gi;                \
                    ms[i] = msi;                                              \
                    var[i] -= lr * gi / M(sqrt)(msi + eps);                   \
                }                                                             \
            }                                                                 \
        }                                                                     \
    }
DEF_OPT(f32, float, FG_MF32)
DEF_OPT(f64, double, FG_MF64)

static void opt_range(void *v, int64_t lo, int64_t hi)
{
    const opt_job *j = (const opt_job *)v;
    if (j->dtype == FG_F32)
        opt_range_f32(j, lo, hi);
    else
        opt_range_f64(j, lo, hi);
}

static int opt_run(const char *fn, opt_job *j, int64_t n)
{
    int nt;
    if (!is_float(j->dtype)) return err_dtype(fn, j->dtype);
    if (n <= 0) return 0;
    nt = fg_threads_for(n * 4);
    if (nt <= 1)
        opt_range(j, 0, n);
    else
        run_range(nt, n, 64, opt_range, j);
    return 0;
}

int fg_k_sgd(int dtype, void *var, const void *grad, void *velocity, int64_t n, double lr,
             double momentum, int nesterov)
{
    opt_job j;
    memset(&j, 0, sizeof j);
    if (momentum != 0 && !velocity) {
        fg_error_set(FG_ERR_INVALID, "sgd: momentum needs a velocity slot");
        return -1;
    }
    j.dtype = dtype;
    j.kind = OPT_SGD;
    j.var = var;
    j.g = grad;
    j.s1 = momentum != 0 ? velocity : NULL; /* momentum 0: plain step */
    j.lr = lr;
    j.p1 = momentum;
    j.nesterov = nesterov;
    return opt_run("sgd", &j, n);
}

int fg_k_adam(int dtype, void *var, const void *grad, void *m, void *v, void *vhat, int64_t n,
              double lr_t, double beta1, double beta2, double eps)
{
    opt_job j;
    memset(&j, 0, sizeof j);
    if (!m || !v) {
        fg_error_set(FG_ERR_INVALID, "adam: missing slot");
        return -1;
    }
    j.dtype = dtype;
    j.kind = OPT_ADAM;
    j.var = var;
    j.g = grad;
    j.s1 = m;
    j.s2 = v;
    j.s3 = vhat;
    j.lr = lr_t;
    j.p1 = beta1;
    j.p2 = beta2;
    j.eps = eps;
    return opt_run("adam", &j, n);
}

int fg_k_rmsprop(int dtype, void *var, const void *grad, void *ms, void *mom, int64_t n,
                 double lr, double rho, double momentum, double eps)
{
    opt_job j;
    memset(&j, 0, sizeof j);
    if (!ms) {
        fg_error_set(FG_ERR_INVALID, "rmsprop: missing slot");
        return -1;
    }
    j.dtype = dtype;
    j.kind = OPT_RMSPROP;
    j.var = var;
    j.g = grad;
    j.s1 = ms;
    j.s2 = momentum > 0 ? mom : NULL;
    j.lr = lr;
    j.p1 = rho;
    j.p2 = momentum;
    j.eps = eps;
    return opt_run("rmsprop", &j, n);
}

/* ------------------------------------------------------------------------ */
/* Adagrad, Adadelta, Adamax, Nadam, Ftrl and decoupled weight decay, each
 * written in tf_keras's operation order, constants converted to T first,
 * so a float32 step rounds as tf_keras's float32 ops do. c[] holds the
 * learning rate c[0] and the per-kind constants listed in fg_optim.c.   */

typedef struct {
    int which, dtype;
    void *var;
    const void *g;
    void *const *s;
    const double *c;
} opt2_job;

#define DEF_OPT2(S, T, M)                                                     \
    static void opt2_range_##S(const opt2_job *j, int64_t lo, int64_t hi)     \
    {                                                                         \
        T *var = (T *)j->var;                                                 \
        const T *g = (const T *)j->g;                                         \
        const double *c = j->c;                                               \
        const T lr = (T)c[0];                                                 \
        switch (j->which) {                                                   \
        case FG_K_ADAGRAD: { /* c: lr, eps */                                 \
            T *acc = (T *)j->s[0];                                            \
            const T eps = (T)c[1];                                            \
            FG_SIMD for (int64_t i = lo; i < hi; i++) {                       \
                const T a = acc[i] + g[i] * g[i];                             \
                acc[i] = a;                                                   \
                var[i] -= lr * g[i] / M(sqrt)(a + eps);                       \
            }                                                                 \
            break;                                                            \
        }                                                                     \
        case FG_K_ADADELTA: { /* c: lr, rho, 1 - rho, eps */                  \
            T *ag = (T *)j->s[0], *ad = (T *)j->s[1];                         \
            const T rho = (T)c[1], omr = (T)c[2], eps = (T)c[3];              \
            FG_SIMD for (int64_t i = lo; i < hi; i++) {                       \
                const T a = rho * ag[i] + omr * g[i] * g[i];                  \
                const T d = -M(sqrt)(ad[i] + eps) * g[i] / M(sqrt)(a + eps);  \
                ag[i] = a;                                                    \
                ad[i] = rho * ad[i] + omr * d * d;                            \
                var[i] += lr * d;                                             \
            }                                                                 \
            break;                                                            \
        }                                                                     \
        case FG_K_ADAMAX: { /* c: lr, 1 - beta_1, beta_2, eps, 1 - beta_1**t */ \
            T *m = (T *)j->s[0], *u = (T *)j->s[1];                           \
            const T omb1 = (T)c[1], b2 = (T)c[2], eps = (T)c[3], bc = (T)c[4]; \
            FG_SIMD for (int64_t i = lo; i < hi; i++) {                       \
                const T mi = m[i] + (g[i] - m[i]) * omb1;                     \
                const T a = b2 * u[i], b = M(fabs)(g[i]);                     \
                const T ui = (a > b || a != a) ? a : b;                       \
                m[i] = mi;                                                    \
                u[i] = ui;                                                    \
                var[i] -= (lr * mi) / (bc * (ui + eps));                      \
            }                                                                 \
            break;                                                            \
        }                                                                     \
        case FG_K_NADAM: { /* c: lr, 1-b1, 1-b2, eps, u_t, u_t1,              \
                              1-u_prod_t, 1-u_prod_t1, 1-b2**t */              \
            T *m = (T *)j->s[0], *v = (T *)j->s[1];                           \
            const T omb1 = (T)c[1], omb2 = (T)c[2], eps = (T)c[3];            \
            const T ut = (T)c[4], ut1 = (T)c[5], den = (T)c[6], den1 = (T)c[7]; \
            const T vden = (T)c[8], omut = (T)1 - ut;                         \
            FG_SIMD for (int64_t i = lo; i < hi; i++) {                       \
                const T mi = m[i] + (g[i] - m[i]) * omb1;                     \
                const T vi = v[i] + (g[i] * g[i] - v[i]) * omb2;              \
                const T mhat = ut1 * mi / den1 + omut * g[i] / den;           \
                const T vhat = vi / vden;                                     \
                m[i] = mi;                                                    \
                v[i] = vi;                                                    \
                var[i] -= (mhat * lr) / (M(sqrt)(vhat) + eps);                \
            }                                                                 \
            break;                                                            \
        }                                                                     \
        case FG_K_FTRL: { /* c: lr, -lr_power, l1, 2*l2_shrinkage, 2*l2_reg */ \
            T *acc = (T *)j->s[0], *lin = (T *)j->s[1];                       \
            const T p = (T)c[1], l1 = (T)c[2], shr = (T)c[3], l2x2 = (T)c[4]; \
            FG_SIMD for (int64_t i = lo; i < hi; i++) {                       \
                const T w = var[i], gi = g[i];                                \
                const T gu = gi + shr * w;                                    \
                const T na = acc[i] + M(pow)(gi, (T)2);                       \
                const T pn = M(pow)(na, p);                                   \
                const T li = lin[i] + (gu - (pn - M(pow)(acc[i], p)) / lr * w); \
                const T quad = pn / lr + l2x2;                                \
                const T lc = li < -l1 ? -l1 : (li > l1 ? l1 : li);            \
                lin[i] = li;                                                  \
                var[i] = (lc - li) / quad;                                    \
                acc[i] = na;                                                  \
            }                                                                 \
            break;                                                            \
        }                                                                     \
        default: { /* FG_K_DECAY, c: lr, weight_decay */                      \
            const T wd = (T)c[1];                                             \
            FG_SIMD for (int64_t i = lo; i < hi; i++) var[i] -= var[i] * wd * lr; \
        }                                                                     \
        }                                                                     \
    }
DEF_OPT2(f32, float, FG_MF32)
DEF_OPT2(f64, double, FG_MF64)

static void opt2_range(void *v, int64_t lo, int64_t hi)
{
    const opt2_job *j = (const opt2_job *)v;
    if (j->dtype == FG_F32)
        opt2_range_f32(j, lo, hi);
    else
        opt2_range_f64(j, lo, hi);
}

int fg_k_optim2(int which, int dtype, void *var, const void *grad, void *const *s, int64_t n,
                const double *c)
{
    opt2_job j;
    int nt;
    if (!is_float(dtype)) return err_dtype("optimizer", dtype);
    if (n <= 0) return 0;
    j.which = which;
    j.dtype = dtype;
    j.var = var;
    j.g = grad;
    j.s = s;
    j.c = c;
    nt = fg_threads_for(n * 8);
    if (nt <= 1)
        opt2_range(&j, 0, n);
    else
        run_range(nt, n, 64, opt2_range, &j);
    return 0;
}
