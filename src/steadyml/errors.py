"""The one error vocabulary of steadyml.

Every error a user can cause or meet is a :class:`SteadyError`. Each one names the
*field* (a spec key, a column, a CLI option, a request field), the offending *value*,
and the *fix*. The HTTP layer maps every subclass to one JSON error body with
:meth:`SteadyError.to_dict` and :attr:`SteadyError.http_status`; the CLI prints
:meth:`SteadyError.one_line` and exits with :attr:`SteadyError.exit_code`.

Examples
--------
>>> err = SpecError("service.name", "", "give the service a non-empty name")
>>> err.one_line()
"spec error: service.name = '': give the service a non-empty name"
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "ConfigError",
    "ContractViolation",
    "DataError",
    "GateFailed",
    "NotFoundError",
    "PromotionError",
    "RegistryUnavailable",
    "SpecError",
    "SteadyError",
]

_MISSING = object()


def _short(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class SteadyError(Exception):
    """Base of every error steadyml raises on purpose.

    Parameters
    ----------
    field
        What the error is about: a spec key (``model.params.num_leaves``), a column,
        a file path, a CLI option or a request field.
    value
        The offending value; omitted when there is none to show.
    fix
        One sentence that tells the user what to do.
    details
        Extra machine-readable evidence (counts, examples) for JSON error bodies.
    """

    kind: ClassVar[str] = "error"
    http_status: ClassVar[int] = 500
    exit_code: ClassVar[int] = 1

    def __init__(
        self,
        field: str,
        value: object = _MISSING,
        fix: str = "",
        *,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.field = field
        self.value = None if value is _MISSING else value
        self.has_value = value is not _MISSING
        self.fix = fix
        self.details = details or {}
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """The message as one line: ``<kind>: <field> = <value>: <fix>``."""
        head = f"{self.kind}: {self.field}"
        if self.has_value:
            head += f" = {_short(self.value)}"
        return f"{head}: {self.fix}" if self.fix else head

    def to_dict(self) -> dict[str, Any]:
        """The JSON error body shared by every HTTP endpoint."""
        body: dict[str, Any] = {
            "error": self.kind,
            "field": self.field,
            "message": self.one_line(),
            "fix": self.fix,
        }
        if self.has_value:
            body["value"] = _jsonable(self.value)
        if self.details:
            body["details"] = self.details
        return body


def _jsonable(value: object) -> object:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return _short(value, 200)


class SpecError(SteadyError):
    """The service spec (``steadyml.yaml``) is missing, unreadable or invalid."""

    kind = "spec error"
    exit_code = 2


class ConfigError(SteadyError):
    """A setting, environment variable or CLI option is invalid."""

    kind = "config error"
    exit_code = 2


class DataError(SteadyError):
    """Input data is missing, unreadable, empty or unusable (e.g. a single-class target)."""

    kind = "data error"
    http_status = 400
    exit_code = 3


class ContractViolation(DataError):
    """Data breaks the data contract; ``details['violations']`` lists each one."""

    kind = "contract violation"
    http_status = 422


class NotFoundError(SteadyError):
    """A named thing (model version, alias, run, incident, file) does not exist."""

    kind = "not found"
    http_status = 404
    exit_code = 4


class RegistryUnavailable(SteadyError):
    """The model registry or tracking store cannot be reached."""

    kind = "registry unavailable"
    http_status = 503
    exit_code = 5


class GateFailed(SteadyError):
    """A candidate did not pass the promotion gate."""

    kind = "gate failed"
    http_status = 409
    exit_code = 6


class PromotionError(SteadyError):
    """An alias move (promote, rollback) cannot be done as asked."""

    kind = "promotion error"
    http_status = 409
    exit_code = 7
