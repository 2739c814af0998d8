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

#endif
