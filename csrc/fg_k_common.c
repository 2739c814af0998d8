/* fg_k_common.c: the kernels' shared helpers declared in fg_kernels_impl.h. */
#include "fg_kernels_impl.h"

/* ------------------------------------------------------------------------ */
/* Small helpers                                                            */

/* Product of a shape, rejecting bad ndim and negative dims. */
int shape_size(const char *fn, int ndim, const int64_t *shape, int64_t *size)
{
    int64_t s = 1;
    if (ndim < 0 || ndim > FG_MAX_NDIM) {
        fg_error_set(FG_ERR_INVALID, "%s: ndim %d out of range [0, %d]", fn, ndim, FG_MAX_NDIM);
        return -1;
    }
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0) {
            fg_error_set(FG_ERR_INVALID, "%s: negative dimension in shape %s", fn,
                         fg_shape_str(ndim, shape));
            return -1;
        }
        s *= shape[d];
    }
    *size = s;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Parallel driver                                                          */

struct mem_job {
    char *dst;
    const char *src;
};

static void memcpy_range(void *v, int64_t lo, int64_t hi)
{
    struct mem_job *j = (struct mem_job *)v;
    memcpy(j->dst + lo, j->src + lo, (size_t)(hi - lo));
}

static void memzero_range(void *v, int64_t lo, int64_t hi)
{
    struct mem_job *j = (struct mem_job *)v;
    memset(j->dst + lo, 0, (size_t)(hi - lo));
}

/* Large copies/clears are split across threads: one core cannot saturate
 * the memory bandwidth of a multi-channel machine. */
void par_memcpy(void *dst, const void *src, int64_t nbytes)
{
    struct mem_job j;
    int nt;
    if (nbytes <= 0 || dst == src) return;
    nt = fg_threads_for(nbytes / 4);
    if (nt <= 1) {
        memcpy(dst, src, (size_t)nbytes);
        return;
    }
    j.dst = (char *)dst;
    j.src = (const char *)src;
    run_range(nt, nbytes, 4096, memcpy_range, &j);
}

void par_memzero(void *dst, int64_t nbytes)
{
    struct mem_job j;
    int nt;
    if (nbytes <= 0) return;
    nt = fg_threads_for(nbytes / 4);
    if (nt <= 1) {
        memset(dst, 0, (size_t)nbytes);
        return;
    }
    j.dst = (char *)dst;
    j.src = NULL;
    run_range(nt, nbytes, 4096, memzero_range, &j);
}

/* Flat elementwise: f(x + lo, o + lo, hi - lo) over [0, n). */
struct flat_job {
    flat_fn f;
    const char *x;
    char *o;
    int64_t xs, os;
};

static void flat_range(void *v, int64_t lo, int64_t hi)
{
    struct flat_job *j = (struct flat_job *)v;
    j->f(j->x + lo * j->xs, j->o + lo * j->os, hi - lo);
}

/* cost: work per element relative to a memory-bound copy, so that
 * compute-bound loops go parallel at proportionally fewer elements. */
void run_flat(flat_fn f, const void *x, int64_t xs, void *o, int64_t os, int64_t n,
              int64_t cost)
{
    struct flat_job j;
    int nt = fg_threads_for(n * cost);
    if (nt <= 1) {
        f(x, o, n);
        return;
    }
    j.f = f;
    j.x = (const char *)x;
    j.o = (char *)o;
    j.xs = xs;
    j.os = os;
    run_range(nt, n, 64, flat_range, &j);
}

/* ------------------------------------------------------------------------ */
/* Fill                                                                     */

#define DEF_FILL(S, T)                                                        \
    static void fill_##S(void *o, const void *v, int64_t n)                   \
    {                                                                         \
        T *O = (T *)o;                                                        \
        const T val = *(const T *)v;                                          \
        FG_SIMD for (int64_t i = 0; i < n; i++) O[i] = val;                   \
    }
DEF_FILL(1, uint8_t)
DEF_FILL(4, fg_u32)
DEF_FILL(8, fg_u64)

/* n copies of the es-byte value at v */
void fill_bytes(void *o, const void *v, int64_t n, int64_t es)
{
    if (es == 4)
        fill_4(o, v, n);
    else if (es == 8)
        fill_8(o, v, n);
    else
        fill_1(o, v, n);
}
