/* fg_tape.h: gradient tapes and the reverse sweep.
 *
 * Plain C. Keep in sync with fastgrad/_ctape.pxd.
 *
 * A tape is a growable array of nodes. Nodes refer to value slots, not to
 * tensors: a slot is the tape's name for a value it tracks (a watched
 * source or a recorded op's output), so a recording can later be replayed
 * on new values. A hash map takes tensor ids to slots. Tapes are per
 * thread: each thread has its own stack of recording tapes.
 */
#ifndef FG_TAPE_H
#define FG_TAPE_H

#include "fg_idmap.h"
#include "fg_ops.h"
#include "fg_tensor.h"

#define FG_NODE_INLINE 3
#define FG_NODE_INLINE_ATTRS 4

typedef struct fg_node {
    int32_t op;
    int32_t n_in;
    int32_t nattrs;
    int32_t _pad;
    int64_t out_slot;
    int64_t *in_slot;   /* -1: input not tracked by this tape */
    fg_tensor **in;     /* saved inputs (values or shape-only headers) */
    fg_tensor *out;     /* saved output, or a shape-only header */
    int64_t *attrs;
    void *user;         /* custom_gradient: the binding's object */
    int64_t in_slot_inline[FG_NODE_INLINE];
    fg_tensor *in_inline[FG_NODE_INLINE];
    int64_t attrs_inline[FG_NODE_INLINE_ATTRS];
} fg_node;

typedef struct fg_tape {
    fg_node *nodes;
    int64_t n_nodes, cap_nodes;
    fg_slotmap ids; /* tensor id -> slot; dense from the tape's creation */
    int64_t n_slots;
    int persistent;
    int watch_accessed_variables;
    int recording;             /* on this thread's stack */
    int64_t *accessed;         /* ids of variables watched on access, in order */
    int64_t n_accessed, cap_accessed;
    int watch_all;             /* fastgrad.function's graph tape: every float value is a source */
} fg_tape;

fg_tape *fg_tape_new(int persistent, int watch_accessed_variables);
void fg_tape_free(fg_tape *tape);
void fg_tape_clear(fg_tape *tape);    /* reset(): forget everything */
void fg_tape_release(fg_tape *tape);  /* free the recording, keep which variables were watched */

/* Start / stop recording on this thread. */
int fg_tape_push(fg_tape *tape);
void fg_tape_pop(fg_tape *tape);
int fg_tapes_recording(void);  /* how many tapes record on this thread */

/* Watch t (floating dtypes only; returns 1 if watched, 0 if not float). */
int fg_tape_watch(fg_tape *tape, const fg_tensor *t);
int64_t fg_tape_slot(const fg_tape *tape, int64_t id); /* -1 when untracked */

/* Record a custom_gradient node: out = custom(in...), rule by the hook. */
int fg_tape_record_custom(int n_in, fg_tensor *const *in, fg_tensor *out, void *user);

/* The reverse sweep. seeds[i] may be NULL (ones). result[k] receives a new
 * reference to d(sum of targets)/d sources[k], or NULL when unconnected. */
int fg_tape_gradient(fg_tape *tape, int n_targets, fg_tensor *const *targets,
                     fg_tensor *const *seeds, int n_sources, fg_tensor *const *sources,
                     fg_tensor **result);

/* used by fg_apply */
int fg_tape_record(int op, int n_in, fg_tensor *const *in, const int64_t *attrs, int nattrs,
                   fg_tensor *out);

#endif
