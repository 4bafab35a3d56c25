"""Query parameters, checked: an unknown, repeated or malformed one is a 400 page, never a 500."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from starlette.datastructures import QueryParams

from steadyml.errors import DataError

__all__ = ["RANGES", "BadQuery", "Query"]

#: The time ranges a page can show, newest window last.
RANGES: Mapping[str, timedelta | None] = {
    "6h": timedelta(hours=6),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "all": None,
}


class BadQuery(DataError):
    """A query parameter of a dashboard URL is unknown or malformed."""

    kind = "bad query"
    http_status = 400


class Query:
    """The query parameters of one request, read by name with their type and choices.

    Parameters
    ----------
    params
        The request's query parameters.
    allowed
        The names this page knows; any other name is refused.
    """

    def __init__(self, params: QueryParams, allowed: Iterable[str]) -> None:
        known = set(allowed)
        for name in params:
            if name not in known:
                shown = ", ".join(sorted(known)) or "none"
                raise BadQuery(name, params.get(name), f"this page takes: {shown}")
            if len(params.getlist(name)) > 1:
                raise BadQuery(name, params.getlist(name), "give it once")
        self._params = params

    def text(
        self, name: str, default: str | None = None, choices: Sequence[str] | None = None
    ) -> str | None:
        """A text parameter (an empty value counts as absent)."""
        value = self._params.get(name) or None
        if value is None:
            return default
        if len(value) > 256:
            raise BadQuery(name, value, "give at most 256 characters")
        if choices is not None and value not in choices:
            raise BadQuery(name, value, f"use one of {', '.join(choices)}")
        return value

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        """A whole number in ``[low, high]``."""
        value = self._params.get(name) or None
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise BadQuery(name, value, f"give a whole number from {low} to {high}") from None
        if not low <= number <= high:
            raise BadQuery(name, value, f"give a whole number from {low} to {high}")
        return number

    def moment(self, name: str) -> datetime | None:
        """An ISO 8601 time (``2016-03-01T02:14``; UTC when no zone is given)."""
        value = self._params.get(name) or None
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise BadQuery(name, value, "give an ISO 8601 time, e.g. 2016-03-01T02:14") from None
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

    def span(self, default: str = "24h") -> tuple[str, timedelta | None]:
        """The ``range`` parameter: its name and length (None: everything stored)."""
        name = self.text("range", default, tuple(RANGES)) or default
        return name, RANGES[name]
