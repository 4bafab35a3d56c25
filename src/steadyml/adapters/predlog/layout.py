"""Where log files live: Hive-style partitions and the names of sealed, open and temp files.

A log *table* (``<root>/predictions`` or ``<root>/feedback``) holds::

    service=<service>/date=YYYY-MM-DD/hour=HH/<worker>-<seq>.parquet          sealed segment
    service=<service>/date=YYYY-MM-DD/hour=HH/_open-<worker>-<token>.arrows    open segment
    service=<service>/date=YYYY-MM-DD/hour=HH/_tmp-<worker>-<seq>.parquet.tmp  seal in progress
    service=<service>/_journal-<worker>-<number>-<token>.wal                   strict-mode journal

Only sealed segments end in ``.parquet``; names that start with ``_`` are skipped by Spark,
and neither open nor temp files match ``*.parquet`` globs, so any reader of the table sees
whole segments only. ``seq`` counts the segments one worker has sealed for one service, in
the order it sealed them; it is what the monitor's watermark follows.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from steadyml.core.clock import utc
from steadyml.errors import ConfigError

__all__ = [
    "FEEDBACK",
    "OPEN_SUFFIX",
    "PREDICTIONS",
    "JournalEntry",
    "Segment",
    "check_name",
    "fsync_dir",
    "hour_key",
    "hour_start",
    "journal_name",
    "open_name",
    "parse_open",
    "partition_dir",
    "scan_journals",
    "scan_open",
    "scan_sealed",
    "sealed_name",
    "service_dir",
    "tmp_name",
]

PREDICTIONS = "predictions"
FEEDBACK = "feedback"
OPEN_PREFIX = "_open-"
OPEN_SUFFIX = ".arrows"
TMP_PREFIX = "_tmp-"
TMP_SUFFIX = ".parquet.tmp"
SEQ_WIDTH = 10

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_SEALED = re.compile(r"^(?P<worker>[A-Za-z0-9][A-Za-z0-9_.-]*)-(?P<seq>\d{10})\.parquet$")
_OPEN = re.compile(
    r"^_open-(?P<worker>[A-Za-z0-9][A-Za-z0-9_.-]*)-(?P<token>[0-9a-f]{16})\.arrows$"
)
_JOURNAL = re.compile(
    r"^_journal-(?P<worker>[A-Za-z0-9][A-Za-z0-9_.-]*)-(?P<number>\d{10})-(?P<token>[0-9a-f]{16})\.wal$"
)
_TMP = re.compile(r"^_tmp-(?P<worker>[A-Za-z0-9][A-Za-z0-9_.-]*)-\d{10}\.parquet\.tmp$")
_DATE_DIR = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")
_HOUR_DIR = re.compile(r"^hour=(\d{2})$")


def check_name(field_name: str, value: str) -> str:
    """Return ``value`` if it can name a service or worker in file names, else raise.

    Raises
    ------
    ConfigError
        When ``value`` is empty, too long or has characters other than letters, digits,
        ``_``, ``.`` and ``-`` (it must not start with ``_``, ``.`` or ``-``).
    """
    if not isinstance(value, str) or _NAME.match(value) is None:
        raise ConfigError(
            field_name,
            value,
            "use 1-128 letters, digits, '_', '.' or '-', starting with a letter or digit",
        )
    return value


def hour_key(moment: datetime) -> int:
    """Hours since the Unix epoch of ``moment`` (UTC): the partition a record belongs to."""
    return int((utc(moment) - _EPOCH) // timedelta(hours=1))


def hour_start(key: int) -> datetime:
    """The first instant (UTC) of the partition hour ``key``."""
    return _EPOCH + timedelta(hours=key)


def service_dir(table_root: Path, service: str) -> Path:
    """``<table_root>/service=<service>``."""
    return table_root / f"service={service}"


def partition_dir(table_root: Path, service: str, key: int) -> Path:
    """``<table_root>/service=<service>/date=YYYY-MM-DD/hour=HH`` for hour ``key``."""
    start = hour_start(key)
    return service_dir(table_root, service) / f"date={start:%Y-%m-%d}" / f"hour={start:%H}"


def sealed_name(worker: str, seq: int) -> str:
    """File name of a sealed segment."""
    return f"{worker}-{seq:0{SEQ_WIDTH}d}.parquet"


def tmp_name(worker: str, seq: int) -> str:
    """File name of a seal in progress."""
    return f"{TMP_PREFIX}{worker}-{seq:0{SEQ_WIDTH}d}{TMP_SUFFIX}"


def open_name(worker: str, token: str) -> str:
    """File name of an open segment; ``token`` is 16 hex digits, unique per segment."""
    return f"{OPEN_PREFIX}{worker}-{token}{OPEN_SUFFIX}"


def journal_name(worker: str, number: int, token: str) -> str:
    """File name of a journal: ``number`` orders one worker's journals, ``token`` is unique."""
    return f"_journal-{worker}-{number:0{SEQ_WIDTH}d}-{token}.wal"


def parse_open(name: str) -> tuple[str, str] | None:
    """``(worker, token)`` of an open-segment file name, or None."""
    match = _OPEN.match(name)
    return None if match is None else (match["worker"], match["token"])


@dataclass(frozen=True, order=True)
class Segment:
    """One sealed segment file.

    Segments sort by ``(worker, seq)``: the order one worker sealed them in.
    """

    worker: str
    seq: int
    key: int = field(compare=False)
    path: Path = field(compare=False)

    @property
    def start(self) -> datetime:
        """The first instant of the segment's partition hour (UTC)."""
        return hour_start(self.key)


def _partitions(table_root: Path, service: str) -> list[tuple[int, Path]]:
    """Every ``(hour key, directory)`` partition of a service, in time order."""
    found: list[tuple[int, Path]] = []
    base = service_dir(table_root, service)
    try:
        dates = list(os.scandir(base))
    except FileNotFoundError:
        return found
    for date_entry in dates:
        date_match = _DATE_DIR.match(date_entry.name)
        if date_match is None or not date_entry.is_dir():
            continue
        try:
            day = datetime.strptime(date_match[1], "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            continue
        for hour_entry in os.scandir(date_entry.path):
            hour_match = _HOUR_DIR.match(hour_entry.name)
            if hour_match is None or int(hour_match[1]) > 23 or not hour_entry.is_dir():
                continue
            found.append((hour_key(day) + int(hour_match[1]), Path(hour_entry.path)))
    found.sort()
    return found


def scan_sealed(
    table_root: Path,
    service: str,
    *,
    worker: str | None = None,
    first_key: int | None = None,
    last_key: int | None = None,
) -> list[Segment]:
    """Sealed segments of a service (optionally one worker, an hour range), sorted.

    Parameters
    ----------
    table_root
        The table directory (``<root>/predictions`` or ``<root>/feedback``).
    service, worker
        Whose segments; ``worker=None`` lists every worker's.
    first_key, last_key
        Inclusive range of partition hour keys to look in; None for no bound.
    """
    segments: list[Segment] = []
    for key, directory in _partitions(table_root, service):
        if (first_key is not None and key < first_key) or (last_key is not None and key > last_key):
            continue
        for entry in os.scandir(directory):
            match = _SEALED.match(entry.name)
            if match is None or (worker is not None and match["worker"] != worker):
                continue
            segments.append(Segment(match["worker"], int(match["seq"]), key, Path(entry.path)))
    segments.sort()
    return segments


def scan_open(
    table_root: Path, service: str, *, worker: str | None = None
) -> tuple[list[tuple[str, Path]], list[tuple[str, Path]]]:
    """``(worker, path)`` of open segment files and of leftover temp files, sorted."""
    opened: list[tuple[str, Path]] = []
    temps: list[tuple[str, Path]] = []
    for _, directory in _partitions(table_root, service):
        for entry in os.scandir(directory):
            if entry.name.startswith(OPEN_PREFIX):
                parsed = parse_open(entry.name)
                if parsed is not None and worker in (None, parsed[0]):
                    opened.append((parsed[0], Path(entry.path)))
            elif entry.name.startswith(TMP_PREFIX):
                tmp_match = _TMP.match(entry.name)
                if tmp_match is not None and worker in (None, tmp_match["worker"]):
                    temps.append((tmp_match["worker"], Path(entry.path)))
    return sorted(opened), sorted(temps)


@dataclass(frozen=True, order=True)
class JournalEntry:
    """One journal file; entries sort by ``(worker, number)``, the order they were written."""

    worker: str
    number: int
    token: str = field(compare=False)
    path: Path = field(compare=False)


def scan_journals(
    table_root: Path, service: str, *, worker: str | None = None
) -> list[JournalEntry]:
    """The journals of a service's workers (or of one), oldest first per worker."""
    found: list[JournalEntry] = []
    try:
        entries = list(os.scandir(service_dir(table_root, service)))
    except FileNotFoundError:
        return found
    for entry in entries:
        match = _JOURNAL.match(entry.name)
        if match is not None and worker in (None, match["worker"]):
            found.append(
                JournalEntry(
                    match["worker"], int(match["number"]), match["token"], Path(entry.path)
                )
            )
    found.sort()
    return found


def fsync_dir(directory: Path) -> None:
    """Make the entries of ``directory`` (a create, rename or unlink) durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
