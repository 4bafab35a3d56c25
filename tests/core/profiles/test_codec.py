"""Profile views to and from dicts and bytes; bad input is a DataError, never a crash."""

from __future__ import annotations

import contextlib
import copy
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from steadyml.core.profiles import Profile, ProfileView
from steadyml.core.profiles.codec import MAGIC
from steadyml.errors import DataError

VIEW = Profile.for_reference(
    {"x": np.random.default_rng(0).normal(size=2_000), "c": ["a", "b", None, "d"] * 500},
    sample_size=50,
    seed=0,
).view()


def test_round_trips_are_exact() -> None:
    raw = VIEW.to_dict()
    assert raw["format"] == "steadyml.profile"
    assert raw["version"] == 1
    assert ProfileView.from_dict(raw) == VIEW
    blob = VIEW.to_bytes()
    assert blob.startswith(MAGIC)
    assert ProfileView.from_bytes(blob) == VIEW
    assert ProfileView.from_bytes(bytearray(blob)) == VIEW


def _broken(path: list[str | int], value: object) -> dict[str, Any]:
    raw = copy.deepcopy(VIEW.to_dict())
    target: Any = raw
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return raw


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (["format"], "other", "profile.format"),
        (["version"], 99, "profile.version"),
        (["schema"], KeyError, "profile"),
        (["columns", "x", "kll"], "!!notbase64", "profile"),
        (["columns", "x", "kll"], "AAAA", "profile"),
        (["columns", "x", "histogram"], [1, 2], "profile"),
        (["columns", "c", "counts"], "abc", "profile"),
        (["sample", "keys"], [0.5], "profile"),
        (["settings", "sketch_k"], 1, "sketch_k"),
        (["rows"], 1, "profile.rows"),
        (["rows"], "many", "profile"),
    ],
)
def test_broken_dicts_raise_data_error(path: list[str | int], value: object, field: str) -> None:
    with pytest.raises(DataError) as caught:
        ProfileView.from_dict(_broken(path, value))
    assert caught.value.field == field


def test_broken_bytes_raise_data_error() -> None:
    with pytest.raises(DataError, match="not a steadyml profile"):
        ProfileView.from_bytes(b"PK\x03\x04 not a profile")
    with pytest.raises(DataError, match="corrupt"):
        ProfileView.from_bytes(MAGIC + b"\x00\x01garbage")
    with pytest.raises(DataError, match="bytes"):
        ProfileView.from_bytes("text")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="not a steadyml profile"):
        ProfileView.from_dict([1, 2])


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(_json)
def test_arbitrary_json_never_crashes(raw: object) -> None:
    with contextlib.suppress(DataError):
        ProfileView.from_dict(raw)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["schema", "settings", "columns", "sample", "rows"]), _json)
def test_arbitrary_values_in_a_real_profile_never_crash(key: str, value: object) -> None:
    raw = copy.deepcopy(VIEW.to_dict())
    raw[key] = value
    with contextlib.suppress(DataError):
        ProfileView.from_dict(raw)
