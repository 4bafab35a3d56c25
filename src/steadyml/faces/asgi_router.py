"""Mount ASGI apps under path prefixes in front of another app, at the cost of one check.

``steadyml serve`` answers predictions with a raw ASGI app tuned for its hot path; the
dashboard is a separate Starlette app. :class:`PrefixRouter` sends requests whose path
is a mounted prefix (or below it) to the mounted app, with the prefix moved to
``root_path`` as ASGI mounts do, and everything else, lifespan included, to the main
app untouched. A prediction pays one ``str.startswith`` per mount.

Examples
--------
>>> async def main(scope, receive, send): ...
>>> async def ui(scope, receive, send): ...
>>> router = PrefixRouter(main, {"/ui": ui})
>>> router.match("/ui/incidents"), router.match("/predict"), router.match("/uix")
('/ui', None, None)
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import ASGIApp, Receive, Scope, Send

from steadyml.errors import ConfigError

__all__ = ["PrefixRouter"]


class PrefixRouter:
    """An ASGI app that routes by path prefix to mounted apps, else to ``default``.

    Parameters
    ----------
    default
        The app that receives every other request, and the lifespan events.
    mounts
        Apps by prefix (``"/ui"``: a leading slash, no trailing slash). A request to
        the bare prefix is redirected to the prefix with a slash.

    Raises
    ------
    ConfigError
        When a prefix does not start with ``/``, ends with ``/``, or is just ``/``.
    """

    def __init__(self, default: ASGIApp, mounts: Mapping[str, ASGIApp]) -> None:
        for prefix in mounts:
            if not prefix.startswith("/") or prefix.endswith("/") or len(prefix) < 2:
                raise ConfigError("mount prefix", prefix, "use a path such as '/ui'")
        self.default = default
        self.mounts = dict(mounts)
        self._prefixes = tuple(sorted(self.mounts, key=len, reverse=True))

    def match(self, path: str) -> str | None:
        """The mounted prefix that ``path`` falls under, or None."""
        for prefix in self._prefixes:
            if path.startswith(prefix) and (len(path) == len(prefix) or path[len(prefix)] == "/"):
                return prefix
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Route one ASGI connection."""
        if scope["type"] in ("http", "websocket"):
            root: str = scope.get("root_path", "")
            path: str = scope["path"]
            if root and path.startswith(root):  # ASGI paths include the root path
                path = path[len(root) :]
            for prefix in self._prefixes:
                if path.startswith(prefix):
                    rest = path[len(prefix) :]
                    if rest.startswith("/"):
                        mounted = root + prefix
                        child = {**scope, "root_path": mounted, "path": mounted + rest}
                        await self.mounts[prefix](child, receive, send)
                        return
                    if not rest and scope["type"] == "http":
                        await _redirect(scope, send, f"{root}{prefix}/")
                        return
        await self.default(scope, receive, send)


async def _redirect(scope: Scope, send: Send, location: str) -> None:
    query = scope.get("query_string", b"")
    target = location.encode("utf-8") + (b"?" + query if query else b"")
    await send(
        {
            "type": "http.response.start",
            "status": 307,
            "headers": [(b"location", target), (b"content-length", b"0")],
        }
    )
    await send({"type": "http.response.body", "body": b""})
