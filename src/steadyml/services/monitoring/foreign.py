"""The monitor's reader of another server's prediction table (``monitors.source``).

In place of steadyml's own log segments, a pass reads the foreign rows above the
stored watermark (kept in the predictions cursor, so a restarted or concurrent runner
resumes exactly there), maps them to prediction-log records and hands them to the same
partials, windows and checks. A timestamp watermark never reads rows newer than the
monitor's clock minus ``settle``: a row stamped in the future waits for its time
instead of pushing the watermark past rows still to come. Rows that arrive with a
watermark at or below the stored one (late writes) are not read; map an id that only
grows as the watermark when the other server can write late.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import polars as pl

from steadyml.adapters.foreign_logs import (
    ForeignSourceUnavailable,
    LogMapping,
    open_source,
)
from steadyml.core.durations import parse_duration
from steadyml.core.profiles.schema import ColumnKind
from steadyml.errors import SpecError
from steadyml.services.monitoring.references import ReferenceProvider
from steadyml.services.monitoring.segments import WATERMARK_KEY, LogBatch
from steadyml.spec import ServiceSpec

__all__ = ["BAD_ROWS", "ForeignLog"]

_log = logging.getLogger("steadyml.monitor")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Prefix of the cursor counters of dropped foreign rows (``bad_rows.event_time``).
BAD_ROWS = "bad_rows"


class ForeignLog:
    """Reads ``monitors.source`` for the monitor, one batch per pass.

    Parameters
    ----------
    spec
        The service spec; its ``monitors.source`` is read.
    references
        Types JSON features by the reference of the model version they name.

    Raises
    ------
    SpecError
        At construction, when the table is reachable and the mapping names an absent
        column or a column of the wrong type (the key is named). An unreachable
        database is not refused here: every pass retries it.
    """

    def __init__(self, spec: ServiceSpec, references: ReferenceProvider) -> None:
        source = spec.monitors.source
        if source is None:
            raise SpecError("monitors.source", None, "no source to read")
        self.spec = source
        self.references = references
        self.source = open_source(source, spec.base_dir)
        self.settle = parse_duration(source.settle) if source.settle else timedelta(0)
        self.mapping: LogMapping | None = None
        try:
            self._check()
        except ForeignSourceUnavailable as exc:
            _log.warning("%s", exc.one_line())

    def _check(self) -> LogMapping | None:
        if self.mapping is None:
            kinds = self.source.kinds()
            if kinds:
                self.mapping = LogMapping(self.spec, kinds)
        return self.mapping

    def close(self) -> None:
        """Release the source's connections."""
        close = getattr(self.source, "close", None)
        if close is not None:
            close()

    def _kinds(self, versions: Sequence[str]) -> Mapping[str, str] | None:
        for version in versions:
            reference = self.references.get(version)
            if reference is not None:
                return {
                    name: "numeric"
                    if reference.profile.schema[name].kind is ColumnKind.NUMERIC
                    else "categorical"
                    for name in reference.features
                }
        return None

    def read(self, positions: Mapping[str, int], now: datetime) -> LogBatch:
        """The rows after the stored watermark, as log records.

        Raises
        ------
        ForeignSourceUnavailable
            When the database cannot be reached (the pass fails and is retried).
        SpecError
            When the first file or table found does not fit the mapping.
        """
        mapping = self._check()
        if mapping is None:  # no file yet
            return LogBatch()
        after = positions.get(WATERMARK_KEY)
        until = None
        if mapping.time_watermark:
            until = (now - self.settle - _EPOCH) // timedelta(microseconds=1)
        read = self.source.read(
            mapping.source_columns(), mapping.watermark, after, until, self.spec.max_rows
        )
        batch = LogBatch(skipped=read.skipped, more=read.full)
        if read.frame.height == 0:
            return batch
        mapped = mapping.apply(read.frame, self._kinds)
        batch.watermark = read.watermark
        if mapped.frame.height:
            batch.tables.append(mapped.frame.to_arrow())
        batch.counters = {f"{BAD_ROWS}.{reason}": n for reason, n in mapped.bad.items()}
        if mapped.bad:
            _log.warning("dropped foreign rows: %s", mapped.bad)
        return batch

    def lookup(self, start: datetime, end: datetime, request_ids: Sequence[str]) -> pl.DataFrame:
        """Log records of the given request ids (for joining labels and outcomes).

        Empty when the mapping has no ``request_id`` column.
        """
        mapping = self._check()
        if mapping is None or "request_id" not in mapping.fields:
            return pl.DataFrame()
        found = self.source.lookup(
            mapping.source_columns(),
            mapping.fields["request_id"],
            list(request_ids),
            time_column=mapping.fields["event_time"],
            start=start,
            end=end,
        )
        if found.height == 0:
            return pl.DataFrame()
        return mapping.apply(found, self._kinds).frame
