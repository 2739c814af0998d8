"""Keras-style training on fastgrad: ``from fastgrad import keras``.

The subset of ``tf.keras`` that eager GradientTape code uses: optimizers
(fused C updates), Dense layers, Sequential models with
compile/fit/evaluate/predict, losses and metrics.
"""
from . import (activations, backend, callbacks, initializers, layers, losses,
               metrics, models, optimizers)
from .layers import Input
from .models import Model, Sequential
from . import regularizers, saving, utils  # noqa: E402


__all__ = ["Input", "Model", "Sequential", "activations", "backend", "callbacks",
           "initializers", "layers", "losses", "metrics", "models",
           "optimizers", "regularizers", "saving", "utils"]
