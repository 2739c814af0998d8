"""fastgrad's warnings reach the user once, through one channel, in TF's
words: the "fastgrad" logger, printed as ``WARNING:fastgrad:<text>`` (TF:
``WARNING:tensorflow:<text>``) while the application has not configured
logging, and through the application's handlers once it has."""
import subprocess
import sys
import textwrap

from _fgutil import fastgrad_only

pytestmark = fastgrad_only

SCRIPT = textwrap.dedent(
    """
    import logging, sys, warnings
    import fastgrad as tf
    if sys.argv[1] == "configured":
        logging.basicConfig(format="app:%(name)s:%(message)s")
    f = tf.function(lambda x: x * 2)
    for n in range(1, 6):
        f(tf.zeros((n,)))
    x = tf.constant(3.0)
    with tf.GradientTape(persistent=True) as t:
        t.watch(x)
        t.gradient(x * x, x)
    """
)

PERSISTENT = ("Calling GradientTape.gradient on a persistent tape inside its context is "
              "significantly less efficient than calling it outside the context")
RETRACING = "5 out of the last 5 calls to <function <lambda> at "


def _stderr(mode):
    proc = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stderr.splitlines()


def test_each_warning_prints_once_as_tf_does():
    lines = _stderr("plain")
    assert len(lines) == 2, lines
    assert lines[0].startswith("WARNING:fastgrad:" + RETRACING)
    assert lines[0].endswith("triggered tf.function retracing. Tracing is expensive and the "
                             "excessive number of tracings could be due to (1) creating "
                             "@tf.function repeatedly in a loop, (2) passing tensors with "
                             "different shapes, (3) passing Python objects instead of tensors. "
                             "For (1), please define your @tf.function outside of the loop. For "
                             "(2), @tf.function has reduce_retracing=True option that can avoid "
                             "unnecessary retracing. For (3), please refer to "
                             "https://www.tensorflow.org/guide/function#controlling_retracing and "
                             "https://www.tensorflow.org/api_docs/python/tf/function for  more "
                             "details.")
    assert lines[1].startswith("WARNING:fastgrad:" + PERSISTENT)


def test_configured_logging_takes_over():
    lines = _stderr("configured")
    assert len(lines) == 2, lines
    assert lines[0].startswith("app:fastgrad:" + RETRACING)
    assert lines[1].startswith("app:fastgrad:" + PERSISTENT)


def test_get_logger_is_the_channel():
    import logging

    import fastgrad as tf
    assert tf.get_logger() is logging.getLogger("fastgrad")
