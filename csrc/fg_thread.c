/* fg_thread.c: per-thread state, created on first use, freed at thread exit. */
#include "fg_thread.h"

#include <pthread.h>

#include "fg_glibc.h" /* pthread_* at their pre-2.34 symbol versions */
#include <stdlib.h>

_Thread_local fg_thread_state *fg_tls FG_TLS_MODEL = NULL;

static pthread_key_t exit_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void thread_exit(void *p) {
    fg_thread_state *s = (fg_thread_state *)p;
    for (int i = 0; i < s->freelist_len; i++) free(s->freelist[i]);
    for (int i = 0; i < s->n_cached; i++) {
        free(s->cache[i]->data);
        free(s->cache[i]);
    }
    free(s);
}

static void make_key(void) { pthread_key_create(&exit_key, thread_exit); }

fg_thread_state *fg_thread_init(void) {
    fg_thread_state *s = (fg_thread_state *)calloc(1, sizeof(fg_thread_state));
    if (!s) abort(); /* a few KiB per thread: nothing sensible to do without it */
    pthread_once(&key_once, make_key);
    pthread_setspecific(exit_key, s);
    fg_tls = s;
    return s;
}
