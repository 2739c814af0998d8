"""Loaders for the data files in ``fastgrad/datasets/data``."""
import gzip
from importlib import resources

import numpy as np

__all__ = ["load_diabetes", "load_digits"]


def _load_text(name, delimiter=None):
    path = resources.files(__package__).joinpath("data", name)
    with path.open("rb") as raw, gzip.open(raw, "rt") as f:
        return np.loadtxt(f, delimiter=delimiter, ndmin=2)


def load_diabetes(scaled=True):
    """The diabetes regression data: 442 patients, 10 baseline features
    (age, sex, bmi, bp, s1..s6) and a quantitative measure of disease
    progression one year later (25..346).

    With ``scaled=True`` (scikit-learn's default) each feature is centred
    and scaled to unit Euclidean norm (standard deviation times the square
    root of the number of samples); ``scaled=False`` gives raw units.
    Returns ``(X, y)`` as float64 arrays of shapes [442, 10] and [442].
    """
    X = _load_text("diabetes_data_raw.csv.gz")
    y = _load_text("diabetes_target.csv.gz")[:, 0]
    if scaled:
        X = (X - X.mean(axis=0)) / (X.std(axis=0) * np.sqrt(X.shape[0]))
    return X, y


def load_digits(n_class=10):
    """The digits classification data: 1797 8x8 images of handwritten
    digits, pixel counts 0..16 flattened to 64 features.

    Returns ``(X, y)``: X float64 [n, 64], y int64 labels [n]; with
    ``n_class`` < 10 only the digits 0..n_class-1 are kept.
    """
    data = _load_text("digits.csv.gz", delimiter=",")
    X, y = data[:, :-1], data[:, -1].astype(np.int64)
    if n_class < 10:
        keep = y < n_class
        X, y = X[keep], y[keep]
    return X, y
