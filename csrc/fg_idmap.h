/* fg_idmap.h: tensor id -> value maps (open addressing, linear probing).
 *
 * Plain C. Tapes (id -> slot), traced programs (id -> slot) and forward
 * accumulators (id -> tangent) keep one each, in their own structs: a map
 * is a keys array (0 marks an empty cell; ids are > 0), a parallel array
 * of 8-byte-or-smaller values, and a capacity that is a power of two.
 */
#ifndef FG_IDMAP_H
#define FG_IDMAP_H

#include <stddef.h>
#include <stdint.h>

/* Ids are handed out in increasing order, and a tape or a trace looks up
 * mostly the ids it just made: runs of 16 consecutive ids keep their
 * order in one 128-byte stretch of cells, and only the runs are
 * scattered (so a large map costs a cache miss per 16 ids, not per id,
 * while ids that share low bits still spread over the table). */
#define FG_IDMAP_RUN_BITS 4
static inline uint64_t fg_hash_id(int64_t id) {
    uint64_t x = (uint64_t)id >> FG_IDMAP_RUN_BITS;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (x << FG_IDMAP_RUN_BITS) | ((uint64_t)id & ((1u << FG_IDMAP_RUN_BITS) - 1));
}

/* The cell holding id, or the empty cell where it would go (cap > 0). */
static inline int64_t fg_idmap_cell(const int64_t *keys, int64_t cap, int64_t id) {
    uint64_t mask = (uint64_t)cap - 1, i = fg_hash_id(id) & mask;
    while (keys[i] && keys[i] != id) i = (i + 1) & mask;
    return (int64_t)i;
}

/* The cell holding id, or -1 (an empty map included). */
static inline int64_t fg_idmap_find(const int64_t *keys, int64_t cap, int64_t count, int64_t id) {
    if (!count) return -1;
    int64_t i = fg_idmap_cell(keys, cap, id);
    return keys[i] == id ? i : -1;
}

/* Room for one more key: when the map would pass half full, double it
 * (first to min_cap) and move every key with its val_size-byte value.
 * Returns 0, or -1 when out of memory (the map is unchanged; the caller
 * sets the error in its own words). */
int fg_idmap_reserve(int64_t **keys, void **vals, size_t val_size, int64_t *cap, int64_t count,
                     int64_t min_cap);

/* id -> slot (>= 0) for a tape or a traced program. Both look up mostly
 * the ids they have just made, and a thread hands those out in
 * increasing order: ids from `base` on index a dense array (no probing,
 * sequential memory); older ids (sources, arguments, captured constants)
 * and any far past the dense range go to the hash map. A dense hit wins
 * (a later put of the same id lands there). Zero-initialised = empty,
 * with no dense range until fg_slotmap_start. */
typedef struct {
    int64_t *keys, *vals;
    int64_t hcap, hcount;
    int32_t *dense; /* id - base -> slot + 1, 0: none */
    int64_t base, dense_cap, n_dense;
} fg_slotmap;

static inline int64_t fg_slotmap_get(const fg_slotmap *m, int64_t id) {
    uint64_t k = (uint64_t)(id - m->base);
    if (k < (uint64_t)m->dense_cap && m->dense[k]) return m->dense[k] - 1;
    int64_t i = fg_idmap_find(m->keys, m->hcap, m->hcount, id);
    return i < 0 ? -1 : m->vals[i];
}

/* Ids from base on (base > 0, the next id this thread hands out) go dense. */
void fg_slotmap_start(fg_slotmap *m, int64_t base);
/* 0, or -1 when out of memory (the caller sets the error in its words). */
int fg_slotmap_put(fg_slotmap *m, int64_t id, int64_t slot);
/* Empty it, keeping its memory; ids from base on go dense. */
void fg_slotmap_clear(fg_slotmap *m, int64_t base);
void fg_slotmap_free(fg_slotmap *m);

#endif
