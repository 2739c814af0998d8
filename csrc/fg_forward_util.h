/* fg_forward_util.h: what the forwards of every op family share (internal):
 * TF's dtype names and messages, and running a kernel with the GIL
 * released. */
#ifndef FG_FORWARD_UTIL_H
#define FG_FORWARD_UTIL_H

#include "fg_gil.h"
#include "fg_interrupt.h"
#include "fg_ops.h"

/* TensorFlow's names for dtypes, as its messages print them */
static inline const char *tf_dtype(int dtype) {
    static const char *names[FG_NDTYPES] = {"float", "double", "int32", "int64", "bool"};
    return (dtype >= 0 && dtype < FG_NDTYPES) ? names[dtype] : "unknown";
}

static inline int dtype_mismatch(const fg_opdef *d, int input, int expected, int got) {
    return fg_error_set(FG_ERR_INVALID,
                        "cannot compute %s as input #%d(zero-based) was expected to be a %s tensor "
                        "but is a %s tensor [Op:%s]",
                        d->tf_name, input, tf_dtype(expected), tf_dtype(got), d->tf_name);
}

static inline int not_allowed(const fg_opdef *d, int dtype) {
    return fg_error_set(FG_ERR_INVALID, "Value for attr 'T' of %s is not in the list of allowed values [Op:%s]",
                        tf_dtype(dtype), d->tf_name);
}

/* Run a kernel into out with the GIL released when the work is large;
 * on failure free out and fail the forward. Such a kernel on Python's
 * main thread may be cut short by Ctrl-C (fg_interrupt.h): its partial
 * output is freed and the op fails with FG_ERR_INTERRUPTED. */
#define RUN_KERNEL_WORK(out, work, call)                    \
    do {                                                    \
        void *tok_ = fg_gil_release_if(work);               \
        int arm_ = tok_ ? fg_interrupt_arm() : 0;           \
        int rc_ = (call);                                   \
        int stop_ = arm_ && fg_interrupt_stop();            \
        fg_interrupt_disarm(arm_);                          \
        fg_gil_acquire(tok_);                               \
        if (rc_ < 0 || stop_) {                             \
            fg_decref(out);                                 \
            if (rc_ >= 0)                                   \
                fg_error_set(FG_ERR_INTERRUPTED, "interrupted"); \
            return -1;                                      \
        }                                                   \
    } while (0)
#define RUN_KERNEL(out, call) RUN_KERNEL_WORK(out, (out)->size, call)

#endif
