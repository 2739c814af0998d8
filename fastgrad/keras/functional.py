"""The functional API: ``keras.Input`` tensors, layer calls recorded on
them, and the graph of those calls that ``keras.Model(inputs, outputs)``
replays on real tensors.

A ``KerasTensor`` is a placeholder: a shape (``None`` where a dimension
is unknown, the batch first), a dtype and the ``Node`` (layer call) that
made it. Calling a layer on one builds the layer and finds the shapes
and dtypes of its outputs by calling it on zeros twice, with every
unknown dimension 1 and then 2 (a dimension of the outputs that differs
between the two is unknown); the call itself is recorded as a ``Node``.
A functional model walks the nodes from its outputs back to its inputs
once and, when called, replays them in order: every number is computed
by the layers' own calls.

>>> from fastgrad import keras
>>> x = keras.Input(shape=(3,))
>>> y = keras.layers.Dense(2)(x)
>>> y.shape
(None, 2)
"""
import fastgrad as tf

from . import _utils
from .layers import _CALL_CONTEXT, Layer

__all__ = ["Input", "InputLayer", "KerasTensor"]


class KerasTensor:
    """A symbolic tensor of the functional API: shape, dtype and the layer
    call (``node``) that produces it. Arithmetic on it records the
    operation as a layer call too."""

    def __init__(self, shape, dtype, node=None, index=0, name=None):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.node = node
        self.index = index
        self.name = name

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        layer = self.node.layer.name if self.node is not None else "?"
        return (f"<KerasTensor: shape={self.shape} dtype={self.dtype.name} "
                f"(created by layer '{layer}')>")

    def __len__(self):
        raise TypeError("Keras symbolic inputs/outputs do not implement `__len__`.")

    def __bool__(self):
        raise TypeError("Using a symbolic KerasTensor as a Python bool is not allowed.")

    # arithmetic recorded as layer calls (tf_keras's TFOpLambda)
    def _op(self, name, fn, *others):
        return _OpLayer(fn, name)([self, *others])

    def __add__(self, o): return self._op("add", lambda a, b: a + b, o)
    def __radd__(self, o): return self._op("add", lambda a, b: b + a, o)
    def __sub__(self, o): return self._op("subtract", lambda a, b: a - b, o)
    def __rsub__(self, o): return self._op("subtract", lambda a, b: b - a, o)
    def __mul__(self, o): return self._op("multiply", lambda a, b: a * b, o)
    def __rmul__(self, o): return self._op("multiply", lambda a, b: b * a, o)
    def __truediv__(self, o): return self._op("truediv", lambda a, b: a / b, o)
    def __rtruediv__(self, o): return self._op("truediv", lambda a, b: b / a, o)
    def __matmul__(self, o): return self._op("matmul", lambda a, b: a @ b, o)
    def __pow__(self, o): return self._op("pow", lambda a, b: a ** b, o)
    def __neg__(self): return self._op("negative", lambda a: -a)

    def __getitem__(self, key):
        return _OpLayer(lambda a: a[key], "getitem")([self])


class Node:
    """One recorded layer call: the layer, the arguments it was called
    with (KerasTensors among them) and the KerasTensors it returned."""

    def __init__(self, layer, call_args, outputs):
        self.layer = layer
        self.call_args = call_args        # (inputs, args, kwargs)
        self.outputs = outputs

    @property
    def input_tensors(self):
        return [t for t in flatten(self.call_args) if isinstance(t, KerasTensor)]


class InputLayer(Layer):
    """The layer behind ``keras.Input``: it has no weights and one output,
    the placeholder for a model input. ``shape`` excludes the batch."""

    def __init__(self, input_shape=None, batch_size=None, dtype=None, name=None,
                 shape=None, **kwargs):
        if "batch_input_shape" in kwargs:
            full = tuple(kwargs.pop("batch_input_shape"))
            batch_size, input_shape = full[0], full[1:]
        shape = shape if shape is not None else input_shape
        if shape is None:
            raise ValueError("You must pass a `shape` argument.")
        if isinstance(shape, int):
            shape = (shape,)
        super().__init__(name=name or _unique_input_name(),
                         dtype=dtype, **kwargs)
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.batch_size = batch_size
        self.input_shape = (batch_size,) + self.shape
        self.built = True
        node = Node(self, ((), (), {}), None)
        self.output = KerasTensor(self.input_shape, self.dtype, node, 0, self.name)
        node.outputs = self.output

    def get_config(self):
        return {"batch_input_shape": self.input_shape, "dtype": self.dtype.name,
                "name": self.name}


def Input(shape=None, batch_size=None, dtype=None, name=None, **kwargs):
    """A symbolic input: ``keras.Input(shape=(n,))``, the start of a
    functional model (or the first entry of a ``Sequential``)."""
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name,
                      **kwargs).output


def _unique_input_name():
    """tf_keras numbers inputs from 1: input_1, input_2, ..."""
    n = _utils._uids.get("input", 0) + 1
    _utils._uids["input"] = n
    return f"input_{n}"


class _OpLayer(Layer):
    """A tensor operation on KerasTensors recorded as a layer call."""

    def __init__(self, fn, name):
        super().__init__(name=_utils.unique_name(f"tf.__operators__.{name}"))
        self.fn = fn

    def _convert_input(self, x):
        return x if _utils.is_tensor(x) else tf.convert_to_tensor(x)

    def call(self, inputs):
        return self.fn(*inputs)


# structures ---------------------------------------------------------------

def flatten(x):
    """The leaves of nested lists, tuples and dicts (dicts by sorted key)."""
    if isinstance(x, (list, tuple)):
        return [leaf for v in x for leaf in flatten(v)]
    if isinstance(x, dict):
        return [leaf for k in sorted(x) for leaf in flatten(x[k])]
    return [x]


def pack_as(structure, leaves):
    """``leaves`` in the nesting of ``structure`` (flatten's inverse)."""
    it = iter(leaves)

    def pack(s):
        if isinstance(s, (list, tuple)):
            return type(s)(pack(v) for v in s)
        if isinstance(s, dict):
            return {k: pack(s[k]) for k in sorted(s)}
        return next(it)
    return pack(structure)


def map_structure(fn, x):
    return pack_as(x, [fn(leaf) for leaf in flatten(x)])


def any_symbolic(x):
    return any(isinstance(leaf, KerasTensor) for leaf in flatten(x))


# recording calls ------------------------------------------------------------

def _probe(layer, call_args, unknown):
    """Call ``layer`` on zeros standing for the KerasTensors, with each
    unknown dimension ``unknown``, in inference mode."""
    def concrete(t):
        if not isinstance(t, KerasTensor):
            return t
        shape = [unknown if d is None else d for d in t.shape]
        return tf.zeros(shape, dtype=t.dtype)
    inputs, args, kwargs = map_structure(concrete, call_args)
    _CALL_CONTEXT.append(False)
    try:
        return Layer.__call__(layer, inputs, *args, **kwargs)
    finally:
        _CALL_CONTEXT.pop()


def symbolic_call(layer, inputs, args, kwargs):
    """Record ``layer(inputs, *args, **kwargs)`` on KerasTensors: build the
    layer, find its outputs' shapes and dtypes, return KerasTensors."""
    call_args = (inputs, tuple(args), dict(kwargs))
    out1 = _probe(layer, call_args, 1)
    out2 = _probe(layer, call_args, 2)
    flat1, flat2 = flatten(out1), flatten(out2)
    node = Node(layer, call_args, None)
    outs = []
    for i, (a, b) in enumerate(zip(flat1, flat2)):
        sa, sb = _utils.shape_tuple(a), _utils.shape_tuple(b)
        shape = tuple(d if d == e else None for d, e in zip(sa, sb))
        outs.append(KerasTensor(shape, a.dtype, node, i, layer.name))
    node.outputs = pack_as(out1, outs)
    layer.__dict__.setdefault("_inbound_nodes", []).append(node)
    return node.outputs


# graphs ---------------------------------------------------------------------

def build_graph(inputs, outputs):
    """The nodes between ``inputs`` and ``outputs`` in an order that
    computes each before its use, and the layers they call (the input
    layers first). Raises ValueError when an output depends on an Input
    that is not among ``inputs``."""
    flat_in = flatten(inputs)
    for t in flat_in + flatten(outputs):
        if not isinstance(t, KerasTensor):
            raise ValueError("All `inputs` and `outputs` of a functional model "
                             f"must be KerasTensors (from keras.Input); received {t!r}")
    for t in flat_in:
        if not isinstance(t.node.layer, InputLayer):
            raise ValueError("Model inputs must come from `keras.Input` (thus holding "
                             f"past layer metadata). Received: inputs={t!r}")
    in_ids = {id(t) for t in flat_in}
    order, done, accessed = [], set(), []

    def visit(t):
        if id(t) in in_ids or id(t.node) in done:
            return
        if isinstance(t.node.layer, InputLayer):
            raise ValueError(
                f"Graph disconnected: cannot obtain value for tensor {t!r} at layer "
                f'"{t.node.layer.name}". The following previous layers were '
                f"accessed without issue: {accessed}")
        done.add(id(t.node))
        for s in t.node.input_tensors:
            visit(s)
        order.append(t.node)
        accessed.append(t.node.layer.name)

    for t in flatten(outputs):
        visit(t)
    layers = [t.node.layer for t in flat_in]
    for node in order:
        if all(node.layer is not l for l in layers):
            layers.append(node.layer)
    return order, layers


def run_graph(nodes, inputs, outputs, values):
    """Replay the recorded calls on real ``values`` for ``inputs``."""
    env = {id(t): v for t, v in zip(flatten(inputs), flatten(values))}
    for node in nodes:
        args = map_structure(lambda t: env[id(t)] if isinstance(t, KerasTensor) else t,
                             node.call_args)
        got = node.layer(args[0], *args[1], **args[2])
        for t, v in zip(flatten(node.outputs), flatten(got)):
            env[id(t)] = v
    return map_structure(lambda t: env[id(t)], outputs)
