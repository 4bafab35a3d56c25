"""What happens when an incident opens: responses, retraining, notification sinks."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from steadyml.core.durations import parse_duration
from steadyml.spec.base import NAME, Duration, Frozen

__all__ = ["SINK_EVENTS", "ResponseSpec", "RetrainSpec", "SinkSpec"]


class ResponseSpec(Frozen):
    """A responder policy: on an incident type, take an action."""

    on: str = Field(description="incident type, e.g. 'nan_output', 'feature_drift'")
    action: Literal["fallback_mode", "rollback", "retrain", "page"]
    cooldown: str = "30m"
    auto_promote: bool = False


class RetrainSpec(Frozen):
    """What a retrain (the responder's ``retrain`` action) trains on.

    ``production`` (the default) takes the labelled predictions of the last ``window``:
    records of the prediction log answered by the model (status ``ok``, no contract
    flag), joined with their latest label by request id; the latest rows are the
    hold-out, so the gate compares candidate and champion on recent traffic. ``source``
    reads the spec's data source again; ``both`` appends the production rows to it.
    """

    data: Literal["production", "source", "both"] = "production"
    window: Duration = Field("30d", description="how far back labelled predictions are taken")
    min_rows: int = Field(
        1000, ge=10, description="fewer labelled production rows than this: the retrain fails"
    )
    max_rows: int = Field(
        1_000_000, ge=10, description="at most this many labelled rows, the most recent"
    )

    @model_validator(mode="after")
    def _bounds(self) -> RetrainSpec:
        if self.max_rows < self.min_rows:
            raise ValueError(
                f"max_rows ({self.max_rows}) is below min_rows ({self.min_rows}); raise max_rows"
            )
        return self


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SINK_EVENTS = ("opened", "escalated", "updated", "resolved", "action")


class SinkSpec(Frozen):
    """Where incident notifications go: a JSON log, a webhook, Slack or PagerDuty.

    Secrets (webhook URLs with tokens, PagerDuty routing keys) belong in environment
    variables named by ``url_env`` / ``routing_key_env``, never in the spec file.
    """

    kind: Literal["log", "webhook", "slack", "pagerduty"]
    name: str | None = Field(None, description="name in counters and logs; default: the kind")
    url: str | None = Field(None, description="endpoint (http or https); prefer url_env")
    url_env: str | None = Field(None, description="environment variable holding the URL")
    path: str | None = Field(
        None, description="log sink: JSON-lines file, relative to the spec; default: the logger"
    )
    routing_key: str | None = Field(None, description="pagerduty: integration key")
    routing_key_env: str | None = Field(
        None, description="pagerduty: environment variable holding the integration key"
    )
    min_severity: Literal["P0", "P1", "P2", "P3"] = Field(
        "P3", description="send incidents at least this urgent (P0 is the most urgent)"
    )
    events: tuple[Literal["opened", "escalated", "updated", "resolved", "action"], ...] = (
        "opened",
        "escalated",
        "resolved",
        "action",
    )
    timeout: Duration = Field("5s", description="per HTTP attempt")
    max_retries: int = Field(3, ge=0, le=10, description="retries after the first attempt")
    queue_size: int = Field(1000, ge=1, le=1_000_000, description="pending notifications kept")

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, value: str) -> str:
        if parse_duration(value).total_seconds() > 300:
            raise ValueError(f"{value!r} is too long; use at most '300s'")
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("use an http:// or https:// URL (or url_env)")
        return value

    @field_validator("url_env", "routing_key_env")
    @classmethod
    def _env(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_NAME.match(value):
            raise ValueError("name an environment variable: letters, digits and '_'")
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not NAME.match(value):
            raise ValueError("use 1-64 letters, digits, '_', '-' or '.', starting with a letter")
        return value

    @model_validator(mode="after")
    def _complete(self) -> SinkSpec:
        has_url = self.url is not None or self.url_env is not None
        if self.url is not None and self.url_env is not None:
            raise ValueError("give 'url' or 'url_env', not both")
        if self.kind in ("webhook", "slack") and not has_url:
            raise ValueError(f"a {self.kind} sink needs 'url_env' (or 'url')")
        if self.kind == "log" and has_url:
            raise ValueError("a log sink writes to 'path' or the logger; drop 'url'")
        if self.kind != "log" and self.path is not None:
            raise ValueError("'path' is for log sinks only")
        keyed = self.routing_key is not None or self.routing_key_env is not None
        if self.kind == "pagerduty" and not keyed:
            raise ValueError("a pagerduty sink needs 'routing_key_env' (or 'routing_key')")
        if self.kind != "pagerduty" and keyed:
            raise ValueError("'routing_key' is for pagerduty sinks only")
        if not self.events:
            raise ValueError(f"give at least one event of {list(SINK_EVENTS)}")
        return self
