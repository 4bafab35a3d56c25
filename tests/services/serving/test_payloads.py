"""Request shapes of /predict: records, lists, envelopes, ids and event times."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from steadyml.errors import DataError
from steadyml.services.serving.payloads import decode_json, event_micros, parse_predict

COLUMNS = frozenset({"AGEP", "SEX"})


def micros(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def test_one_record_a_list_and_an_envelope() -> None:
    one = parse_predict({"AGEP": 1}, columns=COLUMNS)
    assert one.records == [{"AGEP": 1}] and one.request_ids is None and one.event_us is None
    many = parse_predict([{"AGEP": 1}, {"AGEP": 2}], columns=COLUMNS, header_id="h")
    assert many.request_ids == ["h-0", "h-1"]
    envelope = parse_predict(
        {"records": {"AGEP": 1}, "request_id": "e", "event_time": 0}, columns=COLUMNS
    )
    assert envelope.records == [{"AGEP": 1}] and envelope.request_ids == ["e"]
    assert envelope.event_us == [0]


def test_a_column_named_records_is_a_record_not_an_envelope() -> None:
    payload = parse_predict({"records": 3}, columns=frozenset({"records"}))
    assert payload.records == [{"records": 3}]


def test_envelope_keys_win_over_headers() -> None:
    payload = parse_predict(
        {"records": [{}], "request_id": "body", "event_time": "2016-06-01T00:00:00+02:00"},
        columns=COLUMNS,
        header_id="header",
        header_time="2020-01-01T00:00:00Z",
    )
    assert payload.request_ids == ["body"]
    assert payload.event_us == [micros(datetime(2016, 5, 31, 22, tzinfo=UTC))]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2016-06-01T12:00:00Z", datetime(2016, 6, 1, 12, tzinfo=UTC)),
        ("2016-06-01T12:00:00", datetime(2016, 6, 1, 12, tzinfo=UTC)),
        ("2016-06-01", datetime(2016, 6, 1, tzinfo=UTC)),
        (1464782400, datetime(2016, 6, 1, 12, tzinfo=UTC)),
        (1464782400.25, datetime(2016, 6, 1, 12, 0, 0, 250000, tzinfo=UTC)),
    ],
)
def test_event_times(value: object, expected: datetime) -> None:
    assert event_micros(value, "event_time") == micros(expected)


@pytest.mark.parametrize(
    "value", [True, -1, float("inf"), 1e300, "soon", "1969-12-31T23:59:59Z", None, "x" * 100]
)
def test_bad_event_times_name_the_field(value: object) -> None:
    with pytest.raises(DataError) as caught:
        event_micros(value, "event_time[3]")
    assert caught.value.field == "event_time[3]"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (5, "body"),
        (None, "body"),
        ([], "records"),
        ({"records": []}, "records"),
        ({"records": [{}], "oops": 1}, "oops"),
        ({"records": [{}, {}], "request_id": ["only-one"]}, "request_id"),
        ({"records": [{}], "request_id": [""]}, "request_id[0]"),
        ({"records": [{}], "request_id": "x" * 201}, "request_id"),
        ({"records": [{}, {}], "event_time": [0]}, "event_time"),
        ({"records": [{}], "event_time": ["nope"]}, "event_time[0]"),
    ],
)
def test_shape_errors_are_data_errors_naming_the_key(data: object, field: str) -> None:
    with pytest.raises(DataError) as caught:
        parse_predict(data, columns=COLUMNS)
    assert caught.value.field == field
    assert caught.value.http_status == 400


@pytest.mark.parametrize("raw", [b"", b"   ", b"{", b"[1,]", b"NaN", b"\xff"])
def test_undecodable_bodies(raw: bytes) -> None:
    with pytest.raises(DataError) as caught:
        decode_json(raw)
    assert caught.value.field == "body"
