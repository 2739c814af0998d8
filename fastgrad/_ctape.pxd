# Declarations of csrc/fg_tape.h; keep in sync with it.
from libc.stdint cimport int64_t
from fastgrad._ctensor cimport fg_tensor

cdef extern from "fg_tape.h" nogil:
    ctypedef struct fg_tape:
        int64_t n_nodes
        int64_t n_slots
        int persistent
        int watch_accessed_variables
        int recording
        int64_t *accessed
        int64_t n_accessed
        int watch_all

    fg_tape *fg_tape_new(int persistent, int watch_accessed_variables) noexcept
    void fg_tape_free(fg_tape *tape) noexcept
    void fg_tape_clear(fg_tape *tape) noexcept
    void fg_tape_release(fg_tape *tape) noexcept
    int fg_tape_push(fg_tape *tape) noexcept
    void fg_tape_pop(fg_tape *tape) noexcept
    int fg_tapes_recording() noexcept
    int fg_tape_watch(fg_tape *tape, const fg_tensor *t) noexcept
    int64_t fg_tape_slot(const fg_tape *tape, int64_t id) noexcept
    int fg_tape_record_custom(int n_in, fg_tensor **inputs, fg_tensor *out, void *user) noexcept
    int fg_tape_gradient(fg_tape *tape, int n_targets, fg_tensor **targets,
                         fg_tensor **seeds, int n_sources, fg_tensor **sources,
                         fg_tensor **result) noexcept
