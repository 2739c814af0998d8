"""``fastgrad.print``: TF 2's ``tf.print``, with its formatting.

Tensors print as TF's PrintV2 op prints them: elements in C's shortest
``%g`` form that reads back exactly (``0.333333343`` for a float32 third),
bools as 1/0, the first and last ``summarize`` (3) entries of each
dimension with ``...`` between; other values as ``pprint`` writes them,
strings bare. Output goes to standard error unless ``output_stream`` says
``sys.stdout``, a logging function or level, or ``'file://<path>'``.

Inside a ``fastgrad.function`` a ``tf.print`` must print at every call,
which a compiled replay cannot do, so a function that prints runs eagerly
(one warning says so).

>>> import sys
>>> import fastgrad as tf
>>> tf.print("x:", tf.range(10), {"m": tf.constant([[1.5, 2.0]])}, output_stream=sys.stdout)
x: [0 1 2 ... 7 8 9] {'m': [[1.5 2]]}
"""
import collections
import logging
import os
import pprint
import random
import sys

import numpy as np

from fastgrad import _core, nest
from fastgrad._core import _TensorBase

__all__ = ["print_v2", "format_tensor"]

_log = logging.getLogger("fastgrad")


def _element_text(v, kind):
    if kind == "b":
        return "1" if v else "0"
    if kind == "f":
        # C's FloatToBuffer/DoubleToBuffer: %g with FLT_DIG (DBL_DIG) digits,
        # or FLT_DIG+3 (DBL_DIG+2) when that does not read back exactly
        short, full = (6, 9) if v.dtype == np.float32 else (15, 17)
        text = "%.*g" % (short, v)
        if not np.isnan(v) and v.dtype.type(text) != v:
            text = "%.*g" % (full, v)
        return text
    return str(int(v))


def format_tensor(value, summarize=3):
    """A tensor's text as ``tf.print`` writes it: ``summarize`` entries at
    each end of every dimension (-1 for all).

    >>> import fastgrad as tf
    >>> print(format_tensor(tf.reshape(tf.range(6), [2, 3]), summarize=1))
    [[0 ... 2]
     [3 ... 5]]
    """
    arr = np.asarray(value)
    kind = "b" if arr.dtype == np.bool_ else "f" if arr.dtype.kind == "f" else "i"
    if arr.ndim == 0:
        return _element_text(arr[()], kind)
    ends = arr.size if summarize is None or summarize < 0 else min(int(summarize), arr.size)
    out = []
    _print_dim(arr, (), ends, kind, out)
    return "".join(out)


def _spacing(dim, ndim, out):
    if dim == ndim - 1:
        out.append(" ")
    else:
        out.append("\n" * (ndim - dim - 1) + " " * (dim + 1))


def _print_dim(arr, index, ends, kind, out):
    # tensor.cc's PrintOneDimV2, which the PrintV2 op uses
    dim, ndim = len(index), arr.ndim
    if dim == ndim:
        out.append(_element_text(arr[index], kind))
        return
    out.append("[")
    count = arr.shape[dim]
    for i in range(min(ends, count)):
        if i > 0:
            _spacing(dim, ndim, out)
        _print_dim(arr, index + (i,), ends, kind, out)
    if count > 2 * ends:
        _spacing(dim, ndim, out)
        out.append("...")
    for i in range(max(ends, count - ends), count):
        _spacing(dim, ndim, out)
        _print_dim(arr, index + (i,), ends, kind, out)
    out.append("]")


def _placeholder(text):
    # logging_ops._generate_placeholder_string
    placeholder, rng = "{}", random.Random(5)
    while placeholder in text:
        placeholder += str(rng.randint(0, 9))
    return placeholder


def _is_tensor(x):
    return isinstance(x, _TensorBase)


def _sorted_ordered_dicts(x):
    return collections.OrderedDict(sorted(x.items())) if isinstance(x, collections.OrderedDict) else x


def _stream_writer(output_stream):
    if isinstance(output_stream, str) and output_stream.startswith("file://"):
        path = output_stream[len("file://"):]

        def write(text):
            with open(path, "a") as f:
                f.write(text)
        return write
    if output_stream is sys.stdout or output_stream is sys.stderr:
        # looked up at print time, so that redirected streams (pytest's capsys,
        # contextlib.redirect_stdout) see the output
        name = "stdout" if output_stream is sys.stdout else "stderr"
        return lambda text: (getattr(sys, name).write(text), getattr(sys, name).flush())
    levels = {logging.INFO: _log.info, logging.info: _log.info, logging.WARNING: _log.warning,
              logging.warning: _log.warning, logging.warn: _log.warning,
              logging.ERROR: _log.error, logging.error: _log.error}
    log = levels.get(output_stream)
    if log is None:
        raise ValueError("Unsupported output stream, logging level, or file." + str(output_stream)
                         + ". Supported streams are sys.stdout, sys.stderr, tf.logging.info, "
                         "tf.logging.warning, tf.logging.error. File needs to be in the form "
                         "of 'file://<filepath>'.")
    return lambda text: log(text.rstrip("\n"))


def print_v2(*inputs, **kwargs):
    """Print tensors and Python values, formatted as TF prints them.

    Keyword arguments, as TF's: ``output_stream`` (``sys.stderr``),
    ``summarize`` (3; -1 prints every element), ``sep`` (' '),
    ``end`` (``os.linesep``), ``name``.

    >>> import sys
    >>> import fastgrad as tf
    >>> tf.print(tf.constant([1.0 / 3.0, 2.5]), [1, tf.constant(2)], sep=" | ",
    ...          output_stream=sys.stdout)
    [0.333333343 2.5] | [1, 2]
    """
    output_stream = kwargs.pop("output_stream", sys.stderr)
    kwargs.pop("name", None)
    summarize = kwargs.pop("summarize", 3)
    sep = kwargs.pop("sep", " ")
    end = kwargs.pop("end", os.linesep)
    if kwargs:
        raise ValueError("Unrecognized keyword arguments for tf.print: %s" % kwargs)
    write = _stream_writer(output_stream)
    # a replay would not print: a traced function that prints runs eagerly
    _core._trace_unsupported("tf.print")
    if len(inputs) == 1 and isinstance(inputs[0], str):
        write(inputs[0] + end)
        return None
    ordered = [_sorted_ordered_dicts(x) for x in inputs]
    free = nest.map_structure(lambda x: "" if _is_tensor(x) else x, ordered)
    placeholder = _placeholder(" ".join(pprint.pformat(x) for x in free))
    templates, tensors = [], []
    for x in ordered:
        leaves = []
        for leaf in nest.flatten(x):
            if _is_tensor(leaf):
                tensors.append(leaf)
                leaves.append(placeholder)
            else:
                leaves.append(leaf)
        templates.append(x if isinstance(x, str)
                         else pprint.pformat(nest.pack_sequence_as(x, leaves)))
    template = sep.join(templates).replace("'" + placeholder + "'", placeholder)
    parts = template.split(placeholder)
    text = parts[0] + "".join(format_tensor(t, summarize) + p for t, p in zip(tensors, parts[1:]))
    write(text + end)
    return None
