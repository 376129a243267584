"""The synchronous client (``httpx.Client``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import Any, Literal, overload
from urllib.parse import quote

import httpx

from amchain.ledger import Transaction
from amchain.sdk._base import (
    DEFAULT_BASE_URL,
    DEFAULT_TIMEOUT,
    DEFAULT_WAIT_TIMEOUT_MS,
    USER_AGENT,
    SSEParser,
    WaitMode,
    decode_object,
    error_from_response,
    normalize_base_url,
    parse_submit,
    proof_params,
    request_timeout,
    submit_request,
    wrap_transport_error,
)
from amchain.sdk._credentials import Credentials
from amchain.sdk._helpers import Consortium, Identity, Vehicles
from amchain.sdk._models import BlockEvent, NodeStatus, SubmitResult, TxInfo

__all__ = ["Client"]


class Client:
    """A synchronous client of an AutoMobile Chain node's REST API.

    Use as a context manager (or call :meth:`close`). ``transport`` replaces the network,
    e.g. ``httpx.MockTransport`` in tests.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = normalize_base_url(base_url)
        self.timeout = timeout
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            headers={"user-agent": USER_AGENT, "accept": "application/json"},
        )
        self._chain_id: str | None = None
        self.vehicles = Vehicles(self)
        self.identity = Identity(self)
        self.credentials = Credentials(self)
        self.consortium = Consortium(self)

    # -- lifecycle ---------------------------------------------------------------------
    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client(base_url={self.base_url!r})"

    # -- plumbing ----------------------------------------------------------------------
    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise wrap_transport_error(exc, self.base_url) from exc

    def _get(self, path: str, **kwargs: Any) -> dict[str, Any]:
        return decode_object(self._request("GET", path, **kwargs))

    # -- chain -------------------------------------------------------------------------
    def status(self) -> NodeStatus:
        """``GET /v1/status``: head, chain id, node key, modules."""
        status = NodeStatus.from_json(self._get("/v1/status"))
        self._chain_id = status.chain_id
        return status

    def chain_id(self) -> str:
        """The node's chain id (asked once, then cached)."""
        if self._chain_id is None:
            self.status()
        assert self._chain_id is not None
        return self._chain_id

    def get_block(self, height: int | Literal["latest"] = "latest") -> dict[str, Any]:
        """A block by height, or the latest one."""
        return self._get(f"/v1/blocks/{height if height == 'latest' else int(height)}")

    # -- transactions ------------------------------------------------------------------
    @overload
    def submit(
        self, txs: Transaction, *, wait: WaitMode = ..., timeout_ms: int = ...
    ) -> SubmitResult: ...
    @overload
    def submit(
        self, txs: Sequence[Transaction], *, wait: WaitMode = ..., timeout_ms: int = ...
    ) -> list[SubmitResult]: ...

    def submit(
        self,
        txs: Transaction | Sequence[Transaction],
        *,
        wait: WaitMode = "commit",
        timeout_ms: int = DEFAULT_WAIT_TIMEOUT_MS,
    ) -> SubmitResult | list[SubmitResult]:
        """Submit one transaction, or a list as one batch.

        One transaction: its result, or :class:`ApiError` if it is refused (also when it was
        committed with a failed receipt). A batch: one :class:`SubmitResult` per
        transaction, refusals in ``result.error``.
        """
        params, body, is_batch = submit_request(txs, wait, timeout_ms)
        response = self._request(
            "POST",
            "/v1/txs",
            params=params,
            json=body,
            timeout=request_timeout(self.timeout, timeout_ms if wait else None),
        )
        return parse_submit(response, is_batch)

    def get_tx(
        self, tx_hash: str, *, wait_commit: bool = False, timeout_ms: int = DEFAULT_WAIT_TIMEOUT_MS
    ) -> TxInfo:
        """A transaction's status and receipt (optionally waiting for its commit)."""
        params: dict[str, Any] = {"wait": "commit", "timeout_ms": timeout_ms} if wait_commit else {}
        data = self._get(
            f"/v1/txs/{quote(tx_hash, safe='')}",
            params=params,
            timeout=request_timeout(self.timeout, timeout_ms if wait_commit else None),
        )
        return TxInfo.from_json(data)

    # -- reads -------------------------------------------------------------------------
    def resolve_did(self, did: str, *, proof: bool = False) -> dict[str, Any]:
        """The DID resolution result (``didDocument``, metadata; with ``proof``, a bundle)."""
        return self._get(f"/v1/dids/{quote(did, safe=':')}", params=proof_params(proof, None))

    def organisations(self) -> list[dict[str, Any]]:
        return list(self._get("/v1/organisations")["organisations"])

    def get_vehicle(self, vin: str) -> dict[str, Any]:
        return self._get(f"/v1/vehicles/{quote(vin, safe='')}")

    def get_history(
        self, vin: str, *, proof: bool = False, height: int | None = None
    ) -> dict[str, Any]:
        """The vehicle's history in order, with flags and a summary line.

        With ``proof``, the answer is also a proof bundle (``format``, ``certificate``,
        ``record``, ``events``) that :class:`amchain.sdk.light.LightClient` checks offline:
        complete, in order, certified.
        """
        return self._get(
            f"/v1/vehicles/{quote(vin, safe='')}/history", params=proof_params(proof, height)
        )

    def get_state(
        self, key: str, *, proof: bool = False, height: int | None = None
    ) -> dict[str, Any]:
        """One state entry (``{key, value, height}``; ``value`` None when absent), optionally
        with its proof bundle under ``"proof"``."""
        return self._get(f"/v1/state/{quote(key, safe='/')}", params=proof_params(proof, height))

    def list_blocks(self, *, before: int | None = None, limit: int = 25) -> dict[str, Any]:
        """Block summaries, newest first: ``blocks``, ``head`` and ``next_before`` (a page)."""
        params: dict[str, Any] = {"limit": limit}
        if before is not None:
            params["before"] = before
        return self._get("/v1/blocks", params=params)

    def list_txs(
        self,
        *,
        height: int | None = None,
        did: str | None = None,
        vin: str | None = None,
        signer: str | None = None,
        failed_only: bool = False,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Transaction summaries of one block, or indexed under a DID, VIN or signer key."""
        params: dict[str, Any] = {"limit": limit}
        for name, value in (("height", height), ("did", did), ("vin", vin), ("signer", signer)):
            if value is not None:
                params[name] = value
        if failed_only:
            params["failed_only"] = "true"
        return list((self._get("/v1/txs", params=params))["txs"])

    # -- events ------------------------------------------------------------------------
    def events(self, from_height: int | None = None) -> Iterator[BlockEvent]:
        """Committed blocks' events as they come (server-sent events), from a height."""
        params = {} if from_height is None else {"from_height": from_height}
        timeout = httpx.Timeout(self.timeout, read=None)
        try:
            with self._http.stream(
                "GET",
                "/v1/events",
                params=params,
                timeout=timeout,
                headers={"accept": "text/event-stream"},
            ) as response:
                if response.status_code >= 400:
                    response.read()
                    raise error_from_response(response)
                parser = SSEParser()
                for line in response.iter_lines():
                    event = parser.feed(line)
                    if event is not None:
                        yield event
        except httpx.TransportError as exc:
            raise wrap_transport_error(exc, self.base_url) from exc
