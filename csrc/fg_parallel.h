/* fg_parallel.h: the one place that touches OpenMP.
 *
 * Plain C. Keep in sync with fastgrad/_cparallel.pxd.
 * Thread counts are read at call time. Without OpenMP everything runs
 * serially and fg_get_num_threads() still returns what was set.
 */
#ifndef FG_PARALLEL_H
#define FG_PARALLEL_H

#include <stdint.h>

/* Elementwise loops with fewer elements than this stay serial: below it
 * waking threads costs more than it saves (measured, see README). */
#ifndef FG_PARALLEL_MIN_ELEMENTS
#define FG_PARALLEL_MIN_ELEMENTS 32768
#endif
/* Reductions sum fixed blocks of this many elements, so the order of
 * additions (and the result) does not depend on the thread count. */
#define FG_REDUCE_BLOCK 4096

int fg_openmp_enabled(void);
void fg_set_num_threads(int n);   /* n < 1: back to the default */
int fg_get_num_threads(void);     /* what set, else env/default */
/* threads to use for a loop of n elements (1 below the threshold) */
int fg_threads_for(int64_t n);
/* Runs fn(ctx, lo, hi) over [0, n) in nt contiguous pieces (one a
 * thread) whose edges are multiples of grain, so neighbouring threads do
 * not write the same cache line; nt <= 1: one call on this thread. */
typedef void (*fg_range_fn)(void *ctx, int64_t lo, int64_t hi);
void fg_parallel_range(int nt, int64_t n, int64_t grain, fg_range_fn fn, void *ctx);
/* inside a parallel loop started by the kernels: this thread's index in
 * the team, 0 .. threads-1 (per-thread scratch); 0 outside one */
int fg_thread_index(void);

#endif
