/* fg_interrupt.h: letting Ctrl-C stop a long kernel between chunks.
 *
 * Plain C: a SIGINT handler (installed by the binding, chained in front of
 * the one already there, so Python's own KeyboardInterrupt still trips)
 * sets a process-wide flag. A kernel run through RUN_KERNEL on the thread
 * that installed the handler (Python's main thread, which alone receives
 * KeyboardInterrupt) with the GIL released is "armed": the parallel driver
 * and BLAS matmul's row panels stop claiming work once the flag is set,
 * and RUN_KERNEL then frees the partial output and fails the op with
 * FG_ERR_INTERRUPTED. Kernels run any other way are never cut short, so
 * no caller can see a partial result. Keep in sync with
 * fastgrad/_ctensor.pxd.
 */
#ifndef FG_INTERRUPT_H
#define FG_INTERRUPT_H

/* Installs the handler (once) and takes the calling thread as the one
 * whose kernels may be interrupted. 0 on success, -1 if sigaction failed. */
int fg_interrupt_install(void);
/* 1 when a SIGINT arrived since the last clear (async-signal-safe) */
int fg_interrupt_pending(void);
void fg_interrupt_clear(void);
/* Called around a kernel: on the installing thread, clears any stale flag
 * and arms this thread; returns 1 if it armed (pass it to disarm). */
int fg_interrupt_arm(void);
void fg_interrupt_disarm(int armed);
/* 1 when this thread is armed and a SIGINT is pending: stop claiming
 * work. One thread-local and one relaxed atomic load. */
int fg_interrupt_stop(void);
/* this thread is armed (read once by a driver before it starts threads) */
int fg_interrupt_armed(void);

#endif
