"""Recovery after a crash: seal every leftover open segment, replay journals, remove temps.

A writer recovers its own worker's files when it starts. :func:`recover` does the same
from outside (the CLI, a test, an operator) for one worker or all of them. It only touches
workers whose lock it can take (see :mod:`~steadyml.adapters.predlog.locks`): the files of
a worker that is alive and writing are left alone and reported as skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from steadyml.adapters.predlog.journal_items import Codecs
from steadyml.adapters.predlog.layout import (
    FEEDBACK,
    PREDICTIONS,
    check_name,
    fsync_dir,
    scan_journals,
    scan_open,
    scan_sealed,
)
from steadyml.adapters.predlog.locks import WorkerLock
from steadyml.adapters.predlog.replay import load_journals, replay_journal
from steadyml.adapters.predlog.segments import seal_file, sealed_source

__all__ = ["RecoveryReport", "next_seq", "recover", "recover_table"]


@dataclass(frozen=True)
class RecoveryReport:
    """What recovery did.

    Attributes
    ----------
    sealed
        Sealed segments written from leftover open segments.
    recovered_rows
        Rows in those segments.
    torn_files
        Open segments that ended in a torn (partly written) batch, left out.
    ignored_bytes
        Bytes of torn batches left out.
    removed
        Files deleted: empty open segments, temp files of interrupted seals, and open
        segments that had already been sealed when the crash came.
    skipped_workers
        Workers left alone because a live process holds their lock.
    replayed
        Sealed segments written from strict-mode journals.
    replayed_rows
        Rows in those segments.
    unreadable_journals
        Journals that could not be read back, renamed ``*.wal.unreadable``.
    """

    sealed: tuple[Path, ...] = ()
    recovered_rows: int = 0
    torn_files: int = 0
    ignored_bytes: int = 0
    removed: tuple[Path, ...] = ()
    skipped_workers: tuple[str, ...] = ()
    replayed: tuple[Path, ...] = ()
    replayed_rows: int = 0
    unreadable_journals: tuple[Path, ...] = ()

    def __add__(self, other: RecoveryReport) -> RecoveryReport:
        return RecoveryReport(
            self.sealed + other.sealed,
            self.recovered_rows + other.recovered_rows,
            self.torn_files + other.torn_files,
            self.ignored_bytes + other.ignored_bytes,
            self.removed + other.removed,
            self.skipped_workers + other.skipped_workers,
            self.replayed + other.replayed,
            self.replayed_rows + other.replayed_rows,
            self.unreadable_journals + other.unreadable_journals,
        )


def next_seq(table_root: Path, service: str, worker: str) -> int:
    """The sequence number the worker's next sealed segment takes (1 for a new worker)."""
    sealed = scan_sealed(table_root, service, worker=worker)
    return sealed[-1].seq + 1 if sealed else 1


def recover_table(
    table_root: Path,
    service: str,
    worker: str | None = None,
    *,
    held: bool = False,
    codecs: Codecs | None = None,
) -> RecoveryReport:
    """Recover one log table (``<root>/predictions`` or ``<root>/feedback``).

    Parameters
    ----------
    table_root
        The table directory.
    service
        The service whose partitions are scanned.
    worker
        Recover only this worker's files; None recovers every worker's.
    held
        The caller already holds ``worker``'s lock (a writer recovering itself).
    codecs
        Journal tag → the :class:`~steadyml.adapters.predlog.DeferredRows` class that
        reads such records back (the serving log's rows, for example).
    """
    opened, temps = scan_open(table_root, service, worker=worker)
    journals = scan_journals(table_root, service, worker=worker)
    owners = {name for name, _ in opened} | {name for name, _ in temps}
    report = RecoveryReport()
    for owner in sorted(owners | {journal.worker for journal in journals}):
        lock = None
        if not (held and owner == worker):
            lock = WorkerLock.try_acquire(table_root, service, owner)
            if lock is None:
                report += RecoveryReport(skipped_workers=(owner,))
                continue
        try:
            report += _recover_worker(
                table_root,
                service,
                owner,
                [path for name, path in opened if name == owner],
                [path for name, path in temps if name == owner],
                codecs=codecs or {},
            )
        finally:
            if lock is not None:
                lock.release()
    return report


def _recover_worker(
    table_root: Path,
    service: str,
    owner: str,
    opened: list[Path],
    temps: list[Path],
    *,
    codecs: Codecs,
) -> RecoveryReport:
    for temp in temps:
        temp.unlink(missing_ok=True)
        fsync_dir(temp.parent)
    journals = load_journals(table_root, service, owner, codecs)
    report = RecoveryReport(
        removed=tuple(temps) + journals.removed, unreadable_journals=journals.unreadable
    )
    latest = scan_sealed(table_root, service, worker=owner)
    seq = latest[-1].seq + 1 if latest else 1
    # at most one open file can have been sealed already (crash between rename and
    # delete), and its seal is then the worker's latest one
    source = sealed_source(latest[-1].path) if latest else None
    for path in opened:
        if path.name == source:
            path.unlink(missing_ok=True)
            fsync_dir(path.parent)
            report += RecoveryReport(removed=(path,))
            continue
        result = seal_file(path, owner, seq, stop_marks=journals.marks)
        if result.path is None:
            report += RecoveryReport(
                torn_files=int(result.torn), ignored_bytes=result.ignored_bytes, removed=(path,)
            )
            continue
        seq += 1
        report += RecoveryReport(
            (result.path,), result.rows, int(result.torn), result.ignored_bytes
        )
    for loaded in journals.replayable:
        sealed, seq = replay_journal(table_root, service, owner, loaded, seq)
        report += RecoveryReport(
            removed=(loaded.entry.path,), replayed=tuple(sealed), replayed_rows=loaded.rows
        )
    return report


def recover(
    root: Path, service: str, worker: str | None = None, *, codecs: Codecs | None = None
) -> RecoveryReport:
    """Seal the open segments a crash left behind in both the prediction and feedback logs.

    Workers whose writer is still running (their lock is held) are skipped.

    Parameters
    ----------
    root
        The log directory (holding ``predictions/`` and ``feedback/``).
    service
        The service to recover.
    worker
        One worker id, or None for every worker.
    codecs
        Readers of strict-mode journal records (see :func:`recover_table`).

    Returns
    -------
    RecoveryReport
        What was sealed, left out, removed and skipped.

    Raises
    ------
    ConfigError
        When ``service`` or ``worker`` is not a valid name.
    OSError
        When the files cannot be written (the open files stay; run it again).
    """
    check_name("service", service)
    if worker is not None:
        check_name("worker", worker)
    report = RecoveryReport()
    for table in (PREDICTIONS, FEEDBACK):
        report += recover_table(Path(root) / table, service, worker, codecs=codecs)
    return report
