"""Ctrl-C during one long kernel (issue 12, "Hangs").

A child process starts a single BLAS matmul that takes seconds; the parent
sends SIGINT shortly after. The kernel checks for the signal between its
64-row panels, so the child must see KeyboardInterrupt well before the
product would have finished, and then compute correctly again (another op,
a gradient on the very tape that was recording the interrupted op).
"""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from _fgutil import fastgrad_only

pytestmark = fastgrad_only

CHILD = textwrap.dedent(r"""
    import sys, time
    import numpy as np
    import fastgrad as tf

    # size the product to take ~8 s here (rate from a small one, warm), so
    # an uninterruptible kernel could not answer within the parent's deadline
    s = tf.constant(np.ones((1024, 1024)))
    tf.matmul(s, s)
    t = time.perf_counter(); tf.matmul(s, s); rate = 1024 ** 3 / (time.perf_counter() - t)
    n = int(min(6000, max(2000, (8.0 * rate) ** (1 / 3))))
    rng = np.random.default_rng(0)
    a = tf.constant(rng.standard_normal((n, n)))
    x = tf.Variable([1.0, 2.0, 3.0])
    with tf.GradientTape() as tape:
        y0 = x * x
        print("ready", n, round(n ** 3 / rate, 2), flush=True)
        t0 = time.perf_counter()
        try:
            tf.matmul(a, a)
            print("finished", time.perf_counter() - t0, flush=True)
            sys.exit(1)
        except KeyboardInterrupt:
            print("caught", time.perf_counter() - t0, flush=True)
        loss = tf.reduce_sum(y0 * x)  # the same tape goes on recording
    g = tape.gradient(loss, x)
    assert np.array_equal(g.numpy(), [3.0, 12.0, 27.0]), g
    b = rng.standard_normal((300, 200))
    c = rng.standard_normal((200, 100))
    np.testing.assert_allclose(tf.matmul(tf.constant(b), tf.constant(c)).numpy(), b @ c, rtol=1e-12)
    print("ok", flush=True)
""")


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("threads", ["1", "2"])
def test_sigint_stops_a_long_matmul(threads):
    env = dict(os.environ, FASTGRAD_NUM_THREADS=threads, OPENBLAS_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        ready = proc.stdout.readline().split()
        assert ready and ready[0] == "ready", (ready, proc.stderr.read() if proc.poll() is not None else "")
        time.sleep(0.5)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        line = proc.stdout.readline().split()
        latency = time.monotonic() - sent
        rest, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert line and line[0] == "caught", (ready, line, err)
    # a product sized for ~8 s (ready[2]: the child's estimate) answered
    # within ~1.5 s of the signal: it stopped between panels
    assert latency < 1.5, (ready, latency)
    assert rest.split() == ["ok"], (rest, err)
    assert proc.returncode == 0, err
