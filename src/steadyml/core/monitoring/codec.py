"""Window payloads to and from bytes: zlib-compressed JSON behind a short header.

The monitor store keeps every window summary as bytes (profiles use their own
:meth:`~steadyml.core.profiles.ProfileView.to_bytes`). Anything that is not such a
payload raises :class:`~steadyml.errors.DataError`, never a bare exception.

Examples
--------
>>> unpack(pack("summary", {"rows": 3}))
('summary', {'rows': 3})
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any

import orjson

from steadyml.errors import DataError

__all__ = ["MAGIC", "pack", "unpack"]

MAGIC = b"SMLWIN1:"
_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def pack(kind: str, body: Mapping[str, Any]) -> bytes:
    """``body`` as compact bytes, tagged with ``kind``."""
    data = orjson.dumps({"kind": kind, "body": dict(body)}, option=_OPTIONS)
    return MAGIC + zlib.compress(data, 6)


def unpack(data: bytes | bytearray | memoryview) -> tuple[str, dict[str, Any]]:
    """``(kind, body)`` of bytes written by :func:`pack`.

    Raises
    ------
    DataError
        When the bytes are not such a payload.
    """
    raw = bytes(data)
    if not raw.startswith(MAGIC):
        raise DataError("payload", raw[:8], "not a steadyml window payload; write it with pack()")
    try:
        parsed = orjson.loads(zlib.decompress(raw[len(MAGIC) :]))
    except (zlib.error, orjson.JSONDecodeError) as exc:
        raise DataError("payload", len(raw), f"the payload is corrupt ({exc})") from None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("body"), dict):
        raise DataError("payload", type(parsed).__name__, "the payload has no body")
    return str(parsed.get("kind")), parsed["body"]
