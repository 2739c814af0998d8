"""Optimizers with Keras's defaults and update rules.

Each update is one fused C kernel per variable (``fastgrad._core``'s
``_optimizer_step`` over csrc/fg_optim.c), in place on the variable and its
slots, never a chain of tensor ops. The C step reads the learning rate (a
float32 Variable, as tf_keras holds it) and the ``iterations`` counter
itself and computes Adam's bias correction, so an ``apply_gradients``
inside a ``fastgrad.function`` replays in C and sees a learning rate
assigned between calls. This module holds the API semantics: pairing
gradients with variables, skipping ``None``, slot creation and the
``iterations`` counter.

Update rules (g the gradient, lr the learning rate, t = iterations + 1):

- SGD: ``v = momentum*v - lr*g``; ``w += v`` (Nesterov:
  ``w += momentum*v - lr*g``); without momentum ``w -= lr*g``.
- Adam: ``m += (g - m)*(1 - beta_1)``, ``v += (g*g - v)*(1 - beta_2)``,
  ``w -= lr_t*m / (sqrt(v) + epsilon)`` with
  ``lr_t = lr*sqrt(1 - beta_2**t) / (1 - beta_1**t)``.
- RMSprop: ``ms = rho*ms + (1 - rho)*g*g``, ``d = lr*g / sqrt(ms + epsilon)``;
  ``w -= d`` (with momentum: ``mom = momentum*mom + d``, ``w -= mom``).
"""
import abc

import numpy as np

import fastgrad as tf
from fastgrad import _core
from fastgrad._logging import warn as _warn

from fastgrad.distribute import _context as _distribute_context

from . import _utils

__all__ = ["SGD", "Adam", "Optimizer", "RMSprop", "get"]


class Optimizer(abc.ABC):
    """Base class. Subclasses name their slots in ``_slot_names()`` and
    apply one step to one variable in ``_update(var, grad, slots, lr)``."""

    def __init__(self, learning_rate=0.001, name=None, **kwargs):
        if "lr" in kwargs:  # the TF 1 / early TF 2 spelling
            learning_rate = kwargs.pop("lr")
        if kwargs:
            raise TypeError(
                f"Argument(s) not recognized: {sorted(kwargs)}")
        self.name = name or type(self).__name__
        self._iterations = tf.Variable(tf.constant(0, dtype=tf.int64),
                                       trainable=False,
                                       name=f"{self.name}/iteration")
        self._lr_var = None
        self._set_lr(self._check_lr(learning_rate))
        self._slots = {}  # id(var) -> (var, [its slot Variables, _slot_names' order])
        # built in a tf.distribute strategy's scope: gradients are summed over
        # its workers (fastgrad.distribute; DistributedOptimizer sets it too)
        self._distribution = _distribute_context.current_aggregation()

    @staticmethod
    def _check_lr(value):
        if callable(value):
            return value
        value = float(value)
        if value < 0:
            raise ValueError(
                f"`learning_rate` must be non-negative. Received: {value}")
        return value

    def _set_lr(self, value):
        self._learning_rate = value
        if callable(value):
            return
        if self._lr_var is None:
            self._lr_var = tf.Variable(np.float32(value), trainable=False,
                                       name=f"{self.name}/learning_rate")
        else:
            self._lr_var.assign(np.float32(value))

    def _current_lr(self):
        """The learning rate of this step as a float32 0-d tensor."""
        lr = self._learning_rate
        if not callable(lr):
            return self._lr_var
        value = lr(self._iterations)
        if _utils.is_tensor(value):
            return tf.cast(value, tf.float32)
        return tf.constant(np.float32(value))

    # Keras attributes -----------------------------------------------------
    @property
    def learning_rate(self):
        """The learning rate: a float32 Variable, as tf_keras's (``assign``
        works, as does setting the attribute to a number); for a schedule,
        its value at the current iteration."""
        lr = self._learning_rate
        return float(lr(self.iterations)) if callable(lr) else self._lr_var

    @learning_rate.setter
    def learning_rate(self, value):
        self._set_lr(self._check_lr(value))

    lr = learning_rate

    @property
    def iterations(self):
        """How many times ``apply_gradients`` has updated (an int64
        Variable, as Keras)."""
        return self._iterations

    @property
    def variables(self):
        slots = [s for _, ss in self._slots.values() for s in ss]
        return [self._iterations] + slots

    # updates --------------------------------------------------------------
    def apply_gradients(self, grads_and_vars, name=None, experimental_aggregate_gradients=True):
        """Apply ``(gradient, variable)`` pairs from any iterable (a zip
        too). ``None`` gradients are skipped with a warning; all ``None``
        raises ``ValueError("No gradients provided for any variable.")``.
        An optimizer of fastgrad.distribute first reduces the gradients
        over the processes unless ``experimental_aggregate_gradients`` is
        False (the caller reduced them). Returns ``iterations``."""
        pairs = []
        missing = []
        for pair in grads_and_vars:
            try:
                grad, var = pair
            except (TypeError, ValueError):
                raise ValueError(
                    "`grads_and_vars` must be an iterable of (gradient, "
                    f"variable) pairs; got {pair!r}") from None
            if grad is None:
                missing.append(getattr(var, "name", repr(var)))
            else:
                pairs.append((grad, var))
        if not pairs:
            raise ValueError("No gradients provided for any variable.")
        if missing:
            # tf_keras's text; it logs it, as fastgrad does
            msg = (f"Gradients do not exist for variables {missing} when minimizing the "
                   "loss. If you're using `model.compile()`, did you forget to provide a "
                   "`loss` argument?")
            _warn(msg)
        if experimental_aggregate_gradients and self._distribution is not None:
            pairs = self._distribution.aggregate(pairs)
        # tf_keras holds the learning rate in a float32 variable and casts it
        # to each variable's dtype (float64 variables see float32 0.05)
        lr = self._current_lr()
        hyper = self._hyper()
        for grad, var in pairs:
            grad = self._as_grad(grad, var)
            _core._optimizer_step(self._KIND, var, grad, self._slots_for(var),
                                  self._iterations, lr, hyper)
        self._iterations.assign_add(1)
        return self._iterations

    def minimize(self, loss, var_list, tape=None):
        """``loss`` a zero-argument callable (or a Tensor with ``tape``);
        computes the gradients of ``var_list`` and applies them."""
        var_list = list(var_list() if callable(var_list) else var_list)
        if tape is None:
            if not callable(loss):
                raise ValueError("`tape` is required when a `Tensor` loss is "
                                 "passed. Pass a callable loss or a tape.")
            with tf.GradientTape() as tape:
                loss = loss()
        elif callable(loss):
            with tape:
                loss = loss()
        grads = tape.gradient(loss, var_list)
        return self.apply_gradients(zip(grads, var_list))

    @staticmethod
    def _as_grad(grad, var):
        if type(grad) is tf.Tensor and grad.dtype is var.dtype:
            return grad  # the fused C step checks the shape
        if not _utils.is_tensor(grad):
            grad = _utils.to_tensor(grad, var.dtype)
        elif grad.dtype != var.dtype:
            grad = tf.cast(grad, var.dtype)
        if _utils.shape_tuple(grad) != _utils.shape_tuple(var):
            raise ValueError(
                f"Gradient of shape {_utils.shape_tuple(grad)} does not match "
                f"variable {getattr(var, 'name', '')} of shape "
                f"{_utils.shape_tuple(var)}")
        return grad

    def _slots_for(self, var):
        entry = self._slots.get(id(var))
        if entry is None or entry[0] is not var:
            slots = [self._make_slot(var, name) for name in self._slot_names()]
            entry = (var, slots)
            self._slots[id(var)] = entry
        return entry[1]

    @staticmethod
    def _make_slot(var, name):
        base = getattr(var, "name", "Variable").split(":")[0]
        return tf.Variable(tf.zeros(var.shape, dtype=var.dtype),
                           trainable=False, name=f"{base}/{name}")

    def _slot_names(self):
        """The slots the C step updates, in its order (csrc/fg_optim.h)."""
        return []

    @abc.abstractmethod
    def _hyper(self):
        """The C step's hyperparameters for ``_KIND`` (csrc/fg_optim.h)."""

    def get_config(self):
        # tf_keras reports the float32 variable's value as a NumPy float32
        return {"name": self.name, "learning_rate": np.float32(float(self.learning_rate))}

    def __repr__(self):
        return f"<{type(self).__name__} learning_rate={float(self.learning_rate)}>"


class SGD(Optimizer):
    """Gradient descent with optional (Nesterov) momentum. Defaults as
    Keras: learning_rate 0.01, momentum 0."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False,
                 name="SGD", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        if not isinstance(momentum, (int, float)) or not 0 <= momentum <= 1:
            raise ValueError("`momentum` must be a float between [0, 1].")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    _KIND = _core.OPTIM_SGD

    def _slot_names(self):
        return ["momentum"] if self.momentum != 0 else []

    def _hyper(self):
        return (self.momentum, float(self.nesterov))

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum,
                "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam with Keras's defaults (0.001, 0.9, 0.999, 1e-7)."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, name="Adam", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.amsgrad = bool(amsgrad)
        self.beta_1, self.beta_2 = float(beta_1), float(beta_2)
        self.epsilon = float(epsilon)

    _KIND = _core.OPTIM_ADAM

    def _slot_names(self):
        return ["m", "v"] + (["vhat"] if self.amsgrad else [])

    def _hyper(self):
        # the C step computes Keras's bias-corrected rate in the variable's
        # dtype from float32 hyperparameters (float64 variables see float32
        # 0.9): alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)
        return (self.beta_1, self.beta_2, self.epsilon, float(self.amsgrad))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1,
                "beta_2": self.beta_2, "epsilon": self.epsilon,
                "amsgrad": self.amsgrad}


class RMSprop(Optimizer):
    """RMSprop with Keras's defaults (0.001, rho 0.9, momentum 0, 1e-7)."""

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, name="RMSprop", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        if centered:
            raise NotImplementedError("RMSprop(centered=True) is not supported.")
        self.rho, self.momentum = float(rho), float(momentum)
        self.epsilon = float(epsilon)

    _KIND = _core.OPTIM_RMSPROP

    def _slot_names(self):
        return ["velocity"] + (["momentum"] if self.momentum > 0 else [])

    def _hyper(self):
        return (self.rho, self.momentum, self.epsilon)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho,
                "momentum": self.momentum, "epsilon": self.epsilon}


_BY_NAME = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop}


def get(identifier):
    """An Optimizer from a name ('sgd', 'adam', 'rmsprop', any case) or an
    instance; anything else raises ValueError."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    raise ValueError(f"Unknown optimizer: '{identifier}'.")
