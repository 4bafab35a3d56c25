"""Queued log items as journal records, and back.

An item whose class has a journal form (:attr:`DeferredRows.journal_tag`) is stored in
it: a micro-batch costs tens of microseconds instead of the millisecond its Arrow table
takes. Any other item is stored as the Arrow IPC stream of its table in the log schema.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pyarrow as pa

from steadyml.adapters.predlog.batches import BatchAdmitter, DeferredRows, Item, to_table
from steadyml.adapters.predlog.journal import DEFERRED, TABLE, Body

__all__ = ["Codecs", "JournalDecodeError", "decode_item", "decode_items", "encode_item"]

Codecs = Mapping[str, type[DeferredRows]]


class JournalDecodeError(ValueError):
    """A journal record cannot be turned back into an item."""


def encode_item(item: Item, admitter: BatchAdmitter) -> Body:
    """The journal record body of one queued item."""
    if isinstance(item, DeferredRows):
        tag = type(item).journal_tag
        if tag is not None:
            name = tag.encode()
            return [bytes((DEFERRED, len(name))), name, *item.to_journal()]
    table = to_table([item], admitter)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return [bytes((TABLE,)), sink.getvalue()]


def decode_item(body: memoryview, schema: pa.Schema, codecs: Codecs) -> Item:
    """The item a record body holds.

    Parameters
    ----------
    body
        The record body.
    schema
        The log schema of the writer that wrote the journal.
    codecs
        Journal tag → the :class:`DeferredRows` class that reads it.

    Raises
    ------
    JournalDecodeError
        When the body is malformed or names a codec not in ``codecs``.
    """
    if len(body) == 0:
        raise JournalDecodeError("an empty journal record")
    kind = body[0]
    try:
        if kind == TABLE:
            return pa.ipc.open_stream(pa.py_buffer(body[1:])).read_all()
        if kind == DEFERRED:
            size = body[1]
            tag = bytes(body[2 : 2 + size]).decode()
            codec = codecs.get(tag)
            if codec is None:
                raise JournalDecodeError(
                    f"journal records of kind {tag!r}: no reader for it in this version"
                )
            return codec.from_journal(body[2 + size :], schema)
    except JournalDecodeError:
        raise
    except Exception as exc:  # a codec's own errors too: recovery must carry on
        raise JournalDecodeError(f"a malformed journal record ({exc})") from exc
    raise JournalDecodeError(f"a journal record of unknown kind {kind}")


def decode_items(bodies: Sequence[memoryview], schema: pa.Schema, codecs: Codecs) -> list[Item]:
    """Every item of a journal's records, in order (see :func:`decode_item`)."""
    return [decode_item(body, schema, codecs) for body in bodies]
