"""``fastgrad.name_scope``: the eager name-scope stack that names Variables.

TF 2 keeps one scope string per thread (``'outer/inner/'``) and prefixes
it to the names of Variables created inside; fastgrad does the same. This
module imports nothing from fastgrad, so the compiled core can ask it for
a Variable's name without an import cycle.

>>> import fastgrad as tf
>>> with tf.name_scope("outer"):
...     with tf.name_scope("inner") as scope:
...         v = tf.Variable(1.0, name="w")
>>> scope, v.name
('outer/inner/', 'outer/inner/w:0')
"""
import threading

__all__ = ["name_scope", "current_scope", "variable_name"]

_state = threading.local()  # .scope: this thread's current scope string


def current_scope():
    """The scope string in force on this thread ('' at top level, else
    ending with '/')."""
    return getattr(_state, "scope", "")


def _enter(name):
    """The scope string a scope called ``name`` opens under the current one,
    by TF's eager rules: '' resets to the top level, a name ending in '/' is
    absolute, anything else nests."""
    if not name:
        return ""
    if name[-1] == "/":
        return name
    return current_scope() + name + "/"


class name_scope:  # noqa: N801 - TF's name
    """A context manager that opens a name scope for the Variables created
    inside it; ``with`` yields the full scope string.

    The same object can be entered again (``Module.name_scope`` is), and
    a name ending in '/' reopens that scope absolutely.

    >>> import fastgrad as tf
    >>> with tf.name_scope("block") as scope:
    ...     print(scope, tf.Variable(0.0).name)
    block/ block/Variable:0
    """

    def __init__(self, name):
        if not isinstance(name, str):
            raise ValueError("name for name_scope must be a string.")
        self._name = name
        self._saved = []

    @property
    def name(self):
        return self._name

    def __enter__(self):
        self._saved.append(current_scope())
        scope = _enter(self._name)
        _state.scope = scope
        return scope

    def __exit__(self, *exc):
        _state.scope = self._saved.pop()
        return False


def variable_name(name):
    """A Variable's full name, as TF 2 names it eagerly: ``None`` is
    'Variable', the current scope is prefixed, ':0' appended
    (``'outer/w:0'``; 'a/' is absolute, '' gives ':0')."""
    scope = _enter("Variable" if name is None else str(name))
    return (scope[:-1] if scope.endswith("/") else scope) + ":0"
