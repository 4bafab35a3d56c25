"""Names, durations and the frozen base model every spec section builds on."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
)

from steadyml.core.durations import parse_duration

__all__ = ["NAME", "Duration", "Frozen", "Task"]


#: What a service, model or sink name may look like.
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")


def _duration_text(value: object) -> object:
    """Refuse a bare number with the fix (a duration needs its unit)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(f"{value!r} has no unit; write a duration like '500ms', '30s', '5m', '1h'")
    return value


def _duration(value: str) -> str:
    parse_duration(value)
    return value


#: A positive duration written with its unit: ``500ms``, ``30s``, ``5m``, ``1h``, ``7d``.
Duration = Annotated[str, BeforeValidator(_duration_text), AfterValidator(_duration)]


class Frozen(BaseModel):
    """Base of every spec section: immutable once parsed, unknown keys refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)


class Task(StrEnum):
    """What the model predicts."""

    BINARY = "binary_classification"
    MULTICLASS = "multiclass_classification"
    REGRESSION = "regression"

    @property
    def is_classification(self) -> bool:
        """True for binary and multiclass classification."""
        return self is not Task.REGRESSION
