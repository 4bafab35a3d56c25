"""Contract violations: their kinds, and what to do with a record that has one."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

__all__ = ["ViolationAction", "ViolationKind", "ViolationPolicy"]


class ViolationKind(StrEnum):
    """Every way a record can break the data contract."""

    MISSING = "missing"  # a required column is absent
    UNKNOWN_COLUMN = "unknown_column"  # a column the contract does not know
    WRONG_TYPE = "wrong_type"  # a value of the wrong type (a string for a number, ...)
    NULL = "null"  # null where the contract does not allow it
    NOT_FINITE = "not_finite"  # NaN or +/-inf in a numeric column
    OUT_OF_RANGE = "out_of_range"  # a number outside the contract's range
    UNSEEN_CATEGORY = "unseen_category"  # a category the contract does not list


class ViolationAction(StrEnum):
    """What to do with a record that breaks one contract rule."""

    REJECT = "reject"  # refuse the record (4xx at serving; the training data gate fails)
    FLAG = "flag"  # accept and predict, mark the record in the log
    IMPUTE = "impute"  # replace the value by the contract's default, then flag


class ViolationPolicy(BaseModel):
    """Per-violation action at serving time; training always rejects."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    missing: ViolationAction = ViolationAction.REJECT
    unknown_column: ViolationAction = ViolationAction.FLAG
    wrong_type: ViolationAction = ViolationAction.REJECT
    null: ViolationAction = ViolationAction.REJECT
    not_finite: ViolationAction = ViolationAction.REJECT
    out_of_range: ViolationAction = ViolationAction.FLAG
    unseen_category: ViolationAction = ViolationAction.FLAG

    def action(self, kind: ViolationKind) -> ViolationAction:
        """The action for one kind of violation."""
        action: ViolationAction = getattr(self, kind.value)
        return action

    @classmethod
    def strict(cls) -> ViolationPolicy:
        """Reject every violation (what training and CI data gates use)."""
        return cls(**{kind.value: ViolationAction.REJECT for kind in ViolationKind})
