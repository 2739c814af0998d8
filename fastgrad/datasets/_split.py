"""``train_test_split`` with scikit-learn's semantics."""
import math
import numbers

import numpy as np

__all__ = ["train_test_split"]


def _sizes(n, test_size, train_size):
    if test_size is None and train_size is None:
        test_size = 0.25
    for name, size in (("test_size", test_size), ("train_size", train_size)):
        if isinstance(size, numbers.Real) and not isinstance(size, numbers.Integral):
            if not 0 < size < 1:
                raise ValueError(f"{name}={size} should be either positive and "
                                 "smaller than the number of samples or a "
                                 "float in the (0, 1) range")
        elif size is not None and not 0 < size < n:
            raise ValueError(f"{name}={size} should be either positive and "
                             f"smaller than the number of samples {n} or a "
                             "float in the (0, 1) range")
    if isinstance(test_size, numbers.Integral):
        n_test = int(test_size)
    elif test_size is not None:
        n_test = math.ceil(test_size * n)
    if isinstance(train_size, numbers.Integral):
        n_train = int(train_size)
    elif train_size is not None:
        n_train = math.floor(train_size * n)
    if test_size is None:
        n_test = n - n_train
    elif train_size is None:
        n_train = n - n_test
    if n_train + n_test > n:
        raise ValueError(f"The sum of train_size and test_size = "
                         f"{n_train + n_test}, should be smaller than the "
                         f"number of samples {n}.")
    if n_train == 0:
        raise ValueError(f"With n_samples={n}, test_size={test_size} and "
                         f"train_size={train_size}, the resulting train set "
                         "will be empty.")
    return n_train, n_test


def train_test_split(*arrays, test_size=None, train_size=None,
                     random_state=None, shuffle=True):
    """Split arrays into random train and test subsets.

    As ``sklearn.model_selection.train_test_split``: ``test_size`` defaults
    to 0.25 (a float is a fraction, rounded up; an int a count), the same
    ``random_state`` (an int or a ``np.random.RandomState``) gives the same
    split as scikit-learn, and the result is
    ``[a_train, a_test, b_train, b_test, ...]``.
    """
    if not arrays:
        raise ValueError("At least one array required as input")
    arrays = [np.asarray(a) for a in arrays]
    n = len(arrays[0])
    for a in arrays[1:]:
        if len(a) != n:
            raise ValueError("Found input variables with inconsistent numbers "
                             f"of samples: {[len(a) for a in arrays]}")
    n_train, n_test = _sizes(n, test_size, train_size)
    if shuffle:
        if isinstance(random_state, np.random.RandomState):
            rng = random_state
        elif random_state is None:
            rng = np.random.mtrand._rand
        else:
            rng = np.random.RandomState(random_state)
        perm = rng.permutation(n)
        test, train = perm[:n_test], perm[n_test:n_test + n_train]
    else:
        train, test = np.arange(n_train), np.arange(n_train, n_train + n_test)
    out = []
    for a in arrays:
        out += [a[train], a[test]]
    return out
