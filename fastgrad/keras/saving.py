"""Saving: ``model.save_weights``/``load_weights`` in the ``.weights.h5``
layout Keras 3 writes, and ``model.save``/``keras.models.load_model``
(a ``.keras`` zip of ``config.json``, ``metadata.json`` and
``model.weights.h5``, Keras 3's format).

h5py is optional (``pip install fastgrad[h5]``); only these functions
need it.
"""
import inspect

from . import _utils, activations, initializers, regularizers

__all__ = ["deserialize_layer", "load_model", "load_weights", "save_model", "save_weights",
           "serialize", "serialize_layer"]


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


# .weights.h5 ------------------------------------------------------------------

def _h5py():
    try:
        import h5py
    except ImportError:
        raise ImportError("Saving weights needs h5py: `pip install fastgrad[h5]` "
                          "(or `pip install h5py`).") from None
    return h5py


def _children(layer):
    """(path, child layer) pairs in Keras 3's walk: a Sequential's or a
    functional model's ``layers``; otherwise the public attributes holding
    layers (lists of layers too), in sorted order."""
    from .functional_model import Functional
    from .layers import Layer
    from .models import Sequential
    out, seen_names = [], {}

    def named(container, layers):
        # Keras 3 names them by class ('dense', 'dense_1'), not by the
        # auto-generated layer names, so two instances of a model match
        for l in layers:
            base = _utils.snake_case(type(l).__name__)
            n = seen_names.get((container, base), 0)
            seen_names[(container, base)] = n + 1
            out.append((f"{container}/{base}" + (f"_{n}" if n else ""), l))

    if isinstance(layer, (Sequential, Functional)):
        named("layers", layer.layers)
        return out
    for attr in sorted(vars(layer)):
        if attr.startswith("_"):
            continue
        value = vars(layer)[attr]
        if isinstance(value, Layer):
            out.append((attr, value))
        elif isinstance(value, (list, tuple)) and value and all(isinstance(v, Layer) for v in value):
            named(attr, value)
    return out


def _walk(layer, path, visited):
    """(h5 group path, own variables) for the layer and its sub-layers."""
    if id(layer) in visited:
        return
    visited.add(id(layer))
    yield path, layer._own_variables()
    for child_path, child in _children(layer):
        yield from _walk(child, f"{path}/{child_path}" if path else child_path, visited)


def save_weights(model, filepath):
    """Write every variable to ``filepath`` (``*.weights.h5``) as Keras 3
    lays it out: ``<path>/vars/<i>`` per layer, e.g.
    ``layers/dense/vars/0`` for a Sequential's first kernel."""
    h5py = _h5py()
    filepath = str(filepath)
    if not filepath.endswith(".weights.h5"):
        raise ValueError("The filename must end in `.weights.h5`. "
                         f"Received: filepath={filepath}")
    with h5py.File(filepath, "w") as f:
        _write_weights(f, model)


def _write_weights(f, model):
    for path, variables in _walk(model, "", set()):
        group = f.create_group(f"{path}/vars" if path else "vars")
        for i, v in enumerate(variables):
            group.create_dataset(str(i), data=v.numpy())


def load_weights(model, filepath):
    """Assign the variables saved by ``save_weights`` (the model must have
    its weights: build it first). Raises ValueError on a mismatch."""
    h5py = _h5py()
    with h5py.File(str(filepath), "r") as f:
        _read_weights(f, model)


def _read_weights(f, model):
    walked = list(_walk(model, "", set()))
    stored = []
    f.visit(lambda name: stored.append(name[:-len("/vars")] if name.endswith("/vars")
                                       else ("" if name == "vars" else None)))
    extra = sorted(set(p for p in stored if p is not None) - {p for p, _ in walked})
    if extra:
        raise ValueError(f"The file holds weights of layers the model '{model.name}' "
                         f"does not have: {extra}")
    for path, variables in walked:
        key = f"{path}/vars" if path else "vars"
        group = f[key] if key in f else {}
        if len(group) != len(variables):
            raise ValueError(f"Layer '{path or model.name}' expected {len(variables)} "
                             f"variables, but received {len(group)} variables during loading.")
        for i, v in enumerate(variables):
            value = group[str(i)][()]
            if tuple(value.shape) != tuple(v.shape):
                raise ValueError(f"Shape mismatch in layer '{path}' for variable {i}: "
                                 f"expected {tuple(v.shape)}, received {value.shape}")
            v.assign(value)


# model.save / load_model ----------------------------------------------------------

def serialize_layer(layer):
    """``{'module', 'class_name', 'config', 'registered_name'}`` (Keras 3)."""
    from .models import Sequential
    from .functional_model import Functional
    if isinstance(layer, Sequential):
        config = {"name": layer.name,
                  "layers": [serialize_layer(l) for l in layer.layers]}
        if layer._input_shape is not None:
            config["input_shape"] = [None] + list(layer._input_shape)
        return {"module": "keras", "class_name": "Sequential", "config": config,
                "registered_name": None}
    if isinstance(layer, Functional):
        return {"module": "keras", "class_name": "Functional",
                "config": _functional_config(layer), "registered_name": None}
    return {"module": "keras.layers", "class_name": type(layer).__name__,
            "config": layer.get_config(), "registered_name": None}


def _functional_config(model):
    from .functional import KerasTensor, flatten, map_structure
    from .functional import InputLayer
    node_index = {}
    for layer in model.layers:
        for i, node in enumerate(getattr(layer, "_inbound_nodes", [])):
            node_index[id(node)] = i

    def ref(t):
        if isinstance(t, KerasTensor):
            return {"__keras_tensor__": [t.node.layer.name, node_index.get(id(t.node), 0),
                                         t.index]}
        return t
    nodes = []
    for node in model._nodes:
        inputs, args, kwargs = map_structure(ref, node.call_args)
        nodes.append({"layer": node.layer.name, "inputs": inputs, "args": list(args),
                      "kwargs": kwargs})
    layers = [serialize_layer(l) for l in model.layers]
    return {"name": model.name, "layers": layers, "nodes": nodes,
            "input_layers": [[t.node.layer.name, 0, 0] for t in flatten(model.inputs)],
            "output_layers": map_structure(lambda t: ref(t)["__keras_tensor__"], model.outputs),
            "inputs_structure": map_structure(lambda t: 0, model.inputs)}


def deserialize_layer(config, custom_objects=None):
    from . import layers as layers_mod
    from .models import Sequential
    name = config["class_name"]
    if name == "Sequential":
        c = config["config"]
        model = Sequential(name=c["name"])
        if c.get("input_shape") is not None:
            model.add(layers_mod.Input(shape=tuple(c["input_shape"][1:])))
        for lc in c["layers"]:
            model.add(deserialize_layer(lc, custom_objects))
        return model
    if name == "Functional":
        return _functional_from_config(config["config"], custom_objects)
    cls = (custom_objects or {}).get(name) or getattr(layers_mod, name, None)
    if cls is None:
        raise TypeError(f"Could not locate class '{name}'. Make sure custom classes are "
                        "passed in `custom_objects`.")
    c = dict(config["config"])
    for key in ("activation",):
        if isinstance(c.get(key), str) and c[key] in (custom_objects or {}):
            c[key] = custom_objects[c[key]]
    if name == "Lambda":
        fn = (custom_objects or {}).get(c.get("function"))
        if fn is None:
            raise ValueError(f"Lambda layer '{c.get('name')}' needs its function "
                             f"'{c.get('function')}' in `custom_objects`.")
        c["function"] = fn
    for key, value in list(c.items()):
        if isinstance(value, dict) and "class_name" in value and key.endswith(
                ("initializer", "regularizer")):
            c[key] = _deserialize_object(key, value)
    return cls.from_config(c)


def _deserialize_object(key, value):
    mod = initializers if key.endswith("initializer") else regularizers
    return getattr(mod, value["class_name"])(**value.get("config", {}))


def _functional_from_config(config, custom_objects):
    from .functional import InputLayer, flatten, map_structure, pack_as
    from .models import Model
    layers = {}
    for lc in config["layers"]:
        layer = deserialize_layer(lc, custom_objects)
        layers[lc["config"]["name"]] = layer
    outputs = {}  # (layer name, node index) -> outputs
    counts = {}
    for name, layer in layers.items():
        if isinstance(layer, InputLayer):
            outputs[(name, 0)] = layer.output

    def resolve(x):
        if isinstance(x, dict) and "__keras_tensor__" in x:
            lname, ni, ti = x["__keras_tensor__"]
            return flatten(outputs[(lname, ni)])[ti]
        return x
    for node in config["nodes"]:
        layer = layers[node["layer"]]
        inputs = _decode(node["inputs"], resolve)
        args = [_decode(a, resolve) for a in node["args"]]
        kwargs = {k: _decode(v, resolve) for k, v in node["kwargs"].items()}
        ni = counts.get(node["layer"], 0)
        counts[node["layer"]] = ni + 1
        outputs[(node["layer"], ni)] = layer(inputs, *args, **kwargs)
    inputs = pack_as(config["inputs_structure"],
                     [layers[n].output for n, _, _ in config["input_layers"]])
    outs = _decode(config["output_layers"], lambda r: flatten(outputs[(r[0], r[1])])[r[2]],
                   leaf=lambda r: isinstance(r, list) and len(r) == 3 and isinstance(r[0], str))
    return Model(inputs, outs, name=config["name"])


def _decode(x, resolve, leaf=None):
    if leaf is not None and leaf(x):
        return resolve(x)
    if isinstance(x, dict) and "__keras_tensor__" in x:
        return resolve(x)
    if isinstance(x, list):
        return [_decode(v, resolve, leaf) for v in x]
    if isinstance(x, dict):
        return {k: _decode(v, resolve, leaf) for k, v in x.items()}
    return x


def save_model(model, filepath):
    """Write ``filepath`` (``*.keras``): a zip of ``metadata.json``,
    ``config.json`` (the model's architecture) and ``model.weights.h5``."""
    import datetime
    import io
    import json
    import zipfile
    h5py = _h5py()
    filepath = str(filepath)
    if not filepath.endswith(".keras"):
        raise ValueError("The filename must end in `.keras` (or use `save_weights` for "
                         f"`.weights.h5`). Received: filepath={filepath}")
    config = serialize_layer(model)
    if getattr(model, "optimizer", None) is not None and isinstance(model.loss, str):
        config["compile_config"] = {"optimizer": {"class_name": type(model.optimizer).__name__,
                                                  "config": _plain(model.optimizer.get_config())},
                                    "loss": model.loss}
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        _write_weights(f, model)
    meta = {"keras_version": "3.0.0", "date_saved": datetime.datetime.now().strftime(
        "%Y-%m-%d@%H:%M:%S"), "framework": "fastgrad"}
    with zipfile.ZipFile(filepath, "w") as z:
        z.writestr("metadata.json", json.dumps(meta))
        z.writestr("config.json", json.dumps(config))
        z.writestr("model.weights.h5", buf.getvalue())


def _plain(config):
    return {k: (float(v) if hasattr(v, "dtype") else v) for k, v in config.items()
            if not isinstance(v, dict)}


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """The model ``save_model`` wrote, with its weights (and, when it was
    compiled with a named loss, compiled again)."""
    import io
    import json
    import zipfile
    from . import optimizers
    h5py = _h5py()
    with zipfile.ZipFile(str(filepath), "r") as z:
        config = json.loads(z.read("config.json"))
        weights = z.read("model.weights.h5")
    model = deserialize_layer(config, custom_objects)
    with h5py.File(io.BytesIO(weights), "r") as f:
        _read_weights(f, model)
    cc = config.get("compile_config")
    if compile and cc:
        opt = getattr(optimizers, cc["optimizer"]["class_name"])
        kwargs = {k: v for k, v in cc["optimizer"]["config"].items() if v is not None}
        model.compile(opt(**kwargs), cc["loss"])
    return model
