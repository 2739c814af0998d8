/* fg_parallel.c: thread-count policy and the parallel driver; the only
 * file that includes omp.h.
 *
 * Precedence: fg_set_num_threads(n >= 1), then FASTGRAD_NUM_THREADS, then
 * OpenMP's thread-count ICV when it was changed at run time
 * (omp_set_num_threads, threadpoolctl), then OMP_NUM_THREADS, then the
 * CPUs this process may run on. An ICV lowered below its start-up value
 * also caps the first two, so threadpoolctl.threadpool_limits(1) limits
 * fastgrad as it limits BLAS. The environment is read at call time (so
 * os.environ changes take effect), but only on the path of loops big
 * enough to go parallel: small loops return before any of this runs.
 */
#include "fg_parallel.h"

#include "fg_interrupt.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

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

/* fork(): libgomp's thread pool does not survive it. A child forked after
 * the parent ran a parallel region inherits a pool whose threads do not
 * exist, and its first region waits for them forever. Such a child runs
 * every kernel serially (a pool cannot be re-created through OpenMP's
 * API); a child forked before any region keeps its threads, since the
 * runtime then starts a fresh pool. team_started is set by the first
 * region, forked_child by the atfork handler. */
static volatile int team_started = 0;
static volatile int forked_child = 0;

static void atfork_child(void)
{
    if (team_started) forked_child = 1;
}

/* The ICV as the runtime started it (OMP_NUM_THREADS or the CPU count),
 * read when the library is loaded, before anyone could change it. */
static int icv_at_load = 0;

__attribute__((constructor)) static void parallel_init(void)
{
    pthread_atfork(NULL, NULL, atfork_child);
#ifdef _OPENMP
    icv_at_load = omp_get_max_threads();
#endif
}

int fg_forked_serial(void)
{
    return forked_child;
}

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
    int n = fg_threads_set, icv = 0;
    if (forked_child) return 1;
#ifdef _OPENMP
    /* the calling thread's ICV (OpenMP keeps it per thread) */
    icv = omp_get_max_threads();
    if (icv == icv_at_load) icv = 0;
#endif
    if (n < 1) n = env_threads("FASTGRAD_NUM_THREADS");
    if (n >= 1) return icv >= 1 && icv < icv_at_load && icv < n ? icv : n;
    if (icv >= 1) return icv;
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

/* ------------------------------------------------------------------ */
/* The parallel driver                                                */

/* Chunks per thread: enough that a thread which starts late (or loses its
 * core) leaves its share to the others, few enough that claiming (one
 * atomic add each) stays negligible against a chunk of >= 16K elements. */
#define FG_CHUNKS_PER_THREAD 4

/* Adaptive fallback (see fg_parallel_range). Each region adds to a
 * credit what it saved against the caller alone (negative when it lost),
 * the credit capped at CREDIT_MAX_NS so that a quiet machine's savings
 * absorb an occasional hiccup but not a busy spell. When the credit falls
 * below -LOSS_BUDGET_NS the process runs serial for SERIAL_BASE_NS <<
 * backoff and starts again from zero credit: the backoff grows with each
 * such trip (up to SERIAL_MAX_SHIFT: 3.2 s) and falls by one whenever the
 * credit reaches its cap. A worker that lost its core costs a region a
 * scheduler time slice (milliseconds); one woken through the kernel on a
 * loaded machine costs tens of microseconds, too little to see per region
 * but a 2x loss over the hundred 32K-element regions of a small network's
 * step; the credit sees both. */
#define CREDIT_MAX_NS 2000000
#define LOSS_BUDGET_NS 200000
#define SERIAL_BASE_NS 100000000
#define SERIAL_MAX_SHIFT 5

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Process-wide: a neighbour process slows every thread's regions alike.
 * Relaxed atomics: a racing update only shifts when probing resumes. */
static _Atomic int64_t serial_until = 0;
static _Atomic int backoff = 0;
static _Atomic int64_t credit = 0;
static volatile int fallback_on = 1;

void fg_set_parallel_fallback(int on)
{
    fallback_on = on != 0;
    atomic_store_explicit(&serial_until, 0, memory_order_relaxed);
    atomic_store_explicit(&credit, 0, memory_order_relaxed);
    atomic_store_explicit(&backoff, 0, memory_order_relaxed);
}
static _Atomic int64_t stat_regions = 0, stat_losses = 0, stat_serial = 0, stat_lost_ns = 0,
                       stat_trips = 0;

void fg_parallel_stats(int64_t out[5])
{
    out[0] = atomic_load_explicit(&stat_regions, memory_order_relaxed);
    out[1] = atomic_load_explicit(&stat_losses, memory_order_relaxed);
    out[2] = atomic_load_explicit(&stat_serial, memory_order_relaxed);
    out[3] = atomic_load_explicit(&stat_lost_ns, memory_order_relaxed);
    out[4] = atomic_load_explicit(&stat_trips, memory_order_relaxed);
}

/* One region's verdict: it took wall ns where the caller alone would
 * have taken alone ns; t1 is when it ended. */
static void judge(int64_t wall, int64_t alone, int64_t t1)
{
    int64_t c;
    if (wall > alone) {
        atomic_fetch_add_explicit(&stat_losses, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&stat_lost_ns, wall - alone, memory_order_relaxed);
    }
    c = atomic_fetch_add_explicit(&credit, alone - wall, memory_order_relaxed) + (alone - wall);
    if (c > CREDIT_MAX_NS) {
        int b = atomic_load_explicit(&backoff, memory_order_relaxed);
        atomic_store_explicit(&credit, CREDIT_MAX_NS, memory_order_relaxed);
        if (b > 0) atomic_store_explicit(&backoff, b - 1, memory_order_relaxed);
    } else if (c < -LOSS_BUDGET_NS) {
        int b = atomic_load_explicit(&backoff, memory_order_relaxed);
        atomic_store_explicit(&serial_until, t1 + ((int64_t)SERIAL_BASE_NS << b), memory_order_relaxed);
        atomic_store_explicit(&credit, 0, memory_order_relaxed);
        if (b < SERIAL_MAX_SHIFT) atomic_store_explicit(&backoff, b + 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&stat_trips, 1, memory_order_relaxed);
    }
}

void fg_parallel_judge(int64_t wall_ns, int64_t alone_ns)
{
    if (fallback_on) judge(wall_ns, alone_ns, now_ns());
}

static void judge_region(int64_t t0, double pace, int64_t n, int64_t t1)
{
    atomic_fetch_add_explicit(&stat_regions, 1, memory_order_relaxed);
    /* the caller claimed nothing: it was descheduled itself; no estimate */
    if (!fallback_on || pace <= 0) return;
    /* What the caller alone would have taken: its fastest chunk's pace
     * over all n. The fastest, because a caller that lost its core during
     * a chunk would otherwise look slow and the threads look good. (Its
     * CPU time would be exact, but reading it is a system call, over a
     * microsecond here.) The pace is an overestimate when the threads
     * shared memory bandwidth, which errs towards keeping them; wall also
     * counts starting the team, which serial code does not pay. */
    judge(t1 - t0, (int64_t)(pace * (double)n), t1);
}

/* The work is cut into chunks whose edges depend on n, grain and the
 * thread count only; every fn used here computes each element (or task)
 * the same way whatever range it is called on, so which thread runs a
 * chunk never changes a result. Threads claim chunks with an atomic
 * counter, the caller (thread 0) from the start, so a worker that is not
 * running when the region starts costs nothing but its arrival at the
 * closing barrier: the caller does its share meanwhile.
 *
 * That arrival is what OpenMP cannot skip (a parallel region ends at a
 * barrier), and with a CPU-bound neighbour on the machine it can take a
 * scheduler time slice. So each region is timed against what the caller
 * alone would have taken, and regions that lose more than they won (see
 * judge_region) send the process serial for a while, probing again with
 * a growing interval while the machine stays busy: a probe costs about
 * one lost time slice (a few percent of the shortest interval, well under
 * one of the longest), and a quiet machine gets its threads back at the
 * first probe that wins. */
/* Serial: one call, except in a kernel Ctrl-C may stop (fg_interrupt.h),
 * which runs in up to SERIAL_PIECES calls and checks between them (the
 * same per-element results: see below). */
#define SERIAL_PIECES 64

static void serial_range(int64_t n, int64_t grain, int64_t units, int stop_ok, fg_range_fn fn,
                         void *ctx)
{
    int64_t step, lo;
    if (!stop_ok || units < 2) {
        fn(ctx, 0, n);
        return;
    }
    step = (units + SERIAL_PIECES - 1) / SERIAL_PIECES * grain;
    for (lo = 0; lo < n && !fg_interrupt_pending(); lo += step)
        fn(ctx, lo, n - lo > step ? lo + step : n);
}

void fg_parallel_range(int nt, int64_t n, int64_t grain, fg_range_fn fn, void *ctx)
{
    int64_t units;
    int stop_ok;
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    units = (n + grain - 1) / grain;
    if (nt > units) nt = (int)units;
    stop_ok = fg_interrupt_armed();
    if (nt <= 1 || forked_child) {
        serial_range(n, grain, units, stop_ok, fn, ctx);
        return;
    }
#ifdef _OPENMP
    {
        int64_t t0 = now_ns();
        int nchunks = nt * FG_CHUNKS_PER_THREAD;
        double unit_ns = 0; /* the caller's fastest chunk, per element */
        int64_t q, r;
        _Atomic int next = 0;
        if (t0 < atomic_load_explicit(&serial_until, memory_order_relaxed)) {
            atomic_fetch_add_explicit(&stat_serial, 1, memory_order_relaxed);
            serial_range(n, grain, units, stop_ok, fn, ctx);
            return;
        }
        if (nchunks > units) nchunks = (int)units;
        q = units / nchunks;
        r = units % nchunks;
        team_started = 1;
#pragma omp parallel num_threads(nt)
        {
            int c, caller = omp_get_thread_num() == 0;
            double best = 0;
            /* Ctrl-C: stop claiming; RUN_KERNEL drops the partial output */
            while (!(stop_ok && fg_interrupt_pending()) &&
                   (c = atomic_fetch_add_explicit(&next, 1, memory_order_relaxed)) < nchunks) {
                int64_t lo = (q * c + (c < r ? c : r)) * grain;
                int64_t hi = lo + (q + (c < r)) * grain;
                int64_t ts = caller ? now_ns() : 0;
                if (hi > n) hi = n;
                fn(ctx, lo, hi);
                if (caller) {
                    double pace = (double)(now_ns() - ts) / (double)(hi - lo);
                    if (best == 0 || pace < best) best = pace;
                }
            }
            if (caller) unit_ns = best;
        }
        judge_region(t0, unit_ns, n, now_ns());
    }
#else
    serial_range(n, grain, units, stop_ok, fn, ctx);
#endif
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
