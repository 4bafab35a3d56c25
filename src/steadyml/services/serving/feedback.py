"""``POST /feedback``: labels and business outcomes, by request id, into the feedback log.

One event, a list of events, or ``{"events": [...]}``::

    {"request_id": "r1", "value": 1}                                  a label
    {"request_id": "r1", "kind": "outcome", "name": "converted",
     "value": 129.9, "event_time": "2016-06-03T09:00:00Z"}            a business outcome

``kind`` is ``label`` (default) or ``outcome``; ``name`` defaults to the spec's target for
labels; ``value`` is a number, a boolean (stored as 1/0) or a text (a class label, stored
in ``value_str``); ``event_time`` (ISO 8601 or epoch seconds) defaults to the receipt time.
The request is all or nothing: one bad event refuses it (HTTP 422) with every problem in
``details.problems``. Events land in the same store as predictions, joinable by request id
(:func:`~steadyml.adapters.predlog.join_feedback`).
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl

from steadyml.errors import ContractViolation, DataError
from steadyml.services.serving.payloads import MAX_ID_LENGTH, event_micros

__all__ = ["EVENT_KEYS", "parse_feedback"]

EVENT_KEYS = ("request_id", "kind", "name", "value", "event_time")
_KINDS = ("label", "outcome")


def _text(event: dict[str, Any], key: str, default: str | None) -> str:
    value = event.get(key, default)
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ID_LENGTH:
        raise ValueError(f"give {key} as text of 1-{MAX_ID_LENGTH} characters")
    return value


def _value(value: object) -> tuple[float | None, str | None]:
    if isinstance(value, bool):
        return float(value), None
    if isinstance(value, int | float):
        number = float(value)
        if not math.isfinite(number):
            raise ValueError("give a finite number")
        return number, None
    if isinstance(value, str) and len(value) <= MAX_ID_LENGTH:
        return None, value
    raise ValueError("give the value as a number, a boolean or a text (a class label)")


def parse_feedback(data: object, *, default_name: str, received_us: int) -> pl.DataFrame:
    """Validate feedback events into a frame of the feedback-log columns.

    Parameters
    ----------
    data
        The decoded JSON body.
    default_name
        The label name used when an event has none (the spec's target).
    received_us
        Receipt time (microseconds since the epoch): ``received_at``, and ``event_time``
        when an event gives none.

    Raises
    ------
    DataError
        (HTTP 400) When the body is not an event, a list or ``{"events": [...]}``.
    ContractViolation
        (HTTP 422) When an event is malformed; ``details.problems`` lists every one.
    """
    if isinstance(data, dict) and "events" in data and "request_id" not in data:
        data = data["events"]
    events = [data] if isinstance(data, dict) else data
    if not isinstance(events, list) or not events:
        raise DataError(
            "body", data, 'send an event {"request_id": ..., "value": ...}, a list, or {"events"}'
        )
    columns: dict[str, list[Any]] = {key: [] for key in ("request_id", "kind", "name")}
    columns.update(value=[], value_str=[], event_time=[])
    problems: list[dict[str, Any]] = []
    for i, event in enumerate(events):
        try:
            if not isinstance(event, dict):
                raise ValueError("give each event as a JSON object")
            unknown = [key for key in event if key not in EVENT_KEYS]
            if unknown:
                raise ValueError(f"unknown key {unknown[0]!r}; use {list(EVENT_KEYS)}")
            kind = _text(event, "kind", "label")
            if kind not in _KINDS:
                raise ValueError(f"kind must be one of {list(_KINDS)}")
            name = _text(event, "name", default_name if kind == "label" else None)
            request_id = _text(event, "request_id", None)
            if "value" not in event:
                raise ValueError("give the value (the label or the outcome)")
            number, text = _value(event["value"])
            when = event.get("event_time")
            event_us = received_us if when is None else event_micros(when, "event_time")
        except (ValueError, DataError) as exc:
            message = exc.one_line() if isinstance(exc, DataError) else str(exc)
            problems.append({"index": i, "message": message})
            continue
        columns["request_id"].append(request_id)
        columns["kind"].append(kind)
        columns["name"].append(name)
        columns["value"].append(number)
        columns["value_str"].append(text)
        columns["event_time"].append(event_us)
    if problems:
        first = problems[0]
        raise ContractViolation(
            f"events[{first['index']}]",
            fix=first["message"]
            + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
            details={"problems": problems},
        )
    rows = len(columns["request_id"])
    timestamp = pl.Datetime("us", "UTC")
    return pl.DataFrame(
        {
            "request_id": columns["request_id"],
            "event_time": pl.Series(columns["event_time"], dtype=pl.Int64).cast(timestamp),
            "received_at": pl.Series([received_us] * rows, dtype=pl.Int64).cast(timestamp),
            "kind": columns["kind"],
            "name": columns["name"],
            "value": pl.Series(columns["value"], dtype=pl.Float64),
            "value_str": pl.Series(columns["value_str"], dtype=pl.String),
        }
    )
