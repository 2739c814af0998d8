"""``fastgrad.function`` and ``fastgrad.gradients``: record once, replay many.

``function`` traces a Python function once per input signature (tensor
shapes and dtypes, Python values) into a static program: every op it
applies, the ops of any gradient taken inside, and its Variable updates.
Later calls with that signature replay the program on the new values in
compiled code, with no Python per op. Where a traced tensor becomes a
Python value (``if x > 0:``, ``float(x)``), the trace records a guard; a
replay whose guard sees another value stops, undoes its updates and the
function is traced again for that branch, so results always equal the
eager ones.

Where this differs from TF or from a plain replay:

- Python side effects (``print``, appending to a list) happen when the
  function is traced, as in TF; printing a tensor records no guard.
- Python and NumPy numbers returned become tensors, as TF's outputs do;
  strings and other objects are returned as they are (no string tensors).
- A call made while a GradientTape records runs the Python function inline,
  so the tape sees its ops (TF records the call as one op).
- Programs are specialised to concrete shapes: a ``None`` dimension in an
  ``input_signature`` (or one ``reduce_retracing`` widened, as TF does)
  accepts any size, and each new size is recorded once more, running the
  Python function again. ``experimental_get_tracing_count`` counts as TF
  does, the signatures, not these recordings, and the retracing warning
  follows it.
- What a replay cannot repeat makes a signature run eagerly, with one
  warning: random draws, Variables created on every call, and guards that fail call after call (``float(x)`` of an
  input, a step counter read with ``int(...)``).

>>> import fastgrad as tf
>>> x = tf.Variable(0.0)
>>> @tf.function
... def step():
...     with tf.GradientTape() as tape:
...         z = x ** 2 - x * 2 + 1
...     x.assign_sub(0.1 * tape.gradient(z, x))
>>> for _ in range(100):
...     step()
>>> round(float(x), 5), step.experimental_get_tracing_count()
(1.0, 1)
"""
import functools
import inspect
import threading
import weakref

import numpy as np

from fastgrad import _core, nest
from fastgrad import config as _config
from fastgrad._core import Tensor, Variable, _TensorBase
from fastgrad._logging import warn as _warn
from fastgrad.dtypes import as_dtype, float32

__all__ = ["function", "gradients", "TensorSpec", "Function", "ConcreteFunction"]

_state = threading.local()  # .graph, .program: this thread's trace (None when not tracing)


class _NeedGraph(BaseException):
    """fastgrad.gradients was called in a trace without a graph tape: the
    trace restarts with one (BaseException: user code must not catch it)."""

#: programs kept per signature that differ in the branches their guards took
MAX_VARIANTS = 8
#: retraces after failed guards before a signature runs eagerly for good
MAX_GUARD_RETRACES = 16

# TF's frequent-tracing detector (polymorphic_function.py), same numbers
_WARN_HISTORY, _WARN_THRESHOLD, _WARN_MAX = 10, 5, 2

_EAGER_GRADIENTS = ("tf.gradients is not supported when eager execution is enabled. "
                    "Use tf.GradientTape instead.")


class TensorSpec:
    """The shape (``None`` for any size) and dtype of a tensor argument.

    >>> import fastgrad as tf
    >>> tf.TensorSpec([None, 3], tf.float32)
    TensorSpec(shape=(None, 3), dtype=tf.float32, name=None)
    """

    __slots__ = ("shape", "dtype", "name")

    def __init__(self, shape, dtype=float32, name=None):
        if shape is None:
            raise ValueError("fastgrad.TensorSpec needs a known rank (shape=None is not supported)")
        self.shape = tuple(None if d is None else int(d) for d in (shape if not isinstance(shape, int) else [shape]))
        self.dtype = as_dtype(dtype)
        self.name = name

    @classmethod
    def from_tensor(cls, tensor, name=None):
        return cls(tuple(tensor.shape), tensor.dtype, name)

    def is_compatible_with(self, value):
        shape = tuple(value.shape)
        return (value.dtype == self.dtype and len(shape) == len(self.shape)
                and all(a is None or b is None or a == b for a, b in zip(self.shape, shape)))

    def __repr__(self):
        return "TensorSpec(shape=%s, dtype=%r, name=%r)" % (_shape_text(self.shape), self.dtype, self.name)

    def __eq__(self, other):
        return (isinstance(other, TensorSpec) and self.shape == other.shape
                and self.dtype == other.dtype and self.name == other.name)

    def __hash__(self):
        return hash((self.shape, self.dtype, self.name))


def _shape_text(shape):
    return "(%s)" % (", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else ""))


def _spec_text(value):
    return "TensorSpec(shape=%s, dtype=%r, name=None)" % (_shape_text(tuple(value.shape)), value.dtype)


def _python_key(x):
    """How a Python value enters a signature: by value when it is a plain
    value, by identity otherwise (as TF keys objects by weak reference)."""
    if x is None or type(x) in (bool, int, float, str, bytes, complex):
        return (type(x), x)
    return ("object", type(x), id(x))


class _Signature:
    """The cache key of one call, and the tensors and variables it passes."""

    __slots__ = ("key", "tensors", "variables", "plain", "repeats")

    def __init__(self, args, kwargs):
        self.tensors, self.variables = [], []
        self.repeats = False  # a Tensor passed in more than one place
        seen = {}
        self.plain = True  # only positional plain Tensors, each once
        parts = [self._leaf_key(a, seen) if not nest.is_nested(a) else self._nest_key(a, seen) for a in args]
        kparts = tuple((k, self._nest_key(kwargs[k], seen)) for k in sorted(kwargs))
        if kparts or any(type(a) is not Tensor for a in args):
            self.plain = False
        self.key = (tuple(parts), kparts)

    def _nest_key(self, x, seen):
        if isinstance(x, dict):
            return (type(x), tuple((k, self._nest_key(x[k], seen)) for k in sorted(x, key=nest._sort_key)))
        if isinstance(x, (list, tuple)):
            return (type(x), tuple(self._nest_key(c, seen) for c in x))
        return self._leaf_key(x, seen)

    def _leaf_key(self, x, seen):
        if isinstance(x, _TensorBase):
            prior = seen.get(id(x))
            if prior is not None:
                self.plain = False
                if isinstance(x, Variable):  # the same variable twice: one resource
                    return ("same", prior)
                # the same Tensor twice is two inputs, as TF's placeholders
                # are (seed 003 passes `ones` for both x and t)
                self.repeats = True
                self.tensors.append(x)
                return ("repeat", prior)
            seen[id(x)] = len(seen)
            if isinstance(x, Variable):
                self.variables.append(x)
                return ("variable", x.dtype._enum, tuple(x.shape))
            self.tensors.append(x)
            return ("tensor", x.dtype._enum, tuple(x.shape))
        return _python_key(x)


_NO_MATCH = object()


def _is_tensor_key(k):
    return type(k) is tuple and len(k) == 3 and k[0] == "tensor"


def _widen(a, b):
    """The most specific signature key covering keys a and b when they
    differ only in tensor dimensions (those become None), else _NO_MATCH."""
    if _is_tensor_key(a) or _is_tensor_key(b):
        if not (_is_tensor_key(a) and _is_tensor_key(b)) or a[1] != b[1] or len(a[2]) != len(b[2]):
            return _NO_MATCH
        return ("tensor", a[1], tuple(x if x == y else None for x, y in zip(a[2], b[2])))
    if type(a) is tuple and type(b) is tuple:
        if len(a) != len(b):
            return _NO_MATCH
        parts = tuple(_widen(x, y) for x, y in zip(a, b))
        return _NO_MATCH if any(p is _NO_MATCH for p in parts) else parts
    return a if type(a) is type(b) and a == b else _NO_MATCH


def _split_repeats(sig, args, kwargs):
    """Give each place a repeated Tensor is passed its own alias, so the
    trace sees distinct inputs (replays are passed the tensor per place)."""
    seen = set()

    def split(x):
        if isinstance(x, _TensorBase) and not isinstance(x, Variable):
            if id(x) in seen:
                return _core.stop_gradient(x)  # an alias: a new id, same buffer
            seen.add(id(x))
        return x
    args = tuple(nest.map_structure(split, a) for a in args)
    kwargs = {k: nest.map_structure(split, v) for k, v in kwargs.items()}
    sig.tensors = _Signature(args, kwargs).tensors
    return args, kwargs


class _Entry:
    """The programs traced for one signature (variants differ in guards)."""

    __slots__ = ("programs", "eager", "unsupported", "guard_retraces")

    def __init__(self):
        self.programs = []
        self.eager = None  # the reason, once this signature runs eagerly
        self.unsupported = 0
        self.guard_retraces = 0


def _to_tensors(x):
    """NumPy arrays are tensors to a traced function, as in TF."""
    if isinstance(x, (np.ndarray, np.generic)) and not isinstance(x, _TensorBase):
        return _core.convert_to_tensor(x)
    if isinstance(x, (list, tuple, dict)) and any(isinstance(v, (np.ndarray, np.generic))
                                                  for v in nest.flatten(x)):
        return nest.map_structure(_to_tensors, x)
    return x


class Function(_core._FunctionCore):
    """A Python function traced into replayable programs (``tf.function``).

    Build it with :func:`function`. Calling it looks up the program for
    the call's signature, replays it (tracing first when there is none, or
    when a guard of every known variant fails) and returns ordinary
    Tensors.
    """

    def __init__(self, python_function, input_signature=None, reduce_retracing=False, name=None):
        self._python_function = python_function
        self._name = name or getattr(python_function, "__name__", "function")
        self._input_signature = None if input_signature is None else tuple(input_signature)
        self._reduce_retracing = bool(reduce_retracing)
        self._cache = {}
        self._concrete = []  # the signatures TF would hold concrete functions for
        self._tracing_count = 0
        self._calls_per_tracing = []
        self._call_count = 0
        self._warnings = 0
        self._eager_warned = False
        self._bound = weakref.WeakKeyDictionary()
        # the graph tape fastgrad.gradients needs costs a third of a trace:
        # pushed only once the function is known to call it
        self._needs_graph = False
        try:
            self._signature = inspect.signature(python_function)
        except (TypeError, ValueError):
            self._signature = None
        if self._input_signature is not None:
            for spec in nest.flatten(list(self._input_signature)):
                if not isinstance(spec, TensorSpec):
                    raise TypeError("input_signature must be a possibly nested sequence of TensorSpec "
                                    "objects, got invalid args %r" % (spec,))
        functools.update_wrapper(self, python_function)

    @property
    def python_function(self):
        return self._python_function

    @property
    def input_signature(self):
        return self._input_signature

    def __get__(self, instance, owner):
        # a method: one Function per instance, the instance bound first
        if instance is None:
            return self
        bound = self._bound.get(instance)
        if bound is None:
            bound = Function(functools.partial(self._python_function, instance), self._input_signature,
                             self._reduce_retracing, self._name)
            self._bound[instance] = bound
        return bound

    def __repr__(self):
        return "<fastgrad.function %s>" % self._name

    def experimental_get_tracing_count(self):
        """How many times the Python function was traced."""
        return self._tracing_count

    # -------------------------------------------------------------- calls

    def _call(self, args, kwargs):
        if _config._run_eagerly:  # tf.config.run_functions_eagerly(True)
            return self._python_function(*args, **kwargs)
        if _core.tracing() or _core.tapes_recording():
            # called from another traced function (its trace records these
            # ops) or under a GradientTape (which must record them: a replay
            # bypasses tapes): run the Python function inline
            return self._python_function(*args, **kwargs)
        args, kwargs = self._bind(args, kwargs)
        sig = _Signature(args, kwargs)
        try:
            entry = self._cache.get(sig.key)
        except TypeError:  # an unhashable Python argument
            entry, sig.key = None, None
        if entry is not None:
            if entry.eager is not None:
                self._note_call(False)
                return self._python_function(*args, **kwargs)
            for i, prog in enumerate(entry.programs):
                result = prog.run(sig.tensors, sig.variables)
                if result is _core.BUSY:
                    # replaying on another thread right now: run eagerly
                    return self._python_function(*args, **kwargs)
                if result is not _core.MISS:
                    if i:  # the branch taken now is likely taken next
                        entry.programs.insert(0, entry.programs.pop(i))
                    self._fast_program = prog if sig.plain else None
                    self._note_call(False)
                    return result
            if entry.programs:
                entry.guard_retraces += 1
                if entry.guard_retraces > MAX_GUARD_RETRACES:
                    self._go_eager(entry, "its Python control flow depends on tensor values that "
                                          "change from call to call")
                    return self._python_function(*args, **kwargs)
        return self._trace(sig, entry, args, kwargs)

    def _bind(self, args, kwargs):
        """Canonical positional/keyword arguments; input_signature checks."""
        if self._input_signature is not None:
            return self._bind_input_signature(args, kwargs), {}
        if self._signature is not None and kwargs:
            try:
                bound = self._signature.bind(*args, **kwargs)
            except TypeError:
                pass  # the Python function raises its own error when traced
            else:  # f(x=1) and f(1) are one signature
                args, kwargs = bound.args, bound.kwargs
        return tuple(_to_tensors(a) for a in args), {k: _to_tensors(v) for k, v in kwargs.items()}

    def _signature_text(self):
        names = list(self._signature.parameters) if self._signature is not None else []
        specs = nest.flatten(list(self._input_signature))
        return "(%s)" % ", ".join("%s: %r" % (names[i] if i < len(names) else "arg%d" % i, s)
                                  for i, s in enumerate(specs))

    def _binding_error(self, why, args, kwargs):
        return TypeError("Binding inputs to tf.function failed due to `%s`. Received args: %r and "
                         "kwargs: %r for signature: %s." % (why, tuple(args), kwargs, self._signature_text()))

    def _bind_input_signature(self, args, kwargs):
        specs = list(self._input_signature)
        if kwargs and self._signature is not None:
            try:
                bound = self._signature.bind(*args, **kwargs)
            except TypeError as e:
                raise self._binding_error(str(e), args, kwargs) from None
            args = tuple(bound.arguments.values())
        elif kwargs:
            raise self._binding_error("got an unexpected keyword argument %r" % next(iter(kwargs)),
                                      args, kwargs)
        if len(args) > len(specs):
            raise self._binding_error("too many positional arguments", args, kwargs)
        if len(args) < len(specs):
            missing = list(self._signature.parameters)[len(args)] if self._signature else "arg%d" % len(args)
            raise self._binding_error("missing a required argument: %r" % missing, args, kwargs)
        out = []
        for a, spec in zip(args, specs):
            flat_specs = nest.flatten(spec)
            flat_vals = nest.flatten(a) if nest.is_nested(spec) else [a]
            if len(flat_specs) != len(flat_vals):
                raise self._binding_error("%r does not match the structure of %r" % (a, spec), args, kwargs)
            vals = []
            for v, s in zip(flat_vals, flat_specs):
                if not isinstance(v, _TensorBase):
                    try:
                        v = _core.convert_to_tensor(v, dtype=s.dtype)
                    except (TypeError, ValueError):
                        raise self._binding_error("Cannot convert %r to EagerTensor of dtype %s"
                                                  % (v, _tf_dtype_name(s.dtype)), args, kwargs) from None
                if not s.is_compatible_with(v):
                    raise self._binding_error("Can not cast %s to %r" % (_spec_text(v), s), args, kwargs)
                vals.append(v)
            out.append(nest.pack_sequence_as(spec, vals) if nest.is_nested(spec) else vals[0])
        return tuple(out)

    def _trace(self, sig, entry, args, kwargs):
        if sig.repeats:
            args, kwargs = _split_repeats(sig, args, kwargs)
        prog = _core._Program()
        for t in sig.tensors:
            prog.add_arg(t)
        for v in sig.variables:
            prog.add_var_arg(v)
        graph = _core._graph_tape() if self._needs_graph else None
        outer = getattr(_state, "graph", None), getattr(_state, "program", None)
        prog.begin()
        if graph is not None:
            graph._push()
        _state.graph, _state.program = graph, prog
        try:
            result = self._python_function(*args, **kwargs)
        except _NeedGraph:
            if outer[1] is not None:
                raise  # the outermost trace restarts
            self._needs_graph = True
            if prog.stats()["assigns"]:
                raise RuntimeError(
                    "fastgrad.gradients was called after a Variable update on the first trace of %s; "
                    "call the function again (its traces now record the graph fastgrad.gradients "
                    "needs)" % self._name) from None
            restart = True
        else:
            restart = False
        finally:
            _state.graph, _state.program = outer
            if graph is not None:
                graph._pop()
            prog.end()
        if restart:
            return self._trace(sig, entry, args, kwargs)
        # TF's count: a new concrete function, not a new size under a
        # relaxed signature (input_signature's None dims, reduce_retracing)
        counted = entry is not None or self._new_concrete_signature(sig.key)
        self._tracing_count += counted
        self._note_call(counted)
        result = _numbers_to_tensors(result)
        flat = nest.flatten(result)
        is_out = [isinstance(x, _TensorBase) and not isinstance(x, Variable) for x in flat]
        prog.set_outputs([x for x, o in zip(flat, is_out) if o])
        if result is None:
            prog.out_mode = 0
        elif not nest.is_nested(result) and is_out[0]:
            prog.out_mode = 1
        else:
            prog.out_mode = 2
            prog.packer = _packer(result, is_out, [None if o else x for x, o in zip(flat, is_out)])
        if sig.key is None:
            return result
        if entry is None:
            entry = self._cache[sig.key] = _Entry()
        why = prog.unsupported()
        if why is not None:
            # not replayable: this call ran eagerly, as every call may have to
            entry.unsupported += 1
            if entry.unsupported >= 2 and why != "a Variable was created":
                self._go_eager(entry, "it uses %s, which a replay cannot repeat" % why)
            elif entry.unsupported >= 3:
                self._go_eager(entry, "it creates Variables on every call")
            return result
        prog.finalize()
        entry.programs.insert(0, prog)
        del entry.programs[MAX_VARIANTS:]
        if sig.plain:
            prog.set_fast_spec(sig.tensors)
            self._fast_program = prog
        else:
            self._fast_program = None
        return result

    def _new_concrete_signature(self, key):
        """Whether TF would trace a new concrete function for a call with this
        signature key; if so, remember its signature. With an input_signature
        there is one; with reduce_retracing a new key widens a known one of
        the same structure (dims that differ become None), as TF's most
        specific common supertype; otherwise every key is its own."""
        if key is None:
            return True
        if self._input_signature is not None:
            first = not self._concrete
            self._concrete = [None]
            return first
        if not self._reduce_retracing:
            return True
        for c in self._concrete:
            if _widen(c, key) == c:
                return False
        for i, c in enumerate(self._concrete):
            wide = _widen(c, key)
            if wide is not _NO_MATCH:
                self._concrete[i] = wide
                return True
        self._concrete.append(key)
        return True

    def _go_eager(self, entry, why):
        entry.eager = why
        entry.programs = []
        self._fast_program = None
        if not self._eager_warned:
            self._eager_warned = True
            msg = "fastgrad.function %s runs eagerly for this input signature: %s." % (self._name, why)
            _warn(msg)

    def _note_call(self, traced):
        # TF's _FrequentTracingDetector
        self._call_count += 1
        if not traced:
            if not self._calls_per_tracing:
                self._calls_per_tracing = [0]
            self._calls_per_tracing[-1] += 1
            return
        self._calls_per_tracing.append(1)
        while self._calls_per_tracing and self._call_count - self._calls_per_tracing[0] > _WARN_HISTORY:
            self._call_count -= self._calls_per_tracing.pop(0)
        if self._warnings < _WARN_MAX and len(self._calls_per_tracing) >= _WARN_THRESHOLD:
            self._warnings += 1
            msg = ("{} out of the last {} calls to {} triggered tf.function retracing. Tracing is "
                   "expensive and the excessive number of tracings could be due to (1) creating "
                   "@tf.function repeatedly in a loop, (2) passing tensors with different shapes, "
                   "(3) passing Python objects instead of tensors. For (1), please define your "
                   "@tf.function outside of the loop. For (2), @tf.function has reduce_retracing=True "
                   "option that can avoid unnecessary retracing. For (3), please refer to "
                   "https://www.tensorflow.org/guide/function#controlling_retracing and "
                   "https://www.tensorflow.org/api_docs/python/tf/function for  more details."
                   .format(len(self._calls_per_tracing), self._call_count, self._python_function))
            _warn(msg)

    # ------------------------------------------------------ concrete functions

    def get_concrete_function(self, *args, **kwargs):
        """The function specialised to one signature (traced now when the
        arguments are tensors or fully defined TensorSpecs).

        >>> import fastgrad as tf
        >>> f = tf.function(lambda x: x * 2)
        >>> cf = f.get_concrete_function(tf.TensorSpec([2], tf.float32))
        >>> cf(tf.constant([1.0, 2.0])).numpy().tolist()
        [2.0, 4.0]
        """
        if not args and not kwargs and self._input_signature is not None:
            args = self._input_signature
        specs = nest.map_structure(
            lambda a: a if isinstance(a, TensorSpec) else
            (TensorSpec.from_tensor(a) if isinstance(a, _TensorBase) else a), (args, kwargs))
        concrete = ConcreteFunction(self, specs[0], specs[1])
        leaves = nest.flatten(specs)
        if all(not isinstance(s, TensorSpec) or None not in s.shape for s in leaves):
            # trace now, on zeros for specs (a guard protects any branch they choose)
            def example(a):
                if isinstance(a, TensorSpec):
                    return _core.zeros(a.shape, a.dtype._enum)
                return a
            call_args = nest.map_structure(example, tuple(args))
            call_kwargs = nest.map_structure(example, dict(kwargs))
            call_args = tuple(a if isinstance(a, _TensorBase) or not isinstance(s, TensorSpec) else a
                              for a, s in zip(call_args, specs[0]))
            bargs, bkwargs = self._bind(call_args, call_kwargs)
            sig = _Signature(bargs, bkwargs)
            if sig.key is not None and sig.key not in self._cache:
                self._trace_without_effects(sig, bargs, bkwargs)
        return concrete

    def _trace_without_effects(self, sig, args, kwargs):
        # get_concrete_function traces by running the function on example
        # values; the Variables it updates get their values back
        before = [(v, v.numpy()) for v in list(_core._VARIABLES.values())]
        try:
            self._trace(sig, None, args, kwargs)
        finally:
            for v, old in before:
                if not np.array_equal(old, v.numpy(), equal_nan=True):
                    v.assign(old)


def _numbers_to_tensors(result):
    """Python and NumPy numbers a traced function returns become tensors,
    as TF's graph outputs do (3 -> an int32 tensor); other objects (None,
    strings, ...) are returned as they are."""
    def convert(x):
        if type(x) in (bool, int, float) or isinstance(x, (np.ndarray, np.generic)):
            return _core.convert_to_tensor(x)
        return x
    if result is None or isinstance(result, _TensorBase):
        return result
    return nest.map_structure(convert, result) if nest.is_nested(result) else convert(result)


def _pack(skeleton, keep, is_out, outputs):
    it = iter(outputs)
    return nest.pack_sequence_as(skeleton, [next(it) if o else k for k, o in zip(keep, is_out)])


class _NotCompilable(Exception):
    """A result structure _packer leaves to the generic nest walk."""


def _packer(result, is_out, keep):
    """A function rebuilding the traced result's structure from the
    replay's output tensors. Plain tuples, lists, dicts and namedtuples
    compile to one Python expression (a generic nest walk costs
    microseconds per call); anything else uses nest."""
    env = {"K": keep}
    counters = {"leaf": 0, "out": 0}

    def expr(x):
        if isinstance(x, dict):
            if type(x) is not dict:
                raise _NotCompilable
            built = {}
            for k in sorted(x, key=nest._sort_key):  # flatten's order
                built[k] = expr(x[k])
            keys = "K%d" % len(env)
            env[keys] = list(x)
            return "{%s}" % ", ".join("%s[%d]: %s" % (keys, i, built[k]) for i, k in enumerate(x))
        if isinstance(x, (list, tuple)):
            items = [expr(c) for c in x]
            if type(x) is list:
                return "[%s]" % ", ".join(items)
            if type(x) is tuple:
                return "(%s)" % "".join(i + ", " for i in items)
            if hasattr(x, "_fields"):
                name = "T%d" % len(env)
                env[name] = type(x)
                return "%s(%s)" % (name, ", ".join(items))
            raise _NotCompilable
        i = counters["leaf"]
        counters["leaf"] += 1
        if is_out[i]:
            counters["out"] += 1
            return "o[%d]" % (counters["out"] - 1)
        return "K[%d]" % i

    try:
        return eval("lambda o: " + expr(result), env)  # noqa: S307 - generated from the structure only
    except _NotCompilable:
        skeleton = nest.pack_sequence_as(result, keep)
        return functools.partial(_pack, skeleton, keep, is_out)


def _tf_dtype_name(dtype):
    return {"float32": "float", "float64": "double"}.get(dtype.name, dtype.name)


class ConcreteFunction:
    """A Function specialised to one input signature (``get_concrete_function``).

    It takes only the tensor arguments of that signature, positionally;
    Python arguments given when it was made are fixed.
    """

    def __init__(self, function, args, kwargs):
        self._function = function
        self._args = args
        self._kwargs = kwargs
        self._specs = [s for s in nest.flatten((args, kwargs)) if isinstance(s, TensorSpec)]

    @property
    def structured_input_signature(self):
        return (self._args, self._kwargs)

    @property
    def function(self):
        return self._function

    def _sig_text(self):
        names = list(self._function._signature.parameters) if self._function._signature else []
        return "(%s)" % ", ".join("%s: %r" % (names[i] if i < len(names) else "arg%d" % i, s)
                                  for i, s in enumerate(self._specs))

    def __call__(self, *tensors):
        if len(tensors) != len(self._specs):
            raise TypeError("Binding inputs to tf.function failed due to `%s positional arguments`. "
                            "Received args: %r and kwargs: {} for signature: %s."
                            % ("too many" if len(tensors) > len(self._specs) else "missing",
                               tensors, self._sig_text()))
        name = getattr(self._function._python_function, "__name__", "f")
        for i, (t, s) in enumerate(zip(tensors, self._specs)):
            if not isinstance(t, _TensorBase):
                raise TypeError(
                    "Binding inputs to tf.function failed due to `Can not cast %s to %r`. Received "
                    "args: %r and kwargs: {} for signature: %s.\nFallback to flat signature also "
                    "failed due to: %s(%s): expected argument #%d(zero-based) to be a Tensor; got %s (%r)."
                    % (_spec_text(_core.convert_to_tensor(t)) if _convertible(t) else repr(t), s,
                       tensors, self._sig_text(), name,
                       ", ".join(list(self._function._signature.parameters)[:len(self._specs)])
                       if self._function._signature else "", i, type(t).__name__, t))
            if t.dtype != s.dtype:
                raise _core._errors.InvalidArgumentError(
                    "cannot compute __inference_%s as input #%d(zero-based) was expected to be a %s "
                    "tensor but is a %s tensor [Op:__inference_%s]"
                    % (name, i, _tf_dtype_name(s.dtype), _tf_dtype_name(t.dtype), name))
            if not s.is_compatible_with(t):
                raise TypeError("Binding inputs to tf.function failed due to `Can not cast %s to %r`. "
                                "Received args: %r and kwargs: {} for signature: %s."
                                % (_spec_text(t), s, tensors, self._sig_text()))
        it = iter(tensors)
        args, kwargs = nest.map_structure(lambda s: next(it) if isinstance(s, TensorSpec) else s,
                                          (self._args, self._kwargs))
        return self._function._call(tuple(args), dict(kwargs))

    def __repr__(self):
        return "ConcreteFunction %s%s" % (getattr(self._function, "_name", "f"), self._sig_text())


def _convertible(v):
    try:
        _core.convert_to_tensor(v)
        return True
    except (TypeError, ValueError):
        return False


def function(func=None, input_signature=None, autograph=True, jit_compile=None,
             reduce_retracing=False, experimental_implements=None, experimental_autograph_options=None,
             experimental_attributes=None, experimental_relax_shapes=None,
             experimental_compile=None, experimental_follow_type_hints=None, name=None):
    """Trace ``func`` once per input signature; replay it in compiled code.

    Usable as ``@fastgrad.function`` or ``@fastgrad.function(input_signature=...)``.
    TF's options that concern its graph compiler (``autograph``,
    ``jit_compile``, ...) are accepted and ignored.

    >>> import fastgrad as tf
    >>> @tf.function
    ... def f(x):
    ...     return x * x if x > 0 else -x
    >>> float(f(tf.constant(3.0))), float(f(tf.constant(-2.0)))
    (9.0, 2.0)
    """
    def decorate(fn):
        return Function(fn, input_signature=input_signature,
                        reduce_retracing=reduce_retracing or bool(experimental_relax_shapes), name=name)

    return decorate if func is None else decorate(func)


def gradients(ys, xs, grad_ys=None, name="gradients", gate_gradients=False, aggregation_method=None,
              stop_gradients=None, unconnected_gradients=None):
    """TF1's symbolic gradients: d(sum of ys)/d x for each x, inside a traced function.

    Any tensor computed in the function can be an ``x`` (a slice of a
    concatenation, a constant made inside). Called eagerly it raises
    ``RuntimeError``, as TF does.

    >>> import fastgrad as tf
    >>> @tf.function
    ... def g():
    ...     x = tf.ones([2, 1])
    ...     y = tf.matmul(tf.concat([x, x * 3], 1), tf.constant([[2.0], [1.0]]))
    ...     return tf.gradients(y, x)
    >>> g()[0].numpy().ravel().tolist()
    [5.0, 5.0]
    """
    if getattr(_state, "program", None) is None or not _core.tracing():
        raise RuntimeError(_EAGER_GRADIENTS)
    graph = _state.graph
    if graph is None:
        raise _NeedGraph()
    flat_ys = [y if isinstance(y, _TensorBase) else _core.convert_to_tensor(y) for y in nest.flatten(ys)]
    flat_xs = nest.flatten(xs)
    for x in flat_xs:
        if not isinstance(x, _TensorBase):
            raise TypeError("xs must be Tensors, got %r" % (x,))
    if grad_ys is None:
        seeds = [None] * len(flat_ys)
    else:
        seeds = nest.flatten(grad_ys)
        if len(seeds) != len(flat_ys):
            raise ValueError("Passed %d grad_ys for %d ys" % (len(seeds), len(flat_ys)))
        seeds = [None if g is None else _core.convert_to_tensor(g, dtype=y.dtype) for g, y in zip(seeds, flat_ys)]
    grads = graph._sweep(flat_ys, seeds, list(flat_xs))
    from fastgrad.gradient_tape import UnconnectedGradients
    if unconnected_gradients is not None and UnconnectedGradients(unconnected_gradients) is UnconnectedGradients.ZERO:
        grads = [g if g is not None else _core.zeros(tuple(x.shape), x.dtype._enum) for g, x in zip(grads, flat_xs)]
    return grads
