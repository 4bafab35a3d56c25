"""One delivery attempt over HTTP, what counts as retryable, and the backoff between attempts.

A sink makes *one* attempt per :meth:`~steadyml.adapters.sinks.base.Sink.send`; the
dispatcher (or :func:`deliver`) retries. Connection errors, timeouts, ``429`` and ``5xx``
are retryable; ``429`` and ``503`` may say how long to wait (``Retry-After``, seconds or
an HTTP date), which is honoured up to :attr:`RetryPolicy.max_retry_after`. Any other
``4xx`` is the receiver refusing the payload: retrying cannot help.

Messages never include the URL: webhook URLs and routing keys are secrets.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson

from steadyml.core.clock import Clock, SystemClock, utc
from steadyml.errors import SteadyError

__all__ = ["DeliveryFailed", "HttpTarget", "RetryPolicy", "deliver", "parse_retry_after"]


class DeliveryFailed(SteadyError):
    """A sink could not deliver a notification.

    ``retryable`` tells whether another attempt may succeed; ``retry_after`` is the delay
    the receiver asked for (seconds), if any; ``status`` the HTTP status, if any.
    """

    kind = "delivery failed"
    exit_code = 9

    def __init__(
        self,
        sink: str,
        fix: str,
        *,
        retryable: bool,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"sinks.{sink}", fix=fix)
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date).

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> parse_retry_after("3", datetime.now(UTC))
    3.0
    >>> parse_retry_after("Wed, 01 May 2024 00:00:10 GMT", datetime(2024, 5, 1, tzinfo=UTC))
    10.0
    >>> parse_retry_after("soon", datetime.now(UTC)) is None
    True
    """
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():  # str.isdigit admits '²' and other digits
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, (utc(moment) - utc(now)).total_seconds())


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter.

    Attempt ``i`` (0-based) waits ``min(max_delay, base_delay * 2**i)`` scaled by a
    random factor in ``[0.5, 1]``; a receiver's ``Retry-After`` replaces that delay,
    capped at ``max_retry_after``.
    """

    max_retries: int = 3
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0

    def delay(self, retry: int, rng: random.Random, asked: float | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (0-based)."""
        if asked is not None:
            return min(max(asked, 0.0), self.max_retry_after)
        ceiling = min(self.max_delay, self.base_delay * (2.0**retry))
        return ceiling * rng.uniform(0.5, 1.0)


class HttpTarget:
    """POSTs JSON to one URL; one attempt per :meth:`post`.

    Parameters
    ----------
    sink
        The sink's name (for messages; the URL is never shown).
    url
        The endpoint.
    timeout
        Seconds per attempt (connect, read and write).
    clock
        Reads the time to interpret a ``Retry-After`` date.
    """

    def __init__(self, sink: str, url: str, timeout: float, *, clock: Clock | None = None) -> None:
        self.sink = sink
        self._url = url
        self._clock: Clock = clock or SystemClock()
        self._client = httpx.Client(timeout=timeout, follow_redirects=False)

    def __repr__(self) -> str:  # never show the URL
        return f"HttpTarget(sink={self.sink!r})"

    def post(self, body: Mapping[str, Any]) -> int:
        """Send ``body`` as JSON; returns the 2xx status.

        Raises
        ------
        DeliveryFailed
            Retryable for connection errors, timeouts, 429 and 5xx; not for other codes.
        """
        content = orjson.dumps(body, default=str)
        try:
            response = self._client.post(
                self._url, content=content, headers={"content-type": "application/json"}
            )
        except httpx.TimeoutException as exc:
            raise DeliveryFailed(
                self.sink, f"timed out ({type(exc).__name__})", retryable=True
            ) from None
        except httpx.TransportError as exc:
            raise DeliveryFailed(
                self.sink, f"cannot connect ({type(exc).__name__})", retryable=True
            ) from None
        status = response.status_code
        if 200 <= status < 300:
            return status
        asked = parse_retry_after(response.headers.get("retry-after"), self._clock.now())
        if status == 429 or status >= 500:
            raise DeliveryFailed(
                self.sink,
                f"receiver answered {status}; will retry",
                retryable=True,
                status=status,
                retry_after=asked,
            )
        raise DeliveryFailed(
            self.sink,
            f"receiver refused the payload with {status}; check the sink's URL and key",
            retryable=False,
            status=status,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()


def deliver(
    send: Callable[[], object],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], bool],
    rng: random.Random | None = None,
    on_retry: Callable[[DeliveryFailed], None] | None = None,
) -> int:
    """Call ``send`` until it succeeds, retrying retryable failures per ``policy``.

    Parameters
    ----------
    send
        One attempt; raises :class:`DeliveryFailed` on failure.
    sleep
        Waits the given seconds; returns False to give up (the dispatcher is closing).
    on_retry
        Told about each failure about to be retried (after the wait).

    Returns
    -------
    int
        The number of retries it took.

    Raises
    ------
    DeliveryFailed
        The last failure: not retryable, retries exhausted, or the wait was cut short.
    """
    rng = rng or random.Random()
    retries = 0
    while True:
        try:
            send()
        except DeliveryFailed as exc:
            if not exc.retryable or retries >= policy.max_retries:
                raise
            if not sleep(policy.delay(retries, rng, exc.retry_after)):
                raise
            if on_retry is not None:
                on_retry(exc)
            retries += 1
        else:
            return retries
