/* fg_gil.h: letting the binding release the GIL around large kernels.
 *
 * Plain C: C knows nothing of Python; the binding installs two hooks
 * (PyEval_SaveThread / PyEval_RestoreThread) and large kernels call them.
 * Keep in sync with fastgrad/_cgil.pxd.
 */
#ifndef FG_GIL_H
#define FG_GIL_H

#include <stdint.h>

typedef void *(*fg_release_fn)(void);
typedef void (*fg_acquire_fn)(void *);

void fg_set_gil_hooks(fg_release_fn release, fg_acquire_fn acquire);
/* Release when n elements make it worth it; returns a token, NULL if not. */
void *fg_gil_release_if(int64_t n);
void fg_gil_acquire(void *token); /* no-op for NULL */

#endif
