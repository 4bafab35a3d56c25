"""Business outcomes of replayed requests: from a column of the data, or a targeting model.

A scenario's ``outcome:`` section (``docs/simulation.md``) says where the value of each
answered request's outcome comes from:

* ``column``: the replayed rows carry it (revenue, a conversion flag, ...); it does not
  depend on the service's answer;
* the ``targeting`` model, for data without an outcome (the census data): the answer
  drives a decision — an offer when the model answered at or above ``threshold`` (a
  fallback answer makes no offer: the model gave no score to act on) — and an offer to a
  person whose label is positive converts with probability ``acceptance``. The value is
  1 or 0. A version answering NaN (fallback, no offer) or with inverted scores (offers
  to the wrong people) lowers the KPI, as it would a real campaign.

Requests the service did not answer (refused, or no response) have no outcome (NaN).
Every function is vectorised over a tick's rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl
from numpy.typing import NDArray

from steadyml.services.simulation.scenario import OutcomeSection, ScenarioError

__all__ = ["Answers", "check_outcome_column", "outcome_values", "targeting_outcomes"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class Answers:
    """The service's answer to each request of a tick, in request order.

    Attributes
    ----------
    prediction
        The answered prediction (the fallback's value for a fallback answer); NaN when
        the request was not answered (refused by the contract, or no response).
    fallback
        True where the fallback answered.
    """

    prediction: FloatArray
    fallback: BoolArray

    @property
    def answered(self) -> BoolArray:
        """True where the service answered (the model or its fallback)."""
        return np.isfinite(self.prediction)

    @classmethod
    def none(cls, n: int) -> Answers:
        """``n`` unanswered requests."""
        return cls(np.full(n, np.nan), np.zeros(n, dtype=np.bool_))


def targeting_outcomes(
    answers: Answers,
    positive: BoolArray,
    *,
    threshold: float,
    acceptance: float,
    rng: np.random.Generator,
) -> FloatArray:
    """Outcome values of the targeting model: 1 for a conversion, 0 else, NaN unanswered.

    One uniform number is drawn per request whatever the answers, so two versions
    replayed on the same rows with the same seed face the same customers.

    Parameters
    ----------
    answers
        The service's answers.
    positive
        True where the request's label is positive (after label incidents).
    threshold, acceptance
        An offer for a model answer ``>= threshold``; an offer to a positive converts
        with probability ``acceptance``.
    rng
        The outcome draws' generator.
    """
    draws = rng.random(len(answers.prediction))
    score = np.nan_to_num(answers.prediction, nan=-np.inf)
    offer = answers.answered & ~answers.fallback & (score >= threshold)
    converts = offer & positive & (draws < acceptance)
    return np.where(answers.answered, converts.astype(np.float64), np.nan)


def outcome_values(
    outcome: OutcomeSection,
    answers: Answers,
    frame: pl.DataFrame,
    labels: FloatArray,
    rng: np.random.Generator,
) -> FloatArray:
    """The outcome value of every request of ``frame`` (NaN where there is none).

    ``labels`` are the tick's labels (after label incidents); a label is positive when
    it is 1 (or true).
    """
    if outcome.column is not None:
        values = frame.get_column(outcome.column).cast(pl.Float64).to_numpy().astype(np.float64)
        return np.where(answers.answered & np.isfinite(values), values, np.nan)
    return targeting_outcomes(
        answers,
        labels == 1.0,
        threshold=outcome.threshold,
        acceptance=outcome.acceptance,
        rng=rng,
    )


def check_outcome_column(outcome: OutcomeSection | None, schema: Mapping[str, pl.DataType]) -> None:
    """Refuse an ``outcome.column`` missing from the replayed data or not numeric.

    Raises
    ------
    ScenarioError
        Naming ``outcome.column``, the value and the columns to choose from.
    """
    if outcome is None or outcome.column is None:
        return
    usable = sorted(
        name for name, dtype in schema.items() if dtype.is_numeric() or dtype == pl.Boolean
    )
    if outcome.column not in schema:
        raise ScenarioError(
            "outcome.column",
            outcome.column,
            f"not a column of the replayed data; use a numeric one of {usable[:8]}, "
            "or remove the key for the targeting model",
        )
    if outcome.column not in usable:
        raise ScenarioError(
            "outcome.column",
            outcome.column,
            f"the outcome value must be a number or a boolean; use one of {usable[:8]}",
        )
