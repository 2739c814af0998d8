"""fastgrad.datasets: the shipped data, train_test_split and StandardScaler."""
from importlib import resources

import numpy as np
import pytest

from fastgrad.datasets import StandardScaler, load_diabetes, load_digits, train_test_split


def test_data_files_ship_inside_the_package():
    data = resources.files("fastgrad.datasets").joinpath("data")
    names = {p.name for p in data.iterdir()}
    assert {"diabetes_data_raw.csv.gz", "diabetes_target.csv.gz",
            "digits.csv.gz"} <= names


def test_load_diabetes_raw():
    X, y = load_diabetes(scaled=False)
    assert X.shape == (442, 10) and y.shape == (442,)
    assert X.dtype == np.float64 and y.dtype == np.float64
    np.testing.assert_allclose(X[0], [59, 2, 32.1, 101.0, 157, 93.2, 38.0, 4.0, 4.8598, 87])
    assert y[:3].tolist() == [151.0, 75.0, 141.0]
    assert y.min() == 25.0 and y.max() == 346.0


def test_load_diabetes_scaled_like_sklearn():
    X, _ = load_diabetes()
    np.testing.assert_allclose(X.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose((X ** 2).sum(axis=0), 1, rtol=1e-12)
    # scikit-learn's first value of the scaled age column
    assert X[0, 0] == pytest.approx(0.038075906433423, rel=1e-9)


def test_load_digits():
    X, y = load_digits()
    assert X.shape == (1797, 64) and y.shape == (1797,)
    assert X.dtype == np.float64 and y.dtype == np.int64
    assert X.min() == 0 and X.max() == 16
    assert sorted(set(y.tolist())) == list(range(10))
    assert y[:10].tolist() == list(range(10))
    X3, y3 = load_digits(n_class=3)
    assert set(y3.tolist()) == {0, 1, 2} and len(X3) == len(y3) < 1797 // 3 + 50


def test_train_test_split_sizes_and_alignment():
    X = np.arange(20).reshape(10, 2)
    y = np.arange(10)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=0)
    assert len(X_te) == 3 and len(X_tr) == 7          # ceil(0.25 * 10)
    np.testing.assert_array_equal(X_tr[:, 0] // 2, y_tr)
    np.testing.assert_array_equal(X_te[:, 0] // 2, y_te)
    assert sorted(np.concatenate([y_tr, y_te]).tolist()) == list(range(10))
    # scikit-learn's split: test first, from RandomState(seed).permutation
    perm = np.random.RandomState(0).permutation(10)
    np.testing.assert_array_equal(y_te, perm[:3])
    np.testing.assert_array_equal(y_tr, perm[3:])
    again = train_test_split(X, y, random_state=0)
    np.testing.assert_array_equal(again[3], y_te)
    a_tr, a_te = train_test_split(y, test_size=4, shuffle=False)
    assert a_tr.tolist() == [0, 1, 2, 3, 4, 5] and a_te.tolist() == [6, 7, 8, 9]
    _, te = train_test_split(y, train_size=0.5, random_state=1)
    assert len(te) == 5


def test_train_test_split_bad_inputs():
    with pytest.raises(ValueError, match="inconsistent"):
        train_test_split(np.ones(5), np.ones(6))
    with pytest.raises(ValueError, match="test_size"):
        train_test_split(np.ones(5), test_size=1.5)
    with pytest.raises(ValueError, match="At least one array"):
        train_test_split()


def test_standard_scaler():
    rng = np.random.default_rng(0)
    X = rng.normal(3.0, 2.0, size=(50, 4))
    X[:, 2] = 7.0                                       # a constant feature
    scaler = StandardScaler()
    Z = scaler.fit_transform(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), [1, 1, 0, 1], atol=1e-12)
    assert scaler.scale_[2] == 1.0
    np.testing.assert_allclose(scaler.inverse_transform(Z), X)
    np.testing.assert_allclose(scaler.transform(X[:5]), Z[:5])
    with pytest.raises(ValueError, match="features"):
        scaler.transform(X[:, :3])
    with pytest.raises(ValueError, match="not fitted"):
        StandardScaler().transform(X)
    ints = StandardScaler().fit_transform(np.arange(6).reshape(3, 2))
    assert ints.dtype == np.float64
