/* fg_program_plan.c: finalize: dead-code elimination, fusion of 0-d
 * pairs, guard hoisting, storage planning and lowering to the replay
 * stream.
 */
#include <stdlib.h>
#include <string.h>

#include "fg_program_impl.h"

/* ------------------------------------------------------------- finalize */

#define NEVER INT32_MAX /* pslot.last_use */

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

/* ------------------------------------------------------ elementwise chains */

/* Runs of consecutive elementwise ops over one large shape replay block by
 * block (fg_program_run.c): blocks of whole rows of the leading dimension,
 * so an operand broadcast along it (a bias row, a scalar) is read whole
 * and any other one is sliced. The values only the run reads live in
 * block-sized temporaries that stay in cache instead of full buffers, so
 * x*w+b -> tanh -> square makes one pass over memory, not four. Each
 * member still calls its own kernel on each block, so every element is
 * computed exactly as the whole-array op computes it. */
#define CHAIN_MIN_SIZE 65536
#define CHAIN_MAX_TEMPS 16
#define CHAIN_MAX_ROW 16384 /* elements of one leading-dimension row: fg_program_run.c's block */

static int same_shape(const fg_program *p, int64_t a, int64_t b) {
    return p->slots[a].ndim == p->slots[b].ndim &&
           memcmp(shape_of(p, a), shape_of(p, b), (size_t)p->slots[a].ndim * sizeof(int64_t)) == 0;
}

/* an op a chain may hold: float, elementwise, rows of at most CHAIN_MAX_ROW */
static int chainable(const fg_program *p, const pinstr *I) {
    if (I->code != C_UNARY && I->code != C_BIN) return 0;
    const pslot *O = &p->slots[I->out];
    if (O->size < CHAIN_MIN_SIZE || !fg_dtype_is_float(O->dtype) || O->dtype != I->dtype || O->ndim < 1) return 0;
    int64_t rows = shape_of(p, I->out)[0];
    if (rows < 2 || O->size / rows > CHAIN_MAX_ROW) return 0;
    for (int j = 0; j < I->n_in; j++)
        if (p->slots[in_slot(I, j)].dtype != O->dtype) return 0;
    return I->code == C_BIN || same_shape(p, in_slot(I, 0), I->out);
}

/* Find the chains and give the values used only inside one a block
 * temporary (ST_SCRATCH); *chains lists them as (first, count) pairs.
 * Runs before storage planning, which leaves temporaries alone and may
 * give a member's output the buffer of an operand an earlier member read
 * for the last time: safe block by block, since that operand has the
 * output's size, so it is sliced (an operand read whole is broadcast,
 * smaller, and never shares a size class with the chain's values). */
static int find_chains(fg_program *p, int64_t **chains, int64_t *n_chains) {
    int64_t ns = p->n_slots, ni = p->n_ins, cap = 0;
    int32_t *uses = (int32_t *)calloc((size_t)ns + 1, sizeof(int32_t));
    int64_t *chain_of = (int64_t *)malloc(((size_t)ns + 1) * sizeof(int64_t));
    if (!uses || !chain_of) {
        free(uses);
        free(chain_of);
        return fg_error_set(FG_ERR_NOMEM, "out of memory");
    }
    *chains = NULL;
    *n_chains = 0;
    for (int64_t s = 0; s < ns; s++) chain_of[s] = 1; /* < 0: made by the chain at hand, uses left */
    for (int64_t k = 0; k < p->n_outs; k++) uses[p->outs[k]] += 2; /* never a temporary */
    for (int64_t i = 0; i < ni; i++)
        for (int j = 0; j < p->ins[i].n_in; j++) uses[in_slot(&p->ins[i], j)]++;
    for (int64_t i = 0; i < ni;) {
        int64_t j = i;
        while (j < ni && chainable(p, &p->ins[j]) && same_shape(p, p->ins[j].out, p->ins[i].out) &&
               p->ins[j].dtype == p->ins[i].dtype)
            j++;
        if (j - i < 2) {
            i = j > i ? j : i + 1;
            continue;
        }
        /* values made in [i, j) and read only there */
        for (int64_t k = i; k < j; k++) chain_of[p->ins[k].out] = -uses[p->ins[k].out];
        for (int64_t k = i; k < j; k++)
            for (int m = 0; m < p->ins[k].n_in; m++) {
                int64_t s = in_slot(&p->ins[k], m);
                if (chain_of[s] < 0) chain_of[s]++; /* one use found inside */
            }
        int temps = 0;
        for (int64_t k = i; k < j; k++) {
            int64_t s = p->ins[k].out;
            if (chain_of[s] == 0 && uses[s] > 0 && temps < CHAIN_MAX_TEMPS) {
                p->slots[s].storage = ST_SCRATCH;
                p->slots[s].loc = temps++;
            }
            chain_of[s] = 1;
        }
        if (grow((void **)chains, &cap, 2 * *n_chains + 1, sizeof(int64_t)) < 0) goto oom;
        (*chains)[2 * *n_chains] = i;
        (*chains)[2 * *n_chains + 1] = j - i;
        (*n_chains)++;
        i = j;
    }
    free(uses);
    free(chain_of);
    return 0;
oom:
    free(uses);
    free(chain_of);
    return fg_error_set(FG_ERR_NOMEM, "out of memory");
}

/* After storage planning: each chain becomes one C_CHAIN instruction,
 * its members moved to p->sub. */
static int collapse_chains(fg_program *p, const int64_t *chains, int64_t n_chains) {
    if (!n_chains) return 0;
    int64_t n = 0, c = 0;
    for (int64_t i = 0; i < p->n_ins;) {
        if (c < n_chains && chains[2 * c] == i) {
            int64_t len = chains[2 * c + 1], first = p->n_sub;
            c++;
            int temps = 0;
            for (int64_t k = i; k < i + len; k++) {
                if (GROW(p->sub, p->cap_sub, p->n_sub) < 0) return -1;
                p->sub[p->n_sub++] = p->ins[k];
                const pslot *O = &p->slots[p->ins[k].out];
                if (O->storage == ST_SCRATCH && O->loc + 1 > temps) temps = O->loc + 1;
            }
            pinstr *C = &p->ins[n++];
            int64_t out = p->sub[first].out;
            int dtype = p->sub[first].dtype;
            memset(C, 0, sizeof(*C));
            C->code = C_CHAIN;
            C->op = -1;
            C->dtype = (int8_t)dtype;
            C->out = (int32_t)out;
            C->aux = first;
            C->aux2 = len;
            C->nattrs = temps;
            p->n_chained += len;
            i += len;
        } else {
            p->ins[n++] = p->ins[i++];
        }
    }
    p->n_ins = n;
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
    for (int64_t i = 0; i < ni; i++) {
        const pinstr *I = &p->ins[i];
        if (I->code != C_GUARD && I->out >= 0) producer[I->out] = i;
        if (I->code == C_OPTIM) /* every variable it updates */
            for (int k = 0; k < I->n_in - 3; k++) producer[p->aux[I->aux + k * OPTIM_ENTRY + OE_NEW]] = i;
    }
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
        if (I->code == C_ASSIGN) {
            for (int64_t k = 0; k < p->n_shadow; k++)
                if (p->shadow[k] == I->out) I->aux2 = k + 1;
        } else if (I->code == C_OPTIM) {
            for (int j = 0; j < I->n_in - 3; j++) {
                int64_t *e = p->aux + I->aux + j * OPTIM_ENTRY;
                for (int64_t k = 0; k < p->n_shadow; k++)
                    if (p->shadow[k] == e[OE_NEW]) e[OE_SHADOW] = k + 1;
            }
        }
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
    int64_t *chains = NULL, n_chains = 0;
    int64_t cap_buf = 0;
    if (!needed || !live) {
        fg_error_set(FG_ERR_NOMEM, "out of memory");
        goto done;
    }
    /* dead-code elimination: keep what outputs, guards and updates need */
    for (int64_t k = 0; k < p->n_outs; k++) needed[p->outs[k]] = 1;
    for (int64_t i = ni - 1; i >= 0; i--) {
        pinstr *I = &p->ins[i];
        if (I->code == C_GUARD || is_update(I) || needed[I->out]) {
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
    if (fuse(p) < 0 || hoist_guards(p) < 0 || find_chains(p, &chains, &n_chains) < 0) goto done;
    ni = p->n_ins;
    int seen_assign = 0;
    for (int64_t i = 0; i < ni; i++) {
        if (is_update(&p->ins[i])) seen_assign = 1;
        if (p->ins[i].code == C_GUARD && seen_assign) p->needs_rollback = 1;
    }
    /* lifetimes, on roots */
    for (int64_t i = 0; i < ni; i++) {
        pinstr *I = &p->ins[i];
        for (int j = 0; j < I->n_in; j++) p->slots[p->slots[in_slot(I, j)].root].last_use = (int32_t)i;
    }
    for (int64_t k = 0; k < p->n_outs; k++) p->slots[p->slots[p->outs[k]].root].last_use = NEVER;
    for (int64_t i = 0; i < ni; i++) {
        pinstr *I = &p->ins[i];
        if (I->code == C_ASSIGN && p->slots[p->slots[I->in[0]].root].last_use > i) I->flags |= F_PRESERVE;
        if (I->code == C_OPTIM)
            for (int k = 0; k < I->n_in - 3; k++)
                p->aux[I->aux + k * OPTIM_ENTRY + OE_PRESERVE] = p->slots[p->slots[in_slot(I, k)].root].last_use > i;
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
                S->loc = (int32_t)f->loc[--f->n];
            } else if (small) {
                S->loc = (int32_t)p->n_regs++;
            } else {
                if (GROW(buf_bytes, cap_buf, p->n_bufs) < 0) goto done;
                buf_bytes[p->n_bufs] = nb;
                S->loc = (int32_t)p->n_bufs++;
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
    p->buf_nbytes = (int64_t *)malloc(((size_t)p->n_bufs + 1) * sizeof(int64_t));
    if (!p->buf_nbytes) {
        fg_error_set(FG_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int64_t b = 0; b < p->n_bufs; b++) {
        int64_t nb = (int64_t)buf_bytes[b];
        p->buf_nbytes[b] = nb;
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
    if (collapse_chains(p, chains, n_chains) < 0 || lower(p) < 0) goto done;
    p->finalized = 1;
    fg_program_touch(p);
    fg_program_mark_warm(p);
    fg_program_trim(p); /* a retrace for a new shape: older programs may go cold */
    rc = 0;
done:
    free(needed);
    free(live);
    free(buf_bytes);
    free(chains);
    pool_free(&regs);
    pool_free(&bufs);
    return rc;
}
