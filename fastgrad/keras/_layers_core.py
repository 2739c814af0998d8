"""Weightless layers of the functional API: ``Lambda`` and the merge
layers ``Concatenate`` and ``Add`` (exported from ``keras.layers``)."""
import fastgrad as tf

from .layers import Layer, _accepts

__all__ = ["Add", "Concatenate", "Lambda"]


class Lambda(Layer):
    """Wraps a function of the inputs as a layer.

    >>> from fastgrad import keras
    >>> keras.layers.Lambda(lambda x: x * 2.0)(tf.ones((1, 2))).numpy().tolist()
    [[2.0, 2.0]]
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.function = function
        self.arguments = dict(arguments or {})
        self._output_shape = output_shape

    def call(self, inputs, training=None):
        kwargs = dict(self.arguments)
        if training is not None and _accepts(self.function, "training"):
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_output_shape(self, input_shape):
        if self._output_shape is None:
            return tuple(input_shape)
        if callable(self._output_shape):
            return tuple(self._output_shape(input_shape))
        return (input_shape[0],) + tuple(self._output_shape)

    def get_config(self):
        # a Python function cannot be written as JSON; load_model needs
        # custom_objects (or safe_mode=False in Keras, which pickles bytecode)
        name = getattr(self.function, "__name__", None)
        return {**super().get_config(), "function": name,
                "arguments": self.arguments}


class _Merge(Layer):
    """Base of the layers that combine a list of tensors of one shape."""

    def _check_list(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError("A merge layer should be called on a list of inputs. "
                             f"Received: inputs={inputs} (not a list of tensors)")
        if len(inputs) < 1:
            raise ValueError("A merge layer should be called on a list of at least "
                             f"1 input. Got {len(inputs)} inputs. Full input_shape "
                             f"received: {list(inputs)}")

    def build(self, input_shape):
        self._check_list(input_shape)
        self.built = True


class Add(_Merge):
    """The elementwise sum of a list of tensors.

    >>> from fastgrad import keras
    >>> keras.layers.Add()([tf.ones((1, 2)), tf.ones((1, 2))]).numpy().tolist()
    [[2.0, 2.0]]
    """

    def call(self, inputs):
        self._check_list(inputs)
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])


class Concatenate(_Merge):
    """Joins a list of tensors along ``axis`` (the last by default).

    >>> from fastgrad import keras
    >>> keras.layers.Concatenate()([tf.ones((1, 2)), tf.zeros((1, 1))]).numpy().tolist()
    [[1.0, 1.0, 0.0]]
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def build(self, input_shape):
        self._check_list(input_shape)
        shapes = [tuple(s) for s in input_shape]
        rank = len(shapes[0])
        axis = self.axis % rank if rank else 0
        reduced = {tuple(d for i, d in enumerate(s) if i != axis) for s in shapes}
        known = {tuple(d for d in s if d is not None) for s in reduced}
        if any(len(s) != rank for s in shapes) or (len(reduced) > 1 and len(known) > 1):
            raise ValueError(
                "A `Concatenate` layer requires inputs with matching shapes except "
                f"for the concatenation axis. Received: input_shape={shapes}")
        self.built = True

    def call(self, inputs):
        self._check_list(inputs)
        return tf.concat(list(inputs), axis=self.axis)

    def compute_output_shape(self, input_shape):
        shapes = [list(s) for s in input_shape]
        out = shapes[0]
        axis = self.axis % len(out)
        sizes = [s[axis] for s in shapes]
        out[axis] = None if None in sizes else sum(sizes)
        return tuple(out)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
