"""``TensorShape``: the shape of a Tensor, a tuple with TF's helpers.

>>> import fastgrad as tf
>>> s = tf.zeros((2, 3)).shape
>>> s, s.as_list(), s.rank, s == (2, 3)
(TensorShape([2, 3]), [2, 3], 2, True)
"""

__all__ = ["TensorShape"]


class TensorShape(tuple):
    """A fully known shape: a ``tuple`` of ints with ``as_list``/``rank``."""

    __slots__ = ()

    def __new__(cls, dims=()):
        if dims is None:
            dims = ()
        if isinstance(dims, int):
            dims = (dims,)
        return super().__new__(cls, (int(d) for d in dims))

    @property
    def rank(self):
        return len(self)

    @property
    def ndims(self):
        return len(self)

    @property
    def dims(self):
        return list(self)

    def as_list(self):
        return list(self)

    def num_elements(self):
        n = 1
        for d in self:
            n *= d
        return n

    def is_fully_defined(self):
        return True

    def is_compatible_with(self, other):
        other = tuple(other)
        return len(other) == len(self) and all(o is None or o == s for o, s in zip(other, self))

    def __eq__(self, other):
        # TF compares with any sequence of dims: shape == [1, 2] is True
        if isinstance(other, (list, tuple)):
            return tuple(self) == tuple(other)
        return NotImplemented

    def __ne__(self, other):
        r = self.__eq__(other)
        return r if r is NotImplemented else not r

    __hash__ = tuple.__hash__

    def __getitem__(self, key):
        r = tuple.__getitem__(self, key)
        return TensorShape(r) if isinstance(key, slice) else r

    def __str__(self):
        return tuple.__repr__(tuple(self))

    def __repr__(self):
        return "TensorShape(%s)" % list(self)
