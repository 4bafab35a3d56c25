"""The data contract: infer it from training data, validate frames and requests with it.

One :class:`Contract` validates (a) a whole DataFrame for training and CI, vectorized,
with counts and examples per violation, and (b) JSON records at serving time, applying
the per-violation policy of the spec. It also generates the request JSON Schema and a
pydantic model for OpenAPI, and tells whether a newer contract is compatible.
"""

from steadyml.core.contract.contract import Contract
from steadyml.core.contract.frame_check import FrameReport, Violation
from steadyml.core.contract.records import RECORD_FIELD, FieldViolation, RecordsResult
from steadyml.core.contract.rules import ColumnKind, ColumnRule

__all__ = [
    "RECORD_FIELD",
    "ColumnKind",
    "ColumnRule",
    "Contract",
    "FieldViolation",
    "FrameReport",
    "RecordsResult",
    "Violation",
]
