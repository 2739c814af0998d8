"""Build fastgrad's compiled core: csrc/*.c plus the Cython glue.

Environment switches:
  FASTGRAD_FAIL_NO_OPENMP=1  fail instead of building serial when the
                             compiler has no OpenMP
  FASTGRAD_DEBUG=1           Cython bounds/wraparound checks and -O0 -g, and
                             no recycling of tensor structs and buffers
                             (FG_NO_RECYCLE), so ASan/valgrind see every
                             use after free
"""
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import warnings
from glob import glob

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
CSRC = sorted(glob(os.path.join("csrc", "fg_*.c")))
DEBUG = os.environ.get("FASTGRAD_DEBUG") == "1"

OPENMP_PROBE = textwrap.dedent(
    """
    #include <omp.h>
    #include <stdio.h>
    int main(void) {
        int n = 0;
        #pragma omp parallel reduction(+:n)
        n += 1;
        printf("%d", n > 0 && omp_get_max_threads() > 0);
        return 0;
    }
    """
)


def openmp_flags(compiler):
    """Compile and run a probe, as scikit-learn's openmp_helpers does.

    Returns (compile_args, link_args), empty when OpenMP is unavailable.
    """
    ctype = compiler.compiler_type
    if ctype == "msvc":
        candidates = [(["/openmp"], [])]
    elif sys.platform == "darwin":
        candidates = [(["-Xpreprocessor", "-fopenmp"], ["-lomp"]), (["-fopenmp"], ["-fopenmp"])]
    else:
        candidates = [(["-fopenmp"], ["-fopenmp"])]
    for cflags, lflags in candidates:
        tmp = tempfile.mkdtemp()
        try:
            src = os.path.join(tmp, "probe.c")
            with open(src, "w") as f:
                f.write(OPENMP_PROBE)
            objs = compiler.compile([src], output_dir=tmp, extra_postargs=cflags)
            exe = os.path.join(tmp, "probe")
            compiler.link_executable(objs, exe, extra_postargs=lflags)
            out = subprocess.run([exe], capture_output=True, text=True, timeout=60)
            if out.returncode == 0 and out.stdout.strip() == "1":
                return cflags, lflags
        except Exception:  # noqa: BLE001 - any failure means "no OpenMP here"
            pass
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return [], []


class BuildExt(build_ext):
    def build_extensions(self):
        cflags, lflags = openmp_flags(self.compiler)
        if not cflags:
            msg = "OpenMP not available: fastgrad builds serial kernels."
            if os.environ.get("FASTGRAD_FAIL_NO_OPENMP") == "1":
                raise RuntimeError(msg)
            warnings.warn(msg)
        for ext in self.extensions:
            ext.extra_compile_args += cflags
            ext.extra_link_args += lflags
        build_info = os.path.join(self.build_lib, "fastgrad", "_build_info.py")
        info = dict(
            compiler=" ".join(self.compiler.compiler_so[:1]) if hasattr(self.compiler, "compiler_so") else self.compiler.compiler_type,
            openmp_flags=" ".join(cflags),
            debug=DEBUG,
        )
        for target in {build_info, os.path.join(HERE, "fastgrad", "_build_info.py")}:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "w") as f:
                f.write('"""Written by setup.py at build time."""\n')
                for k, v in info.items():
                    f.write("%s = %r\n" % (k, v))
        super().build_extensions()


def extensions():
    if DEBUG:
        opt = ["-O0", "-g"]
    else:
        # hidden visibility: calls between csrc/ files bind directly, not via the PLT;
        # no-trapping-math: nothing reads the FP exception flags, and without it gcc
        # will not if-convert (so not vectorise) selects next to a division
        opt = (["-O3", "-fno-math-errno", "-fno-trapping-math", "-fvisibility=hidden"]
               if sysconfig.get_platform().startswith(("linux", "macosx")) else [])
    link = []
    if sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc":
        # csrc/fg_glibc.h binds dl*/pthread_* to their pre-2.34 versions, which
        # older glibc keeps in these two libraries (stubs on glibc >= 2.34)
        link = ["-Wl,--push-state,--no-as-needed", "-l:libdl.so.2", "-l:libpthread.so.0", "-Wl,--pop-state"]
    return [
        Extension(
            "fastgrad._core",
            sources=["fastgrad/_core.pyx"] + CSRC,
            include_dirs=["csrc", np.get_include()],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]
            + ([("FG_NO_RECYCLE", "1")] if DEBUG else []),
            extra_compile_args=list(opt),
            extra_link_args=link,
        )
    ]


directives = {"language_level": 3, "embedsignature": True}
if DEBUG:
    directives.update(boundscheck=True, wraparound=True)

setup(
    ext_modules=cythonize(extensions(), build_dir="build/cython", compiler_directives=directives),
    cmdclass={"build_ext": BuildExt},
)
