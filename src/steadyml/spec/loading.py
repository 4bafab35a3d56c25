"""Parsing a spec from YAML or a mapping, every error naming the key and the fix."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    ValidationError,
)

from steadyml.errors import SpecError
from steadyml.spec.service import ServiceSpec

__all__ = ["load_spec", "parse_spec"]


# -- parsing --------------------------------------------------------------------------


def _known_keys(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        current = _model_in(field.annotation)
        if current is None:
            return []
    return list(getattr(current, "model_fields", {}))


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _spec_error(exc: ValidationError) -> SpecError:
    first = exc.errors()[0]
    loc = tuple(first["loc"])
    key = ".".join(str(p) for p in loc) or "(top level)"
    if first["type"] == "extra_forbidden":
        known = _known_keys(ServiceSpec, loc)
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(known)}"
        fix = f"unknown key; {hint}"
    elif first["type"] == "missing":
        fix = "this key is required; add it"
    else:
        fix = str(first["msg"]).removeprefix("Value error, ")
    more = len(exc.errors()) - 1
    if more:
        fix += f" (and {more} more problem{'s' if more > 1 else ''})"
    value = first.get("input") if first["type"] != "missing" else None
    return SpecError(key, value, fix) if first["type"] != "missing" else SpecError(key, fix=fix)


def parse_spec(raw: object, base_dir: Path | None = None) -> ServiceSpec:
    """Validate a mapping (parsed YAML) into a :class:`ServiceSpec`.

    Raises
    ------
    SpecError
        Naming the first offending key, its value and the fix.
    """
    if not isinstance(raw, dict):
        raise SpecError("(top level)", raw, "a spec is a YAML mapping of keys to values")
    try:
        spec = ServiceSpec.model_validate(raw)
    except ValidationError as exc:
        raise _spec_error(exc) from None
    return spec.with_base_dir(base_dir or Path.cwd())


def load_spec(path: str | Path) -> ServiceSpec:
    """Read and validate ``steadyml.yaml``; relative paths resolve against its folder."""
    spec_path = Path(path)
    if spec_path.is_dir():
        spec_path = spec_path / "steadyml.yaml"
    try:
        text = spec_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(
            "spec", str(spec_path), "no such file; create one with 'steadyml init'"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError("spec", str(spec_path), f"cannot read it ({exc})") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SpecError("spec", str(spec_path), f"not valid YAML{where}") from None
    return parse_spec(raw, spec_path.parent.resolve())
