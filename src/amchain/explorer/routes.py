"""The explorer's pages: server-rendered HTML from the public REST API, plus the PDF report.

Every read goes through :class:`amchain.sdk.AsyncClient`; on the node the client's transport
is the API app itself (``httpx.ASGITransport``), so pages see exactly what any API client
sees and nothing else. Live updates come from ``/v1/events`` in the browser
(``static/explorer.js``).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import jinja2
import segno
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from amchain.explorer import views
from amchain.explorer.i18n import COOKIE, HTML_LANG, LANGS, pick_lang
from amchain.explorer.pdf import render_report_pdf
from amchain.sdk import ApiError, AsyncClient, TransportError, describe_fields

VIN_RE = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$", re.IGNORECASE)
HEX64_RE = re.compile(r"^(0x)?[0-9a-f]{64}$", re.IGNORECASE)
DENOM_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{1,15}$")  # the tokens module's denominations
ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")  # a finance voucher id
OVERVIEW_BLOCKS = 500
COOKIE_MAX_AGE = 365 * 86_400

Handler = Callable[[Request], Awaitable[Response]]


class NotFound(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def proof_url(base_url: str, vin: str) -> str:
    """The absolute link to a vehicle's proof bundle (what the report's QR code encodes)."""
    return f"{base_url.rstrip('/')}/v1/vehicles/{quote(vin, safe='')}/history?proof=true"


def qr_svg(data: str, title: str) -> str:
    """An inline, scalable SVG QR code (error correction M) for ``data``."""
    qr = segno.make(data, error="m", micro=False)
    svg = qr.svg_inline(scale=4, border=2, dark="#000", light="#fff", title=title)
    return str(svg).replace("<svg ", '<svg role="img" class="qr" ', 1)


def org_names(orgs: list[dict[str, Any]]) -> dict[str, str]:
    return {str(o["id"]): str(o.get("name") or o["id"]) for o in orgs}


def key_owners(orgs: list[dict[str, Any]]) -> dict[str, str]:
    """Hex public key → organisation id, for naming the signers of a transaction."""
    owners: dict[str, str] = {}
    for org in orgs:
        for key in org.get("keys", []):
            public = key.get("public_key") or key.get("key")
            if isinstance(public, str):
                owners[public.lower()] = str(org["id"])
    return owners


class Explorer:
    """The explorer web UI for the API app ``api_app``, reading it through the SDK."""

    def __init__(self, api_app: ASGIApp, *, public_url: str | None = None) -> None:
        self.client = AsyncClient(
            "http://localhost", timeout=30.0, transport=httpx.ASGITransport(app=api_app)
        )
        self.public_url = public_url.rstrip("/") if public_url else None
        self.env = jinja2.Environment(
            loader=jinja2.PackageLoader("amchain.explorer", "templates"),
            autoescape=jinja2.select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(
            time=views.fmt_time,
            date=views.fmt_date,
            km=views.fmt_km,
            short=views.short,
            units=views.fmt_units,
            tojson_pretty=lambda v: json.dumps(v, indent=2, ensure_ascii=False),
        )

    # -- plumbing ----------------------------------------------------------------------
    def base_url(self, request: Request) -> str:
        return self.public_url or str(request.base_url).rstrip("/")

    def render(
        self, request: Request, template: str, *, status: int = 200, **context: Any
    ) -> HTMLResponse:
        lang = request.state.lang
        tr = views.translator(lang)
        other = "zh" if lang == "en" else "en"
        params = dict(request.query_params)
        params["lang"] = other
        page = self.env.get_template(template).render(
            request=request,
            lang=lang,
            html_lang=HTML_LANG[lang],
            t=tr,
            label=views.labeller(lang),
            switch_url=f"{request.url.path}?{urlencode(params)}",
            path=request.url.path,
            **context,
        )
        response = HTMLResponse(page, status_code=status)
        response.headers["cache-control"] = "no-store"
        response.headers["content-language"] = HTML_LANG[lang]
        return response

    def page(self, handler: Handler) -> Handler:
        """Pick the language, remember an explicit choice, and turn API errors into pages."""

        async def run(request: Request) -> Response:
            chosen = request.query_params.get("lang")
            request.state.lang = pick_lang(
                chosen, request.cookies.get(COOKIE), request.headers.get("accept-language")
            )
            try:
                response = await handler(request)
            except NotFound as exc:
                response = self.render(
                    request, "error.html", status=404, title_key="error.title", message=exc.message
                )
            except ApiError as exc:
                status = exc.status if 400 <= exc.status < 600 else 502
                tr = views.translator(request.state.lang)
                response = self.render(
                    request,
                    "error.html",
                    status=status,
                    title_key="error.title",
                    message=tr("error.api", detail=exc.detail or exc.title),
                )
            except TransportError as exc:
                tr = views.translator(request.state.lang)
                response = self.render(
                    request,
                    "error.html",
                    status=502,
                    title_key="error.title",
                    message=tr("error.unreachable", detail=str(exc)),
                )
            if chosen in LANGS:
                response.set_cookie(
                    COOKIE, chosen, max_age=COOKIE_MAX_AGE, samesite="lax", httponly=True
                )
            return response

        return run

    def routes(self) -> list[BaseRoute]:
        static = resources.files("amchain.explorer") / "static"
        return [
            Route("/", self.page(self.overview), name="explorer.overview"),
            Route("/blocks", self.page(self.blocks), name="explorer.blocks"),
            Route("/blocks/{height:int}", self.page(self.block), name="explorer.block"),
            Route("/txs/{tx_hash}", self.page(self.tx), name="explorer.tx"),
            Route("/orgs", self.page(self.orgs), name="explorer.orgs"),
            Route("/dids/{did:path}", self.page(self.did), name="explorer.did"),
            Route("/vehicles/{vin}", self.page(self.vehicle), name="explorer.vehicle"),
            Route("/vehicles/{vin}/report.pdf", self.page(self.vehicle_pdf), name="explorer.pdf"),
            Route("/tokens", self.page(self.tokens), name="explorer.tokens"),
            Route("/tokens/{denom}", self.page(self.denomination), name="explorer.denomination"),
            Route("/accounts/{account:path}", self.page(self.account), name="explorer.account"),
            Route("/vouchers/{voucher_id}", self.page(self.voucher), name="explorer.voucher"),
            Route("/search", self.page(self.search), name="explorer.search"),
            Route("/modules", self.page(self.modules), name="explorer.modules"),
            Route("/modules/{name}", self.page(self.module), name="explorer.module"),
            Route(
                "/modules/{name}/queries/{query}",
                self.page(self.module_query),
                name="explorer.module_query",
            ),
            Mount("/assets", app=StaticFiles(directory=str(static)), name="explorer.assets"),
        ]

    # -- pages -------------------------------------------------------------------------
    async def overview(self, request: Request) -> Response:
        status, page, recent, refusals, orgs = await asyncio.gather(
            self.client.status(),
            self.client.list_blocks(limit=OVERVIEW_BLOCKS),
            self.client.list_txs(limit=12),
            self.client.list_txs(failed_only=True, limit=8),
            self.client.organisations(),
        )
        tr = views.translator(request.state.lang)
        now_ms = time.time_ns() // 1_000_000
        blocks = page["blocks"]
        return self.render(
            request,
            "overview.html",
            status_info=status.raw,
            peers=status.raw.get("peers"),
            rates=views.rates(blocks, now_ms),
            chart=views.tx_rate_chart(
                blocks, now_ms, min_label=tr("chart.min"), now_label=tr("chart.now")
            ),
            chart_minutes=5,
            chart_bucket=10,
            blocks=blocks[:10],
            recent=recent,
            refusals=refusals,
            orgs=orgs,
            names=org_names(orgs),
            live=True,
            live_height=status.height,
        )

    async def blocks(self, request: Request) -> Response:
        before_text = request.query_params.get("before")
        before = int(before_text) if before_text and before_text.isdigit() else None
        page = await self.client.list_blocks(before=before, limit=25)
        return self.render(request, "blocks.html", page=page, before=before, live=before is None)

    async def block(self, request: Request) -> Response:
        height = int(request.path_params["height"])
        try:
            block = await self.client.get_block(height)
        except ApiError as exc:
            if exc.status == 404:
                raise NotFound(exc.detail) from None
            raise
        txs, status = await asyncio.gather(
            self.client.list_txs(height=height, limit=1000), self.client.status()
        )
        return self.render(request, "block.html", block=block, txs=txs, head=status.height)

    async def tx(self, request: Request) -> Response:
        tx_hash = str(request.path_params["tx_hash"]).lower().removeprefix("0x")
        try:
            info = await self.client.get_tx(tx_hash)
        except ApiError as exc:
            if exc.status in (400, 404):
                raise NotFound(exc.detail) from None
            raise
        data = info.raw
        orgs = await self.client.organisations()
        time_ms = None
        if data.get("height") is not None:
            block = await self.client.get_block(int(data["height"]))
            time_ms = block["header"].get("time_ms")
        return self.render(
            request,
            "tx.html",
            tx=data,
            time_ms=time_ms,
            key_owners=key_owners(orgs),
            names=org_names(orgs),
        )

    async def orgs(self, request: Request) -> Response:
        return self.render(request, "orgs.html", orgs=await self.client.organisations())

    async def did(self, request: Request) -> Response:
        did = str(request.path_params["did"])
        try:
            resolved = await self.client.resolve_did(did)
        except ApiError as exc:
            if exc.status in (400, 404):
                raise NotFound(exc.detail) from None
            raise
        txs, orgs = await asyncio.gather(
            self.client.list_txs(did=did, limit=200), self.client.organisations()
        )
        vin = did.removeprefix("did:amc:vin:") if did.startswith("did:amc:vin:") else None
        org = next((o for o in orgs if o.get("did") == did), None)
        return self.render(
            request,
            "did.html",
            did=did,
            resolved=resolved,
            txs=txs,
            vin=vin,
            org=org,
            key_owners=key_owners(orgs),
        )

    async def _history(self, vin: str, tr: views.Tr) -> dict[str, Any]:
        try:
            return await self.client.get_history(vin)
        except ApiError as exc:
            if exc.status == 404:
                raise NotFound(tr("vehicle.not_found", vin=vin)) from None
            raise

    async def vehicle(self, request: Request) -> Response:
        vin = str(request.path_params["vin"]).upper()
        tr = views.translator(request.state.lang)
        history, orgs, status = await asyncio.gather(
            self._history(vin, tr), self.client.organisations(), self.client.status()
        )
        names = org_names(orgs)
        link = proof_url(self.base_url(request), vin)
        return self.render(
            request,
            "vehicle.html",
            h=history,
            flags=history["flags"],
            summary=views.vehicle_summary(history, tr),
            timeline=views.timeline(history, tr, names),
            accidents=views.accidents(history),
            chart=views.odometer_chart(history),
            names=names,
            proof_url=link,
            qr=qr_svg(link, tr("vehicle.qr_alt", url=link)),
            as_of_time=status.latest_block_time_ms,
            node_key=status.node_key,
            live=True,
            live_height=status.height,
        )

    async def vehicle_pdf(self, request: Request) -> Response:
        vin = str(request.path_params["vin"]).upper()
        lang = request.state.lang
        tr = views.translator(lang)
        history, orgs, status = await asyncio.gather(
            self._history(vin, tr), self.client.organisations(), self.client.status()
        )
        link = proof_url(self.base_url(request), vin)
        pdf = await asyncio.to_thread(
            render_report_pdf,
            history,
            lang=lang,
            org_names=org_names(orgs),
            proof_link=link,
            chain_id=status.chain_id,
            as_of_time_ms=status.latest_block_time_ms,
        )
        return Response(
            pdf,
            media_type="application/pdf",
            headers={
                "content-disposition": f'attachment; filename="amchain-{vin}-history.pdf"',
                "cache-control": "no-store",
            },
        )

    async def modules(self, request: Request) -> Response:
        catalog = await self.client.modules()
        return self.render(request, "modules.html", modules=list(catalog.modules.values()))

    async def module(self, request: Request) -> Response:
        return await self._module_page(request, asked=None)

    async def module_query(self, request: Request) -> Response:
        return await self._module_page(request, asked=str(request.path_params["query"]))

    async def _module_page(self, request: Request, *, asked: str | None) -> Response:
        """A module's page: messages with their fields, queries as forms (one of them
        answered when ``asked``), events, latest transactions."""
        name = str(request.path_params["name"])
        catalog = await self.client.modules()
        info = catalog.modules.get(name)
        if info is None:
            raise NotFound(views.translator(request.state.lang)("error.no_module", name=name))
        if asked is not None and asked not in info.queries:
            raise NotFound(
                views.translator(request.state.lang)("error.no_query", name=name, query=asked)
            )
        given = {k: v for k, v in request.query_params.items() if v != "" and k != "lang"}
        answer: Any = None
        error: str | None = None
        if asked is not None:
            query = info.queries[asked]
            prove = given.pop("proof", None) == "true"
            try:
                params = views.query_params(query, given)
                answer = await self.client.query(name, asked, proof=prove, **params)
            except ValueError as exc:  # TxBuildError: parameters the query does not take
                error = str(exc)
            except ApiError as exc:
                error = f"{exc.codespace}/{exc.code}: {exc.detail or exc.title}"
            if prove:
                given["proof"] = "true"
        txs = await self.client.list_txs(module=name, limit=25)
        return self.render(
            request,
            "module.html",
            m=info,
            fields={msg.name: describe_fields(msg.args_schema) for msg in info.messages.values()},
            params={q.name: describe_fields(q.params_schema) for q in info.queries.values()},
            asked=asked,
            given=given,
            answer=answer,
            error=error,
            txs=txs,
        )

    # -- tokens and finance --------------------------------------------------------------
    async def _ask(self, module: str, name: str, missing: str, **params: Any) -> Any:
        """A module query whose 404 (or a parameter it refuses, 422) is a 404 page."""
        try:
            return await self.client.query(module, name, **params)
        except ApiError as exc:
            if exc.status in (400, 404, 422):
                raise NotFound(missing) from None
            raise

    async def tokens(self, request: Request) -> Response:
        tr = views.translator(request.state.lang)
        listed = await self._ask("tokens", "denominations", tr("tokens.none"))
        try:
            pools = await self.client.query("tokens", "pools")
        except ApiError as exc:
            if exc.status != 404:
                raise
            pools = None
        return self.render(
            request, "tokens.html", denominations=listed["denominations"], pools=pools
        )

    async def denomination(self, request: Request) -> Response:
        denom = str(request.path_params["denom"])
        tr = views.translator(request.state.lang)
        missing = tr("denom.not_found", denom=denom)
        after = request.query_params.get("after") or None
        paging = {"after": after} if after else {}
        found, holders, recent = await asyncio.gather(
            self._ask("tokens", "denomination", missing, denom=denom),
            self._ask("tokens", "holders", missing, denom=denom, limit=50, **paging),
            self.client.list_txs(module="tokens", limit=200),
        )
        pools = None
        if found.get("total_supply_minor") is not None:
            pools = await self.client.query("tokens", "pools")
        txs = [tx for tx in recent if tx["args"].get("denom") == denom][:25]
        return self.render(
            request,
            "denomination.html",
            d=found,
            holders=holders,
            after=after,
            pools=pools,
            txs=txs,
        )

    async def account(self, request: Request) -> Response:
        account = str(request.path_params["account"])
        tr = views.translator(request.state.lang)
        if not account.startswith("did:amc:"):
            raise NotFound(tr("account.not_found", account=account))
        view, listed, txs = await asyncio.gather(
            self._ask("tokens", "account", tr("account.not_found", account=account),
                      account=account),
            self._ask("tokens", "denominations", tr("tokens.none")),
            self.client.list_txs(did=account, limit=100),
        )  # fmt: skip
        names = {d["denom"]: d["name"] for d in listed["denominations"]}
        return self.render(request, "account.html", view=view, names=names, txs=txs)

    async def voucher(self, request: Request) -> Response:
        voucher_id = str(request.path_params["voucher_id"])
        tr = views.translator(request.state.lang)
        missing = tr("voucher.not_found", id=voucher_id)
        view = await self._ask("finance", "voucher", missing, voucher_id=voucher_id)
        voucher = view["voucher"]
        denomination = await self._ask("tokens", "denomination", missing, denom=voucher["denom"])
        return self.render(
            request,
            "voucher.html",
            view=view,
            v=voucher,
            decimals=int(denomination["decimals"]),
            rows=views.voucher_tree(view["pieces"]),
            now_ms=time.time_ns() // 1_000_000,
        )

    async def search(self, request: Request) -> Response:
        query = request.query_params.get("q", "").strip()
        target = await self._resolve_search(query) if query else None
        if target is not None:
            return RedirectResponse(target, status_code=303)
        return self.render(request, "search.html", status=404 if query else 200, query=query)

    async def _resolve_search(self, query: str) -> str | None:
        """Where a search for ``query`` leads, or None when nothing on chain matches."""

        async def exists(call: Awaitable[Any]) -> bool:
            try:
                await call
            except ApiError:
                return False
            return True

        if query.isdigit():
            height = int(query)
            return f"/blocks/{height}" if await exists(self.client.get_block(height)) else None
        if query.lower().startswith("did:"):
            if await exists(self.client.resolve_did(query)):
                return f"/dids/{query}"
            return None
        if VIN_RE.match(query):
            vin = query.upper()
            return f"/vehicles/{vin}" if await exists(self.client.get_vehicle(vin)) else None
        if HEX64_RE.match(query):
            tx_hash = query.lower().removeprefix("0x")
            return f"/txs/{tx_hash}" if await exists(self.client.get_tx(tx_hash)) else None
        if DENOM_RE.match(query) and await exists(
            self.client.query("tokens", "denomination", denom=query)
        ):
            return f"/tokens/{query}"
        if ID_RE.match(query) and await exists(
            self.client.query("finance", "voucher", voucher_id=query)
        ):
            return f"/vouchers/{query}"
        return None
