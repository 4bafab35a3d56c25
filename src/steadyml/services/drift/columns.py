"""Which columns a drift check compares, and how each is profiled.

* ``--columns a,b``: exactly those (each must be in the reference);
* with a spec: the model's inputs - ``data.features``, else the contract's columns,
  else every reference column but the target, id and time columns - so that a feature
  missing from the current data is reported as a schema mismatch;
* otherwise: every column the two tables share.

The time column used for windows is never compared; columns of a type that cannot be
profiled (dates, binary, nested) are skipped with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from steadyml.core.contract import Contract
from steadyml.core.profiles.schema import infer_kind
from steadyml.errors import ConfigError, DataError
from steadyml.spec import ServiceSpec

__all__ = ["ColumnChoice", "choose_columns", "spec_contract"]


@dataclass(frozen=True)
class ColumnChoice:
    """The compared columns, the ones profiled as categories, and those left out."""

    columns: tuple[str, ...]
    categorical: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]


def spec_contract(spec: ServiceSpec) -> Contract | None:
    """The spec's contract file, or ``None`` when it has not been written yet."""
    path = spec.resolve(spec.data.contract)
    if not path.exists():
        return None
    try:
        return Contract.from_json(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataError("data.contract", str(path), f"cannot read it ({exc})") from None


def _reserved(spec: ServiceSpec | None, time_column: str | None) -> set[str]:
    names = {time_column} if time_column else set()
    if spec is not None:
        data = spec.data
        names |= {c for c in (data.target, data.id_column, data.time_column) if c}
    return names


def _model_inputs(spec: ServiceSpec, contract: Contract | None) -> tuple[str, ...] | None:
    if spec.data.features is not None:
        return spec.data.features
    if contract is not None:
        return contract.names
    return None


def choose_columns(
    reference: pa.Schema,
    current: Sequence[str],
    *,
    columns: Sequence[str] | None = None,
    spec: ServiceSpec | None = None,
    time_column: str | None = None,
    categorical: Sequence[str] = (),
    expected: Sequence[str] | None = None,
) -> ColumnChoice:
    """Pick the compared columns.

    Parameters
    ----------
    reference
        The reference's columns and types (an Arrow schema).
    current
        The current data's column names.
    columns
        Columns asked for explicitly (``--columns``).
    spec
        The service spec, when given (its features; its target, id and time columns
        are never compared).
    time_column
        The windowing time column (never compared).
    categorical
        Columns known to be categorical although stored as numbers (from the contract).
    expected
        Columns that must be compared unless ``columns`` is given (a stored reference
        profile's columns); a missing one is then a schema mismatch.

    Raises
    ------
    ConfigError
        When an explicitly named column is not in the reference.
    DataError
        When nothing is left to compare.
    """
    names = list(reference.names)
    reserved = _reserved(spec, time_column)
    skipped: list[tuple[str, str]] = []
    contract = spec_contract(spec) if spec is not None else None
    inputs = expected
    if inputs is None and spec is not None:
        inputs = _model_inputs(spec, contract)
    if columns is not None:
        wanted = list(dict.fromkeys(columns))
        unknown = [c for c in wanted if c not in names]
        if unknown:
            raise ConfigError("--columns", unknown, f"not in the reference; it has {names}")
        explicit = True
    elif inputs is not None:
        unknown = [c for c in inputs if c not in names]
        if unknown:
            raise DataError(
                "data.features",
                unknown,
                f"the reference data lacks these model inputs; it has {names}",
            )
        wanted, explicit = [c for c in inputs if c not in reserved], True
    elif spec is not None:
        wanted, explicit = [c for c in names if c not in reserved], False
    else:
        shared = set(current)
        wanted = [c for c in names if c in shared and c not in reserved]
        skipped += [(c, "only in the reference") for c in names if c not in shared]
        skipped += [(c, "only in the current data") for c in current if c not in set(names)]
        explicit = False
    if contract is not None:
        categorical = [*categorical, *(r.name for r in contract.columns if r.kind == "categorical")]
    kept: list[str] = []
    for name in wanted:
        kind = infer_kind(name, reference.field(name).type, tuple(categorical))
        if kind is None and not explicit:
            skipped.append((name, f"type {reference.field(name).type} is not profiled"))
            continue
        kept.append(name)
    if not kept:
        raise DataError(
            "columns",
            [],
            "nothing to compare: the reference and current data share no profiled column; "
            "name them with --columns",
        )
    cats = tuple(c for c in kept if c in set(categorical))
    return ColumnChoice(tuple(kept), cats, tuple(skipped))
