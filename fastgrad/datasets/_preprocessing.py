"""``StandardScaler``: scikit-learn's feature standardisation."""
import numpy as np

__all__ = ["StandardScaler"]


class StandardScaler:
    """Standardise features to zero mean and unit variance:
    ``(X - mean_) / scale_``, with ``scale_`` the population standard
    deviation (1 where a feature is constant), as scikit-learn's."""

    def __init__(self, with_mean=True, with_std=True):
        self.with_mean = with_mean
        self.with_std = with_std

    def fit(self, X, y=None):
        X = self._check(X)
        self.n_samples_seen_ = X.shape[0]
        self.n_features_in_ = X.shape[1]
        self.mean_ = X.mean(axis=0) if self.with_mean else None
        if self.with_std:
            self.var_ = X.var(axis=0)
            scale = np.sqrt(self.var_)
            self.scale_ = np.where(scale < 10 * np.finfo(scale.dtype).eps, 1.0, scale)
        else:
            self.var_ = self.scale_ = None
        return self

    def transform(self, X):
        X = self._check(X, fitted=True)
        if self.with_mean:
            X = X - self.mean_
        if self.with_std:
            X = X / self.scale_
        return X

    def fit_transform(self, X, y=None):
        return self.fit(X).transform(X)

    def inverse_transform(self, X):
        X = self._check(X, fitted=True)
        if self.with_std:
            X = X * self.scale_
        if self.with_mean:
            X = X + self.mean_
        return X

    def _check(self, X, fitted=False):
        X = np.asarray(X)
        if X.dtype.kind != "f":
            X = X.astype(np.float64)
        if X.ndim != 2:
            raise ValueError(f"Expected 2D array, got {X.ndim}D array instead.")
        if fitted:
            if not hasattr(self, "n_features_in_"):
                raise ValueError("This StandardScaler instance is not fitted "
                                 "yet. Call 'fit' with appropriate arguments "
                                 "before using this estimator.")
            if X.shape[1] != self.n_features_in_:
                raise ValueError(f"X has {X.shape[1]} features, but "
                                 "StandardScaler is expecting "
                                 f"{self.n_features_in_} features as input.")
        return X
