"""The bundled census data: 2015 against each later year must not page.

No feature's PSI exceeds 0.014 between 2015 and 2016-2018; p-value tools flag 8 to 13
of the 16 features as drifted. steadyml must give no ``drift`` status at all.
"""

from __future__ import annotations

import polars as pl
import pytest

from steadyml.core.drift import Status, compare
from steadyml.core.profiles import Profile
from steadyml.datasets import CATEGORICAL_FEATURES, FEATURES, load_employment

DATA = load_employment()
REFERENCE = Profile.for_reference(DATA.reference, FEATURES, seed=0).view()


@pytest.mark.parametrize("year", [2016, 2017, 2018])
def test_census_years_do_not_drift(year: int) -> None:
    current = (
        REFERENCE.new_profile(seed=1).update(DATA.analysis.filter(pl.col("year") == year)).view()
    )
    result = compare(REFERENCE, current)
    assert len(result.features) == 16
    assert result.with_status(Status.DRIFT, Status.SCHEMA_MISMATCH, Status.INSUFFICIENT_DATA) == []
    # at most the one feature whose frequencies really moved ~4 points (ancestry) warns
    assert set(result.with_status(Status.WARN)) <= {"ANC"}
    assert all(
        r.kind == "categorical" for r in result.features if r.feature in CATEGORICAL_FEATURES
    )
    assert max(r.statistics["psi"] or 0.0 for r in result.features if r.feature != "AGEP") < 0.02


def test_top_coding_of_age_is_explained_not_paged() -> None:
    current = (
        REFERENCE.new_profile(seed=1).update(DATA.analysis.filter(pl.col("year") == 2018)).view()
    )
    age = compare(REFERENCE, current)["AGEP"]
    assert age.status is Status.OK
    assert any("outside the reference range" in note for note in age.notes)  # 95 appears in 2017
