"""The explorer: web pages served by the node next to the REST API, reading only that API.

``mount_explorer(app)`` adds the pages (``/``, ``/blocks``, ``/txs/{hash}``, ``/orgs``,
``/dids/{did}``, ``/vehicles/{vin}`` and its ``report.pdf``, ``/search``) and their local
assets (``/assets/…``) to the API app. Pages are rendered on the server from the API's JSON,
fetched through :class:`amchain.sdk.AsyncClient` over an in-process ASGI transport; the
browser gets live updates from ``/v1/events``. No asset comes from another host.
"""

from __future__ import annotations

from starlette.applications import Starlette

from amchain.explorer.routes import Explorer, proof_url

__all__ = ["Explorer", "mount_explorer", "proof_url"]


def mount_explorer(app: Starlette, *, public_url: str | None = None) -> Explorer:
    """Add the explorer's routes to the API ``app`` (API routes keep precedence).

    ``public_url`` fixes the base of absolute links (the report's QR code); by default it is
    the address the browser used.
    """
    explorer = Explorer(app, public_url=public_url)
    app.router.routes.extend(explorer.routes())
    return explorer
