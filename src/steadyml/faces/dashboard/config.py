"""The dashboard's settings: who may read, who may act, where reports are, how often to refresh."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from steadyml.errors import ConfigError
from steadyml.spec import ServiceSpec

__all__ = ["DashboardConfig"]

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


@dataclass(frozen=True)
class DashboardConfig:
    """How the dashboard behaves.

    Parameters
    ----------
    token
        The bearer token every action needs (``STEADYML_TOKEN``, the server's token).
        Without one, actions are refused: the dashboard is read-only.
    require_token
        Also require the token to read pages (``STEADYML_UI_REQUIRE_TOKEN=1``); a
        browser signs in once on ``/login`` and keeps a session cookie.
    actor
        Who acts when an action form names nobody (``STEADYML_ACTOR``).
    reports_dir
        Where drift, gate and simulation reports are listed from.
    refresh_seconds
        How often an open page polls for fresh data (0: never).
    spec
        The service spec, for drift bands and the primary metric (optional).
    """

    token: str | None = None
    require_token: bool = False
    actor: str = "dashboard"
    reports_dir: Path | None = None
    refresh_seconds: float = 15.0
    spec: ServiceSpec | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **values: object) -> DashboardConfig:
        """Settings from ``STEADYML_TOKEN``, ``STEADYML_UI_REQUIRE_TOKEN`` and ``values``.

        Raises
        ------
        ConfigError
            When ``STEADYML_UI_REQUIRE_TOKEN`` is not a boolean, or is set without a token.
        """
        raw = environ.get("STEADYML_UI_REQUIRE_TOKEN", "").strip().lower()
        if raw not in _TRUE + _FALSE:
            raise ConfigError("STEADYML_UI_REQUIRE_TOKEN", raw, "use 1 or 0")
        token = environ.get("STEADYML_TOKEN") or None
        require = raw in _TRUE
        if require and not token:
            raise ConfigError(
                "STEADYML_UI_REQUIRE_TOKEN", raw, "set STEADYML_TOKEN too, or unset it"
            )
        base: dict[str, object] = {"token": token, "require_token": require}
        if environ.get("STEADYML_ACTOR"):
            base["actor"] = environ["STEADYML_ACTOR"]
        base.update(values)
        return cls(**base)  # type: ignore[arg-type]
