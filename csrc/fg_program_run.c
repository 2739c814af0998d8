/* fg_program_run.c: replay. The same kernels the eager forwards call,
 * with the same shapes and the same 0-d fast path, so a replay gives the
 * eager result bit for bit; everything decided from shapes was decided at
 * trace time.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fg_kernels.h"
#include "fg_ops.h"
#include "fg_optim.h"
#include "fg_parallel.h"
#include "fg_program_impl.h"


/* Fused 0-d instructions must round their intermediate as the two eager
 * ops do: never contract a*b+c into one fused multiply-add. */
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

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
        /* an output whose shape follows the values (where(condition)) is
         * planned at its traced shape: another shape retraces */
        const pslot *O = &p->slots[I->out];
        if (o->ndim != O->ndim || memcmp(o->shape, shape_of(p, I->out), (size_t)o->ndim * sizeof(int64_t)) != 0)
            rc = FG_RUN_GUARD_FAILED;
        else
            memcpy(p->P[I->out], o->data, nbytes_of(p, I->out));
        fg_decref(o);
    }
    free(heap);
    free(heapp);
    return rc;
}

/* Before an in-place update of variable v: keep its value for a rollback
 * and for later readers of the old version (preserve), and make it ours
 * as the eager assign does (copy-on-write: whoever holds the old value
 * keeps it). *out: the tensor to write. */
static int update_begin(fg_program *p, pvar *v, int preserve, fg_tensor **out) {
    fg_tensor **ref = v->cur_ref;
    fg_tensor *cur = *ref;
    if (p->needs_rollback && !v->saved) {
        fg_incref(cur);
        v->saved = cur;
    }
    if (preserve) {
        if (GROW(p->held, p->cap_held, p->n_held) < 0) return -1;
        fg_incref(cur);
        p->held[p->n_held++] = cur;
    }
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
    *out = cur;
    return 0;
}

/* After it: cur is the new version (slot s); shadow (register # + 1, or
 * 0): later readers of a small value use its register. */
static void update_end(fg_program *p, int64_t s, fg_tensor *cur, int64_t shadow) {
    p->P[s] = cur->data;
    p->vt[p->slots[s].loc] = cur;
    if (shadow) {
        void *reg = p->shadow_reg[shadow - 1];
        memcpy(reg, cur->data, nbytes_of(p, s));
        p->P[s] = reg;
    }
}

static int run_assign(fg_program *p, const pinstr *I) {
    fg_tensor *cur;
    if (update_begin(p, &p->vars[I->aux], I->flags & F_PRESERVE, &cur) < 0) return -1;
    int64_t vs = I->in[1];
    const pslot *V = &p->slots[vs];
    if (I->kind == FG_ASSIGN) {
        memcpy(cur->data, p->P[vs], nbytes_of(p, vs));
    } else if (fg_k_binary(I->kind == FG_ASSIGN_ADD ? FG_B_ADD : FG_B_SUB, cur->dtype, cur->data, cur->ndim,
                           cur->shape, p->P[vs], V->ndim, shape_of(p, vs), cur->data, cur->ndim, cur->shape) < 0) {
        return -1;
    }
    update_end(p, I->out, cur, I->aux2);
    return 0;
}

static int run_optim(fg_program *p, const pinstr *I) {
    int n_refs = I->n_in - 3;
    const int64_t *e = p->aux + I->aux;
    fg_tensor *cur[1 + FG_OPTIM_MAX_SLOTS];
    void *slots[FG_OPTIM_MAX_SLOTS];
    for (int k = 0; k < n_refs; k++) {
        const int64_t *ek = e + k * OPTIM_ENTRY;
        if (update_begin(p, &p->vars[ek[OE_VAR]], (int)ek[OE_PRESERVE], &cur[k]) < 0) return -1;
        if (k) slots[k - 1] = cur[k]->data;
    }
    int64_t g = in_slot(I, n_refs), it = in_slot(I, n_refs + 1), lr = in_slot(I, n_refs + 2);
    double hyper[FG_OPTIM_NHYPER];
    memcpy(hyper, I->attrs, sizeof hyper);
    if (fg_optim_step(I->kind, cur[0]->dtype, cur[0]->size, cur[0]->data, p->P[g], slots, n_refs - 1,
                      p->P[lr], p->slots[lr].dtype, p->P[it], p->slots[it].dtype, hyper) < 0)
        return -1;
    for (int k = 0; k < n_refs; k++) update_end(p, e[k * OPTIM_ENTRY + OE_NEW], cur[k], e[k * OPTIM_ENTRY + OE_SHADOW]);
    return 0;
}

/* ----------------------------------------------------- elementwise chains */

/* Elements per block, about: a chain's few temporaries (64 KB each in
 * float32) stay in L2, and each stream is long enough for the hardware
 * prefetchers (2048 measured no faster than the unfused replay). A block
 * is whole rows of the leading dimension (fg_program_plan.c keeps rows
 * at most this long). Kernels called on a block start no threads of
 * their own: inside this team fg_threads_for says 1. */
#define CHAIN_BLOCK 16384

typedef struct {
    const fg_program *p;
    const pinstr *sub;
    int64_t n_sub;
    int temps;
    size_t esize;
    int ndim;                 /* the chain's rank; its shape is rows x inner */
    int64_t inner, rows_per_block;
    volatile int failed;
} chain_job;

/* Operand s for rows [row, row + nrows): its address and block shape. An
 * operand broadcast along the leading dimension is read whole. */
static void *chain_operand(const chain_job *j, char *scratch, int64_t s, int64_t row, int64_t nrows,
                           int64_t *shape, int *ndim) {
    const pslot *S = &j->p->slots[s];
    const int64_t *full = shape_of(j->p, s);
    *ndim = S->ndim;
    memcpy(shape, full, (size_t)S->ndim * sizeof(int64_t));
    if (S->storage == ST_SCRATCH) {
        shape[0] = nrows;
        return scratch + (size_t)S->loc * (size_t)(j->rows_per_block * j->inner) * j->esize;
    }
    if (S->ndim < j->ndim || full[0] == 1) return j->p->P[s];
    shape[0] = nrows;
    return (char *)j->p->P[s] + (size_t)(row * (S->size / full[0])) * j->esize;
}

static void chain_range(void *ctx, int64_t lo, int64_t hi) {
    chain_job *j = (chain_job *)ctx;
    char *scratch = NULL;
    size_t block_bytes = (size_t)(j->rows_per_block * j->inner) * j->esize;
    if (j->temps && !(scratch = (char *)malloc((size_t)j->temps * block_bytes))) {
        j->failed = 1;
        return;
    }
    int64_t sa[FG_MAX_NDIM], sb[FG_MAX_NDIM], so[FG_MAX_NDIM];
    int na, nb, no;
    for (int64_t row = lo; row < hi && !j->failed; row += j->rows_per_block) {
        int64_t nrows = hi - row < j->rows_per_block ? hi - row : j->rows_per_block;
        for (int64_t k = 0; k < j->n_sub; k++) {
            const pinstr *S = &j->sub[k];
            void *o = chain_operand(j, scratch, S->out, row, nrows, so, &no);
            void *a = chain_operand(j, scratch, S->in[0], row, nrows, sa, &na);
            int rc;
            if (S->code == C_UNARY) {
                rc = fg_k_unary(S->kind, S->dtype, a, o, nrows * j->inner);
            } else {
                void *b = chain_operand(j, scratch, S->in[1], row, nrows, sb, &nb);
                rc = fg_k_binary(S->kind, S->dtype, a, na, sa, b, nb, sb, o, no, so);
            }
            if (rc < 0) {
                j->failed = 1;
                break;
            }
        }
    }
    free(scratch);
}

static int run_chain(fg_program *p, const pinstr *I) {
    chain_job j;
    const pslot *O = &p->slots[I->out];
    j.p = p;
    j.sub = p->sub + I->aux;
    j.n_sub = I->aux2;
    j.temps = I->nattrs;
    j.esize = fg_dtype_size(I->dtype);
    j.ndim = O->ndim;
    int64_t rows = shape_of(p, I->out)[0];
    j.inner = O->size / rows;
    j.rows_per_block = CHAIN_BLOCK / j.inner > 1 ? CHAIN_BLOCK / j.inner : 1;
    j.failed = 0;
    fg_parallel_range(fg_threads_for(O->size), rows, j.rows_per_block, chain_range, &j);
    if (j.failed) return fg_error_set(FG_ERR_NOMEM, "out of memory replaying an elementwise chain");
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
            case C_OPTIM: rc = run_optim(p, I); break;
            case C_CHAIN: rc = run_chain(p, I); break;
            default: rc = fg_error_set(FG_ERR_RUNTIME, "bad replay code %d", I->code);
            }
            if (rc < 0) return -1;
            if (rc == FG_RUN_GUARD_FAILED) return rc;
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
    /* atomic: fg_program_trim takes the flag of a program it releases */
    if (__atomic_exchange_n(&p->busy, 1, __ATOMIC_ACQ_REL)) return FG_RUN_BUSY;
    fg_program_touch(p);
    if (!p->warm && fg_program_rewarm(p) < 0) { /* its buffers were released */
        p->busy = 0;
        return -1;
    }
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
