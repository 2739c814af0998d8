"""``fastgrad.Module``: TF 2's ``tf.Module``, a container that finds its
Variables and sub-Modules by reflection.

Any Variable or Module set as an attribute (directly, or inside lists,
tuples and dicts) is found by ``variables``, ``trainable_variables`` and
``submodules``, in TF's order: the module's own attributes sorted by name,
then each sub-module's, breadth first, each object once.

>>> import fastgrad as tf
>>> class Dense(tf.Module):
...     def __init__(self, n_in, n_out, name=None):
...         super().__init__(name=name)
...         self.w = tf.Variable(tf.ones([n_in, n_out]), name="w")
...         self.b = tf.Variable(tf.zeros([n_out]), name="b")
...     def __call__(self, x):
...         return tf.matmul(x, self.w) + self.b
>>> class MLP(tf.Module):
...     def __init__(self, name=None):
...         super().__init__(name=name)
...         with self.name_scope:
...             self.layers = [Dense(3, 2), Dense(2, 1)]
>>> [v.name for v in MLP().variables]
['mlp/b:0', 'mlp/w:0', 'mlp/b:0', 'mlp/w:0']
"""
import functools
import re

from fastgrad import nest
from fastgrad._core import Variable
from fastgrad._name_scope import name_scope

__all__ = ["Module"]

_CAMEL_TO_SNAKE = re.compile(r"((?<=[a-z0-9])[A-Z]|(?!^)[A-Z](?=[a-z]))")
_VALID_IDENTIFIER = re.compile(r"^[a-zA-Z_]([a-zA-Z0-9_])*$")


def camel_to_snake(value):
    """'MyThingABC' -> 'my_thing_abc', TF's default module name."""
    return _CAMEL_TO_SNAKE.sub(r"_\1", value).lower()


class Module:
    """Base class for objects that own Variables and other Modules.

    ``name`` defaults to the class name in snake case and must be a Python
    identifier. The Module's ``name_scope`` is opened once, under the scope
    in force at construction; Variables created inside ``with
    self.name_scope:`` or in a method decorated ``@Module.with_name_scope``
    are named under it (``'mlp/w:0'``).

    >>> import fastgrad as tf
    >>> m = tf.Module(name="box")
    >>> m.v = [tf.Variable(1.0, name="a"), {"k": tf.Variable(2.0, trainable=False)}]
    >>> [v.name for v in m.trainable_variables], m.name_scope.name
    (['a:0'], 'box/')
    """

    _TF_MODULE_IGNORED_PROPERTIES: "frozenset[str]" = frozenset()

    def __init__(self, name=None):
        if name is None:
            name = camel_to_snake(type(self).__name__)
        elif not _VALID_IDENTIFIER.match(name):
            raise ValueError(
                "%r is not a valid module name. Module names must be valid Python "
                "identifiers (e.g. a valid class name)." % name)
        self._name = name
        with name_scope(name) as scope:
            self._name_scope = name_scope(scope)

    @property
    def name(self):
        """The name given (or derived from the class), without parent scopes."""
        return self._name

    @property
    def name_scope(self):
        """This Module's ``fastgrad.name_scope`` (absolute, so it can be
        entered from anywhere)."""
        return self._name_scope

    @property
    def variables(self):
        """A tuple of this Module's Variables, then its sub-modules'."""
        return tuple(self._flatten(predicate=_is_variable))

    @property
    def trainable_variables(self):
        """Like ``variables``, the trainable ones only."""
        return tuple(self._flatten(predicate=_is_trainable_variable))

    @property
    def non_trainable_variables(self):
        """Like ``variables``, the non-trainable ones only."""
        return tuple(self._flatten(predicate=_is_non_trainable_variable))

    @property
    def submodules(self):
        """A tuple of every Module reachable from this one's attributes."""
        return tuple(self._flatten(predicate=_is_module))

    def _flatten(self, recursive=True, predicate=None, attribute_traversal_key=None,
                 with_path=False, expand_composites=False):
        """The leaves of this Module's attributes (sorted by name) that
        satisfy ``predicate``, then those of its sub-modules, as TF's
        ``Module._flatten`` yields them (``with_path`` adds each leaf's
        path and keeps duplicates)."""
        if predicate is None:
            predicate = _always
        return _flatten_module(self, recursive, predicate, attribute_traversal_key,
                               self._TF_MODULE_IGNORED_PROPERTIES, with_path, (), None, None)

    @classmethod
    def with_name_scope(cls, method):
        """Decorator: run ``method`` inside the Module's name scope.

        >>> import fastgrad as tf
        >>> class Lazy(tf.Module):
        ...     @tf.Module.with_name_scope
        ...     def __call__(self, x):
        ...         if not hasattr(self, "w"):
        ...             self.w = tf.Variable(tf.ones([x.shape[1], 2]))
        ...         return tf.matmul(x, self.w)
        >>> m = Lazy(); _ = m(tf.ones([1, 3])); m.w.name
        'lazy/Variable:0'
        """
        @functools.wraps(method)
        def method_with_name_scope(self, *args, **kwargs):
            with self.name_scope:
                return method(self, *args, **kwargs)
        return method_with_name_scope


def _always(_):
    return True


def _is_variable(obj):
    return isinstance(obj, Variable)


def _is_trainable_variable(obj):
    return isinstance(obj, Variable) and obj.trainable


def _is_non_trainable_variable(obj):
    return isinstance(obj, Variable) and not obj.trainable


def _is_module(obj):
    return isinstance(obj, Module)


def _flatten_module(module, recursive, predicate, key, ignored, with_path, module_path,
                    seen, stack):
    """TF's walk: own attributes in sorted order (leaves deduplicated by
    identity unless ``with_path``), then sub-modules breadth first; a
    cycle of modules is cut at the back edge."""
    if seen is None:
        seen = {id(module)}
    if stack is None:
        stack = []
    if id(module) in stack:
        recursive = False
    submodules = []
    attrs = vars(module)
    for name in sorted(attrs, key=key):
        if name in ignored:
            continue
        prop = attrs[name]
        try:
            leaves = nest.flatten_with_tuple_paths(prop)
        except Exception as cause:  # TF wraps what a strange attribute raises
            raise ValueError("Error processing property {!r} of {!r}".format(name, prop)) from cause
        for path, leaf in leaves:
            path = (name,) + path
            if not with_path:
                if id(leaf) in seen:
                    continue
                seen.add(id(leaf))
            if predicate(leaf):
                yield (module_path + path, leaf) if with_path else leaf
            if recursive and isinstance(leaf, Module):
                submodules.append((module_path + path, leaf))
    stack.append(id(module))
    for path, sub in submodules:
        yield from _flatten_module(sub, recursive, predicate, key,
                                   sub._TF_MODULE_IGNORED_PROPERTIES, with_path, path,
                                   seen, stack)
    stack.pop()
