/* fg_linalg.h: what the binding hands the linear-algebra op family
 * (fg_linalg.c): LAPACK and BLAS entry points by name.
 *
 * Plain C. The glue (fastgrad/_linalg.pxi) takes the pointers from
 * scipy.linalg.cython_lapack / cython_blas at import (Fortran ABI: every
 * argument by pointer), as matmul's gemm is taken; csrc/ never imports
 * Python. Without them the linalg forwards raise.
 */
#ifndef FG_LINALG_H
#define FG_LINALG_H

/* the routines fg_linalg.c calls, by their LAPACK/BLAS names */
int fg_linalg_count(void);
const char *fg_linalg_name(int i);
/* 0 when name is one of them, -1 otherwise */
int fg_linalg_set(const char *name, void *fn);

#endif
