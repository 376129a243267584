"""The asynchronous client: the steps of :mod:`._steps` driven with ``httpx.AsyncClient``.

The twin of :mod:`._client`, method for method (``tests/test_sdk.py`` fails if a method
lacks its twin or their signatures differ).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, Protocol, TypeVar, overload

import httpx
import msgspec

from amchain.ledger import Transaction
from amchain.sdk import _credential_steps as cs
from amchain.sdk import _helper_steps as hs
from amchain.sdk import _steps as steps
from amchain.sdk._binding import AsyncHelper, async_method
from amchain.sdk._builder import DEFAULT_EXPIRES_IN_MS
from amchain.sdk._catalog import ModuleCatalog
from amchain.sdk._core import (
    DEFAULT_BASE_URL,
    DEFAULT_TIMEOUT,
    DEFAULT_WAIT_TIMEOUT_MS,
    USER_AGENT,
    ClientState,
    Request,
    SSEParser,
    Step,
    WaitMode,
    error_from_response,
    normalize_base_url,
    request_timeout,
    wrap_transport_error,
)
from amchain.sdk._models import BlockEvent, NodeStatus, SubmitResult, TxInfo
from amchain.sdk._steps import Signers

__all__ = ["AsyncClient", "AsyncConsortium", "AsyncCredentials", "AsyncIdentity", "AsyncVehicles"]

T = TypeVar("T")


class Run(Protocol):
    """How a helper runs its steps: the client's own driver."""

    def __call__(self, step: Step[T], /) -> Awaitable[T]: ...


TIMEOUT = DEFAULT_WAIT_TIMEOUT_MS  # how long a helper's transaction waits for its commit


class AsyncClient:
    """An asynchronous client of an AutoMobile Chain node's REST API.

    Use as an async context manager (or call :meth:`aclose`). ``transport`` replaces the
    network, e.g. ``httpx.MockTransport`` in tests.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = normalize_base_url(base_url)
        self.timeout = timeout
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            headers={
                "user-agent": USER_AGENT,
                "accept": "application/json",
                "content-type": "application/json",
            },
        )
        self._state = ClientState()
        self.vehicles = AsyncVehicles(self._run, self._state)
        self.identity = AsyncIdentity(self._run, self._state)
        self.credentials = AsyncCredentials(self._run, self._state)
        self.consortium = AsyncConsortium(self._run, self._state)

    # -- lifecycle ---------------------------------------------------------------------
    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AsyncClient(base_url={self.base_url!r})"

    # -- driving steps -------------------------------------------------------------------
    async def _send(self, request: Request) -> httpx.Response:
        if request.delay_s:
            await asyncio.sleep(request.delay_s)
        try:
            return await self._http.request(
                request.method,
                request.path,
                params=request.params,
                content=request.body,
                timeout=request_timeout(self.timeout, request.wait_ms),
            )
        except httpx.TransportError as exc:
            raise wrap_transport_error(exc, self.base_url) from exc

    async def _run(self, step: Step[T]) -> T:
        try:
            request = next(step)
            while True:
                request = step.send(await self._send(request))
        except StopIteration as done:
            result: T = done.value
            return result

    # -- chain -------------------------------------------------------------------------
    async def status(self) -> NodeStatus:
        """``GET /v1/status``: head, chain id, node key, modules."""
        return await self._run(steps.status(self._state))

    async def chain_id(self) -> str:
        """The node's chain id (asked once, then cached)."""
        return await self._run(steps.chain_id(self._state))

    async def modules(self) -> ModuleCatalog:
        """The node's modules with their messages and queries (asked once, then cached)."""
        return await self._run(steps.modules(self._state))

    async def get_block(self, height: int | Literal["latest"] = "latest") -> dict[str, Any]:
        """A block by height, or the latest one."""
        return await self._run(steps.get_block(height))

    # -- transactions ------------------------------------------------------------------
    @overload
    async def submit(
        self, txs: Transaction, *, wait: WaitMode = ..., timeout_ms: int = ...
    ) -> SubmitResult: ...
    @overload
    async def submit(
        self, txs: Sequence[Transaction], *, wait: WaitMode = ..., timeout_ms: int = ...
    ) -> list[SubmitResult]: ...

    async def submit(
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
        return await self._run(steps.submit(txs, wait, timeout_ms))

    async def tx(
        self,
        module: str,
        message: str,
        args: Mapping[str, Any] | msgspec.Struct,
        *,
        signers: Signers,
        wait: WaitMode = "commit",
        timeout_ms: int = DEFAULT_WAIT_TIMEOUT_MS,
        expires_in_ms: int = DEFAULT_EXPIRES_IN_MS,
        nonce: int | None = None,
    ) -> SubmitResult:
        """Any module's message: ``args`` are checked against the message's schema (from
        ``GET /v1/modules``) before signing, then submitted.

        Raises:
            TxBuildError: no such module or message, or arguments the node would refuse.
            ApiError: the node refused the transaction.
        """
        return await self._run(
            steps.tx(
                self._state,
                module,
                message,
                args,
                signers=signers,
                wait=wait,
                timeout_ms=timeout_ms,
                expires_in_ms=expires_in_ms,
                nonce=nonce,
            )
        )

    async def query(
        self,
        module: str,
        name: str,
        /,
        *,
        proof: bool = False,
        height: int | None = None,
        **params: Any,
    ) -> Any:
        """Any module's query, e.g. ``client.query("vehicles", "history", vin=VIN)``.

        Raises:
            TxBuildError: no such module or query, or parameters it does not take.
            ApiError: the node refused the query (404: nothing matches).
        """
        return await self._run(
            steps.query(self._state, module, name, params, proof=proof, height=height)
        )

    async def get_tx(
        self, tx_hash: str, *, wait_commit: bool = False, timeout_ms: int = DEFAULT_WAIT_TIMEOUT_MS
    ) -> TxInfo:
        """A transaction's status and receipt (optionally waiting for its commit)."""
        return await self._run(steps.get_tx(tx_hash, wait_commit, timeout_ms))

    # -- reads -------------------------------------------------------------------------
    async def resolve_did(self, did: str, *, proof: bool = False) -> dict[str, Any]:
        """The DID resolution result (``didDocument``, metadata; with ``proof``, a bundle)."""
        return await self._run(steps.resolve_did(did, proof))

    async def organisations(self) -> list[dict[str, Any]]:
        return await self._run(steps.organisations())

    async def get_vehicle(self, vin: str) -> dict[str, Any]:
        return await self._run(steps.get_vehicle(vin))

    async def get_history(
        self, vin: str, *, proof: bool = False, height: int | None = None
    ) -> dict[str, Any]:
        """The vehicle's history in order, with flags and a summary line.

        With ``proof``, the answer is also a proof bundle (``format``, ``certificate``,
        ``record``, ``events``) that :class:`amchain.sdk.light.LightClient` checks offline:
        complete, in order, certified.
        """
        return await self._run(steps.get_history(vin, proof, height))

    async def get_state(
        self, key: str, *, proof: bool = False, height: int | None = None
    ) -> dict[str, Any]:
        """One state entry (``{key, value, height}``; ``value`` None when absent), optionally
        with its proof bundle under ``"proof"``."""
        return await self._run(steps.get_state(key, proof, height))

    async def list_blocks(self, *, before: int | None = None, limit: int = 25) -> dict[str, Any]:
        """Block summaries, newest first: ``blocks``, ``head`` and ``next_before`` (a page)."""
        return await self._run(steps.list_blocks(before, limit))

    async def list_txs(
        self,
        *,
        height: int | None = None,
        did: str | None = None,
        vin: str | None = None,
        signer: str | None = None,
        module: str | None = None,
        failed_only: bool = False,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Transaction summaries of a block, or naming a DID, VIN, signer or module (the
        filters given combine)."""
        return await self._run(
            steps.list_txs(
                height=height,
                did=did,
                vin=vin,
                signer=signer,
                module=module,
                failed_only=failed_only,
                limit=limit,
            )
        )

    # -- events ------------------------------------------------------------------------
    async def events(self, from_height: int | None = None) -> AsyncIterator[BlockEvent]:
        """Committed blocks' events as they come (server-sent events), from a height."""
        params = {} if from_height is None else {"from_height": from_height}
        timeout = httpx.Timeout(self.timeout, read=None)
        try:
            async with self._http.stream(
                "GET",
                "/v1/events",
                params=params,
                timeout=timeout,
                headers={"accept": "text/event-stream"},
            ) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise error_from_response(response)
                parser = SSEParser()
                async for line in response.aiter_lines():
                    event = parser.feed(line)
                    if event is not None:
                        yield event
        except httpx.TransportError as exc:
            raise wrap_transport_error(exc, self.base_url) from exc


class AsyncVehicles(AsyncHelper):
    """Async twin of :class:`amchain.sdk._client.Vehicles`."""

    register = async_method(hs.register_vehicle)
    record_event = async_method(hs.record_event)
    transfer = async_method(hs.transfer)
    get = async_method(hs.vehicle)
    history = async_method(hs.vehicle_history)


class AsyncIdentity(AsyncHelper):
    """Async twin of :class:`amchain.sdk._client.Identity`."""

    create_did = async_method(hs.create_did)
    resolve = async_method(hs.resolve)


class AsyncConsortium(AsyncHelper):
    """Async twin of :class:`amchain.sdk._client.Consortium`."""

    add_key = async_method(hs.add_key)
    revoke_key = async_method(hs.revoke_key)


class AsyncCredentials(AsyncHelper):
    """Async twin of :class:`amchain.sdk._client.Credentials`."""

    method_of = async_method(cs.method_of)
    prepare = async_method(cs.prepare)
    register = async_method(cs.register)
    issue = async_method(cs.issue)
    grant_access = async_method(cs.grant_access)
    set_status = async_method(cs.set_status)
    revoke = async_method(cs.revoke)
    suspend = async_method(cs.suspend)
    resume = async_method(cs.resume)
    status = async_method(cs.status)
    read_status = async_method(cs.read_status)
    resolve_document = async_method(cs.resolve_document)
    verify = async_method(cs.verify)
    verify_on_node = async_method(cs.verify_on_node)
    get = async_method(cs.get)
    grants = async_method(cs.grants)
    access_log = async_method(cs.access_log)
    snapshot = async_method(cs.snapshot)
