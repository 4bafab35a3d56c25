"""The kinds of per-window payloads the store keeps, and how each encodes and merges.

======== ==================================================== =========================
kind     what                                                 type
======== ==================================================== =========================
summary  statuses, reasons, latency, lag, answered scores      :class:`WindowSummary`
inputs   input features on the reference bins                 :class:`ProfileView`
outputs  the model's answers on the reference bins             :class:`ProfileView`
labels   labels joined to the window's predictions             :class:`LabelSummary`
outcomes outcome events joined to the window's predictions     :class:`OutcomeSummary`
======== ==================================================== =========================

Every kind merges exactly, so a window is the merge of its panes, and a pane the merge
of what every monitor pass added to it.
"""

from __future__ import annotations

from steadyml.core.monitoring.codec import pack, unpack
from steadyml.core.monitoring.labelled import LabelSummary, OutcomeSummary
from steadyml.core.monitoring.summary import WindowSummary
from steadyml.core.profiles import ProfileView
from steadyml.errors import DataError

__all__ = ["KINDS", "Payload", "decode", "encode", "merge", "rows_of"]

Payload = WindowSummary | ProfileView | LabelSummary | OutcomeSummary
KINDS = ("summary", "inputs", "outputs", "labels", "outcomes")


def encode(payload: Payload) -> bytes:
    """Bytes of a payload (profiles in their own format, the rest as packed JSON)."""
    if isinstance(payload, ProfileView):
        return payload.to_bytes()
    if isinstance(payload, WindowSummary):
        return pack("summary", payload.to_dict())
    if isinstance(payload, LabelSummary):
        return pack("labels", payload.to_dict())
    return pack("outcomes", payload.to_dict())


def decode(kind: str, data: bytes) -> Payload:
    """The payload of ``kind`` stored as ``data``.

    Raises
    ------
    DataError
        When the bytes are not a payload of that kind.
    """
    if kind in ("inputs", "outputs"):
        return ProfileView.from_bytes(data)
    found, body = unpack(data)
    if found != kind:
        raise DataError("payload.kind", found, f"expected a {kind!r} payload")
    try:
        if kind == "summary":
            return WindowSummary.from_dict(body)
        if kind == "labels":
            return LabelSummary.from_dict(body)
        if kind == "outcomes":
            return OutcomeSummary.from_dict(body)
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError("payload", kind, f"the stored payload is incomplete ({exc})") from None
    raise DataError("payload.kind", kind, f"use one of {KINDS}")


def merge(a: Payload, b: Payload) -> Payload:
    """Both payloads together (they must be of the same kind).

    Raises
    ------
    DataError
        When the payloads are of different kinds (or profiles on different bins).
    """
    if isinstance(a, ProfileView) and isinstance(b, ProfileView):
        return a.merge(b)
    if isinstance(a, WindowSummary) and isinstance(b, WindowSummary):
        return a.merge(b)
    if isinstance(a, LabelSummary) and isinstance(b, LabelSummary):
        return a.merge(b)
    if isinstance(a, OutcomeSummary) and isinstance(b, OutcomeSummary):
        return a.merge(b)
    raise DataError("payload", f"{type(a).__name__} + {type(b).__name__}", "merge equal kinds")


def rows_of(payload: Payload) -> int:
    """Rows a payload describes (records, profiled rows, labels or events)."""
    if isinstance(payload, ProfileView | WindowSummary):
        return payload.rows
    if isinstance(payload, LabelSummary):
        return payload.labelled
    return payload.events
