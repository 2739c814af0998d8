"""Small data sets shipped with fastgrad, and the data-preparation helpers
the tutorials take from scikit-learn.

- ``load_diabetes()`` -> (X [442, 10], y [442]): diabetes progression,
  the regression set (Efron et al. 2004, as bundled by scikit-learn).
- ``load_digits()`` -> (X [1797, 64], y [1797]): 8x8 handwritten digits,
  the classification set (UCI, as bundled by scikit-learn).
- ``train_test_split`` and ``StandardScaler``, with scikit-learn's
  behaviour (the same split for the same ``random_state``).

Everything is read from files inside the package; nothing is downloaded.
"""
from ._loaders import load_diabetes, load_digits
from ._preprocessing import StandardScaler
from ._split import train_test_split

__all__ = ["StandardScaler", "load_diabetes", "load_digits", "train_test_split"]
