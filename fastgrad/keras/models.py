"""``Sequential``: a stack of layers with Keras's build, summary and the
``compile``/``fit``/``evaluate``/``predict`` training API.

Training runs the usual eager step: forward pass and loss under a
``GradientTape``, ``tape.gradient`` with respect to the trainable
variables, ``optimizer.apply_gradients`` (fused C kernels). Data handling
(batching, shuffling) is NumPy indexing; every number a model computes is
a fastgrad op.
"""
import itertools
import math

import numpy as np

import fastgrad as tf

from . import _utils
from . import losses as losses_mod
from . import metrics as metrics_mod
from . import optimizers as optimizers_mod
from ._progbar import Progbar
from .callbacks import Callback, History
from .layers import InputLayer, Layer

__all__ = ["Sequential"]


class Sequential(tf.Module):
    """A linear stack of layers (a ``fastgrad.Module``, as Keras models are).

    Built lazily on the first call, or at once when the first layer was
    given ``input_shape`` (or an ``Input`` comes first); ``summary()``
    needs a built model.
    """

    def __init__(self, layers=None, name=None):
        self._name = name or _utils.unique_name("sequential")
        self._layers = []
        self._input_shape = None   # without the batch dimension
        self._output_shapes = {}   # id(layer) -> output shape with batch
        self.optimizer = None
        self.loss = None
        self.compiled_metrics = []
        self.stop_training = False
        self.history = None
        self.run_eagerly = None
        self._reset_functions()
        for layer in layers or []:
            self.add(layer)

    @property
    def name(self):
        return self._name

    @property
    def name_scope(self):
        return tf.name_scope(self._name)

    # structure --------------------------------------------------------------
    def add(self, layer):
        """Append a layer (or an ``Input``, which must come first)."""
        if isinstance(layer, InputLayer):
            if self._layers:
                raise ValueError("An Input can only be the first layer of a "
                                 "Sequential model.")
            self._input_shape = layer.shape
            return
        if not isinstance(layer, Layer):
            raise TypeError("The added layer must be an instance of class "
                            f"Layer. Received: layer={layer} of type {type(layer)}.")
        if any(layer.name == l.name for l in self._layers):
            raise ValueError(f"All layers added to a Sequential model should "
                             f"have unique names. Name '{layer.name}' is "
                             f"already the name of a layer in this model.")
        self._layers.append(layer)
        self._reset_functions()  # their traces read the old layers' variables
        self._propagate_shapes()

    def pop(self):
        if not self._layers:
            raise TypeError("There are no layers in the model.")
        layer = self._layers.pop()
        self._output_shapes.pop(id(layer), None)
        self._reset_functions()
        return layer

    @property
    def layers(self):
        return list(self._layers)

    def get_layer(self, name=None, index=None):
        if index is not None:
            return self._layers[index]
        for layer in self._layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: "
                         f"{[l.name for l in self._layers]}.")

    @property
    def built(self):
        return bool(self._layers) and all(l.built for l in self._layers)

    def _propagate_shapes(self):
        """Build what the known input shape allows, recording each
        layer's output shape for ``summary``."""
        shape = self._input_shape
        if shape is None and self._layers and self._layers[0].built:
            shape = tuple(self._layers[0].input_shape[1:])
        if shape is None:
            return
        shape = (None,) + tuple(shape)
        for layer in self._layers:
            if not layer.built:
                layer.build(shape)
                layer.built = True
            shape = tuple(layer.compute_output_shape(shape))
            self._output_shapes[id(layer)] = (None,) + shape[1:]
        if self._input_shape is None:
            self._input_shape = tuple(self._layers[0].input_shape[1:])

    def build(self, input_shape=None):
        """Create every layer's weights for inputs of ``input_shape``
        (batch dimension first, e.g. ``(None, 8)``)."""
        if input_shape is not None:
            self._input_shape = tuple(input_shape)[1:]
        if self._input_shape is None and not (self._layers and self._layers[0].built):
            raise ValueError("You must provide an `input_shape` argument.")
        self._propagate_shapes()

    def __call__(self, inputs, training=None):
        if not self._layers:
            raise ValueError(f"Sequential model '{self.name}' has no layers; "
                             "add some before calling it.")
        first = not self.built
        x = inputs
        self._check_input_spec(x)
        for layer in self._layers:
            x = layer(x, training=training)
        if first:
            if self._input_shape is None:
                self._input_shape = tuple(self._layers[0].input_shape[1:])
            self._propagate_shapes()
        return x

    call = __call__

    def _check_input_spec(self, x):
        """tf_keras checks a Sequential of known input shape as a whole
        (its InputSpec), before any layer sees the batch."""
        if self._input_shape is None:
            return
        shape = _utils.shape_tuple(x) if hasattr(x, "shape") else np.shape(x)
        expected = (None,) + tuple(self._input_shape)
        if len(shape) == len(expected) and any(
                e is not None and e != d for e, d in zip(expected, shape)):
            raise ValueError(
                f'Input 0 of layer "{self.name}" is incompatible with the layer: '
                f"expected shape={expected}, found shape={tuple(shape)}")

    # weights ----------------------------------------------------------------
    def _assert_weights_created(self):
        if not self.built:
            raise ValueError(
                f"Weights for model '{self.name}' have not yet been created. "
                "Weights are created when the model is first called on "
                "inputs or `build()` is called with an `input_shape`.")

    @property
    def variables(self):
        self._assert_weights_created()
        return [v for l in self._layers for v in l.variables]

    weights = variables

    @property
    def trainable_variables(self):
        self._assert_weights_created()
        return [v for l in self._layers for v in l.trainable_variables]

    trainable_weights = trainable_variables

    @property
    def non_trainable_variables(self):
        self._assert_weights_created()
        return [v for l in self._layers for v in l.non_trainable_variables]

    non_trainable_weights = non_trainable_variables

    def get_weights(self):
        return [v.numpy() for v in self.variables]

    def set_weights(self, weights):
        weights = list(weights)
        variables = self.variables
        if len(weights) != len(variables):
            raise ValueError(f"You called `set_weights(weights)` on model "
                             f"'{self.name}' with a weight list of length "
                             f"{len(weights)}, but the model expects "
                             f"{len(variables)} weights.")
        for var, w in zip(variables, weights):
            var.assign(w)

    def count_params(self):
        if not self.built:
            raise ValueError("You tried to call `count_params` on model "
                             f"'{self.name}', but the model has not been built.")
        return sum(l.count_params() for l in self._layers)

    # summary ----------------------------------------------------------------
    def summary(self, line_length=65, print_fn=None):
        """Print a table of the layers, their output shapes and parameter
        counts, laid out as ``tf.keras`` does."""
        if not self.built:
            raise ValueError(
                "This model has not yet been built. Build the model first by "
                "calling `build()` or by calling the model on a batch of data.")
        print_fn = print_fn or print
        ends = [int(line_length * p) for p in (0.45, 0.85, 1.0)]

        def row(fields):
            line = ""
            for field, end in zip([" " + str(fields[0])] + fields[1:], ends):
                line = (line + str(field))[:end - 1].ljust(end)
            return line

        print_fn(f'Model: "{self.name}"')
        print_fn("_" * line_length)
        print_fn(row(["Layer (type)", "Output Shape", "Param #"]))
        print_fn("=" * line_length)
        for layer in self._layers:
            shape = self._output_shapes.get(id(layer), "?")
            print_fn(row([f"{layer.name} ({type(layer).__name__})", shape,
                          layer.count_params()]))
            print_fn(" " * line_length)
        trainable = sum(math.prod(_utils.shape_tuple(v))
                        for v in self.trainable_variables)
        total = self.count_params()
        print_fn("=" * line_length)
        for label, n in (("Total", total), ("Trainable", trainable),
                         ("Non-trainable", total - trainable)):
            print_fn(f"{label} params: {n} ({_format_bytes(4 * n)})")
        print_fn("_" * line_length)

    # training ---------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None,
                loss_weights=None, run_eagerly=None, **kwargs):
        """Configure training: an optimizer (instance or name), a loss (a
        name such as 'mse' or 'sparse_categorical_crossentropy', a Loss or
        a per-sample function) and metrics (names or instances)."""
        unknown = set(kwargs) - {"jit_compile", "steps_per_execution",
                                 "weighted_metrics"}
        if unknown:
            raise TypeError(f"Invalid keyword argument(s) in `compile()`: "
                            f"{sorted(unknown)}")
        if loss_weights is not None:
            raise NotImplementedError("`loss_weights` is not supported.")
        self.optimizer = optimizers_mod.get(optimizer)
        self.loss = loss
        self._loss_obj = _loss_object(loss) if loss is not None else None
        if metrics is None:
            metrics = []
        elif isinstance(metrics, (str, metrics_mod.Metric)) or callable(metrics):
            metrics = [metrics]
        loss_fn = getattr(self._loss_obj, "fn", self._loss_obj)
        self.compiled_metrics = [metrics_mod.get(m, loss=loss_fn) for m in metrics]
        self.run_eagerly = run_eagerly
        self._reset_functions()

    @property
    def metrics(self):
        return list(self.compiled_metrics)

    @property
    def metrics_names(self):
        return ["loss"] + [m.name for m in self.compiled_metrics]

    def _check_compiled(self, what):
        if self.optimizer is None or self._loss_obj is None:
            raise RuntimeError(
                "You must compile your model before training/testing. Use "
                "`model.compile(optimizer, loss)`.")

    def _train_step(self, x, y, tvars):
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self._loss_obj(y, y_pred)
        grads = tape.gradient(loss, tvars)
        self.optimizer.apply_gradients(zip(grads, tvars))
        return loss, y_pred

    def _reset_functions(self):
        self._train_function = self._test_function = self._predict_function = None

    def _traced(self, attr, fn):
        """fn, or (as tf.keras does unless ``run_eagerly``) the
        fastgrad.function of it kept in attr: recorded once per batch
        shape, replayed in C. fn takes plain tensors and reads the
        variables as closure variables, so calls take the compiled fast
        path."""
        if self.run_eagerly:
            return fn
        traced = getattr(self, attr)
        if traced is None:
            traced = tf.function(fn)
            setattr(self, attr, traced)
        return traced

    def _step(self):
        """The train step fit and train_on_batch call: ``step(x, y)`` ->
        (loss, predictions), forward, gradient and optimizer update."""
        distribution = getattr(self.optimizer, "_distribution", None)
        if distribution is not None:  # data-parallel (fastgrad.distribute)
            return distribution.train_step(self)

        def train_function(x, y):
            return self._train_step(x, y, self.trainable_variables)
        return self._traced("_train_function", train_function)

    def _test_step(self):
        """``step(x, y)`` -> (loss, predictions), for evaluate."""
        def test_function(x, y):
            y_pred = self(x)
            return self._loss_obj(y, y_pred), y_pred
        return self._traced("_test_function", test_function)

    def _predict_step(self):
        return self._traced("_predict_function", lambda x: self(x))

    def train_on_batch(self, x, y, return_dict=False):
        """One optimizer step on one batch; returns the loss (and metrics)."""
        self._check_compiled("training")
        x, y = self._prepare(x, y)
        for m in self.compiled_metrics:
            m.reset_state()
        loss, y_pred = self._step()(tf.constant(x), tf.constant(y))
        for m in self.compiled_metrics:
            m.update_state(y, y_pred)
        return self._results(float(loss), return_dict)

    def test_on_batch(self, x, y, return_dict=False):
        self._check_compiled("evaluating")
        x, y = self._prepare(x, y)
        logs = self._evaluate_batches(_ArrayBatches(x, y, len(x), False, None), None)
        return self._results(logs, return_dict)

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto",
            callbacks=None, validation_split=0.0, validation_data=None,
            shuffle=True, initial_epoch=0, steps_per_epoch=None,
            validation_batch_size=None, validation_steps=None):
        """Train for ``epochs`` passes over (x, y) in shuffled batches of
        ``batch_size`` (32), or over a ``fastgrad.data.Dataset`` of
        ``(x, y)`` batches (``steps_per_epoch`` of them when it repeats
        forever). Prints a progress bar per epoch (``verbose=1``
        on a terminal), a plain line per epoch (``verbose=2``, or 1 when
        the output is not a terminal) or nothing (0). Returns a
        ``History`` whose ``.history`` holds per-epoch 'loss', each
        metric, and ``val_``-prefixed values with ``validation_data``."""
        self._check_compiled("training")
        if _is_dataset(x):
            data = _DatasetBatches(self, x, y, batch_size, steps_per_epoch)
        else:
            x, y = self._prepare(x, y)
            if validation_data is None and validation_split:
                if not 0 < validation_split < 1:
                    raise ValueError("`validation_split` must be in (0, 1); "
                                     f"received {validation_split}")
                cut = int(len(x) * (1.0 - validation_split))
                validation_data = (x[cut:], y[cut:])
                x, y = x[:cut], y[:cut]
            data = _ArrayBatches(x, y, _batch_size(batch_size), shuffle, steps_per_epoch)
        val_data = None
        if validation_data is not None:
            if _is_dataset(validation_data):
                val_data = _DatasetBatches(self, validation_data, None, None, validation_steps)
            else:
                if len(validation_data) not in (2, 3):
                    raise ValueError("`validation_data` should be a tuple "
                                     "`(x_val, y_val)`. Received: "
                                     f"validation_data={validation_data!r}")
                x_val, y_val = self._prepare(validation_data[0], validation_data[1])
                val_data = _ArrayBatches(x_val, y_val,
                                         _batch_size(validation_batch_size or batch_size),
                                         False, validation_steps)
        verbose = _verbosity(verbose)
        steps = data.steps()

        history = History()
        cbs = list(callbacks or []) + [history]
        for cb in cbs:
            if not isinstance(cb, Callback):
                raise TypeError(f"Expected a Callback, got {cb!r}")
            cb.set_model(self)
            cb.set_params({"verbose": verbose, "epochs": epochs, "steps": steps})
        self.stop_training = False
        for cb in cbs:
            cb.on_train_begin()
        train_step = self._step()
        for epoch in range(initial_epoch, epochs):
            for m in self.compiled_metrics:
                m.reset_state()
            for cb in cbs:
                cb.on_epoch_begin(epoch)
            if verbose:
                print(f"Epoch {epoch + 1}/{epochs}", flush=True)
            batches, steps = data.epoch()
            bar = Progbar(steps, verbose=verbose)
            loss_sum, seen = 0.0, 0
            for step, (xb, yb) in enumerate(batches):
                if not self.built:  # the first batch builds the model
                    self(xb[:1])
                for cb in cbs:
                    cb.on_train_batch_begin(step)
                loss, y_pred = train_step(xb, yb)
                n = int(xb.shape[0])
                loss_sum += float(loss) * n
                seen += n
                for m in self.compiled_metrics:
                    m.update_state(yb, y_pred)
                batch_logs = None
                if step + 1 < steps and bar.wants_update(step + 1):
                    batch_logs = self._logs(loss_sum / seen)
                    bar.update(step + 1, list(batch_logs.items()))
                for cb in cbs:
                    cb.on_train_batch_end(step, batch_logs)
            logs = self._logs(loss_sum / max(seen, 1))
            if val_data is not None:
                val_logs = self._evaluate_batches(val_data, None)
                logs.update({"val_" + k: v for k, v in val_logs.items()})
            bar.update(steps, list(logs.items()))
            for cb in cbs:
                cb.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        for cb in cbs:
            cb.on_train_end()
        self.history = history
        return history

    def _logs(self, loss):
        logs = {"loss": loss}
        for m in self.compiled_metrics:
            logs[m.name] = float(m.result())
        return logs

    def _evaluate_batches(self, data, bar):
        for m in self.compiled_metrics:
            m.reset_state()
        batches, _ = data.epoch()
        loss_sum, seen = 0.0, 0
        test_step = self._test_step()
        for step, (xb, yb) in enumerate(batches):
            loss, y_pred = test_step(xb, yb)
            n = int(xb.shape[0])
            loss_sum += float(loss) * n
            seen += n
            for m in self.compiled_metrics:
                m.update_state(yb, y_pred)
            if bar is not None and bar.wants_update(step + 1):
                bar.update(step + 1, list(self._logs(loss_sum / seen).items()))
        return self._logs(loss_sum / max(seen, 1))

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto",
                 steps=None, return_dict=False):
        """The loss (and metrics) over (x, y) or a Dataset of (x, y)
        batches: a float when no metrics were compiled, else
        ``[loss, *metrics]``; a dict with ``return_dict``."""
        self._check_compiled("evaluating")
        if _is_dataset(x):
            data = _DatasetBatches(self, x, y, batch_size, steps)
        else:
            x, y = self._prepare(x, y)
            data = _ArrayBatches(x, y, _batch_size(batch_size), False, steps)
        verbose = _verbosity(verbose)
        bar = Progbar(data.steps(), verbose=verbose)
        logs = self._evaluate_batches(data, bar)
        return self._results(logs, return_dict)

    def _results(self, logs, return_dict):
        if not isinstance(logs, dict):
            logs = self._logs(logs)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto", steps=None):
        """The model's outputs for x (an array, or a Dataset whose elements
        are batches of x or ``(x, y)`` pairs), batch by batch, as a NumPy
        array."""
        if _is_dataset(x):
            data = _DatasetBatches(self, x, None, batch_size, steps, need_y=False)
        else:
            data = _ArrayBatches(self._prepare_x(x), None, _batch_size(batch_size), False, steps)
        verbose = _verbosity(verbose)
        batches, n_steps = data.epoch()
        bar = Progbar(n_steps, verbose=verbose)
        outs = []
        predict_step = self._predict_step()
        for step, (xb, _) in enumerate(batches):
            outs.append(np.asarray(predict_step(xb)))
            if bar.wants_update(step + 1):
                bar.update(step + 1)
        return np.concatenate(outs, axis=0)

    # data -------------------------------------------------------------------
    def _input_dtype(self):
        return self._layers[0].dtype if self._layers else tf.float32

    def _prepare_x(self, x):
        if x is None:
            raise ValueError("Unrecognized data type: x=None")
        x = np.asarray(x)
        if x.dtype.kind == "f" or x.dtype.kind in "iub":
            x = x.astype(self._input_dtype().as_numpy_dtype, copy=False)
        return x

    def _prepare(self, x, y):
        """x and y as NumPy arrays with the same number of samples; float
        arrays in the model's dtype (labels keep their integer dtype)."""
        x = self._prepare_x(x)
        if y is None:
            raise ValueError("Target data `y` is required for training and "
                             "evaluation.")
        y = np.asarray(y)
        if y.dtype.kind == "f":
            y = y.astype(self._input_dtype().as_numpy_dtype, copy=False)
        if x.ndim == 0 or y.ndim == 0 or len(x) != len(y):
            raise ValueError(
                "Data cardinality is ambiguous. Make sure all arrays contain "
                f"the same number of samples. 'x' sizes: "
                f"{x.shape[0] if x.ndim else x.shape} "
                f"'y' sizes: {y.shape[0] if y.ndim else y.shape}")
        return x, y

    def __repr__(self):
        return f"<Sequential name={self.name}, built={self.built}>"


def _is_dataset(x):
    return type(x).__module__.startswith("fastgrad.data")


class _ArrayBatches:
    """(x, y) NumPy arrays cut into batches, shuffled each epoch."""

    def __init__(self, x, y, batch_size, shuffle, steps):
        self.x, self.y, self.batch_size, self.shuffle = x, y, batch_size, shuffle
        self.n_steps = max(1, math.ceil(len(x) / batch_size))
        if steps is not None:
            self.n_steps = min(self.n_steps, int(steps))

    def steps(self):
        return self.n_steps

    def epoch(self):
        return self._batches(), self.n_steps

    def _batches(self):
        order = np.random.permutation(len(self.x)) if self.shuffle else None
        for step in range(self.n_steps):
            cut = slice(step * self.batch_size, (step + 1) * self.batch_size)
            idx = cut if order is None else order[cut]
            yield (tf.constant(self.x[idx]),
                   None if self.y is None else tf.constant(self.y[idx]))


class _DatasetBatches:
    """The batches of a ``fastgrad.data.Dataset`` whose elements are
    ``(x, y)`` (or x alone for predict); floating values are cast to the
    model's dtype, as Keras does."""

    def __init__(self, model, dataset, y, batch_size, steps, need_y=True):
        if y is not None:
            raise ValueError("`y` argument is not supported when using dataset as input.")
        # a batch_size is ignored (tf.keras too: the dataset batches)
        self.model, self.dataset, self.need_y = model, dataset, need_y
        n = int(dataset.cardinality())
        if n == -1 and steps is None:
            raise ValueError("When providing an infinite dataset, you must specify the number "
                             "of steps to run (if you did not intend to create an infinite "
                             "dataset, make sure to not call `repeat()` on the dataset).")
        self.n_steps = int(steps) if steps is not None else (None if n < 0 else n)
        # with a step count, epochs continue one iterator (tf.keras's
        # DataHandler): epoch 2 of ds.repeat() starts where epoch 1 ended
        self._shared = self._batches() if steps is not None else None

    def steps(self):
        return self.n_steps

    def epoch(self):
        """(batches, number of steps); a dataset of unknown length is
        read whole first so that the progress bar knows its target."""
        batches = self._shared if self._shared is not None else self._batches()
        if self.n_steps is not None:
            return itertools.islice(batches, self.n_steps), self.n_steps
        batches = list(batches)
        return iter(batches), len(batches)

    def _cast(self, t):
        t = t if _utils.is_tensor(t) else tf.convert_to_tensor(t)
        dtype = self.model._input_dtype()
        return tf.cast(t, dtype) if t.dtype.is_floating and t.dtype != dtype else t

    def _batches(self):
        for element in self.dataset:
            if isinstance(element, tuple) and len(element) in (2, 3):
                if len(element) == 3:
                    raise NotImplementedError("sample weights are not supported")
                x, y = element
            elif self.need_y:
                raise ValueError("a Dataset given to fit or evaluate must yield (x, y) "
                                 f"pairs; got elements {self.dataset.element_spec}")
            else:
                x, y = element[0] if isinstance(element, tuple) else element, None
            yield self._cast(x), None if y is None else self._cast(y)


def _loss_object(loss):
    if isinstance(loss, losses_mod.Loss):
        return loss
    fn = losses_mod.get(loss)
    if isinstance(fn, losses_mod.Loss):
        return fn
    return losses_mod.LossFunctionWrapper(
        fn, name=loss if isinstance(loss, str) else getattr(fn, "__name__", None))


def _batch_size(batch_size):
    if batch_size is None:
        return 32
    if int(batch_size) < 1:
        raise ValueError(f"`batch_size` must be a positive integer; got {batch_size}")
    return int(batch_size)


def _verbosity(verbose):
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2):
        raise ValueError(f"`verbose` must be 0, 1, 2 or 'auto'; got {verbose!r}")
    return verbose


def _format_bytes(n):
    for unit in ("Byte", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.2f} {unit}"
        n /= 1024
