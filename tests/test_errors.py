"""The error vocabulary: one line for the CLI, one JSON body for HTTP."""

from __future__ import annotations

import json

from steadyml.errors import ContractViolation, DataError, NotFoundError, SteadyError


def test_one_line_names_field_value_and_fix() -> None:
    err = DataError("data.target", "employed", "no such column")
    assert err.one_line() == "data error: data.target = 'employed': no such column"
    assert str(err) == err.one_line()


def test_error_without_value_omits_it() -> None:
    assert NotFoundError("candidate", fix="train first").one_line() == (
        "not found: candidate: train first"
    )


def test_json_body_is_serialisable_for_odd_values() -> None:
    err = ContractViolation("AGEP", object(), "send a number", details={"count": 3})
    body = err.to_dict()
    assert json.loads(json.dumps(body))["details"] == {"count": 3}
    assert body["error"] == "contract violation"
    assert ContractViolation.http_status == 422


def test_long_values_are_shortened() -> None:
    err = DataError("x", "a" * 500, "fix")
    assert len(err.one_line()) < 120


def test_exit_codes_differ_by_kind() -> None:
    codes = {cls.exit_code for cls in (DataError, NotFoundError, SteadyError)}
    assert len(codes) == 3
