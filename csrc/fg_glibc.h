/* fg_glibc.h: bind the libdl/libpthread calls to their original glibc
 * symbol versions.
 *
 * glibc 2.34 moved dlopen, dlsym, dladdr, dlclose and the pthread_* calls
 * into libc.so.6 under a new version (GLIBC_2.34) and kept the old
 * versions as compatibility symbols. Linked on a newer host, each call
 * would otherwise bind to GLIBC_2.34, and that alone would make a wheel
 * manylinux_2_34: unusable on the distributions manylinux2014 covers.
 * Binding to the old versions (in libc on >= 2.34, in libdl/libpthread,
 * which setup.py links, on older glibc) changes nothing at run time.
 * Include it in each file that makes these calls, before any use.
 */
#ifndef FG_GLIBC_H
#define FG_GLIBC_H

#if defined(__linux__) && defined(__GLIBC__) && !defined(FG_NO_SYMVER)
#if defined(__x86_64__)
#define FG_GLIBC_BASE "GLIBC_2.2.5"
#elif defined(__aarch64__)
#define FG_GLIBC_BASE "GLIBC_2.17"
#endif
#ifdef FG_GLIBC_BASE
__asm__(".symver dlopen,dlopen@" FG_GLIBC_BASE);
__asm__(".symver dlsym,dlsym@" FG_GLIBC_BASE);
__asm__(".symver dladdr,dladdr@" FG_GLIBC_BASE);
__asm__(".symver dlclose,dlclose@" FG_GLIBC_BASE);
__asm__(".symver pthread_key_create,pthread_key_create@" FG_GLIBC_BASE);
__asm__(".symver pthread_once,pthread_once@" FG_GLIBC_BASE);
__asm__(".symver pthread_setspecific,pthread_setspecific@" FG_GLIBC_BASE);
#endif
#endif

#endif /* FG_GLIBC_H */
