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
/* Runs fn(ctx, lo, hi) over [0, n) on up to nt threads, in fixed chunks
 * (a few a thread) whose edges are multiples of grain, so neighbouring
 * threads do not write the same cache line. Any thread may run any chunk
 * and the caller starts at once, so fn must compute each element the same
 * whatever range it is given. Serial (one call on this thread) when nt <=
 * 1, in a forked child of a parent that used threads, and for a while
 * after a region lost to serial (a busy machine; see fg_parallel.c). */
typedef void (*fg_range_fn)(void *ctx, int64_t lo, int64_t hi);
void fg_parallel_range(int nt, int64_t n, int64_t grain, fg_range_fn fn, void *ctx);
/* 1 in a child forked after this process ran a parallel region: every
 * kernel runs serially there (libgomp's pool does not survive fork) */
int fg_forked_serial(void);
/* counters since load: out[0] regions run on threads, out[1] of those
 * that took longer than serial would have, out[2] regions run serially
 * by the busy-machine fallback, out[3] nanoseconds the losing regions
 * took beyond serial, out[4] times the fallback went serial */
void fg_parallel_stats(int64_t out[5]);
/* on (the default): the busy-machine fallback may run regions serially;
 * off: always nt threads (tests of the threaded path). Either way it
 * forgets what it measured. */
void fg_set_parallel_fallback(int on);
/* feeds the fallback one region's timing, as if a region had just taken
 * wall_ns where the caller alone would have taken alone_ns (tests) */
void fg_parallel_judge(int64_t wall_ns, int64_t alone_ns);
/* inside a parallel loop started by the kernels: this thread's index in
 * the team, 0 .. threads-1 (per-thread scratch); 0 outside one */
int fg_thread_index(void);

#endif
