/* fg_fusion.c: pack gradients into one buffer and unpack them (see fg_fusion.h). */
#include "fg_fusion.h"

#include <string.h>

static int check(int dtype, int n, fg_tensor *const *ts) {
    if (dtype != FG_F32 && dtype != FG_F64)
        return fg_error_set(FG_ERR_INVALID, "tensor fusion reduces float32 and float64 tensors, not %s",
                            fg_dtype_name(dtype));
    for (int i = 0; i < n; i++) {
        if (ts[i] == NULL || ts[i]->data == NULL)
            return fg_error_set(FG_ERR_INVALID, "tensor fusion: tensor %d has no value", i);
        if (ts[i]->dtype != dtype)
            return fg_error_set(FG_ERR_INVALID, "tensor fusion: tensor %d is %s in a %s buffer", i,
                                fg_dtype_name(ts[i]->dtype), fg_dtype_name(dtype));
    }
    return 0;
}

/* one body per dtype: T the element type */
#define SCALE_COPY(T, dst, src, m, scale, divisor)                        \
    do {                                                                  \
        T *d_ = (T *)(dst);                                               \
        const T *s_ = (const T *)(src);                                   \
        const T k_ = (T)(scale), q_ = (T)(divisor);                       \
        if ((divisor) != 1.0) {                                           \
            for (int64_t j_ = 0; j_ < (m); j_++) d_[j_] = (s_[j_] * k_) / q_; \
        } else {                                                          \
            for (int64_t j_ = 0; j_ < (m); j_++) d_[j_] = s_[j_] * k_;    \
        }                                                                 \
    } while (0)

static void move(int dtype, void *dst, const void *src, int64_t m, double scale, double divisor) {
    if (scale == 1.0 && divisor == 1.0) {
        memcpy(dst, src, (size_t)m * fg_dtype_size(dtype));
    } else if (dtype == FG_F32) {
        SCALE_COPY(float, dst, src, m, scale, divisor);
    } else {
        SCALE_COPY(double, dst, src, m, scale, divisor);
    }
}

int64_t fg_fusion_pack(int dtype, void *dst, int n, fg_tensor *const *src, double scale) {
    if (check(dtype, n, src) < 0)
        return -1;
    size_t es = fg_dtype_size(dtype);
    int64_t off = 0;
    for (int i = 0; i < n; i++) {
        move(dtype, (char *)dst + (size_t)off * es, src[i]->data, src[i]->size, scale, 1.0);
        off += src[i]->size;
    }
    return off;
}

int64_t fg_fusion_unpack(int dtype, const void *src, int n, fg_tensor *const *dst, double scale,
                         double divisor) {
    if (check(dtype, n, dst) < 0)
        return -1;
    size_t es = fg_dtype_size(dtype);
    int64_t off = 0;
    for (int i = 0; i < n; i++) {
        move(dtype, dst[i]->data, (const char *)src + (size_t)off * es, dst[i]->size, scale, divisor);
        off += dst[i]->size;
    }
    return off;
}
