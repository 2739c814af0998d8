/* fg_optim.c: the optimizer update of fg_optim.h over the fused kernels. */
#include "fg_optim.h"

#include <math.h>

#include "fg_kernels.h"
#include "fg_tensor.h"

int fg_optim_n_slots(int kind, const double *hyper) {
    switch (kind) {
    case FG_OPTIM_SGD: return hyper[0] != 0;
    case FG_OPTIM_ADAM: return hyper[3] != 0 ? 3 : 2;
    case FG_OPTIM_RMSPROP: return hyper[1] > 0 ? 2 : 1;
    case FG_OPTIM_ADAGRAD: return 1;
    case FG_OPTIM_ADADELTA: case FG_OPTIM_ADAMAX: case FG_OPTIM_FTRL: return 2;
    case FG_OPTIM_NADAM: return 3;
    default: return -1;
    }
}

/* lr * sqrt(1 - beta_2**t) / (1 - beta_1**t) in the variable's dtype from
 * float32 hyperparameters, as tf_keras computes it (and NumPy did here). */
static double adam_rate(int dtype, double lr, double beta1, double beta2, int64_t step) {
    if (dtype == FG_F32) {
        const float l = (float)lr, b1 = (float)beta1, b2 = (float)beta2, t = (float)step;
        return (double)(l * sqrtf(1.0f - powf(b2, t)) / (1.0f - powf(b1, t)));
    }
    const double l = (float)lr, b1 = (float)beta1, b2 = (float)beta2, t = (double)step;
    return l * sqrt(1.0 - pow(b2, t)) / (1.0 - pow(b1, t));
}

/* A scalar of any dtype as a double (the rate), or as an integer (the step). */
static double scalar_f64(const void *d, int dtype) {
    switch (dtype) {
    case FG_F32: return *(const float *)d;
    case FG_F64: return *(const double *)d;
    case FG_I32: return *(const int32_t *)d;
    case FG_I64: return (double)*(const int64_t *)d;
    default: return *(const uint8_t *)d;
    }
}

static int64_t scalar_i64(const void *d, int dtype) {
    return dtype == FG_I64 ? *(const int64_t *)d : (int64_t)scalar_f64(d, dtype);
}

/* x rounded to the variable's dtype: the constants tf_keras computes as
 * float32 tensor ops are computed here in float32 too. */
static double rd(int dtype, double x) { return dtype == FG_F32 ? (double)(float)x : x; }

static double pw(int dtype, double b, double e) {
    return dtype == FG_F32 ? (double)powf((float)b, (float)e) : pow(b, e);
}

/* The constants of fg_k_optim2's kinds for this step (see fg_k_optim.c);
 * Nadam's running product of its momentum schedule (its scalar slot) is
 * advanced here, once per step and variable. */
static int optim2(int kind, int dtype, int64_t n, void *w, const void *g, void *const *slots,
                  double lr, int64_t step, const double *h) {
    double c[9] = {0};
    const int f = dtype == FG_F32;
    if (dtype != FG_F32 && dtype != FG_F64) /* reports the dtype */
        return fg_k_optim2(FG_K_DECAY, dtype, w, g, slots, n, c);
    c[0] = lr;
    switch (kind) {
    case FG_OPTIM_ADAGRAD:
        c[1] = h[0];
        return fg_k_optim2(FG_K_ADAGRAD, dtype, w, g, slots, n, c);
    case FG_OPTIM_ADADELTA:
        c[1] = h[0], c[2] = 1.0 - h[0], c[3] = h[1];
        return fg_k_optim2(FG_K_ADADELTA, dtype, w, g, slots, n, c);
    case FG_OPTIM_ADAMAX: {
        const double b1 = (float)h[0]; /* tf.cast(beta_1, dtype) of a Python float */
        c[1] = 1.0 - h[0], c[2] = h[1], c[3] = h[2];
        c[4] = rd(dtype, 1.0 - pw(dtype, b1, (double)step));
        return fg_k_optim2(FG_K_ADAMAX, dtype, w, g, slots, n, c);
    }
    case FG_OPTIM_NADAM: {
        const double b1 = (float)h[0], b2 = (float)h[1], decay = (float)0.96;
        double ut, ut1, prod;
        if (f) {
            ut = (float)b1 * (1.0f - 0.5f * powf((float)decay, (float)step));
            ut1 = (float)b1 * (1.0f - 0.5f * powf((float)decay, (float)(step + 1)));
            prod = *(float *)slots[2] * (float)ut;
            *(float *)slots[2] = (float)prod;
            c[7] = 1.0f - (float)prod * (float)ut1;
            c[6] = 1.0f - (float)prod;
            c[1] = 1.0f - (float)b1, c[2] = 1.0f - (float)b2;
            c[8] = 1.0f - powf((float)b2, (float)step);
        } else {
            ut = b1 * (1.0 - 0.5 * pow(decay, (double)step));
            ut1 = b1 * (1.0 - 0.5 * pow(decay, (double)(step + 1)));
            prod = *(double *)slots[2] * ut;
            *(double *)slots[2] = prod;
            c[7] = 1.0 - prod * ut1;
            c[6] = 1.0 - prod;
            c[1] = 1.0 - b1, c[2] = 1.0 - b2;
            c[8] = 1.0 - pow(b2, (double)step);
        }
        c[3] = h[2], c[4] = ut, c[5] = ut1;
        return fg_k_optim2(FG_K_NADAM, dtype, w, g, slots, n, c);
    }
    default: { /* Ftrl: l2_reg = l2 + beta / (2 * lr) in the variable's dtype */
        const double l2_reg = f ? (double)((float)h[2] + (float)h[4] / (2.0f * (float)lr))
                                : h[2] + h[4] / (2.0 * lr);
        c[1] = -h[0], c[2] = h[1], c[3] = 2.0 * h[3];
        c[4] = rd(dtype, 2.0 * l2_reg);
        return fg_k_optim2(FG_K_FTRL, dtype, w, g, slots, n, c);
    }
    }
}

int fg_optim_step(int kind, int dtype, int64_t n, void *w, const void *g, void *const *slots,
                  int n_slots, const void *lr_data, int lr_dtype, const void *iterations, int it_dtype,
                  const double *hyper) {
    int want = fg_optim_n_slots(kind, hyper);
    if (want < 0) return fg_error_set(FG_ERR_INVALID, "unknown optimizer kind %d", kind);
    if (n_slots != want)
        return fg_error_set(FG_ERR_INVALID, "optimizer update needs %d slot variables, got %d", want, n_slots);
    const double lr = (float)scalar_f64(lr_data, lr_dtype); /* tf_keras's rate is a float32 variable */
    const int64_t step = scalar_i64(iterations, it_dtype) + 1;
    if (hyper[FG_OPTIM_WD] != 0) {
        const double c[2] = {lr, hyper[FG_OPTIM_WD]};
        if (fg_k_optim2(FG_K_DECAY, dtype, w, g, slots, n, c) < 0) return -1;
    }
    switch (kind) {
    case FG_OPTIM_SGD:
        return fg_k_sgd(dtype, w, g, n_slots ? slots[0] : NULL, n, lr, hyper[0], hyper[1] != 0);
    case FG_OPTIM_ADAM:
        if (step < 1) return fg_error_set(FG_ERR_INVALID, "adam: step %lld < 1", (long long)step);
        return fg_k_adam(dtype, w, g, slots[0], slots[1], n_slots > 2 ? slots[2] : NULL, n,
                         adam_rate(dtype, lr, hyper[0], hyper[1], step), hyper[0], hyper[1], hyper[2]);
    case FG_OPTIM_RMSPROP:
        return fg_k_rmsprop(dtype, w, g, slots[0], n_slots > 1 ? slots[1] : NULL, n, lr, hyper[0], hyper[1],
                            hyper[2]);
    default:
        return optim2(kind, dtype, n, w, g, slots, lr, step, hyper);
    }
}
