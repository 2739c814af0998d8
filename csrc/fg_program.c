/* fg_program.c: tracing into a program, optimising it, replaying it.
 *
 * See fg_program.h for the model. Replay calls the same kernels the
 * eager forwards call, with the same shapes and the same scalar fast
 * path, so a replay gives the eager result bit for bit; everything the
 * eager forwards decide from shapes (output shapes, broadcasting, matmul
 * batch layout) is decided once, at trace time.
 */
#include "fg_program.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fg_kernels.h"
#include "fg_ops.h"
#include "fg_thread.h"

/* Fused 0-d instructions must round their intermediate as the two eager
 * ops do: never contract a*b+c into one fused multiply-add. */
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

/* ------------------------------------------------------------ structures */

enum { SK_ARG, SK_CONST, SK_VAR, SK_OP };
enum { ST_NONE, ST_EXTERN, ST_REG, ST_BUF, ST_ALIAS };

typedef struct {
    int8_t kind, dtype, ndim, storage;
    int32_t index;     /* ARG: argument #, CONST: constant #, VAR: variable # */
    int64_t shape_off; /* ndim entries of p->shapes */
    int64_t size;      /* elements */
    int64_t root;      /* the slot whose storage this one views (itself if none) */
    int64_t last_use;  /* finalize: last instruction reading the root */
    int64_t loc;       /* REG: cell, BUF: buffer #, VAR: version # (p->vt) */
} pslot;

/* replay codes */
enum {
    C_ALIAS,
    /* 0-d float binary ops: the eager scalar fast path, inline */
    C_ADD_F32, C_SUB_F32, C_MUL_F32, C_DIV_F32, C_POW_F32,
    C_ADD_F64, C_SUB_F64, C_MUL_F64, C_DIV_F64, C_POW_F64,
    C_BIN, C_UNARY, C_CAST, C_WHERE, C_REDUCE, C_BCAST, C_TRANSPOSE, C_MATMUL,
    C_SLICE, C_SLICE_GRAD, C_CONCAT, C_TILE, C_SOFTMAX,
    C_GENERIC, /* the table's forward into a temporary, copied in */
    C_GUARD,
    C_ASSIGN,
    C_FUSED, /* in = a, b, c; kind = op1, aux = op2, flags & F_RIGHT: inner result on the right */
    /* lowered stream only */
    X_ALIAS, /* a view of a value whose address changes per call */
    X_SLOW,  /* anything else: a = the pinstr */
    X_END,
    /* two 0-d float ops in one: o = (a op1 b) op2 c, or c op2 (a op1 b) */
    X_FUSED,
    X_NCODES = X_FUSED + 64
};
/* ops 0..3: + - * / (the fg_binary_kind order); side 1: the inner result on the right */
#define FUSED_CODE(f64, op1, op2, side) (X_FUSED + ((((f64) * 4 + (op1)) * 4 + (op2)) * 2 + (side)))

/* The replay stream: 0-d float ops carry their operands' addresses, so
 * the hot loop does no slot lookups; every other instruction points back
 * at its pinstr. */
typedef struct {
    int32_t code, _pad;
    void *a, *b, *c, *o;
} xinstr;

#define F_PRESERVE 1 /* ASSIGN: the old value is read later: keep it */
#define F_RIGHT 2

typedef struct {
    int16_t code, op;
    int8_t dtype, kind, flags, _pad;
    int32_t n_in, nattrs;
    int64_t out;
    int64_t in[3];
    int64_t *in_ext; /* n_in > 3 */
    int64_t *attrs;  /* own copy, NULL when none */
    int64_t aux;     /* MATMUL: offset in p->aux; GUARD: offset in p->gbytes; ASSIGN: variable # */
    int64_t aux2;    /* GUARD: byte count */
} pinstr;

static inline int64_t in_slot(const pinstr *i, int j) { return i->n_in <= 3 ? i->in[j] : i->in_ext[j]; }

typedef struct {
    int64_t id;
    fg_tensor **ref; /* trace-time binding (closure variables: also at replay) */
    int32_t arg;     /* variable-argument #, or -1 */
    int32_t nver, capver;
    int64_t *ver_slot;
    const fg_tensor **ver_ptr; /* the tensor each version was at trace time (identity only) */
    /* replay state */
    fg_tensor **cur_ref;
    fg_tensor *saved; /* the value before the replay, for rollback */
} pvar;

struct fg_program {
    pslot *slots;
    int64_t n_slots, cap_slots;
    pinstr *ins;
    int64_t n_ins, cap_ins;
    int64_t *shapes;
    int64_t n_shapes, cap_shapes;
    int64_t *keys, *vals; /* tensor id -> slot */
    int64_t hcap, hcount;
    fg_tensor **consts;
    int64_t n_consts, cap_consts;
    int64_t *arg_slot;
    int64_t n_args, cap_args;
    pvar *vars;
    int64_t n_vars, cap_vars, n_var_args;
    int64_t n_vt; /* variable versions */
    unsigned char *gbytes;
    int64_t n_gbytes, cap_gbytes;
    int64_t *aux;
    int64_t n_aux, cap_aux;
    int64_t *outs;
    int64_t n_outs;
    char unsupported[160];
    int finalized, busy, needs_rollback;
    int64_t n_traced, n_fused;
    /* replay storage */
    void **P;
    unsigned char *regs;
    int64_t n_regs;
    fg_tensor **bufs;
    int64_t n_bufs, buffer_bytes;
    int64_t *esc; /* buffers outputs may hand out */
    int64_t n_esc;
    fg_tensor **vt; /* the tensor of each variable version during a replay */
    fg_tensor *const *cur_args;
    fg_tensor **held;
    int64_t n_held, cap_held;
    /* lowered stream and the small values copied into registers per call */
    xinstr *x;
    int64_t n_x;
    int64_t *shadow; /* slots (scalar args, variable versions) with a register copy */
    int64_t n_shadow;
    void **shadow_reg;
};

static fg_var_resolver var_resolver = NULL;
void fg_program_set_var_resolver(fg_var_resolver fn) { var_resolver = fn; }

/* Grow *arr (elements of size sz) to hold n+1. */
static int grow(void **arr, int64_t *cap, int64_t n, size_t sz) {
    if (n < *cap) return 0;
    int64_t ncap = *cap ? *cap * 2 : 16;
    while (ncap <= n) ncap *= 2;
    void *na = realloc(*arr, (size_t)ncap * sz);
    if (!na) return fg_error_set(FG_ERR_NOMEM, "out of memory recording a function");
    *arr = na;
    *cap = ncap;
    return 0;
}
#define GROW(arr, cap, n) grow((void **)&(arr), &(cap), (n), sizeof(*(arr)))

fg_program *fg_program_new(void) {
    fg_program *p = (fg_program *)calloc(1, sizeof(fg_program));
    if (!p) fg_error_set(FG_ERR_NOMEM, "out of memory");
    return p;
}

static void release_held(fg_program *p) {
    for (int64_t i = 0; i < p->n_held; i++) fg_decref(p->held[i]);
    p->n_held = 0;
}

void fg_program_free(fg_program *p) {
    if (!p) return;
    fg_program_end(p);
    for (int64_t i = 0; i < p->n_ins; i++) {
        free(p->ins[i].in_ext);
        free(p->ins[i].attrs);
    }
    for (int64_t i = 0; i < p->n_consts; i++) fg_decref(p->consts[i]);
    for (int64_t i = 0; i < p->n_vars; i++) {
        free(p->vars[i].ver_slot);
        free(p->vars[i].ver_ptr);
    }
    for (int64_t i = 0; i < p->n_bufs; i++) fg_decref(p->bufs[i]);
    release_held(p);
    free(p->slots);
    free(p->ins);
    free(p->shapes);
    free(p->keys);
    free(p->vals);
    free(p->consts);
    free(p->arg_slot);
    free(p->vars);
    free(p->gbytes);
    free(p->aux);
    free(p->outs);
    free(p->P);
    free(p->regs);
    free(p->bufs);
    free(p->esc);
    free(p->vt);
    free(p->held);
    free(p->x);
    free(p->shadow);
    free(p->shadow_reg);
    free(p);
}

/* ------------------------------------------------------- id -> slot map */

static inline uint64_t hash_id(int64_t id) {
    uint64_t x = (uint64_t)id;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static int64_t map_get(const fg_program *p, int64_t id) {
    if (!p->hcount) return -1;
    uint64_t mask = (uint64_t)p->hcap - 1;
    for (uint64_t i = hash_id(id) & mask;; i = (i + 1) & mask) {
        if (p->keys[i] == id) return p->vals[i];
        if (p->keys[i] == 0) return -1;
    }
}

static int map_put(fg_program *p, int64_t id, int64_t slot) {
    if ((p->hcount + 1) * 2 > p->hcap) {
        int64_t ncap = p->hcap ? p->hcap * 2 : 256;
        int64_t *nk = (int64_t *)calloc((size_t)ncap, sizeof(int64_t));
        int64_t *nv = (int64_t *)malloc((size_t)ncap * sizeof(int64_t));
        if (!nk || !nv) {
            free(nk);
            free(nv);
            return fg_error_set(FG_ERR_NOMEM, "out of memory recording a function");
        }
        for (int64_t j = 0; j < p->hcap; j++) {
            if (!p->keys[j]) continue;
            uint64_t i = hash_id(p->keys[j]) & (uint64_t)(ncap - 1);
            while (nk[i]) i = (i + 1) & (uint64_t)(ncap - 1);
            nk[i] = p->keys[j];
            nv[i] = p->vals[j];
        }
        free(p->keys);
        free(p->vals);
        p->keys = nk;
        p->vals = nv;
        p->hcap = ncap;
    }
    uint64_t mask = (uint64_t)p->hcap - 1;
    uint64_t i = hash_id(id) & mask;
    while (p->keys[i] && p->keys[i] != id) i = (i + 1) & mask;
    if (!p->keys[i]) p->hcount++;
    p->keys[i] = id;
    p->vals[i] = slot;
    return 0;
}

/* ---------------------------------------------------------------- slots */

static int64_t slot_new(fg_program *p, int kind, int dtype, int ndim, const int64_t *shape) {
    if (GROW(p->slots, p->cap_slots, p->n_slots) < 0) return -1;
    if (ndim && GROW(p->shapes, p->cap_shapes, p->n_shapes + ndim) < 0) return -1;
    int64_t s = p->n_slots++;
    pslot *S = &p->slots[s];
    memset(S, 0, sizeof(*S));
    S->kind = (int8_t)kind;
    S->dtype = (int8_t)dtype;
    S->ndim = (int8_t)ndim;
    S->shape_off = p->n_shapes;
    S->size = 1;
    for (int i = 0; i < ndim; i++) {
        p->shapes[p->n_shapes++] = shape[i];
        S->size *= shape[i];
    }
    S->root = s;
    S->last_use = -1;
    S->storage = kind == SK_OP ? ST_NONE : ST_EXTERN;
    return s;
}

static inline const int64_t *shape_of(const fg_program *p, int64_t s) {
    return p->shapes + p->slots[s].shape_off;
}

static inline size_t nbytes_of(const fg_program *p, int64_t s) {
    return (size_t)p->slots[s].size * fg_dtype_size(p->slots[s].dtype);
}

static int64_t capture_const(fg_program *p, fg_tensor *t, int map) {
    if (GROW(p->consts, p->cap_consts, p->n_consts) < 0) return -1;
    int64_t s = slot_new(p, SK_CONST, t->dtype, t->ndim, t->shape);
    if (s < 0) return -1;
    fg_incref(t);
    p->slots[s].index = (int32_t)p->n_consts;
    p->consts[p->n_consts++] = t;
    if (map && map_put(p, t->id, s) < 0) return -1;
    return s;
}

static pvar *var_find(fg_program *p, int64_t id) {
    for (int64_t i = p->n_vars - 1; i >= 0; i--)
        if (p->vars[i].id == id) return &p->vars[i];
    return NULL;
}

static int var_push_version(fg_program *p, pvar *v, int64_t slot, const fg_tensor *t) {
    if (v->nver == v->capver) {
        int32_t ncap = v->capver ? v->capver * 2 : 4;
        int64_t *ns = (int64_t *)realloc(v->ver_slot, (size_t)ncap * sizeof(int64_t));
        if (ns) v->ver_slot = ns;
        const fg_tensor **np_ = (const fg_tensor **)realloc((void *)v->ver_ptr, (size_t)ncap * sizeof(void *));
        if (np_) v->ver_ptr = np_;
        if (!ns || !np_) return fg_error_set(FG_ERR_NOMEM, "out of memory recording a function");
        v->capver = ncap;
    }
    v->ver_slot[v->nver] = slot;
    v->ver_ptr[v->nver] = t;
    v->nver++;
    p->slots[slot].loc = p->n_vt++;
    p->slots[slot].index = (int32_t)(v - p->vars);
    return 0;
}

/* A new variable record whose version 0 (the value at call time) is a slot. */
static pvar *var_new(fg_program *p, fg_tensor **ref, int arg, const fg_tensor *t) {
    if (GROW(p->vars, p->cap_vars, p->n_vars) < 0) return NULL;
    fg_tensor *cur = *ref;
    int64_t s = slot_new(p, SK_VAR, cur->dtype, cur->ndim, cur->shape);
    if (s < 0) return NULL;
    pvar *v = &p->vars[p->n_vars++];
    memset(v, 0, sizeof(*v));
    v->id = cur->id;
    v->ref = ref;
    v->arg = arg;
    if (var_push_version(p, v, s, t) < 0) return NULL;
    return v;
}

/* The slot a traced tensor is read from; -1 when the program does not
 * know it (a constant) and capture is 0, else it is captured. */
static int64_t slot_of(fg_program *p, fg_tensor *t, int capture) {
    if (t->flags & FG_FLAG_VARIABLE) {
        pvar *v = var_find(p, t->id);
        if (!v) {
            fg_tensor **ref = var_resolver ? var_resolver(t->id) : NULL;
            if (ref && *ref == t) {
                v = var_new(p, ref, -1, t);
                return v ? v->ver_slot[0] : -2;
            }
        } else {
            for (int32_t k = v->nver - 1; k >= 0; k--)
                if (v->ver_ptr[k] == t) return v->ver_slot[k];
            if (*v->ref == t) return v->ver_slot[v->nver - 1];
        }
        /* a snapshot the function holds from before: a constant */
        return capture ? capture_const(p, t, 0) : -1;
    }
    int64_t s = map_get(p, t->id);
    if (s >= 0 || !capture) return s;
    return capture_const(p, t, 1);
}

/* ---------------------------------------------------------------- tracing */

int fg_program_begin(fg_program *p) {
    fg_thread_state *ts = fg_thread();
    if (ts->tracing && ts->tracing != p)
        return fg_error_set(FG_ERR_RUNTIME, "a function is already being traced on this thread");
    if (p->finalized) return fg_error_set(FG_ERR_RUNTIME, "this program was already traced");
    ts->tracing = p;
    return 0;
}

void fg_program_end(fg_program *p) {
    fg_thread_state *ts = fg_thread();
    if (ts->tracing == p) ts->tracing = NULL;
}

fg_program *fg_program_tracing(void) { return fg_thread()->tracing; }

int fg_program_add_arg(fg_program *p, fg_tensor *t) {
    if (GROW(p->arg_slot, p->cap_args, p->n_args) < 0) return -1;
    int64_t s = slot_new(p, SK_ARG, t->dtype, t->ndim, t->shape);
    if (s < 0) return -1;
    p->slots[s].index = (int32_t)p->n_args;
    p->arg_slot[p->n_args++] = s;
    /* the same tensor passed twice is two arguments: the later one wins the id */
    return map_put(p, t->id, s);
}

int fg_program_add_var_arg(fg_program *p, fg_tensor **ref) {
    if (var_find(p, (*ref)->id)) return 0; /* the same variable twice: one binding */
    if (!var_new(p, ref, (int)p->n_var_args, *ref)) return -1;
    p->n_var_args++;
    return 0;
}

void fg_program_trace_unsupported(fg_program *p, const char *what) {
    if (!p->unsupported[0]) {
        strncpy(p->unsupported, what, sizeof(p->unsupported) - 1);
        p->unsupported[sizeof(p->unsupported) - 1] = 0;
    }
}

const char *fg_program_unsupported(const fg_program *p) { return p->unsupported[0] ? p->unsupported : NULL; }

static pinstr *instr_new(fg_program *p) {
    if (GROW(p->ins, p->cap_ins, p->n_ins) < 0) return NULL;
    pinstr *I = &p->ins[p->n_ins++];
    memset(I, 0, sizeof(*I));
    p->n_traced++;
    return I;
}

static int instr_set_inputs(pinstr *I, int n, const int64_t *slots) {
    I->n_in = n;
    if (n > 3) {
        I->in_ext = (int64_t *)malloc((size_t)n * sizeof(int64_t));
        if (!I->in_ext) return fg_error_set(FG_ERR_NOMEM, "out of memory recording a function");
        memcpy(I->in_ext, slots, (size_t)n * sizeof(int64_t));
    } else {
        for (int j = 0; j < n; j++) I->in[j] = slots[j];
    }
    return 0;
}

static int is_binary_op(int op) { return op >= FG_OP_ADD && op <= FG_OP_SQRT_GRAD; }
static int is_unary_op(int op) { return op >= FG_OP_NEG && op <= FG_OP_LOGICAL_NOT; }

/* Decide how a replay runs op, from the traced inputs and output. */
static int choose_code(fg_program *p, pinstr *I, int op, fg_tensor *const *in, int nattrs,
                       const int64_t *attrs, const fg_tensor *out) {
    const fg_opdef *d = &fg_ops[op];
    I->kind = (int8_t)d->kind;
    I->dtype = (int8_t)in[0]->dtype;
    if (is_binary_op(op)) {
        int dt = in[0]->dtype;
        int is_int = dt == FG_I32 || dt == FG_I64;
        if (is_int && (d->kind == FG_B_DIV || d->kind == FG_B_POW)) return C_GENERIC; /* data-dependent errors */
        if (!(in[0]->ndim | in[1]->ndim) && in[0]->dtype == in[1]->dtype && fg_dtype_is_float(dt) &&
            d->kind <= FG_B_POW)
            return (dt == FG_F32 ? C_ADD_F32 : C_ADD_F64) + d->kind;
        return C_BIN;
    }
    if (is_unary_op(op)) return C_UNARY;
    switch (op) {
    case FG_OP_IDENTITY:
    case FG_OP_RESHAPE:
        return C_ALIAS;
    case FG_OP_CAST:
        I->kind = (int8_t)attrs[0];
        return attrs[0] == in[0]->dtype ? C_ALIAS : C_CAST;
    case FG_OP_WHERE:
        I->dtype = (int8_t)in[1]->dtype;
        return C_WHERE;
    case FG_OP_REDUCE_SUM:
    case FG_OP_REDUCE_MAX:
    case FG_OP_REDUCE_MIN:
    case FG_OP_REDUCE_PROD:
    case FG_OP_REDUCE_ANY:
    case FG_OP_REDUCE_ALL:
        return C_REDUCE;
    case FG_OP_BROADCAST_TO:
        return C_BCAST;
    case FG_OP_TRANSPOSE: {
        int identity = 1;
        for (int i = 0; i < nattrs; i++) identity &= (attrs[i] < 0 ? attrs[i] + nattrs : attrs[i]) == i;
        return identity ? C_ALIAS : C_TRANSPOSE;
    }
    case FG_OP_MATMUL: {
        /* fwd_matmul's layout, decided once */
        const fg_tensor *a = in[0], *b = in[1];
        int ta = (int)attrs[0], tb = (int)attrs[1];
        int bnd = out->ndim - 2;
        if (GROW(p->aux, p->cap_aux, p->n_aux + 6 + 3 * bnd) < 0) return -1;
        int64_t *x = p->aux + p->n_aux;
        I->aux = p->n_aux;
        p->n_aux += 6 + 3 * bnd;
        x[0] = bnd;
        x[1] = a->shape[a->ndim - (ta ? 1 : 2)];
        x[2] = b->shape[b->ndim - (tb ? 2 : 1)];
        x[3] = a->shape[a->ndim - (ta ? 2 : 1)];
        x[4] = ta;
        x[5] = tb;
        for (int i = 0; i < bnd; i++) {
            int ia = i - (bnd - (a->ndim - 2)), ib = i - (bnd - (b->ndim - 2));
            x[6 + i] = out->shape[i];
            x[6 + bnd + i] = ia >= 0 ? a->shape[ia] : 1;
            x[6 + 2 * bnd + i] = ib >= 0 ? b->shape[ib] : 1;
        }
        return C_MATMUL;
    }
    case FG_OP_SLICE:
        return C_SLICE;
    case FG_OP_SLICE_GRAD:
        return C_SLICE_GRAD;
    case FG_OP_CONCAT:
        return C_CONCAT;
    case FG_OP_TILE:
        return C_TILE;
    case FG_OP_SOFTMAX:
    case FG_OP_LOG_SOFTMAX:
        return C_SOFTMAX;
    default:
        return C_GENERIC;
    }
}

int fg_program_trace_op(fg_program *p, int op, int n_in, fg_tensor *const *in,
                        const int64_t *attrs, int nattrs, fg_tensor *out) {
    if (p->unsupported[0]) return 0;
    int64_t small[8];
    int64_t *sl = n_in <= 8 ? small : (int64_t *)malloc((size_t)n_in * sizeof(int64_t));
    if (!sl) return fg_error_set(FG_ERR_NOMEM, "out of memory recording a function");
    int rc = -1, any = 0;
    for (int i = 0; i < n_in; i++) {
        sl[i] = slot_of(p, in[i], 0);
        if (sl[i] < -1) goto done;
        any |= sl[i] >= 0;
    }
    if (!any) { /* constant folding: the output is a constant, captured if used */
        rc = 0;
        goto done;
    }
    for (int i = 0; i < n_in; i++)
        if (sl[i] < 0 && (sl[i] = slot_of(p, in[i], 1)) < 0) goto done;
    pinstr *I = instr_new(p);
    if (!I) goto done;
    int64_t o = slot_new(p, SK_OP, out->dtype, out->ndim, out->shape);
    if (o < 0 || map_put(p, out->id, o) < 0) goto done;
    I = &p->ins[p->n_ins - 1];
    I->op = (int16_t)op;
    I->out = o;
    if (instr_set_inputs(I, n_in, sl) < 0) goto done;
    if (nattrs) {
        I->attrs = (int64_t *)malloc((size_t)nattrs * sizeof(int64_t));
        if (!I->attrs) {
            fg_error_set(FG_ERR_NOMEM, "out of memory recording a function");
            goto done;
        }
        memcpy(I->attrs, attrs, (size_t)nattrs * sizeof(int64_t));
    }
    I->nattrs = nattrs;
    int code = choose_code(p, I, op, in, nattrs, attrs, out);
    if (code < 0) goto done;
    I->code = (int16_t)code;
    if (code == C_ALIAS) {
        p->slots[o].root = p->slots[sl[0]].root;
        p->slots[o].storage = ST_ALIAS;
    }
    rc = 0;
done:
    if (sl != small) free(sl);
    return rc;
}

int fg_program_trace_guard(fg_program *p, const fg_tensor *t) {
    if (p->unsupported[0]) return 0;
    int64_t s = slot_of(p, (fg_tensor *)t, 0);
    if (s < -1) return -1;
    if (s < 0) return 0; /* a constant: nothing can change */
    size_t n = (size_t)t->size * fg_dtype_size(t->dtype);
    if (GROW(p->gbytes, p->cap_gbytes, p->n_gbytes + (int64_t)n) < 0) return -1;
    pinstr *I = instr_new(p);
    if (!I) return -1;
    I->code = C_GUARD;
    I->op = -1;
    I->n_in = 1;
    I->in[0] = s;
    I->out = -1;
    I->aux = p->n_gbytes;
    I->aux2 = (int64_t)n;
    memcpy(p->gbytes + p->n_gbytes, t->data, n);
    p->n_gbytes += (int64_t)n;
    return 0;
}

int fg_program_trace_assign(fg_program *p, fg_tensor **ref, int kind, fg_tensor *value) {
    if (p->unsupported[0]) return 0;
    fg_tensor *t = *ref;
    pvar *v = var_find(p, t->id);
    if (!v && !(v = var_new(p, ref, -1, NULL))) return -1;
    int64_t old = v->ver_slot[v->nver - 1];
    int64_t val = slot_of(p, value, 1);
    if (val < 0) return -1;
    int64_t s = slot_new(p, SK_VAR, t->dtype, t->ndim, t->shape);
    if (s < 0) return -1;
    v = var_find(p, t->id); /* slot_of may have moved the array */
    if (var_push_version(p, v, s, t) < 0) return -1;
    pinstr *I = instr_new(p);
    if (!I) return -1;
    I->code = C_ASSIGN;
    I->op = -1;
    I->kind = (int8_t)kind;
    I->dtype = (int8_t)t->dtype;
    I->n_in = 2;
    I->in[0] = old;
    I->in[1] = val;
    I->out = s;
    I->aux = v - p->vars;
    return 0;
}

int fg_program_set_outputs(fg_program *p, int n, fg_tensor *const *outs) {
    free(p->outs);
    p->outs = (int64_t *)malloc(((size_t)n + 1) * sizeof(int64_t));
    if (!p->outs) return fg_error_set(FG_ERR_NOMEM, "out of memory");
    p->n_outs = n;
    for (int i = 0; i < n; i++)
        if ((p->outs[i] = slot_of(p, outs[i], 1)) < 0) return -1;
    return 0;
}

/* ------------------------------------------------------------- finalize */

#define NEVER INT64_MAX

/* A free list of storage locations for one size class. */
typedef struct {
    size_t nbytes;
    int64_t *loc;
    int64_t n, cap;
} freelist;

typedef struct {
    freelist *lists;
    int64_t n, cap;
} pool;

static freelist *pool_class(pool *pl, size_t nbytes) {
    for (int64_t i = 0; i < pl->n; i++)
        if (pl->lists[i].nbytes == nbytes) return &pl->lists[i];
    if (GROW(pl->lists, pl->cap, pl->n) < 0) return NULL;
    freelist *f = &pl->lists[pl->n++];
    memset(f, 0, sizeof(*f));
    f->nbytes = nbytes;
    return f;
}

static void pool_free(pool *pl) {
    for (int64_t i = 0; i < pl->n; i++) free(pl->lists[i].loc);
    free(pl->lists);
}

static int plain_scalar(const pinstr *I) {
    return (I->code >= C_ADD_F32 && I->code <= C_DIV_F32) || (I->code >= C_ADD_F64 && I->code <= C_DIV_F64);
}

/* Fuse pairs of 0-d float ops whose intermediate has one reader: half
 * the loads, stores and dispatches of a scalar chain. Slots are written
 * once, so moving the producer down to its reader is always valid. */
static int fuse(fg_program *p) {
    int64_t ns = p->n_slots, ni = p->n_ins;
    int32_t *uses = (int32_t *)calloc((size_t)ns + 1, sizeof(int32_t));
    int64_t *producer = (int64_t *)malloc(((size_t)ns + 1) * sizeof(int64_t));
    uint8_t *dead = (uint8_t *)calloc((size_t)ni + 1, 1);
    if (!uses || !producer || !dead) {
        free(uses);
        free(producer);
        free(dead);
        return fg_error_set(FG_ERR_NOMEM, "out of memory");
    }
    for (int64_t k = 0; k < p->n_outs; k++) uses[p->outs[k]] += 2;
    for (int64_t i = 0; i < ni; i++) {
        const pinstr *I = &p->ins[i];
        for (int j = 0; j < I->n_in; j++) uses[in_slot(I, j)]++;
        if (I->out >= 0) producer[I->out] = plain_scalar(I) ? i : -1;
    }
    for (int64_t j = 0; j < ni; j++) {
        pinstr *J = &p->ins[j];
        if (!plain_scalar(J)) continue;
        for (int side = 0; side < 2; side++) {
            int64_t t = J->in[side];
            if (uses[t] != 1 || p->slots[t].kind != SK_OP) continue;
            int64_t i = producer[t];
            if (i < 0 || dead[i] || !plain_scalar(&p->ins[i])) continue;
            pinstr *I = &p->ins[i];
            int f64 = J->code >= C_ADD_F64;
            if ((I->code >= C_ADD_F64) != f64) continue;
            int64_t c = J->in[1 - side];
            J->aux = J->code - (f64 ? C_ADD_F64 : C_ADD_F32); /* op2 */
            J->kind = (int8_t)(I->code - (f64 ? C_ADD_F64 : C_ADD_F32));
            J->flags = side ? F_RIGHT : 0;
            J->code = C_FUSED;
            J->n_in = 3;
            J->in[0] = I->in[0];
            J->in[1] = I->in[1];
            J->in[2] = c;
            J->dtype = (int8_t)(f64 ? FG_F64 : FG_F32);
            dead[i] = 1;
            p->n_fused++;
            break;
        }
    }
    int64_t n = 0;
    for (int64_t i = 0; i < ni; i++)
        if (!dead[i]) p->ins[n++] = p->ins[i];
    p->n_ins = n;
    free(uses);
    free(producer);
    free(dead);
    return 0;
}

/* Check each guard as soon as its value exists: a replay taking another
 * branch stops before doing the work (and the updates) of this one. */
static int hoist_guards(fg_program *p) {
    int64_t ni = p->n_ins, ns = p->n_slots, n_guards = 0;
    for (int64_t i = 0; i < ni; i++) n_guards += p->ins[i].code == C_GUARD;
    if (!n_guards) return 0;
    int64_t *producer = (int64_t *)malloc(((size_t)ns + 1) * sizeof(int64_t));
    int64_t *key = (int64_t *)malloc(((size_t)ni + 1) * sizeof(int64_t));
    pinstr *out = (pinstr *)malloc(((size_t)ni + 1) * sizeof(pinstr));
    if (!producer || !key || !out) {
        free(producer);
        free(key);
        free(out);
        return fg_error_set(FG_ERR_NOMEM, "out of memory");
    }
    for (int64_t s = 0; s < ns; s++) producer[s] = -1;
    for (int64_t i = 0; i < ni; i++)
        if (p->ins[i].code != C_GUARD && p->ins[i].out >= 0) producer[p->ins[i].out] = i;
    for (int64_t i = 0; i < ni; i++) key[i] = p->ins[i].code == C_GUARD ? producer[p->ins[i].in[0]] : i;
    /* per producer, its guards in their order: head[i] -> nxt[g] -> ... */
    int64_t *head = (int64_t *)malloc(((size_t)ni + 1) * sizeof(int64_t));
    int64_t *nxt = (int64_t *)malloc(((size_t)ni + 1) * sizeof(int64_t));
    if (!head || !nxt) {
        free(producer);
        free(key);
        free(out);
        free(head);
        free(nxt);
        return fg_error_set(FG_ERR_NOMEM, "out of memory");
    }
    for (int64_t i = 0; i < ni; i++) head[i] = -1;
    for (int64_t g = ni - 1; g >= 0; g--) {
        if (p->ins[g].code != C_GUARD || key[g] < 0) continue;
        nxt[g] = head[key[g]];
        head[key[g]] = g;
    }
    int64_t n = 0;
    for (int64_t i = 0; i < ni; i++) /* guards on arguments and variables: first */
        if (p->ins[i].code == C_GUARD && key[i] < 0) out[n++] = p->ins[i];
    for (int64_t i = 0; i < ni; i++) {
        if (p->ins[i].code == C_GUARD) continue;
        out[n++] = p->ins[i];
        for (int64_t g = head[i]; g >= 0; g = nxt[g]) out[n++] = p->ins[g]; /* right after their producer */
    }
    memcpy(p->ins, out, (size_t)n * sizeof(pinstr));
    free(head);
    free(nxt);
    free(producer);
    free(key);
    free(out);
    return 0;
}

/* Registers for the small arguments and variable versions, so that every
 * 0-d value has a fixed address; then the replay stream. */
static int lower(fg_program *p) {
    int64_t ns = p->n_slots;
    uint8_t *fixed = (uint8_t *)calloc((size_t)ns + 1, 1);
    p->shadow = (int64_t *)malloc(((size_t)ns + 1) * sizeof(int64_t));
    p->x = (xinstr *)malloc(((size_t)p->n_ins + 1) * sizeof(xinstr)); /* + X_END */
    if (!fixed || !p->shadow || !p->x) {
        free(fixed);
        return fg_error_set(FG_ERR_NOMEM, "out of memory");
    }
    for (int64_t s = 0; s < ns; s++) {
        pslot *S = &p->slots[s];
        if ((S->kind == SK_ARG || S->kind == SK_VAR) && nbytes_of(p, s) <= 16) p->shadow[p->n_shadow++] = s;
    }
    int64_t first = p->n_regs;
    p->n_regs += p->n_shadow;
    unsigned char *regs = (unsigned char *)aligned_alloc(64, (size_t)((p->n_regs * 16 + 63) / 64 * 64 + 64));
    p->shadow_reg = (void **)malloc(((size_t)p->n_shadow + 1) * sizeof(void *));
    if (!regs || !p->shadow_reg) {
        free(regs);
        free(fixed);
        return fg_error_set(FG_ERR_NOMEM, "out of memory");
    }
    memcpy(regs, p->regs, (size_t)first * 16);
    free(p->regs);
    p->regs = regs;
    for (int64_t s = 0; s < ns; s++) {
        pslot *S = &p->slots[s];
        if (S->storage == ST_REG) p->P[s] = p->regs + 16 * S->loc;
        fixed[s] = S->storage == ST_REG || S->kind == SK_CONST;
    }
    for (int64_t i = 0; i < p->n_shadow; i++) {
        int64_t s = p->shadow[i];
        p->shadow_reg[i] = p->regs + 16 * (first + i);
        p->P[s] = p->shadow_reg[i];
        fixed[s] = 1;
    }
    for (int64_t i = 0; i < p->n_ins; i++) { /* an update's new small value goes to its register too */
        pinstr *I = &p->ins[i];
        if (I->code != C_ASSIGN) continue;
        for (int64_t k = 0; k < p->n_shadow; k++)
            if (p->shadow[k] == I->out) I->aux2 = k + 1;
    }
    int64_t n = 0;
    for (int64_t i = 0; i < p->n_ins; i++) {
        pinstr *I = &p->ins[i];
        xinstr *X = &p->x[n];
        X->_pad = 0;
        if (I->code >= C_ADD_F32 && I->code <= C_POW_F64) {
            X->code = I->code;
            X->a = p->P[I->in[0]];
            X->b = p->P[I->in[1]];
            X->o = p->P[I->out];
            n++;
        } else if (I->code == C_FUSED) {
            X->code = FUSED_CODE(I->dtype == FG_F64, I->kind, (int)I->aux, (I->flags & F_RIGHT) != 0);
            X->a = p->P[I->in[0]];
            X->b = p->P[I->in[1]];
            X->c = p->P[I->in[2]];
            X->o = p->P[I->out];
            n++;
        } else if (I->code == C_ALIAS) {
            if (fixed[I->in[0]]) { /* resolved now */
                p->P[I->out] = p->P[I->in[0]];
                fixed[I->out] = 1;
                continue;
            }
            X->code = X_ALIAS;
            X->a = &p->P[I->in[0]];
            X->o = &p->P[I->out];
            n++;
        } else {
            X->code = X_SLOW;
            X->a = I;
            n++;
        }
    }
    p->x[n].code = X_END;
    p->n_x = n;
    free(fixed);
    return 0;
}

int fg_program_finalize(fg_program *p) {
    if (p->finalized) return 0;
    fg_program_end(p);
    int64_t ns = p->n_slots, ni = p->n_ins;
    uint8_t *needed = (uint8_t *)calloc((size_t)ns + 1, 1);
    uint8_t *live = (uint8_t *)calloc((size_t)ni + 1, 1);
    int rc = -1;
    pool regs = {0}, bufs = {0};
    size_t *buf_bytes = NULL;
    int64_t cap_buf = 0;
    if (!needed || !live) {
        fg_error_set(FG_ERR_NOMEM, "out of memory");
        goto done;
    }
    /* dead-code elimination: keep what outputs, guards and updates need */
    for (int64_t k = 0; k < p->n_outs; k++) needed[p->outs[k]] = 1;
    for (int64_t i = ni - 1; i >= 0; i--) {
        pinstr *I = &p->ins[i];
        if (I->code == C_GUARD || I->code == C_ASSIGN || needed[I->out]) {
            live[i] = 1;
            for (int j = 0; j < I->n_in; j++) needed[in_slot(I, j)] = 1;
        }
    }
    int64_t n = 0;
    for (int64_t i = 0; i < ni; i++) {
        if (!live[i]) {
            free(p->ins[i].in_ext);
            free(p->ins[i].attrs);
            continue;
        }
        pinstr *I = &p->ins[i];
        p->ins[n++] = *I;
    }
    p->n_ins = ni = n;
    if (fuse(p) < 0 || hoist_guards(p) < 0) goto done;
    ni = p->n_ins;
    int seen_assign = 0;
    for (int64_t i = 0; i < ni; i++) {
        if (p->ins[i].code == C_ASSIGN) seen_assign = 1;
        if (p->ins[i].code == C_GUARD && seen_assign) p->needs_rollback = 1;
    }
    /* lifetimes, on roots */
    for (int64_t i = 0; i < ni; i++) {
        pinstr *I = &p->ins[i];
        for (int j = 0; j < I->n_in; j++) p->slots[p->slots[in_slot(I, j)].root].last_use = i;
    }
    for (int64_t k = 0; k < p->n_outs; k++) p->slots[p->slots[p->outs[k]].root].last_use = NEVER;
    for (int64_t i = 0; i < ni; i++) {
        pinstr *I = &p->ins[i];
        if (I->code == C_ASSIGN && p->slots[p->slots[I->in[0]].root].last_use > i) I->flags |= F_PRESERVE;
    }
    /* storage: registers for values of at most 16 bytes, buffers for the
     * rest, each reused once its last reader has run */
    for (int64_t i = 0; i < ni; i++) {
        pinstr *I = &p->ins[i];
        if (I->out >= 0 && p->slots[I->out].storage == ST_NONE) {
            pslot *S = &p->slots[I->out];
            size_t nb = nbytes_of(p, I->out);
            int small = nb <= 16;
            freelist *f = pool_class(small ? &regs : &bufs, small ? 16 : nb);
            if (!f) goto done;
            if (f->n) {
                S->loc = f->loc[--f->n];
            } else if (small) {
                S->loc = p->n_regs++;
            } else {
                if (GROW(buf_bytes, cap_buf, p->n_bufs) < 0) goto done;
                buf_bytes[p->n_bufs] = nb;
                S->loc = p->n_bufs++;
            }
            S->storage = small ? ST_REG : ST_BUF;
        }
        for (int j = -1; j < I->n_in; j++) {
            int64_t r = j < 0 ? (I->out >= 0 ? p->slots[I->out].root : -1) : p->slots[in_slot(I, j)].root;
            if (r < 0) continue;
            pslot *R = &p->slots[r];
            if ((R->storage != ST_REG && R->storage != ST_BUF) || R->last_use > i) continue;
            /* never read again (or read for the last time here): free */
            int small = R->storage == ST_REG;
            freelist *f = pool_class(small ? &regs : &bufs, small ? 16 : buf_bytes[R->loc]);
            if (!f || grow((void **)&f->loc, &f->cap, f->n, sizeof(int64_t)) < 0) goto done;
            f->loc[f->n++] = R->loc;
            R->last_use = NEVER - 1; /* freed once only */
        }
    }
    p->P = (void **)calloc((size_t)ns + 1, sizeof(void *));
    p->regs = (unsigned char *)aligned_alloc(64, (size_t)((p->n_regs * 16 + 63) / 64 * 64 + 64));
    p->bufs = (fg_tensor **)calloc((size_t)p->n_bufs + 1, sizeof(fg_tensor *));
    p->vt = (fg_tensor **)calloc((size_t)p->n_vt + 1, sizeof(fg_tensor *));
    p->esc = (int64_t *)malloc(((size_t)p->n_outs + 1) * sizeof(int64_t));
    if (!p->P || !p->regs || !p->bufs || !p->vt || !p->esc) {
        fg_error_set(FG_ERR_NOMEM, "out of memory");
        goto done;
    }
    memset(p->regs, 0, (size_t)p->n_regs * 16);
    for (int64_t b = 0; b < p->n_bufs; b++) {
        int64_t nb = (int64_t)buf_bytes[b];
        if (!(p->bufs[b] = fg_tensor_new(FG_BOOL, 1, &nb))) goto done;
        p->buffer_bytes += nb;
    }
    for (int64_t s = 0; s < ns; s++) {
        pslot *S = &p->slots[s];
        if (S->storage == ST_REG) p->P[s] = p->regs + 16 * S->loc;
        else if (S->storage == ST_BUF) p->P[s] = p->bufs[S->loc]->data;
        else if (S->kind == SK_CONST) p->P[s] = p->consts[S->index]->data;
    }
    for (int64_t k = 0; k < p->n_outs; k++) {
        pslot *R = &p->slots[p->slots[p->outs[k]].root];
        if (R->storage == ST_BUF) p->esc[p->n_esc++] = R->loc;
    }
    if (lower(p) < 0) goto done;
    p->finalized = 1;
    rc = 0;
done:
    free(needed);
    free(live);
    free(buf_bytes);
    pool_free(&regs);
    pool_free(&bufs);
    return rc;
}

/* ------------------------------------------------------------------ replay */

/* Read-only header over replay storage, for the table's forwards. */
static void header_at(const fg_program *p, int64_t s, void *data, fg_tensor *h) {
    const pslot *S = &p->slots[s];
    h->refcnt = 1;
    h->id = 0;
    h->dtype = S->dtype;
    h->ndim = S->ndim;
    h->flags = 0;
    h->size = S->size;
    memcpy(h->shape, shape_of(p, s), (size_t)S->ndim * sizeof(int64_t));
    h->data = data;
    h->buf = NULL;
}

static int run_generic(fg_program *p, const pinstr *I) {
    fg_tensor hs[4], *hp[4];
    int n = I->n_in;
    fg_tensor *heap = NULL, **heapp = NULL;
    fg_tensor *h = hs, **hpp = hp;
    if (n > 4) {
        heap = (fg_tensor *)malloc((size_t)n * sizeof(fg_tensor));
        heapp = (fg_tensor **)malloc((size_t)n * sizeof(fg_tensor *));
        if (!heap || !heapp) {
            free(heap);
            free(heapp);
            return fg_error_set(FG_ERR_NOMEM, "out of memory");
        }
        h = heap;
        hpp = heapp;
    }
    for (int j = 0; j < n; j++) {
        int64_t s = in_slot(I, j);
        header_at(p, s, p->P[s], &h[j]);
        hpp[j] = &h[j];
    }
    const fg_opdef *d = &fg_ops[I->op];
    fg_tensor *o = NULL;
    int rc = d->forward(d, hpp, n, I->attrs, I->nattrs, &o);
    if (rc == 0) {
        memcpy(p->P[I->out], o->data, nbytes_of(p, I->out));
        fg_decref(o);
    }
    free(heap);
    free(heapp);
    return rc;
}

static int run_assign(fg_program *p, const pinstr *I) {
    pvar *v = &p->vars[I->aux];
    fg_tensor **ref = v->cur_ref;
    fg_tensor *cur = *ref;
    if (p->needs_rollback && !v->saved) {
        fg_incref(cur);
        v->saved = cur;
    }
    if (I->flags & F_PRESERVE) {
        if (GROW(p->held, p->cap_held, p->n_held) < 0) return -1;
        fg_incref(cur);
        p->held[p->n_held++] = cur;
    }
    /* the eager assign's copy-on-write: whoever holds the old value keeps it */
    if (cur->refcnt > 1) {
        fg_tensor *fresh = fg_tensor_copy(cur);
        if (!fresh) return -1;
        fresh->id = cur->id;
        fresh->flags = cur->flags;
        *ref = fresh;
        fg_decref(cur);
        cur = fresh;
    } else if (fg_tensor_make_writable(cur) < 0) {
        return -1;
    }
    int64_t vs = I->in[1];
    const pslot *V = &p->slots[vs];
    if (I->kind == FG_ASSIGN) {
        memcpy(cur->data, p->P[vs], nbytes_of(p, vs));
    } else if (fg_k_binary(I->kind == FG_ASSIGN_ADD ? FG_B_ADD : FG_B_SUB, cur->dtype, cur->data, cur->ndim,
                           cur->shape, p->P[vs], V->ndim, shape_of(p, vs), cur->data, cur->ndim, cur->shape) < 0) {
        return -1;
    }
    p->P[I->out] = cur->data;
    p->vt[p->slots[I->out].loc] = cur;
    if (I->aux2) { /* a small value: later readers use its register */
        void *reg = p->shadow_reg[I->aux2 - 1];
        memcpy(reg, cur->data, nbytes_of(p, I->out));
        p->P[I->out] = reg;
    }
    return 0;
}

#define SBIN(T, OP)                                                          \
    *(T *)P[I->out] = *(const T *)P[I->in[0]] OP * (const T *)P[I->in[1]]; \
    break

static int exec_slow(fg_program *p, const pinstr *I) {
    void **P = p->P;
    {
        switch (I->code) {
        case C_ALIAS: P[I->out] = P[I->in[0]]; break;
        case C_ADD_F32: SBIN(float, +);
        case C_SUB_F32: SBIN(float, -);
        case C_MUL_F32: SBIN(float, *);
        case C_DIV_F32: SBIN(float, /);
        case C_POW_F32:
            *(float *)P[I->out] = powf(*(const float *)P[I->in[0]], *(const float *)P[I->in[1]]);
            break;
        case C_ADD_F64: SBIN(double, +);
        case C_SUB_F64: SBIN(double, -);
        case C_MUL_F64: SBIN(double, *);
        case C_DIV_F64: SBIN(double, /);
        case C_POW_F64:
            *(double *)P[I->out] = pow(*(const double *)P[I->in[0]], *(const double *)P[I->in[1]]);
            break;
        default: {
            const pslot *O = &p->slots[I->out >= 0 ? I->out : 0];
            const int64_t *oshape = I->out >= 0 ? shape_of(p, I->out) : NULL;
            int64_t a = I->n_in > 0 ? in_slot(I, 0) : 0;
            const pslot *A = &p->slots[a];
            const int64_t *ashape = shape_of(p, a);
            int rc = 0;
            switch (I->code) {
            case C_BIN: {
                int64_t b = I->in[1];
                rc = fg_k_binary(I->kind, I->dtype, P[a], A->ndim, ashape, P[b], p->slots[b].ndim, shape_of(p, b),
                                 P[I->out], O->ndim, oshape);
                break;
            }
            case C_UNARY: rc = fg_k_unary(I->kind, I->dtype, P[a], P[I->out], A->size); break;
            case C_CAST: rc = fg_k_cast(A->dtype, P[a], I->kind, P[I->out], A->size); break;
            case C_WHERE: {
                int64_t x = I->in[1], y = I->in[2];
                rc = fg_k_where(I->dtype, (const uint8_t *)P[a], A->ndim, ashape, P[x], p->slots[x].ndim,
                                shape_of(p, x), P[y], p->slots[y].ndim, shape_of(p, y), P[I->out], O->ndim, oshape);
                break;
            }
            case C_REDUCE: {
                uint8_t mask[FG_MAX_NDIM];
                for (int i = 0; i < A->ndim; i++) mask[i] = I->attrs[1 + i] != 0;
                rc = fg_k_reduce(I->kind, A->dtype, P[a], A->ndim, ashape, mask, P[I->out]);
                break;
            }
            case C_BCAST:
                rc = fg_k_broadcast_to(A->dtype, P[a], A->ndim, ashape, P[I->out], O->ndim, oshape);
                break;
            case C_TRANSPOSE: {
                int perm[FG_MAX_NDIM];
                for (int i = 0; i < A->ndim; i++)
                    perm[i] = (int)(I->attrs[i] < 0 ? I->attrs[i] + A->ndim : I->attrs[i]);
                rc = fg_k_transpose(A->dtype, P[a], A->ndim, ashape, perm, P[I->out]);
                break;
            }
            case C_MATMUL: {
                const int64_t *x = p->aux + I->aux;
                int bnd = (int)x[0];
                rc = fg_k_matmul(A->dtype, P[a], P[I->in[1]], P[I->out], bnd, x + 6, x + 6 + bnd, x + 6 + 2 * bnd,
                                 x[1], x[2], x[3], (int)x[4], (int)x[5]);
                break;
            }
            case C_SLICE: {
                int nd = A->ndim;
                rc = fg_k_slice(A->dtype, P[a], nd, ashape, I->attrs, I->attrs + nd, I->attrs + 2 * nd, P[I->out]);
                break;
            }
            case C_SLICE_GRAD: {
                int nd = (int)I->attrs[0];
                const int64_t *sh = I->attrs + 1;
                rc = fg_k_slice_scatter(A->dtype, P[a], nd, sh, sh + nd, sh + 2 * nd, sh + 3 * nd, P[I->out]);
                break;
            }
            case C_CONCAT: {
                const void *ptrs[64];
                const int64_t *shapes[64];
                int nin = I->n_in;
                if (nin > 64) {
                    rc = run_generic(p, I);
                    break;
                }
                for (int j = 0; j < nin; j++) {
                    int64_t s = in_slot(I, j);
                    ptrs[j] = P[s];
                    shapes[j] = shape_of(p, s);
                }
                int64_t axis = I->attrs[0] < 0 ? I->attrs[0] + A->ndim : I->attrs[0];
                rc = fg_k_concat(A->dtype, nin, ptrs, A->ndim, shapes, (int)axis, P[I->out]);
                break;
            }
            case C_TILE: rc = fg_k_tile(A->dtype, P[a], A->ndim, ashape, I->attrs, P[I->out]); break;
            case C_SOFTMAX: {
                int64_t cols = ashape[A->ndim - 1];
                rc = fg_k_softmax(A->dtype, P[a], cols ? A->size / cols : 0, cols, P[I->out], I->kind);
                break;
            }
            case C_GENERIC: rc = run_generic(p, I); break;
            case C_GUARD:
                if (memcmp(P[a], p->gbytes + I->aux, (size_t)I->aux2) != 0) return FG_RUN_GUARD_FAILED;
                break;
            case C_ASSIGN: rc = run_assign(p, I); break;
            default: rc = fg_error_set(FG_ERR_RUNTIME, "bad replay code %d", I->code);
            }
            if (rc < 0) return -1;
        }
        }
    }
    return FG_RUN_OK;
}


#if defined(__GNUC__)
/* Threaded dispatch: each handler jumps to the next itself, so the
 * branch predictor learns the program's own sequence of op kinds (a
 * shared switch jump mispredicted about a third of the 0-d ops). */
static int execute(fg_program *p) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init" /* a default for every code, then the handled ones */
    static const void *const labels[X_NCODES] = {
        [0 ... X_NCODES - 1] = &&l_slow,
        [C_ADD_F32] = &&l_add_f32, [C_SUB_F32] = &&l_sub_f32, [C_MUL_F32] = &&l_mul_f32,
        [C_DIV_F32] = &&l_div_f32, [C_POW_F32] = &&l_pow_f32,
        [C_ADD_F64] = &&l_add_f64, [C_SUB_F64] = &&l_sub_f64, [C_MUL_F64] = &&l_mul_f64,
        [C_DIV_F64] = &&l_div_f64, [C_POW_F64] = &&l_pow_f64,
        [X_ALIAS] = &&l_alias, [X_END] = &&l_end,
#define FL(D, I1, I2) [FUSED_CODE(D, I1, I2, 0)] = &&l_f##D##I1##I2##0, [FUSED_CODE(D, I1, I2, 1)] = &&l_f##D##I1##I2##1,
#define FL4(D, I1) FL(D, I1, 0) FL(D, I1, 1) FL(D, I1, 2) FL(D, I1, 3)
        FL4(0, 0) FL4(0, 1) FL4(0, 2) FL4(0, 3) FL4(1, 0) FL4(1, 1) FL4(1, 2) FL4(1, 3)
#undef FL4
#undef FL
    };
#pragma GCC diagnostic pop
    const xinstr *X = p->x;
#define NEXT goto *labels[(++X)->code]
    goto *labels[X->code];
l_add_f32: *(float *)X->o = *(const float *)X->a + *(const float *)X->b; NEXT;
l_sub_f32: *(float *)X->o = *(const float *)X->a - *(const float *)X->b; NEXT;
l_mul_f32: *(float *)X->o = *(const float *)X->a * *(const float *)X->b; NEXT;
l_div_f32: *(float *)X->o = *(const float *)X->a / *(const float *)X->b; NEXT;
l_pow_f32: *(float *)X->o = powf(*(const float *)X->a, *(const float *)X->b); NEXT;
l_add_f64: *(double *)X->o = *(const double *)X->a + *(const double *)X->b; NEXT;
l_sub_f64: *(double *)X->o = *(const double *)X->a - *(const double *)X->b; NEXT;
l_mul_f64: *(double *)X->o = *(const double *)X->a * *(const double *)X->b; NEXT;
l_div_f64: *(double *)X->o = *(const double *)X->a / *(const double *)X->b; NEXT;
l_pow_f64: *(double *)X->o = pow(*(const double *)X->a, *(const double *)X->b); NEXT;
l_alias: *(void **)X->o = *(void **)X->a; NEXT;
#define FH(D, T, I1, O1, I2, O2)                                                           \
    l_f##D##I1##I2##0 : {                                                                  \
        T t_ = *(const T *)X->a O1 * (const T *)X->b;                                      \
        *(T *)X->o = t_ O2 * (const T *)X->c;                                              \
        NEXT;                                                                              \
    }                                                                                      \
    l_f##D##I1##I2##1 : {                                                                  \
        T t_ = *(const T *)X->a O1 * (const T *)X->b;                                      \
        *(T *)X->o = *(const T *)X->c O2 t_;                                               \
        NEXT;                                                                              \
    }
#define FH4(D, T, I1, O1) FH(D, T, I1, O1, 0, +) FH(D, T, I1, O1, 1, -) FH(D, T, I1, O1, 2, *) FH(D, T, I1, O1, 3, /)
    FH4(0, float, 0, +) FH4(0, float, 1, -) FH4(0, float, 2, *) FH4(0, float, 3, /)
    FH4(1, double, 0, +) FH4(1, double, 1, -) FH4(1, double, 2, *) FH4(1, double, 3, /)
#undef FH4
#undef FH
l_slow: {
        int rc = exec_slow(p, (const pinstr *)X->a);
        if (rc != FG_RUN_OK) return rc;
        NEXT;
    }
l_end:
    return FG_RUN_OK;
#undef NEXT
}
#else
static float scalar_op_f32(int op, float a, float b) {
    return op == 0 ? a + b : op == 1 ? a - b : op == 2 ? a * b : a / b;
}
static double scalar_op_f64(int op, double a, double b) {
    return op == 0 ? a + b : op == 1 ? a - b : op == 2 ? a * b : a / b;
}
#define XBIN(T, OP)                                     \
    *(T *)X->o = *(const T *)X->a OP * (const T *)X->b; \
    break

static int execute(fg_program *p) {
    for (const xinstr *X = p->x;; X++) {
        switch (X->code) {
        case C_ADD_F32: XBIN(float, +);
        case C_SUB_F32: XBIN(float, -);
        case C_MUL_F32: XBIN(float, *);
        case C_DIV_F32: XBIN(float, /);
        case C_POW_F32: *(float *)X->o = powf(*(const float *)X->a, *(const float *)X->b); break;
        case C_ADD_F64: XBIN(double, +);
        case C_SUB_F64: XBIN(double, -);
        case C_MUL_F64: XBIN(double, *);
        case C_DIV_F64: XBIN(double, /);
        case C_POW_F64: *(double *)X->o = pow(*(const double *)X->a, *(const double *)X->b); break;
        case X_ALIAS: *(void **)X->o = *(void **)X->a; break;
        case X_END: return FG_RUN_OK;
        default:
            if (X->code >= X_FUSED) {
                int k = X->code - X_FUSED, side = k & 1, op2 = (k >> 1) & 3, op1 = (k >> 3) & 3;
                if (k >> 5) {
                    double t = scalar_op_f64(op1, *(const double *)X->a, *(const double *)X->b);
                    *(double *)X->o = side ? scalar_op_f64(op2, *(const double *)X->c, t)
                                           : scalar_op_f64(op2, t, *(const double *)X->c);
                } else {
                    float t = scalar_op_f32(op1, *(const float *)X->a, *(const float *)X->b);
                    *(float *)X->o = side ? scalar_op_f32(op2, *(const float *)X->c, t)
                                          : scalar_op_f32(op2, t, *(const float *)X->c);
                }
                break;
            } else {
            int rc = exec_slow(p, (const pinstr *)X->a);
            if (rc != FG_RUN_OK) return rc;
        }
        }
    }
}
#endif

/* An output as a tensor of its own: a view of an escaping buffer (the
 * next replay takes a fresh buffer if it is still held), a copy of a
 * register, or the argument, constant or variable value itself. */
static fg_tensor *materialize(fg_program *p, int64_t s) {
    const pslot *S = &p->slots[s], *R = &p->slots[S->root];
    const int64_t *shape = shape_of(p, s);
    fg_tensor *base = NULL;
    switch (R->kind) {
    case SK_ARG: base = p->cur_args[R->index]; break;
    case SK_CONST: base = p->consts[R->index]; break;
    case SK_VAR: base = p->vt[R->loc]; break;
    default: break;
    }
    if (!base && R->storage == ST_BUF) base = p->bufs[R->loc];
    if (base) {
        if (S->root == s && R->kind != SK_OP) {
            fg_incref(base);
            return base;
        }
        fg_tensor *t = fg_tensor_alias(base, base->ndim, base->shape);
        if (!t) return NULL;
        t->dtype = S->dtype;
        t->ndim = S->ndim;
        t->size = S->size;
        memcpy(t->shape, shape, (size_t)S->ndim * sizeof(int64_t));
        return t;
    }
    fg_tensor *t = fg_tensor_new(S->dtype, S->ndim, shape);
    if (t) memcpy(t->data, p->P[s], nbytes_of(p, s));
    return t;
}

int fg_program_run(fg_program *p, fg_tensor *const *args, fg_tensor **const *var_args, fg_tensor **outs) {
    if (!p->finalized) return fg_error_set(FG_ERR_RUNTIME, "program not finalized");
    if (p->busy) return FG_RUN_BUSY;
    p->busy = 1;
    p->cur_args = args;
    for (int64_t i = 0; i < p->n_args; i++) p->P[p->arg_slot[i]] = args[i]->data;
    for (int64_t i = 0; i < p->n_vars; i++) {
        pvar *v = &p->vars[i];
        v->cur_ref = v->arg >= 0 ? var_args[v->arg] : v->ref;
        v->saved = NULL;
        fg_tensor *cur = *v->cur_ref;
        int64_t s0 = v->ver_slot[0];
        p->P[s0] = cur->data;
        p->vt[p->slots[s0].loc] = cur;
    }
    for (int64_t i = 0; i < p->n_shadow; i++) { /* small values: into registers */
        int64_t s = p->shadow[i];
        if (p->slots[s].kind == SK_VAR && p->slots[s].loc != p->slots[p->vars[p->slots[s].index].ver_slot[0]].loc)
            continue; /* a later version: its update fills it */
        memcpy(p->shadow_reg[i], p->P[s], nbytes_of(p, s));
        p->P[s] = p->shadow_reg[i];
    }
    /* buffers an earlier call handed out and the caller still holds */
    int moved = 0;
    for (int64_t k = 0; k < p->n_esc; k++) {
        fg_tensor *b = p->bufs[p->esc[k]];
        if (b->buf->refcnt > 1 || b->refcnt > 1) {
            fg_tensor *nb = fg_tensor_new(FG_BOOL, 1, b->shape);
            if (!nb) {
                p->busy = 0;
                return -1;
            }
            fg_decref(b);
            p->bufs[p->esc[k]] = nb;
            moved = 1;
        }
    }
    if (moved)
        for (int64_t s = 0; s < p->n_slots; s++)
            if (p->slots[s].storage == ST_BUF) p->P[s] = p->bufs[p->slots[s].loc]->data;
    int rc = execute(p);
    if (rc == FG_RUN_GUARD_FAILED) {
        /* undo the updates: the retrace will run the function eagerly */
        for (int64_t i = 0; i < p->n_vars; i++) {
            pvar *v = &p->vars[i];
            if (v->saved) {
                fg_decref(*v->cur_ref);
                *v->cur_ref = v->saved;
                v->saved = NULL;
            }
        }
    } else if (rc == FG_RUN_OK) {
        for (int64_t k = 0; k < p->n_outs; k++) {
            outs[k] = materialize(p, p->outs[k]);
            if (!outs[k]) {
                for (int64_t j = 0; j < k; j++) fg_decref(outs[j]);
                rc = -1;
                break;
            }
        }
    }
    for (int64_t i = 0; i < p->n_vars; i++) {
        fg_decref(p->vars[i].saved);
        p->vars[i].saved = NULL;
    }
    release_held(p);
    p->cur_args = NULL;
    p->busy = 0;
    return rc;
}

/* ------------------------------------------------------------ introspection */

void fg_program_get_stats(const fg_program *p, fg_program_stats *st) {
    memset(st, 0, sizeof(*st));
    st->n_traced = p->n_traced;
    st->n_instrs = p->n_ins;
    st->n_slots = p->n_slots;
    for (int64_t i = 0; i < p->n_ins; i++) {
        st->n_guards += p->ins[i].code == C_GUARD;
        st->n_assigns += p->ins[i].code == C_ASSIGN;
    }
    st->n_registers = p->n_regs;
    st->n_buffers = p->n_bufs;
    st->buffer_bytes = p->buffer_bytes;
    st->n_fused = p->n_fused;
    for (int64_t i = 0; i < p->n_x; i++) st->n_direct += p->x[i].code != X_SLOW && p->x[i].code != X_END;
    st->n_outputs = p->n_outs;
    st->n_args = p->n_args;
    st->n_var_args = p->n_var_args;
    st->n_vars = p->n_vars;
}

int64_t fg_program_var_id(const fg_program *p, int64_t i, int *is_arg) {
    if (i < 0 || i >= p->n_vars) return -1;
    if (is_arg) *is_arg = p->vars[i].arg >= 0;
    return p->vars[i].id;
}
