"""Replayed traffic: the data's rows, shuffled once, handed out tick by tick.

Each tick gets ``rate x tick length`` rows (times the incidents' rate factors; the
fractional remainder carries over), request ids ``<prefix>-<n>`` and event times spread
evenly over the tick. Past the last row the data starts again.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import polars as pl

__all__ = ["EVENT_TIME", "REQUEST_ID", "Traffic"]

REQUEST_ID = "_request_id"
EVENT_TIME = "_event_time"


class Traffic:
    """Hands out rows of ``data`` as timed, identified requests.

    Parameters
    ----------
    data
        Features and target.
    prefix
        Request ids are ``<prefix>-<n>``.
    seed
        Shuffles the rows.
    """

    def __init__(self, data: pl.DataFrame, prefix: str, seed: int) -> None:
        order = np.random.default_rng(seed).permutation(data.height)
        self.data = data[order]
        self.prefix = prefix
        self.position = 0
        self.issued = 0
        self._carry = 0.0

    def count(self, per_second: float, seconds: float) -> int:
        """Requests in a tick of ``seconds`` at ``per_second`` (remainders carried)."""
        exact = per_second * seconds + self._carry
        whole = int(exact)
        self._carry = exact - whole
        return whole

    def take(self, rows: int, start: datetime, stop: datetime) -> pl.DataFrame:
        """``rows`` requests with ids and event times evenly spread over ``[start, stop)``."""
        if rows <= 0:
            return self.data.clear().with_columns(
                pl.Series(REQUEST_ID, [], pl.String),
                pl.Series(EVENT_TIME, [], pl.Datetime("us", "UTC")),
            )
        index = (self.position + np.arange(rows)) % self.data.height
        self.position = int((self.position + rows) % self.data.height)
        first = self.issued
        self.issued += rows
        span = (stop - start).total_seconds()
        offsets = (np.arange(rows) * (span / rows) * 1e6).astype(np.int64)
        start_us = int(start.timestamp() * 1e6)
        return self.data[index].with_columns(
            pl.Series(REQUEST_ID, [f"{self.prefix}-{n}" for n in range(first, first + rows)]),
            pl.Series(EVENT_TIME, start_us + offsets).cast(pl.Datetime("us", "UTC")),
        )
