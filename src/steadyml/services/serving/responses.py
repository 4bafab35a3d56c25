"""The JSON answers of ``POST /predict`` and the one JSON error body.

A request's records are answered item by item::

    {"model_version": "3",
     "predictions": [
       {"request_id": "r1", "status": "ok", "prediction": 0.81, "label": "1",
        "fallback": false},
       {"request_id": "r2", "status": "fallback", "prediction": 0.5, "label": "1",
        "fallback": true, "fallback_reason": "nan_output"},
       {"request_id": "r3", "status": "rejected", "fallback": false,
        "error": {"error": "contract violation", "field": "AGEP", ...}}]}

A request with at least one answered record is a 200 (refused items carry their error);
a request whose every record is refused is a 422 with one error body whose
``details.violations`` lists each offending field (``index`` is the record's position).
"""

from __future__ import annotations

from typing import Any

import orjson

from steadyml.core.contract.records import FieldViolation
from steadyml.errors import ContractViolation, SteadyError
from steadyml.services.serving.outcome import FALLBACK, REJECTED, JobSlice, reason_name

__all__ = ["error_response", "record_error", "render_predict", "request_error"]

_FIX_LIMIT = 5


def error_response(error: SteadyError) -> tuple[int, bytes]:
    """``(HTTP status, JSON body)`` of any steadyml error."""
    return error.http_status, orjson.dumps(error.to_dict())


def _fix(violations: tuple[FieldViolation, ...]) -> str:
    if len(violations) == 1:
        return violations[0].message
    shown = "; ".join(v.message for v in violations[:_FIX_LIMIT])
    more = len(violations) - _FIX_LIMIT
    extra = f" (and {more} more in details.violations)" if more > 0 else ""
    return f"{len(violations)} problems: {shown}{extra}"


def record_error(violations: tuple[FieldViolation, ...]) -> ContractViolation:
    """The error of one refused record; ``details.violations`` names every field."""
    first = violations[0]
    return ContractViolation(
        first.field,
        first.to_dict()["value"],
        _fix(violations),
        details={"violations": [v.to_dict() for v in violations]},
    )


def request_error(part: JobSlice) -> ContractViolation:
    """The 422 error of a request whose every record was refused."""
    outcome = part.outcome
    listed: list[dict[str, Any]] = []
    every: list[FieldViolation] = []
    for index in range(part.start, part.stop):
        for violation in outcome.rejected.get(index, ()):
            listed.append({"index": index - part.start, **violation.to_dict()})
            every.append(violation)
    first = every[0]
    field = first.field if part.size == 1 else f"records[{listed[0]['index']}].{first.field}"
    return ContractViolation(
        field,
        listed[0]["value"],
        _fix(tuple(every)),
        details={
            "violations": listed,
            "request_ids": outcome.request_ids[part.start : part.stop],
        },
    )


def render_predict(part: JobSlice) -> tuple[int, bytes]:
    """``(HTTP status, JSON body)`` of one ``/predict`` request."""
    outcome = part.outcome
    if part.all_rejected():
        return error_response(request_error(part))
    start, stop = part.start, part.stop
    ids = outcome.request_ids[start:stop]
    listed = outcome.listed
    statuses = listed.status[start:stop]
    values = listed.prediction[start:stop]
    reasons = listed.reasons[start:stop]
    labels = outcome.labels[start:stop]
    items: list[dict[str, Any]] = []
    for offset, status in enumerate(statuses):
        index = start + offset
        if status == REJECTED:
            error = record_error(outcome.rejected[index]).to_dict()
            items.append(
                {"request_id": ids[offset], "status": "rejected", "fallback": False, "error": error}
            )
            continue
        item: dict[str, Any] = {
            "request_id": ids[offset],
            "status": "fallback" if status == FALLBACK else "ok",
            "prediction": values[offset],
            "fallback": status == FALLBACK,
        }
        if labels[offset] is not None:
            item["label"] = labels[offset]
        if status == FALLBACK:
            item["fallback_reason"] = reason_name(reasons[offset])
        flags = outcome.flags.get(index)
        if flags:
            item["flags"] = [v.to_dict() for v in flags]
        items.append(item)
    body = {"model_version": outcome.model_version, "predictions": items}
    return 200, orjson.dumps(body)
