"""csrc/ on its own: the C test programs, built against csrc/fg_*.c and run.

csrc/ knows nothing of Python, so its own tests are plain C programs:
test_kernels.c checks every kernel against reference loops (with 1 and 4
threads), test_program.c traces and replays a program from C. Each is
compiled here with the optimisation flags setup.py uses for the extension
(and OpenMP when the compiler has it) and must exit 0. Skipped only when no
C compiler is found.
"""
import glob
import os
import shlex
import shutil
import subprocess

import pytest

from _fgutil import fastgrad_only

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CSRC = os.path.join(ROOT, "csrc")
# setup.py's optimisation flags, so the kernels run as they ship
OPT = ["-O3", "-fno-math-errno", "-fno-trapping-math"]


def _compiler():
    cc = os.environ.get("CC")
    if cc and shutil.which(shlex.split(cc)[0]):
        return shlex.split(cc)
    for name in ("gcc", "cc", "clang"):
        if shutil.which(name):
            return [name]
    pytest.skip("no C compiler")


@pytest.fixture(scope="module")
def csrc_objects(tmp_path_factory):
    """csrc/fg_*.c compiled once for both programs: (compiler + flags, objects)."""
    cc = _compiler()
    out = tmp_path_factory.mktemp("csrc_objects")
    srcs = sorted(glob.glob(os.path.join(CSRC, "fg_*.c")))

    def build(extra):
        return subprocess.run(cc + OPT + extra + ["-I" + CSRC, "-c"] + srcs,
                              cwd=str(out), capture_output=True, text=True)

    # OpenMP exercises the parallel paths; a compiler without it builds serial
    # kernels, as setup.py does
    flags = ["-fopenmp"]
    built = build(flags)
    if built.returncode != 0:
        flags = []
        built = build(flags)
    assert built.returncode == 0, built.stderr[-4000:]
    objs = [str(out / (os.path.splitext(os.path.basename(f))[0] + ".o")) for f in srcs]
    return cc + OPT + flags, objs


def _build_and_run(tmp_path, csrc_objects, main_c, timeout):
    """Link csrc/<main_c> with csrc/fg_*.c, run it, return the finished process."""
    cc, objs = csrc_objects
    exe = str(tmp_path / os.path.splitext(main_c)[0])
    flags = [f for f in cc if f == "-fopenmp"]
    built = subprocess.run(cc + ["-I" + CSRC, os.path.join(CSRC, main_c)] + objs
                           + ["-o", exe, "-lm", "-lpthread"] + flags,
                           capture_output=True, text=True)
    assert built.returncode == 0, built.stderr[-4000:]
    env = dict(os.environ)
    for var in ("FASTGRAD_NUM_THREADS", "OMP_NUM_THREADS"):
        env.pop(var, None)
    return subprocess.run([exe], capture_output=True, text=True, timeout=timeout, env=env)


@fastgrad_only
def test_kernels_from_c(tmp_path, csrc_objects):
    # every kernel against plain reference loops, serial and with 4 threads
    out = _build_and_run(tmp_path, csrc_objects, "test_kernels.c", timeout=600)
    last = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
    assert out.returncode == 0 and last.endswith(" checks, 0 failures"), out.stdout[-4000:]
    assert int(last.split()[0]) > 10000, last  # the whole suite ran


@fastgrad_only
def test_program_from_c_alone(tmp_path, csrc_objects):
    # csrc/ knows nothing of Python: the program engine traces and replays from C
    out = _build_and_run(tmp_path, csrc_objects, "test_program.c", timeout=60)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stdout[-4000:]
