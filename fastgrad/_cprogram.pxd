# Declarations of csrc/fg_program.h; keep in sync with it.
from libc.stdint cimport int64_t
from fastgrad._ctensor cimport fg_tensor

cdef extern from "fg_program.h" nogil:
    ctypedef struct fg_program:
        pass
    ctypedef fg_tensor **(*fg_var_resolver)(int64_t id) noexcept
    enum:
        FG_RUN_OK
        FG_RUN_GUARD_FAILED
        FG_RUN_BUSY
        FG_ASSIGN
        FG_ASSIGN_ADD
        FG_ASSIGN_SUB
    ctypedef struct fg_program_stats:
        int64_t n_traced
        int64_t n_instrs
        int64_t n_slots
        int64_t n_guards
        int64_t n_assigns
        int64_t n_registers
        int64_t n_buffers
        int64_t buffer_bytes
        int64_t n_fused
        int64_t n_direct
        int64_t n_generic
        int64_t n_chained
        int64_t n_outputs
        int64_t n_args
        int64_t n_var_args
        int64_t n_vars

    void fg_program_set_var_resolver(fg_var_resolver fn) noexcept
    fg_program *fg_program_new() noexcept
    void fg_program_free(fg_program *p) noexcept
    int fg_program_begin(fg_program *p) noexcept
    void fg_program_end(fg_program *p) noexcept
    fg_program *fg_program_tracing() noexcept
    int fg_program_add_arg(fg_program *p, fg_tensor *t) noexcept
    int fg_program_add_var_arg(fg_program *p, fg_tensor **ref) noexcept
    int fg_program_trace_op(fg_program *p, int op, int n_in, fg_tensor **inputs,
                            const int64_t *attrs, int nattrs, fg_tensor *out) noexcept
    int fg_program_trace_guard(fg_program *p, const fg_tensor *t) noexcept
    int fg_program_trace_assign(fg_program *p, fg_tensor **ref, int kind, fg_tensor *value) noexcept
    int fg_program_trace_optim(fg_program *p, int kind, int n_refs, fg_tensor ***refs, fg_tensor *grad,
                               fg_tensor *iterations, fg_tensor *lr, const double *hyper) noexcept
    void fg_program_trace_unsupported(fg_program *p, const char *what) noexcept
    const char *fg_program_unsupported(const fg_program *p) noexcept
    int fg_program_set_outputs(fg_program *p, int n, fg_tensor **outs) noexcept
    int fg_program_finalize(fg_program *p) noexcept
    int fg_program_run(fg_program *p, fg_tensor **args, fg_tensor ***var_args,
                       fg_tensor **outs) noexcept
    void fg_program_get_stats(const fg_program *p, fg_program_stats *st) noexcept
    int64_t fg_program_var_id(const fg_program *p, int64_t i, int *is_arg) noexcept
    void fg_program_set_buffer_limit(int64_t nbytes) noexcept
    int64_t fg_program_buffer_limit() noexcept
    int64_t fg_program_warm_bytes() noexcept
