/* fg_thread.h: everything fastgrad keeps per thread, in one struct.
 *
 * Plain C, internal (no .pxd). Tapes are per thread, as in TF, and so are
 * the tensor free list, the id block and the error message. One
 * initial-exec TLS pointer reaches it all: a shared library's general
 * TLS model costs a __tls_get_addr call per access, which showed up as
 * 12% of an eager scalar sweep.
 */
#ifndef FG_THREAD_H
#define FG_THREAD_H

#include <stdint.h>

#include "fg_tensor.h"

#define FG_FREELIST_MAX 4096
#define FG_MAX_ACTIVE_TAPES 256
#define FG_BUFFER_CACHE_MAX 8

struct fg_tape;
struct fg_accumulator;

typedef struct fg_thread_state {
    /* tensor structs recycled (malloc dominated eager scalar ops) */
    fg_tensor *freelist[FG_FREELIST_MAX];
    int freelist_len;
    /* the recording tapes of this thread, innermost last */
    int n_active;
    struct fg_tape *active[FG_MAX_ACTIVE_TAPES];
    /* the forward accumulators of this thread, outermost first; only the
     * first acc_visible see ops: one computing a JVP hides itself and
     * those inside it, so outer ones differentiate its JVP (fg_forward.c) */
    int n_acc, acc_visible;
    struct fg_accumulator *acc[FG_MAX_ACTIVE_TAPES];
    /* a block of unique ids taken with one atomic add */
    int64_t id_next, id_end;
    /* the last error */
    int err_kind;
    char err_msg[1024];
    char shape_ring[4][256];
    int shape_next;
    /* large freed buffers kept for reuse (see fg_tensor.c) */
    int n_cached;
    size_t cached_bytes;
    struct fg_buffer *cache[FG_BUFFER_CACHE_MAX];
    /* the fastgrad.function program being traced on this thread, if any */
    struct fg_program *tracing;
} fg_thread_state;

#if defined(__GNUC__) && !defined(_WIN32)
#define FG_TLS_MODEL __attribute__((tls_model("initial-exec")))
#else
#define FG_TLS_MODEL
#endif

extern _Thread_local fg_thread_state *fg_tls FG_TLS_MODEL;
fg_thread_state *fg_thread_init(void);

static inline fg_thread_state *fg_thread(void) {
    fg_thread_state *s = fg_tls;
    return s ? s : fg_thread_init();
}

#endif
