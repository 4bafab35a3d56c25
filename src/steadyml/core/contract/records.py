"""Validate JSON records at serving time: the hot path of every request.

The records are whatever ``json.loads`` produced. Each contract column is handled in
two steps: one tight pass reads and type-checks its values (the only per-value Python
work), then NumPy checks finiteness and ranges for the whole batch at once. Only the
rare violations are turned into :class:`FieldViolation` objects.

Accepted values per kind:

* ``numeric``: int or float (not bool, not numeric strings);
* ``integer``: int, or a float with an integral value (``3.0``);
* ``categorical``: str, and int, read as its string form (census codes such as ``16``
  are often sent as numbers);
* ``boolean``: bool.

Policy actions: REJECT puts the record in ``rejected``; FLAG accepts it and lists the
violation in ``flags``; IMPUTE replaces the value by the rule's ``default`` and flags
it (when the rule has no default and the column is not nullable, IMPUTE falls back to
REJECT). A flagged value that the column's dtype cannot hold (a string in a numeric
column, NaN in an integer column) is passed on as null. An absent *optional* column
is read as null without a violation. A record that is not an object is always
rejected with field ``"(record)"``. Validation never raises on any input.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from steadyml.core.contract.columns import ABSENT, KINDS, build_frame, read_column
from steadyml.core.contract.rules import ColumnRule, safe_repr
from steadyml.core.violations import ViolationAction, ViolationKind, ViolationPolicy

__all__ = ["RECORD_FIELD", "FieldViolation", "RecordsResult", "check_records"]

RECORD_FIELD = "(record)"


@dataclass(frozen=True)
class FieldViolation:
    """One contract rule broken by one record.

    Attributes
    ----------
    field
        The contract column, the unknown key, or ``"(record)"`` for a non-object record.
    kind
        Which rule.
    value
        The value received (``None`` when the field is missing).
    message
        One sentence naming the field, the value and the fix.
    """

    field: str
    kind: ViolationKind
    value: object
    message: str

    def to_dict(self) -> dict[str, Any]:
        """The violation as a JSON-ready dict (the value shown as a short repr)."""
        value = self.value
        if not (value is None or isinstance(value, bool | int | str)) or (
            isinstance(value, int) and abs(value) > 2**53
        ):
            value = safe_repr(value)
        return {
            "field": self.field,
            "kind": self.kind.value,
            "value": value,
            "message": self.message,
        }


@dataclass(frozen=True)
class RecordsResult:
    """What :meth:`Contract.validate_records` made of a batch of records.

    Attributes
    ----------
    frame
        The accepted records only, with contract dtypes, in contract column order,
        imputed values applied and unknown columns dropped.
    accepted
        ``int64`` indices into the input of the accepted records (frame row order).
    rejected
        Input index → every violation of a refused record.
    flags
        Per accepted record (frame row order), the violations it was accepted with.
    """

    frame: pl.DataFrame
    accepted: np.ndarray
    rejected: dict[int, tuple[FieldViolation, ...]]
    flags: list[tuple[FieldViolation, ...]]


# -- messages -------------------------------------------------------------------------


def _message(
    field: str, value: object, kind: ViolationKind, rule: ColumnRule | None, names: Sequence[str]
) -> str:
    shown = safe_repr(value)
    if kind is ViolationKind.UNKNOWN_COLUMN:
        close = difflib.get_close_matches(field, names, n=1)
        hint = f"did you mean {close[0]!r}?" if close else "remove it"
        return f"{field} = {shown}: not a column of the contract; {hint}"
    if rule is None:  # a record that is not an object
        return (
            f"{RECORD_FIELD} = {shown}: each record must be a JSON object of field "
            'names to values; send an object such as {"' + (names[0] if names else "x") + '": ...}'
        )
    expected = rule.expected_text()
    if kind is ViolationKind.MISSING:
        return f"{field} is missing: the contract requires it; send {field} as {expected}"
    if kind is ViolationKind.NULL:
        return f"{field} = null: the contract does not allow null; send {expected}"
    if kind is ViolationKind.WRONG_TYPE:
        return (
            f"{field} = {shown}: wrong type {type(value).__name__}, expected {expected}; "
            f"send {expected}"
        )
    if kind is ViolationKind.NOT_FINITE:
        return f"{field} = {shown}: NaN and infinity are not allowed; send a finite number"
    if kind is ViolationKind.OUT_OF_RANGE:
        return (
            f"{field} = {shown}: outside the contract range {rule.range_text()}; "
            "check the value, or widen the range in the contract"
        )
    return (
        f"{field} = {shown}: not a known category ({rule.categories_text()}); send a "
        "known category, or add it to the contract"
    )


def _field_name(key: object) -> str:
    return key if isinstance(key, str) else safe_repr(key)


def _unknown_keys(
    record: Mapping[Any, Any], known: frozenset[str], names: Sequence[str]
) -> list[FieldViolation]:
    found: list[FieldViolation] = []
    for key in record:
        if key not in known:
            field = _field_name(key)
            value = record[key]
            message = _message(field, value, ViolationKind.UNKNOWN_COLUMN, None, names)
            found.append(FieldViolation(field, ViolationKind.UNKNOWN_COLUMN, value, message))
    return found


def _allowed(
    rule: ColumnRule, categories: Mapping[str, frozenset[str] | None] | None
) -> frozenset[str] | None:
    if rule.kind != "categorical":
        return None
    if categories is not None and rule.name in categories:
        return categories[rule.name]
    return None if rule.categories is None else frozenset(rule.categories)


# -- the batch --------------------------------------------------------------------------


def check_records(
    rules: Sequence[ColumnRule],
    records: Sequence[object],
    policy: ViolationPolicy,
    categories: Mapping[str, frozenset[str] | None] | None = None,
) -> RecordsResult:
    """Validate a batch of records; see :meth:`Contract.validate_records`.

    ``categories`` maps each categorical column to its allowed set (precomputed by
    the contract so that it is built once, not per request).
    """
    if isinstance(records, Mapping | str | bytes):  # one record, not a batch
        records = [records]
    try:
        records = list(records)
    except TypeError:  # not iterable: one (bad) record
        records = [records]
    n = len(records)
    names = [rule.name for rule in rules]
    name_set = frozenset(names)
    issues: dict[int, list[tuple[FieldViolation, ViolationAction]]] = {}

    def add(i: int, violation: FieldViolation, action: ViolationAction) -> None:
        issues.setdefault(i, []).append((violation, action))

    objects: list[Mapping[Any, Any]] = []
    not_objects: set[int] = set()  # rejected as a whole; no per-field violations
    for i, record in enumerate(records):
        if type(record) is dict or isinstance(record, Mapping):
            objects.append(record)
            if not record.keys() <= name_set:
                for violation in _unknown_keys(record, name_set, names):
                    add(i, violation, policy.unknown_column)
        else:
            objects.append({})
            not_objects.add(i)
            message = _message(RECORD_FIELD, record, ViolationKind.WRONG_TYPE, None, names)
            violation = FieldViolation(RECORD_FIELD, ViolationKind.WRONG_TYPE, record, message)
            add(i, violation, ViolationAction.REJECT)

    columns: list[tuple[ColumnRule, Any, np.ndarray]] = []
    for rule in rules:
        name = rule.name
        raw = [obj.get(name, ABSENT) for obj in objects]
        values, codes, null = read_column(raw, rule, _allowed(rule, categories))
        for i in np.flatnonzero(codes).tolist():
            if i in not_objects:
                continue
            kind = KINDS[int(codes[i])]
            value = None if raw[i] is ABSENT else raw[i]
            message = _message(name, value, kind, rule, names)
            action = policy.action(kind)
            if action is ViolationAction.IMPUTE:
                if rule.default is None and not rule.nullable:
                    action = ViolationAction.REJECT
                    message += "; the contract has no default to impute"
                else:
                    message += f" (imputed {safe_repr(rule.default)})"
                    null[i] = rule.default is None
                    if rule.default is not None:
                        values[i] = rule.default
            add(i, FieldViolation(name, kind, value, message), action)
        columns.append((rule, values, null))

    rejected = {
        i: tuple(v for v, _ in found)
        for i, found in issues.items()
        if any(action is ViolationAction.REJECT for _, action in found)
    }
    if rejected:
        keep = np.ones(n, np.bool_)
        keep[list(rejected)] = False
        accepted = np.flatnonzero(keep).astype(np.int64)
    else:
        accepted = np.arange(n, dtype=np.int64)
    flags = [tuple(v for v, _ in issues.get(i, ())) for i in accepted.tolist()]
    return RecordsResult(build_frame(columns, accepted, n), accepted, rejected, flags)
