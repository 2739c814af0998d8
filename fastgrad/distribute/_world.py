"""The process group and its collectives: MPI through mpi4py, or one process.

Everything that moves tensor values between processes is here. Floating
tensors are reduced by tensor fusion (Horovod's): the values of a list
are packed in C (``fastgrad._core._fusion_pack``, csrc/fg_fusion.c) into
one preallocated contiguous buffer per dtype, reduced with a single
in-place ``MPI_Allreduce`` through mpi4py's buffer interface (no
pickling), and unpacked in C into new tensors, the average's division
done in the same pass. Lists bigger than the fusion threshold go in
several buffers, each at most the threshold (a tensor bigger than it goes
alone).

Without mpi4py, or outside ``mpirun``, the world is this one process and
every collective is the identity, so a script runs unchanged on a laptop.
"""
import atexit
import os
import sys
import threading
import time
import traceback
import zlib

import numpy as np

from fastgrad import _core
from fastgrad._core import _TensorBase

#: Horovod's default fusion threshold (HOROVOD_FUSION_THRESHOLD): 64 MiB
DEFAULT_FUSION_THRESHOLD = 64 * 1024 * 1024

# what mpirun/mpiexec (OpenMPI, MPICH, Intel MPI, MVAPICH) and srun set in each process
_LAUNCHER_VARS = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MV2_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK")
_NOT_INITIALIZED = "fastgrad.distribute has not been initialized; use fastgrad.distribute.init()."
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


class _World:
    """The initialized process group (one per process)."""

    def __init__(self, comm, mpi):
        self.comm, self.MPI = comm, mpi
        if comm is None:
            self.rank, self.size, self.local_rank, self.local_size = 0, 1, 0, 1
            self.cross_rank, self.cross_size = 0, 1
        else:
            self.rank, self.size = comm.Get_rank(), comm.Get_size()
            local = comm.Split_type(mpi.COMM_TYPE_SHARED, key=self.rank)
            self.local_rank, self.local_size = local.Get_rank(), local.Get_size()
            local.Free()
            cross = comm.Split(self.local_rank, self.rank)
            self.cross_rank, self.cross_size = cross.Get_rank(), cross.Get_size()
            cross.Free()
        self.buffers = {}      # numpy dtype -> the reusable fusion buffer
        self.check = np.zeros(4, np.int64)
        self.calls = 0         # collectives checked so far: every rank must agree
        self.stats = {"allreduce_calls": 0, "allreduce_bytes": 0, "allreduce_seconds": 0.0}
        env = os.environ.get("FASTGRAD_FUSION_THRESHOLD", os.environ.get("HOROVOD_FUSION_THRESHOLD"))
        self.fusion_threshold = DEFAULT_FUSION_THRESHOLD if env is None else int(env)
        timeout = os.environ.get("FASTGRAD_DISTRIBUTE_TIMEOUT")
        self.timeout = float(timeout) if timeout else None
        self.check_lists = os.environ.get("FASTGRAD_DISTRIBUTE_CHECK", "1") != "0"

    def buffer(self, dtype, count):
        buf = self.buffers.get(dtype)
        if buf is None or buf.shape[0] < count:
            buf = self.buffers[dtype] = np.empty(max(count, 1024), dtype)
        return buf


_world = None
_lock = threading.Lock()
_hook_installed = False


def _launched():
    """The process count an MPI launcher (mpirun, mpiexec, srun) announced, else None."""
    for var in _LAUNCHER_VARS:
        if var in os.environ:
            n = os.environ[var]
            return int(n) if n.isdigit() and "RANK" not in var else -1  # -1: some count
    return None


def _import_mpi(comm):
    """mpi4py's MPI when this process was started by an MPI launcher (or is
    given a communicator); None for a plain ``python script.py``, whose
    group is itself (a singleton MPI_Init would only cost time)."""
    n = _launched()
    if comm is None and n is None:
        return None
    try:
        from mpi4py import MPI
    except ImportError as e:
        if comm is None and n == 1:
            return None
        raise ImportError(
            "fastgrad.distribute needs mpi4py to run over %s processes (%s); install it with "
            "pip install 'fastgrad[mpi]' (and an MPI such as OpenMPI)" % (n if n and n > 0 else "several", e)) from e
    return MPI


def init(comm=None):
    """Start (or join) the process group: all ranks of ``mpirun``, an
    mpi4py communicator, or a list of ranks of MPI_COMM_WORLD
    (``hvd.init``). Outside an MPI launcher the group is this one process
    (mpi4py is not imported).

    Installs an exception hook: a rank whose script raises prints its
    traceback and calls ``MPI_Abort``, so the others stop instead of
    waiting in a collective for it forever.

    >>> import fastgrad.distribute as hvd
    >>> hvd.init()
    >>> hvd.size() >= 1
    True
    """
    global _world
    with _lock:
        if _world is not None and comm is None:
            return
        mpi = _import_mpi(comm)
        if mpi is None:
            _world = _World(None, None)
            _core._set_allreduce_transport(_transport)
            return
        if comm is None:
            comm = mpi.COMM_WORLD
        elif isinstance(comm, (list, tuple)):
            group = mpi.COMM_WORLD.Get_group().Incl(list(comm))
            comm = mpi.COMM_WORLD.Create(group)
            if comm == mpi.COMM_NULL:
                raise ValueError("this rank (%d) is not in the ranks given to init: %s"
                                 % (mpi.COMM_WORLD.Get_rank(), list(comm)))
        _world = _World(comm.Dup(), mpi)
        if _world.size > 1:
            _install_abort_hook()
    _core._set_allreduce_transport(_transport)


def shutdown():
    """Leave the process group (``hvd.shutdown``); ``init`` may be called again."""
    global _world
    with _lock:
        if _world is not None and _world.comm is not None:
            _world.comm.Free()
        _world = None
        _core._set_allreduce_transport(None)


def is_initialized():
    return _world is not None


def world():
    if _world is None:
        raise ValueError(_NOT_INITIALIZED)
    return _world


def mpi_enabled():
    """Whether collectives go through MPI (False: a one-process group)."""
    return world().comm is not None


def _install_abort_hook():
    global _hook_installed
    if _hook_installed:
        return
    _hook_installed = True
    previous = sys.excepthook

    def hook(etype, value, tb):
        w = _world
        if w is None or w.comm is None or w.size < 2 or issubclass(etype, KeyboardInterrupt):
            return previous(etype, value, tb)
        text = "".join(traceback.format_exception(etype, value, tb))
        sys.stderr.write("".join("[rank %d] %s\n" % (w.rank, line) for line in text.splitlines()))
        sys.stderr.write("fastgrad.distribute: rank %d of %d raised %s: %s; calling MPI_Abort so "
                         "the other ranks stop instead of waiting for it\n"
                         % (w.rank, w.size, etype.__name__, value))
        sys.stderr.flush()
        w.MPI.COMM_WORLD.Abort(1)

    sys.excepthook = hook
    atexit.register(lambda: setattr(sys, "excepthook", previous))


# ------------------------------------------------------------------ waiting

def _wait(w, request, what):
    """Wait for a nonblocking collective, within the timeout when one is set
    (FASTGRAD_DISTRIBUTE_TIMEOUT): a rank that stopped calling collectives
    (it died, or returned early) must not leave the others blocked forever."""
    if w.timeout is None:
        request.Wait()
        return
    deadline = time.monotonic() + w.timeout
    pause = 1e-6
    while not request.Test():
        if time.monotonic() > deadline:
            raise TimeoutError(
                "fastgrad.distribute: %s did not complete within %g s on rank %d of %d: another "
                "rank failed or stopped calling collectives (FASTGRAD_DISTRIBUTE_TIMEOUT)"
                % (what, w.timeout, w.rank, w.size))
        time.sleep(pause)
        pause = min(pause * 2, 1e-3)


def _allreduce_inplace(w, buf, op, what):
    if w.timeout is None:
        w.comm.Allreduce(w.MPI.IN_PLACE, buf, op=op)
    else:
        _wait(w, w.comm.Iallreduce(w.MPI.IN_PLACE, buf, op=op), what)


# --------------------------------------------------------- list agreement

def _describe(t):
    return "None" if t is None else "%s%s" % (t.dtype.name, list(t.shape))


_signatures: dict = {}  # (extra, (dtype, shape) per tensor) -> (digest, text)


def _signature(tensors, extra):
    key = (extra,) + tuple(None if t is None else (t.dtype, t.shape) for t in tensors)
    found = _signatures.get(key)
    if found is None:
        text = "%s|%s" % (extra, ";".join(_describe(t) for t in tensors))
        # crc32 twice over: a deterministic 62-bit digest (str hashes are salted per process)
        found = (zlib.crc32(text.encode()) << 30) ^ zlib.crc32(text[::-1].encode()), text
        if len(_signatures) < 4096:
            _signatures[key] = found
    return found


_NUMPY_DTYPES: dict = {}


def _numpy_dtype(t):
    d = _NUMPY_DTYPES.get(t.dtype)
    if d is None:
        d = _NUMPY_DTYPES[t.dtype] = np.dtype(t.dtype.as_numpy_dtype)
    return d


def _start_check(w, tensors, extra):
    """Start comparing the tensor list's signature and the count of checked
    collectives across ranks: an allreduce of (h, -h, n, -n) with MAX gives
    max and -min of each, equal only when every rank has the same. It runs
    while the caller packs."""
    digest, text = _signature(tensors, extra)
    return _start_digest_check(w, digest), text


def _start_digest_check(w, digest):
    w.calls += 1
    w.check[:] = digest, -digest, w.calls, -w.calls
    return w.comm.Iallreduce(w.MPI.IN_PLACE, w.check, op=w.MPI.MAX)


def _finish_check(w, request, text, what):
    _wait(w, request, what)
    if w.check[2] != -w.check[3]:
        counts = w.comm.allgather(w.calls)
        raise RuntimeError(
            "fastgrad.distribute: the ranks are out of step in %s: it is collective #%s on the "
            "ranks (a rank skipped or repeated one, e.g. a fastgrad.function retraced on one "
            "rank only after its allreduce)" % (what, ", #".join(map(str, counts))))
    if w.check[0] == -w.check[1]:
        return
    if text is None:
        raise ValueError("fastgrad.distribute: the ranks disagree on the tensors of %s "
                         "(their dtypes or shapes differ)" % what)
    texts = w.comm.allgather(text)
    lists = [t.split("|", 1)[1].split(";") if "|" in t else [] for t in texts]
    mine = lists[w.rank]
    lines = []
    for r, other in enumerate(lists):
        if other == mine:
            continue
        if len(other) != len(mine):
            lines.append("rank %d has %d tensors, rank %d has %d" % (w.rank, len(mine), r, len(other)))
        for i, (a, b) in enumerate(zip(mine, other)):
            if a != b:
                lines.append("tensor %d is %s on rank %d but %s on rank %d" % (i, a, w.rank, b, r))
                break
        if texts[r].split("|", 1)[0] != texts[w.rank].split("|", 1)[0]:
            lines.append("rank %d calls %s, rank %d %s" % (w.rank, texts[w.rank].split("|", 1)[0],
                                                           r, texts[r].split("|", 1)[0]))
    raise ValueError("fastgrad.distribute: the ranks disagree on the tensors of %s: %s"
                     % (what, "; ".join(lines) or "(lists differ)"))


# ------------------------------------------------------------- allreduce

SUM, AVERAGE, MIN, MAX = "sum", "average", "min", "max"


def _mpi_op(w, op):
    return {SUM: w.MPI.SUM, AVERAGE: w.MPI.SUM, MIN: w.MPI.MIN, MAX: w.MPI.MAX}[op]


def _groups(tensors, itemsize, threshold):
    """Consecutive runs of tensors whose bytes stay within the threshold
    (0: one tensor per run, no fusion)."""
    group, nbytes = [], 0
    for t in tensors:
        b = t.t_size * itemsize
        if group and nbytes + b > threshold:
            yield group
            group, nbytes = [], 0
        group.append(t)
        nbytes += b
    if group:
        yield group


class _Item:
    __slots__ = ("index", "tensor", "t_size")

    def __init__(self, index, tensor):
        self.index, self.tensor = index, tensor
        self.t_size = tensor.shape.num_elements()


def allreduce_list(tensors, op=AVERAGE, prescale=1.0, postscale=1.0, what="allreduce"):
    """Reduce each tensor of a list across ranks (None entries stay None):
    ``op`` is SUM, AVERAGE, MIN or MAX; the values are multiplied by
    ``prescale`` before the reduction and by ``postscale`` after it. The
    floating tensors travel fused, one MPI_Allreduce per fusion buffer."""
    w = world()
    tensors = [t if t is None or isinstance(t, _TensorBase) else _core.convert_to_tensor(t)
               for t in tensors]
    if op not in (SUM, AVERAGE, MIN, MAX):
        raise ValueError("fastgrad.distribute: unknown reduction op %r" % (op,))
    if (prescale != 1.0 or postscale != 1.0) and op in (MIN, MAX):
        raise ValueError("prescale_factor and postscale_factor apply to Sum and Average only")
    divisor = float(w.size) if op == AVERAGE else 1.0
    out = list(tensors)
    if w.comm is None:
        if prescale == 1.0 and postscale == 1.0:
            return out
        divisor = 1.0
    if _core.tracing():
        if op in (SUM, AVERAGE) and all(t is None or _numpy_dtype(t) in _FLOATS
                                        for t in tensors):
            return _allreduce_recorded(w, tensors, op, prescale, postscale, divisor)
        # the values cross to other processes outside the table: a replay could not repeat that
        _core._trace_unsupported("an MPI collective (fastgrad.distribute: %s of non-float "
                                 "tensors or with Min/Max)" % what)
    request = None
    if w.comm is not None and w.check_lists:
        request, text = _start_check(w, tensors, "%s(%s)" % (what, op))
    by_dtype = {}
    others = []
    for i, t in enumerate(tensors):
        if t is None:
            continue
        d = _numpy_dtype(t)
        if d in _FLOATS:
            by_dtype.setdefault(d, []).append(_Item(i, t))
        else:
            others.append(i)
    if request is not None:
        _finish_check(w, request, text, what)
    threshold = w.fusion_threshold
    for d in sorted(by_dtype, key=str):
        for group in _groups(by_dtype[d], d.itemsize, threshold):
            count = sum(item.t_size for item in group)
            buf = w.buffer(d, count)
            like = [item.tensor for item in group]
            _core._fusion_pack(like, buf, 0, prescale)
            if w.comm is not None:
                view = buf[:count]
                t0 = time.perf_counter()
                _allreduce_inplace(w, view, _mpi_op(w, op), what)
                w.stats["allreduce_seconds"] += time.perf_counter() - t0
                w.stats["allreduce_calls"] += 1
                w.stats["allreduce_bytes"] += count * d.itemsize
            for item, r in zip(group, _core._fusion_unpack(buf, 0, like, postscale, divisor)):
                out[item.index] = r
    for i in others:
        out[i] = _allreduce_integer(w, tensors[i], op, prescale, postscale, what)
    return out


def _allreduce_recorded(w, tensors, op, prescale, postscale, divisor):
    """allreduce_list as the table's allreduce op (one per dtype and fusion
    buffer) and slices of its result: what fastgrad.function records and
    replays, and tapes differentiate."""
    out = list(tensors)
    by_dtype = {}
    for i, t in enumerate(tensors):
        if t is not None:
            by_dtype.setdefault(_numpy_dtype(t), []).append(_Item(i, t))
    slice_op, reshape_op = _core.OPS["strided_slice"], _core.OPS["reshape"]
    for d in sorted(by_dtype, key=str):
        for group in _groups(by_dtype[d], d.itemsize, w.fusion_threshold):
            like = [item.tensor for item in group]
            digest = _signature(like, "allreduce(%s)" % op)[0]
            fused = _core._allreduce_op(like, op == AVERAGE, prescale, postscale, divisor, digest)
            off = 0
            for item in group:
                shape = tuple(item.tensor.shape)
                part = _core.apply(slice_op, [fused], [off, 1, item.t_size])
                out[item.index] = _core.apply(reshape_op, [part], [len(shape), *shape])
                off += item.t_size
    return out


def _transport(buf, op, digest):
    """The allreduce op's transport (csrc/fg_fusion.c calls it through the
    binding): check the list's digest across ranks, then sum buf in place."""
    w = world()
    if w.comm is None:
        return
    what = "an allreduce recorded by fastgrad.function"
    if w.check_lists:
        _finish_check(w, _start_digest_check(w, digest), None, what)
    t0 = time.perf_counter()
    _allreduce_inplace(w, buf, w.MPI.SUM, what)
    w.stats["allreduce_seconds"] += time.perf_counter() - t0
    w.stats["allreduce_calls"] += 1
    w.stats["allreduce_bytes"] += buf.nbytes


def _allreduce_integer(w, t, op, prescale, postscale, what):
    # integers are not fused (gradients are floating); Average floors, as
    # integer division does
    arr = np.array(t.numpy(), copy=True)
    if prescale != 1.0:
        arr = (arr * prescale).astype(arr.dtype)
    if w.comm is not None:
        flat = arr.reshape(-1)
        _allreduce_inplace(w, flat, _mpi_op(w, op), what)
        arr = flat.reshape(arr.shape)
    if postscale != 1.0:
        arr = (arr * postscale).astype(arr.dtype)
    if op == AVERAGE:
        arr = arr // w.size
    return _core.convert_to_tensor(arr)


# ------------------------------------------------- gather and broadcast

def allgather_array(arr, what="allgather"):
    """Concatenate each rank's array along axis 0 (the first dimension may differ)."""
    w = world()
    arr = np.ascontiguousarray(arr)
    if w.comm is None:
        return arr.copy()
    shapes = w.comm.allgather(arr.shape)
    for r, s in enumerate(shapes):
        if len(s) != arr.ndim or tuple(s[1:]) != arr.shape[1:]:
            raise ValueError("fastgrad.distribute: %s needs equal shapes but for the first "
                             "dimension; rank %d has %s, rank %d has %s"
                             % (what, w.rank, arr.shape, r, tuple(s)))
    counts = [int(np.prod(s)) for s in shapes]
    out = np.empty((sum(s[0] for s in shapes),) + arr.shape[1:], arr.dtype)
    w.comm.Allgatherv(arr.reshape(-1), [out.reshape(-1), counts])
    return out


def broadcast_arrays(arrays, root_rank, what="broadcast"):
    """Each array replaced by root's (in place; shapes and dtypes must agree)."""
    w = world()
    if not 0 <= root_rank < w.size:
        raise ValueError("root_rank %d is out of range for %d ranks" % (root_rank, w.size))
    if w.comm is None:
        return arrays
    desc = ";".join("%s%s" % (a.dtype.name, list(a.shape)) for a in arrays)
    descs = w.comm.allgather(desc)
    if any(d != desc for d in descs):
        r = next(r for r, d in enumerate(descs) if d != desc)
        raise ValueError("fastgrad.distribute: the ranks disagree on the tensors of %s: rank %d "
                         "has [%s], rank %d has [%s]" % (what, w.rank, desc, r, descs[r]))
    for a in arrays:
        if w.timeout is None:
            w.comm.Bcast(a, root=root_rank)
        else:
            _wait(w, w.comm.Ibcast(a, root=root_rank), what)
    return arrays


def broadcast_tensors(tensors, root_rank, what="broadcast"):
    """New tensors holding root's values of tensors, fused per dtype."""
    w = world()
    if _core.tracing():
        _core._trace_unsupported("an MPI collective (fastgrad.distribute)")
    tensors = [t if isinstance(t, _TensorBase) else _core.convert_to_tensor(t) for t in tensors]
    if w.comm is None:
        broadcast_arrays([], root_rank, what)
        return [_core.convert_to_tensor(t) for t in tensors]
    out = list(tensors)
    by_dtype = {}
    for i, t in enumerate(tensors):
        by_dtype.setdefault(_numpy_dtype(t), []).append(i)
    fused, bufs = [], []
    for d, idx in sorted(by_dtype.items(), key=lambda kv: str(kv[0])):
        if d in _FLOATS:
            like = [tensors[i] for i in idx]
            count = sum(_Item(0, t).t_size for t in like)
            buf = np.empty(count, d)
            _core._fusion_pack(like, buf, 0, 1.0)
            fused.append((idx, like, buf))
            bufs.append(buf)
        else:
            for i in idx:
                buf = np.array(tensors[i].numpy(), copy=True).reshape(-1)
                fused.append(([i], None, buf))
                bufs.append(buf)
    broadcast_arrays(bufs, root_rank, what)
    for idx, like, buf in fused:
        if like is None:
            out[idx[0]] = _core.convert_to_tensor(buf.reshape(tensors[idx[0]].shape))
        else:
            for i, r in zip(idx, _core._fusion_unpack(buf, 0, like)):
                out[i] = r
    return out


def broadcast_object(obj, root_rank=0):
    w = world()
    return obj if w.comm is None else w.comm.bcast(obj, root=root_rank)


def allgather_object(obj):
    w = world()
    return [obj] if w.comm is None else w.comm.allgather(obj)
