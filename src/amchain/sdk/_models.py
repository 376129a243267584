"""Typed answers of the node (each keeps the raw JSON as ``raw``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from amchain.sdk._errors import ApiError

__all__ = ["BlockEvent", "NodeStatus", "SubmitResult", "TxInfo"]


@dataclass(frozen=True, kw_only=True, slots=True)
class NodeStatus:
    """``GET /v1/status``."""

    chain_id: str
    height: int
    latest_block_hash: str
    latest_block_time_ms: int
    state_root: str
    pending_txs: int
    node_key: str
    ordering: str
    version: str
    modules: list[str]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NodeStatus:
        return cls(
            chain_id=data["chain_id"],
            height=data["height"],
            latest_block_hash=data.get("latest_block_hash", ""),
            latest_block_time_ms=data.get("latest_block_time_ms", 0),
            state_root=data.get("state_root", ""),
            pending_txs=data.get("pending_txs", 0),
            node_key=data.get("node_key", ""),
            ordering=data.get("ordering", ""),
            version=data.get("version", ""),
            modules=list(data.get("modules", [])),
            raw=data,
        )


def _receipt_error(result: dict[str, Any]) -> ApiError | None:
    receipt = result.get("receipt")
    if not isinstance(receipt, dict) or receipt.get("ok", True):
        return None
    codespace = str(receipt.get("codespace", ""))
    return ApiError.from_problem(
        {
            "status": 422,
            "codespace": codespace,
            "code": receipt.get("code", 0),
            "title": f"Refused by {codespace}",
            "detail": receipt.get("message", ""),
            "hash": result.get("hash"),
            "height": result.get("height"),
            "recorded_on_chain": True,
            "details": receipt.get("details", {}),
        }
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class SubmitResult:
    """The outcome of one submitted transaction.

    ``status`` is ``pending`` (admitted, not yet committed), ``committed`` or ``refused``.
    A committed transaction whose module refused it has ``ok`` false and ``error`` set
    (its failed receipt is on chain).
    """

    hash: str
    status: str
    index: int = 0
    height: int | None = None
    receipt: dict[str, Any] | None = None
    error: ApiError | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.error is None and self.status != "refused"

    @property
    def committed(self) -> bool:
        return self.status == "committed"

    @property
    def events(self) -> list[dict[str, Any]]:
        return list(self.receipt.get("events", [])) if self.receipt else []

    def raise_for_error(self) -> SubmitResult:
        """Raise the refusal as :class:`ApiError`, or return ``self``."""
        if self.error is not None:
            raise self.error
        return self

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SubmitResult:
        error: ApiError | None = None
        if isinstance(data.get("error"), dict):
            error = ApiError.from_problem(data["error"])
        else:
            error = _receipt_error(data)
        return cls(
            hash=data.get("hash", ""),
            status=data.get("status", "pending"),
            index=data.get("index", 0),
            height=data.get("height"),
            receipt=data.get("receipt"),
            error=error,
            raw=data,
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class TxInfo:
    """``GET /v1/txs/{hash}``: ``status`` is ``committed``, ``pending`` or ``dropped``."""

    hash: str
    status: str
    height: int | None = None
    index: int | None = None
    transaction: dict[str, Any] | None = None
    receipt: dict[str, Any] | None = None
    error: ApiError | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.status == "committed" and self.error is None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TxInfo:
        if isinstance(data.get("error"), dict):
            error: ApiError | None = ApiError.from_problem(data["error"])
        else:
            error = _receipt_error(data)
        return cls(
            hash=data.get("hash", ""),
            status=data.get("status", ""),
            height=data.get("height"),
            index=data.get("index"),
            transaction=data.get("transaction"),
            receipt=data.get("receipt"),
            error=error,
            raw=data,
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class BlockEvent:
    """One ``block`` event of ``GET /v1/events`` (server-sent events)."""

    height: int
    hash: str
    time_ms: int
    tx_count: int
    events: list[dict[str, Any]]
    failed: list[dict[str, Any]]
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BlockEvent:
        return cls(
            height=data["height"],
            hash=data.get("hash", ""),
            time_ms=data.get("time_ms", 0),
            tx_count=data.get("tx_count", 0),
            events=list(data.get("events", [])),
            failed=list(data.get("failed", [])),
            raw=data,
        )
