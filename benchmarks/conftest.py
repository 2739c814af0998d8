"""Shared benchmark plumbing: record medians, print fastgrad/peer ratios.

Run: python -m pytest benchmarks --benchmark-only  (not part of the default
test run); benchmarks/run.py runs each installed peer in its own process and
writes a table and a chart.
"""
import os
import sys

import pytest

_MEDIANS = {}


@pytest.fixture
def record(benchmark):
    """Call record(workload, framework) after benchmark(...) to keep its median."""
    def _record(workload, framework):
        stats = getattr(benchmark, "stats", None)
        if stats is not None:
            _MEDIANS[(workload, framework)] = stats.stats.median
    return _record


def pytest_terminal_summary(terminalreporter):
    rows = {}
    for (workload, fw), med in _MEDIANS.items():
        rows.setdefault(workload, {})[fw] = med
    if not rows:
        return
    tr = terminalreporter
    tr.section("fastgrad vs peers (median per call)")
    for workload, fws in sorted(rows.items()):
        base = fws.get("fastgrad")
        parts = []
        for fw, med in sorted(fws.items()):
            txt = "%s %.2f us" % (fw, med * 1e6)
            if base and fw != "fastgrad":
                txt += " (fastgrad %.1fx faster)" % (med / base)
            parts.append(txt)
        tr.write_line("%-28s %s" % (workload, "; ".join(parts)))


def pytest_benchmark_update_machine_info(config, machine_info):
    """Versions and thread counts of the frameworks this process ran, for run.py."""
    peers = {}
    import fastgrad
    peers["fastgrad"] = {"version": fastgrad.__version__, "threads": fastgrad.get_num_threads()}
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        peers["PyTorch"] = {"version": torch.__version__, "threads": torch.get_num_threads()}
    if "jax" in sys.modules:
        # XLA's CPU client sizes its pool to the CPUs it may use
        peers["JAX"] = {"version": sys.modules["jax"].__version__,
                        "threads": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                        else os.cpu_count()}
    if "tensorflow" in sys.modules and hasattr(sys.modules["tensorflow"], "config"):
        tf = sys.modules["tensorflow"]
        n = tf.config.threading.get_intra_op_parallelism_threads()
        peers["TensorFlow"] = {"version": tf.__version__, "threads": n or "all CPUs"}
    machine_info["peers"] = peers
