"""Floats in JSON: finite numbers stay numbers; NaN and infinities become strings.

JSON has no NaN or infinity (``orjson`` writes them as ``null``), yet a profile may hold
them (an overflowing variance, an infinite value in a sample), and ``null`` already means
"absent". ``"nan"``, ``"inf"`` and ``"-inf"`` are what :class:`float` parses back.
"""

from __future__ import annotations

import math

__all__ = ["from_json_float", "to_json_float"]


def to_json_float(value: float) -> float | str:
    """``value`` itself when finite, else ``"nan"``, ``"inf"`` or ``"-inf"``.

    Examples
    --------
    >>> to_json_float(1.5), to_json_float(float("-inf"))
    (1.5, '-inf')
    """
    return value if math.isfinite(value) else str(value)


def from_json_float(value: object) -> float:
    """Inverse of :func:`to_json_float`.

    Raises
    ------
    ValueError
        For anything but a number or one of the three strings.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"expected a number, got {type(value).__name__}")
    if isinstance(value, str) and value not in ("nan", "inf", "-inf"):
        raise ValueError(f"expected a number, got {value!r}")
    return float(value)
