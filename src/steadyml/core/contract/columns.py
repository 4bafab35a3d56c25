"""Typed columns from JSON values, and back into a frame: the per-value pass.

:func:`read_column` reads one contract column out of a batch of records in one tight
pass (the only per-value Python work on the serving path), giving NumPy values, a
violation code per value and a null mask; NumPy then checks finiteness and ranges for
the whole batch at once. :func:`build_frame` turns the accepted values into a frame.
"""

from __future__ import annotations

import math
from typing import Any, cast

import numpy as np
import polars as pl
import pyarrow as pa

from steadyml.core.contract.rules import ColumnRule
from steadyml.core.violations import ViolationKind

__all__ = ["ABSENT", "KINDS", "build_frame", "read_column"]

ABSENT: Any = object()  # the key is not in the record
_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1

# violation codes in the per-column code arrays; 0 = fine
_MISSING, _NULL, _WRONG, _NOT_FINITE, _RANGE, _UNSEEN = range(1, 7)
KINDS = {  # code -> kind
    _MISSING: ViolationKind.MISSING,
    _NULL: ViolationKind.NULL,
    _WRONG: ViolationKind.WRONG_TYPE,
    _NOT_FINITE: ViolationKind.NOT_FINITE,
    _RANGE: ViolationKind.OUT_OF_RANGE,
    _UNSEEN: ViolationKind.UNSEEN_CATEGORY,
}
_ARROW = {"numeric": pa.float64(), "integer": pa.int64(), "boolean": pa.bool_()}
_POLARS = {
    "numeric": pl.Float64,
    "integer": pl.Int64,
    "categorical": pl.String,
    "boolean": pl.Boolean,
}
_ROW_WISE_BELOW = 32  # batches smaller than this are built row-wise
_NUMBER = (int, float, np.integer, np.floating)  # bool is excluded separately


def _absent_or_null(value: object, rule: ColumnRule) -> int:
    if value is ABSENT:
        return _MISSING if rule.required else 0
    return 0 if rule.nullable else _NULL


def _read_numeric(raw: list[Any], rule: ColumnRule) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(raw)
    codes = np.zeros(n, np.int8)
    null = np.zeros(n, np.bool_)
    if set(map(type, raw)) <= {float, int}:
        try:
            return np.array(raw, dtype=np.float64), codes, null
        except OverflowError:
            pass
    values = np.zeros(n, np.float64)
    for i, v in enumerate(raw):
        if v is ABSENT or v is None:
            codes[i] = _absent_or_null(v, rule)
            null[i] = True
        elif isinstance(v, bool | np.bool_) or not isinstance(v, _NUMBER):
            codes[i], null[i] = _WRONG, True
        else:
            try:
                values[i] = float(v)
            except OverflowError:  # an int beyond the float range
                values[i] = math.inf if v > 0 else -math.inf
    return values, codes, null


def _read_integer(raw: list[Any], rule: ColumnRule) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(raw)
    codes = np.zeros(n, np.int8)
    null = np.zeros(n, np.bool_)
    if set(map(type, raw)) <= {int}:
        try:
            return np.array(raw, dtype=np.int64), codes, null
        except OverflowError:
            pass
    values = np.zeros(n, np.int64)
    for i, v in enumerate(raw):
        if v is ABSENT or v is None:
            codes[i] = _absent_or_null(v, rule)
            null[i] = True
        elif isinstance(v, bool | np.bool_) or not isinstance(v, _NUMBER):
            codes[i], null[i] = _WRONG, True
        elif isinstance(v, float | np.floating) and not math.isfinite(v):
            codes[i], null[i] = _NOT_FINITE, True
        elif isinstance(v, float | np.floating) and not float(v).is_integer():
            codes[i], null[i] = _WRONG, True
        elif not _I64_MIN <= v <= _I64_MAX:
            codes[i], null[i] = _RANGE, True
        else:
            values[i] = int(v)
    return values, codes, null


def _read_categorical(
    raw: list[Any], rule: ColumnRule, allowed: frozenset[str] | None
) -> tuple[list[Any], np.ndarray, np.ndarray]:
    n = len(raw)
    codes = np.zeros(n, np.int8)
    null = np.zeros(n, np.bool_)
    if set(map(type, raw)) == {str}:
        if allowed is not None and not allowed.issuperset(raw):
            codes[np.fromiter((v not in allowed for v in raw), np.bool_, n)] = _UNSEEN
        return raw, codes, null
    values: list[Any] = [None] * n
    for i, v in enumerate(raw):
        if isinstance(v, int) and not isinstance(v, bool):
            try:
                v = str(v)  # noqa: PLW2901 - census codes arrive as numbers
            except ValueError:  # too many digits to print
                codes[i], null[i] = _WRONG, True
                continue
        if isinstance(v, str):
            values[i] = v
            if allowed is not None and v not in allowed:
                codes[i] = _UNSEEN
        elif v is ABSENT or v is None:
            codes[i] = _absent_or_null(v, rule)
            null[i] = True
        else:
            codes[i], null[i] = _WRONG, True
    return values, codes, null


def _read_boolean(raw: list[Any], rule: ColumnRule) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(raw)
    codes = np.zeros(n, np.int8)
    null = np.zeros(n, np.bool_)
    if set(map(type, raw)) == {bool}:
        return np.array(raw, dtype=np.bool_), codes, null
    values = np.zeros(n, np.bool_)
    for i, v in enumerate(raw):
        if isinstance(v, bool | np.bool_):
            values[i] = bool(v)
        elif v is ABSENT or v is None:
            codes[i] = _absent_or_null(v, rule)
            null[i] = True
        else:
            codes[i], null[i] = _WRONG, True
    return values, codes, null


def _check_numbers(
    values: np.ndarray, codes: np.ndarray, null: np.ndarray, rule: ColumnRule
) -> None:
    """Vectorized finiteness and range checks over the values read cleanly."""
    clean = (codes == 0) & ~null
    if values.dtype.kind == "f":
        finite = np.isfinite(values)
        codes[clean & ~finite] = _NOT_FINITE
        clean &= finite
    outside = np.zeros(len(values), np.bool_)
    if rule.minimum is not None:
        outside |= values < rule.minimum
    if rule.maximum is not None:
        outside |= values > rule.maximum
    codes[clean & outside] = _RANGE


def read_column(
    raw: list[Any], rule: ColumnRule, allowed: frozenset[str] | None
) -> tuple[Any, np.ndarray, np.ndarray]:
    """Read one column's raw values (:data:`ABSENT` where the key is missing).

    Returns ``(values, codes, null)``: values as a NumPy array (a list of str for
    categorical columns), an ``int8`` violation code per value (0 = fine, else a key
    of :data:`KINDS`), and the mask of values that will be null in the frame.
    """
    if rule.kind == "numeric":
        values, codes, null = _read_numeric(raw, rule)
        _check_numbers(values, codes, null, rule)
        return values, codes, null
    if rule.kind == "integer":
        values, codes, null = _read_integer(raw, rule)
        _check_numbers(values, codes, null, rule)
        return values, codes, null
    if rule.kind == "categorical":
        return _read_categorical(raw, rule, allowed)
    return _read_boolean(raw, rule)


def build_frame(
    columns: list[tuple[ColumnRule, Any, np.ndarray]], accepted: np.ndarray, n: int
) -> pl.DataFrame:
    """The accepted rows as a frame with contract dtypes.

    Polars pays a fixed cost per Series, so a small batch is built row-wise in one
    call, and a large one column-wise from the NumPy arrays.
    """
    every = len(accepted) == n
    small = len(accepted) < _ROW_WISE_BELOW
    data: list[Any] = []
    for rule, values, null in columns:
        mask = null if every else null[accepted]
        if rule.kind == "categorical" or small:
            if isinstance(values, np.ndarray):
                kept = (values if every else values[accepted]).tolist()
            else:
                kept = values if every else [values[i] for i in accepted.tolist()]
            if mask.any():
                kept = [None if m else v for v, m in zip(kept, mask.tolist(), strict=True)]
            data.append(kept if small else pl.Series(rule.name, kept, dtype=pl.String))
        else:
            kept_np = values if every else values[accepted]
            if mask.any():  # rare: arrow carries the validity mask without a copy
                array = pa.array(kept_np, type=_ARROW[rule.kind], mask=mask)
                data.append(cast(pl.Series, pl.from_arrow(array)).alias(rule.name))
            else:
                data.append(pl.Series(rule.name, kept_np))
    if small:
        names = [rule.name for rule, _, _ in columns]
        rows = [dict(zip(names, row, strict=True)) for row in zip(*data, strict=True)]
        schema = {rule.name: _POLARS[rule.kind] for rule, _, _ in columns}
        return pl.from_dicts(rows, schema=schema)
    return pl.DataFrame(data)
