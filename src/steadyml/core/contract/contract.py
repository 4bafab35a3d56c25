"""The data contract: one set of column rules for training data, CI data and requests.

:class:`Contract` is the facade; the work is done in sibling modules (``infer``,
``frame_check``, ``records``, ``schema``, ``compat``). The core does no file I/O: the
contract is serialised to and from ``str``/``dict`` and callers read or write files.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import polars as pl
from pydantic import BaseModel

from steadyml.core.contract.compat import incompatibilities
from steadyml.core.contract.frame_check import FrameReport, check_frame
from steadyml.core.contract.infer import infer_rules
from steadyml.core.contract.records import RecordsResult, check_records
from steadyml.core.contract.rules import ColumnRule
from steadyml.core.contract.schema import json_schema, polars_schema, request_model
from steadyml.core.violations import ViolationPolicy
from steadyml.errors import DataError, NotFoundError

__all__ = ["Contract"]

_TOP_KEYS = ("version", "columns")


@dataclass(frozen=True)
class Contract:
    """The types, ranges, categories and nullability of a model's inputs.

    Parameters
    ----------
    columns
        One rule per input column, in model order; names must be unique.
    version
        Format version of the contract.

    Examples
    --------
    >>> import polars as pl
    >>> frame = pl.DataFrame({"age": [20.0, 40.0, 60.0], "sex": ["1", "2", "1"]})
    >>> contract = Contract.infer(frame, ["age", "sex"])
    >>> contract.column("age").minimum, contract.column("sex").categories
    (16.0, ('1', '2'))
    >>> contract.validate_frame(frame).ok
    True
    >>> result = contract.validate_records([{"age": 30, "sex": 1}, "oops"], ViolationPolicy())
    >>> result.accepted.tolist(), list(result.rejected)
    ([0], [1])
    """

    columns: tuple[ColumnRule, ...]
    version: int = 1

    def __post_init__(self) -> None:
        columns = tuple(self.columns)
        object.__setattr__(self, "columns", columns)
        if not columns:
            raise DataError("columns", columns, "give the contract at least one column rule")
        seen: set[str] = set()
        for i, rule in enumerate(columns):
            if not isinstance(rule, ColumnRule):
                raise DataError(f"columns[{i}]", rule, "build each column as a ColumnRule")
            if rule.name in seen:
                raise DataError(f"columns[{i}].name", rule.name, "give each column one rule")
            seen.add(rule.name)
        if isinstance(self.version, bool) or not isinstance(self.version, int):
            raise DataError("version", self.version, "use an integer contract version, e.g. 1")
        if self.version < 1:
            raise DataError("version", self.version, "use an integer contract version, e.g. 1")

    # -- building ---------------------------------------------------------------------

    @classmethod
    def infer(
        cls,
        frame: pl.DataFrame,
        features: Sequence[str],
        *,
        range_margin: float = 0.1,
        max_categories: int = 1000,
    ) -> Contract:
        """Infer a contract from training data; see :func:`~.infer.infer_rules`.

        Raises
        ------
        DataError
            When a feature is absent or of an unsupported dtype, or the frame is empty.
        """
        rules = infer_rules(
            frame, features, range_margin=range_margin, max_categories=max_categories
        )
        return cls(columns=rules)

    # -- lookup -------------------------------------------------------------------------

    @cached_property
    def _by_name(self) -> dict[str, ColumnRule]:
        return {rule.name: rule for rule in self.columns}

    @cached_property
    def _categories(self) -> dict[str, frozenset[str] | None]:
        return {
            rule.name: None if rule.categories is None else frozenset(rule.categories)
            for rule in self.columns
            if rule.kind == "categorical"
        }

    @property
    def names(self) -> tuple[str, ...]:
        """Column names in contract order."""
        return tuple(self._by_name)

    def column(self, name: str) -> ColumnRule:
        """The rule of column ``name``.

        Raises
        ------
        NotFoundError
            When the contract has no such column.
        """
        rule = self._by_name.get(name)
        if rule is None:
            raise NotFoundError(f"contract column {name!r}", name, f"use one of {list(self.names)}")
        return rule

    # -- serialisation --------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The contract as a JSON-ready dict: ``{"version": ..., "columns": [...]}``."""
        return {"version": self.version, "columns": [rule.to_dict() for rule in self.columns]}

    @classmethod
    def from_dict(cls, data: object) -> Contract:
        """Build a contract from its dict form (for example a hand-edited file).

        Raises
        ------
        DataError
            Naming the bad key (``columns[3].minimum``) with its value and the fix.
        """
        if not isinstance(data, Mapping):
            raise DataError(
                "contract", type(data).__name__, 'write the contract as {"columns": [...]}'
            )
        for key in data:
            if key not in _TOP_KEYS:
                raise DataError(
                    str(key), data[key], f"a contract has only the keys {list(_TOP_KEYS)}"
                )
        columns = data.get("columns")
        if not isinstance(columns, list | tuple) or not columns:
            raise DataError("columns", columns, "list at least one column rule under 'columns'")
        rules = tuple(
            ColumnRule.from_dict(item, where=f"columns[{i}]") for i, item in enumerate(columns)
        )
        return cls(columns=rules, version=data.get("version", 1))

    def to_json(self) -> str:
        """The contract as JSON text ready to edit: one key per line, lists inline."""
        columns = []
        for rule in self.columns:
            items = (
                f"      {json.dumps(key)}: {json.dumps(value, allow_nan=False)}"
                for key, value in rule.to_dict().items()
            )
            columns.append("    {\n" + ",\n".join(items) + "\n    }")
        body = ",\n".join(columns)
        return f'{{\n  "version": {self.version},\n  "columns": [\n{body}\n  ]\n}}\n'

    @classmethod
    def from_json(cls, text: str | bytes) -> Contract:
        """Parse the JSON text written by :meth:`to_json` (or edited by hand).

        Raises
        ------
        DataError
            When the text is not JSON (with line and column) or not a valid contract.
        """
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            where = (
                f"line {exc.lineno} column {exc.colno}"
                if isinstance(exc, json.JSONDecodeError)
                else "bytes"
            )
            raise DataError("contract", where, f"fix the JSON syntax ({exc})") from None
        except TypeError:
            raise DataError(
                "contract", type(text).__name__, "pass the contract as JSON text"
            ) from None
        return cls.from_dict(data)

    # -- validation -----------------------------------------------------------------------

    def validate_frame(
        self, frame: pl.DataFrame, *, max_examples: int = 5, ignore: Collection[str] = ()
    ) -> FrameReport:
        """Check a whole frame (training, CI) against every rule, vectorized.

        Reports missing and unknown columns, wrong dtypes (an integer column is fine
        where numbers are expected, and for categories integer codes are read as
        strings), nulls, NaN/inf, out-of-range values and unseen categories, each with
        a row count and up to ``max_examples`` examples.

        Parameters
        ----------
        frame
            The data to check.
        max_examples
            How many example values to keep per violation.
        ignore
            Columns that are not inputs (target, id, event time): not reported as unknown.
        """
        return check_frame(self.columns, frame, max_examples=max_examples, ignore=ignore)

    def validate_records(self, records: Sequence[object], policy: ViolationPolicy) -> RecordsResult:
        """Validate serving-time JSON records and apply the violation ``policy``.

        Never raises: any JSON value is either accepted (maybe flagged or imputed) or
        rejected with reasons. See :mod:`steadyml.core.contract.records` for the
        accepted value types.
        """
        return check_records(self.columns, records, policy, self._categories)

    # -- schemas --------------------------------------------------------------------------

    def polars_schema(self) -> dict[str, pl.DataType]:
        """Column name → Polars dtype (Float64, Int64, String, Boolean)."""
        return polars_schema(self.columns)

    def json_schema(self) -> dict[str, Any]:
        """JSON Schema of one record (unknown fields allowed)."""
        return json_schema(self.columns)

    def request_model(self) -> type[BaseModel]:
        """A pydantic model of one record, for OpenAPI docs; extra fields allowed."""
        return request_model(self.columns)

    # -- evolution ------------------------------------------------------------------------

    def compare(self, newer: Contract) -> list[str]:
        """Why ``newer`` may refuse requests this contract accepts (empty: compatible).

        Incompatible: a column removed or newly required, a kind changed, null no longer
        allowed, a range narrowed, categories removed. Compatible: a widened range, a
        new optional column, a new category.
        """
        return incompatibilities(self.columns, newer.columns)
