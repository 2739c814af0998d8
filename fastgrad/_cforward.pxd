# Declarations of csrc/fg_forward.h; keep in sync with it.
from libc.stdint cimport int64_t
from fastgrad._ctensor cimport fg_tensor
from fastgrad._ctape cimport fg_tape

cdef extern from "fg_forward.h" nogil:
    ctypedef struct fg_accumulator:
        int active

    enum:
        FG_JAC_AUTO
        FG_JAC_REV
        FG_JAC_FWD

    fg_accumulator *fg_acc_new() noexcept
    void fg_acc_free(fg_accumulator *acc) noexcept
    int fg_acc_push(fg_accumulator *acc) noexcept
    void fg_acc_pop(fg_accumulator *acc) noexcept
    int fg_acc_watch(fg_accumulator *acc, const fg_tensor *primal, fg_tensor *tangent) noexcept
    fg_tensor *fg_acc_tangent(const fg_accumulator *acc, int64_t id) noexcept
    int fg_acc_visible() noexcept
    int fg_acc_record(int op, int n_in, fg_tensor **inputs, const int64_t *attrs, int nattrs,
                      fg_tensor *out, void *user) noexcept
    int fg_tape_forward(fg_tape *tape, int nb, int n_sources, fg_tensor **sources,
                        fg_tensor **tangents, int n_targets, fg_tensor **targets,
                        fg_tensor **result) noexcept
    int fg_tape_jacobian(fg_tape *tape, fg_tensor *target, int n_sources, fg_tensor **sources,
                         int mode, fg_tensor **out) noexcept
    int fg_tape_batch_jacobian(fg_tape *tape, fg_tensor *target, fg_tensor *source, int mode,
                               fg_tensor **out) noexcept
