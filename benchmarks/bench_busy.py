"""Threads on a busy machine: each workload at the default thread count
against 1 thread, on the machine as it is and beside a CPU-bound neighbour.

    PYTHONPATH=$PWD python benchmarks/bench_busy.py [--seconds 1] [--only big]

The script starts its own neighbour, one process spinning on one core,
killed when the busy half ends (and it stops by itself after --limit
seconds whatever happens). For every workload it alternates short blocks
of calls at 1 thread and at the default thread count (``set_num_threads(0)``:
FASTGRAD_NUM_THREADS, OMP_NUM_THREADS or the CPUs), so both see the same
load, and prints the medians and the ratio default/1 thread, quiet and
busy side by side. The goal (issue 17): busy ratio <= 1.1 for every
workload, quiet ratio <= 1/1.6 for large elementwise and reduction
kernels. The last column is the share of the busy default-thread time
that parallel regions took beyond what serial would have (fastgrad's own
estimate per region, see csrc/fg_parallel.c): on a machine whose load
swings, it shows what the threads cost where the ratio of medians is
noise. The summary lines count the regions, those slower than serial,
and the times the fallback went serial.

Workloads are the fastgrad steps of the other bench_*.py files, imported
from them, plus a physics-informed network step (nested tapes over a
2-32-32-32-1 tanh MLP on 1024 points), the shape that suffered most.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fastgrad as tf  # noqa: E402
from fastgrad import _core  # noqa: E402

# parallel_stats: (regions on threads, slower than serial, run serially by
# the fallback, seconds lost, fallback trips); zeros for builds without it
_stats = getattr(_core, "parallel_stats", lambda: (0, 0, 0, 0.0, 0))

BLOCK_S = 0.005  # seconds of calls per timed block


def _pinn(traced):
    rng = np.random.default_rng(0)
    sizes = [2, 32, 32, 32, 1]
    ws = [tf.Variable((rng.standard_normal((a, b)) / np.sqrt(a)).astype(np.float32))
          for a, b in zip(sizes, sizes[1:])]
    bs = [tf.Variable(np.zeros(b, np.float32)) for b in sizes[1:]]
    pts = tf.constant(rng.uniform(-1, 1, (1024, 2)).astype(np.float32))
    opt_vars = ws + bs

    def net(p):
        h = p
        for i, (w, b) in enumerate(zip(ws, bs)):
            h = tf.matmul(h, w) + b
            if i < len(ws) - 1:
                h = tf.tanh(h)
        return h

    def step(p):
        with tf.GradientTape() as t_params:
            with tf.GradientTape() as t2:
                t2.watch(p)
                with tf.GradientTape() as t1:
                    t1.watch(p)
                    u = net(p)
                du = t1.gradient(u, p)
            d2u = t2.gradient(du, p)  # sum of second derivatives per point
            residual = tf.reduce_sum(d2u, axis=1) + tf.reduce_sum(u, axis=1)
            loss = tf.reduce_mean(tf.square(residual))
        grads = t_params.gradient(loss, opt_vars)
        for v, g in zip(opt_vars, grads):
            v.assign_sub(1e-3 * g)
        return loss

    f = tf.function(step) if traced else step
    return lambda: f(pts)


def _big(case, traced):
    import bench_big
    x_np, w_np, b_np = bench_big._data(case)
    x, w, b = tf.constant(x_np), tf.Variable(w_np), tf.Variable(b_np)

    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(tf.tanh(x * w + b)))
        return tape.gradient(loss, [w, b])
    return tf.function(step) if traced else step


def _function_mlp(traced):
    import bench_function
    step, x, y = bench_function._fg_mlp_step()
    f = tf.function(step) if traced else step
    return lambda: f(x, y)


def _function_chain(traced):
    import bench_function
    x1, x2 = tf.constant(0.5), tf.constant(1.5)
    f = bench_function._fg_chain(bench_function.CHAIN_SHORT)
    f = tf.function(f) if traced else f
    return lambda: f(x1, x2)


def _gd(traced):
    import bench_function
    x = tf.Variable(0.0)
    f = lambda: bench_function._fg_gd_step(x)  # noqa: E731
    return tf.function(f) if traced else f


def _keras(case):
    import bench_keras
    return bench_keras.fastgrad_step(case)


def _rosen_hessian():
    import bench_functional
    x = tf.constant(bench_functional.X_ROSEN)
    h = tf.hessian(bench_functional.rosen_fg)
    return lambda: h(x)


def _core_workload(name):
    import bench_core
    return bench_core.FASTGRAD[name]()


WORKLOADS = {
    "core: seed GD step": lambda: _core_workload("gd"),
    "core: scalar chain 1000 ops": lambda: _core_workload("chain"),
    "core: nested 2nd derivative": lambda: _core_workload("nested"),
    "core: Dense128 step b32": lambda: _core_workload("dense"),
    "core: tanh 4M float32": lambda: _core_workload("big"),
    "big: scalar, eager": lambda: _big("scalar", False),
    "big: scalar, function": lambda: _big("scalar", True),
    "big: vector, eager": lambda: _big("vector", False),
    "big: vector, function": lambda: _big("vector", True),
    "function: gd step, function": lambda: _gd(True),
    "function: chain 1k, eager": lambda: _function_chain(False),
    "function: chain 1k, function": lambda: _function_chain(True),
    "function: mlp step, eager": lambda: _function_mlp(False),
    "function: mlp step, function": lambda: _function_mlp(True),
    "keras: seed004 step": lambda: _keras("seed004"),
    "keras: mlp512 step": lambda: _keras("mlp512"),
    "functional: hessian rosenbrock100": _rosen_hessian,
    "pinn 2-32-32-32-1 x1024, eager": lambda: _pinn(False),
    "pinn 2-32-32-32-1 x1024, function": lambda: _pinn(True),
}


def _block(fn, reps):
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t) / reps


def measure(fn, seconds, min_rounds=5):
    """Medians of per-call times at 1 thread and at the default, from short
    alternating blocks (the order flips each round) for about `seconds`:
    on a machine whose load comes and goes, both counts sample the same
    load, and the medians ignore the blocks a burst hit. Also the share of
    the default-thread time that regions spent beyond what serial would
    have taken (fastgrad's own estimate, from its timing of each region):
    unlike the ratio of medians, it does not move with other processes'
    load."""
    tf.set_num_threads(1)
    fn()
    one = _block(fn, 1)
    reps = max(1, min(1000, int(BLOCK_S / max(one, 1e-7))))
    times = {1: [], 0: []}
    lost = 0.0
    end = time.perf_counter() + seconds
    r = 0
    while r < min_rounds or time.perf_counter() < end:
        for n in ((1, 0) if r % 2 == 0 else (0, 1)):
            tf.set_num_threads(n)
            s0 = _stats()[3]
            times[n].append(_block(fn, reps))
            if n == 0:
                lost += _stats()[3] - s0
        r += 1
    tf.set_num_threads(0)
    return statistics.median(times[1]), statistics.median(times[0]), lost / (sum(times[0]) * reps)


def start_neighbour(limit_s):
    code = "import time\nend = time.time() + %f\nwhile time.time() < end:\n    pass\n" % limit_s
    return subprocess.Popen([sys.executable, "-c", code])


def _fmt(s):
    return "%8.3f ms" % (s * 1e3) if s >= 1e-3 else "%8.1f us" % (s * 1e6)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=1.0, help="per workload and half (quiet, busy)")
    ap.add_argument("--only", default="", help="run workloads whose name contains this")
    ap.add_argument("--limit", type=float, default=600.0, help="neighbour's own time limit (s)")
    args = ap.parse_args(argv)
    tf.set_num_threads(0)
    default = tf.get_num_threads()
    names = [n for n in WORKLOADS if args.only in n]
    fns = {n: WORKLOADS[n]() for n in names}
    print("fastgrad %s, %d CPUs, default threads %d, load average %s; %.1f s of %.0f ms blocks "
          "a workload" % (tf.__version__, os.cpu_count(), default, "%.2f %.2f %.2f" % os.getloadavg(),
                          args.seconds, BLOCK_S * 1e3))
    s0 = _stats()
    quiet = {n: measure(fns[n], args.seconds) for n in names}
    s1 = _stats()
    print("quiet half: %d parallel regions, %d slower than serial (by %.1f ms in all); the "
          "fallback went serial %d times, for %d regions"
          % (s1[0] - s0[0], s1[1] - s0[1], (s1[3] - s0[3]) * 1e3, s1[4] - s0[4], s1[2] - s0[2]))
    s0 = s1
    nb = start_neighbour(args.limit)
    try:
        time.sleep(0.2)
        busy = {}
        for n in names:
            busy[n] = measure(fns[n], args.seconds)
    finally:
        nb.kill()
        nb.wait()
    s1 = _stats()
    hdr = "%-36s %11s %11s %6s | %11s %11s %6s %6s" % (
        "workload", "quiet 1t", "quiet %dt" % default, "ratio", "busy 1t", "busy %dt" % default, "ratio",
        "lost")
    print(hdr)
    print("-" * len(hdr))
    worst = 0.0
    for n in names:
        (q1, qd, _), (b1, bd, lost) = quiet[n], busy[n]
        worst = max(worst, bd / b1)
        print("%-36s %11s %11s %6.2f | %11s %11s %6.2f %5.1f%%" % (
            n, _fmt(q1), _fmt(qd), qd / q1, _fmt(b1), _fmt(bd), bd / b1, 100 * lost))
    print("busy half: %d parallel regions, %d slower than serial (by %.1f ms in all); the "
          "fallback went serial %d times, for %d regions; worst busy ratio %.2f"
          % (s1[0] - s0[0], s1[1] - s0[1], (s1[3] - s0[3]) * 1e3, s1[4] - s0[4], s1[2] - s0[2], worst))


if __name__ == "__main__":
    main()
