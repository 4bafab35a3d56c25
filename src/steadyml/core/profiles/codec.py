"""Profile views to and from JSON-safe dicts and compact bytes.

The dict form (``format: steadyml.profile``, ``version: 1``) is plain JSON: counts and
histograms as integers, sketches as base64 of their DataSketches (or HyperLogLog)
bytes, the row sample as lists. The bytes form is that JSON, zlib-compressed, behind
an 8-byte header. Anything that is not such a profile raises
:class:`~steadyml.errors.DataError` - never a bare ``KeyError`` or a crash.
"""

from __future__ import annotations

import binascii
import zlib
from typing import TYPE_CHECKING, Any

import orjson

from steadyml.core.profiles.accumulator import ProfileSettings
from steadyml.core.profiles.categorical import CategoricalSummary
from steadyml.core.profiles.numeric import NumericSummary
from steadyml.core.profiles.reservoir import RowSample
from steadyml.core.profiles.schema import ColumnKind, ProfileSchema
from steadyml.errors import DataError

if TYPE_CHECKING:
    from steadyml.core.profiles.view import ColumnSummary, ProfileView

__all__ = [
    "FORMAT",
    "MAGIC",
    "VERSION",
    "view_from_bytes",
    "view_from_dict",
    "view_to_bytes",
    "view_to_dict",
]

FORMAT = "steadyml.profile"
VERSION = 1
MAGIC = b"SMLPROF1"
_FIX = "not a steadyml profile; write it with ProfileView.to_dict() or to_bytes()"


def view_to_dict(view: ProfileView) -> dict[str, Any]:
    """The JSON-safe form of ``view``."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "rows": view.rows,
        "settings": view.settings.to_dict(),
        "schema": view.schema.to_dict(),
        "columns": {name: summary.to_dict() for name, summary in view.columns.items()},
        "sample": view.sample.to_dict(),
    }


def view_from_dict(raw: object) -> ProfileView:
    """Rebuild a view from :func:`view_to_dict` output.

    Raises
    ------
    DataError
        When ``raw`` is not a profile of a known version, or is inconsistent.
    """
    from steadyml.core.profiles.view import ProfileView

    if not isinstance(raw, dict):
        raise DataError("profile", type(raw).__name__, _FIX)
    if raw.get("format") != FORMAT:
        raise DataError("profile.format", raw.get("format"), _FIX)
    if raw.get("version") != VERSION:
        raise DataError(
            "profile.version", raw.get("version"), f"this steadyml reads version {VERSION}"
        )
    try:
        schema = ProfileSchema.from_dict(raw["schema"])
        settings = ProfileSettings(**raw["settings"])
        columns: dict[str, ColumnSummary] = {}
        for column in schema.columns:
            entry = raw["columns"][column.name]
            if column.kind is ColumnKind.NUMERIC:
                numeric = NumericSummary.from_dict(entry)
                if numeric.histogram.size != column.n_bins:
                    raise ValueError(f"histogram of {column.name!r} does not match its bins")
                columns[column.name] = numeric
            else:
                columns[column.name] = CategoricalSummary.from_dict(entry)
        sample = RowSample.from_dict(raw["sample"], schema)
        rows = int(raw["rows"])
    except DataError:
        raise
    except (
        KeyError,
        IndexError,
        TypeError,
        ValueError,
        AttributeError,
        RuntimeError,
        binascii.Error,
        OverflowError,
    ) as exc:
        raise DataError("profile", _describe(exc), _FIX) from None
    if rows < 0 or any(s.count > rows for s in columns.values()):
        raise DataError("profile.rows", rows, "a column counts more rows than the profile")
    return ProfileView(schema, rows, columns, sample, settings)


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 120 else text[:117] + "..."


def view_to_bytes(view: ProfileView) -> bytes:
    """Header plus zlib-compressed JSON of ``view``."""
    return MAGIC + zlib.compress(orjson.dumps(view_to_dict(view)), 6)


def view_from_bytes(data: bytes | bytearray | memoryview) -> ProfileView:
    """Rebuild a view from :func:`view_to_bytes` output.

    Raises
    ------
    DataError
        When ``data`` is not such bytes.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise DataError("profile", type(data).__name__, "give the bytes of ProfileView.to_bytes()")
    blob = bytes(data)
    if not blob.startswith(MAGIC):
        raise DataError("profile", f"{len(blob)} bytes starting {blob[:8]!r}", _FIX)
    try:
        raw = orjson.loads(zlib.decompress(blob[len(MAGIC) :]))
    except (zlib.error, orjson.JSONDecodeError) as exc:
        raise DataError("profile", _describe(exc), "the profile bytes are corrupt") from None
    return view_from_dict(raw)
