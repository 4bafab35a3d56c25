"""Small scikit-learn-style models that misbehave on purpose, wrapping a real one.

They are pickled by reference into MLflow, so a server subprocess unpickles them as long
as the repository root is on its ``PYTHONPATH``. Column 0 of the model matrix is AGEP.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np


class Wrapped:
    """Delegates to ``inner``; subclasses change ``predict_proba``."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def fit(self, x: Any, y: Any, **kwargs: Any) -> Wrapped:
        self.inner.fit(x, y, **kwargs)
        return self

    def predict_proba(self, x: Any) -> np.ndarray[Any, Any]:
        return np.asarray(self.inner.predict_proba(x), dtype=np.float64)

    def predict(self, x: Any) -> np.ndarray[Any, Any]:
        return np.asarray(self.predict_proba(x)[:, 1] >= 0.5, dtype=np.int64)


class NaNForOld(Wrapped):
    """NaN for people aged ``age`` or more."""

    def __init__(self, inner: Any, age: float = 90.0) -> None:
        super().__init__(inner)
        self.age = age

    def predict_proba(self, x: Any) -> np.ndarray[Any, Any]:
        proba = super().predict_proba(x)
        proba[np.asarray(x)[:, 0] >= self.age] = np.nan
        return proba


class Raising(Wrapped):
    """Raises for every batch, or for batches holding someone aged ``age`` or more."""

    def __init__(self, inner: Any, age: float | None = None) -> None:
        super().__init__(inner)
        self.age = age

    def predict_proba(self, x: Any) -> np.ndarray[Any, Any]:
        if self.age is None or bool((np.asarray(x)[:, 0] >= self.age).any()):
            raise RuntimeError("model exploded")
        return super().predict_proba(x)


class Slow(Wrapped):
    """Sleeps ``seconds`` per call."""

    def __init__(self, inner: Any, seconds: float) -> None:
        super().__init__(inner)
        self.seconds = seconds

    def predict_proba(self, x: Any) -> np.ndarray[Any, Any]:
        time.sleep(self.seconds)
        return super().predict_proba(x)


class WrongShape(Wrapped):
    """Returns one row too many."""

    def predict_proba(self, x: Any) -> np.ndarray[Any, Any]:
        proba = super().predict_proba(x)
        return np.vstack([proba, proba[:1]])


class Shifted(Wrapped):
    """Adds ``delta`` to the probabilities (out of [0, 1] when large)."""

    def __init__(self, inner: Any, delta: float) -> None:
        super().__init__(inner)
        self.delta = delta

    def predict_proba(self, x: Any) -> np.ndarray[Any, Any]:
        return super().predict_proba(x) + self.delta


class Chaos(Wrapped):
    """By age: NaN for 90-94, an exception from 95, a slow call at exactly 17."""

    def __init__(self, inner: Any, seconds: float = 1.5) -> None:
        super().__init__(inner)
        self.seconds = seconds

    def predict_proba(self, x: Any) -> np.ndarray[Any, Any]:
        age = np.asarray(x)[:, 0]
        if bool((age >= 95).any()):
            raise RuntimeError("model exploded")
        if bool((age == 17).any()):
            time.sleep(self.seconds)
        proba = super().predict_proba(x)
        proba[(age >= 90) & (age < 95)] = np.nan
        return proba
