/* fg_interrupt.c: see fg_interrupt.h. */
#include "fg_interrupt.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

#include "fg_thread.h"

/* Set from the signal handler, read by kernel threads: a lock-free atomic
 * int is async-signal-safe, relaxed loads cost a plain load. */
static _Atomic int pending = 0;
static struct sigaction previous;
static volatile int installed = 0;
static pthread_t owner;
static _Thread_local int armed FG_TLS_MODEL = 0;

static void on_sigint(int sig, siginfo_t *info, void *uctx)
{
    atomic_store_explicit(&pending, 1, memory_order_relaxed);
    /* then whatever was there (Python's handler, which trips its
     * KeyboardInterrupt machinery); SIG_DFL/SIG_IGN are not chained:
     * the binding installs only over Python's handler */
    if (previous.sa_flags & SA_SIGINFO) {
        if (previous.sa_sigaction) previous.sa_sigaction(sig, info, uctx);
    } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
        previous.sa_handler(sig);
    }
}

int fg_interrupt_install(void)
{
    struct sigaction sa;
    if (installed) return 0;
    memset(&sa, 0, sizeof sa);
    if (sigaction(SIGINT, NULL, &previous) != 0) return -1;
    sa.sa_sigaction = on_sigint;
    /* keep the previous flags (SA_ONSTACK, SA_RESTART...) but not its
     * one-shot or no-info semantics */
    sa.sa_flags = (previous.sa_flags & ~(SA_RESETHAND | SA_NODEFER)) | SA_SIGINFO;
    sa.sa_mask = previous.sa_mask;
    owner = pthread_self();
    if (sigaction(SIGINT, &sa, NULL) != 0) return -1;
    installed = 1;
    return 0;
}

int fg_interrupt_pending(void)
{
    return atomic_load_explicit(&pending, memory_order_relaxed);
}

void fg_interrupt_clear(void)
{
    atomic_store_explicit(&pending, 0, memory_order_relaxed);
}

int fg_interrupt_arm(void)
{
    if (!installed || armed || !pthread_equal(pthread_self(), owner)) return 0;
    /* a flag left by a signal that came while nothing was armed: Python
     * has raised (or will raise) for it already */
    atomic_store_explicit(&pending, 0, memory_order_relaxed);
    armed = 1;
    return 1;
}

void fg_interrupt_disarm(int was_armed)
{
    if (was_armed) armed = 0;
}

int fg_interrupt_armed(void)
{
    return armed;
}

int fg_interrupt_stop(void)
{
    return armed && atomic_load_explicit(&pending, memory_order_relaxed);
}
