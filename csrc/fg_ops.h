/* fg_ops.h: the op table (generated from fg_ops.def) and op application.
 *
 * Plain C. Keep in sync with fastgrad/_cops.pxd.
 */
#ifndef FG_OPS_H
#define FG_OPS_H

#include <string.h>

#include "fg_tensor.h"

#define FG_READS_IN(i) (1u << (i))
#define FG_READS_OUT (1u << 8)

/* fg_ops.def's flags column */
#define FG_ELEMENTWISE (1u << 0)
#define FG_LINEAR (1u << 1)
#define FG_BROADCASTS (1u << 2)
#define FG_COMPACT (1u << 3)
#define FG_DYNAMIC (1u << 4)

/* fg_ops.def's exec column: the replay's executors (fg_program.c) */
typedef enum {
    FG_X_GENERIC = 0, /* the op's forward into a temporary, copied in */
    FG_X_BINARY, FG_X_UNARY, FG_X_ALIAS, FG_X_CAST, FG_X_WHERE, FG_X_REDUCE, FG_X_BCAST,
    FG_X_TRANSPOSE, FG_X_MATMUL, FG_X_SLICE, FG_X_SLICE_GRAD, FG_X_CONCAT, FG_X_TILE, FG_X_SOFTMAX
} fg_exec_kind;

typedef enum {
#define FG_OP(ID, name, tf_name, n_in, flags, attrs, exec, fwd, deriv, bwd, jvp, kind, reads, nondiff) FG_OP_##ID,
#include "fg_ops.def"
#undef FG_OP
    FG_NUM_OPS
} fg_op_id;

struct fg_node;
struct fg_opdef;
struct fg_rctx;

typedef int fg_forward_fn_t(const struct fg_opdef *def, fg_tensor *const *in, int n_in,
                            const int64_t *attrs, int nattrs, fg_tensor **out);
typedef fg_forward_fn_t *fg_forward_fn;
/* gin[i] receives a new reference (or stays NULL) for each input with
 * need[i]; shapes may still be broadcast: the sweep sums them to shape.
 * A gin[i] may also be *compact*: same ndim as the input, 1 where the
 * gradient is constant along a dim (reduce_sum's rule returns g in the
 * keepdims shape instead of a broadcast copy). The sweep keeps compact
 * gradients as they are and expands them only for rules that need the
 * full shape (see fg_rule_takes_compact) and for the results. */
typedef int fg_backward_fn_t(const struct fg_node *node, fg_tensor *g, fg_tensor **gin,
                             const uint8_t *need);
typedef fg_backward_fn_t *fg_backward_fn;
/* Forward mode: *tout receives a new reference to the output's tangent
 * (or stays NULL: zero) from the inputs' tangents tin[i] (NULL: zero).
 * With nb > 0 every tangent carries nb leading batch dimensions (tin[i]
 * has shape batch + input shape); the result may still be broadcast: the
 * forward sweep broadcasts it to batch + output shape. */
typedef int fg_jvp_fn_t(const struct fg_node *node, int nb, fg_tensor *const *tin, fg_tensor **tout);
typedef fg_jvp_fn_t *fg_jvp_fn;
/* An elementwise op's local derivative: v times d out / d input i, a new
 * tensor held by the rule context (fg_rules.h), or NULL for a zero
 * derivative. `to` is input i in reverse mode (the sweep sums the result
 * to its shape), NULL in forward mode. */
typedef struct fg_tensor *fg_deriv_fn_t(struct fg_rctx *c, const struct fg_node *node, int i,
                                        struct fg_tensor *v, const struct fg_tensor *to);
typedef fg_deriv_fn_t *fg_deriv_fn;

typedef struct fg_opdef {
    const char *name;
    const char *tf_name;
    int n_in;
    unsigned flags;
    const char *attrs; /* the attribute layout (fg_attrs.c) */
    int exec;          /* fg_exec_kind */
    fg_forward_fn forward;
    fg_deriv_fn deriv;
    fg_backward_fn backward;
    fg_jvp_fn jvp;
    int kind;
    unsigned reads;
    unsigned nondiff;
} fg_opdef;

extern const fg_opdef fg_ops[FG_NUM_OPS];

int fg_op_lookup(const char *name); /* -1 when unknown */
const char *fg_op_name(int op);
/* Ops whose forward is the elementwise fg_k_binary (broadcasting) or
 * fg_k_unary kernel of the op's kind: what a replay may call directly. */
static inline int fg_op_is_binary(int op) { return op >= 0 && op < FG_NUM_OPS && fg_ops[op].exec == FG_X_BINARY; }
static inline int fg_op_is_unary(int op) { return op >= 0 && op < FG_NUM_OPS && fg_ops[op].exec == FG_X_UNARY; }
static inline int fg_op_has(int op, unsigned flag) { return (fg_ops[op].flags & flag) != 0; }

/* The attributes of an op applied to tangents with nb leading batch dims
 * of lengths batch[] (jvp_linear, fg_attrs.c): axes shift, shapes and
 * per-dim vectors gain the batch dims. in_ndim: input 0's rank. Returns
 * the count written to out (room for FG_ATTRS_BATCHED_ROOM), -1 on error. */
/* Whether nattrs attributes fit op's layout for an input 0 of rank
 * in_ndim (the Python glue checks what it is given): 0, or -1 with TF's
 * InvalidArgumentError. */
int fg_attrs_check(int op, int in_ndim, const int64_t *attrs, int nattrs);
const char *fg_op_attrs(int op);
unsigned fg_op_flags(int op);
#define FG_ATTRS_BATCHED_ROOM(op, nattrs, nb) ((nattrs) + (int)strlen(fg_ops[op].attrs) * (nb))
int fg_attrs_batched(int op, int in_ndim, const int64_t *attrs, int nattrs, int nb, const int64_t *batch,
                     int64_t *out);

/* Run op on inputs; record it on every recording tape of this thread
 * that watches an input. Returns a new reference, or NULL with the error
 * set. */
fg_tensor *fg_apply(int op, int n_in, fg_tensor *const *in, const int64_t *attrs, int nattrs);

/* 1 when op's rule may be given a compact g (shape broadcasting to the
 * op's output): its rule combines g elementwise with a saved tensor of
 * the output's full shape, so every gradient it returns is full-shape. */
static inline int fg_rule_takes_compact(int op) { return fg_op_has(op, FG_COMPACT); }
/* 1 when g's shape broadcasts to (ndim, shape) with the same ndim: every
 * dim equal or 1. */
int fg_is_compact_of(const fg_tensor *g, int ndim, const int64_t *shape);

/* matmul's layout, decided once for the forward and the replay: m x k
 * times k x n over broadcast batch dims bshape[bnd] (each operand's own
 * batch dims, 1-padded, in ashape/bbshape). Returns 0, 1 when the inner
 * sizes differ, 2 when the batch dims do not broadcast. Ranks >= 2. */
typedef struct {
    int bnd;
    int64_t m, n, k;
    int64_t bshape[FG_MAX_NDIM], ashape[FG_MAX_NDIM], bbshape[FG_MAX_NDIM];
} fg_mm_layout;
int fg_matmul_layout(const fg_tensor *a, const fg_tensor *b, int ta, int tb, fg_mm_layout *L);

/* Composites: built from primitives, so their gradients come for free. */
fg_tensor *fg_sum_to_shape(fg_tensor *g, int ndim, const int64_t *shape);
fg_tensor *fg_reduce_mean(fg_tensor *x, const uint8_t *mask, int keepdims);
fg_tensor *fg_ones_like(const fg_tensor *x);
fg_tensor *fg_zeros_like(const fg_tensor *x);

/* NumPy broadcasting of two shapes into out (returns ndim, -1 if they do
 * not broadcast). */
int fg_broadcast_shapes(int a_ndim, const int64_t *a, int b_ndim, const int64_t *b, int64_t *out);

/* custom_gradient: the binding's rule, called as
 * hook(user, g, n_in, gin) filling new references into gin[i] (or NULL). */
typedef int (*fg_custom_hook)(void *user, fg_tensor *g, int n_in, fg_tensor **gin);
typedef void (*fg_release_hook)(void *user);
void fg_set_custom_hooks(fg_custom_hook call, fg_release_hook release, fg_release_hook retain);
void fg_custom_retain(void *user);
void fg_custom_release(void *user);

#endif
