"""The rule for one column of a data contract, and its plain-dict form.

A :class:`ColumnRule` says what a column may hold: its kind, whether it may be null
or absent, a numeric range, the allowed categories and the value used to impute.
Rules check themselves when built, so an edited contract file with a mistake fails
loudly with the key, the value and the fix.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from steadyml.errors import DataError

__all__ = ["KINDS", "ColumnKind", "ColumnRule", "category_order", "safe_repr"]

ColumnKind = Literal["numeric", "integer", "categorical", "boolean"]
KINDS: tuple[str, ...] = get_args(ColumnKind)

_KEYS = (
    "name",
    "kind",
    "nullable",
    "required",
    "minimum",
    "maximum",
    "categories",
    "default",
    "description",
)

Problem = tuple[str, object, str]


def safe_repr(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters; never raises.

    Huge integers and deeply nested values, which ``repr`` refuses, get a placeholder.
    """
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # int too large to print, nesting too deep
        return f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def category_order(category: str) -> tuple[int, int, str]:
    """Sort key for categories: integer codes by value first ("2" < "10"), then text."""
    if category.isascii() and category.isdigit() and len(category) <= 18:
        return (0, int(category), category)
    return (1, 0, category)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _bound_problem(key: str, value: object) -> Problem | None:
    if value is None:
        return None
    if not _is_number(value) or not math.isfinite(float(value)):  # type: ignore[arg-type]
        return (key, value, f"set '{key}' to a finite number, or to null for no bound")
    return None


def _default_problem(kind: str, default: object) -> Problem | None:
    if default is None:
        return None
    expected = {
        "numeric": "a finite number",
        "integer": "a 64-bit integer",
        "categorical": "a string",
        "boolean": "true or false",
    }[kind]
    ok = {
        "numeric": _is_number(default) and math.isfinite(float(default)),  # type: ignore[arg-type]
        "integer": isinstance(default, int)
        and not isinstance(default, bool)
        and -(2**63) <= default < 2**63,
        "categorical": isinstance(default, str),
        "boolean": isinstance(default, bool),
    }[kind]
    if ok:
        return None
    return ("default", default, f"a {kind} column needs {expected} (or null) as 'default'")


def rule_problem(fields: Mapping[str, Any]) -> Problem | None:
    """The first thing wrong with the fields of a column rule, or ``None``.

    Returns ``(key, value, fix)``; used by :class:`ColumnRule` and by contract parsing.
    """
    name = fields["name"]
    if not isinstance(name, str) or not name:
        return ("name", name, "give every column a non-empty string name")
    kind = fields["kind"]
    if kind not in KINDS:
        return ("kind", kind, f"use one of {list(KINDS)}")
    for key in ("nullable", "required"):
        if not isinstance(fields[key], bool):
            return (key, fields[key], f"set '{key}' to true or false")
    if not isinstance(fields["description"], str):
        return ("description", fields["description"], "set 'description' to a string")
    lo, hi = fields["minimum"], fields["maximum"]
    if kind in ("numeric", "integer"):
        problem = _bound_problem("minimum", lo) or _bound_problem("maximum", hi)
        if problem is not None:
            return problem
        if lo is not None and hi is not None and lo > hi:
            return ("minimum", lo, f"make 'minimum' at most 'maximum' ({hi})")
    elif lo is not None or hi is not None:
        key = "minimum" if lo is not None else "maximum"
        return (key, fields[key], f"a {kind} column has no range; set '{key}' to null")
    categories = fields["categories"]
    if categories is not None:
        if kind != "categorical":
            return ("categories", categories, f"a {kind} column has no categories; use null")
        if isinstance(categories, str) or not isinstance(categories, list | tuple):
            return ("categories", categories, "give 'categories' as a list of strings")
        bad = [c for c in categories if not isinstance(c, str)]
        if bad:
            return ("categories", bad[0], 'write every category as a string, e.g. "16"')
    return _default_problem(kind, fields["default"])


@dataclass(frozen=True)
class ColumnRule:
    """What one input column may hold.

    Parameters
    ----------
    name
        Column name.
    kind
        ``"numeric"`` (float), ``"integer"``, ``"categorical"`` (strings) or ``"boolean"``.
    nullable
        Whether null values are allowed.
    required
        Whether the column must be present. An absent optional column is read as null.
    minimum, maximum
        Inclusive numeric range (numeric and integer columns); ``None`` is unbounded.
    categories
        Allowed values of a categorical column, as strings, kept sorted (integer codes
        by value, then other text); ``None`` allows any string (what inference gives a
        column with too many distinct values).
    default
        The value IMPUTE puts in place of a bad or missing one (inferred: the median,
        or the most frequent value).
    description
        Free text for people and for the request schema.

    Raises
    ------
    DataError
        When a field is inconsistent with the kind (a range on a categorical column,
        a default of the wrong type, ``minimum > maximum``, ...).
    """

    name: str
    kind: ColumnKind
    nullable: bool
    required: bool
    minimum: float | None
    maximum: float | None
    categories: tuple[str, ...] | None
    default: float | int | str | bool | None
    description: str = ""

    def __post_init__(self) -> None:
        fields = {key: getattr(self, key) for key in _KEYS}
        problem = rule_problem(fields)
        if problem is not None:
            key, value, fix = problem
            raise DataError(f"{fields['name']}.{key}", value, fix)
        if self.categories is not None:
            ordered = tuple(sorted(set(self.categories), key=category_order))
            object.__setattr__(self, "categories", ordered)
        for key in ("minimum", "maximum"):
            bound = getattr(self, key)
            if bound is not None:
                object.__setattr__(self, key, float(bound))
        if self.kind == "numeric" and self.default is not None:
            object.__setattr__(self, "default", float(self.default))

    @property
    def is_number(self) -> bool:
        """True for numeric and integer columns."""
        return self.kind in ("numeric", "integer")

    def range_text(self) -> str:
        """The range as ``[minimum, maximum]``, with ``-inf``/``inf`` for no bound."""
        lo = "-inf" if self.minimum is None else f"{self.minimum:g}"
        hi = "inf" if self.maximum is None else f"{self.maximum:g}"
        return f"[{lo}, {hi}]"

    def expected_text(self) -> str:
        """What a value of this column should be, in words."""
        return {
            "numeric": "a number",
            "integer": "an integer",
            "categorical": "a string (category)",
            "boolean": "true or false",
        }[self.kind]

    def categories_text(self, limit: int = 8) -> str:
        """A short list of the allowed categories for messages."""
        if self.categories is None:
            return "any string"
        shown = ", ".join(repr(c) for c in self.categories[:limit])
        more = len(self.categories) - limit
        return shown + (f", ... ({more} more)" if more > 0 else "")

    def to_dict(self) -> dict[str, Any]:
        """The rule as a JSON-ready dict (every key present)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "nullable": self.nullable,
            "required": self.required,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "categories": None if self.categories is None else list(self.categories),
            "default": self.default,
            "description": self.description,
        }

    @classmethod
    def from_dict(cls, data: object, where: str = "column") -> ColumnRule:
        """Build a rule from its dict form; ``where`` prefixes the key in errors.

        Only ``name`` and ``kind`` are needed; the rest default to a non-null,
        required column with no range, no category list, no default.

        Raises
        ------
        DataError
            Naming ``<where>.<key>`` when a key is unknown, missing or invalid.
        """
        if not isinstance(data, Mapping):
            raise DataError(where, data, "write each column as an object with 'name' and 'kind'")
        unknown = sorted(str(key) for key in data if key not in _KEYS)
        if unknown:
            raise DataError(f"{where}.{unknown[0]}", data[unknown[0]], f"use only {list(_KEYS)}")
        for key in ("name", "kind"):
            if key not in data:
                raise DataError(f"{where}.{key}", fix=f"every column needs '{key}'")
        fields: dict[str, Any] = {
            "nullable": False,
            "required": True,
            "minimum": None,
            "maximum": None,
            "categories": None,
            "default": None,
            "description": "",
        }
        fields.update(data)
        problem = rule_problem(fields)
        if problem is not None:
            key, value, fix = problem
            raise DataError(f"{where}.{key}", value, fix)
        if fields["categories"] is not None:
            fields["categories"] = tuple(fields["categories"])
        return cls(**fields)
