"""Batches read ahead in a helper thread: same order, errors raised, the helper stops."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import numpy as np
import polars as pl
import pytest

from steadyml.core.profiles import Profile, profile_batches
from steadyml.core.profiles.batches import read_ahead
from tests.core.profiles.helpers import assert_same_up_to_sketches


def _helpers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "steadyml-read-ahead"]


def test_every_item_arrives_in_order() -> None:
    assert list(read_ahead(iter(range(50)), depth=2)) == list(range(50))
    assert list(read_ahead(iter([]))) == []


def test_an_error_in_the_source_is_raised_after_the_items_before_it() -> None:
    def source() -> Iterator[int]:
        yield 1
        yield 2
        raise OSError("disk gone")

    reader = read_ahead(source())
    assert [next(reader), next(reader)] == [1, 2]
    with pytest.raises(OSError, match="disk gone"):
        next(reader)
    assert not _helpers()


def test_stopping_early_stops_the_helper() -> None:
    produced = []

    def source() -> Iterator[int]:
        for i in range(1_000):
            produced.append(i)
            yield i

    reader = read_ahead(source(), depth=2)
    assert next(reader) == 0
    reader.close()
    deadline = time.monotonic() + 5
    while _helpers() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not _helpers()
    assert len(produced) <= 5  # at most the read-ahead depth past what was consumed


def test_profile_of_batches_read_ahead_equals_the_whole() -> None:
    rng = np.random.default_rng(0)
    frame = pl.DataFrame({"x": rng.normal(size=40_000), "c": rng.choice(["a", "b"], 40_000)})
    reference = Profile.for_reference(frame.head(10_000), seed=1).view()
    batches = frame.to_arrow().to_batches(max_chunksize=3_000)
    chunked = profile_batches(iter(batches), reference, seed=2)
    whole = reference.new_profile(seed=2).update(frame).view()
    assert_same_up_to_sketches(chunked, whole)
