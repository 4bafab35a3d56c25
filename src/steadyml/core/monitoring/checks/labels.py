"""The label feed per monitor pass: how long no label has arrived although labels were due.

Labels come back ``labels.expected_delay`` after their predictions, for a share
``labels.expected_coverage`` of them. When the feed stops (missing labels) or slips
(delayed labels), no label arrives any more; realised performance then silently stops
being measured. ``log.label_gap_seconds`` is the time since the newest label arrived,
counted from the moment the first labels were due (the first prediction's event time
plus the expected delay), so a young service whose labels are not due yet shows 0. A
service that never received a label has no label feed to watch: no measurement.

Examples
--------
>>> from datetime import timedelta
>>> [m] = label_gap(now_us=7_200_000_000, last_label_us=3_600_000_000,
...                 first_event_us=0, expected_delay=timedelta(minutes=10))
>>> m.metric, m.value
('log.label_gap_seconds', 3600.0)
"""

from __future__ import annotations

from datetime import timedelta

from steadyml.core.monitoring.measurements import Measurement

__all__ = ["label_gap", "label_gap_threshold"]


def label_gap(
    now_us: int,
    last_label_us: int | None,
    first_event_us: int | None,
    expected_delay: timedelta,
) -> list[Measurement]:
    """Seconds without a label at ``now``, counted from when labels were first due.

    Parameters
    ----------
    now_us
        The monitor's clock, in microseconds since the epoch.
    last_label_us
        Arrival time of the newest label read so far (None: none ever, no measurement).
    first_event_us
        Event time of the first prediction in the log (None: no prediction yet).
    expected_delay
        ``labels.expected_delay``.
    """
    if first_event_us is None or last_label_us is None:
        return []
    due_us = first_event_us + int(expected_delay.total_seconds() * 1_000_000)
    since = max(due_us, last_label_us)
    gap = max(0.0, (now_us - since) / 1e6)
    return [
        Measurement(
            "log.label_gap_seconds",
            gap,
            details={"expected_delay_s": expected_delay.total_seconds()},
        )
    ]


def label_gap_threshold(expected_delay: timedelta, join_interval: timedelta) -> float:
    """Seconds of label silence that mean the feed is broken.

    Labels of continuous traffic arrive continuously; they are read every
    ``join_interval``. A silence half as long again as the expected delay (and at
    least three join intervals, so that a pass that did not join yet, or a feedback
    segment the server has not sealed yet, never counts) means
    labels that were due did not come; labels delivered in batches once per expected
    delay stay under it.

    >>> label_gap_threshold(timedelta(minutes=10), timedelta(minutes=5))
    900.0
    >>> label_gap_threshold(timedelta(minutes=1), timedelta(minutes=5))
    900.0
    """
    return max(1.5 * expected_delay.total_seconds(), 3.0 * join_interval.total_seconds())
