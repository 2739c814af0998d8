"""``Functional``: the model ``keras.Model(inputs, outputs)`` makes, a
graph of recorded layer calls (``fastgrad.keras.functional``) replayed
on real tensors."""
import fastgrad as tf

from . import _utils
from .functional import build_graph, flatten, pack_as, run_graph
from .models import Model

__all__ = ["Functional"]


class Functional(Model):
    """A model from ``inputs`` (``keras.Input`` tensors, or a list or dict
    of them) and the ``outputs`` computed from them by layer calls.

    >>> from fastgrad import keras
    >>> x = keras.Input(shape=(4,))
    >>> model = keras.Model(x, keras.layers.Dense(2)(x))
    >>> model(tf.ones((3, 4))).shape
    TensorShape([3, 2])
    """

    _scopes_weights = False

    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        super().__init__(name=name or _utils.unique_name("model"),
                         trainable=trainable, **kwargs)
        self._nodes, self._graph_layers = build_graph(inputs, outputs)
        self.inputs, self.outputs = inputs, outputs
        self.input_shape = _shapes(inputs)
        self.output_shape = _shapes(outputs)
        self.built = True

    @property
    def layers(self):
        return list(self._graph_layers)

    @property
    def input(self):
        return self.inputs

    @property
    def output(self):
        return self.outputs

    def _maybe_build(self, input_shape):
        pass  # built from its graph

    def call(self, inputs, training=None, mask=None):
        flat_in = flatten(self.inputs)
        values = flatten(inputs)
        if len(values) != len(flat_in):
            raise ValueError(
                f'Layer "{self.name}" expects {len(flat_in)} input(s), but it '
                f"received {len(values)} input tensors. Inputs received: {inputs}")
        # tf_keras conforms each input to its Input's dtype
        values = [v if v.dtype == t.dtype else tf.cast(v, t.dtype)
                  for v, t in zip(values, flat_in)]
        return run_graph(self._nodes, flat_in, self.outputs, values)

    def _input_dtype(self):
        return flatten(self.inputs)[0].dtype

    def compute_output_shape(self, input_shape):
        return self.output_shape

    def _summary_rows(self):
        rows = []
        for layer in self._graph_layers:
            nodes = [n for n in self._nodes if n.layer is layer]
            if not nodes:  # an InputLayer: tf_keras prints a list
                rows.append((layer, [layer.input_shape]))
            elif len(nodes) > 1:
                rows.append((layer, "multiple"))
            else:
                rows.append((layer, _shapes(nodes[0].outputs)))
        return rows


def _shapes(structure):
    if isinstance(structure, (list, tuple, dict)):
        return pack_as(structure, [t.shape for t in flatten(structure)])
    return structure.shape
