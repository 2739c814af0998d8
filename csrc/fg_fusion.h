/* fg_fusion.h: tensor fusion for data-parallel training (fastgrad.distribute).
 *
 * Plain C, no Python, no MPI. Keep in sync with fastgrad/_cfusion.pxd.
 * Horovod's tensor fusion: the gradients of one step are copied into one
 * contiguous buffer so that a single MPI_Allreduce moves them all, then
 * copied back out into tensors of their own shapes. Scaling (Horovod's
 * prescale_factor, postscale_factor, and the division of an average)
 * happens in the same pass, so a reduction reads each byte twice in all.
 */
#ifndef FG_FUSION_H
#define FG_FUSION_H

#include <stdint.h>

#include "fg_tensor.h"

/* Copy src[0..n) (all of dtype FG_F32 or FG_F64, contiguous) one after the
 * other into dst, each element multiplied by scale (a plain copy when
 * scale is 1). Returns the number of elements written, or -1 with the
 * error set (a tensor of another dtype, an integer dtype). */
int64_t fg_fusion_pack(int dtype, void *dst, int n, fg_tensor *const *src, double scale);

/* The reverse: fill dst[0..n) (allocated, of dtype and of the shapes to
 * unpack) from src, each element (x * scale) / divisor in dtype's
 * precision; a divisor of 1 skips the division, a scale of 1 the product.
 * Returns the number of elements read, or -1 with the error set. */
int64_t fg_fusion_unpack(int dtype, const void *src, int n, fg_tensor *const *dst, double scale,
                         double divisor);

#endif
