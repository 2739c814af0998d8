"""The progress bar ``fit``/``evaluate``/``predict`` print, in Keras's
(TF 2) text format:

    Epoch 3/10
     7/12 [================>.............] - ETA: 0s - loss: 0.5123 - mse: 0.5123
    12/12 [==============================] - 0s 2ms/step - loss: 0.4987 - mse: 0.4987

On a terminal the line redraws in place (``\\r``). When standard output
is not a terminal, or with ``verbose=2``, one plain line is printed when
the bar finishes:

    12/12 - 0s - loss: 0.4987 - mse: 0.4987 - 31ms/epoch - 2ms/step
"""
import sys
import time

__all__ = ["Progbar"]


def _is_terminal(stream):
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # closed stream
        return False


def _format_value(v):
    return f" {v:.4f}" if abs(v) > 1e-3 else f" {v:.4e}"


def _format_step_time(seconds, unit="step"):
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit}"
    return f"{seconds * 1e6:.0f}us/{unit}"


class Progbar:
    """``update(current, values)`` with values a list of ``(name, number)``
    already averaged by the caller (all metrics are stateful here).

    verbose: 1 draws the bar (falls back to the plain line when the stream
    is not a terminal), 2 prints the plain line only, 0 nothing.
    """

    def __init__(self, target, width=30, verbose=1, interval=0.05,
                 stream=None, unit_name="step"):
        self.target = target
        self.width = width
        self.stream = stream if stream is not None else sys.stdout
        self.dynamic = verbose == 1 and _is_terminal(self.stream)
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self._start = time.perf_counter()
        self._last_draw = 0.0
        self._prev_width = 0

    def wants_update(self, current):
        """Whether ``update(current)`` would draw something, so callers
        can skip computing the values for it."""
        if self.verbose == 0:
            return False
        if current >= self.target:
            return True
        return self.dynamic and (time.perf_counter() - self._last_draw
                                 >= self.interval)

    def update(self, current, values=(), finalize=None):
        if finalize is None:
            finalize = current >= self.target
        if self.verbose == 0:
            return
        now = time.perf_counter()
        if self.dynamic:
            if not finalize and now - self._last_draw < self.interval:
                return
            self._draw(current, values, finalize, now)
        elif finalize:
            self._plain_line(current, values, now)
        self._last_draw = now

    def _bar(self, current):
        digits = len(str(self.target))
        bar = f"{current:{digits}d}/{self.target} ["
        filled = int(self.width * current / self.target) if self.target else self.width
        if filled > 0:
            bar += "=" * (filled - 1) + (">" if current < self.target else "=")
        bar += "." * (self.width - filled) + "]"
        return bar

    def _draw(self, current, values, finalize, now):
        elapsed = now - self._start
        per_step = elapsed / current if current else 0.0
        line = self._bar(current)
        if finalize:
            line += f" - {elapsed:.0f}s {_format_step_time(per_step, self.unit_name)}"
        else:
            eta = per_step * (self.target - current)
            if eta > 3600:
                eta_s = f"{int(eta // 3600)}:{int(eta % 3600 // 60):02d}:{int(eta % 60):02d}"
            elif eta > 60:
                eta_s = f"{int(eta // 60)}:{int(eta % 60):02d}"
            else:
                eta_s = f"{int(eta)}s"
            line += f" - ETA: {eta_s}"
        for name, value in values:
            line += f" - {name}:{_format_value(value)}"
        pad = max(0, self._prev_width - len(line))
        self._prev_width = len(line)
        self.stream.write("\r" + line + " " * pad + ("\n" if finalize else ""))
        self.stream.flush()

    def _plain_line(self, current, values, now):
        elapsed = now - self._start
        digits = len(str(self.target))
        line = f"{current:{digits}d}/{self.target} - {elapsed:.0f}s"
        for name, value in values:
            line += f" - {name}:{_format_value(value)}"
        if self.unit_name == "step":
            line += f" - {_format_step_time(elapsed, 'epoch')}"
        per_step = elapsed / current if current else 0.0
        line += f" - {_format_step_time(per_step, self.unit_name)}"
        self.stream.write(line + "\n")
        self.stream.flush()
