"""Misbehaving models, for the incidents that promote a bad version.

Each wraps the champion's fitted estimator and is logged to MLflow like any model
(pickled by reference to this module), so the real server loads and serves it after a
real promotion. The server's output guards then do what they do in production.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

__all__ = ["WRAPPERS", "Inverted", "NaNShare", "Noisy", "Slow", "Wrapped"]


class Wrapped:
    """Delegates to ``inner`` (a fitted scikit-learn classifier or regressor)."""

    def __init__(self, inner: Any, **options: float) -> None:
        self.inner = inner
        self.options = dict(options)
        self.calls = 0

    def fit(self, x: Any, y: Any, **kwargs: Any) -> Wrapped:
        """Fit the wrapped estimator."""
        self.inner.fit(x, y, **kwargs)
        return self

    def _proba(self, x: Any) -> np.ndarray[Any, Any]:
        return np.asarray(self.inner.predict_proba(x), dtype=np.float64)

    def predict_proba(self, x: Any) -> np.ndarray[Any, Any]:
        """Class probabilities (changed by subclasses)."""
        return self._proba(x)

    def predict(self, x: Any) -> np.ndarray[Any, Any]:
        """The positive class when its probability is at least 0.5."""
        return np.asarray(self.predict_proba(x)[:, 1] >= 0.5, dtype=np.int64)

    def _rng(self) -> np.random.Generator:
        self.calls += 1
        return np.random.default_rng(self.calls)


class NaNShare(Wrapped):
    """NaN for a share (``share``) of the rows."""

    def predict_proba(self, x: Any) -> np.ndarray[Any, Any]:
        """Probabilities with NaN rows."""
        proba = self._proba(x)
        hit = self._rng().random(proba.shape[0]) < self.options.get("share", 0.1)
        proba[hit] = np.nan
        return proba


class Inverted(Wrapped):
    """A broken version: the probabilities of the classes swapped."""

    def predict_proba(self, x: Any) -> np.ndarray[Any, Any]:
        """Reversed class probabilities."""
        return self._proba(x)[:, ::-1].copy()


class Noisy(Wrapped):
    """A poor version: probabilities blended with noise (``noise`` in [0, 1])."""

    def predict_proba(self, x: Any) -> np.ndarray[Any, Any]:
        """Probabilities pulled towards random ones."""
        proba = self._proba(x)
        noise = self.options.get("noise", 0.5)
        random = self._rng().random(proba.shape[0])
        positive = (1 - noise) * proba[:, -1] + noise * random
        proba[:, -1] = positive
        proba[:, 0] = 1.0 - positive
        return proba


class Slow(Wrapped):
    """Sleeps ``seconds`` per model call (a latency spike)."""

    def predict_proba(self, x: Any) -> np.ndarray[Any, Any]:
        """Probabilities, late."""
        time.sleep(self.options.get("seconds", 0.1))
        return self._proba(x)


WRAPPERS: dict[str, type[Wrapped]] = {
    "nan_share": NaNShare,
    "inverted": Inverted,
    "noisy": Noisy,
    "slow": Slow,
}
