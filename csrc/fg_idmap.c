/* fg_idmap.c: growing the id maps of fg_idmap.h. */
#include "fg_idmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int fg_idmap_reserve(int64_t **keys, void **vals, size_t val_size, int64_t *cap, int64_t count,
                     int64_t min_cap) {
    if ((count + 1) * 2 <= *cap) return 0;
    int64_t ncap = *cap ? *cap * 2 : min_cap;
    int64_t *nk = (int64_t *)calloc((size_t)ncap, sizeof(int64_t));
    char *nv = (char *)malloc((size_t)ncap * val_size);
    if (!nk || !nv) {
        free(nk);
        free(nv);
        return -1;
    }
    const char *ov = (const char *)*vals;
    for (int64_t j = 0; j < *cap; j++) {
        if (!(*keys)[j]) continue;
        int64_t i = fg_idmap_cell(nk, ncap, (*keys)[j]);
        nk[i] = (*keys)[j];
        memcpy(nv + (size_t)i * val_size, ov + (size_t)j * val_size, val_size);
    }
    free(*keys);
    free(*vals);
    *keys = nk;
    *vals = nv;
    *cap = ncap;
    return 0;
}

void fg_slotmap_start(fg_slotmap *m, int64_t base) {
    if (!m->base) m->base = base;
}

static int dense_reserve(fg_slotmap *m, int64_t k) {
    int64_t ncap = m->dense_cap ? m->dense_cap : 1024;
    while (ncap <= k) ncap *= 2;
    int32_t *nd = (int32_t *)realloc(m->dense, (size_t)ncap * sizeof(int32_t));
    if (!nd) return -1;
    memset(nd + m->dense_cap, 0, (size_t)(ncap - m->dense_cap) * sizeof(int32_t));
    m->dense = nd;
    m->dense_cap = ncap;
    return 0;
}

int fg_slotmap_put(fg_slotmap *m, int64_t id, int64_t slot) {
    int64_t k = id - m->base;
    /* dense while the array stays within a few times the entries it maps
     * (ids other threads took in between leave gaps) */
    if (m->base > 0 && k >= 0 && slot < INT32_MAX &&
        (k < m->dense_cap || k < 4 * (m->n_dense + m->hcount + 4096))) {
        if (k >= m->dense_cap && dense_reserve(m, k) < 0) return -1;
        if (!m->dense[k]) m->n_dense++;
        m->dense[k] = (int32_t)(slot + 1);
        return 0;
    }
    if (fg_idmap_reserve(&m->keys, (void **)&m->vals, sizeof *m->vals, &m->hcap, m->hcount, 64) < 0) return -1;
    int64_t i = fg_idmap_cell(m->keys, m->hcap, id);
    if (!m->keys[i]) m->hcount++;
    m->keys[i] = id;
    m->vals[i] = slot;
    return 0;
}

void fg_slotmap_clear(fg_slotmap *m, int64_t base) {
    if (m->keys) memset(m->keys, 0, (size_t)m->hcap * sizeof(int64_t));
    if (m->dense) memset(m->dense, 0, (size_t)m->dense_cap * sizeof(int32_t));
    m->hcount = m->n_dense = 0;
    m->base = base;
}

void fg_slotmap_free(fg_slotmap *m) {
    free(m->keys);
    free(m->vals);
    free(m->dense);
    memset(m, 0, sizeof(*m));
}
