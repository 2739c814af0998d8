# Declarations of csrc/fg_fusion.h; keep in sync with it.
from libc.stdint cimport int64_t
from fastgrad._ctensor cimport fg_tensor

cdef extern from "fg_fusion.h" nogil:
    int64_t fg_fusion_pack(int dtype, void *dst, int n, fg_tensor **src, double scale) noexcept
    int64_t fg_fusion_unpack(int dtype, const void *src, int n, fg_tensor **dst, double scale,
                             double divisor) noexcept
    enum:
        FG_ALLREDUCE_SUM
        FG_ALLREDUCE_AVERAGE
    ctypedef int (*fg_allreduce_hook)(void *data, int64_t n, int dtype, int op, int64_t digest) noexcept
    void fg_fusion_set_allreduce_hook(fg_allreduce_hook fn) noexcept
