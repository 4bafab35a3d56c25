"""Reports: the drift, gate and simulation reports written under the state directory."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from steadyml.errors import NotFoundError
from steadyml.faces.dashboard.context import Dashboard, Page
from steadyml.faces.dashboard.params import Query

__all__ = ["report_file", "reports_page"]

_SUFFIXES = {".html": "text/html; charset=utf-8", ".md": "text/plain; charset=utf-8",
             ".json": "application/json"}  # fmt: skip
_LIMIT = 500


def _kind(path: Path) -> str:
    name = path.name.lower()
    for kind in ("drift", "gate", "simulation"):
        if kind in name or kind in {p.lower() for p in path.parts}:
            return kind
    return "other"


def _files(root: Path | None) -> list[Path]:
    if root is None or not root.is_dir():
        return []
    found = [p for p in root.rglob("*") if p.suffix in _SUFFIXES and p.is_file()]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)[:_LIMIT]


def reports_page(dash: Dashboard, request: Request) -> Page:
    """Every report file, newest first, grouped by kind."""
    query = Query(request.query_params, ("kind",))
    kind = query.text("kind", None, ("drift", "gate", "simulation", "other"))
    root = dash.config.reports_dir or Path()
    rows = []
    for path in _files(dash.config.reports_dir):
        item_kind = _kind(path.relative_to(root))
        if kind is not None and item_kind != kind:
            continue
        stat = path.stat()
        rows.append(
            {
                "name": path.relative_to(root).as_posix(),
                "kind": item_kind,
                "size": stat.st_size,
                "modified": datetime.fromtimestamp(stat.st_mtime, tz=UTC),
            }
        )
    context = {
        "rows": rows,
        "folder": str(dash.config.reports_dir) if dash.config.reports_dir else None,
        "kind": kind,
    }
    return Page("reports.html.j2", "Reports", context)


def report_file(dash: Dashboard, request: Request, name: str) -> Response:
    """One report file; only files inside the reports folder, never a path outside it."""
    Query(request.query_params, ())
    root = dash.config.reports_dir
    missing = NotFoundError("report", name, "pick a report on the reports page")
    if root is None or not name or "\x00" in name:
        raise missing
    base = root.resolve()
    target = (base / name).resolve()
    if base not in target.parents or target.suffix not in _SUFFIXES or not target.is_file():
        raise missing
    response = FileResponse(target, media_type=_SUFFIXES[target.suffix])
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
