# Declarations of csrc/fg_fusion.h; keep in sync with it.
from libc.stdint cimport int64_t
from fastgrad._ctensor cimport fg_tensor

cdef extern from "fg_fusion.h" nogil:
    int64_t fg_fusion_pack(int dtype, void *dst, int n, fg_tensor **src, double scale) noexcept
    int64_t fg_fusion_unpack(int dtype, const void *src, int n, fg_tensor **dst, double scale,
                             double divisor) noexcept
