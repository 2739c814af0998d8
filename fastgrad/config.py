"""Threads and build configuration.

``FASTGRAD_NUM_THREADS`` wins over ``OMP_NUM_THREADS``; ``set_num_threads``
wins over both. OpenMP's thread count changed at run time
(``omp_set_num_threads``, ``threadpoolctl.threadpool_limits``) replaces
the default and, when lowered, caps the other two. Results do not depend
on the thread count. In a child forked after the parent ran threads,
kernels run on one thread (OpenMP's pool does not survive fork).

>>> import fastgrad as tf
>>> tf.set_num_threads(1); tf.get_num_threads()
1
"""
import os
import platform

from fastgrad import _core

__all__ = ["set_num_threads", "get_num_threads", "show_config", "run_functions_eagerly",
           "functions_run_eagerly", "set_function_buffer_limit", "get_function_buffer_limit"]


def set_function_buffer_limit(nbytes):
    """Bound the memory ``fastgrad.function``'s traces keep for replays.

    Each traced signature plans buffers for its intermediate values. Past
    ``nbytes`` for all of them together (default 256 MiB, or
    ``FASTGRAD_FUNCTION_BUFFER_LIMIT``), the signatures run least recently
    give theirs back to the OS and allocate them again when next called;
    nothing is retraced.

    >>> import fastgrad as tf
    >>> tf.config.set_function_buffer_limit(2**28); tf.config.get_function_buffer_limit()
    268435456
    """
    _core.program_buffer_limit(int(nbytes))


def get_function_buffer_limit():
    """The bound set by :func:`set_function_buffer_limit` (bytes)."""
    return _core.program_buffer_limit()


if os.environ.get("FASTGRAD_FUNCTION_BUFFER_LIMIT"):
    set_function_buffer_limit(int(os.environ["FASTGRAD_FUNCTION_BUFFER_LIMIT"]))


def set_num_threads(n):
    """Use n threads for large kernels (n < 1: back to the default)."""
    _core.set_num_threads(int(n))


def get_num_threads():
    """Threads large kernels use: set_num_threads, else the environment, else CPUs.

    An OpenMP thread count lowered at run time caps it (1 in this example
    when threadpoolctl is installed):

    >>> import fastgrad as tf
    >>> from threadpoolctl import threadpool_limits  # doctest: +SKIP
    >>> with threadpool_limits(1):  # doctest: +SKIP
    ...     tf.get_num_threads()
    1
    """
    return _core.get_num_threads()


def show_config(file=None):
    """Print version, compiler, OpenMP, BLAS and thread settings.

    >>> import fastgrad as tf, io
    >>> buf = io.StringIO(); tf.show_config(buf); "openmp" in buf.getvalue()
    True
    """
    from fastgrad import __version__
    try:
        from fastgrad import _build_info as bi
        compiler, flags, debug = bi.compiler, bi.openmp_flags, bi.debug
    except ImportError:
        compiler, flags, debug = "unknown", "", False
    lines = [
        "fastgrad %s" % __version__,
        "python: %s (%s)" % (platform.python_version(), platform.machine()),
        "compiler: %s" % compiler,
        "openmp: %s%s" % (_core.openmp_enabled(), " (%s)" % flags if flags else ""),
        "threads: %d (FASTGRAD_NUM_THREADS=%s, OMP_NUM_THREADS=%s)" % (
            get_num_threads(), os.environ.get("FASTGRAD_NUM_THREADS"), os.environ.get("OMP_NUM_THREADS")),
        "OMP_WAIT_POLICY: %s" % os.environ.get("OMP_WAIT_POLICY"),
        "GOMP_SPINCOUNT: %s" % os.environ.get("GOMP_SPINCOUNT"),
        "blas: %s" % ("scipy.linalg.cython_blas (OpenBLAS)" if _core.have_blas() else "built-in C loops"),
        "debug build: %s" % debug,
    ]
    print("\n".join(lines), file=file)


_run_eagerly = False


def run_functions_eagerly(run_eagerly):
    """Make every ``fastgrad.function`` run its Python function directly
    (no trace, no replay), for debugging, as TF's switch does."""
    global _run_eagerly
    _run_eagerly = bool(run_eagerly)


def functions_run_eagerly():
    """Whether ``run_functions_eagerly(True)`` is in force."""
    return _run_eagerly
