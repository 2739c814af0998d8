"""Thread control and thread-count independence of results (API.md
"Beyond TensorFlow": Threads).  fastgrad-only (TensorFlow has no such API).
"""

import math
import os
import subprocess
import sys

import numpy as np
import pytest

import fastgrad as tf
from _fgutil import IS_TF

if not IS_TF:
    from fastgrad import _core

pytestmark = pytest.mark.skipif(IS_TF, reason="fastgrad-only: thread control")

# the directory holding the fastgrad package this process imported (an
# in-place build, an editable install or site-packages alike)
PKG_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(tf.__file__))) if not IS_TF else ""
N = 4_000_037
THREADS = (1, 2, 16)
M2 = 999 * 4003  # 3,998,997 elements, < N


@pytest.fixture
def restore_threads():
    old = tf.get_num_threads()
    yield
    tf.set_num_threads(old)


@pytest.fixture(scope="module")
def big():
    rng = np.random.default_rng(123)
    return rng.uniform(0.0, 1.0, size=N).astype(np.float32)


def _under_threads(fn):
    # the busy-machine fallback would run 16 threads on a 2-core machine
    # serially: turned off, every count really runs its threads
    out = []
    old = tf.get_num_threads()
    _core.set_parallel_fallback(False)
    try:
        for n in THREADS:
            tf.set_num_threads(n)
            out.append(np.asarray(fn()))
    finally:
        tf.set_num_threads(old)
        _core.set_parallel_fallback(True)
    return out


def _assert_bitwise_equal(results):
    first = results[0]
    for n, r in zip(THREADS[1:], results[1:]):
        assert r.dtype == first.dtype and r.shape == first.shape
        assert r.tobytes() == first.tobytes(), f"{n} threads differ from 1 thread"


def test_set_get_num_threads(restore_threads):
    for n in (1, 2, 3, 16):
        tf.set_num_threads(n)
        assert tf.get_num_threads() == n
    assert isinstance(tf.get_num_threads(), int)


def _threads_in_subprocess(env_updates, tmp_path):
    env = dict(os.environ)
    env.pop("FASTGRAD_NUM_THREADS", None)
    env.pop("OMP_NUM_THREADS", None)
    env.update(env_updates)
    env["PYTHONPATH"] = PKG_PARENT + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run(
        [sys.executable, "-c", "import fastgrad; print(fastgrad.get_num_threads())"],
        env=env,
        cwd=str(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return int(out.stdout.strip().splitlines()[-1])


def test_env_fastgrad_num_threads_wins_over_omp(tmp_path):
    assert _threads_in_subprocess({"FASTGRAD_NUM_THREADS": "3", "OMP_NUM_THREADS": "5"}, tmp_path) == 3


def test_env_omp_num_threads_used(tmp_path):
    assert _threads_in_subprocess({"OMP_NUM_THREADS": "5"}, tmp_path) == 5


def test_env_fastgrad_num_threads_alone(tmp_path):
    assert _threads_in_subprocess({"FASTGRAD_NUM_THREADS": "2"}, tmp_path) == 2


def test_default_threads_positive(tmp_path):
    assert _threads_in_subprocess({}, tmp_path) >= 1


@pytest.mark.parametrize("name", ["reduce_sum", "reduce_mean", "reduce_max", "reduce_min"])
def test_reductions_bitwise_identical_across_threads(big, name):
    t = tf.constant(big)
    f = getattr(tf, name)
    _assert_bitwise_equal(_under_threads(lambda: f(t)))


@pytest.mark.parametrize("axis", [0, 1, None, (0, 1)])
def test_2d_reductions_bitwise_identical_across_threads(big, axis):
    t = tf.reshape(tf.constant(big[:M2]), (999, 4003))
    _assert_bitwise_equal(_under_threads(lambda: tf.reduce_sum(t, axis=axis)))
    _assert_bitwise_equal(_under_threads(lambda: tf.reduce_mean(t, axis=axis)))


def test_float64_reduction_bitwise_identical(big):
    t = tf.constant(big.astype(np.float64) - 0.5)
    _assert_bitwise_equal(_under_threads(lambda: tf.reduce_sum(t)))


def test_reduce_sum_accurate(big):
    t = tf.constant(big)
    ref = math.fsum(big.astype(np.float64))
    naive = float(np.cumsum(big, dtype=np.float32)[-1])  # a float32 running sum
    got = float(tf.reduce_sum(t))
    err = abs(got - ref)
    naive_err = abs(naive - ref)
    assert naive_err > 0
    assert err < naive_err / 10, (got, naive, ref)
    assert err / ref < 1e-6, (got, ref)
    mean = float(tf.reduce_mean(t))
    assert abs(mean - ref / N) / (ref / N) < 1e-6


def test_reduce_sum_accurate_all_thread_counts(big):
    ref = math.fsum(big.astype(np.float64))
    t = tf.constant(big)
    for r in _under_threads(lambda: tf.reduce_sum(t)):
        assert abs(float(r) - ref) / ref < 1e-6


@pytest.mark.parametrize(
    "name, fn",
    [
        ("exp", lambda a, b: tf.exp(a)),
        ("sin", lambda a, b: tf.sin(a)),
        ("tanh", lambda a, b: tf.tanh(a)),
        ("sigmoid", lambda a, b: tf.sigmoid(a)),
        ("softplus", lambda a, b: tf.nn.softplus(a)),
        ("log", lambda a, b: tf.math.log(a)),
        ("sqrt", lambda a, b: tf.sqrt(a)),
        ("fma", lambda a, b: a * b + 1.5),
        ("div", lambda a, b: a / (b + 1.0)),
        ("pow", lambda a, b: tf.pow(a, b)),
        ("maximum", lambda a, b: tf.maximum(a, b)),
        ("where", lambda a, b: tf.where(a > b, a, b)),
        ("bcast", lambda a, b: tf.reshape(a, (999, 4003)) + tf.reshape(b, (999, 4003))[0]),
    ],
)
def test_elementwise_bitwise_identical_across_threads(big, name, fn):
    a = tf.constant(big[:M2] + 0.25)
    b = tf.constant(big[1 : M2 + 1])
    _assert_bitwise_equal(_under_threads(lambda: fn(a, b)))


def test_gradient_bitwise_identical_across_threads(big):
    x = tf.constant(big)

    def grad():
        with tf.GradientTape() as t:
            t.watch(x)
            y = tf.reduce_sum(tf.exp(x) * x) + tf.reduce_mean(tf.sin(x))
        return t.gradient(y, x)

    _assert_bitwise_equal(_under_threads(grad))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
def test_matmul_bitwise_identical_across_threads(dtype, ta, tb):
    # BLAS runs one thread per call; fastgrad shares fixed row chunks of C
    # out over its own threads, so every chunk's gemm is the same call.
    rng = np.random.default_rng(7)
    a = rng.standard_normal((3, 300, 200)).astype(dtype)
    b = rng.standard_normal((200, 170)).astype(dtype)
    a_in = np.swapaxes(a, 1, 2).copy() if ta else a
    b_in = b.T.copy() if tb else b
    results = _under_threads(lambda: tf.matmul(a_in, b_in, transpose_a=ta, transpose_b=tb))
    _assert_bitwise_equal(results)
    tol = 1e-3 if dtype == np.float32 else 1e-11
    np.testing.assert_allclose(results[0], a @ b, rtol=tol, atol=tol)


# ------------------------------------------------- busy machine: the fallback


def _regions_and_serial(op):
    before = _core.parallel_stats()
    op()
    after = _core.parallel_stats()
    return after[0] - before[0], after[2] - before[2]


@pytest.mark.skipif(not IS_TF and not tf._core.openmp_enabled(), reason="built without OpenMP")
def test_fallback_goes_serial_after_losses(big, restore_threads):
    # Regions are fed to the fallback by hand (a real neighbour's timing is
    # the benchmark's business): what counts is what it does with them.
    x = tf.constant(big)
    tf.set_num_threads(1)
    want = np.asarray(tf.exp(x)).tobytes()
    tf.set_num_threads(2)
    op = lambda: np.asarray(tf.exp(x)).tobytes() == want  # noqa: E731
    try:
        _core.set_parallel_fallback(True)  # forgets earlier measurements
        assert _regions_and_serial(op) == (1, 0)
        _core.set_parallel_fallback(True)
        trips = _core.parallel_stats()[4]
        _core._parallel_judge(0.0021, 0.0010)  # 1.1 ms lost, over the 0.2 ms budget
        assert _core.parallel_stats()[4] == trips + 1
        assert _regions_and_serial(op) == (0, 1)  # serial for the next 100 ms
        assert op()
        _core.set_parallel_fallback(True)
        # savings (capped at 2 ms) absorb a loss of the same size
        for _ in range(3):
            _core._parallel_judge(0.001, 0.002)
        trips = _core.parallel_stats()[4]
        _core._parallel_judge(0.003, 0.001)
        assert _core.parallel_stats()[4] == trips
        # ... but not a longer spell of losses, however small each one
        for _ in range(10):
            _core._parallel_judge(0.00012, 0.0001)
        assert _core.parallel_stats()[4] == trips
        for _ in range(5):  # the first of these passes the 0.2 ms budget
            _core._parallel_judge(0.00012, 0.0001)
        assert _core.parallel_stats()[4] == trips + 1
        assert _regions_and_serial(op) == (0, 1)
    finally:
        _core.set_parallel_fallback(True)


def test_fallback_off_keeps_threads(big, restore_threads):
    x = tf.constant(big)
    _core.set_parallel_fallback(False)
    try:
        tf.set_num_threads(2)
        before = _core.parallel_stats()
        for _ in range(5):
            tf.exp(x)
        after = _core.parallel_stats()
    finally:
        _core.set_parallel_fallback(True)
    if _core.openmp_enabled():
        assert after[0] - before[0] == 5 and after[2] == before[2]


# ----------------------------------------------------- OpenMP's thread ICV


def _loaded_libgomp():
    import ctypes
    with open("/proc/self/maps") as f:
        paths = {line.split()[-1] for line in f if "libgomp" in line}
    return ctypes.CDLL(sorted(paths)[0]) if paths else None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/maps")
def test_omp_set_num_threads_limits_fastgrad(big, restore_threads):
    # what threadpoolctl does to an OpenMP runtime, done by hand
    gomp = _loaded_libgomp()
    if gomp is None or not _core.openmp_enabled():
        pytest.skip("not linked against libgomp")
    x = tf.constant(big)
    tf.set_num_threads(0)
    icv = gomp.omp_get_max_threads()
    _core.set_parallel_fallback(False)
    try:
        gomp.omp_set_num_threads(1)
        assert tf.get_num_threads() == 1
        tf.set_num_threads(2)  # a lowered ICV caps set_num_threads too
        assert tf.get_num_threads() == 1
        before = _core.parallel_stats()
        tf.exp(x)
        assert _core.parallel_stats()[0] == before[0]  # no region: serial
        tf.set_num_threads(0)
        gomp.omp_set_num_threads(3)  # raised at run time: the new default
        assert tf.get_num_threads() == 3
        tf.set_num_threads(2)  # ... but set_num_threads still wins
        assert tf.get_num_threads() == 2
    finally:
        gomp.omp_set_num_threads(icv)
        _core.set_parallel_fallback(True)
    tf.set_num_threads(0)
    assert tf.get_num_threads() == icv


def test_threadpoolctl_limits_fastgrad(big, restore_threads):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    if not _core.openmp_enabled():
        pytest.skip("built without OpenMP")
    x = tf.constant(big)
    tf.set_num_threads(0)
    default = tf.get_num_threads()
    _core.set_parallel_fallback(False)
    try:
        with threadpoolctl.threadpool_limits(1):
            assert tf.get_num_threads() == 1
            before = _core.parallel_stats()
            tf.reduce_sum(tf.exp(x))
            assert _core.parallel_stats()[0] == before[0]
        assert tf.get_num_threads() == default
        if default > 1:
            before = _core.parallel_stats()
            tf.exp(x)
            assert _core.parallel_stats()[0] == before[0] + 1
    finally:
        _core.set_parallel_fallback(True)


# ---------------------------------------------------------------------- fork


def _child_sum(q):
    x = tf.constant(np.arange(1_000_000, dtype=np.float32) % 7)
    q.put((float(tf.reduce_sum(tf.exp(x * 0.001))), _core.forked_serial(), tf.get_num_threads()))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_fork_after_parallel_region_does_not_hang(restore_threads):
    import multiprocessing
    # the parent runs a region on 2 threads first: libgomp's pool exists
    tf.set_num_threads(2)
    _core.set_parallel_fallback(False)
    try:
        x = tf.constant(np.arange(1_000_000, dtype=np.float32) % 7)
        want = float(tf.reduce_sum(tf.exp(x * 0.001)))
    finally:
        _core.set_parallel_fallback(True)
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child_sum, args=(q,))
    p.start()
    p.join(60)
    if p.is_alive():
        p.kill()
        pytest.fail("the forked child hung in its first parallel op")
    assert p.exitcode == 0
    got, serial, threads = q.get(timeout=10)
    assert got == want  # bitwise: the sum's blocking does not depend on threads
    assert (serial, threads) == ((True, 1) if _core.openmp_enabled() else (False, threads))


def test_fork_before_any_region_keeps_threads(tmp_path):
    if not hasattr(os, "fork") or not _core.openmp_enabled():
        pytest.skip("needs fork and OpenMP")
    code = (
        "import os, numpy as np, fastgrad as tf\n"
        "from fastgrad import _core\n"
        "tf.set_num_threads(2)\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    x = tf.constant(np.ones(1_000_000, np.float32))\n"
        "    ok = float(tf.reduce_sum(tf.exp(x))) > 0 and not _core.forked_serial()\n"
        "    os._exit(0 if ok and tf.get_num_threads() == 2 else 3)\n"
        "_, status = os.waitpid(pid, 0)\n"
        "print(os.waitstatus_to_exitcode(status))\n"
    )
    env = dict(os.environ, PYTHONPATH=PKG_PARENT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=str(tmp_path), capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0"
