/* fg_tensor.c: allocation, refcounting and error reporting for fg_tensor. */
#include "fg_tensor.h"
#include "fg_thread.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

static const size_t dtype_sizes[FG_NDTYPES] = {4, 8, 4, 8, 1};
static const char *dtype_names[FG_NDTYPES] = {"float32", "float64", "int32", "int64", "bool"};

size_t fg_dtype_size(int dtype) {
    return (dtype >= 0 && dtype < FG_NDTYPES) ? dtype_sizes[dtype] : 0;
}

int fg_dtype_is_float(int dtype) { return dtype == FG_F32 || dtype == FG_F64; }

const char *fg_dtype_name(int dtype) {
    return (dtype >= 0 && dtype < FG_NDTYPES) ? dtype_names[dtype] : "unknown";
}

/* Ids are unique across threads: each thread takes a block of them with
 * one atomic add, then hands them out without synchronisation. */
#define ID_BLOCK 4096
static int64_t id_counter = 0;

int64_t fg_next_id(void) {
    fg_thread_state *s = fg_thread();
    if (s->id_next == s->id_end) {
        s->id_next = __atomic_fetch_add(&id_counter, ID_BLOCK, __ATOMIC_RELAXED) + 1;
        s->id_end = s->id_next + ID_BLOCK;
    }
    return s->id_next++;
}

/* FG_NO_RECYCLE (FASTGRAD_DEBUG=1 builds, the sanitizer builds of
 * .ci/run): structs and buffers go straight back to malloc, so ASan and
 * valgrind see a use after free where a recycled struct would hide it. */
#ifdef FG_NO_RECYCLE
#define RECYCLE 0
#else
#define RECYCLE 1
#endif

/* Tensor structs are recycled through a per-thread free list: an eager
 * scalar op allocates one, and malloc would dominate its cost. */
static fg_tensor *tensor_struct_alloc(fg_thread_state *s) {
    if (RECYCLE && s->freelist_len > 0) return s->freelist[--s->freelist_len];
    return (fg_tensor *)malloc(sizeof(fg_tensor));
}

/* Large buffers are recycled per thread: an eager step over big arrays
 * allocates the same sizes every iteration, and fresh pages from the OS
 * (page faults, zeroing) cost more than the arithmetic. The cache is
 * small and bounded, so freed tapes still give their memory back. */
#define CACHE_MIN_BYTES ((size_t)1 << 16)
#define CACHE_MAX_BYTES ((size_t)32 << 20)
#define CACHE_TOTAL_BYTES ((size_t)96 << 20)
#define HUGE_PAGE ((size_t)2 << 20)
#define HUGE_MIN_BYTES CACHE_MAX_BYTES

static size_t buffer_capacity(size_t nbytes) {
    size_t rounded = (nbytes + 63) & ~(size_t)63;
    return rounded ? rounded : 64;
}

static void buffer_decref(fg_buffer *b) {
    if (!b || --b->refcnt != 0) return;
    if (b->release) { /* borrowed: hand it back, never cache it */
        b->release(b->owner);
        free(b);
        return;
    }
    size_t cap = buffer_capacity(b->nbytes);
    fg_thread_state *s = fg_thread();
    if (RECYCLE && cap >= CACHE_MIN_BYTES && cap <= CACHE_MAX_BYTES) {
        if (s->n_cached == FG_BUFFER_CACHE_MAX || s->cached_bytes + cap > CACHE_TOTAL_BYTES) {
            /* make room: drop the oldest */
            fg_buffer *old = s->cache[0];
            s->cached_bytes -= buffer_capacity(old->nbytes);
            memmove(&s->cache[0], &s->cache[1], (size_t)(s->n_cached - 1) * sizeof(s->cache[0]));
            s->n_cached--;
            free(old->data);
            free(old);
        }
        if (s->cached_bytes + cap <= CACHE_TOTAL_BYTES) {
            s->cache[s->n_cached++] = b;
            s->cached_bytes += cap;
            return;
        }
    }
    free(b->data);
    free(b);
}

static fg_buffer *buffer_new(size_t nbytes) {
    size_t rounded = buffer_capacity(nbytes);
    fg_thread_state *s = fg_thread();
    for (int i = s->n_cached - 1; i >= 0; i--) {
        fg_buffer *c = s->cache[i];
        if (buffer_capacity(c->nbytes) == rounded) {
            memmove(&s->cache[i], &s->cache[i + 1], (size_t)(s->n_cached - i - 1) * sizeof(s->cache[0]));
            s->n_cached--;
            s->cached_bytes -= rounded;
            c->refcnt = 1;
            c->nbytes = nbytes;
            return c;
        }
    }
    fg_buffer *b = (fg_buffer *)malloc(sizeof(fg_buffer));
    if (!b) return NULL;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (rounded >= HUGE_MIN_BYTES) {
        /* Arrays past the cache's size come fresh from the kernel on every
         * op: 4 KB pages cost a fault each (16k for 64 MB, most of an
         * eager step), transparent huge pages one per 2 MB. */
        size_t huge = (rounded + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
        b->data = aligned_alloc(HUGE_PAGE, huge);
        if (b->data) madvise(b->data, huge, MADV_HUGEPAGE);
    } else
#endif
    b->data = aligned_alloc(64, rounded);
    if (!b->data) {
        free(b);
        return NULL;
    }
    b->refcnt = 1;
    b->nbytes = nbytes;
    b->release = NULL;
    b->owner = NULL;
    return b;
}

void fg_tensor_free(fg_tensor *t) {
    buffer_decref(t->buf);
    fg_thread_state *s = fg_thread();
    if (RECYCLE && s->freelist_len < FG_FREELIST_MAX)
        s->freelist[s->freelist_len++] = t;
    else
        free(t);
}

static fg_tensor *header_new(int dtype, int ndim, const int64_t *shape) {
    if (ndim < 0 || ndim > FG_MAX_NDIM) {
        fg_error_set(FG_ERR_INVALID, "rank %d exceeds the maximum of %d", ndim, FG_MAX_NDIM);
        return NULL;
    }
    if (dtype < 0 || dtype >= FG_NDTYPES) {
        fg_error_set(FG_ERR_INVALID, "unknown dtype %d", dtype);
        return NULL;
    }
    int64_t size = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) {
            fg_error_set(FG_ERR_INVALID, "negative dimension in shape %s", fg_shape_str(ndim, shape));
            return NULL;
        }
    }
    /* checked: a wrapped product would give a tensor smaller than its
     * shape says, read out of bounds later (a 0 anywhere makes it 0) */
    if (fg_shape_size(ndim, shape, &size) < 0) return NULL;
    fg_thread_state *s = fg_thread();
    fg_tensor *t = tensor_struct_alloc(s);
    if (!t) {
        fg_error_set(FG_ERR_NOMEM, "out of memory");
        return NULL;
    }
    t->refcnt = 1;
    if (s->id_next == s->id_end) {
        t->id = fg_next_id();
    } else {
        t->id = s->id_next++;
    }
    t->dtype = dtype;
    t->ndim = ndim;
    t->flags = 0;
    t->size = size;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    t->buf = NULL;
    t->data = t->inline_data.b;
    return t;
}

/* TF's names in its OOM message */
static const char *tf_type_names[FG_NDTYPES] = {"float", "double", "int32", "int64", "bool"};

fg_tensor *fg_tensor_new(int dtype, int ndim, const int64_t *shape) {
    fg_tensor *t = header_new(dtype, ndim, shape);
    if (!t) return NULL;
    size_t nbytes;
    int too_big = __builtin_mul_overflow((size_t)t->size, fg_dtype_size(dtype), &nbytes) ||
                  nbytes > (size_t)PTRDIFF_MAX;
    if (too_big || nbytes > sizeof(t->inline_data)) {
        t->buf = too_big ? NULL : buffer_new(nbytes);
        if (!t->buf) {
            fg_tensor_free(t);
            /* TF: ResourceExhaustedError, "OOM when allocating tensor with shape[2,3] and type float" */
            fg_error_set(FG_ERR_NOMEM, "OOM when allocating tensor with shape%s and type %s",
                         fg_shape_str(ndim, shape), tf_type_names[dtype]);
            return NULL;
        }
        t->data = t->buf->data;
    }
    return t;
}

fg_tensor *fg_tensor_borrow(int dtype, int ndim, const int64_t *shape, void *data,
                            void (*release)(void *owner), void *owner) {
    fg_tensor *t = header_new(dtype, ndim, shape);
    if (!t) return NULL;
    fg_buffer *b = (fg_buffer *)malloc(sizeof(fg_buffer));
    if (!b) {
        fg_tensor_free(t);
        fg_error_set(FG_ERR_NOMEM, "out of memory");
        return NULL;
    }
    b->refcnt = 1;
    b->nbytes = (size_t)t->size * fg_dtype_size(dtype);
    b->data = data;
    b->release = release;
    b->owner = owner;
    t->buf = b;
    t->data = data;
    return t;
}

fg_tensor *fg_tensor_zeros(int dtype, int ndim, const int64_t *shape) {
    fg_tensor *t = fg_tensor_new(dtype, ndim, shape);
    if (t) memset(t->data, 0, (size_t)t->size * fg_dtype_size(dtype));
    return t;
}

fg_tensor *fg_tensor_alias(fg_tensor *src, int ndim, const int64_t *shape) {
    fg_tensor *t = header_new(src->dtype, ndim, shape);
    if (!t) return NULL;
    if (t->size != src->size) {
        fg_tensor_free(t);
        fg_error_set(FG_ERR_INVALID, "cannot alias %lld elements as shape %s",
                     (long long)src->size, fg_shape_str(ndim, shape));
        return NULL;
    }
    if (src->buf) {
        t->buf = src->buf;
        t->buf->refcnt++;
        t->data = src->data;
    } else {
        t->inline_data = src->inline_data;
    }
    return t;
}

fg_tensor *fg_tensor_meta(const fg_tensor *src) {
    fg_tensor *t = header_new(src->dtype, src->ndim, src->shape);
    if (!t) return NULL;
    t->id = src->id;
    t->flags = src->flags;
    t->data = NULL;
    return t;
}

fg_tensor *fg_tensor_copy(const fg_tensor *src) {
    fg_tensor *t = fg_tensor_new(src->dtype, src->ndim, src->shape);
    if (t) memcpy(t->data, src->data, (size_t)src->size * fg_dtype_size(src->dtype));
    return t;
}

fg_tensor *fg_tensor_scalar(int dtype, double v) {
    fg_tensor *t = header_new(dtype, 0, NULL);
    if (!t) return NULL;
    switch (dtype) {
    case FG_F32: *(float *)t->data = (float)v; break;
    case FG_F64: *(double *)t->data = v; break;
    case FG_I32: *(int32_t *)t->data = (int32_t)v; break;
    case FG_I64: *(int64_t *)t->data = (int64_t)v; break;
    case FG_BOOL: *(uint8_t *)t->data = v != 0; break;
    }
    return t;
}

int fg_tensor_make_writable(fg_tensor *t) {
    if (!t->buf || (t->buf->refcnt == 1 && !t->buf->release)) return 0;
    fg_buffer *b = buffer_new(t->buf->nbytes);
    if (!b) return fg_error_set(FG_ERR_NOMEM, "out of memory");
    memcpy(b->data, t->data, t->buf->nbytes);
    buffer_decref(t->buf);
    t->buf = b;
    t->data = b->data;
    return 0;
}

int fg_same_shape(const fg_tensor *a, const fg_tensor *b) {
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return 0;
    return 1;
}

/* ---- errors ---- */
int fg_error_set(int kind, const char *fmt, ...) {
    fg_thread_state *s = fg_thread();
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err_msg, sizeof(s->err_msg), fmt, ap);
    va_end(ap);
    s->err_kind = kind;
    return -1;
}

int fg_error_kind(void) { return fg_thread()->err_kind; }
const char *fg_error_message(void) { return fg_thread()->err_msg; }
void fg_error_clear(void) {
    fg_thread_state *s = fg_thread();
    s->err_kind = FG_ERR_NONE;
    s->err_msg[0] = 0;
}

int fg_shape_size(int ndim, const int64_t *shape, int64_t *size) {
    int64_t n = 1;
    int over = 0;
    /* as TF's TensorShape: an overflow before a 0 dimension is an error,
     * a 0 first makes every later product 0 */
    for (int i = 0; i < ndim; i++) over |= __builtin_mul_overflow(n, shape[i], &n);
    if (over)
        /* TF's text (TensorShape::AddDim via the kernels' shape checks) */
        return fg_error_set(FG_ERR_INVALID, "Shape %s would have more than 2**63 - 1 elements",
                            fg_shape_str(ndim, shape));
    *size = n;
    return 0;
}

const char *fg_shape_str(int ndim, const int64_t *shape) {
    fg_thread_state *ts = fg_thread();
    char *s = ts->shape_ring[ts->shape_next];
    ts->shape_next = (ts->shape_next + 1) % 4;
    size_t pos = 0;
    s[pos++] = '[';
    for (int i = 0; i < ndim && pos < 230; i++)
        pos += (size_t)snprintf(s + pos, 256 - pos, i ? ",%lld" : "%lld", (long long)shape[i]);
    s[pos++] = ']';
    s[pos] = 0;
    return s;
}
