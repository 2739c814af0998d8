# Declarations of csrc/fg_ops.h; keep in sync with it.
from libc.stdint cimport int64_t, uint8_t
from fastgrad._ctensor cimport fg_tensor

cdef extern from "fg_ops.h" nogil:
    enum:
        FG_NUM_OPS
    ctypedef int (*fg_custom_hook)(void *user, fg_tensor *g, int n_in, fg_tensor **gin) noexcept
    ctypedef void (*fg_release_hook)(void *user) noexcept

    int fg_op_lookup(const char *name) noexcept
    const char *fg_op_name(int op) noexcept
    const char *fg_op_attrs(int op) noexcept
    unsigned fg_op_flags(int op) noexcept
    int fg_attrs_check(int op, int in_ndim, const int64_t *attrs, int nattrs) noexcept
    fg_tensor *fg_apply(int op, int n_in, fg_tensor **inputs, const int64_t *attrs, int nattrs) noexcept
    fg_tensor *fg_sum_to_shape(fg_tensor *g, int ndim, const int64_t *shape) noexcept
    fg_tensor *fg_reduce_mean(fg_tensor *x, const uint8_t *mask, int keepdims) noexcept
    fg_tensor *fg_ones_like(const fg_tensor *x) noexcept
    fg_tensor *fg_zeros_like(const fg_tensor *x) noexcept
    int fg_broadcast_shapes(int a_ndim, const int64_t *a, int b_ndim, const int64_t *b, int64_t *out) noexcept
    void fg_set_custom_hooks(fg_custom_hook call, fg_release_hook release, fg_release_hook retain) noexcept
