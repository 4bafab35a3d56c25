"""Replaying journals a crashed strict-mode writer left behind.

A journal still on disk holds acknowledged records that may not all have reached a
segment: the writer deletes it only once every row is fsynced in one. Its rows that did
reach a segment follow a mark naming it; recovery seals each open segment up to the first
such mark (:func:`~steadyml.adapters.predlog.segments.seal_file` with ``stop_marks``),
then copies every journal's rows again, oldest first, into new segments, marked the same
way, deletes the journal and seals them. A crash at any point of this is recovered the
same way at the next start: no acknowledged row is lost, none is written twice.

A journal that cannot be read back (written by a version whose item format this one
does not know) is renamed ``*.wal.unreadable`` and reported; its rows already copied stay.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

from steadyml.adapters.predlog.batches import BatchAdmitter, Item, to_table
from steadyml.adapters.predlog.journal import (
    JournalHeader,
    quarantine,
    read_journal,
    remove_journal,
)
from steadyml.adapters.predlog.journal_items import Codecs, JournalDecodeError, decode_items
from steadyml.adapters.predlog.layout import JournalEntry, scan_journals
from steadyml.adapters.predlog.segment_set import SegmentSet
from steadyml.core.clock import SystemClock

__all__ = ["LoadedJournal", "load_journals", "replay_journal"]

_log = logging.getLogger("steadyml.predlog")


@dataclass(frozen=True)
class LoadedJournal:
    """A journal read back: its header and items, ready to replay."""

    entry: JournalEntry
    header: JournalHeader
    items: list[Item]
    rows: int
    admitter: BatchAdmitter


@dataclass(frozen=True)
class LoadedJournals:
    """What :func:`load_journals` found for one worker."""

    replayable: list[LoadedJournal]
    removed: tuple[Path, ...]
    unreadable: tuple[Path, ...]

    @property
    def marks(self) -> frozenset[str]:
        """Tokens of the journals to replay: segments are sealed up to their marks."""
        return frozenset(loaded.header.token for loaded in self.replayable)


def load_journals(table_root: Path, service: str, worker: str, codecs: Codecs) -> LoadedJournals:
    """Read back every journal of ``worker``, oldest first.

    Journals without a complete header (a crash while creating one: they hold no
    acknowledged record) are deleted; journals that cannot be decoded are set aside.
    """
    replayable: list[LoadedJournal] = []
    removed: list[Path] = []
    unreadable: list[Path] = []
    for entry in scan_journals(table_root, service, worker=worker):
        contents = read_journal(entry.path)
        if contents.header is None:
            remove_journal(entry.path)
            removed.append(entry.path)
            continue
        header = contents.header
        try:
            items = decode_items(contents.records, header.schema, codecs)
            admitter = BatchAdmitter(
                header.schema, header.time_column, {"service": service, "worker": worker}
            )
            rows = sum(admitter.admit(item) for item in items)
        except (JournalDecodeError, ValueError) as exc:
            target = quarantine(entry.path)
            _log.error(
                "journal %s cannot be replayed (%s; written with Polars %s): set aside as %s;"
                " replay it with the steadyml version that wrote it",
                entry.path,
                exc,
                header.polars_version,
                target.name,
            )
            unreadable.append(target)
            continue
        replayable.append(LoadedJournal(entry, header, items, rows, admitter))
    return LoadedJournals(replayable, tuple(removed), tuple(unreadable))


def replay_journal(
    table_root: Path, service: str, worker: str, loaded: LoadedJournal, next_seq: int
) -> tuple[list[Path], int]:
    """Copy one journal's rows into sealed segments, then delete it.

    Returns
    -------
    tuple
        The sealed segment files and the worker's next sequence number.

    Raises
    ------
    OSError
        When a write, fsync or seal fails; the journal then stays, to be replayed again.
    """
    header = loaded.header
    errors: list[BaseException] = []
    files = SegmentSet(
        table_root,
        service,
        worker,
        header.schema,
        header.time_column,
        max_rows=2**62,
        max_age=math.inf,
        clock=SystemClock(),
        on_error=errors.append,
        next_seq=next_seq,
    )
    table = to_table(loaded.items, loaded.admitter) if loaded.items else None
    try:
        if table is not None and table.num_rows:
            _, failed = files.write([table], mark=header.token)
            if failed or errors:
                raise errors[0] if errors else OSError("the journal's rows were not written")
        remove_journal(loaded.entry.path)
        sealed = files.seal_all()
    finally:
        files.close_files()
    return sealed, files.next_seq
