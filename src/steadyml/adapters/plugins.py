"""Load a user function (feature transform, fallback rule) named by the spec.

``module`` is either a path to a ``.py`` file, relative to the spec's directory, or a
dotted module name importable from the environment. A file is loaded under a unique
module name (derived from its path and content), so two services' ``features.py``
never collide and nothing is added to ``sys.path``; a file that imports a sibling
module therefore needs that sibling installed, or the code in one file.

Every failure is a :class:`PluginError` naming the module, the function and the fix.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.util
import re
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from steadyml.errors import ConfigError

__all__ = ["PluginError", "is_file_module", "load_function", "source_of"]

_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


class PluginError(ConfigError):
    """A user module or function named in the spec cannot be loaded."""

    kind = "plugin error"


def is_file_module(module: str) -> bool:
    """True when ``module`` names a ``.py`` file rather than a dotted module."""
    return module.endswith(".py") or "/" in module or "\\" in module


def _file_path(module: str, base_dir: Path) -> Path:
    path = Path(module).expanduser()
    return path if path.is_absolute() else base_dir / path


def _unique_name(path: Path, source: bytes) -> str:
    digest = hashlib.sha256(str(path.resolve()).encode() + b"\0" + source).hexdigest()[:16]
    stem = re.sub(r"\W", "_", path.stem) or "module"
    return f"steadyml_plugin_{stem}_{digest}"


def _load_file(module: str, base_dir: Path) -> ModuleType:
    path = _file_path(module, base_dir)
    if not path.is_file():
        raise PluginError(
            "module", module, f"no such file {path}; give a .py file relative to {base_dir}"
        )
    try:
        source = path.read_bytes()
    except OSError as exc:
        raise PluginError("module", module, f"cannot read {path}: {exc.strerror}") from None
    try:
        code = compile(source, str(path), "exec")
    except SyntaxError as exc:
        raise PluginError(
            "module",
            module,
            f"syntax error at line {exc.lineno}: {exc.msg}; fix {path.name}",
        ) from None
    except ValueError as exc:  # source with NUL bytes
        raise PluginError("module", module, f"not Python source ({exc}); fix {path}") from None
    name = _unique_name(path, source)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None:  # pragma: no cover - spec_from_file_location accepts any .py path
        raise PluginError("module", module, f"cannot import {path}; give a .py file")
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded  # dataclasses and pickling look modules up here
    try:
        exec(code, loaded.__dict__)  # noqa: S102 - running the user's own module is the point
    except Exception as exc:
        del sys.modules[name]
        raise PluginError(
            "module",
            module,
            f"importing it raised {type(exc).__name__}: {exc}; fix {path.name} so it "
            "imports cleanly",
        ) from exc
    return loaded


def _load_dotted(module: str) -> ModuleType:
    if not _DOTTED.match(module):
        raise PluginError(
            "module", module, "give a .py file path or a dotted module name (pkg.features)"
        )
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module.startswith(exc.name):
            raise PluginError(
                "module",
                module,
                f"no module named {exc.name!r}; install it, or give a path to a .py file",
            ) from None
        raise PluginError(
            "module", module, f"importing it failed: {exc}; install what it needs"
        ) from exc
    except Exception as exc:
        raise PluginError(
            "module",
            module,
            f"importing it raised {type(exc).__name__}: {exc}; fix the module",
        ) from exc


def load_function(module: str, function: str, base_dir: Path) -> Callable[..., Any]:
    """Load ``function`` from ``module`` (a ``.py`` file or a dotted module name).

    Parameters
    ----------
    module
        Path of a ``.py`` file (relative to ``base_dir`` unless absolute), or a dotted
        module name.
    function
        Name of a callable defined in the module.
    base_dir
        The spec's directory.

    Raises
    ------
    PluginError
        When the file is missing or unreadable, has a syntax error, importing it
        fails, or the function is absent or not callable.
    """
    if not isinstance(module, str) or not module.strip():
        raise PluginError("module", module, "name a .py file or a dotted module")
    loaded = _load_file(module, base_dir) if is_file_module(module) else _load_dotted(module)
    found = getattr(loaded, function, None) if isinstance(function, str) else None
    if found is None:
        public = sorted(
            name
            for name, value in vars(loaded).items()
            if callable(value) and not name.startswith("_")
        )
        close = difflib.get_close_matches(str(function), public, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"define it (callables: {public})"
        raise PluginError("function", f"{module}:{function}", f"no such function; {hint}")
    if not callable(found):
        raise PluginError(
            "function",
            f"{module}:{function}",
            f"it is a {type(found).__name__}, not a function; name a function",
        )
    function_: Callable[..., Any] = found
    return function_


def source_of(module: str, base_dir: Path) -> str | None:
    """The source text of ``module``, to log with the model; ``None`` when unavailable.

    A ``.py`` path is read from disk; a dotted module is located without importing
    it, and read when it is a plain source file.
    """
    if is_file_module(module):
        path: Path | None = _file_path(module, base_dir)
    else:
        try:
            spec = importlib.util.find_spec(module) if _DOTTED.match(module) else None
        except Exception:  # importing a parent package may fail in any way
            spec = None
        origin = None if spec is None else spec.origin
        path = Path(origin) if origin and origin.endswith(".py") else None
    if path is None or not path.is_file():
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
