"""fastgrad.distribute benchmarks.

    pytest benchmarks/bench_distribute.py --benchmark-only -s

- Tensor fusion of the 64-512-512-1 MLP's gradients (296,449 float32, 6
  tensors) into one buffer and back: the C pack/unpack
  (csrc/fg_fusion.c) against NumPy's C-level ``concatenate`` into the same
  preallocated buffer (plus NumPy views converted back to tensors).
- Data-parallel step time (the split step Model.fit runs, and the whole
  step as one fastgrad.function holding the allreduce) of the digits MLP (64-64-10, batch 64) and the
  64-512-512-1 MLP (batch 256) at 1 process (no MPI), 1 process under
  ``mpirun -n 1`` and 2 processes under ``mpirun -n 2`` (one thread
  each, a batch per process), with the MPI_Allreduce time per step and the
  bytes reduced per step (distribute_worker.py runs in each process).
  Skipped without mpirun and mpi4py.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fastgrad as tf
from fastgrad._core import _fusion_pack, _fusion_unpack

ROOT = Path(__file__).resolve().parents[1]
SHAPES = [(64, 512), (512,), (512, 512), (512,), (512, 1), (1,)]


@pytest.fixture(scope="module")
def grads():
    rng = np.random.default_rng(0)
    return [tf.constant(rng.normal(size=s).astype(np.float32)) for s in SHAPES]


def test_fusion_c(benchmark, grads):
    buf = np.empty(sum(int(np.prod(s)) for s in SHAPES), np.float32)

    def round_trip():
        _fusion_pack(grads, buf)
        return _fusion_unpack(buf, 0, grads, 1.0, 2.0)
    out = benchmark(round_trip)
    np.testing.assert_array_equal(out[2].numpy(), grads[2].numpy() / 2)


def test_fusion_numpy_concatenate(benchmark, grads):
    buf = np.empty(sum(int(np.prod(s)) for s in SHAPES), np.float32)
    offsets = np.cumsum([0] + [int(np.prod(s)) for s in SHAPES])

    def round_trip():
        np.concatenate([np.asarray(g).reshape(-1) for g in grads], out=buf)
        np.multiply(buf, 0.5, out=buf)
        return [tf.constant(buf[a:b].reshape(s)) for a, b, s in zip(offsets, offsets[1:], SHAPES)]
    out = benchmark(round_trip)
    np.testing.assert_array_equal(out[2].numpy(), grads[2].numpy() / 2)


def _launch(n):
    env = dict(os.environ, PYTHONPATH=str(ROOT), FASTGRAD_NUM_THREADS="1", OMP_NUM_THREADS="1")
    worker = [sys.executable, str(ROOT / "benchmarks" / "distribute_worker.py"), "50", "5"]
    if n == 0:
        cmd = worker
    else:
        cmd = ["mpirun", "-n", str(n), "--oversubscribe", "--mca", "btl", "self,vader,tcp",
               "--mca", "btl_tcp_if_include", "lo", "--mca", "oob_tcp_if_include", "lo"]
        if os.geteuid() == 0:
            cmd.append("--allow-run-as-root")
        cmd += worker
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


@pytest.mark.skipif(shutil.which("mpirun") is None, reason="needs mpirun and mpi4py")
def test_data_parallel_step(benchmark):
    pytest.importorskip("mpi4py")
    rows = benchmark.pedantic(lambda: _launch(0) + _launch(1) + _launch(2), rounds=1, iterations=1)
    print("\nmodel           procs  MPI   step (us)  allreduce/step (us)  share  bytes/step")
    for r in rows:
        print("%-15s %5d  %-5s %10.0f  %19.0f  %4.0f%%  %10d" % (
            r["model"], r["processes"], r["mpi"], r["step_us"], r["allreduce_us"],
            100 * r["allreduce_us"] / r["step_us"], r["bytes_per_step"]))
    benchmark.extra_info["rows"] = rows
    assert {(r["model"], r["processes"]) for r in rows} >= {("digits", 2), ("mlp512", 2)}
