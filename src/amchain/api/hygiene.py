"""HTTP rules every route follows, in one ASGI layer in front of the routes.

- **Host**: a request whose ``Host`` names none of the node's names is refused (400,
  ``api``/5), so a web page cannot reach a node on ``localhost`` through a rebound DNS name.
- **HEAD** wherever GET exists: the GET route answers, the body is dropped.
- **OPTIONS** answers 204 with ``Allow`` (a CORS preflight is Starlette's CORS layer's:
  cross-origin browsers are refused unless the node names their origins).
- **405** carries ``Allow`` (see :func:`allowed_methods`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from amchain.api.problems import ApiProblem, problem_response

__all__ = ["HttpHygiene", "allowed_hosts", "allowed_methods"]

_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")
_ANY_ADDRESS = ("0.0.0.0", "::", "")


def allowed_methods(routes: Iterable[Any], scope: Scope) -> list[str]:
    """Every method some route answers at ``scope``'s path (HEAD with GET, and OPTIONS)."""
    # A literal path (/v1/credentials/prepare) stands before a template that also matches
    # it (/v1/credentials/{id}), as in OpenAPI: only the most specific routes count.
    found: dict[str, int] = {}  # method -> fewest path parameters of a route that answers it
    routes = list(_flatten(routes))
    for method in _METHODS:
        probe = {**scope, "method": method}
        for route in routes:
            match, child = route.matches(probe)
            if match == Match.FULL:
                params = len(child.get("path_params", {}))
                found[method] = min(params, found.get(method, params))
    fewest = min(found.values(), default=0)
    methods = {method for method, params in found.items() if params == fewest}
    if "GET" in methods:
        methods.add("HEAD")
    if methods:
        methods.add("OPTIONS")
    return sorted(methods)


def _flatten(routes: Iterable[Any]) -> Iterable[Any]:
    """The routes themselves, inside the routers FastAPI includes (each with its own
    path, methods and parameters)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _flatten(inner.routes)
        else:
            yield route


def allowed_hosts(bind_host: str, extra: Iterable[str]) -> frozenset[str] | None:
    """The host names a node answers to: the local names, the address it listens on and
    ``extra`` (its public names). None: any name (listening on every address with no
    public name given, there is no list to check against)."""
    names = {name.lower() for name in extra}
    if bind_host in _ANY_ADDRESS and not names:
        return None
    names.update(_LOCAL_NAMES)
    if bind_host not in _ANY_ADDRESS:
        names.add(bind_host.lower())
    return frozenset(names)


def _host_name(value: str) -> str:
    value = value.strip().lower()
    if value.startswith("["):  # [::1]:8640
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class HttpHygiene:
    """The ASGI layer; ``routes()`` gives the application's routes (for ``Allow``)."""

    def __init__(self, app: ASGIApp, *, hosts: frozenset[str] | None, routes: Any) -> None:
        self._app = app
        self._hosts = hosts
        self._routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        if self._hosts is not None:
            host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
            if _host_name(host) not in self._hosts:
                problem = ApiProblem(
                    400,
                    "api",
                    5,
                    "Unknown host",
                    f"this node does not answer to the host name {host!r}; use one of "
                    f"{', '.join(sorted(self._hosts))}",
                )
                await problem_response(problem)(scope, receive, send)
                return
        method = scope["method"]
        if method == "OPTIONS" and not _is_preflight(scope):
            allow = allowed_methods(self._routes(), scope)
            status = 204 if allow else 404
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [(b"allow", ", ".join(allow).encode()), (b"content-length", b"0")],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        if method == "HEAD":
            await self._app({**scope, "method": "GET"}, receive, _without_body(send))
            return
        await self._app(scope, receive, send)


def _is_preflight(scope: Scope) -> bool:
    names = {k for k, _ in scope["headers"]}
    return b"origin" in names and b"access-control-request-method" in names


def _without_body(send: Send) -> Send:
    """Pass the response's start (with its headers) and drop its body, as HEAD must."""
    finished = False

    async def send_head(message: Message) -> None:
        nonlocal finished
        if message["type"] == "http.response.start":
            await send(message)
        elif message["type"] == "http.response.body" and not finished:
            if not message.get("more_body", False):
                finished = True
                await send({"type": "http.response.body", "body": b""})
        else:
            await send(message)

    return send_head
