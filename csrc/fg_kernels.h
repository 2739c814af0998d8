/* fg_kernels.h: numeric kernels over contiguous buffers.
 *
 * Plain C, no Python, no tensors: pointers, shapes and a dtype in, a
 * status out (0 ok, -1 error with fg_error_set). Safe to call with the
 * GIL released. Large loops run under OpenMP (fg_parallel.h); results do
 * not depend on the thread count (reductions use a fixed blocking order).
 * Keep in sync with fastgrad/_ckernels.pxd.
 *
 * Shapes are C-order; "broadcast" arguments follow NumPy rules: shapes are
 * right-aligned against the output shape and a dimension of 1 repeats.
 * The caller computed the output shape and allocated `out`.
 */
#ifndef FG_KERNELS_H
#define FG_KERNELS_H

#include <stdint.h>

/* Unary elementwise kinds. Float dtypes support all; integer dtypes
 * support NEG, SQUARE, ABS, SIGN, RELU, COPY. */
typedef enum {
    FG_U_COPY = 0,
    FG_U_NEG,
    FG_U_SQUARE,
    FG_U_SQRT,
    FG_U_EXP,
    FG_U_LOG,
    FG_U_LOG1P,
    FG_U_SIN,
    FG_U_COS,
    FG_U_TAN,
    FG_U_TANH,
    FG_U_SIGMOID,
    FG_U_ABS,
    FG_U_SIGN,
    FG_U_RELU,
    FG_U_SOFTPLUS,   /* log(1+exp(x)), overflow-safe */
    FG_U_RECIPROCAL,
    FG_U_RSQRT,
    FG_U_LOGICAL_NOT, /* bool -> bool */
    FG_U_FLOOR,
    FG_U_CEIL,
    FG_U_ROUND,       /* half to even; integers unchanged */
    FG_U_ASIN,
    FG_U_ACOS,
    FG_U_ATAN,
    FG_U_SINH,
    FG_U_COSH,
    FG_U_ASINH,
    FG_U_ACOSH,
    FG_U_ATANH,
    FG_U_EXPM1,
    FG_U_ERF,
    FG_U_ERFC,
    FG_U_ERFINV,
    FG_U_NDTRI,
    FG_U_LGAMMA,
    FG_U_DIGAMMA,
    FG_U_BESSEL_I0E,  /* exp(-|x|) I0(x) */
    FG_U_BESSEL_I1E,  /* exp(-|x|) I1(x) */
    FG_U_SOFTSIGN,    /* x / (1 + |x|) */
    FG_U_RINT,        /* ROUND for floats only (TF's Rint) */
    FG_U_NKINDS
} fg_unary_kind;

/* Binary elementwise kinds, with broadcasting. a and b have dtype `dtype`;
 * the output has it too, except comparisons (bool out). */
typedef enum {
    FG_B_ADD = 0,
    FG_B_SUB,
    FG_B_MUL,
    FG_B_DIV,           /* float: a/b; integers: C division truncating toward zero is NOT used:
                           integer DIV is floor division like TF's floordiv */
    FG_B_POW,
    FG_B_MAX,           /* NaN propagates */
    FG_B_MIN,
    FG_B_EQ,            /* bool out */
    FG_B_NE,
    FG_B_LT,
    FG_B_LE,
    FG_B_GT,
    FG_B_GE,
    FG_B_LOGICAL_AND,   /* bool in, bool out */
    FG_B_LOGICAL_OR,
    /* fused gradient primitives, a = saved value, b = incoming gradient */
    FG_B_TANH_GRAD,     /* b * (1 - a*a), a = tanh(x) */
    FG_B_SIGMOID_GRAD,  /* b * a * (1 - a), a = sigmoid(x) */
    FG_B_RELU_GRAD,     /* a > 0 ? b : 0, a = x */
    FG_B_SQRT_GRAD,     /* b == 0 ? 0 : b * 0.5 / a, a = sqrt(x) (TF: a zero
                           gradient stays 0 even where a == 0) */
    FG_B_SQUARED_DIFF,  /* (a-b)^2 */
    FG_B_XLOGY,         /* a == 0 ? 0 : a*log(b) */
    FG_B_DIV_NO_NAN,    /* b == 0 ? 0 : a/b */
    FG_B_SQUARE_GRAD,   /* b * (a + a), a = x: square's rule in one pass */
    FG_B_TRUNCDIV,      /* a / b rounded toward zero (C's integer division) */
    FG_B_ATAN2,         /* atan2(a, b): a the y coordinate */
    FG_B_XLOG1PY,       /* a == 0 ? 0 : a*log1p(b) */
    FG_B_XDIVY,         /* a == 0 ? 0 : a/b */
    FG_B_MUL_NO_NAN,    /* b == 0 ? 0 : a*b */
    FG_B_TRUNCMOD,      /* remainder of TRUNCDIV: the sign of a (fmod) */
    FG_B_NEXTAFTER,
    FG_B_IGAMMA,        /* regularized lower incomplete gamma P(a, b) */
    FG_B_IGAMMAC,       /* its complement Q(a, b) */
    FG_B_IGAMMA_GRAD_A, /* d P(a, b) / d a */
    FG_B_POLYGAMMA,     /* polygamma(n = a, x = b) */
    FG_B_ZETA,          /* Hurwitz zeta(s = a, q = b) */
    FG_B_RECIP_GRAD,    /* b == 0 ? 0 : -a*a*b, a = 1/x (TF's ReciprocalGrad) */
    FG_B_RSQRT_GRAD,    /* b == 0 ? 0 : -0.5*b*a^3, a = 1/sqrt(x) */
    FG_B_FLOORMOD,      /* a mod b with b's sign (TF's FloorMod: fmod, then + b where the signs differ);
                           integers: b == 0 gives 0 (the caller reports it) */
    FG_B_NKINDS
} fg_binary_kind;

/* Whether fg_k_binary has kind for dtype (forwards answer TF's dtype error). */
int fg_k_binary_has(int kind, int dtype);

/* Ternary elementwise kinds (fg_k_ternary) */
typedef enum { FG_T_BETAINC = 0, FG_T_NKINDS } fg_ternary_kind;

/* out = f(a, b, c), all of dtype `dtype` (float), broadcast to out_shape. */
int fg_k_ternary(int kind, int dtype, const void *a, int a_ndim, const int64_t *a_shape,
                 const void *b, int b_ndim, const int64_t *b_shape,
                 const void *c, int c_ndim, const int64_t *c_shape,
                 void *out, int out_ndim, const int64_t *out_shape);

/* Reduction kinds */
typedef enum { FG_R_SUM = 0, FG_R_MAX, FG_R_MIN, FG_R_PROD, FG_R_ANY, FG_R_ALL, FG_R_NKINDS } fg_reduce_kind;

/* out[i] = f(x[i]) for i < n. x and out have dtype `dtype` (bool for
 * LOGICAL_NOT). out may equal x. */
int fg_k_unary(int kind, int dtype, const void *x, void *out, int64_t n);

/* out = f(a, b) broadcast to out_shape. Output dtype: `dtype` or bool for
 * comparisons/logical kinds. out may alias a or b when that operand has
 * the output's shape and dtype. */
int fg_k_binary(int kind, int dtype,
                const void *a, int a_ndim, const int64_t *a_shape,
                const void *b, int b_ndim, const int64_t *b_shape,
                void *out, int out_ndim, const int64_t *out_shape);

/* out = cond ? x : y, all broadcast to out_shape. cond is bool (uint8). */
int fg_k_where(int dtype,
               const uint8_t *cond, int c_ndim, const int64_t *c_shape,
               const void *x, int x_ndim, const int64_t *x_shape,
               const void *y, int y_ndim, const int64_t *y_shape,
               void *out, int out_ndim, const int64_t *out_shape);

/* out (dst_dtype) = (dst type) src (src_dtype), n elements. float->int
 * truncates toward zero; ->bool is x != 0. */
int fg_k_cast(int src_dtype, const void *src, int dst_dtype, void *dst, int64_t n);

/* Fill n elements with value converted to dtype. */
int fg_k_fill(int dtype, void *out, int64_t n, double value);

/* out[i] = start + i*delta, n elements */
int fg_k_range(int dtype, void *out, int64_t n, double start, double delta);

/* Reduce x (ndim, shape) over the axes where reduce_mask[axis] != 0.
 * out holds the kept dims in order (size = product of kept dims; 1 when
 * all are reduced). SUM and PROD use pairwise/blocked summation in a fixed
 * order independent of threads. An empty reduction gives the identity
 * (0 for sum, 1 for prod, -inf/+inf or the integer limit for max/min).
 * ANY/ALL take and give bool. */
int fg_k_reduce(int kind, int dtype, const void *x, int ndim, const int64_t *shape,
                const uint8_t *reduce_mask, void *out);

/* The fused reduce_sum(x * y) over the masked axes, x and y both of shape
 * `shape` (float dtypes): what fg_k_reduce(FG_R_SUM) gives for the
 * elementwise product, bit for bit, without writing the product out. A
 * broadcast operand's gradient (sum of g * other) is this. */
int fg_k_reduce_sum_mul(int dtype, const void *x, const void *y, int ndim, const int64_t *shape,
                        const uint8_t *reduce_mask, void *out);

/* out (out_shape) = x broadcast (NumPy rules). */
int fg_k_broadcast_to(int dtype, const void *x, int ndim, const int64_t *shape,
                      void *out, int out_ndim, const int64_t *out_shape);

/* out = transpose of x: out.shape[i] = shape[perm[i]]. */
int fg_k_transpose(int dtype, const void *x, int ndim, const int64_t *shape,
                   const int *perm, void *out);

/* Batched matmul. a: [batch..., m, k] (or [.., k, m] with trans_a),
 * b: [batch..., k, n] (or [.., n, k] with trans_b); batch dims broadcast
 * to out_batch (out_bnd dims, shape out_bshape); a_bshape/b_bshape are
 * the operands' batch shapes right-aligned with out_bshape (same ndim
 * out_bnd, 1 where broadcast). out: [out_batch..., m, n]. Floats use BLAS
 * gemm when fg_set_blas was given pointers, else a blocked C loop; ints
 * use a C loop. */
int fg_k_matmul(int dtype, const void *a, const void *b, void *out,
                int out_bnd, const int64_t *out_bshape,
                const int64_t *a_bshape, const int64_t *b_bshape,
                int64_t m, int64_t n, int64_t k, int trans_a, int trans_b);

/* Fortran BLAS gemm as scipy.linalg.cython_blas exports it. */
typedef void (*fg_sgemm_fn)(char *ta, char *tb, int *m, int *n, int *k, float *alpha,
                            float *a, int *lda, float *b, int *ldb, float *beta,
                            float *c, int *ldc);
typedef void (*fg_dgemm_fn)(char *ta, char *tb, int *m, int *n, int *k, double *alpha,
                            double *a, int *lda, double *b, int *ldb, double *beta,
                            double *c, int *ldc);
void fg_set_blas(fg_sgemm_fn sgemm, fg_dgemm_fn dgemm);
int fg_have_blas(void);

/* Strided slice: for each input dim d, take len[d] elements starting at
 * start[d] stepping step[d] (step may be negative; len may be 0). out has
 * shape len[0..ndim). */
int fg_k_slice(int dtype, const void *x, int ndim, const int64_t *shape,
               const int64_t *start, const int64_t *step, const int64_t *len,
               void *out);
/* The adjoint: out (shape, zero-filled by this function) receives g
 * (shape len) at the sliced positions. */
int fg_k_slice_scatter(int dtype, const void *g, int ndim, const int64_t *shape,
                       const int64_t *start, const int64_t *step, const int64_t *len,
                       void *out);

/* Concatenate n inputs along axis; inputs[i] has shape in_shapes[i]
 * (ndim dims each), all equal except on axis. */
int fg_k_concat(int dtype, int n, const void *const *inputs, int ndim,
                const int64_t *const *in_shapes, int axis, void *out);

/* Tile: out.shape[d] = shape[d] * multiples[d]. */
int fg_k_tile(int dtype, const void *x, int ndim, const int64_t *shape,
              const int64_t *multiples, void *out);

/* Gather along axis: params (ndim, shape), indices (nidx values, int32 if
 * idx_dtype == FG_I32 else int64, already validated in range and negative
 * indices normalised by the caller). out shape: shape[:axis] + [nidx] +
 * shape[axis+1:] (the caller reshapes for multi-d indices). */
int fg_k_gather(int dtype, const void *params, int ndim, const int64_t *shape,
                int axis, int idx_dtype, const void *indices, int64_t nidx, void *out);
/* Adjoint of gather: out (shape, zero-filled by this function) += g at the
 * gathered positions (duplicates accumulate). Serial over indices so the
 * result does not depend on threads. */
int fg_k_gather_scatter(int dtype, const void *g, int ndim, const int64_t *shape,
                        int axis, int idx_dtype, const void *indices, int64_t nidx,
                        void *out);

/* Softmax / log-softmax over the last axis of a [rows, cols] array. */
int fg_k_softmax(int dtype, const void *x, int64_t rows, int64_t cols, void *out, int log);

/* Fused optimizer steps over n elements, in place on var (and slots). */
int fg_k_sgd(int dtype, void *var, const void *grad, void *velocity, int64_t n,
             double lr, double momentum, int nesterov);
/* vhat: AMSGrad's running maximum of v, or NULL for plain Adam */
int fg_k_adam(int dtype, void *var, const void *grad, void *m, void *v, void *vhat, int64_t n,
              double lr_t, double beta1, double beta2, double eps);
int fg_k_rmsprop(int dtype, void *var, const void *grad, void *ms, void *mom, int64_t n,
                 double lr, double rho, double momentum, double eps);

typedef enum { FG_S_SUM = 0, FG_S_PROD, FG_S_LSE } fg_scan_kind; /* fg_scan.c */

#endif
