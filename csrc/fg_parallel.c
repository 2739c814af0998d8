/* fg_parallel.c: thread-count policy; the only file that includes omp.h.
 *
 * Precedence: fg_set_num_threads(n >= 1), then FASTGRAD_NUM_THREADS, then
 * OMP_NUM_THREADS, then the CPUs this process may run on. The environment
 * is read at call time (so os.environ changes take effect), but only on the
 * path of loops big enough to go parallel: small loops return before any
 * of this runs.
 */
#include "fg_parallel.h"

#include <stdlib.h>

#ifdef _OPENMP
#include <omp.h>
#else
#include <unistd.h>
#endif

/* More threads than this is a typo in an environment variable, not a
 * machine. */
#define FG_MAX_THREADS 1024

/* Written by Python threads, read by kernels on other threads: an int
 * store/load is enough (no ordering with other data is needed). */
static volatile int fg_threads_set = 0;

static int env_threads(const char *name)
{
    const char *s = getenv(name);
    char *end;
    long v;
    if (!s || !*s) return 0;
    /* OMP_NUM_THREADS may be a nested list "4,2": the first entry is ours */
    v = strtol(s, &end, 10);
    if (end == s || v < 1) return 0;
    return v > FG_MAX_THREADS ? FG_MAX_THREADS : (int)v;
}

static int cpu_count(void)
{
    int n = 1;
#ifdef _OPENMP
    n = omp_get_num_procs(); /* honours the affinity mask (taskset, cgroups cpusets) */
#elif defined(_SC_NPROCESSORS_ONLN)
    long v = sysconf(_SC_NPROCESSORS_ONLN);
    n = v > 0 ? (v > FG_MAX_THREADS ? FG_MAX_THREADS : (int)v) : 1;
#endif
    return n >= 1 ? n : 1;
}

int fg_openmp_enabled(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

void fg_set_num_threads(int n)
{
    fg_threads_set = n >= 1 ? (n > FG_MAX_THREADS ? FG_MAX_THREADS : n) : 0;
}

int fg_get_num_threads(void)
{
    int n = fg_threads_set;
    if (n >= 1) return n;
    n = env_threads("FASTGRAD_NUM_THREADS");
    if (n >= 1) return n;
    n = env_threads("OMP_NUM_THREADS");
    if (n >= 1) return n;
    return cpu_count();
}

int fg_thread_index(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

void fg_parallel_range(int nt, int64_t n, int64_t grain, fg_range_fn fn, void *ctx)
{
    int64_t units;
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    units = (n + grain - 1) / grain;
    if (nt > units) nt = (int)units;
    if (nt <= 1) {
        fn(ctx, 0, n);
        return;
    }
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static)
#endif
    for (int t = 0; t < nt; t++) {
        int64_t q = units / nt, r = units % nt;
        int64_t lo = (q * t + (t < r ? t : r)) * grain;
        int64_t hi = lo + (q + (t < r)) * grain;
        if (hi > n) hi = n;
        if (lo < hi) fn(ctx, lo, hi);
    }
}

int fg_threads_for(int64_t n)
{
    if (n < FG_PARALLEL_MIN_ELEMENTS) return 1;
#ifdef _OPENMP
    /* Already inside a team (a caller's own OpenMP code): nesting would
     * oversubscribe the machine. */
    if (omp_in_parallel()) return 1;
    {
        int t = fg_get_num_threads();
        /* every thread gets at least half the threshold's worth of work */
        int64_t chunks = (n + FG_PARALLEL_MIN_ELEMENTS / 2 - 1) / (FG_PARALLEL_MIN_ELEMENTS / 2);
        return (int64_t)t < chunks ? t : (int)chunks;
    }
#else
    return 1;
#endif
}
