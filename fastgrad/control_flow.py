"""Control flow as TF 2 code writes it: ``cond``, ``case``, ``switch_case``,
``while_loop``, ``map_fn``, ``vectorized_map``, ``scan``, ``foldl``/``foldr``.

Eagerly these are Python control flow over fastgrad ops, as TF's eager
implementations are: the branch taken or every iteration runs, and a
GradientTape records their ops, so gradients (of any order) flow through
the taken branch and through every iteration.

Inside ``fastgrad.function`` (a trace records a flat program, with no
jumps):

- ``cond`` (and ``case``/``switch_case``, built on it) with a tensor
  predicate traces *both* branches and selects their results with
  ``where``, so one program replays in C for either branch, with no guard
  and no retrace. That holds when both branches are pure (no Variable
  update, no host call, no Variable created), their results have equal
  shapes, and no GradientTape records: under a tape a traced cond takes
  the branch of the predicate's value and records a guard on it, so its
  gradient is exactly TF's (a select would let a NaN that the untaken
  branch's derivative makes, such as sqrt's at a negative input, reach
  the gradient, which TF's cond never computes). Such a guard makes a
  call that takes the other branch record a second program variant
  (``fastgrad.function`` keeps up to 8 per signature and replays the one
  whose guards hold); ``experimental_get_tracing_count`` does not count
  these recordings, as TF traces a cond once.
- ``while_loop`` runs its Python loop while tracing: each test of the
  condition is a guard, so a program is one trip count, and another trip
  count records another variant (not counted as a trace).
- ``map_fn``, ``scan``, ``foldl``/``foldr`` and ``vectorized_map`` loop
  over the static leading dimension: unrolled, no guard.

>>> import fastgrad as tf
>>> x = tf.constant(3.0)
>>> float(tf.cond(x > 0, lambda: x * x, lambda: -x))
9.0
>>> int(tf.while_loop(lambda i, s: i < 4, lambda i, s: (i + 1, s + i), (0, 0))[1])
6
"""
import numpy as np

from fastgrad import _core, errors, nest
from fastgrad._core import _TensorBase, Variable
from fastgrad.tensor_array import TensorArray, _flow_guard, _to_index

__all__ = ["cond", "case", "switch_case", "while_loop", "map_fn", "vectorized_map", "scan",
           "foldl", "foldr"]

#: branch pairs (by code object) seen to update Variables or call the host
#: in a trace: later traces take the branch the predicate picks, with a guard
_IMPURE: set = set()


def _truth(pred):
    """Python truth of a predicate; a flow guard while tracing."""
    if isinstance(pred, _TensorBase):
        if _core.tracing():
            _flow_guard()
        return bool(pred)
    return bool(np.asarray(pred))


def _code(fn):
    return getattr(fn, "__code__", None) or id(fn)


def _tensor(x):
    return x if isinstance(x, _TensorBase) and not isinstance(x, Variable) else _core.convert_to_tensor(x)


# ------------------------------------------------------------------ structure

def _structure_text(x):
    return "type=%s str=%s" % (type(x).__name__, x)


def _same_structure(a, b):
    """None when a and b nest alike; else 'value' (count or nesting) or
    'type' (the kinds of sequence differ), as TF's nest tells apart."""
    if not nest.is_nested(a) and not nest.is_nested(b):
        return None
    if nest.is_nested(a) != nest.is_nested(b):
        return "value"
    if type(a) is not type(b) and not (isinstance(a, dict) and isinstance(b, dict)):
        return "type"
    if isinstance(a, dict):
        if sorted(a, key=nest._sort_key) != sorted(b, key=nest._sort_key):
            return "value"
    elif len(a) != len(b):
        return "value"
    for x, y in zip(nest._children(a), nest._children(b)):
        k = _same_structure(x, y)
        if k is not None:
            return k
    return None


def _assert_same_structure(first, second):
    """TF's nest.assert_same_structure: ValueError, or TypeError when only
    the sequence types differ."""
    kind = _same_structure(first, second)
    if kind is None:
        return
    msg = ("The two structures don't have the same nested structure.\n\nFirst structure: %s\n\n"
           "Second structure: %s" % (_structure_text(first), _structure_text(second)))
    raise (TypeError if kind == "type" else ValueError)(msg)


# ----------------------------------------------------------------------- cond

def cond(pred, true_fn=None, false_fn=None, name=None):
    """``true_fn()`` if ``pred`` else ``false_fn()`` (``tf.cond``).

    Eagerly only the branch taken runs. Inside ``fastgrad.function`` a
    tensor predicate selects between both branches at every replay (see
    the module's notes).

    >>> import fastgrad as tf
    >>> x = tf.constant(-2.0)
    >>> float(tf.cond(x > 0, lambda: tf.sqrt(x), lambda: -x))
    2.0
    """
    if true_fn is None:
        raise TypeError("cond(): 'true_fn' argument required")
    if false_fn is None:
        raise TypeError("cond(): 'false_fn' argument required")
    if not callable(true_fn):
        raise TypeError("'true_fn' must be callable.")
    if not callable(false_fn):
        raise TypeError("'false_fn' must be callable.")
    if isinstance(pred, _TensorBase) and _core.tracing():
        return _traced_cond(_tensor(pred), true_fn, false_fn)
    return true_fn() if _truth(pred) else false_fn()


def _traced_cond(pred, true_fn, false_fn):
    from fastgrad import function_api
    if pred.dtype.name != "bool":
        raise errors.InvalidArgumentError(
            "Input 'pred' passed %s expected bool while building a tf.cond"
            % {"float32": "float", "float64": "double"}.get(pred.dtype.name, pred.dtype.name))
    key = (_code(true_fn), _code(false_fn))
    if key in _IMPURE or _core.tapes_recording() or tuple(pred.shape) != ():
        return true_fn() if _truth(pred) else false_fn()
    program = getattr(function_api._state, "program", None)
    why = program.unsupported() if program is not None else None
    taken = bool(_core._peek(pred))
    fns = (true_fn, false_fn) if taken else (false_fn, true_fn)
    snapshot = _core._VarSnapshot()

    def impure():
        return snapshot.changed() or (program is not None and program.unsupported() != why)

    first = fns[0]()
    if impure():
        # side effects happen in the branch the predicate takes, as TF's:
        # a guard after them makes a replay that takes the other branch
        # roll them back and record that branch
        _IMPURE.add(key)
        _truth(pred)
        return first
    try:
        second = fns[1]()
    except Exception:  # noqa: BLE001 - the untaken branch fails on these values (an Assert): guard instead
        snapshot.restore()
        _truth(pred)
        return first
    if impure():
        # the untaken branch updated a Variable: undo it; its updates are
        # in the program, which must not replay; the next trace takes the
        # guarded path
        snapshot.restore()
        _IMPURE.add(key)
        _core._trace_unsupported("a tf.cond branch with side effects")
        return first
    out_t, out_f = (first, second) if taken else (second, first)
    selected = _select(pred, out_t, out_f)
    if selected is None:  # shapes differ: only the branch taken can be returned
        _truth(pred)
        return first
    return selected


def _select(pred, out_t, out_f):
    def mismatch(detail):
        return TypeError("true_fn and false_fn arguments to tf.cond must have the same number, type, "
                         "and overall structure of return values.\n\ntrue_fn output: %s\nfalse_fn "
                         "output: %s\n\nError details:\n%s" % (out_t, out_f, detail))
    if _same_structure(out_t, out_f) is not None:
        raise mismatch("The two structures don't have the same nested structure.")
    flat_t, flat_f = nest.flatten(out_t), nest.flatten(out_f)
    pairs = []
    for a, b in zip(flat_t, flat_f):
        if a is None or b is None:
            if a is not None or b is not None:
                raise mismatch("None is not a Tensor")
            pairs.append(None)
            continue
        if isinstance(a, TensorArray) or isinstance(b, TensorArray):
            return None
        a, b = _tensor(a), _tensor(b)
        if a.dtype != b.dtype:
            raise mismatch("true_fn output dtype %s does not match false_fn output dtype %s"
                           % (a.dtype.name, b.dtype.name))
        if tuple(a.shape) != tuple(b.shape):
            return None
        pairs.append((a, b))
    from fastgrad import math_ops
    leaves = [None if p is None else math_ops.where(pred, p[0], p[1]) for p in pairs]
    return nest.pack_sequence_as(out_t, leaves) if nest.is_nested(out_t) else leaves[0]


# ----------------------------------------------------------------------- case

def case(pred_fn_pairs, default=None, exclusive=False, strict=False, name="case"):
    """The callable of the first true predicate (``tf.case``).

    Without ``default`` the last pair is the default, and calling it with
    its predicate false raises InvalidArgumentError, as TF does.

    >>> import fastgrad as tf
    >>> x = tf.constant(5)
    >>> int(tf.case([(x < 0, lambda: -1), (x > 3, lambda: 1)], default=lambda: 0))
    1
    """
    if not isinstance(pred_fn_pairs, (list, tuple, dict)):
        raise TypeError("'pred_fn_pairs' must be a list, tuple, or dict. Received: %s" % type(pred_fn_pairs))
    if isinstance(pred_fn_pairs, dict):
        if not exclusive:
            raise ValueError("Unordered dictionaries are not supported for the 'pred_fn_pairs' argument "
                             "when `exclusive=False` and eager mode is enabled.")
        pred_fn_pairs = list(pred_fn_pairs.items())
    for pair in pred_fn_pairs:
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise TypeError("Each entry in 'pred_fn_pairs' must be a 2-tuple. Received %s." % (pair,))
        pred, fn = pair
        if isinstance(pred, _TensorBase):
            if pred.dtype.name != "bool":
                raise TypeError("pred must be Tensor of type bool: %s" % _name_of(pred))
        else:
            raise TypeError("pred must be a Tensor, got: %s" % (pred,))
        if not callable(fn):
            _name_of(pred)  # TF's message reads pred.name, undefined eagerly
            raise TypeError("fn for pred %s must be callable." % pred)
    predicates, actions = zip(*pred_fn_pairs)
    if default is None:
        *others, (last_pred, last_action) = list(zip(predicates, actions))
        preds = list(predicates)

        def default():
            from fastgrad import array_ops, debugging
            debugging.Assert(last_pred, ["Input error: None of conditions evaluated as True:",
                                         array_ops.stack(preds)])
            return last_action()
        predicates = [p for p, _ in others]
        actions = [a for _, a in others]
    fn = default
    for predicate, action in reversed(list(zip(predicates, actions))):
        fn = _bind_cond(predicate, action, fn)
    return fn()


def _name_of(t):
    raise AttributeError("Tensor.name is undefined when eager execution is enabled.")


def _bind_cond(pred, true_fn, false_fn):
    def branch():
        return cond(pred, true_fn, false_fn)
    return branch


def switch_case(branch_index, branch_fns, default=None, name="switch_case"):
    """``branch_fns[branch_index]()`` (``tf.switch_case``); an index out of
    range runs ``default``, or the last branch without one.

    >>> import fastgrad as tf
    >>> int(tf.switch_case(tf.constant(1), [lambda: 10, lambda: 20, lambda: 30]))
    20
    """
    if not isinstance(branch_index, _TensorBase):
        raise TypeError("'branch_index' must be a Tensor, got {}".format(type(branch_index)))
    if not branch_index.dtype.is_integer:
        raise TypeError("'branch_index' must be an integer Tensor, got {}".format(branch_index.dtype))
    if not branch_fns:
        raise ValueError("Must provide at least one item in 'branch_fns'")
    if not isinstance(branch_fns, (list, tuple, dict)):
        raise TypeError("'branch_fns' must be a list, tuple, or dict")
    if isinstance(branch_fns, dict):
        branch_fns = list(branch_fns.items())
    if all(callable(fn) for fn in branch_fns):
        branch_fns = list(enumerate(branch_fns))
    for pair in branch_fns:
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise TypeError("Each entry in 'branch_fns' must be a 2-tuple. Received %s." % (pair,))
        key, fn = pair
        if not isinstance(key, int):
            raise TypeError("key must be a Python `int`, got {}".format(type(key)))
        if not callable(fn):
            raise TypeError("fn for key {} must be callable.".format(key))
    keys = [p[0] for p in branch_fns]
    if min(keys) < 0 or max(keys) >= len(keys) or len(set(keys)) != len(keys):
        raise ValueError("branch indices (keys) must form contiguous range of [0 to {}) but found {{{}}}"
                         .format(len(keys), ",".join(map(str, sorted(keys)))))
    actions = [p[1] for p in sorted(branch_fns, key=lambda p: p[0])]
    if default is not None:
        actions.append(default)
    n = len(actions)
    if not _core.tracing():
        i = int(branch_index)
        return actions[i if 0 <= i < n else n - 1]()
    # traced: a chain of conds on the clamped index, so every branch is
    # selected at replay (an out-of-range index takes the last action)
    from fastgrad import math_ops
    index = math_ops.where(math_ops.logical_or(branch_index < 0, branch_index >= n),
                           _core.convert_to_tensor(n - 1, dtype=branch_index.dtype), branch_index)

    def chain(k):
        if k == n - 1:
            return actions[k]
        return _bind_cond(math_ops.equal(index, k), actions[k], chain(k + 1))
    return chain(0)()


# ----------------------------------------------------------------- while_loop

def while_loop(cond, body, loop_vars, shape_invariants=None, parallel_iterations=10, back_prop=True,
               swap_memory=False, maximum_iterations=None, name=None):
    """Repeat ``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)``
    (``tf.while_loop``); returns the final ``loop_vars``, in their structure.

    ``shape_invariants``, ``parallel_iterations``, ``back_prop`` and
    ``swap_memory`` are accepted (a Python loop runs one iteration at a
    time and any shape).

    >>> import fastgrad as tf
    >>> i, s = tf.while_loop(lambda i, s: i < 3, lambda i, s: (i + 1, s * 2.0),
    ...                      (tf.constant(0), tf.constant(1.0)))
    >>> int(i), float(s)
    (3, 8.0)
    """
    if not callable(cond):
        raise TypeError("'cond' must be callable.")
    if not callable(body):
        raise TypeError("'body' must be callable.")
    if parallel_iterations < 1:
        raise TypeError("'parallel_iterations' must be a positive integer.")
    loop_vars = nest.map_structure(lambda v: v.read_value() if isinstance(v, Variable) else v, loop_vars) \
        if nest.is_nested(loop_vars) else loop_vars
    # TF tests `not loop_vars`: a Tensor's truth (a nonzero scalar then
    # fails as not iterable below)
    if not (_truth(loop_vars) if isinstance(loop_vars, _TensorBase) else loop_vars):
        raise ValueError("'loop_vars' must be provided.")
    limit = None
    if maximum_iterations is not None:
        m = _tensor(maximum_iterations)
        if m.shape.ndims != 0:
            raise ValueError("'maximum_iterations' must be a scalar. Received shape: %s" % (m.shape,))
        limit = int(_to_index(m))
    original = loop_vars
    structure = list(loop_vars)
    # a traced loop is TF's graph loop, which takes a lone loop variable
    # returned bare (eagerly TF requires the sequence)
    pack_single = _core.tracing() and len(structure) == 1
    count = 0
    while True:
        ok = cond(*loop_vars)
        if limit is not None and count >= limit:
            break  # TF's cond is (i < limit) and cond(...): no guard on cond past the limit
        if not _truth(ok):
            break
        loop_vars = body(*loop_vars)
        count += 1
        if pack_single and not nest.is_nested(loop_vars):
            loop_vars = [loop_vars]
        if limit is None:
            _assert_same_structure(structure, list(loop_vars))
        else:
            _assert_same_structure([0, original], [count, loop_vars])

    def convert(x):
        return x if isinstance(x, TensorArray) else _tensor(x)
    return nest.map_structure(convert, loop_vars)


# ------------------------------------------------------ map_fn, scan, fold

def _elements(elems):
    """The flat element tensors of elems and their common length."""
    flat = nest.flatten(elems)
    if not flat:
        raise ValueError("elems must be a Tensor or (possibly nested) sequence of Tensors. Got %s, "
                         "which does not contain any Tensors." % (elems,))
    flat = [_tensor(e) for e in flat]
    for e in flat:
        if e.shape.ndims == 0:
            raise ValueError("Elements in elems must be 1+ dimensional Tensors, not scalars")
    n = flat[0].shape[0]
    for e in flat[1:]:
        if e.shape[0] != n:
            raise ValueError("Dimensions %d and %d are not compatible" % (n, e.shape[0]))
    return flat, n


def _readers(flat, n):
    """TensorArrays holding each element tensor's rows (TF's elems_ta)."""
    out = []
    for e in flat:
        ta = TensorArray(e.dtype, size=n, dynamic_size=False, infer_shape=True)
        out.append(ta.unstack(e))
    return out


def _signature_leaves(signature):
    """(dtype, element shape or None) of each leaf of fn_output_signature."""
    from fastgrad.dtypes import DType, as_dtype
    from fastgrad.function_api import TensorSpec
    out = []
    for s in nest.flatten(signature):
        if isinstance(s, TensorSpec):
            out.append((s.dtype, s.shape))
        elif isinstance(s, DType) or s is not None:
            out.append((as_dtype(s), None))
        else:
            raise TypeError("fn_output_signature must contain DTypes or TensorSpecs, got %r" % (s,))
    return out


def map_fn(fn, elems, dtype=None, parallel_iterations=None, back_prop=True, swap_memory=False,
           infer_shape=True, name=None, fn_output_signature=None):
    """Stack ``fn`` applied to each element of ``elems`` along axis 0
    (``tf.map_fn``); ``elems`` may be a nest, ``fn`` gets that nest.

    ``fn_output_signature`` (or the deprecated ``dtype``) gives the
    output's structure and dtypes when they differ from ``elems``'.

    >>> import fastgrad as tf
    >>> tf.map_fn(lambda e: e[0] * e[1], (tf.constant([1, 2]), tf.constant([3, 4])),
    ...           fn_output_signature=tf.int32).numpy().tolist()
    [3, 8]
    """
    if fn_output_signature is None:
        fn_output_signature = dtype
    flat, n = _elements(elems)
    if fn_output_signature is None:
        signature = elems
        leaves = [(e.dtype, None) for e in flat]
    else:
        signature = fn_output_signature
        leaves = _signature_leaves(signature)
    readers = _readers(flat, n)
    outs = [TensorArray(d, size=n, dynamic_size=False, infer_shape=infer_shape, element_shape=s)
            for d, s in leaves]
    for i in range(n):
        packed = nest.pack_sequence_as(elems, [r.read(i) for r in readers])
        result = fn(packed)
        _assert_same_structure(signature, result)
        for ta, value in zip(outs, nest.flatten(result)):
            ta.write(i, value)
    stacked = [ta.stack() for ta in outs]
    return nest.pack_sequence_as(signature, stacked) if nest.is_nested(signature) else stacked[0]


def vectorized_map(fn, elems, fallback_to_while_loop=True, warn=True):
    """``fn`` over the rows of ``elems``, stacked (``tf.vectorized_map``).

    TF vectorizes ``fn`` (pfor); fastgrad runs it per row, as TF's while
    loop fallback does, so the values are the same. The output structure is
    what ``fn`` returns.

    >>> import fastgrad as tf
    >>> tf.vectorized_map(lambda r: tf.reduce_sum(r * r), tf.ones([2, 3])).numpy().tolist()
    [3.0, 3.0]
    """
    flat, n = _elements(elems)
    rows = [_core_unstack(e) for e in flat]
    if n == 0:  # the output's shape and dtype: fn on one zero row
        from fastgrad import array_ops
        probe = fn(nest.pack_sequence_as(elems, [array_ops.zeros(e.shape[1:], e.dtype) for e in flat]))
        return nest.map_structure(lambda r: array_ops.zeros((0,) + tuple(_tensor(r).shape),
                                                            _tensor(r).dtype), probe)
    results = [fn(nest.pack_sequence_as(elems, [r[i] for r in rows])) for i in range(n)]
    from fastgrad import array_ops
    first = results[0]
    for r in results[1:]:
        _assert_same_structure(first, r)
    flats = [[_tensor(x) for x in nest.flatten(r)] for r in results]
    stacked = [array_ops.stack([f[j] for f in flats]) for j in range(len(flats[0]))]
    return nest.pack_sequence_as(first, stacked) if nest.is_nested(first) else stacked[0]


def _core_unstack(e):
    from fastgrad import array_ops
    return array_ops.unstack(e)


def scan(fn, elems, initializer=None, parallel_iterations=10, back_prop=True, swap_memory=False,
         infer_shape=True, reverse=False, name=None):
    """The accumulators ``a = fn(a, x)`` over the rows ``x`` of ``elems``,
    stacked (``tf.scan``). Without ``initializer`` the first row is the
    first accumulator (and the first output).

    >>> import fastgrad as tf
    >>> tf.scan(lambda a, x: a + x, tf.constant([1, 2, 3, 4])).numpy().tolist()
    [1, 3, 6, 10]
    """
    flat, n = _elements(elems)
    readers = _readers(flat, n)
    if initializer is None:
        a_flat = [r.read(n - 1 if reverse else 0) for r in readers]
        structure = elems
        start = 1
    else:
        a_flat = [_tensor(a) for a in nest.flatten(initializer)]
        structure = initializer
        start = 0
    outs = [TensorArray(a.dtype, size=n, dynamic_size=False, infer_shape=infer_shape) for a in a_flat]
    if initializer is None:
        outs = [ta.write(n - 1 if reverse else 0, a) for ta, a in zip(outs, a_flat)]
    for i in range(start, n):
        idx = n - 1 - i if reverse else i
        packed_a = nest.pack_sequence_as(structure, a_flat)
        packed_x = nest.pack_sequence_as(elems, [r.read(idx) for r in readers])
        a_out = fn(packed_a, packed_x)
        _assert_same_structure(structure, a_out)
        a_flat = [_tensor(a) for a in nest.flatten(a_out)]
        for ta, a in zip(outs, a_flat):
            ta.write(idx, a)
    stacked = [ta.stack() for ta in outs]
    return nest.pack_sequence_as(structure, stacked) if nest.is_nested(structure) else stacked[0]


def _fold(fn, elems, initializer, reverse):
    flat, n = _elements(elems)
    readers = _readers(flat, n)
    order = list(range(n - 1, -1, -1)) if reverse else list(range(n))
    if initializer is None:
        a = nest.pack_sequence_as(elems, [r.read(order[0] if n else 0) for r in readers])
        order = order[1:]
    else:
        a = initializer
    for i in order:
        a = fn(a, nest.pack_sequence_as(elems, [r.read(i) for r in readers]))
    return nest.map_structure(lambda x: x if isinstance(x, TensorArray) else _tensor(x), a)


def foldl(fn, elems, initializer=None, parallel_iterations=10, back_prop=True, swap_memory=False,
          name=None):
    """``fn(...fn(fn(initializer, x0), x1)..., xn)`` over the rows of
    ``elems`` (``tf.foldl``); without ``initializer`` the first row starts.

    >>> import fastgrad as tf
    >>> int(tf.foldl(lambda a, x: a * 10 + x, tf.constant([1, 2, 3])))
    123
    """
    return _fold(fn, elems, initializer, False)


def foldr(fn, elems, initializer=None, parallel_iterations=10, back_prop=True, swap_memory=False,
          name=None):
    """``tf.foldl`` from the last row to the first (``tf.foldr``).

    >>> import fastgrad as tf
    >>> int(tf.foldr(lambda a, x: a * 10 + x, tf.constant([1, 2, 3])))
    321
    """
    return _fold(fn, elems, initializer, True)
