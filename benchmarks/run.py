"""Run the benchmark suite against every installed peer; write a table and a chart.

    python benchmarks/run.py              # short run (about a minute a peer)
    python benchmarks/run.py --full       # every workload, pytest-benchmark's timing
    python benchmarks/run.py --python tensorflow=/path/to/tfenv/bin/python

Each peer (fastgrad, PyTorch, JAX, TensorFlow) that is importable runs the
bench_*.py workloads written for it, in its own pytest process (so no two
frameworks share a process, its thread pools or its allocator), writing
pytest-benchmark JSON. The results go to ``--out`` (default
``benchmarks/results``): ``results.md``, a Markdown table of medians with each
peer's ratio to fastgrad in the same row (eager beside eager, compiled
beside compiled: ``fastgrad.function``, ``jax.jit``, ``tf.function``), and
``results.png``, a bar chart on a log scale, one group per workload, with the
machine, the versions and the thread counts written on it (needs matplotlib;
skipped with a note without it).
"""
import argparse
import importlib.util
import json
import os
import platform
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# peer -> (module that must be importable, pytest -k expression for its tests)
PEERS = {
    "fastgrad": ("fastgrad", "not (torch or jax or tf_function or tf_eager)"),
    "PyTorch": ("torch", "torch"),
    "JAX": ("jax", "jax"),
    "TensorFlow": ("tensorflow", "tf_function or tf_eager"),
}
# the short default: no 4M-element or 100,000-op workloads, no wide MLP
QUICK_DESELECT = "not big and not 100k and not mlp512"
QUICK_TIMING = ["--benchmark-min-rounds=5", "--benchmark-max-time=0.1", "--benchmark-warmup=off"]

# name tokens -> (peer, mode, note); longest first
_TOKENS = [
    ("fastgrad_function", "fastgrad", "compiled", ""),
    ("fastgrad_eager", "fastgrad", "eager", ""),
    ("fastgrad_hessian", "fastgrad", "eager", "tf.hessian"),
    ("torch_vectorized", "PyTorch", "eager", "vectorized"),
    ("torch_eager", "PyTorch", "eager", ""),
    ("tf_function", "TensorFlow", "compiled", ""),
    ("tf_eager", "TensorFlow", "eager", ""),
    ("jax_jit", "JAX", "compiled", ""),
    ("fastgrad", "fastgrad", "eager", ""),
    ("torch", "PyTorch", "eager", ""),
    ("jax", "JAX", "compiled", ""),
]


def classify(name, fullname=""):
    """'test_gd_step_fastgrad_function' -> ('gd step, compiled', 'fastgrad')."""
    base, _, params = name.partition("[")
    params = params.rstrip("]")
    base = base[len("test_"):] if base.startswith("test_") else base
    for token, peer, mode, note in _TOKENS:
        m = re.search(r"(^|_)%s(_|$)" % token, base)
        if m:
            base = (base[:m.start()] + "_" + base[m.end():]).strip("_")
            break
    else:  # fastgrad's own workloads (test_first_call_chain_1k: a traced first call)
        peer, mode, note = "fastgrad", "compiled" if "first_call" in base else "eager", ""
    parts = []
    for p in params.split("-") if params else []:
        if p in ("eager", "function"):
            mode = "compiled" if p == "function" else "eager"
        elif p.isdigit() and ("threads" in base or not base):
            parts.append("%s thread%s" % (p, "" if p == "1" else "s"))
        else:
            parts.append(p)
    if not base:  # test_fastgrad[gd]: the file names the workload family
        m = re.search(r"bench_(\w+)\.py", fullname)
        base = m.group(1) + ":" if m else ""
    workload = " ".join(x for x in [base.replace("_", " ")] + parts + ([note] if note else []) if x)
    return "%s, %s" % (workload, mode), peer


def fmt_time(seconds):
    """Units by magnitude: 12.3 ns, 4.56 µs, 7.89 ms, 1.23 s."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            v = seconds / scale
            break
    else:
        unit, v = "ns", seconds / 1e-9
    return ("%.3g" % v if v < 100 else "%.0f" % v) + " " + unit


def run_peer(peer, python, files, quick, out):
    module, expr = PEERS[peer]
    json_path = os.path.join(out, "raw-%s.json" % module)
    sel = "(%s) and (%s)" % (expr, QUICK_DESELECT) if quick else expr
    cmd = [python, "-m", "pytest", *files, "--benchmark-only", "-p", "no:cacheprovider", "-q",
           "-k", sel, "--benchmark-json=" + json_path] + (QUICK_TIMING if quick else [])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([ROOT] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    print("==", peer, ":", " ".join(cmd[1:]), flush=True)
    proc = subprocess.run(cmd, cwd=ROOT, env=env)
    if proc.returncode not in (0, 5) or not os.path.exists(json_path):  # 5: nothing selected
        print("   %s: pytest exited %d" % (peer, proc.returncode), file=sys.stderr)
        return None
    with open(json_path) as f:
        return json.load(f)


def collect(results):
    """{workload: {peer: median seconds}}, plus the machine and peer info."""
    rows, info = {}, {}
    for data in results:
        mi = data.get("machine_info", {})
        info.setdefault("machine", mi)
        info.setdefault("peers", {}).update(mi.get("peers", {}))
        for b in data.get("benchmarks", []):
            workload, peer = classify(b["name"], b.get("fullname", ""))
            rows.setdefault(workload, {})[peer] = b["stats"]["median"]
    return rows, info


def describe(info):
    mi = info.get("machine", {})
    cpu = mi.get("cpu", {}).get("brand_raw") or platform.processor() or platform.machine()
    ncpu = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    peers = ", ".join("%s %s (%s threads)" % (name, p.get("version", "?"), p.get("threads", "?"))
                      for name, p in sorted(info.get("peers", {}).items()))
    return ("%s, %d CPUs, load %.2f; Python %s, %s" % (cpu, ncpu, load, platform.python_version(), peers))


def markdown(rows, peers, machine):
    lines = ["| workload | " + " | ".join(peers) + " |", "|---" * (len(peers) + 1) + "|"]
    for workload in sorted(rows):
        base = rows[workload].get("fastgrad")
        cells = []
        for peer in peers:
            med = rows[workload].get(peer)
            if med is None:
                cells.append("")
            elif peer != "fastgrad" and base:
                cells.append("%s (%.3gx)" % (fmt_time(med), med / base))
            else:
                cells.append(fmt_time(med))
        lines.append("| %s | %s |" % (workload, " | ".join(cells)))
    return ("Medians of pytest-benchmark rounds; (Nx): the peer's median over fastgrad's "
            "in the same row (above 1: fastgrad is faster).\n\n" + "\n".join(lines)
            + "\n\n" + machine + "\n")


def chart(rows, peers, machine, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no chart (pip install matplotlib)", file=sys.stderr)
        return False
    names = sorted(rows)
    width = 0.8 / max(len(peers), 1)
    fig, ax = plt.subplots(figsize=(max(8, 0.55 * len(names) * max(len(peers), 1) ** 0.5 + 3), 6))
    for i, peer in enumerate(peers):
        xs = [j + (i - (len(peers) - 1) / 2) * width for j, n in enumerate(names) if peer in rows[n]]
        ys = [rows[n][peer] * 1e6 for n in names if peer in rows[n]]
        ax.bar(xs, ys, width, label=peer)
    ax.set_yscale("log")
    ax.set_ylabel("median time per call (µs, log scale)")
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=60, ha="right", fontsize=7)
    ax.legend()
    ax.set_title("fastgrad and peers: lower is faster", fontsize=10)
    fig.text(0.01, 0.005, machine, fontsize=6, wrap=True)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    fig.savefig(path, dpi=120)
    return True


def _peer(name):
    """'tensorflow', 'TensorFlow', 'torch', 'pytorch' -> the PEERS key."""
    for peer, (module, _) in PEERS.items():
        if name.strip().lower() in (peer.lower(), module):
            return peer
    raise SystemExit("unknown peer %r (one of %s)" % (name, ", ".join(PEERS)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--full", action="store_true", help="every workload, default timing (long)")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--peers", default=",".join(PEERS),
                    help="comma-separated subset of " + ", ".join(PEERS))
    ap.add_argument("--python", action="append", default=[], metavar="PEER=PATH",
                    help="run a peer with another interpreter (its own virtualenv)")
    ap.add_argument("files", nargs="*", help="bench files (default: benchmarks/bench_*.py)")
    args = ap.parse_args(argv)
    pythons = {_peer(k): v for k, v in (p.split("=", 1) for p in args.python)}
    files = args.files or sorted(os.path.join("benchmarks", f) for f in os.listdir(HERE)
                                 if f.startswith("bench_") and f.endswith(".py"))
    os.makedirs(args.out, exist_ok=True)
    results, ran = [], []
    for peer in map(_peer, args.peers.split(",")):
        python = pythons.get(peer, sys.executable)
        if peer not in pythons and importlib.util.find_spec(PEERS[peer][0]) is None:
            print("== %s: not installed, skipped" % peer)
            continue
        data = run_peer(peer, python, files, not args.full, args.out)
        if data and data.get("benchmarks"):
            results.append(data)
            ran.append(peer)
    rows, info = collect(results)
    machine = describe(info)
    md = markdown(rows, ran, machine)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(md)
    print(md)
    png = os.path.join(args.out, "results.png")
    if chart(rows, ran, machine, png):
        print("chart:", png)
    return 0 if results else 1


if __name__ == "__main__":
    sys.exit(main())
