"""The structured log sink: one JSON object per line, to a file or a :mod:`logging` logger.

Examples
--------
>>> import io
>>> from datetime import UTC, datetime
>>> from steadyml.core.monitoring import Incident
>>> t = datetime(2024, 5, 1, tzinfo=UTC)
>>> incident = Incident(key="k", service="churn", incident_type="latency",
...                     triage="infrastructure", severity="P2", status="open",
...                     title="latency", opened_at=t, first_seen=t, last_seen=t)
>>> stream = io.StringIO()
>>> JsonLogSink(stream=stream).send(Notification("opened", incident, t))
>>> stream.getvalue().startswith('{"kind":"opened"')
True
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import IO

import orjson

from steadyml.adapters.sinks.delivery import DeliveryFailed
from steadyml.adapters.sinks.notification import Notification

__all__ = ["LOGGER", "JsonLogSink"]

#: The logger notifications go to when the sink has no file.
LOGGER = "steadyml.alerts"


class JsonLogSink:
    """Writes each notification as one JSON line.

    Parameters
    ----------
    path
        Append to this file (created with its folder); flushed after every line.
    stream
        Or write to this text stream.
    logger
        Or log at WARNING to this logger (``steadyml.alerts`` when nothing is given).
    name
        The sink's name in counters.
    """

    def __init__(
        self,
        path: Path | str | None = None,
        *,
        stream: IO[str] | None = None,
        logger: logging.Logger | None = None,
        name: str = "log",
    ) -> None:
        self.name = name
        self.path = None if path is None else Path(path)
        self._stream = stream
        self._logger = logger or logging.getLogger(LOGGER)
        self._lock = threading.Lock()

    def send(self, notification: Notification) -> None:
        """Write ``notification`` as one line.

        Raises
        ------
        DeliveryFailed
            When the file cannot be written (retryable: the disk may come back).
        """
        line = orjson.dumps(notification.to_dict(), default=str).decode("utf-8")
        if self.path is not None:
            try:
                with self._lock:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    with self.path.open("a", encoding="utf-8") as handle:
                        handle.write(line + "\n")
                        handle.flush()
            except OSError as exc:
                raise DeliveryFailed(
                    self.name,
                    f"cannot append to {self.path} ({exc.strerror or exc}); check the path",
                    retryable=True,
                ) from None
        elif self._stream is not None:
            with self._lock:
                self._stream.write(line + "\n")
                self._stream.flush()
        else:
            self._logger.warning("%s", line)

    def close(self) -> None:
        """Nothing to release (each line opens and closes the file)."""
