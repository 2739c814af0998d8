"""The documented benchmark commands work (without timing anything here):
``python -m pytest benchmarks --benchmark-only`` collects the bench_*.py
files, and benchmarks/run.py's table names workloads, peers and units
right."""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
pytestmark = pytest.mark.skipif(not (BENCH / "run.py").exists(), reason="no benchmarks/ here")


def _runner():
    spec = importlib.util.spec_from_file_location("bench_run", BENCH / "run.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_documented_command_collects_the_bench_files():
    pytest.importorskip("pytest_benchmark")
    env = dict(os.environ)
    proc = subprocess.run([sys.executable, "-m", "pytest", "benchmarks", "--benchmark-only",
                           "--collect-only", "-q", "-p", "no:cacheprovider"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    files = {line.split("::")[0] for line in proc.stdout.splitlines() if "::" in line}
    assert {"benchmarks/bench_core.py", "benchmarks/bench_function.py",
            "benchmarks/bench_functional.py", "benchmarks/bench_keras.py",
            "benchmarks/bench_big.py"} <= files


@pytest.mark.parametrize("name, fullname, expected", [
    ("test_gd_step_fastgrad_function", "", ("gd step, compiled", "fastgrad")),
    ("test_gd_step_jax_jit", "", ("gd step, compiled", "JAX")),
    ("test_gd_step_torch_eager", "", ("gd step, eager", "PyTorch")),
    ("test_chain_1k_tf_function", "", ("chain 1k, compiled", "TensorFlow")),
    ("test_fastgrad[scalar-2-function]", "benchmarks/bench_big.py::test_fastgrad",
     ("big: scalar 2 threads, compiled", "fastgrad")),
    ("test_torch[gd]", "benchmarks/bench_core.py::test_torch", ("core: gd, eager", "PyTorch")),
    ("test_hessian_rosenbrock100_torch_vectorized", "",
     ("hessian rosenbrock100 vectorized, eager", "PyTorch")),
    ("test_first_call_mlp_step", "", ("first call mlp step, compiled", "fastgrad")),
])
def test_workloads_and_peers_are_read_from_test_names(name, fullname, expected):
    assert _runner().classify(name, fullname) == expected


def test_units_follow_the_magnitude():
    fmt = _runner().fmt_time
    assert [fmt(v) for v in (1.1e-7, 2.9e-6, 0.0289596, 2.5)] == ["110 ns", "2.9 µs", "29 ms", "2.5 s"]


def test_table_has_ratios_to_fastgrad():
    md = _runner().markdown({"gd step, eager": {"fastgrad": 2e-6, "PyTorch": 1.36e-4},
                             "gd step, compiled": {"JAX": 7.1e-6}},
                            ["fastgrad", "PyTorch", "JAX"], "a machine")
    lines = md.splitlines()
    assert "| workload | fastgrad | PyTorch | JAX |" in lines
    assert "| gd step, eager | 2 µs | 136 µs (68x) |  |" in lines
    assert "| gd step, compiled |  |  | 7.1 µs |" in lines
    assert lines[-1] == "a machine"
