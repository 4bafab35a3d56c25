"""Hypothesis properties of profile views: merge algebra and serialisation round-trips."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from steadyml.core.profiles import Profile, ProfileView
from tests.core.profiles.helpers import assert_same_up_to_sketches, exact_fields

_BASE = pl.DataFrame(
    {
        "x": np.random.default_rng(0).normal(size=500),
        "c": np.random.default_rng(1).choice(["a", "b", "c"], size=500),
    }
)
REFERENCE = Profile.for_reference(_BASE, bins=8, sample_size=64, seed=0).view()

_numbers = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.floats(min_value=-3, max_value=3),
)
_chunks = st.lists(
    st.tuples(_numbers, st.one_of(st.none(), st.sampled_from(["a", "b", "c", "new", ""]))),
    min_size=0,
    max_size=120,
)


def _view(rows: list[tuple[float | None, str | None]], seed: int) -> ProfileView:
    frame = pl.DataFrame(
        {"x": [r[0] for r in rows], "c": [r[1] for r in rows]},
        schema={"x": pl.Float64, "c": pl.String},
    )
    return REFERENCE.new_profile(seed=seed).update(frame).view()


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(_chunks, _chunks, _chunks)
def test_merge_is_associative(
    a: list[tuple[float | None, str | None]],
    b: list[tuple[float | None, str | None]],
    c: list[tuple[float | None, str | None]],
) -> None:
    va, vb, vc = _view(a, 1), _view(b, 2), _view(c, 3)
    left = va.merge(vb).merge(vc)
    right = va.merge(vb.merge(vc))
    assert_same_up_to_sketches(left, right)
    assert exact_fields(left, sample=True) == exact_fields(right, sample=True)


@SETTINGS
@given(_chunks, _chunks)
def test_merge_is_commutative(
    a: list[tuple[float | None, str | None]], b: list[tuple[float | None, str | None]]
) -> None:
    va, vb = _view(a, 1), _view(b, 2)
    assert_same_up_to_sketches(va.merge(vb), vb.merge(va))
    assert exact_fields(va.merge(vb), sample=True) == exact_fields(vb.merge(va), sample=True)


@SETTINGS
@given(_chunks, _chunks)
@example(  # values far from zero: m2 differs by rounding well beyond 1e-9 relative
    [(3002399751580331.0, None)], [(3002399751580331.0, None), (3002399751579702.0, None)]
)
def test_profile_of_union_equals_merge_of_profiles(
    a: list[tuple[float | None, str | None]], b: list[tuple[float | None, str | None]]
) -> None:
    whole = _view(a + b, 7)
    merged = _view(a, 1).merge(_view(b, 2))
    # exact fields exactly; moments within rounding; sketches within their rank error;
    # the samples are different random draws, so only their sizes must agree
    assert_same_up_to_sketches(whole, merged)
    assert len(whole.sample) == len(merged.sample) == min(64, len(a) + len(b))


@SETTINGS
@given(_chunks)
def test_serialisation_round_trips(rows: list[tuple[float | None, str | None]]) -> None:
    view = _view(rows, 4)
    assert ProfileView.from_bytes(view.to_bytes()) == view
    assert ProfileView.from_dict(view.to_dict()) == view
    assert ProfileView.from_bytes(view.to_bytes()).to_bytes() == view.to_bytes()


def test_union_property_holds_for_sketches_in_estimation_mode() -> None:
    rng = np.random.default_rng(9)
    parts = [
        pl.DataFrame({"x": rng.normal(size=20_000), "c": rng.choice(["a", "b"], size=20_000)})
        for _ in range(3)
    ]
    whole = REFERENCE.new_profile(seed=1).update(pl.concat(parts)).view()
    merged = _view([], 0)
    for seed, part in enumerate(parts):
        merged = merged.merge(REFERENCE.new_profile(seed=seed + 10).update(part).view())
    assert whole.numeric("x").rank_error > 0  # the sketches are approximate here
    assert_same_up_to_sketches(whole, merged)
