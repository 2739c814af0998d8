/* fg_attrs.c: reading an op's attributes through its layout in fg_ops.def.
 *
 * A layout is a string, one letter an entry (fg_ops.def says which). The
 * JVP of a linear op applies the op to tangents that carry nb leading batch
 * dimensions; fg_attrs_batched rewrites the attributes for them, so no
 * linear op needs a JVP rule of its own.
 */
#include "fg_ops.h"

int fg_attrs_check(int op, int in_ndim, const int64_t *attrs, int nattrs) {
    const char *lay = fg_ops[op].attrs;
    int rank = in_ndim, k = 0;
    for (const char *p = lay; *p; p++) {
        if (*p == 'S') {
            if (k >= nattrs) break;
            if (attrs[k] < 0 || attrs[k] > FG_MAX_NDIM)
                return fg_error_set(FG_ERR_INVALID, "%s: a shape of rank %lld (at most %d) [Op:%s]", fg_ops[op].name,
                                    (long long)attrs[k], FG_MAX_NDIM, fg_ops[op].tf_name);
            rank = (int)attrs[k];
            k += 1 + rank;
        } else if (strchr("zonp", *p)) {
            k += rank;
        } else {
            k += 1;
        }
    }
    if (k != nattrs)
        return fg_error_set(FG_ERR_INVALID, "%s takes %d attributes for a rank-%d input (layout '%s'), got %d [Op:%s]",
                            fg_ops[op].name, k, in_ndim, lay, nattrs, fg_ops[op].tf_name);
    return 0;
}

int fg_attrs_batched(int op, int in_ndim, const int64_t *attrs, int nattrs, int nb, const int64_t *batch,
                     int64_t *out) {
    const char *lay = fg_ops[op].attrs;
    int rank = in_ndim; /* what per-dim entries count: input 0, or the last S */
    int k = 0, w = 0;
    for (const char *p = lay; *p; p++) {
        switch (*p) {
        case 'f':
        case 't':
            if (k >= nattrs) goto short_;
            out[w++] = attrs[k++];
            break;
        case 'a':
        case 'A': {
            if (k >= nattrs) goto short_;
            int64_t r = rank;
            if (*p == 'A') { /* an axis of the shape that follows */
                if (k + 1 >= nattrs) goto short_;
                r = attrs[k + 1];
            }
            int64_t a = attrs[k++];
            out[w++] = (a < 0 ? a + r : a) + nb;
            break;
        }
        case 'S': {
            if (k >= nattrs) goto short_;
            int64_t n = attrs[k];
            if (n < 0 || k + 1 + n > nattrs) goto short_;
            out[w++] = n + nb;
            for (int i = 0; i < nb; i++) out[w++] = batch[i];
            for (int64_t i = 0; i < n; i++) out[w++] = attrs[k + 1 + i];
            k += 1 + (int)n;
            rank = (int)n;
            break;
        }
        case 'z':
        case 'o':
        case 'n':
        case 'p':
            if (k + rank > nattrs) goto short_;
            for (int i = 0; i < nb; i++) out[w++] = *p == 'z' ? 0 : *p == 'o' ? 1 : *p == 'n' ? batch[i] : i;
            for (int i = 0; i < rank; i++) {
                int64_t v = attrs[k + i];
                out[w++] = *p == 'p' ? (v < 0 ? v + rank : v) + nb : v;
            }
            k += rank;
            break;
        default:
            return fg_error_set(FG_ERR_RUNTIME, "%s: bad attribute layout '%s'", fg_ops[op].name, lay);
        }
    }
    return w;
short_:
    return fg_error_set(FG_ERR_RUNTIME, "%s: %d attributes do not fit layout '%s'", fg_ops[op].name, nattrs, lay);
}
