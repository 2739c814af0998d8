/* fg_tensor.h: the n-d array value fastgrad computes with.
 *
 * Plain C, no Python. Keep in sync with fastgrad/_ctensor.pxd.
 *
 * A tensor is always C-contiguous. Its data lives either inline (for
 * values of at most 16 bytes, so scalars cost one allocation) or in a
 * refcounted, 64-byte aligned fg_buffer that reshapes and variable reads
 * share. Tensors are refcounted too; every tensor has an id, unique in the
 * process, by which tapes know it.
 */
#ifndef FG_TENSOR_H
#define FG_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#define FG_MAX_NDIM 16

typedef enum {
    FG_F32 = 0,
    FG_F64 = 1,
    FG_I32 = 2,
    FG_I64 = 3,
    FG_BOOL = 4, /* stored as uint8_t, 0 or 1 */
    FG_NDTYPES = 5
} fg_dtype;

/* flags */
#define FG_FLAG_VARIABLE 1  /* the value of a Variable: its id is the variable's */
#define FG_FLAG_TRAINABLE 2 /* ... of a trainable one: tapes watch it when read */

typedef struct fg_buffer {
    int64_t refcnt;
    size_t nbytes;
    void *data; /* 64-byte aligned, unless borrowed (below) */
    /* Borrowed memory (fg_tensor_borrow): someone else's, released by
     * release(owner) when the last reference goes; never written in place,
     * never cached. NULL for fastgrad's own buffers. */
    void (*release)(void *owner);
    void *owner;
} fg_buffer;

typedef struct fg_tensor {
    int64_t refcnt;
    int64_t id;
    int32_t dtype;
    int32_t ndim;
    int32_t flags;
    int32_t _pad;
    int64_t size; /* product of shape */
    int64_t shape[FG_MAX_NDIM];
    void *data;      /* inline_data or buf->data */
    fg_buffer *buf;  /* NULL when the data is inline */
    union {
        double d[2];
        int64_t i[2];
        unsigned char b[16];
    } inline_data;
} fg_tensor;

size_t fg_dtype_size(int dtype);
int fg_dtype_is_float(int dtype);
const char *fg_dtype_name(int dtype);

int64_t fg_next_id(void);

/* New tensor with uninitialised data, refcnt 1 and a fresh id; NULL when
 * out of memory or ndim > FG_MAX_NDIM. */
fg_tensor *fg_tensor_new(int dtype, int ndim, const int64_t *shape);
/* Same, data zero-filled. */
fg_tensor *fg_tensor_zeros(int dtype, int ndim, const int64_t *shape);
/* A new tensor (fresh id) of another shape with the same size sharing
 * src's data (reshape without a copy). */
fg_tensor *fg_tensor_alias(fg_tensor *src, int ndim, const int64_t *shape);
/* A header with t's id, dtype and shape but no data (data == NULL): what
 * a tape keeps of an input whose value its rule does not read. */
fg_tensor *fg_tensor_meta(const fg_tensor *src);
/* A tensor over memory fastgrad does not own (zero-copy import: DLPack,
 * NumPy): C-contiguous data of the given dtype and shape, kept alive by
 * owner until release(owner) is called, when the last tensor or alias
 * sharing it is freed (on the thread that frees it). The data is treated
 * as read-only: in-place updates copy it first. NULL when out of memory. */
fg_tensor *fg_tensor_borrow(int dtype, int ndim, const int64_t *shape, void *data,
                            void (*release)(void *owner), void *owner);
/* A deep copy (fresh id). */
fg_tensor *fg_tensor_copy(const fg_tensor *src);
/* Scalar (0-d) tensor of dtype holding v converted to it. */
fg_tensor *fg_tensor_scalar(int dtype, double v);
/* Make t's data exclusively its own (copy-on-write before in-place
 * updates); 0 on success, -1 out of memory. */
int fg_tensor_make_writable(fg_tensor *t);

static inline void fg_incref(fg_tensor *t) { if (t) t->refcnt++; }
void fg_tensor_free(fg_tensor *t);
static inline void fg_decref(fg_tensor *t) {
    if (t && --t->refcnt == 0) fg_tensor_free(t);
}

/* References on n tensors (ts or its entries may be NULL): what a sweep
 * reads from its caller, held for its whole run. */
static inline void fg_incref_n(int n, fg_tensor *const *ts) {
    for (int i = 0; ts && i < n; i++) fg_incref(ts[i]);
}
static inline void fg_decref_n(int n, fg_tensor *const *ts) {
    for (int i = 0; ts && i < n; i++) fg_decref(ts[i]);
}

int fg_same_shape(const fg_tensor *a, const fg_tensor *b);

/* Error reporting: C functions return 0 on success and -1 on error, with
 * a message in a thread-local buffer. */
/* FG_ERR_INTERRUPTED: a SIGINT stopped a kernel (see fg_interrupt.h) */
enum { FG_ERR_NONE = 0, FG_ERR_INVALID = 1, FG_ERR_NOMEM = 2, FG_ERR_RUNTIME = 3, FG_ERR_INTERRUPTED = 4 };
int fg_error_set(int kind, const char *fmt, ...);
int fg_error_kind(void);
const char *fg_error_message(void);
void fg_error_clear(void);
/* "[2,3]" style shape text for messages, into a thread-local ring buffer */
const char *fg_shape_str(int ndim, const int64_t *shape);
/* *size = the product of shape's dims (all >= 0), or -1 with TF's error
 * set when it does not fit in int64 */
int fg_shape_size(int ndim, const int64_t *shape, int64_t *size);

#endif
