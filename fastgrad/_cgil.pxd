# Declarations of csrc/fg_gil.h; keep in sync with it.
from libc.stdint cimport int64_t

cdef extern from "fg_gil.h" nogil:
    ctypedef void *(*fg_release_fn)() noexcept
    ctypedef void (*fg_acquire_fn)(void *) noexcept
    void fg_set_gil_hooks(fg_release_fn release, fg_acquire_fn acquire) noexcept
