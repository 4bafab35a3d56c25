"""Serving-time validation of JSON records: types, every kind under every action."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from steadyml.core.contract import RECORD_FIELD, ColumnRule, Contract, RecordsResult
from steadyml.core.violations import ViolationAction, ViolationKind, ViolationPolicy
from steadyml.datasets import FEATURES, load_employment

CONTRACT = Contract(
    columns=(
        ColumnRule("x", "numeric", False, True, 0.0, 10.0, None, 5.0),
        ColumnRule("n", "integer", False, True, 0.0, 100.0, None, 3),
        ColumnRule("c", "categorical", False, True, None, None, ("1", "16", "a"), "a"),
        ColumnRule("b", "boolean", False, True, None, None, None, False),
        ColumnRule("opt", "numeric", True, False, None, None, None, None),
    )
)
GOOD: dict[str, Any] = {"x": 1.5, "n": 7, "c": "a", "b": True}
ALL = {kind.value: ViolationAction.FLAG for kind in ViolationKind}


def _policy(**actions: ViolationAction) -> ViolationPolicy:
    return ViolationPolicy(**(ALL | actions))


def _one(record: object, policy: ViolationPolicy) -> RecordsResult:
    return CONTRACT.validate_records([record], policy)


def test_good_records_become_a_typed_frame() -> None:
    result = CONTRACT.validate_records([GOOD, GOOD | {"opt": 2, "x": 3}], ViolationPolicy())
    assert result.rejected == {}
    assert result.flags == [(), ()]
    assert result.accepted.dtype == np.int64
    assert result.accepted.tolist() == [0, 1]
    assert result.frame.schema == pl.Schema(CONTRACT.polars_schema())
    assert result.frame.to_dicts() == [
        {"x": 1.5, "n": 7, "c": "a", "b": True, "opt": None},
        {"x": 3.0, "n": 7, "c": "a", "b": True, "opt": 2.0},
    ]


@pytest.mark.parametrize(
    ("field", "value", "stored"),
    [
        ("x", 3, 3.0),  # an int is a number
        ("n", 4.0, 4),  # an integral float is an integer
        ("c", 16, "16"),  # integer codes are read as strings
        ("opt", None, None),  # nullable
    ],
)
def test_lenient_but_exact_type_rules(field: str, value: object, stored: object) -> None:
    result = _one(GOOD | {field: value}, ViolationPolicy.strict())
    assert result.rejected == {}
    assert result.frame[field].to_list() == [stored]


@pytest.mark.parametrize(
    ("field", "value", "kind"),
    [
        ("x", "1.5", ViolationKind.WRONG_TYPE),  # numeric strings are not numbers
        ("x", True, ViolationKind.WRONG_TYPE),  # nor are booleans
        ("x", [1.0], ViolationKind.WRONG_TYPE),
        ("x", None, ViolationKind.NULL),
        ("x", math.nan, ViolationKind.NOT_FINITE),
        ("x", -math.inf, ViolationKind.NOT_FINITE),
        ("x", 10**400, ViolationKind.NOT_FINITE),  # overflows a float
        ("x", 10.5, ViolationKind.OUT_OF_RANGE),
        ("n", 2.5, ViolationKind.WRONG_TYPE),
        ("n", False, ViolationKind.WRONG_TYPE),
        ("n", math.nan, ViolationKind.NOT_FINITE),
        ("n", 101, ViolationKind.OUT_OF_RANGE),
        ("n", 2**70, ViolationKind.OUT_OF_RANGE),  # beyond int64
        ("c", "z", ViolationKind.UNSEEN_CATEGORY),
        ("c", 17, ViolationKind.UNSEEN_CATEGORY),
        ("c", 1.0, ViolationKind.WRONG_TYPE),
        ("c", {"a": 1}, ViolationKind.WRONG_TYPE),
        ("b", 1, ViolationKind.WRONG_TYPE),
        ("b", "true", ViolationKind.WRONG_TYPE),
    ],
)
def test_each_bad_value_is_named(field: str, value: object, kind: ViolationKind) -> None:
    result = _one(GOOD | {field: value}, ViolationPolicy.strict())
    (violation,) = result.rejected[0]
    assert (violation.field, violation.kind) == (field, kind)
    assert violation.value is value
    assert violation.message.startswith(f"{field} = ")
    assert result.frame.height == 0


@pytest.mark.parametrize(
    ("change", "kind"),
    [
        ({"x": None}, ViolationKind.NULL),
        ({"x": math.nan}, ViolationKind.NOT_FINITE),
        ({"x": 50.0}, ViolationKind.OUT_OF_RANGE),
        ({"x": "abc"}, ViolationKind.WRONG_TYPE),
        ({"n": 1000}, ViolationKind.OUT_OF_RANGE),
        ({"c": "zz"}, ViolationKind.UNSEEN_CATEGORY),
        ({"b": None}, ViolationKind.NULL),
        ({"extra": 1}, ViolationKind.UNKNOWN_COLUMN),
        ("drop x", ViolationKind.MISSING),
    ],
)
@pytest.mark.parametrize("action", list(ViolationAction))
def test_every_kind_under_every_action(
    change: dict[str, Any] | str, kind: ViolationKind, action: ViolationAction
) -> None:
    record = dict(GOOD)
    if change == "drop x":
        del record["x"]
    else:
        assert isinstance(change, dict)
        record |= change
    result = CONTRACT.validate_records([GOOD, record], _policy(**{kind.value: action}))
    if action is ViolationAction.REJECT:
        assert result.accepted.tolist() == [0]
        assert [v.kind for v in result.rejected[1]] == [kind]
        assert result.flags == [()]
        return
    assert result.rejected == {}
    assert result.accepted.tolist() == [0, 1]
    (flag,) = result.flags[1]
    assert flag.kind is kind
    row = result.frame.row(1, named=True)
    assert "extra" not in row
    if action is ViolationAction.IMPUTE and kind is not ViolationKind.UNKNOWN_COLUMN:
        column = flag.field
        assert row[column] == CONTRACT.column(column).default
        assert "imputed" in flag.message


def test_flagged_values_the_dtype_cannot_hold_become_null() -> None:
    result = CONTRACT.validate_records(
        [GOOD | {"x": "abc"}, GOOD | {"x": math.inf}, GOOD | {"n": math.nan}, GOOD | {"x": 99}],
        _policy(),
    )
    assert result.frame["x"].to_list()[:2] == [None, math.inf]
    assert result.frame["n"].to_list()[2] is None
    assert result.frame["x"].to_list()[3] == 99.0  # flagged but representable: kept
    small = CONTRACT.validate_records([GOOD | {"x": math.nan}], _policy())
    assert math.isnan(small.frame["x"][0])


def test_nan_survives_in_a_large_batch_too() -> None:
    records = [GOOD | {"x": math.nan}] + [GOOD] * 40
    result = CONTRACT.validate_records(records, _policy())
    assert math.isnan(result.frame["x"][0])
    assert result.frame["x"].null_count() == 0


def test_impute_without_a_default_rejects() -> None:
    contract = Contract(columns=(ColumnRule("x", "numeric", False, True, None, None, None, None),))
    result = contract.validate_records([{}], _policy(missing=ViolationAction.IMPUTE))
    assert list(result.rejected) == [0]
    assert "no default" in result.rejected[0][0].message


def test_non_object_records_are_rejected_whatever_the_policy() -> None:
    records: list[object] = [GOOD, 3, "x", None, [GOOD], GOOD]
    result = CONTRACT.validate_records(records, _policy())
    assert result.accepted.tolist() == [0, 5]
    assert sorted(result.rejected) == [1, 2, 3, 4]
    for violations in result.rejected.values():
        (violation,) = violations
        assert violation.field == RECORD_FIELD
        assert "JSON object" in violation.message


def test_unknown_key_suggests_the_close_name() -> None:
    result = _one({"xx": 1, "n": 1, "c": "a", "b": True}, ViolationPolicy())
    kinds = {v.field: v for v in result.rejected[0]}
    assert kinds["x"].kind is ViolationKind.MISSING
    assert "did you mean 'x'" in kinds["xx"].message


def test_rejected_records_list_every_violation() -> None:
    record = {"x": "a", "n": None, "c": "q", "b": 1, "zzz": 0}
    result = _one(record, ViolationPolicy())
    fields = sorted(v.field for v in result.rejected[0])
    assert fields == ["b", "c", "n", "x", "zzz"]
    json.dumps([v.to_dict() for v in result.rejected[0]])


def test_empty_batch_gives_an_empty_typed_frame() -> None:
    result = CONTRACT.validate_records([], ViolationPolicy())
    assert result.frame.height == 0
    assert result.frame.columns == list(CONTRACT.names)
    assert result.accepted.tolist() == []


def test_one_record_instead_of_a_batch_is_read_as_a_batch_of_one() -> None:
    result = CONTRACT.validate_records(GOOD, ViolationPolicy())  # type: ignore[arg-type]
    assert result.accepted.tolist() == [0]


def test_census_records_match_the_frame_path() -> None:
    data = load_employment()
    contract = Contract.infer(data.reference, FEATURES)
    sample = data.analysis.select(FEATURES).head(200)
    result = contract.validate_records(sample.to_dicts(), ViolationPolicy.strict())
    assert result.rejected == {}
    assert result.frame.equals(sample)
    assert contract.validate_frame(sample).ok


# -- never crashes on arbitrary JSON -------------------------------------------------------

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from(["a", "16", "1"]),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)
FIELD = st.sampled_from(["x", "n", "c", "b", "opt", "xx", ""])
RECORD = st.dictionaries(FIELD, JSON, max_size=6) | JSON


@settings(max_examples=300, deadline=None)
@given(
    records=st.lists(RECORD, max_size=40),
    actions=st.lists(st.sampled_from(ViolationAction), min_size=7, max_size=7),
)
def test_validation_never_crashes_and_names_a_real_field(
    records: list[object], actions: list[ViolationAction]
) -> None:
    policy = ViolationPolicy(**dict(zip([k.value for k in ViolationKind], actions, strict=True)))
    result = CONTRACT.validate_records(records, policy)
    n = len(records)
    assert sorted([*result.accepted.tolist(), *result.rejected]) == list(range(n))
    assert result.frame.height == len(result.accepted) == len(result.flags)
    assert result.frame.schema == pl.Schema(CONTRACT.polars_schema())
    flagged = zip(result.accepted.tolist(), result.flags, strict=True)
    for i, violations in [*result.rejected.items(), *flagged]:
        record = records[i]
        keys = {str(k) for k in record} if isinstance(record, dict) else set()
        for violation in violations:
            assert violation.field in set(CONTRACT.names) | keys | {RECORD_FIELD}
            assert violation.message
        assert all(isinstance(v.kind, ViolationKind) for v in violations)
    json.dumps([v.to_dict() for vs in result.rejected.values() for v in vs])
