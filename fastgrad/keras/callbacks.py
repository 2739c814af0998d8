"""Callbacks for ``Sequential.fit``: the base class and ``History``."""

__all__ = ["Callback", "EarlyStopping", "History", "LambdaCallback"]


class Callback:
    """Hooks called by ``fit``; ``self.model`` is set before training."""

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_batch_begin(self, batch, logs=None):
        pass

    def on_train_batch_end(self, batch, logs=None):
        pass


class History(Callback):
    """Records each epoch's logs: ``history.history['loss']`` is the list of
    per-epoch training losses, ``'val_loss'`` the validation ones, and one
    list per metric. ``fit`` returns it."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)


class LambdaCallback(Callback):
    """Callbacks from plain functions: ``on_epoch_end=lambda epoch, logs: ...``."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None,
                 on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None):
        super().__init__()
        for name, fn in (("on_epoch_begin", on_epoch_begin),
                         ("on_epoch_end", on_epoch_end),
                         ("on_train_begin", on_train_begin),
                         ("on_train_end", on_train_end),
                         ("on_train_batch_begin", on_train_batch_begin),
                         ("on_train_batch_end", on_train_batch_end)):
            if fn is not None:
                setattr(self, name, fn)


class EarlyStopping(Callback):
    """Stop training when ``monitor`` has not improved by ``min_delta`` for
    ``patience`` epochs; optionally restore the best weights."""

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0,
                 mode="auto", restore_best_weights=False):
        super().__init__()
        self.monitor, self.patience = monitor, patience
        self.min_delta = abs(min_delta)
        if mode == "auto":
            mode = "max" if "acc" in monitor else "min"
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping mode {mode} is unknown")
        self.sign = 1.0 if mode == "min" else -1.0
        self.restore_best_weights = restore_best_weights
        self.stopped_epoch = 0

    def on_train_begin(self, logs=None):
        self.wait, self.best, self.best_weights = 0, float("inf"), None
        self.stopped_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            return
        score = self.sign * value
        if score < self.best - self.min_delta:
            self.best, self.wait = score, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True
            if self.restore_best_weights and self.best_weights is not None:
                self.model.set_weights(self.best_weights)
