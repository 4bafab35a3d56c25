"""Request bodies of ``POST /predict``: one record, a list, or an envelope.

Accepted shapes::

    {"AGEP": 41, "SEX": "2", ...}                         one record
    [{"AGEP": 41, ...}, {"AGEP": 17, ...}]                 a list of records
    {"records": <record or list>,                          an envelope
     "request_id": "abc" | ["a", "b"],
     "event_time": "2016-06-01T12:00:00Z" | 1464782400.0 | [...]}

``request_id`` and ``event_time`` may also come as the ``X-Request-ID`` and
``X-Event-Time`` headers; envelope keys win. One id for several records becomes
``<id>-0``, ``<id>-1``, ...; without an id the server makes one per record. An event time
is an ISO 8601 text (naive means UTC) or seconds since the epoch; without one, the
record's event time is when the server received it.

Everything here is a check of the request's shape; the records themselves are checked
against the contract, per micro-batch, later. A shape error is a
:class:`~steadyml.errors.DataError` (HTTP 400) naming the key and the fix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson

from steadyml.errors import DataError

__all__ = [
    "ENVELOPE_KEYS",
    "MAX_ID_LENGTH",
    "PredictPayload",
    "decode_json",
    "event_micros",
    "parse_predict",
]

ENVELOPE_KEYS = ("records", "request_id", "event_time")
MAX_ID_LENGTH = 200
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z
_ONE_MICRO = timedelta(microseconds=1)


@dataclass(slots=True)
class PredictPayload:
    """A parsed ``/predict`` body.

    Attributes
    ----------
    records
        The records as decoded JSON values (checked against the contract later).
    request_ids
        One id per record, or None to let the server make them.
    event_us
        One event time per record (microseconds since the epoch), or None.
    """

    records: list[object]
    request_ids: list[str] | None
    event_us: list[int] | None


def decode_json(body: bytes) -> object:
    """Decode a request body.

    Raises
    ------
    DataError
        (HTTP 400) When the body is empty or not valid UTF-8 JSON, with the position.
    """
    if not body.strip():
        raise DataError("body", "", "send a JSON body (a record, a list of records or an envelope)")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        excerpt = body[:60].decode("utf-8", errors="replace")
        raise DataError("body", excerpt, f"send valid JSON ({exc})") from None


def event_micros(value: object, field: str) -> int:
    """An event time as microseconds since the epoch (UTC).

    Raises
    ------
    DataError
        When ``value`` is neither ISO 8601 text nor a finite number of seconds.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value) or not 0 <= value <= _MAX_SECONDS:
            raise DataError(field, value, "give seconds since 1970-01-01 UTC (>= 0)")
        return round(value * 1_000_000)
    if isinstance(value, str) and len(value) <= 64:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            if moment >= _EPOCH:
                return (moment - _EPOCH) // _ONE_MICRO
    raise DataError(
        field, value, "give an ISO 8601 time such as '2016-06-01T12:00:00Z' or epoch seconds"
    )


def _ids(value: object, count: int) -> list[str]:
    if isinstance(value, str):
        if not 0 < len(value) <= MAX_ID_LENGTH:
            raise DataError("request_id", value, f"give an id of 1-{MAX_ID_LENGTH} characters")
        return [value] if count == 1 else [f"{value}-{i}" for i in range(count)]
    if isinstance(value, list) and len(value) == count:
        for i, item in enumerate(value):
            if not isinstance(item, str) or not 0 < len(item) <= MAX_ID_LENGTH:
                raise DataError(
                    f"request_id[{i}]", item, f"give each id as text of 1-{MAX_ID_LENGTH} chars"
                )
        return [str(item) for item in value]
    raise DataError(
        "request_id", value, f"give one id as text, or a list of {count} ids (one per record)"
    )


def _times(value: object, count: int) -> list[int]:
    if isinstance(value, list):
        if len(value) != count:
            raise DataError(
                "event_time", f"{len(value)} times", f"give one time, or {count} (one per record)"
            )
        return [event_micros(item, f"event_time[{i}]") for i, item in enumerate(value)]
    return [event_micros(value, "event_time")] * count


def parse_predict(
    data: object,
    *,
    columns: frozenset[str],
    header_id: str | None = None,
    header_time: str | None = None,
) -> PredictPayload:
    """Split a decoded ``/predict`` body into records, ids and event times.

    Parameters
    ----------
    data
        The decoded JSON body.
    columns
        The contract's column names: an object with a ``records`` key is an envelope
        unless ``records`` is itself a column.
    header_id, header_time
        The ``X-Request-ID`` and ``X-Event-Time`` headers, if sent.

    Raises
    ------
    DataError
        (HTTP 400) When the body is not a record, a list or an envelope, is empty, or has
        malformed ids or event times.
    """
    ids: object = header_id
    times: object = header_time
    if isinstance(data, dict) and "records" in data and "records" not in columns:
        for key in data:
            if key not in ENVELOPE_KEYS:
                raise DataError(
                    str(key), data[key], f"an envelope has only the keys {list(ENVELOPE_KEYS)}"
                )
        ids = data.get("request_id", ids)
        times = data.get("event_time", times)
        data = data["records"]
    if isinstance(data, list):
        records: list[object] = data
    elif isinstance(data, dict):
        records = [data]
    else:
        raise DataError(
            "body",
            data,
            'send a record (a JSON object), a list of records, or {"records": [...]}',
        )
    if not records:
        raise DataError("records", [], "send at least one record")
    count = len(records)
    request_ids = None if ids is None else _ids(ids, count)
    event_us = None if times is None else _times(times, count)
    return PredictPayload(records, request_ids, event_us)
