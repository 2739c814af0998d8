/* fg_tensor.c: allocation, refcounting and error reporting for fg_tensor. */
#include "fg_tensor.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const size_t dtype_sizes[FG_NDTYPES] = {4, 8, 4, 8, 1};
static const char *dtype_names[FG_NDTYPES] = {"float32", "float64", "int32", "int64", "bool"};

size_t fg_dtype_size(int dtype) {
    return (dtype >= 0 && dtype < FG_NDTYPES) ? dtype_sizes[dtype] : 0;
}

int fg_dtype_is_float(int dtype) { return dtype == FG_F32 || dtype == FG_F64; }

const char *fg_dtype_name(int dtype) {
    return (dtype >= 0 && dtype < FG_NDTYPES) ? dtype_names[dtype] : "unknown";
}

static int64_t id_counter = 0;

int64_t fg_next_id(void) { return __atomic_add_fetch(&id_counter, 1, __ATOMIC_RELAXED); }

/* Tensor structs are recycled through a per-thread free list: an eager
 * scalar op allocates one, and malloc would dominate its cost. */
#define FREELIST_MAX 4096
static _Thread_local fg_tensor *freelist[FREELIST_MAX];
static _Thread_local int freelist_len = 0;

static fg_tensor *tensor_struct_alloc(void) {
    if (freelist_len > 0) return freelist[--freelist_len];
    return (fg_tensor *)malloc(sizeof(fg_tensor));
}

static void buffer_decref(fg_buffer *b) {
    if (b && --b->refcnt == 0) {
        free(b->data);
        free(b);
    }
}

static fg_buffer *buffer_new(size_t nbytes) {
    fg_buffer *b = (fg_buffer *)malloc(sizeof(fg_buffer));
    if (!b) return NULL;
    size_t rounded = (nbytes + 63) & ~(size_t)63;
    if (rounded == 0) rounded = 64;
    b->data = aligned_alloc(64, rounded);
    if (!b->data) {
        free(b);
        return NULL;
    }
    b->refcnt = 1;
    b->nbytes = nbytes;
    return b;
}

void fg_tensor_free(fg_tensor *t) {
    buffer_decref(t->buf);
    if (freelist_len < FREELIST_MAX)
        freelist[freelist_len++] = t;
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
        size *= shape[i];
    }
    fg_tensor *t = tensor_struct_alloc();
    if (!t) {
        fg_error_set(FG_ERR_NOMEM, "out of memory");
        return NULL;
    }
    t->refcnt = 1;
    t->id = fg_next_id();
    t->dtype = dtype;
    t->ndim = ndim;
    t->flags = 0;
    t->size = size;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    t->buf = NULL;
    t->data = t->inline_data.b;
    return t;
}

fg_tensor *fg_tensor_new(int dtype, int ndim, const int64_t *shape) {
    fg_tensor *t = header_new(dtype, ndim, shape);
    if (!t) return NULL;
    size_t nbytes = (size_t)t->size * fg_dtype_size(dtype);
    if (nbytes > sizeof(t->inline_data)) {
        t->buf = buffer_new(nbytes);
        if (!t->buf) {
            fg_tensor_free(t);
            fg_error_set(FG_ERR_NOMEM, "out of memory allocating a tensor of shape %s",
                         fg_shape_str(ndim, shape));
            return NULL;
        }
        t->data = t->buf->data;
    }
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
    if (!t->buf || t->buf->refcnt == 1) return 0;
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
static _Thread_local int err_kind = FG_ERR_NONE;
static _Thread_local char err_msg[1024];

int fg_error_set(int kind, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_msg, sizeof(err_msg), fmt, ap);
    va_end(ap);
    err_kind = kind;
    return -1;
}

int fg_error_kind(void) { return err_kind; }
const char *fg_error_message(void) { return err_msg; }
void fg_error_clear(void) {
    err_kind = FG_ERR_NONE;
    err_msg[0] = 0;
}

#define SHAPE_RING 4
static _Thread_local char shape_ring[SHAPE_RING][256];
static _Thread_local int shape_next = 0;

const char *fg_shape_str(int ndim, const int64_t *shape) {
    char *s = shape_ring[shape_next];
    shape_next = (shape_next + 1) % SHAPE_RING;
    size_t pos = 0;
    s[pos++] = '[';
    for (int i = 0; i < ndim && pos < 230; i++)
        pos += (size_t)snprintf(s + pos, 256 - pos, i ? ",%lld" : "%lld", (long long)shape[i]);
    s[pos++] = ']';
    s[pos] = 0;
    return s;
}
