# fastgrad/_distribute.pxi: glue for csrc/fg_fusion.h (fastgrad.distribute's
# tensor fusion). Included by _core.pyx, so it reaches the tensors' C values.
# The semantics (fusion groups, the MPI calls, averaging) are in
# fastgrad/distribute/; this file checks buffers and moves pointers.

from fastgrad._cfusion cimport (fg_fusion_pack, fg_fusion_unpack, fg_fusion_set_allreduce_hook,
                                FG_ALLREDUCE_SUM, FG_ALLREDUCE_AVERAGE)
from libc.string cimport memcpy as _memcpy


cdef int _fusion_buffer(cnp.ndarray buf, Py_ssize_t offset, int64_t count) except -1:
    """The fastgrad dtype of buf, after checking that [offset, offset+count) fits."""
    if buf.ndim != 1 or not cnp.PyArray_IS_C_CONTIGUOUS(buf) or not cnp.PyArray_ISWRITEABLE(buf):
        raise ValueError("the fusion buffer must be a writable, contiguous 1-d array")
    cdef int dt = _NP_TO_ENUM.get(buf.dtype, -1)
    if dt != FG_F32 and dt != FG_F64:
        raise TypeError("the fusion buffer must be float32 or float64, not %s" % buf.dtype)
    if offset < 0 or offset + count > buf.shape[0]:
        raise ValueError("the fusion buffer holds %d elements; %d at offset %d do not fit"
                         % (buf.shape[0], count, offset))
    return dt


def _fusion_pack(list tensors, cnp.ndarray buf, Py_ssize_t offset=0, double scale=1.0):
    """Copy the values of ``tensors`` (of buf's dtype) into ``buf[offset:]``,
    one after the other, times ``scale``; returns the offset after them.

    >>> import numpy as np, fastgrad as tf
    >>> from fastgrad._core import _fusion_pack
    >>> buf = np.zeros(3, np.float32)
    >>> _fusion_pack([tf.constant([1.0, 2.0]), tf.constant(3.0)], buf)
    3
    """
    cdef Py_ssize_t n = len(tensors), i
    cdef int64_t total = 0, done
    cdef int dt
    cdef fg_tensor **ts = <fg_tensor **>malloc(max(n, 1) * sizeof(fg_tensor *))
    if ts == NULL:
        raise MemoryError()
    try:
        for i in range(n):
            t = tensors[i]
            if not isinstance(t, _TensorBase):
                raise TypeError("tensor fusion takes Tensors and Variables, got %r" % (t,))
            ts[i] = (<_TensorBase>t).t
            total += ts[i].size
        dt = _fusion_buffer(buf, offset, total)
        with nogil:
            done = fg_fusion_pack(dt, <char *>cnp.PyArray_DATA(buf) + offset * fg_dtype_size(dt),
                                  <int>n, ts, scale)
        if done < 0:
            raise_error()
    finally:
        free(ts)
    return offset + total


def _fusion_unpack(cnp.ndarray buf, Py_ssize_t offset, list like, double scale=1.0,
                   double divisor=1.0):
    """New Tensors with the shapes of the tensors ``like``, read from
    ``buf[offset:]`` one after the other, each element
    ``(x * scale) / divisor`` in the buffer's precision.

    >>> import numpy as np, fastgrad as tf
    >>> from fastgrad._core import _fusion_unpack
    >>> [t.numpy().tolist() for t in _fusion_unpack(np.arange(3.0, dtype=np.float32), 0,
    ...                                             [tf.zeros(2), tf.zeros(())], 1.0, 2.0)]
    [[0.0, 0.5], 1.0]
    """
    cdef Py_ssize_t n = len(like), i
    cdef int64_t total = 0, done
    cdef fg_tensor *src
    cdef int dt = _NP_TO_ENUM.get(buf.dtype, -1)
    out = [None] * n
    cdef fg_tensor **ts = <fg_tensor **>malloc(max(n, 1) * sizeof(fg_tensor *))
    if ts == NULL:
        raise MemoryError()
    try:
        for i in range(n):
            t = like[i]
            if not isinstance(t, _TensorBase):
                raise TypeError("tensor fusion takes Tensors and Variables, got %r" % (t,))
            src = (<_TensorBase>t).t
            out[i] = wrap(fg_tensor_new(dt if dt >= 0 else src.dtype, src.ndim, src.shape))
            ts[i] = (<Tensor>out[i]).t
            total += src.size
        dt = _fusion_buffer(buf, offset, total)
        with nogil:
            done = fg_fusion_unpack(dt, <char *>cnp.PyArray_DATA(buf) + offset * fg_dtype_size(dt),
                                    <int>n, ts, scale, divisor)
        if done < 0:
            raise_error()
    finally:
        free(ts)
    return out


# ------------------------------------------- the allreduce op's transport

cdef object _allreduce_transport = None


cdef int _allreduce_hook(void *data, int64_t n, int dtype, int op, int64_t digest) noexcept with gil:
    """csrc/fg_fusion.c's hook: hand the buffer to the Python transport
    (fastgrad.distribute's MPI world) as a NumPy view; a Python error is
    kept for raise_error."""
    global _pending_exception
    cdef cnp.npy_intp dims[1]
    dims[0] = n
    try:
        view = cnp.PyArray_SimpleNewFromData(1, dims, _NPY_TYPES[dtype], data)
        _allreduce_transport(view, op, digest)
    except BaseException as e:
        _pending_exception = e
        fg_error_set(FG_ERR_RUNTIME, "allreduce failed")
        return -1
    return 0


def _set_allreduce_transport(fn):
    """Install fn(buffer, op, digest), which sums buffer in place over the
    processes, as the allreduce op's transport (None: none)."""
    global _allreduce_transport
    _allreduce_transport = fn
    if fn is None:
        fg_fusion_set_allreduce_hook(NULL)
    else:
        fg_fusion_set_allreduce_hook(_allreduce_hook)


cdef int64_t _double_bits(double v):
    cdef int64_t b
    _memcpy(&b, &v, sizeof(b))
    return b


def _allreduce_op(list tensors, bint average, double prescale, double postscale, double divisor,
                  int64_t digest):
    """The table's allreduce op over tensors (one float dtype): one 1-d
    tensor, recorded by tapes and fastgrad.function like any op."""
    attrs = (FG_ALLREDUCE_AVERAGE if average else FG_ALLREDUCE_SUM, _double_bits(prescale),
             _double_bits(postscale), _double_bits(divisor), digest)
    return apply(_OPS["allreduce"], tensors, attrs)
