/* fg_program_impl.h: the program's data structures, shared by
 * fg_program.c (tracing), fg_program_plan.c (finalize: optimisation and
 * storage planning) and fg_program_run.c (replay). Internal: no .pxd.
 */
#ifndef FG_PROGRAM_IMPL_H
#define FG_PROGRAM_IMPL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fg_idmap.h"
#include "fg_program.h"
#include "fg_tensor.h"

/* ------------------------------------------------------------ structures */

enum { SK_ARG, SK_CONST, SK_VAR, SK_OP };
enum { ST_NONE, ST_EXTERN, ST_REG, ST_BUF, ST_ALIAS, ST_SCRATCH /* a chain's block-sized temporary, loc = its # */ };

/* 32 bytes: a long trace writes one per value, and its page faults and
 * finalize's passes scale with the bytes. Slot, instruction and shape
 * counts are kept below FG_PROGRAM_MAX (fg_program.c checks). */
typedef struct {
    int8_t kind, dtype, ndim, storage;
    int32_t index;     /* ARG: argument #, CONST: constant #, VAR: variable # */
    int32_t shape_off; /* ndim entries of p->shapes */
    int32_t root;      /* the slot whose storage this one views (itself if none) */
    int64_t size;      /* elements */
    int32_t last_use;  /* finalize: last instruction reading the root */
    int32_t loc;       /* REG: cell, BUF: buffer #, VAR: version # (p->vt) */
} pslot;
#define FG_PROGRAM_MAX (INT32_MAX - 2)

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
    C_OPTIM, /* in = refs' old versions, grad, iterations, lr; aux: OPTIM_ENTRY ints per ref */
    C_FUSED, /* in = a, b, c; kind = op1, aux = op2, flags & F_RIGHT: inner result on the right */
    C_CHAIN, /* elementwise ops over one shape run block by block: aux = first in p->sub, aux2 = count,
              * nattrs = block temporaries, out = a slot of the chain's shape */
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

typedef struct { /* 64 bytes, slots as int32 (see pslot) */
    int16_t code, op;
    int8_t dtype, kind, flags, _pad;
    int32_t n_in, nattrs;
    int32_t out;
    int32_t in[3];
    int64_t *in_ext; /* n_in > 3 */
    int64_t *attrs;  /* own copy, NULL when none */
    int64_t aux;     /* MATMUL, OPTIM: offset in p->aux; GUARD: offset in p->gbytes; ASSIGN: variable # */
    int64_t aux2;    /* GUARD: byte count; ASSIGN: shadow register # + 1, or 0 */
} pinstr;
_Static_assert(sizeof(void *) != 8 || (sizeof(pslot) == 32 && sizeof(pinstr) == 64), "program records stay compact");

/* C_OPTIM's p->aux entry per updated variable */
enum { OE_VAR, OE_NEW, OE_SHADOW, OE_PRESERVE, OPTIM_ENTRY };

static inline int is_update(const pinstr *I) { return I->code == C_ASSIGN || I->code == C_OPTIM; }

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
    fg_slotmap ids; /* tensor id -> slot; dense from the trace's first id */
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
    int64_t *buf_nbytes; /* each buffer's size, to allocate it again when cold */
    /* fg_program_mem.c: the list of programs holding their buffers */
    int warm;
    uint64_t last_run;
    struct fg_program *warm_prev, *warm_next;
    int64_t *esc; /* buffers outputs may hand out */
    int64_t n_esc;
    fg_tensor **vt; /* the tensor of each variable version during a replay */
    fg_tensor *const *cur_args;
    fg_tensor **held;
    int64_t n_held, cap_held;
    /* the members of elementwise chains (C_CHAIN), in order */
    pinstr *sub;
    int64_t n_sub, cap_sub;
    int64_t n_chained;
    /* lowered stream and the small values copied into registers per call */
    xinstr *x;
    int64_t n_x;
    int64_t *shadow; /* slots (scalar args, variable versions) with a register copy */
    int64_t n_shadow;
    void **shadow_reg;
};


/* Grow *arr (elements of size sz) to hold n+1. Past a megabyte it grows
 * fourfold: realloc copies (into pages the kernel must fault in), and a
 * long trace spent half its page faults in those copies at twofold. */
static inline int grow(void **arr, int64_t *cap, int64_t n, size_t sz) {
    if (n < *cap) return 0;
    int64_t factor = (size_t)*cap * sz >= ((size_t)1 << 20) ? 4 : 2;
    int64_t ncap = *cap ? *cap * factor : 16;
    while (ncap <= n) ncap *= 2;
    void *na = realloc(*arr, (size_t)ncap * sz);
    if (!na) return fg_error_set(FG_ERR_NOMEM, "out of memory recording a function");
    *arr = na;
    *cap = ncap;
    return 0;
}
#define GROW(arr, cap, n) grow((void **)&(arr), &(cap), (n), sizeof(*(arr)))

static inline const int64_t *shape_of(const fg_program *p, int64_t s) {
    return p->shapes + p->slots[s].shape_off;
}

static inline size_t nbytes_of(const fg_program *p, int64_t s) {
    return (size_t)p->slots[s].size * fg_dtype_size(p->slots[s].dtype);
}


static inline void release_held(fg_program *p) {
    for (int64_t i = 0; i < p->n_held; i++) fg_decref(p->held[i]);
    p->n_held = 0;
}


/* fg_program_mem.c: the bound on warm programs' buffers */
void fg_program_touch(fg_program *p);
void fg_program_mark_warm(fg_program *p);
void fg_program_forget(fg_program *p);
void fg_program_trim(fg_program *keep);
int fg_program_rewarm(fg_program *p);

#endif
