# Declarations of csrc/fg_tensor.h; keep in sync with it.
from libc.stdint cimport int64_t, int32_t

cdef extern from "fg_tensor.h" nogil:
    enum:
        FG_MAX_NDIM
        FG_F32
        FG_F64
        FG_I32
        FG_I64
        FG_BOOL
        FG_NDTYPES
        FG_FLAG_VARIABLE
        FG_FLAG_TRAINABLE
        FG_ERR_NONE
        FG_ERR_INVALID
        FG_ERR_NOMEM
        FG_ERR_RUNTIME
        FG_ERR_INTERRUPTED

    ctypedef struct fg_buffer:
        int64_t refcnt
        size_t nbytes
        void *data
        void (*release)(void *owner) noexcept
        void *owner

    ctypedef struct fg_tensor:
        int64_t refcnt
        int64_t id
        int32_t dtype
        int32_t ndim
        int32_t flags
        int64_t size
        int64_t shape[16]
        void *data
        fg_buffer *buf

    size_t fg_dtype_size(int dtype) noexcept
    int fg_dtype_is_float(int dtype) noexcept
    const char *fg_dtype_name(int dtype) noexcept
    int64_t fg_next_id() noexcept
    fg_tensor *fg_tensor_new(int dtype, int ndim, const int64_t *shape) noexcept
    fg_tensor *fg_tensor_zeros(int dtype, int ndim, const int64_t *shape) noexcept
    fg_tensor *fg_tensor_alias(fg_tensor *src, int ndim, const int64_t *shape) noexcept
    fg_tensor *fg_tensor_borrow(int dtype, int ndim, const int64_t *shape, void *data,
                                void (*release)(void *owner) noexcept, void *owner) noexcept
    fg_tensor *fg_tensor_copy(const fg_tensor *src) noexcept
    fg_tensor *fg_tensor_scalar(int dtype, double v) noexcept
    int fg_tensor_make_writable(fg_tensor *t) noexcept
    void fg_incref(fg_tensor *t) noexcept
    void fg_decref(fg_tensor *t) noexcept
    int fg_same_shape(const fg_tensor *a, const fg_tensor *b) noexcept
    int fg_error_set(int kind, const char *fmt, ...) noexcept
    int fg_error_kind() noexcept
    const char *fg_error_message() noexcept
    void fg_error_clear() noexcept

# csrc/fg_interrupt.h (Ctrl-C between a long kernel's chunks)
cdef extern from "fg_interrupt.h" nogil:
    int fg_interrupt_install() noexcept
    int fg_interrupt_pending() noexcept
    void fg_interrupt_clear() noexcept
