"""``tf.einsum`` and ``tf.tensordot`` as compositions of table ops.

An equation is lowered, operand by operand, to: the diagonal of repeated
labels (the ``einsum_diagonal`` table op), a sum over labels no later step
needs, and then pairwise contractions left to right, each a transpose and
reshape into ``[batch, m, k] @ [batch, k, n]`` so the work is one BLAS
matmul. Gradients and JVPs come from those ops.

>>> import fastgrad as tf
>>> tf.einsum("ij,jk->ik", [[1.0, 2.0]], [[3.0], [4.0]]).numpy().tolist()
[[11.0]]
"""
import builtins

import numpy as np

from fastgrad import _core
from fastgrad.array_ops import _ints, _t, reshape, transpose
from fastgrad.errors import InvalidArgumentError

__all__ = ["einsum", "tensordot"]

_OPS = _core.OPS


def _parse(equation, operands):
    eq = equation.replace(" ", "")
    if "->" in eq:
        lhs, out = eq.split("->")
        explicit = True
    else:
        lhs, out, explicit = eq, None, False
    subs = lhs.split(",")
    if len(subs) != len(operands):
        raise ValueError("Expected %d inputs but got %d" % (len(subs), len(operands)))
    for s in subs + ([out] if explicit else []):
        if s.count("...") > 1 or s.replace("...", "").count(".") or not all(
                c.isalpha() for c in s.replace("...", "")):
            raise ValueError("Invalid subscript %r in einsum equation %r" % (s, equation))
    # labels per operand; the ellipsis becomes right-aligned labels 0, 1, ... (as strings "#k")
    n_ell = 0
    labels = []
    for s, x in zip(subs, operands):
        letters = s.replace("...", "")
        if "..." in s:
            k = x.ndim - len(letters)
            if k < 0:
                raise InvalidArgumentError("Expected input %d to have rank at least %d but got: %d [Op:Einsum]"
                                           % (len(labels), len(letters), x.ndim))
            n_ell = builtins.max(n_ell, k)
            head, tail = s.split("...")
            labels.append((list(head), k, list(tail)))
        else:
            if len(letters) != x.ndim:
                raise InvalidArgumentError("Expected input %d to have rank %d but got: %d [Op:Einsum]"
                                           % (len(labels), len(letters), x.ndim))
            labels.append((list(s), None, []))
    ell = ["#%d" % i for i in builtins.range(n_ell)]
    full = []
    for head, k, tail in labels:
        full.append(head + (ell[n_ell - k:] if k is not None else []) + tail)
    if explicit:
        if "..." in out:
            head, tail = out.split("...")
            out_labels = list(head) + ell + list(tail)
        else:
            out_labels = list(out)
        for c in out_labels:
            if out_labels.count(c) > 1:
                raise ValueError("Output subscripts contain a label appearing more than once: %s" % c)
            if not any(c in f for f in full):
                raise ValueError("Output subscripts contain the label %s not present in the input subscripts." % c)
    else:  # implicit: the ellipsis, then the labels seen once, sorted
        counts = {}
        for f in full:
            for c in f:
                counts[c] = counts.get(c, 0) + 1
        out_labels = ell + sorted(c for c, n in counts.items() if n == 1 and not c.startswith("#"))
    return full, out_labels


def _sum_labels(x, labels, drop):
    if not drop:
        return x, labels
    from fastgrad.math_ops import reduce_sum
    axes = [i for i, c in enumerate(labels) if c in drop]
    return reduce_sum(x, axes), [c for c in labels if c not in drop]


def _diagonal(x, labels):
    """Repeated labels: take the diagonal (the first dim of each label kept)."""
    if len(set(labels)) == len(labels):
        return x, labels
    first = {}
    groups = []
    for i, c in enumerate(labels):
        groups.append(first.setdefault(c, i))
    x = _core.apply(_OPS["einsum_diagonal"], [x], groups)
    return x, [c for i, c in enumerate(labels) if groups[i] == i]


def _permute(x, labels, order):
    if labels == order:
        return x
    return transpose(x, [labels.index(c) for c in order])


def _contract(a, la, b, lb, keep, sizes):
    """a (labels la) times b (labels lb), summing the shared labels not in keep."""
    batch = [c for c in la if c in lb and c in keep]
    con = [c for c in la if c in lb and c not in keep]
    ao = [c for c in la if c not in lb]
    bo = [c for c in lb if c not in la]

    def prod(ls):
        return int(np.prod([sizes[c] for c in ls], dtype=np.int64))

    m, n, k, nb = prod(ao), prod(bo), prod(con), prod(batch)
    if not ao and not bo:  # a dot product per batch entry: one multiply-and-sum pass, no matmul
        from fastgrad.math_ops import multiply, reduce_sum
        p = multiply(_permute(a, la, batch + con), _permute(b, lb, batch + con))
        return (reduce_sum(p, list(builtins.range(len(batch), len(batch) + len(con)))) if con else p), batch
    a2 = _permute(a, la, batch + ao + con)
    b2 = _permute(b, lb, batch + con + bo)
    lead = [nb] if batch else []
    a2 = reshape(a2, lead + [m, k])
    b2 = reshape(b2, lead + [k, n])
    y = _core.matmul(a2, b2, False, False)
    out = batch + ao + bo
    return reshape(y, [sizes[c] for c in out]), out


def einsum(equation, *inputs, **kwargs):
    """Einstein summation: products over shared labels, sums over labels
    missing from the output; ellipsis broadcasting, repeated labels for
    diagonals and traces, implicit output (labels seen once, sorted).

    >>> import fastgrad as tf
    >>> float(tf.einsum("ii", tf.eye(3)))
    3.0
    >>> tf.einsum("bij,bjk->bik", tf.ones((2, 3, 4)), tf.ones((2, 4, 5))).shape
    TensorShape([2, 3, 5])
    """
    kwargs.pop("name", None)
    kwargs.pop("optimize", None)
    if kwargs:
        raise TypeError("Invalid keyword arguments for this function: %s" % ", ".join(sorted(kwargs)))
    if len(inputs) == 1 and isinstance(inputs[0], (list, tuple)) and equation.count(",") == len(inputs[0]) - 1 \
            and len(inputs[0]) > 1:
        inputs = tuple(inputs[0])
    xs = [_t(x) for x in inputs]
    if not xs:
        raise ValueError("einsum needs at least one input")
    for x in xs[1:]:
        if x.dtype != xs[0].dtype:
            raise InvalidArgumentError(
                "cannot compute Einsum as input #%d(zero-based) was expected to be a %s tensor but is a %s "
                "tensor [Op:Einsum]" % (xs.index(x), _core._tf_dtype_name(xs[0].dtype._enum),
                                        _core._tf_dtype_name(x.dtype._enum)))
    full, out = _parse(equation, xs)
    # sizes, with ellipsis dims broadcasting (an operand's 1 against another's n)
    sizes = {}
    for i, (x, ls) in enumerate(zip(xs, full)):
        for ax, c in enumerate(ls):
            d = x.shape[ax]
            if c in sizes and sizes[c] != d:
                if c.startswith("#") and (d == 1 or sizes[c] == 1):
                    sizes[c] = builtins.max(d, sizes[c])
                    continue
                raise InvalidArgumentError("Expected dimension %d at axis %d of the input shaped %s but got "
                                           "dimension %d [Op:Einsum]" % (sizes[c], ax, _shape_text(x.shape), d))
            sizes.setdefault(c, d)
    ops = []
    for x, ls in zip(xs, full):
        x, ls = _diagonal(x, ls)
        # an ellipsis dim of 1 against a larger one: drop it (the product broadcasts)
        ones = [c for ax, c in enumerate(ls) if c.startswith("#") and x.shape[ax] == 1 and sizes[c] > 1]
        if ones:
            x = reshape(x, [d for ax, d in enumerate(x.shape) if ls[ax] not in ones])
            ls = [c for c in ls if c not in ones]
        ops.append((x, ls))
    x, ls = ops[0]
    for j in builtins.range(len(ops) + 1):
        later = set(out)
        for _, l2 in ops[j + 1:]:
            later.update(l2)
        if j == 0:
            x, ls = _sum_labels(x, ls, [c for c in ls if c not in later])
            continue
        if j == len(ops):
            break
        b, lb = ops[j]
        later_b = set(out).union(*[set(l2) for _, l2 in ops[j + 1:]]) | set(ls)
        b, lb = _sum_labels(b, lb, [c for c in lb if c not in later_b])
        x, ls = _contract(x, ls, b, lb, later, sizes)
    x, ls = _sum_labels(x, ls, [c for c in ls if c not in out])
    missing = [c for c in out if c not in ls]
    if missing:  # an output ellipsis dim that every operand had as 1
        x = reshape(x, list(x.shape) + [1] * len(missing))
        ls = ls + missing
        x = _core.apply(_OPS["broadcast_to"], [x], [len(ls)] + [sizes[c] for c in ls])
    return _permute(x, ls, out)


def _shape_text(shape):
    return "[%s]" % ",".join(str(d) for d in shape)


def tensordot(a, b, axes, name=None):
    """Sum the products of a's and b's elements over the given axes (an int:
    a's last axes against b's first), as one matmul.

    >>> import fastgrad as tf
    >>> tf.tensordot(tf.ones((2, 3)), tf.ones((3, 4)), 1).shape
    TensorShape([2, 4])
    """
    a, b = _t(a), _t(b)
    if isinstance(axes, (int, np.integer)) or (isinstance(axes, _core._TensorBase) and axes.ndim == 0):
        n = int(axes)
        if n < 0:
            raise ValueError("'axes' must be at least 0.")
        if n > a.ndim or n > b.ndim:
            raise ValueError("'axes' must not be larger than the number of dimensions of tensor %s." % a)
        ax_a, ax_b = list(builtins.range(a.ndim - n, a.ndim)), list(builtins.range(n))
    else:
        if len(axes) != 2:
            raise ValueError("'axes' must be an integer or have length 2.")
        ax_a, ax_b = axes
        ax_a = [ax_a] if isinstance(ax_a, (int, np.integer)) else _ints(ax_a)
        ax_b = [ax_b] if isinstance(ax_b, (int, np.integer)) else _ints(ax_b)
        if len(ax_a) != len(ax_b):
            raise ValueError("Different number of contraction axes 'a' and 'b', %d != %d." % (len(ax_a), len(ax_b)))
        ax_a = [i % a.ndim for i in ax_a]
        ax_b = [i % b.ndim for i in ax_b]
    free_a = [i for i in builtins.range(a.ndim) if i not in ax_a]
    free_b = [i for i in builtins.range(b.ndim) if i not in ax_b]
    sa, sb = list(a.shape), list(b.shape)
    m = int(np.prod([sa[i] for i in free_a], dtype=np.int64))
    k = int(np.prod([sa[i] for i in ax_a], dtype=np.int64))
    kb = int(np.prod([sb[i] for i in ax_b], dtype=np.int64))
    n = int(np.prod([sb[i] for i in free_b], dtype=np.int64))
    a2 = a if free_a + ax_a == list(builtins.range(a.ndim)) else transpose(a, free_a + ax_a)
    b2 = b if ax_b + free_b == list(builtins.range(b.ndim)) else transpose(b, ax_b + free_b)
    if k != kb:
        raise InvalidArgumentError("Matrix size-incompatible: In[0]: [%d,%d], In[1]: [%d,%d] [Op:MatMul]"
                                   % (m, k, kb, n))
    y = _core.matmul(reshape(a2, [m, k]), reshape(b2, [k, n]), False, False)
    return reshape(y, [sa[i] for i in free_a] + [sb[i] for i in free_b])
