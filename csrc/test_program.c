/* test_program.c: fg_program from C alone (no Python): trace, replay on
 * new values, guards, in-place variable updates and their rollback.
 *
 * gcc -O2 -fopenmp -Icsrc csrc/test_program.c csrc/fg_*.c -lm -lpthread -o /tmp/test_program
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fg_ops.h"
#include "fg_program.h"
#include "fg_tape.h"

static int failures = 0;
#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            printf("FAIL %s:%d: %s (%s)\n", __FILE__, __LINE__, #cond,    \
                   fg_error_message());                                    \
            failures++;                                                    \
        }                                                                  \
    } while (0)

static fg_tensor *scalar(double v) { return fg_tensor_scalar(FG_F32, v); }
static float f32(const fg_tensor *t) { return *(const float *)t->data; }

static fg_tensor *bin(int op, fg_tensor *a, fg_tensor *b) {
    fg_tensor *in[2] = {a, b};
    return fg_apply(op, 2, in, NULL, 0);
}

/* the variable the program updates, bound by the address of its pointer */
static fg_tensor *var_value;
static fg_tensor **resolve(int64_t id) { return var_value && var_value->id == id ? &var_value : NULL; }

/* y = (x * x + x) * 0.5 and dy/dx, eagerly with a tape; new references */
static void eager(fg_tensor *x, fg_tensor **y, fg_tensor **g) {
    fg_tape *tape = fg_tape_new(0, 1);
    fg_tape_push(tape);
    fg_tape_watch(tape, x);
    fg_tensor *half = scalar(0.5);
    fg_tensor *xx = bin(FG_OP_MUL, x, x), *s = bin(FG_OP_ADD, xx, x);
    *y = bin(FG_OP_MUL, s, half);
    fg_tape_pop(tape);
    CHECK(fg_tape_gradient(tape, 1, y, NULL, 1, &x, g) == 0);
    fg_tape_free(tape);
    fg_decref(half), fg_decref(xx), fg_decref(s);
}

/* the same traced once and replayed: bitwise the eager values */
static void test_replay_with_gradient(void) {
    fg_program *p = fg_program_new();
    fg_tensor *x = scalar(3.0), *y, *g;
    CHECK(fg_program_add_arg(p, x) == 0);
    CHECK(fg_program_begin(p) == 0);
    eager(x, &y, &g);
    fg_program_end(p);
    fg_tensor *outs[2] = {y, g};
    CHECK(fg_program_set_outputs(p, 2, outs) == 0);
    CHECK(fg_program_finalize(p) == 0);
    CHECK(f32(y) == 6.0f && f32(g) == 3.5f);
    for (int k = 0; k < 3; k++) {
        fg_tensor *nx = scalar((k - 1) * 1.75), *r[2] = {NULL, NULL}, *ey, *eg;
        CHECK(fg_program_run(p, &nx, NULL, r) == FG_RUN_OK);
        eager(nx, &ey, &eg);
        CHECK(r[0] && memcmp(r[0]->data, ey->data, 4) == 0);
        CHECK(r[1] && memcmp(r[1]->data, eg->data, 4) == 0);
        fg_decref(r[0]), fg_decref(r[1]), fg_decref(ey), fg_decref(eg), fg_decref(nx);
    }
    fg_program_stats st;
    fg_program_get_stats(p, &st);
    CHECK(st.n_buffers == 0 && st.n_direct == st.n_instrs);
    fg_decref(y), fg_decref(g), fg_decref(x);
    fg_program_free(p);
}

/* v += x; a guard on (v > 5): another branch stops the replay, undone */
static void test_guard_and_rollback(void) {
    fg_program_set_var_resolver(resolve);
    var_value = scalar(1.0);
    var_value->flags = FG_FLAG_VARIABLE;
    fg_program *p = fg_program_new();
    fg_tensor *x = scalar(1.0), *five = scalar(5.0);
    fg_program_add_arg(p, x);
    fg_program_begin(p);
    /* the eager update, then its record */
    *(float *)var_value->data += f32(x);
    CHECK(fg_program_trace_assign(p, &var_value, FG_ASSIGN_ADD, x) == 0);
    fg_tensor *big = bin(FG_OP_GREATER, var_value, five);
    CHECK(fg_program_trace_guard(p, big) == 0); /* traced: false */
    fg_program_end(p);
    CHECK(fg_program_set_outputs(p, 0, NULL) == 0);
    CHECK(fg_program_finalize(p) == 0);
    fg_tensor *one = scalar(1.0), *ten = scalar(10.0);
    CHECK(fg_program_run(p, &one, NULL, NULL) == FG_RUN_OK);
    CHECK(f32(var_value) == 3.0f);
    CHECK(fg_program_run(p, &ten, NULL, NULL) == FG_RUN_GUARD_FAILED);
    CHECK(f32(var_value) == 3.0f); /* rolled back */
    fg_decref(one), fg_decref(ten), fg_decref(big), fg_decref(x), fg_decref(five);
    fg_program_free(p);
    fg_decref(var_value);
    var_value = NULL;
}

int main(void) {
    test_replay_with_gradient();
    test_guard_and_rollback();
    printf("%s\n", failures ? "FAILED" : "ok");
    return failures != 0;
}
