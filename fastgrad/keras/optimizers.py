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

from . import _utils, schedules  # noqa: F401 (keras.optimizers.schedules)

__all__ = ["SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "Ftrl", "Nadam",
           "Optimizer", "RMSprop", "get", "schedules"]


class Optimizer(abc.ABC):
    """Base class. Subclasses name their slots in ``_slot_names()`` and
    apply one step to one variable in ``_update(var, grad, slots, lr)``."""

    def __init__(self, learning_rate=0.001, name=None, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, **kwargs):
        if "lr" in kwargs:  # the TF 1 / early TF 2 spelling
            learning_rate = kwargs.pop("lr")
        for ignored in ("use_ema", "ema_momentum", "ema_overwrite_frequency", "jit_compile",
                        "is_legacy_optimizer"):
            if kwargs.get(ignored) in (None, False):
                kwargs.pop(ignored, None)
        if clipnorm is not None and global_clipnorm is not None:
            raise ValueError("At most one of `clipnorm` and `global_clipnorm` can be set. "
                             f"Received: clipnorm={clipnorm}, global_clipnorm={global_clipnorm}.")
        self.weight_decay = weight_decay
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
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
        pairs = self._clip(pairs)
        lr = self._current_lr()
        hyper = list(self._hyper())
        hyper += [0.0] * (_core.OPTIM_WD - len(hyper)) + [float(self.weight_decay or 0.0)]
        for grad, var in pairs:
            grad = self._as_grad(grad, var)
            _core._optimizer_step(self._KIND, var, grad, self._slots_for(var),
                                  self._iterations, lr, hyper)
        self._iterations.assign_add(1)
        return self._iterations

    def _clip(self, pairs):
        """tf_keras's ``_clip_gradients``: clipnorm per gradient, else
        global_clipnorm over all of them, else clipvalue."""
        if self.clipnorm and self.clipnorm > 0:
            return [(tf.clip_by_norm(g, self.clipnorm), v) for g, v in pairs]
        if self.global_clipnorm and self.global_clipnorm > 0:
            grads = tf.clip_by_global_norm([g for g, _ in pairs], self.global_clipnorm)[0]
            return list(zip(grads, [v for _, v in pairs]))
        if self.clipvalue and self.clipvalue > 0:
            return [(tf.clip_by_value(g, -self.clipvalue, self.clipvalue), v) for g, v in pairs]
        return pairs

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
            self._init_slots(var, slots)
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

    def _init_slots(self, var, slots):
        """Give new slots their initial values (zeros unless overridden)."""

    @abc.abstractmethod
    def _hyper(self):
        """The C step's hyperparameters for ``_KIND`` (csrc/fg_optim.h)."""

    def get_config(self):
        # tf_keras reports the float32 variable's value as a NumPy float32
        lr = self._learning_rate
        lr = lr.get_config() if hasattr(lr, "get_config") else np.float32(float(self.learning_rate))
        return {"name": self.name, "learning_rate": lr, "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm,
                "clipvalue": self.clipvalue}

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


class Adagrad(Optimizer):
    """``acc += g*g; w -= lr*g / sqrt(acc + epsilon)``; Keras's defaults
    (0.001, initial_accumulator_value 0.1, epsilon 1e-7)."""

    _KIND = _core.OPTIM_ADAGRAD

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 name="Adagrad", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.epsilon = float(epsilon)

    def _slot_names(self):
        return ["accumulator"]

    def _init_slots(self, var, slots):
        slots[0].assign(tf.fill(var.shape, tf.constant(self.initial_accumulator_value,
                                                       dtype=var.dtype)))

    def _hyper(self):
        return (self.epsilon,)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon,
                "initial_accumulator_value": self.initial_accumulator_value}


class Adadelta(Optimizer):
    """Adadelta with Keras's defaults (0.001, rho 0.95, epsilon 1e-7)."""

    _KIND = _core.OPTIM_ADADELTA

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, name="Adadelta", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.rho, self.epsilon = float(rho), float(epsilon)

    def _slot_names(self):
        return ["accumulated_grad", "accumulated_delta_var"]

    def _hyper(self):
        return (self.rho, self.epsilon)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Adamax(Optimizer):
    """Adamax (Adam with the infinity norm) with Keras's defaults
    (0.001, 0.9, 0.999, 1e-7)."""

    _KIND = _core.OPTIM_ADAMAX

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 name="Adamax", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

    def _slot_names(self):
        return ["m", "u"]

    def _hyper(self):
        return (self.beta_1, self.beta_2, self.epsilon)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


class Nadam(Optimizer):
    """Adam with Nesterov momentum and Keras's momentum schedule
    (``u_t = beta_1 * (1 - 0.5 * 0.96**t)``); defaults 0.001, 0.9, 0.999,
    1e-7. The running product of the ``u_t`` is a scalar slot per variable
    (tf_keras shares one; the values are the same)."""

    _KIND = _core.OPTIM_NADAM

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 name="Nadam", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

    def _slot_names(self):
        return ["m", "v", "u_product"]

    def _make_slot(self, var, name):
        if name != "u_product":
            return super()._make_slot(var, name)
        base = getattr(var, "name", "Variable").split(":")[0]
        return tf.Variable(tf.ones((), dtype=var.dtype), trainable=False,
                           name=f"{base}/u_product")

    def _hyper(self):
        return (self.beta_1, self.beta_2, self.epsilon)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


class AdamW(Adam):
    """Adam with decoupled weight decay (``w -= w * weight_decay * lr``
    before each step; default weight_decay 0.004, as Keras)."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, name="AdamW", **kwargs):
        if weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: "
                             "weight_decay=None")
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, amsgrad=amsgrad, name=name,
                         weight_decay=weight_decay, **kwargs)


class Ftrl(Optimizer):
    """Follow The Regularized Leader (McMahan et al., 2013) with Keras's
    defaults and update."""

    _KIND = _core.OPTIM_FTRL

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5,
                 initial_accumulator_value=0.1, l1_regularization_strength=0.0,
                 l2_regularization_strength=0.0, l2_shrinkage_regularization_strength=0.0,
                 beta=0.0, name="Ftrl", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        checks = (("initial_accumulator_value", initial_accumulator_value, "needs to be "
                   "positive or zero"),
                  ("l1_regularization_strength", l1_regularization_strength, "needs to be "
                   "positive or zero"),
                  ("l2_regularization_strength", l2_regularization_strength, "needs to be "
                   "positive or zero"),
                  ("l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength,
                   "needs to be positive or zero"))
        for arg, value, what in checks:
            if value < 0.0:
                raise ValueError(f"`{arg}` {what}. Received: {arg}={value}.")
        if learning_rate_power > 0.0:
            raise ValueError("`learning_rate_power` needs to be negative or zero. Received: "
                             f"learning_rate_power={learning_rate_power}.")
        self.learning_rate_power = float(learning_rate_power)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.l1_regularization_strength = float(l1_regularization_strength)
        self.l2_regularization_strength = float(l2_regularization_strength)
        self.l2_shrinkage_regularization_strength = float(l2_shrinkage_regularization_strength)
        self.beta = float(beta)

    def _slot_names(self):
        return ["accumulator", "linear"]

    def _init_slots(self, var, slots):
        slots[0].assign(tf.fill(var.shape, tf.constant(self.initial_accumulator_value,
                                                       dtype=var.dtype)))

    def _hyper(self):
        return (self.learning_rate_power, self.l1_regularization_strength,
                self.l2_regularization_strength, self.l2_shrinkage_regularization_strength,
                self.beta)

    def get_config(self):
        return {**super().get_config(), "learning_rate_power": self.learning_rate_power,
                "initial_accumulator_value": self.initial_accumulator_value,
                "l1_regularization_strength": self.l1_regularization_strength,
                "l2_regularization_strength": self.l2_regularization_strength,
                "l2_shrinkage_regularization_strength":
                    self.l2_shrinkage_regularization_strength,
                "beta": self.beta}


_BY_NAME = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop, "adagrad": Adagrad,
            "adadelta": Adadelta, "adamax": Adamax, "nadam": Nadam, "adamw": AdamW,
            "ftrl": Ftrl}


def get(identifier):
    """An Optimizer from a name ('sgd', 'adam', 'rmsprop', any case) or an
    instance; anything else raises ValueError."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    raise ValueError(f"Unknown optimizer: '{identifier}'.")
