"""fastgrad's one warning channel: the ``fastgrad`` logger.

TensorFlow reports its warnings (retracing, a persistent tape used inside
its context, ...) through the ``tensorflow`` logger, printed once as
``WARNING:tensorflow:<text>``; fastgrad does the same under its own name.
The default handler prints only while the application has not configured
logging (no handler on the root logger): once it has, the records go
through its handlers instead, so a message never appears twice.

>>> import fastgrad as tf
>>> tf.get_logger().name
'fastgrad'
"""
import logging
import sys

__all__ = ["get_logger"]


class _StderrUntilConfigured(logging.StreamHandler):
    """``WARNING:fastgrad:<text>`` on the current sys.stderr, unless the
    root logger has handlers of its own (then propagation prints it)."""

    def __init__(self):
        super().__init__()
        self.setFormatter(logging.Formatter(logging.BASIC_FORMAT))

    @property
    def stream(self):
        # looked up at each record, so redirected stderr (capsys, IDEs) is honoured
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass

    def emit(self, record):
        if not logging.getLogger().handlers:
            super().emit(record)


_logger = logging.getLogger("fastgrad")
if not any(isinstance(h, _StderrUntilConfigured) for h in _logger.handlers):
    _logger.addHandler(_StderrUntilConfigured())


def get_logger():
    """The ``fastgrad`` logger, through which every fastgrad warning goes (tf.get_logger).

    >>> import fastgrad as tf, logging
    >>> tf.get_logger().setLevel(logging.ERROR)   # silence fastgrad's warnings
    >>> tf.get_logger().setLevel(logging.NOTSET)
    """
    return _logger


def warn(msg):
    """Log one warning (TF's text) through the one channel."""
    _logger.warning(msg)
