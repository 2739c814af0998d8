/* fg_optim.h: one optimizer update (Keras's SGD, Adam/AMSGrad/AdamW, RMSprop,
 * Adagrad, Adadelta, Adamax, Nadam, Ftrl).
 *
 * Plain C. Keep in sync with fastgrad/_coptim.pxd. The same call serves an
 * eager apply_gradients and a fastgrad.function replay, so both round
 * alike: the learning rate is read as the float32 Keras holds it in, and
 * Adam's bias correction is computed here, in the variable's dtype, from
 * the step count (the optimizer's iterations + 1) the caller reads at run
 * time, never baked into a trace.
 */
#ifndef FG_OPTIM_H
#define FG_OPTIM_H

#include <stdint.h>

enum {
    FG_OPTIM_SGD, FG_OPTIM_ADAM, FG_OPTIM_RMSPROP, FG_OPTIM_ADAGRAD, FG_OPTIM_ADADELTA,
    FG_OPTIM_ADAMAX, FG_OPTIM_NADAM, FG_OPTIM_FTRL, FG_OPTIM_NKINDS
};

/* hyper[] per kind (slots in brackets):
 *   SGD      {momentum, nesterov}                          [momentum]
 *   Adam     {beta_1, beta_2, epsilon, amsgrad}            [m, v(, vhat)]
 *   RMSprop  {rho, momentum, epsilon}                      [velocity(, momentum)]
 *   Adagrad  {epsilon}                                     [accumulator]
 *   Adadelta {rho, epsilon}                                [accumulated_grad, accumulated_delta_var]
 *   Adamax   {beta_1, beta_2, epsilon}                     [m, u]
 *   Nadam    {beta_1, beta_2, epsilon}                     [m, v, u_product (a scalar)]
 *   Ftrl     {learning_rate_power, l1, l2, l2_shrinkage, beta}  [accumulator, linear]
 * and hyper[FG_OPTIM_WD], every kind's weight decay: w -= w*wd*lr first
 * (tf_keras's decoupled decay, AdamW's), none when 0. */
#define FG_OPTIM_NHYPER 6
#define FG_OPTIM_WD 5
#define FG_OPTIM_MAX_SLOTS 3

/* How many slot arrays (momentum, m/v/vhat, ...) kind uses with hyper. */
int fg_optim_n_slots(int kind, const double *hyper);

/* One update of n elements: w and slots[0..n_slots) in place, g read.
 * lr and iterations point at scalars of dtypes lr_dtype and it_dtype (the
 * optimizer's variables, read now): the rate is rounded to float32 and
 * the step is iterations + 1. Returns 0, or -1 with the error set (a bad
 * kind, dtype or slot count). */
int fg_optim_step(int kind, int dtype, int64_t n, void *w, const void *g, void *const *slots,
                  int n_slots, const void *lr, int lr_dtype, const void *iterations, int it_dtype,
                  const double *hyper);

#endif
