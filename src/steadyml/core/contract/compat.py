"""Is a newer contract compatible with the clients of an older one?

A change is incompatible when a request that satisfied the older contract could break
the newer one: a column removed or made required, a kind changed, null no longer
allowed, a range narrowed, categories removed. Widening a range, adding an optional
column, allowing null or adding a category are compatible.
"""

from __future__ import annotations

from collections.abc import Sequence

from steadyml.core.contract.rules import ColumnRule

__all__ = ["incompatibilities"]


def _narrowed(old: ColumnRule, new: ColumnRule) -> list[str]:
    found: list[str] = []
    lower = new.minimum is not None and (old.minimum is None or new.minimum > old.minimum)
    upper = new.maximum is not None and (old.maximum is None or new.maximum < old.maximum)
    if lower or upper:
        found.append(
            f"column {old.name!r}: range narrowed from {old.range_text()} to "
            f"{new.range_text()}; values valid before are now out of range"
        )
    return found


def _categories(old: ColumnRule, new: ColumnRule) -> list[str]:
    if new.categories is None:
        return []
    if old.categories is None:
        return [
            f"column {old.name!r}: any string was allowed, now only "
            f"{len(new.categories)} categories are"
        ]
    removed = sorted(set(old.categories) - set(new.categories))
    if not removed:
        return []
    shown = ", ".join(repr(c) for c in removed[:8]) + (", ..." if len(removed) > 8 else "")
    return [
        f"column {old.name!r}: {len(removed)} categories removed ({shown}); "
        "requests with them now break the contract"
    ]


def _column(old: ColumnRule, new: ColumnRule) -> list[str]:
    if old.kind != new.kind:
        return [f"column {old.name!r}: kind changed from {old.kind} to {new.kind}"]
    found: list[str] = []
    if new.required and not old.required:
        found.append(f"column {old.name!r}: became required; requests without it now fail")
    if old.nullable and not new.nullable:
        found.append(f"column {old.name!r}: null is no longer allowed")
    return found + _narrowed(old, new) + _categories(old, new)


def incompatibilities(older: Sequence[ColumnRule], newer: Sequence[ColumnRule]) -> list[str]:
    """Human-readable reasons why ``newer`` may refuse requests valid under ``older``.

    An empty list means every request valid under ``older`` is valid under ``newer``.
    """
    new_by_name = {rule.name: rule for rule in newer}
    old_names = {rule.name for rule in older}
    found: list[str] = []
    for old in older:
        new = new_by_name.get(old.name)
        if new is None:
            found.append(
                f"column {old.name!r} was removed; requests that send it now carry an "
                "unknown column"
            )
        else:
            found += _column(old, new)
    for new in newer:
        if new.name not in old_names and new.required:
            found.append(
                f"required column {new.name!r} was added; requests without it now fail "
                "(make it optional, or update every client first)"
            )
    return found
