"""Element structures of ``fastgrad.data``: nests of tuples, namedtuples and
dicts whose leaves are tensors, with TF's rule that a *list* is one value
(converted to a tensor), not a structure."""
from fastgrad import nest
from fastgrad._core import Tensor, convert_to_tensor
from fastgrad.function_api import TensorSpec


def _is_structure(x):
    return isinstance(x, (tuple, dict))


def flatten(x):
    """Leaves in TF's order (dict keys sorted); lists are leaves."""
    if not _is_structure(x):
        return [x]
    children = [x[k] for k in sorted(x, key=nest._sort_key)] if isinstance(x, dict) else x
    return [leaf for c in children for leaf in flatten(c)]


def pack(structure, leaves):
    """``structure`` rebuilt around ``leaves`` (in ``flatten``'s order)."""
    it = iter(leaves)

    def build(s):
        if not _is_structure(s):
            return next(it)
        if isinstance(s, dict):
            built = {k: build(s[k]) for k in sorted(s, key=nest._sort_key)}
            return type(s)((k, built[k]) for k in s)
        items = [build(c) for c in s]
        return type(s)(*items) if hasattr(s, "_fields") else type(s)(items)

    return build(structure)


def map_leaves(fn, structure):
    return pack(structure, [fn(leaf) for leaf in flatten(structure)])


def lists_to_tuples(x):
    """A map function's result with its lists read as tuples, as tf.data
    reads them (a list of tensors is a structure there, not a stack)."""
    if isinstance(x, list):
        return tuple(lists_to_tuples(v) for v in x)
    if isinstance(x, dict):
        return type(x)((k, lists_to_tuples(v)) for k, v in x.items())
    if isinstance(x, tuple):
        items = [lists_to_tuples(v) for v in x]
        return type(x)(*items) if hasattr(x, "_fields") else tuple(items)
    return x


def to_tensors(structure):
    """Each leaf as a Tensor (Python and NumPy values converted as
    ``fastgrad.convert_to_tensor`` does)."""
    return map_leaves(lambda v: v if type(v) is Tensor else convert_to_tensor(v), structure)


def spec_of(element):
    """The TensorSpec nest of an element."""
    return map_leaves(lambda t: TensorSpec(tuple(t.shape), t.dtype), element)


def relax(spec, batch_dim):
    """``spec`` with a leading dimension (``batch_dim``: an int or None) added."""
    return map_leaves(lambda s: TensorSpec((batch_dim,) + s.shape, s.dtype), spec)
