/* fg_program.c: programs: lifecycle, tracing (what fg_apply and the
 * binding report while a function is traced), introspection. Finalize is
 * in fg_program_plan.c, replay in fg_program_run.c; fg_program.h has the
 * model.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fg_idmap.h"
#include "fg_kernels.h"
#include "fg_ops.h"
#include "fg_optim.h"
#include "fg_program_impl.h"
#include "fg_thread.h"

static fg_var_resolver var_resolver = NULL;
void fg_program_set_var_resolver(fg_var_resolver fn) { var_resolver = fn; }

fg_program *fg_program_new(void) {
    fg_program *p = (fg_program *)calloc(1, sizeof(fg_program));
    if (!p) fg_error_set(FG_ERR_NOMEM, "out of memory");
    return p;
}

void fg_program_free(fg_program *p) {
    if (!p) return;
    fg_program_end(p);
    fg_program_forget(p);
    for (int64_t i = 0; i < p->n_ins; i++) {
        free(p->ins[i].in_ext);
        free(p->ins[i].attrs);
    }
    for (int64_t i = 0; i < p->n_sub; i++) {
        free(p->sub[i].in_ext);
        free(p->sub[i].attrs);
    }
    free(p->sub);
    for (int64_t i = 0; i < p->n_consts; i++) fg_decref(p->consts[i]);
    for (int64_t i = 0; i < p->n_vars; i++) {
        free(p->vars[i].ver_slot);
        free(p->vars[i].ver_ptr);
    }
    for (int64_t i = 0; i < p->n_bufs; i++) fg_decref(p->bufs[i]); /* NULL when cold */
    release_held(p);
    free(p->slots);
    free(p->ins);
    free(p->shapes);
    fg_slotmap_free(&p->ids);
    free(p->consts);
    free(p->arg_slot);
    free(p->vars);
    free(p->gbytes);
    free(p->aux);
    free(p->outs);
    free(p->P);
    free(p->regs);
    free(p->bufs);
    free(p->buf_nbytes);
    free(p->esc);
    free(p->vt);
    free(p->held);
    free(p->x);
    free(p->shadow);
    free(p->shadow_reg);
    free(p);
}

/* ------------------------------------------------------- id -> slot map */

static int64_t map_get(const fg_program *p, int64_t id) { return fg_slotmap_get(&p->ids, id); }

static int map_put(fg_program *p, int64_t id, int64_t slot) {
    if (fg_slotmap_put(&p->ids, id, slot) < 0) return fg_error_set(FG_ERR_NOMEM, "out of memory recording a function");
    return 0;
}

/* ---------------------------------------------------------------- slots */

static int64_t slot_new(fg_program *p, int kind, int dtype, int ndim, const int64_t *shape) {
    if (p->n_slots >= FG_PROGRAM_MAX || p->n_shapes >= FG_PROGRAM_MAX - FG_MAX_NDIM)
        return fg_error_set(FG_ERR_NOMEM, "function too large to record (over %d values)", FG_PROGRAM_MAX);
    if (GROW(p->slots, p->cap_slots, p->n_slots) < 0) return -1;
    if (ndim && GROW(p->shapes, p->cap_shapes, p->n_shapes + ndim) < 0) return -1;
    int64_t s = p->n_slots++;
    pslot *S = &p->slots[s];
    memset(S, 0, sizeof(*S));
    S->kind = (int8_t)kind;
    S->dtype = (int8_t)dtype;
    S->ndim = (int8_t)ndim;
    S->shape_off = (int32_t)p->n_shapes;
    S->size = 1;
    for (int i = 0; i < ndim; i++) {
        p->shapes[p->n_shapes++] = shape[i];
        S->size *= shape[i];
    }
    S->root = (int32_t)s;
    S->last_use = -1;
    S->storage = kind == SK_OP ? ST_NONE : ST_EXTERN;
    return s;
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
    p->slots[slot].loc = (int32_t)p->n_vt++;
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
    fg_slotmap_start(&p->ids, fg_next_id()); /* ids from here on are made by the trace */
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
    if (p->n_ins >= FG_PROGRAM_MAX) {
        fg_error_set(FG_ERR_NOMEM, "function too large to record (over %d instructions)", FG_PROGRAM_MAX);
        return NULL;
    }
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
        for (int j = 0; j < n; j++) I->in[j] = (int32_t)slots[j];
    }
    return 0;
}

/* Decide how a replay runs op, from the traced inputs and output. */
static int choose_code(fg_program *p, pinstr *I, int op, fg_tensor *const *in, int nattrs,
                       const int64_t *attrs, const fg_tensor *out) {
    const fg_opdef *d = &fg_ops[op];
    I->kind = (int8_t)d->kind;
    I->dtype = (int8_t)in[0]->dtype;
    if (fg_op_is_binary(op)) {
        int dt = in[0]->dtype;
        int is_int = dt == FG_I32 || dt == FG_I64;
        if (is_int && (d->kind == FG_B_DIV || d->kind == FG_B_POW || d->kind == FG_B_TRUNCDIV ||
                       d->kind == FG_B_TRUNCMOD))
            return C_GENERIC; /* data-dependent errors */
        if (!(in[0]->ndim | in[1]->ndim) && in[0]->dtype == in[1]->dtype && fg_dtype_is_float(dt) &&
            d->kind <= FG_B_POW)
            return (dt == FG_F32 ? C_ADD_F32 : C_ADD_F64) + d->kind;
        return C_BIN;
    }
    switch (d->exec) {
    case FG_X_UNARY:
        return C_UNARY;
    case FG_X_ALIAS:
        return C_ALIAS;
    case FG_X_CAST:
        I->kind = (int8_t)attrs[0];
        return attrs[0] == in[0]->dtype ? C_ALIAS : C_CAST;
    case FG_X_WHERE:
        I->dtype = (int8_t)in[1]->dtype;
        return C_WHERE;
    case FG_X_REDUCE:
        return C_REDUCE;
    case FG_X_BCAST:
        return C_BCAST;
    case FG_X_TRANSPOSE: {
        int identity = 1;
        for (int i = 0; i < nattrs; i++) identity &= (attrs[i] < 0 ? attrs[i] + nattrs : attrs[i]) == i;
        return identity ? C_ALIAS : C_TRANSPOSE;
    }
    case FG_X_MATMUL: {
        /* fwd_matmul's layout (fg_matmul_layout), decided once */
        int ta = (int)attrs[0], tb = (int)attrs[1];
        fg_mm_layout L;
        (void)out;
        if (fg_matmul_layout(in[0], in[1], ta, tb, &L) != 0)
            return fg_error_set(FG_ERR_RUNTIME, "matmul traced with inconsistent shapes");
        int bnd = L.bnd;
        if (GROW(p->aux, p->cap_aux, p->n_aux + 6 + 3 * bnd) < 0) return -1;
        int64_t *x = p->aux + p->n_aux;
        I->aux = p->n_aux;
        p->n_aux += 6 + 3 * bnd;
        x[0] = bnd;
        x[1] = L.m;
        x[2] = L.n;
        x[3] = L.k;
        x[4] = ta;
        x[5] = tb;
        memcpy(x + 6, L.bshape, (size_t)bnd * sizeof(int64_t));
        memcpy(x + 6 + bnd, L.ashape, (size_t)bnd * sizeof(int64_t));
        memcpy(x + 6 + 2 * bnd, L.bbshape, (size_t)bnd * sizeof(int64_t));
        return C_MATMUL;
    }
    case FG_X_SLICE:
        return C_SLICE;
    case FG_X_SLICE_GRAD:
        return C_SLICE_GRAD;
    case FG_X_CONCAT:
        return C_CONCAT;
    case FG_X_TILE:
        return C_TILE;
    case FG_X_SOFTMAX:
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
    I->in[0] = (int32_t)s;
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
    I->in[0] = (int32_t)old;
    I->in[1] = (int32_t)val;
    I->out = s;
    I->aux = v - p->vars;
    return 0;
}

int fg_program_trace_optim(fg_program *p, int kind, int n_refs, fg_tensor **const *refs, fg_tensor *grad,
                           fg_tensor *iterations, fg_tensor *lr, const double *hyper) {
    if (p->unsupported[0]) return 0;
    if (n_refs < 1 || n_refs > 1 + FG_OPTIM_MAX_SLOTS)
        return fg_error_set(FG_ERR_INVALID, "optimizer update of %d variables", n_refs);
    int64_t in[1 + FG_OPTIM_MAX_SLOTS + 3];
    /* the old versions first: slot_of may add variables (and move p->vars) */
    for (int k = 0; k < n_refs; k++) {
        pvar *v = var_find(p, (*refs[k])->id);
        if (!v && !(v = var_new(p, refs[k], -1, NULL))) return -1;
        in[k] = v->ver_slot[v->nver - 1];
    }
    fg_tensor *rest[3] = {grad, iterations, lr};
    for (int j = 0; j < 3; j++)
        if ((in[n_refs + j] = slot_of(p, rest[j], 1)) < 0) return -1;
    if (GROW(p->aux, p->cap_aux, p->n_aux + (int64_t)n_refs * OPTIM_ENTRY) < 0) return -1;
    int64_t aux = p->n_aux;
    p->n_aux += (int64_t)n_refs * OPTIM_ENTRY;
    for (int k = 0; k < n_refs; k++) {
        fg_tensor *t = *refs[k];
        int64_t s = slot_new(p, SK_VAR, t->dtype, t->ndim, t->shape);
        if (s < 0) return -1;
        pvar *v = var_find(p, t->id);
        if (var_push_version(p, v, s, t) < 0) return -1;
        int64_t *e = p->aux + aux + (int64_t)k * OPTIM_ENTRY;
        e[OE_VAR] = v - p->vars;
        e[OE_NEW] = s;
        e[OE_SHADOW] = 0;
        e[OE_PRESERVE] = 0;
    }
    pinstr *I = instr_new(p);
    if (!I) return -1;
    I->code = C_OPTIM;
    I->op = -1;
    I->kind = (int8_t)kind;
    I->dtype = (int8_t)(*refs[0])->dtype;
    if (instr_set_inputs(I, n_refs + 3, in) < 0) return -1;
    I->attrs = (int64_t *)malloc(FG_OPTIM_NHYPER * sizeof(int64_t));
    if (!I->attrs) return fg_error_set(FG_ERR_NOMEM, "out of memory recording a function");
    memcpy(I->attrs, hyper, FG_OPTIM_NHYPER * sizeof(double));
    I->nattrs = FG_OPTIM_NHYPER;
    I->out = p->aux[aux + OE_NEW];
    I->aux = aux;
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

/* ------------------------------------------------------------ introspection */

void fg_program_get_stats(const fg_program *p, fg_program_stats *st) {
    memset(st, 0, sizeof(*st));
    st->n_traced = p->n_traced;
    st->n_instrs = p->n_ins;
    st->n_slots = p->n_slots;
    for (int64_t i = 0; i < p->n_ins; i++) {
        st->n_guards += p->ins[i].code == C_GUARD;
        st->n_assigns += is_update(&p->ins[i]);
        st->n_generic += p->ins[i].code == C_GENERIC;
    }
    st->n_registers = p->n_regs;
    st->n_buffers = p->n_bufs;
    st->buffer_bytes = p->buffer_bytes;
    st->n_fused = p->n_fused;
    st->n_chained = p->n_chained;
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
