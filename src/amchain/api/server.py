"""How a node's API is served: uvicorn with limits on connections and on slow clients.

uvicorn closes a kept-alive connection that stays idle, but not one that never finishes
its request: a client may open a connection and send nothing, or send its headers or body
a byte a second, and hold the connection for ever. :class:`GuardedHttpProtocol` gives each
request a deadline for its headers (from the connection's first byte, or from the end of
the previous response) and one for its body, and closes the connection when one passes.
Connections and running requests together are capped (``limit_concurrency``: past it
uvicorn answers 503 at once instead of queueing).
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = [
    "BODY_TIMEOUT_S",
    "HEADER_TIMEOUT_S",
    "MAX_CONNECTIONS",
    "GuardedHttpProtocol",
    "server_config",
]

HEADER_TIMEOUT_S = 10.0
"""A request's line and headers must arrive within this (from its first byte, or from the
connection's opening)."""
BODY_TIMEOUT_S = 30.0
"""Its body must arrive within this after the headers (8 MiB at ~280 KB/s)."""
MAX_CONNECTIONS = 1_000
"""Connections plus running requests (SSE streams count) before uvicorn answers 503."""
KEEP_ALIVE_S = 5


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with deadlines for a request's headers and body."""

    header_timeout_s = HEADER_TIMEOUT_S
    body_timeout_s = BODY_TIMEOUT_S

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._deadline: asyncio.TimerHandle | None = None
        self._arm(self.header_timeout_s)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm(self.header_timeout_s)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._arm(self.body_timeout_s)

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._too_slow)

    def _disarm(self) -> None:
        deadline = getattr(self, "_deadline", None)
        if deadline is not None:
            deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()


def server_config(app: Any, *, host: str, port: int, **overrides: Any) -> uvicorn.Config:
    """The uvicorn configuration every node serves its API with (``overrides``: uvicorn's
    own keyword arguments, e.g. ``log_level``)."""
    settings: dict[str, Any] = {
        "http": GuardedHttpProtocol,
        "limit_concurrency": MAX_CONNECTIONS,
        "timeout_keep_alive": KEEP_ALIVE_S,
        "log_level": "warning",
        "server_header": False,
    }
    settings.update(overrides)
    return uvicorn.Config(app, host=host, port=port, **settings)
