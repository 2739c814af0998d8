"""Flatten and rebuild nests (lists, tuples, namedtuples, dicts) of values.

>>> flatten({"b": 1, "a": [2, 3]})
[2, 3, 1]
>>> pack_sequence_as({"b": 0, "a": [0, 0]}, [5, 6, 7])
{'b': 7, 'a': [5, 6]}
"""

__all__ = ["flatten", "flatten_with_tuple_paths", "pack_sequence_as", "map_structure", "is_nested"]


def is_nested(x):
    """True for a list, tuple (namedtuples too) or dict (``tf.nest.is_nested``).

    >>> import fastgrad as tf
    >>> tf.nest.is_nested([1.0]), tf.nest.is_nested(1.0)
    (True, False)
    """
    return isinstance(x, (list, tuple, dict))


def _children(x):
    if isinstance(x, dict):
        return [x[k] for k in sorted(x, key=_sort_key)]
    return list(x)


def _sort_key(k):
    return (type(k).__name__, k) if not isinstance(k, (int, float, str)) else (0, str(k)) if isinstance(k, str) else (0, "%020.6f" % k)


def flatten(x):
    """Leaves of x in TF's order (dict keys sorted)."""
    if not is_nested(x):
        return [x]
    out = []
    stack = [iter(_children(x))]
    while stack:
        for item in stack[-1]:
            if is_nested(item):
                stack.append(iter(_children(item)))
                break
            out.append(item)
        else:
            stack.pop()
    return out


def flatten_with_tuple_paths(x):
    """``(path, leaf)`` pairs in ``flatten``'s order; a path is the tuple of
    keys and indices leading to the leaf.

    >>> flatten_with_tuple_paths({"b": 1, "a": [2]})
    [(('a', 0), 2), (('b',), 1)]
    """
    if not is_nested(x):
        return [((), x)]
    keys = sorted(x, key=_sort_key) if isinstance(x, dict) else range(len(x))
    return [((k,) + path, leaf) for k in keys
            for path, leaf in flatten_with_tuple_paths(x[k])]


def pack_sequence_as(structure, flat):
    """Rebuild structure's shape with the values of flat, in order."""
    it = iter(flat)

    def build(s):
        if not is_nested(s):
            return next(it)
        if isinstance(s, dict):
            vals = {k: build(s[k]) for k in sorted(s, key=_sort_key)}
            return type(s)((k, vals[k]) for k in s) if type(s) is not dict else {k: vals[k] for k in s}
        items = [build(c) for c in s]
        if isinstance(s, tuple) and hasattr(s, "_fields"):
            return type(s)(*items)
        return type(s)(items)

    return build(structure)


def map_structure(fn, *structures):
    """fn applied leaf by leaf across nests of one structure, in that structure.

    >>> import fastgrad as tf
    >>> tf.nest.map_structure(lambda a, b: a + b, {"x": 1, "y": [2, 3]}, {"x": 10, "y": [20, 30]})
    {'x': 11, 'y': [22, 33]}
    """
    flats = [flatten(s) for s in structures]
    return pack_sequence_as(structures[0], [fn(*xs) for xs in zip(*flats)])
