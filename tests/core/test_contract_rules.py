"""Column rules, contract JSON round trip, hand-edit errors and compatibility."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from steadyml.core.contract import ColumnRule, Contract
from steadyml.errors import DataError


def _rule(name: str = "x", **changes: Any) -> ColumnRule:
    base = ColumnRule(
        name=name,
        kind="numeric",
        nullable=False,
        required=True,
        minimum=0.0,
        maximum=10.0,
        categories=None,
        default=5.0,
    )
    return replace(base, **changes)


def _cat(name: str = "c", categories: tuple[str, ...] | None = ("a", "b")) -> ColumnRule:
    return ColumnRule(name, "categorical", False, True, None, None, categories, "a")


CONTRACT = Contract(
    columns=(
        _rule("age", description="age in years"),
        _cat("sex", ("2", "1")),
        ColumnRule("n", "integer", True, False, -3.0, 7.5, None, 2),
        ColumnRule("flag", "boolean", False, True, None, None, None, True),
    )
)


def test_categories_are_kept_sorted_and_unique() -> None:
    assert _cat(categories=("b", "a", "b")).categories == ("a", "b")
    codes = ("10", "2", "x", "02", "1", "A")
    assert _cat(categories=codes).categories == ("1", "02", "2", "10", "A", "x")


def test_json_round_trip_is_exact() -> None:
    text = CONTRACT.to_json()
    back = Contract.from_json(text)
    assert back == CONTRACT
    assert back.to_json() == text
    assert json.loads(text)["columns"][0]["description"] == "age in years"


@given(
    lo=st.floats(-1e9, 1e9),
    width=st.floats(0, 1e9),
    nullable=st.booleans(),
    required=st.booleans(),
    categories=st.lists(st.text(max_size=5), max_size=5),
)
def test_round_trip_property(
    lo: float, width: float, nullable: bool, required: bool, categories: list[str]
) -> None:
    contract = Contract(
        columns=(
            ColumnRule("x", "numeric", nullable, required, lo, lo + width, None, lo),
            ColumnRule("c", "categorical", nullable, required, None, None, tuple(categories), None),
        )
    )
    assert Contract.from_json(contract.to_json()) == contract
    assert Contract.from_dict(contract.to_dict()) == contract


def test_a_minimal_hand_written_contract_gets_defaults() -> None:
    contract = Contract.from_dict({"columns": [{"name": "x", "kind": "numeric"}]})
    rule = contract.column("x")
    assert (rule.required, rule.nullable, rule.minimum, rule.default) == (True, False, None, None)
    assert contract.version == 1


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda d: d.update(colums=[]), "colums"),
        (lambda d: d.update(columns=[]), "columns"),
        (lambda d: d["columns"][0].update(minumum=1), "columns[0].minumum"),
        (lambda d: d["columns"][0].pop("kind"), "columns[0].kind"),
        (lambda d: d["columns"][0].update(kind="float"), "columns[0].kind"),
        (lambda d: d["columns"][0].update(minimum="low"), "columns[0].minimum"),
        (lambda d: d["columns"][0].update(minimum=50.0), "columns[0].minimum"),
        (lambda d: d["columns"][0].update(nullable="yes"), "columns[0].nullable"),
        (lambda d: d["columns"][0].update(default="five"), "columns[0].default"),
        (lambda d: d["columns"][1].update(categories=[1, 2]), "columns[1].categories"),
        (lambda d: d["columns"][1].update(categories="ab"), "columns[1].categories"),
        (lambda d: d["columns"][1].update(minimum=0), "columns[1].minimum"),
        (lambda d: d["columns"][0].update(categories=["a"]), "columns[0].categories"),
        (lambda d: d["columns"][2].update(default=1.5), "columns[2].default"),
        (lambda d: d["columns"][2].update(default=2**70), "columns[2].default"),
        (lambda d: d["columns"][3].update(default=1), "columns[3].default"),
        (lambda d: d["columns"].append(d["columns"][0]), "columns[4].name"),
        (lambda d: d["columns"].append(7), "columns[4]"),
        (lambda d: d.update(version=0), "version"),
    ],
)
def test_a_wrong_edit_names_the_key(edit: Any, field: str) -> None:
    data = CONTRACT.to_dict()
    edit(data)
    with pytest.raises(DataError) as caught:
        Contract.from_dict(data)
    assert caught.value.field == field
    assert caught.value.fix


@pytest.mark.parametrize("text", ["{", "[1, 2]", '{"columns": 3}', "", b"\xff\xfe"])
def test_malformed_json_is_a_data_error(text: str | bytes) -> None:
    with pytest.raises(DataError) as caught:
        Contract.from_json(text)
    assert caught.value.field in ("contract", "columns")


def test_direct_construction_is_checked() -> None:
    with pytest.raises(DataError, match=r"x\.minimum"):
        _rule(minimum=11.0)
    with pytest.raises(DataError, match="default"):
        ColumnRule("c", "categorical", False, True, None, None, ("a",), 3)
    with pytest.raises(DataError, match="columns"):
        Contract(columns=())
    with pytest.raises(DataError, match=r"columns\[1\]\.name"):
        Contract(columns=(_rule(), _rule()))


# -- compatibility ------------------------------------------------------------------------


def _old() -> Contract:
    return Contract(columns=(_rule("x"), _cat("c"), _rule("opt", required=False, nullable=True)))


@pytest.mark.parametrize(
    "newer",
    [
        Contract(columns=(_rule("x", minimum=-5.0, maximum=20.0), _cat("c"), _rule("opt"))),
        Contract(columns=(_rule("x"), _cat("c", ("a", "b", "z")), _rule("opt"))),
        Contract(columns=(_rule("x"), _cat("c", None), _rule("opt"))),
        Contract(columns=(_rule("x"), _cat("c"), _rule("opt"), _rule("new", required=False))),
        Contract(columns=(_rule("x", nullable=True), _cat("c"), _rule("opt"))),
        Contract(columns=(_rule("x", minimum=None), _cat("c"), _rule("opt"))),
    ],
)
def test_compatible_changes_report_nothing(newer: Contract) -> None:
    old = Contract(columns=(_rule("x"), _cat("c"), _rule("opt")))
    assert old.compare(newer) == []


@pytest.mark.parametrize(
    ("newer", "words"),
    [
        (Contract(columns=(_rule("x"), _cat("c"))), ["'opt'", "removed"]),
        (Contract(columns=(_rule("x"), _cat("c"), _rule("opt"), _rule("new"))), ["'new'", "added"]),
        (
            Contract(
                columns=(
                    ColumnRule("x", "integer", False, True, 0.0, 10.0, None, 5),
                    _cat("c"),
                    _rule("opt", required=False, nullable=True),
                )
            ),
            ["kind changed", "numeric", "integer"],
        ),
        (
            Contract(
                columns=(_rule("x"), _cat("c", ("a",)), _rule("opt", required=False, nullable=True))
            ),
            ["'c'", "categories removed", "'b'"],
        ),
        (
            Contract(
                columns=(
                    _rule("x", maximum=9.0),
                    _cat("c"),
                    _rule("opt", required=False, nullable=True),
                )
            ),
            ["'x'", "narrowed"],
        ),
        (Contract(columns=(_rule("x"), _cat("c"), _rule("opt"))), ["required", "null"]),
    ],
)
def test_incompatible_changes_are_named(newer: Contract, words: list[str]) -> None:
    problems = _old().compare(newer)
    assert problems
    text = " ".join(problems)
    for word in words:
        assert word in text


def test_restricting_free_categories_is_incompatible() -> None:
    old = Contract(columns=(_cat("c", None),))
    assert "now only 2 categories" in old.compare(Contract(columns=(_cat("c"),)))[0]


def test_a_contract_is_compatible_with_itself() -> None:
    assert CONTRACT.compare(CONTRACT) == []
