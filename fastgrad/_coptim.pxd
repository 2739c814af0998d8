# Declarations of csrc/fg_optim.h; keep in sync with it.
from libc.stdint cimport int64_t

cdef extern from "fg_optim.h" nogil:
    enum:
        FG_OPTIM_SGD
        FG_OPTIM_ADAM
        FG_OPTIM_RMSPROP
        FG_OPTIM_ADAGRAD
        FG_OPTIM_ADADELTA
        FG_OPTIM_ADAMAX
        FG_OPTIM_NADAM
        FG_OPTIM_FTRL
        FG_OPTIM_NHYPER
        FG_OPTIM_WD
        FG_OPTIM_MAX_SLOTS
    int fg_optim_step(int kind, int dtype, int64_t n, void *w, const void *g, void **slots,
                      int n_slots, const void *lr, int lr_dtype, const void *iterations,
                      int it_dtype, const double *hyper) noexcept
