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

int fg_optim_step(int kind, int dtype, int64_t n, void *w, const void *g, void *const *slots,
                  int n_slots, const void *lr_data, int lr_dtype, const void *iterations, int it_dtype,
                  const double *hyper) {
    int want = fg_optim_n_slots(kind, hyper);
    if (want < 0) return fg_error_set(FG_ERR_INVALID, "unknown optimizer kind %d", kind);
    if (n_slots != want)
        return fg_error_set(FG_ERR_INVALID, "optimizer update needs %d slot variables, got %d", want, n_slots);
    const double lr = (float)scalar_f64(lr_data, lr_dtype); /* tf_keras's rate is a float32 variable */
    const int64_t step = scalar_i64(iterations, it_dtype) + 1;
    switch (kind) {
    case FG_OPTIM_SGD:
        return fg_k_sgd(dtype, w, g, n_slots ? slots[0] : NULL, n, lr, hyper[0], hyper[1] != 0);
    case FG_OPTIM_ADAM:
        if (step < 1) return fg_error_set(FG_ERR_INVALID, "adam: step %lld < 1", (long long)step);
        return fg_k_adam(dtype, w, g, slots[0], slots[1], n_slots > 2 ? slots[2] : NULL, n,
                         adam_rate(dtype, lr, hyper[0], hyper[1], step), hyper[0], hyper[1], hyper[2]);
    default:
        return fg_k_rmsprop(dtype, w, g, slots[0], n_slots > 1 ? slots[1] : NULL, n, lr, hyper[0], hyper[1],
                            hyper[2]);
    }
}
