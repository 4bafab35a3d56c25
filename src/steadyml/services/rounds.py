"""Run a round of work every interval until stopped: the loop of the long-running services.

The monitor runner and the responder each run rounds (:meth:`run_once`) on a timer. A
failing round (database down, registry down, a bug) is logged and reported, and the
next round runs as planned: a service never stops silently.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

from steadyml.errors import SteadyError

__all__ = ["run_rounds"]

_Report = TypeVar("_Report")


def run_rounds(
    round_: Callable[[], _Report],
    interval: float,
    *,
    log: logging.Logger,
    failed: str,
    stop: threading.Event | None = None,
    on_round: Callable[[_Report], None] | None = None,
    on_error: Callable[[BaseException], None] | None = None,
    max_rounds: int | None = None,
) -> int:
    """Call ``round_`` every ``interval`` seconds until ``stop`` is set.

    Parameters
    ----------
    round_
        One round; its report goes to ``on_round``.
    interval
        Seconds between the end of a round and the start of the next.
    log
        Where a failed round is logged: a :class:`~steadyml.errors.SteadyError` as a
        warning ``"<failed>: <its one line>"``, anything else with its traceback.
    failed
        The message of a failed round, e.g. ``"monitor round failed"``.
    stop
        Ends the loop once set (checked before each round and while waiting).
    on_round, on_error
        Called with each round's report, or with the exception of a failed round.
    max_rounds
        Stop after this many rounds (no wait after the last).

    Returns
    -------
    int
        The number of rounds run.
    """
    stop = stop or threading.Event()
    rounds = 0
    while not stop.is_set() and (max_rounds is None or rounds < max_rounds):
        rounds += 1
        try:
            report = round_()
        except SteadyError as exc:
            log.warning(failed + ": %s", exc.one_line())
            if on_error is not None:
                on_error(exc)
        except Exception as exc:  # never let the loop die
            log.exception(failed)
            if on_error is not None:
                on_error(exc)
        else:
            if on_round is not None:
                on_round(report)
        if max_rounds is not None and rounds >= max_rounds:
            break
        stop.wait(interval)
    return rounds
