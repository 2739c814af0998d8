/* fg_forward.h: forward mode. Forward accumulators (tangents carried
 * along at op time, TF's ForwardAccumulator), the forward sweep over a
 * recorded tape, and the Jacobian loops built on both sweeps.
 *
 * Plain C. Keep in sync with fastgrad/_cforward.pxd.
 *
 * An accumulator maps tensor ids to tangents. While it is on this
 * thread's stack, every op applied to an input with a tangent runs the
 * op's JVP rule (fg_jvp.c) right after its forward kernel. The rule's own
 * ops are seen by accumulators outside the one computing it (so nesting
 * gives higher orders) and by recording tapes (reverse-over-forward).
 */
#ifndef FG_FORWARD_H
#define FG_FORWARD_H

#include "fg_tape.h"
#include "fg_tensor.h"

typedef struct fg_accumulator {
    /* open-addressing map: tensor id -> tangent (a reference) */
    int64_t *keys;
    fg_tensor **vals;
    int64_t hcap, hcount;
    int active; /* on this thread's stack */
} fg_accumulator;

fg_accumulator *fg_acc_new(void);
void fg_acc_free(fg_accumulator *acc);
/* Start / stop carrying tangents on this thread (push fails if active). */
int fg_acc_push(fg_accumulator *acc);
void fg_acc_pop(fg_accumulator *acc);
/* Give primal the tangent (a new reference is taken; the tangent must
 * have the primal's shape and dtype). */
int fg_acc_watch(fg_accumulator *acc, const fg_tensor *primal, fg_tensor *tangent);
/* The tangent of the tensor with this id (borrowed), or NULL. */
fg_tensor *fg_acc_tangent(const fg_accumulator *acc, int64_t id);
/* How many accumulators see ops on this thread now. */
int fg_acc_visible(void);

/* Used by fg_apply (user NULL) and by custom_gradient's recording: run
 * the JVP of op for every visible accumulator with a tangent for an
 * input. */
int fg_acc_record(int op, int n_in, fg_tensor *const *in, const int64_t *attrs, int nattrs,
                  fg_tensor *out, void *user);

/* The forward sweep over a recorded tape: tangents[k] (NULL: zero) for
 * sources[k], each with nb leading batch dimensions (shape batch +
 * source shape, the same batch for all). result[j] receives a new
 * reference to the tangent of targets[j] (batch + target shape), or NULL
 * when no source reaches it. The tape keeps its nodes. */
int fg_tape_forward(fg_tape *tape, int nb, int n_sources, fg_tensor *const *sources,
                    fg_tensor *const *tangents, int n_targets, fg_tensor *const *targets,
                    fg_tensor **result);

/* Jacobian modes */
enum { FG_JAC_AUTO = 0, FG_JAC_REV = 1, FG_JAC_FWD = 2 };

/* tape.jacobian: out[k] receives a new reference to d target / d
 * sources[k], shape target + source, or NULL when unconnected. One sweep
 * when the tape shows the path is elementwise (a diagonal Jacobian);
 * else one reverse sweep per target element or one batched forward sweep
 * over the source elements, whichever is fewer (FG_JAC_AUTO). Rows go
 * straight into the result, unless a tape records or an accumulator
 * watches: then the result is built from table ops, differentiable. */
int fg_tape_jacobian(fg_tape *tape, fg_tensor *target, int n_sources, fg_tensor *const *sources,
                     int mode, fg_tensor **out);

/* tape.batch_jacobian: *out receives [batch] + target[1:] + source[1:]
 * (zeros when unconnected, as TF). */
int fg_tape_batch_jacobian(fg_tape *tape, fg_tensor *target, fg_tensor *source, int mode,
                           fg_tensor **out);

#endif
