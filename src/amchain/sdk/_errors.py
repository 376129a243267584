"""Exceptions raised by the SDK (the hierarchy is drawn in ``amchain.sdk``'s docstring)."""

from __future__ import annotations

from typing import Any

__all__ = ["AmchainError", "ApiError", "TransportError", "TxBuildError"]


class AmchainError(Exception):
    """Base class of every error raised by :mod:`amchain.sdk`."""


class TxBuildError(AmchainError, ValueError):
    """A transaction could not be built or signed locally (bad arguments, bad expiry, …)."""


class TransportError(AmchainError):
    """The node could not be reached, or did not answer in time."""

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.url = url


class ApiError(AmchainError):
    """The node answered with an ``application/problem+json`` document (RFC 9457).

    ``codespace``/``code`` are stable (``vehicles``/7 is an odometer rollback, ``tx``/…
    envelope refusals, ``codec``/… decoding refusals, ``api``/… bad requests). A transaction
    that was committed but refused by its module has ``recorded_on_chain`` true and carries
    ``tx_hash``, ``height`` and the module's ``details``.
    """

    def __init__(
        self,
        *,
        status: int,
        codespace: str,
        code: int,
        title: str = "",
        detail: str = "",
        problem: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{codespace}/{code}: {detail or title}")
        self.status = status
        self.codespace = codespace
        self.code = code
        self.title = title
        self.detail = detail
        self.problem: dict[str, Any] = (
            dict(problem)
            if problem is not None
            else {
                "status": status,
                "codespace": codespace,
                "code": code,
                "title": title,
                "detail": detail,
            }
        )

    @property
    def details(self) -> dict[str, Any]:
        """The refusal's structured details (``{}`` when there are none)."""
        value = self.problem.get("details")
        return dict(value) if isinstance(value, dict) else {}

    @property
    def recorded_on_chain(self) -> bool:
        """True when the refused transaction was committed (its failed receipt is on chain)."""
        return bool(self.problem.get("recorded_on_chain", False))

    @property
    def tx_hash(self) -> str | None:
        value = self.problem.get("hash")
        return value if isinstance(value, str) else None

    @property
    def height(self) -> int | None:
        value = self.problem.get("height")
        return value if isinstance(value, int) else None

    @classmethod
    def from_problem(cls, problem: dict[str, Any], *, status: int | None = None) -> ApiError:
        """Build from a problem document (missing fields get neutral defaults)."""
        status_value = problem.get("status", status if status is not None else 0)
        code = problem.get("code", status_value)
        return cls(
            status=int(status_value) if isinstance(status_value, int) else int(status or 0),
            codespace=str(problem.get("codespace", "http")),
            code=int(code) if isinstance(code, int) else 0,
            title=str(problem.get("title", "")),
            detail=str(problem.get("detail", "")),
            problem=problem,
        )

    def __repr__(self) -> str:
        return (
            f"ApiError(status={self.status}, codespace={self.codespace!r}, code={self.code}, "
            f"detail={self.detail!r})"
        )
