"""A micro-batch's outcome as bytes, for the strict-mode journal, and back.

A strict-mode log writer journals every commit before it acknowledges it; a dozen
records' Arrow table costs it a millisecond, their outcome in this form a few tens of
microseconds. The form::

    u32 n | n bytes of JSON (names, ids, texts, array dtypes and lengths, frame sizes)
    the NumPy arrays' raw bytes, in the JSON's order
    the ``inputs`` and ``features`` frames, each as an Arrow IPC stream
    the row mask, when only some rows are kept

Every part is a stable format (JSON, NumPy dtype strings, Arrow IPC), so a journal left
by a crash is replayed by the next start even when Polars or NumPy was upgraded between.
"""

from __future__ import annotations

import io
import struct
from typing import Any

import numpy as np
import orjson
import polars as pl

from steadyml.core.contract.records import FieldViolation
from steadyml.core.violations import ViolationKind
from steadyml.services.serving.outcome import BatchOutcome

__all__ = ["decode_outcome", "encode_outcome"]

_U32 = struct.Struct("<I")
_ARRAYS = (
    "status",
    "prediction",
    "raw",
    "has_raw",
    "reasons",
    "event_us",
    "received_us",
    "accepted",
    "latency_ms",
)
_FRAMES = ("inputs", "features")

Mask = np.ndarray[Any, np.dtype[np.bool_]]


def encode_outcome(outcome: BatchOutcome, keep: Mask | None) -> list[bytes | memoryview]:
    """``outcome`` (and the mask of the rows to log) as pieces of bytes."""
    arrays = [np.ascontiguousarray(getattr(outcome, name)) for name in _ARRAYS]
    if keep is not None:
        arrays.append(np.ascontiguousarray(keep))
    frames = [getattr(outcome, name) for name in _FRAMES]
    serialized = [None if frame is None else _ipc(frame) for frame in frames]
    meta = {
        "model_version": outcome.model_version,
        "request_ids": outcome.request_ids,
        "labels": outcome.labels,
        "raw_requests": outcome.raw_requests,
        "notes": list(outcome.notes.items()),
        "rejected": _violations(outcome.rejected),
        "flags": _violations(outcome.flags),
        "arrays": [[array.dtype.str, len(array)] for array in arrays],
        "frames": [None if data is None else len(data) for data in serialized],
        "keep": keep is not None,
    }
    head = orjson.dumps(meta)
    pieces: list[bytes | memoryview] = [_U32.pack(len(head)), head]
    pieces += [array.data.cast("B") for array in arrays]
    pieces += [data for data in serialized if data is not None]
    return pieces


def decode_outcome(data: memoryview) -> tuple[BatchOutcome, Mask | None]:
    """The outcome and row mask :func:`encode_outcome` wrote.

    Raises
    ------
    ValueError
        When ``data`` is not such a record.
    """
    try:
        (size,) = _U32.unpack_from(data, 0)
        meta = orjson.loads(bytes(data[4 : 4 + size]))
        offset = 4 + size
        arrays: list[np.ndarray[Any, Any]] = []
        for dtype_str, length in meta["arrays"]:
            dtype = np.dtype(dtype_str)
            end = offset + dtype.itemsize * int(length)
            if end > len(data):
                raise ValueError("the record ends inside an array")
            arrays.append(np.frombuffer(data[offset:end], dtype=dtype))
            offset = end
        frames: list[pl.DataFrame | None] = []
        for length in meta["frames"]:
            if length is None:
                frames.append(None)
                continue
            if offset + length > len(data):
                raise ValueError("the record ends inside a frame")
            frames.append(pl.read_ipc_stream(io.BytesIO(data[offset : offset + length])))
            offset += length
        if len(arrays) < len(_ARRAYS) or len(frames) != len(_FRAMES):
            raise ValueError("arrays or frames are missing")
        status, prediction, raw, has_raw, reasons, event_us, received_us = arrays[:7]
        outcome = BatchOutcome(
            model_version=meta["model_version"],
            request_ids=list(meta["request_ids"]),
            status=status,
            prediction=prediction,
            raw=raw,
            has_raw=has_raw,
            reasons=reasons,
            labels=list(meta["labels"]),
            rejected=_read_violations(meta["rejected"]),
            flags=_read_violations(meta["flags"]),
            event_us=event_us,
            received_us=received_us,
            inputs=frames[0],
            features=frames[1],
            accepted=arrays[7],
            raw_requests=list(meta["raw_requests"]),
            notes={int(index): str(note) for index, note in meta["notes"]},
            latency_ms=arrays[8],
        )
    except (struct.error, KeyError, TypeError, orjson.JSONDecodeError) as exc:
        raise ValueError(f"not a journaled batch outcome ({exc})") from exc
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise ValueError(f"its frames are not Arrow IPC streams ({exc})") from exc
    keep = arrays[len(_ARRAYS)] if meta["keep"] else None
    return outcome, keep


def _ipc(frame: pl.DataFrame) -> bytes:
    # the stream form: the file form's footer costs twenty times as much for a dozen rows
    sink = io.BytesIO()
    frame.write_ipc_stream(sink, compression="uncompressed")
    return sink.getvalue()


def _violations(found: dict[int, tuple[FieldViolation, ...]]) -> list[Any]:
    return [[index, [v.to_dict() for v in violations]] for index, violations in found.items()]


def _read_violations(found: list[Any]) -> dict[int, tuple[FieldViolation, ...]]:
    return {
        int(index): tuple(
            FieldViolation(str(v["field"]), ViolationKind(v["kind"]), v["value"], str(v["message"]))
            for v in violations
        )
        for index, violations in found
    }
