"""Saving: ``model.save_weights``/``load_weights`` in the ``.weights.h5``
layout Keras 3 writes, and ``model.save``/``keras.models.load_model``
(a ``.keras`` zip of ``config.json``, ``metadata.json`` and
``model.weights.h5``, Keras 3's format).

h5py is optional (``pip install fastgrad[h5]``); only these functions
need it.
"""
import inspect

from . import activations, initializers, regularizers

__all__ = ["load_model", "serialize"]


def serialize(obj):
    """A JSON-able description of an activation, initializer or
    regularizer (None stays None)."""
    if obj is None:
        return None
    if isinstance(obj, regularizers.Regularizer):
        return regularizers.serialize(obj)
    if isinstance(obj, initializers.Initializer):
        params = inspect.signature(type(obj).__init__).parameters
        config = {k: v for k, v in vars(obj).items() if k in params}
        return {"class_name": type(obj).__name__, "config": config}
    name = getattr(obj, "__name__", None)
    if name is not None and activations._BY_NAME.get(name) is obj:
        return name
    raise TypeError(f"Cannot serialize {obj!r}: pass it in `custom_objects` to load it.")
