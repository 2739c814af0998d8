/* fg_program_mem.c: a bound on the replay buffers of all programs.
 *
 * Every finalized program plans buffers for its intermediate values and
 * allocates them once, so a function retraced for many input shapes kept
 * every signature's buffers (10,000 shapes: over a gigabyte). Programs
 * with buffers are "warm", listed here with the tick of their last run;
 * when the warm total passes the limit, the least recently run programs
 * that are not running give their buffers back (and the C heap is
 * trimmed, so the pages return to the OS). A cold program keeps its plan
 * and allocates its buffers again on its next run: the cost of a retrace
 * is never paid again, only an allocation, and the function's traces and
 * tracing count stay as TF keeps them.
 *
 * The list is guarded by a mutex; a program's busy flag is taken with an
 * atomic exchange by both run() and a release, so a running program is
 * never released under it.
 */
#include <pthread.h>
#include <stdlib.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "fg_program_impl.h"

static pthread_mutex_t warm_lock = PTHREAD_MUTEX_INITIALIZER;
static fg_program *warm_head = NULL; /* doubly linked, unordered */
static int64_t warm_bytes = 0;
static int64_t warm_limit = (int64_t)256 << 20;
static uint64_t run_tick = 0;

void fg_program_set_buffer_limit(int64_t bytes) {
    pthread_mutex_lock(&warm_lock);
    warm_limit = bytes < 0 ? 0 : bytes;
    pthread_mutex_unlock(&warm_lock);
    fg_program_trim(NULL);
}

int64_t fg_program_buffer_limit(void) { return warm_limit; }

int64_t fg_program_warm_bytes(void) { return warm_bytes; }

void fg_program_touch(fg_program *p) { p->last_run = __atomic_add_fetch(&run_tick, 1, __ATOMIC_RELAXED); }

static void unlink_warm(fg_program *p) {
    if (p->warm_prev) p->warm_prev->warm_next = p->warm_next;
    else warm_head = p->warm_next;
    if (p->warm_next) p->warm_next->warm_prev = p->warm_prev;
    p->warm_prev = p->warm_next = NULL;
    p->warm = 0;
    warm_bytes -= p->buffer_bytes;
}

void fg_program_mark_warm(fg_program *p) {
    pthread_mutex_lock(&warm_lock);
    if (!p->warm) {
        p->warm = 1;
        p->warm_prev = NULL;
        p->warm_next = warm_head;
        if (warm_head) warm_head->warm_prev = p;
        warm_head = p;
        warm_bytes += p->buffer_bytes;
    }
    pthread_mutex_unlock(&warm_lock);
}

void fg_program_forget(fg_program *p) {
    pthread_mutex_lock(&warm_lock);
    if (p->warm) unlink_warm(p);
    pthread_mutex_unlock(&warm_lock);
}

/* Under warm_lock, p taken (busy): drop its buffers. */
static void release_buffers(fg_program *p) {
    for (int64_t b = 0; b < p->n_bufs; b++) {
        fg_decref(p->bufs[b]);
        p->bufs[b] = NULL;
    }
    for (int64_t s = 0; s < p->n_slots; s++)
        if (p->slots[s].storage == ST_BUF) p->P[s] = NULL;
    unlink_warm(p);
}

void fg_program_trim(fg_program *keep) {
    int released = 0;
    pthread_mutex_lock(&warm_lock);
    while (warm_bytes > warm_limit) {
        fg_program *victim = NULL;
        for (fg_program *q = warm_head; q; q = q->warm_next)
            if (q != keep && q->buffer_bytes > 0 && !__atomic_load_n(&q->busy, __ATOMIC_ACQUIRE) &&
                (!victim || q->last_run < victim->last_run))
                victim = q;
        if (!victim || __atomic_exchange_n(&victim->busy, 1, __ATOMIC_ACQ_REL)) break;
        release_buffers(victim);
        __atomic_store_n(&victim->busy, 0, __ATOMIC_RELEASE);
        released = 1;
    }
    pthread_mutex_unlock(&warm_lock);
#if defined(__GLIBC__)
    /* buffers under glibc's mmap threshold went back to the heap */
    if (released) malloc_trim(0);
#else
    (void)released;
#endif
}

int fg_program_rewarm(fg_program *p) {
    for (int64_t b = 0; b < p->n_bufs; b++) {
        if (p->bufs[b]) continue;
        int64_t nb = p->buf_nbytes[b];
        if (!(p->bufs[b] = fg_tensor_new(FG_BOOL, 1, &nb))) {
            for (int64_t c = 0; c < b; c++) {
                fg_decref(p->bufs[c]);
                p->bufs[c] = NULL;
            }
            return -1;
        }
    }
    for (int64_t s = 0; s < p->n_slots; s++)
        if (p->slots[s].storage == ST_BUF) p->P[s] = p->bufs[p->slots[s].loc]->data;
    fg_program_mark_warm(p);
    fg_program_trim(p);
    return 0;
}
