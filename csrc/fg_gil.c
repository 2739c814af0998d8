/* fg_gil.c: see fg_gil.h. */
#include "fg_gil.h"

#include "fg_parallel.h"

static fg_release_fn release_hook = 0;
static fg_acquire_fn acquire_hook = 0;

void fg_set_gil_hooks(fg_release_fn release, fg_acquire_fn acquire) {
    release_hook = release;
    acquire_hook = acquire;
}

/* Below the parallel threshold a kernel takes microseconds: releasing and
 * re-taking the GIL would cost more than other threads gain. */
void *fg_gil_release_if(int64_t n) {
    if (n < FG_PARALLEL_MIN_ELEMENTS || !release_hook) return 0;
    return release_hook();
}

void fg_gil_acquire(void *token) {
    if (token && acquire_hook) acquire_hook(token);
}
