"""fastgrad.distribute: tensor fusion, the one-process group, and 2-process
runs under ``mpirun -n 2`` on loopback (tests/mpi_scripts/), each launched
with a timeout so a hung rank fails the test instead of the suite.

The MPI tests skip, saying why, where mpirun or mpi4py is missing
(.ci/run installs them: openmpi-bin, libopenmpi-dev, mpi4py)."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from _fgutil import IS_TF, capture_warnings

pytestmark = pytest.mark.skipif(IS_TF, reason="fastgrad.distribute is fastgrad's own")

import fastgrad as tf  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = Path(__file__).resolve().parent / "mpi_scripts"
sys.path.insert(0, str(SCRIPTS))


# ------------------------------------------------------------ launching

def _mpi_missing():
    if shutil.which("mpirun") is None:
        return "mpirun not found"
    try:
        import importlib.util
        if importlib.util.find_spec("mpi4py") is None:
            return "mpi4py not installed"
    except ImportError:
        return "mpi4py not installed"
    return None


_MISSING = _mpi_missing()
needs_mpi = pytest.mark.skipif(
    _MISSING is not None,
    reason="MPI tests need mpirun and mpi4py (%s): apt-get install openmpi-bin libopenmpi-dev; "
           "pip install mpi4py (.ci/run does)" % _MISSING)


def _launcher(n):
    version = subprocess.run(["mpirun", "--version"], capture_output=True, text=True).stdout
    cmd = ["mpirun", "-n", str(n)]
    if "Open MPI" in version or "OpenRTE" in version:
        cmd += ["--oversubscribe", "--mca", "btl", "self,vader,tcp", "--mca", "btl_tcp_if_include",
                "lo", "--mca", "oob_tcp_if_include", "lo"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-run-as-root")
    else:  # MPICH / Intel MPI (hydra): loopback interface
        cmd += ["-iface", "lo"]
    return cmd


def _env(extra=None):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env["FASTGRAD_NUM_THREADS"] = "1"   # two processes share the cores
    env["OMP_NUM_THREADS"] = "1"
    env.update(extra or {})
    return env


def _run(cmd, env, timeout):
    # a session of its own, so a timeout kills mpirun and every rank
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail("%s hung: killed after %s s\nstdout:\n%s\nstderr:\n%s"
                    % (" ".join(cmd), timeout, out, err))
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def mpirun(script, *args, n=2, timeout=180, env=None, check=True):
    cmd = _launcher(n) + [sys.executable, str(SCRIPTS / script), *map(str, args)]
    res = _run(cmd, _env(env), timeout)
    if check:
        assert res.returncode == 0, "%s exited %d\nstdout:\n%s\nstderr:\n%s" % (
            script, res.returncode, res.stdout, res.stderr)
    return res


def python(script, *args, timeout=180):
    res = _run([sys.executable, str(SCRIPTS / script), *map(str, args)], _env(), timeout)
    assert res.returncode == 0, res.stderr
    return res


# ------------------------------------------------------- tensor fusion (C)

def test_fusion_pack_and_unpack_round_trip():
    from fastgrad._core import _fusion_pack, _fusion_unpack
    a = tf.constant(np.arange(6, dtype=np.float32).reshape(2, 3))
    b = tf.Variable(np.float32([7.0, 8.0]))
    c = tf.constant(np.float32(9.0))
    buf = np.full(12, -1.0, np.float32)
    assert _fusion_pack([a, b, c], buf, 2, 2.0) == 11
    assert buf.tolist() == [-1, -1, 0, 2, 4, 6, 8, 10, 14, 16, 18, -1]
    out = _fusion_unpack(buf, 2, [a, b, c], 1.5, 2.0)
    assert [tuple(t.shape) for t in out] == [(2, 3), (2,), ()]
    assert out[0].numpy().tolist() == [[0, 1.5, 3], [4.5, 6, 7.5]]
    assert out[1].numpy().tolist() == [10.5, 12] and float(out[2]) == 13.5
    assert out[0].dtype == tf.float32


def test_fusion_float64_and_errors():
    from fastgrad._core import _fusion_pack, _fusion_unpack
    x = tf.constant([1.0, 2.0], dtype=tf.float64)
    buf = np.zeros(2, np.float64)
    _fusion_pack([x], buf)
    assert _fusion_unpack(buf, 0, [x], 1.0, 3.0)[0].numpy().tolist() == [1 / 3, 2 / 3]
    with pytest.raises(tf.errors.InvalidArgumentError, match="tensor 0 is float64 in a float32 buffer"):
        _fusion_pack([x], np.zeros(2, np.float32))
    with pytest.raises(ValueError, match="holds 1 elements; 2 at offset 0 do not fit"):
        _fusion_pack([x], np.zeros(1, np.float64))
    with pytest.raises(TypeError, match="float32 or float64"):
        _fusion_pack([tf.constant([1, 2])], np.zeros(2, np.int32))


# ---------------------------------------------------- the one-process group

def test_one_process_group_without_a_launcher():
    import fastgrad.distribute as hvd
    hvd.init()
    assert (hvd.rank(), hvd.size(), hvd.local_rank(), hvd.local_size()) == (0, 1, 0, 1)
    assert not hvd.mpi_enabled()
    x = tf.constant([1.0, 2.0])
    assert hvd.allreduce(x).numpy().tolist() == [1.0, 2.0]
    assert hvd.allreduce(x, op=hvd.Sum, prescale_factor=2.0,
                         postscale_factor=0.5).numpy().tolist() == [1.0, 2.0]
    assert hvd.allreduce(x, op=hvd.Sum, prescale_factor=3.0).numpy().tolist() == [3.0, 6.0]
    assert hvd.allgather(tf.constant([[1.0]])).numpy().tolist() == [[1.0]]
    assert hvd.broadcast_object([1, 2]) == [1, 2] and hvd.allgather_object("a") == ["a"]
    with pytest.raises(ValueError, match="root_rank 1 is out of range for 1 ranks"):
        hvd.broadcast(x, root_rank=1)
    with pytest.raises(NotImplementedError, match="Adasum"):
        hvd.allreduce(x, op=hvd.Adasum)
    with pytest.raises(ValueError, match="supersedes average"):
        hvd.allreduce(x, average=True, op=hvd.Sum)


def test_distributed_tape_in_one_process_equals_the_tape():
    import fastgrad.distribute as hvd
    from _problem import train, weights
    hvd.init()
    a, b = weights(), weights()
    la = train(a)
    lb = train(b, wrap_tape=hvd.DistributedGradientTape)
    assert la == lb
    for va, vb in zip(a, b):
        assert np.array_equal(va.numpy(), vb.numpy())


def test_distributed_tape_in_a_function_replays():
    import fastgrad.distribute as hvd
    hvd.init()
    v = tf.Variable(2.0)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            y = v * v
        g = hvd.DistributedGradientTape(tape, gradient_predivide_factor=2.0).gradient(y, v)
        v.assign_sub(0.25 * g)
        return g

    with capture_warnings() as caught:  # fastgrad's logger and Python warnings
        gs = [float(step()) for _ in range(4)]
    assert gs == [4.0, 2.0, 1.0, 0.5]   # each call saw the current v: no stale replay
    assert step.experimental_get_tracing_count() == 1 and not caught


def test_allreduce_op_is_recorded_and_differentiable_in_a_function():
    import fastgrad.distribute as hvd
    hvd.init()
    w = tf.Variable([1.0, 2.0])

    @tf.function
    def f():
        with tf.GradientTape() as tape:
            y = hvd.allreduce(w * 3.0, op=hvd.Sum, prescale_factor=2.0, postscale_factor=0.25)
            loss = tf.reduce_sum(y * y)
        return y, tape.gradient(loss, w)

    for _ in range(2):
        y, g = f()
        assert y.numpy().tolist() == [1.5, 3.0]
        assert g.numpy().tolist() == [4.5, 9.0]   # 2y * 3 * 2 * 0.25
    assert f.experimental_get_tracing_count() == 1


def test_importing_fastgrad_and_keras_does_not_import_mpi4py():
    code = "import sys, fastgrad, fastgrad.keras, fastgrad.distribute; print('mpi4py' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


# --------------------------------------------------------- 2 processes

@needs_mpi
def test_two_processes_equal_one_process_on_the_concatenated_batch(tmp_path):
    from _problem import train, weights
    mpirun("tape_steps.py", tmp_path)
    ref = weights()
    train(ref)
    r0, r1 = (np.load(tmp_path / f"rank{r}.npz") for r in (0, 1))
    for var in ref:
        name = var.name.split(":")[0]
        np.testing.assert_allclose(r0[name], var.numpy(), rtol=1e-5, atol=1e-6)
        assert np.array_equal(r0[name], r1[name])          # bitwise on both ranks
    assert r0["same_bits"].tolist() == [True] * 5          # every step's averaged gradients
    assert int(r0["fused_calls"]) == 5                      # one MPI_Allreduce per step
    # a 300-byte fusion threshold puts w1 alone and b1, w2, b2 together: same numbers
    assert int(r0["split_calls"]) == 10
    np.testing.assert_array_equal(r0["split_w1"], r0["w1"])
    # inside fastgrad.function: traced once, the allreduce replayed as an
    # instruction of the program, one per step, the same training
    np.testing.assert_array_equal(r0["function_w1"], r0["w1"])
    np.testing.assert_array_equal(r1["function_w1"], r0["w1"])
    assert int(r0["function_tracing_count"]) == 1 and int(r0["function_calls"]) == 5
    assert r0["function_warnings"].tolist() == [""]
    # Max is not a table op: that signature runs eagerly, with a note
    assert r0["max_values"].tolist() == [1.0, 2.0, 3.0] == r1["max_values"].tolist()
    assert "runs eagerly" in str(r0["max_warning"][0]) and "MPI collective" in str(r0["max_warning"][0])


@needs_mpi
def test_collectives_and_broadcasts(tmp_path):
    mpirun("api.py", tmp_path)
    r0, r1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    base = np.arange(6.0).reshape(2, 3)
    for r, res in enumerate((r0, r1)):
        assert (res["rank"], res["size"], res["local_rank"], res["local_size"]) == (r, 2, r, 2)
        assert res["average"] == (base * 1.5).tolist()
        assert res["sum"] == (base * 3).tolist()
        assert res["min"] == base.tolist() and res["max"] == (base * 2).tolist()
        assert res["scaled"] == (base * 3 * 2 * 0.25).tolist()
        assert res["average_f64"] == [1.5, 3.0]
        assert res["grouped"] == [(base * 3).tolist(), [1.0], [1, 20]]
        assert res["allgather"] == [[0.0, 0.0], [1.0, 1.0], [1.0, 1.0]]
        assert res["broadcast1"] == (base * 2).tolist()
        # rank 0's values everywhere, each dtype
        assert res["broadcast_variables"] == [[[0.0, 0.0]] * 3, [0.0] * 4, 5]
        assert res["broadcast_object"] == {"from": 1}
        assert res["allgather_object"] == [{"rank": 0}, {"rank": 1}]
        # d/dw of sum over ranks of |sum_k (k+1) w|^2: (r+1) * 2 * 2 * 3w
        assert res["allreduce_grad"] == [12.0 * (r + 1), 24.0 * (r + 1)]
        assert res["replicas"] == 2 and res["reduce_sum"] == 3.0
        assert res["reduce_mean_axis"] == pytest.approx(2 / 3)   # [0] and [1, 1]
        assert res["gather"] == [[0.0, 1.0]]
    assert r0["dataset"] == [[0.0, 1.0], [4.0, 5.0]] and r1["dataset"] == [[2.0, 3.0], [6.0, 7.0]]
    assert r0["arrays"] == [[0.0, 1.0, 2.0], [0, 1, 2]] and r1["arrays"] == [[3.0, 4.0, 5.0], [3, 4, 5]]


@needs_mpi
def test_horovod_keras_script(tmp_path):
    python("horovod_keras.py", tmp_path)
    mpirun("horovod_keras.py", tmp_path)
    ref = np.load(tmp_path / "1_rank0.npz")
    r0, r1 = (np.load(tmp_path / f"2_rank{r}.npz") for r in (0, 1))
    for i in range(4):   # broadcast at the start + averaged gradients: one model
        np.testing.assert_array_equal(r0[f"arr_{i}"], r1[f"arr_{i}"])
        np.testing.assert_allclose(r0[f"arr_{i}"], ref[f"arr_{i}"], rtol=1e-4, atol=2e-5)
    np.testing.assert_array_equal(r0["loss"], r1["loss"])   # MetricAverageCallback
    np.testing.assert_allclose(r0["loss"], ref["loss"], rtol=1e-5)
    np.testing.assert_allclose(r0["accuracy"], ref["accuracy"], rtol=1e-6)
    assert r0["loss"][-1] < 0.6 * r0["loss"][0]
    assert int(r0["iterations"]) == int(ref["iterations"]) == 4 * 10   # 300 rows a rank, 32 a step


@needs_mpi
@pytest.mark.parametrize("shuffle", ["noshuffle", "shuffle"])
def test_strategy_fit_equals_one_process(tmp_path, shuffle):
    python("strategy_fit.py", tmp_path, shuffle)
    mpirun("strategy_fit.py", tmp_path, shuffle)
    ref = np.load(tmp_path / "1_rank0.npz")
    r0, r1 = (np.load(tmp_path / f"2_rank{r}.npz") for r in (0, 1))
    for i in range(4):
        np.testing.assert_array_equal(r0[f"arr_{i}"], r1[f"arr_{i}"])
        np.testing.assert_allclose(r0[f"arr_{i}"], ref[f"arr_{i}"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(r0["loss"], ref["loss"], rtol=1e-5)
    np.testing.assert_allclose(r0["accuracy"], ref["accuracy"], rtol=1e-6)
    assert r0["loss"][-1] < r0["loss"][0]


@needs_mpi
def test_distributed_digits_example_on_two_processes():
    one = _run([sys.executable, str(ROOT / "examples" / "distributed_digits.py")], _env(), 180)
    two = _run(_launcher(2) + [sys.executable, str(ROOT / "examples" / "distributed_digits.py")],
               _env(), 180)
    assert one.returncode == 0 and two.returncode == 0, one.stderr + two.stderr
    assert "workers: 2" in two.stdout and "identical weights on every worker: True" in two.stdout
    acc = [float(re.search(r"test accuracy: ([\d.]+)", o.stdout).group(1)) for o in (one, two)]
    loss = [float(re.search(r"test loss: ([\d.]+)", o.stdout).group(1)) for o in (one, two)]
    assert acc[1] >= 0.95 and abs(acc[0] - acc[1]) <= 0.01 and abs(loss[0] - loss[1]) <= 2e-3
    assert re.search(r"allreduce: \d+ calls, 19244 bytes each", two.stdout)   # 4,810 weights + the loss
    assert two.stdout.count("Epoch 20/20") == 1   # the chief prints, the other worker does not


@needs_mpi
def test_a_rank_that_raises_ends_the_job(tmp_path):
    res = mpirun("failure.py", "raise", check=False, timeout=120)
    assert res.returncode != 0
    assert "fastgrad.distribute: rank 1 of 2 raised RuntimeError: rank 1 fails on purpose" in res.stderr
    assert "[rank 1] RuntimeError: rank 1 fails on purpose" in res.stderr
    assert "finished" not in res.stdout


@needs_mpi
def test_gradient_list_mismatch_is_named_on_every_rank(tmp_path):
    res = mpirun("failure.py", "mismatch", timeout=120)
    # the two ranks' lines reach mpirun's stdout independently and may end up
    # on one line: look for each rank's message in the whole output
    out = res.stdout
    assert re.search(r"rank 0: ValueError: fastgrad.distribute: the ranks disagree on the tensors of "
                     r"DistributedGradientTape.gradient: rank 0 has 2 tensors, rank 1 has 3", out), out
    assert re.search(r"rank 1: ValueError: fastgrad.distribute: the ranks disagree on the tensors of "
                     r"DistributedGradientTape.gradient: rank 1 has 3 tensors, rank 0 has 2", out), out
    assert out.count("ValueError") == 2, out


@needs_mpi
def test_a_rank_that_stops_calling_times_out_the_others(tmp_path):
    res = mpirun("failure.py", "timeout", check=False, timeout=120,
                 env={"FASTGRAD_DISTRIBUTE_TIMEOUT": "3"})
    assert res.returncode != 0
    assert ("DistributedGradientTape.gradient did not complete within 3 s on rank 0 of 2"
            in res.stderr), res.stderr
    assert "rank 0 of 2 raised TimeoutError" in res.stderr
