# Declarations of csrc/fg_parallel.h; keep in sync with it.
from libc.stdint cimport int64_t

cdef extern from "fg_parallel.h" nogil:
    int fg_openmp_enabled() noexcept
    void fg_set_num_threads(int n) noexcept
    int fg_get_num_threads() noexcept
    int fg_threads_for(int64_t n) noexcept
    int fg_thread_index() noexcept
    int fg_forked_serial() noexcept
    void fg_parallel_stats(int64_t *out) noexcept
    void fg_set_parallel_fallback(int on) noexcept
    void fg_parallel_judge(int64_t wall_ns, int64_t alone_ns) noexcept
