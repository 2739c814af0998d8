/* fg_idmap.c: growing the id maps of fg_idmap.h. */
#include "fg_idmap.h"

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
