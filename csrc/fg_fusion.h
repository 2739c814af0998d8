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

/* ---- the allreduce op (fg_ops.def: "allreduce"), a fused allreduce that
 * fastgrad.function records and replays like any table op.
 *
 * Inputs: float tensors of one dtype. Output: one 1-d tensor, their values
 * one after the other times prescale, reduced over the processes by the
 * hook, then times postscale and divided by divisor. Attributes
 * [op, prescale, postscale, divisor, digest]: op FG_ALLREDUCE_SUM or
 * FG_ALLREDUCE_AVERAGE (the hook sums both; the average divides by
 * divisor), the scales as the bits of doubles, digest the signature of the
 * input list, which the hook compares across processes. Gradient: the same
 * reduction of the upstream gradient (Horovod's), sliced back per input. */
enum { FG_ALLREDUCE_SUM = 0, FG_ALLREDUCE_AVERAGE = 1 };

/* The transport: reduce n elements of dtype at data in place (summing over
 * the processes), after checking that every process passes this digest.
 * 0, or -1 with the error set. The binding installs it (MPI via mpi4py). */
typedef int (*fg_allreduce_hook)(void *data, int64_t n, int dtype, int op, int64_t digest);
void fg_fusion_set_allreduce_hook(fg_allreduce_hook fn);

#endif
