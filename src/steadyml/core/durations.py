"""Human durations (``"500ms"``, ``"5m"``, ``"1h"``, ``"7d"``) as :class:`~datetime.timedelta`."""

from __future__ import annotations

import re
from datetime import timedelta

__all__ = ["format_duration", "parse_duration"]

_UNITS = {
    "ms": timedelta(milliseconds=1),
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "min": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|m|h|d|w)\s*$")


def parse_duration(text: str) -> timedelta:
    """Parse ``"<number><unit>"`` with unit ms, s, m/min, h, d or w.

    Raises
    ------
    ValueError
        When the text is not such a duration or is not positive.

    Examples
    --------
    >>> parse_duration("5m")
    datetime.timedelta(seconds=300)
    """
    match = _PATTERN.match(text)
    if match is None:
        raise ValueError(
            f"{text!r} is not a duration; write it like '500ms', '30s', '5m', '1h', '7d'"
        )
    value = float(match.group(1)) * _UNITS[match.group(2)]
    if value <= timedelta(0):
        raise ValueError(f"{text!r} must be a positive duration")
    return value


def format_duration(value: timedelta) -> str:
    """Format a timedelta in the largest unit that divides it exactly.

    Examples
    --------
    >>> format_duration(timedelta(hours=1))
    '1h'
    """
    micro = round(value.total_seconds() * 1_000_000)
    for unit in ("w", "d", "h", "m", "s", "ms"):
        size = round(_UNITS[unit].total_seconds() * 1_000_000)
        if micro % size == 0:
            return f"{micro // size}{unit}"
    return f"{value.total_seconds()}s"
