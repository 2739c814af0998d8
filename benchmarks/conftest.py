"""Shared benchmark plumbing: record medians, print fastgrad/peer ratios.

Run: pytest benchmarks/ --benchmark-only  (not part of the default test run).
"""
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
