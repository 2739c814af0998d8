/* fg_program.h: record once, replay many (fastgrad.function's engine).
 *
 * Plain C, no Python. Keep in sync with fastgrad/_cprogram.pxd.
 *
 * A program is what one trace of a Python function did, as a flat list of
 * instructions over value slots: every op applied through fg_apply (the
 * forward ops and the ops of any gradient sweep run inside the function),
 * the guards taken where a traced value became a Python value, and the
 * in-place variable updates. Slots are the function's tensor arguments,
 * the variables it read (bound by reference, read at each call),
 * captured constants, and op results.
 *
 * finalize() prunes dead instructions and plans storage: 0-d and tiny
 * values live in a register file, the rest in buffers shared between
 * slots whose lifetimes do not overlap, all allocated once. run() then
 * replays the program on new arguments calling the kernels directly, with
 * no tensor created per op; a guard that sees another value than at trace
 * time stops the replay and undoes its variable updates, so the caller
 * can retrace.
 */
#ifndef FG_PROGRAM_H
#define FG_PROGRAM_H

#include <stdint.h>

#include "fg_tensor.h"

typedef struct fg_program fg_program;

/* Variable binding: the address of the owner's tensor pointer, so a
 * replay reads the variable's current value and can swap in a copy
 * before an in-place update, as the eager assign does. The binding
 * resolves a variable id (a tensor with FG_FLAG_VARIABLE) to it; NULL
 * when the id names no live variable. */
typedef fg_tensor **(*fg_var_resolver)(int64_t id);
void fg_program_set_var_resolver(fg_var_resolver fn);

/* run() results */
enum { FG_RUN_OK = 0, FG_RUN_GUARD_FAILED = 1, FG_RUN_BUSY = 2 };

/* update kinds of fg_program_trace_assign */
enum { FG_ASSIGN = 0, FG_ASSIGN_ADD = 1, FG_ASSIGN_SUB = 2 };

fg_program *fg_program_new(void);
void fg_program_free(fg_program *p);

/* ---- tracing: between begin and end, this thread's fg_apply calls are
 * recorded on p (one tracing program per thread). */
int fg_program_begin(fg_program *p);
void fg_program_end(fg_program *p);
fg_program *fg_program_tracing(void); /* this thread's, or NULL */

/* Declare the next tensor argument / variable argument (in call order). */
int fg_program_add_arg(fg_program *p, fg_tensor *t);
int fg_program_add_var_arg(fg_program *p, fg_tensor **ref);

/* Called by fg_apply after the forward (and by the binding for values it
 * derives outside fg_apply: aliases, fills): out = op(in...). */
int fg_program_trace_op(fg_program *p, int op, int n_in, fg_tensor *const *in,
                        const int64_t *attrs, int nattrs, fg_tensor *out);
/* t's value became a Python value: replay checks it is the same. */
int fg_program_trace_guard(fg_program *p, const fg_tensor *t);
/* *ref was just updated in place (kind) with value. */
int fg_program_trace_assign(fg_program *p, fg_tensor **ref, int kind, fg_tensor *value);
/* An optimizer update (fg_optim.h) just ran in place on *refs[0] (the
 * variable) and *refs[1..n_refs) (its slots), reading grad, the step
 * count's variable iterations and the learning rate lr. */
int fg_program_trace_optim(fg_program *p, int kind, int n_refs, fg_tensor **const *refs, fg_tensor *grad,
                           fg_tensor *iterations, fg_tensor *lr, const double *hyper);
/* Something a replay cannot reproduce happened (random draws, an
 * unsupported side effect): the program must not be replayed. */
void fg_program_trace_unsupported(fg_program *p, const char *what);
const char *fg_program_unsupported(const fg_program *p); /* NULL when replayable */
int fg_program_set_outputs(fg_program *p, int n, fg_tensor *const *outs);

/* Optimise and plan storage; after it the program only runs. */
int fg_program_finalize(fg_program *p);

/* Replay: args[i] the tensor arguments (shapes and dtypes as traced),
 * var_args[i] the variable arguments' bindings; outs receives n_outputs
 * new references. Returns FG_RUN_OK, FG_RUN_GUARD_FAILED (nothing
 * changed), FG_RUN_BUSY (already running on this or another thread), or
 * -1 with the error set. */
int fg_program_run(fg_program *p, fg_tensor *const *args, fg_tensor **const *var_args,
                   fg_tensor **outs);

/* The bound on the planned buffers of all finalized programs together
 * (fg_program_mem.c): past it, the least recently run programs release
 * theirs and allocate them again on their next run. Default 256 MiB. */
void fg_program_set_buffer_limit(int64_t bytes);
int64_t fg_program_buffer_limit(void);
int64_t fg_program_warm_bytes(void); /* buffers held now, all programs */

/* introspection (tests, benchmarks, the facade) */
typedef struct {
    int64_t n_traced;      /* instructions recorded */
    int64_t n_instrs;      /* after optimisation */
    int64_t n_slots;
    int64_t n_guards;
    int64_t n_assigns;
    int64_t n_registers;   /* 16-byte register cells */
    int64_t n_buffers;
    int64_t buffer_bytes;
    int64_t n_fused;       /* 0-d float ops merged in pairs */
    int64_t n_direct;      /* instructions the replay loop runs inline (0-d float ops) */
    int64_t n_generic;     /* instructions replayed through the table's forward and a copy */
    int64_t n_chained;     /* elementwise instructions replayed block by block in chains */
    int64_t n_outputs;
    int64_t n_args;
    int64_t n_var_args;
    int64_t n_vars;        /* variables read or written, arguments included */
} fg_program_stats;
void fg_program_get_stats(const fg_program *p, fg_program_stats *st);
/* the ids of the closure variables (not arguments), for the binding to
 * keep them alive while the program exists */
int64_t fg_program_var_id(const fg_program *p, int64_t i, int *is_arg);

#endif
