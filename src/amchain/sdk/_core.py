"""The sans-IO core both clients share: requests to make, answers to decode.

A call is a *step*: a generator that yields the :class:`Request` objects it needs, receives
each ``httpx.Response``, and returns its result. :class:`~amchain.sdk.Client` and
:class:`~amchain.sdk.AsyncClient` only drive steps (one with ``httpx.Client``, the other
with ``httpx.AsyncClient``), so every call is written once, multi-request ones included
(drafting, signing and anchoring a credential; learning the chain id first). Nothing here
touches the network.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import httpx
import msgspec

from amchain.ledger import Transaction
from amchain.sdk._errors import ApiError, TransportError
from amchain.sdk._models import BlockEvent, SubmitResult

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_TIMEOUT",
    "DEFAULT_WAIT_TIMEOUT_MS",
    "USER_AGENT",
    "ClientState",
    "Request",
    "SSEParser",
    "Step",
    "WaitMode",
    "decode_object",
    "decode_response",
    "error_from_response",
    "normalize_base_url",
    "request_timeout",
    "retry_delay",
    "wrap_transport_error",
]

DEFAULT_BASE_URL = "http://127.0.0.1:8640"
DEFAULT_TIMEOUT = 10.0
DEFAULT_WAIT_TIMEOUT_MS = 10_000
USER_AGENT = "amchain-sdk"

WaitMode = Literal["commit"] | None
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request of a step. ``wait_ms``: how long the node may hold it (added to
    the client's timeout); ``delay_s``: how long the client waits before sending it (a
    retry after ``Retry-After``)."""

    method: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    body: bytes | None = None
    wait_ms: int | None = None
    delay_s: float = 0.0


Step = Generator[Request, httpx.Response, T]
"""A call: yields requests, is sent their responses, returns its result."""


@dataclass(slots=True)
class ClientState:
    """What a client learns once and keeps: the chain id and the node's module catalog."""

    chain_id: str | None = None
    modules: Any = None  # amchain.sdk._catalog.ModuleCatalog, fetched on first use


def encode_body(value: Any) -> bytes:
    """Compact JSON, as the node's fast paths expect (structs included)."""
    return msgspec.json.encode(value)


def normalize_base_url(base_url: str) -> str:
    url = str(base_url).rstrip("/")
    if not url.startswith(("http://", "https://")):
        url = "http://" + url
    return url


def wrap_transport_error(exc: httpx.TransportError, base_url: str) -> TransportError:
    """Name the node's URL, and suggest starting it, in every connection failure."""
    if isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout):
        message = f"node at {base_url} did not answer in time ({type(exc).__name__}: {exc})"
    else:
        reason = str(exc) or type(exc).__name__
        message = f"cannot reach node at {base_url} — is `amchain up` running? ({reason})"
    return TransportError(message, url=base_url)


def request_timeout(base_timeout: float | None, wait_ms: int | None) -> float | None:
    """Give a waiting request the server-side wait plus the client's own timeout."""
    if base_timeout is None:
        return None
    return base_timeout + (wait_ms / 1000 if wait_ms else 0.0)


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def error_from_response(response: httpx.Response) -> ApiError:
    """Map an error answer to :class:`ApiError` (problem+json, or a bare HTTP error)."""
    data = _json_or_none(response)
    if isinstance(data, dict) and "codespace" in data and "code" in data:
        return ApiError.from_problem(data, status=response.status_code)
    detail = response.text[:500] if data is None else json.dumps(data)[:500]
    return ApiError(
        status=response.status_code,
        codespace="http",
        code=response.status_code,
        title=response.reason_phrase or "HTTP error",
        detail=detail or (response.reason_phrase or ""),
    )


def decode_response(response: httpx.Response) -> Any:
    """Return the answer's JSON, or raise :class:`ApiError` for a 4xx/5xx answer."""
    if response.status_code >= 400:
        raise error_from_response(response)
    data = _json_or_none(response)
    if data is None:
        raise ApiError(
            status=response.status_code,
            codespace="http",
            code=response.status_code,
            title="Not JSON",
            detail=f"expected a JSON answer, got {response.text[:200]!r}",
        )
    return data


def decode_object(response: httpx.Response) -> dict[str, Any]:
    """Like :func:`decode_response`, for answers that are JSON objects."""
    data = decode_response(response)
    if not isinstance(data, dict):
        raise ApiError(
            status=response.status_code,
            codespace="http",
            code=response.status_code,
            title="Unexpected answer",
            detail=f"expected a JSON object, got {type(data).__name__}",
        )
    return data


def get_object(path: str, params: dict[str, Any] | None = None) -> Step[dict[str, Any]]:
    """The step of one ``GET`` whose answer is a JSON object."""
    response = yield Request("GET", path, params or {})
    return decode_object(response)


def submit_request(
    txs: Transaction | Sequence[Transaction], wait: WaitMode, timeout_ms: int
) -> tuple[Request, bool]:
    """The ``POST /v1/txs`` request for ``txs``, and whether it is a batch.

    Raises:
        ValueError: ``wait`` is not ``"commit"`` or None; an empty or mixed list.
    """
    if wait not in (None, "commit"):
        raise ValueError("wait must be 'commit' or None")
    params: dict[str, Any] = {}
    if wait is not None:
        params = {"wait": wait, "timeout_ms": int(timeout_ms)}
    if isinstance(txs, Transaction):
        body, is_batch = txs.to_wire(), False
    else:
        items = list(txs)
        if not items or not all(isinstance(t, Transaction) for t in items):
            raise ValueError("submit takes a Transaction or a non-empty list of Transactions")
        body, is_batch = {"txs": [t.to_wire() for t in items]}, True
    wait_ms = timeout_ms if wait else None
    return Request("POST", "/v1/txs", params, encode_body(body), wait_ms), is_batch


SUBMIT_RETRY_BUDGET_S = 15.0
"""How long a submission is retried while the node answers 503 (the ordering service
electing a new leader, a full mempool): a 503 refuses the whole request before admission,
so sending the same signed transactions again is safe."""


def retry_delay(response: httpx.Response, waited_s: float) -> float | None:
    """Seconds to wait before sending a refused submission again, or None: not a 503, or
    the retry budget is spent. Follows ``Retry-After`` (seconds), between 0.2 s and 2 s."""
    if response.status_code != 503 or waited_s >= SUBMIT_RETRY_BUDGET_S:
        return None
    try:
        delay = float(response.headers.get("retry-after", "1"))
    except ValueError:
        delay = 1.0
    return min(max(delay, 0.2), 2.0, SUBMIT_RETRY_BUDGET_S - waited_s)


def parse_submit(response: httpx.Response, is_batch: bool) -> SubmitResult | list[SubmitResult]:
    """Single: a result, or :class:`ApiError` on refusal. Batch: one result per tx."""
    if is_batch:
        data = _json_or_none(response)
        if isinstance(data, dict) and isinstance(data.get("results"), list):
            return [SubmitResult.from_json(r) for r in data["results"]]
        raise (
            error_from_response(response)
            if response.status_code >= 400
            else ApiError(
                status=response.status_code,
                codespace="http",
                code=response.status_code,
                title="Unexpected answer",
                detail=response.text[:200],
            )
        )
    data = decode_response(response)
    result = SubmitResult.from_json(data)
    result.raise_for_error()
    return result


def proof_params(proof: bool, height: int | None) -> dict[str, Any]:
    """Query parameters asking for a proof bundle and/or an answer as of ``height``."""
    params: dict[str, Any] = {}
    if proof:
        params["proof"] = "true"
    if height is not None:
        params["height"] = height
    return params


class SSEParser:
    """Incremental parser of ``text/event-stream`` lines, yielding ``block`` events."""

    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []
        self.last_id: str | None = None

    def feed(self, line: str) -> BlockEvent | None:
        line = line.rstrip("\r\n")
        if not line:
            event, data = self._event or "message", "\n".join(self._data)
            self._event, self._data = "", []
            if event == "block" and data:
                return BlockEvent.from_json(json.loads(data))
            return None
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            self.last_id = value
        return None
